# A hostile server (tests/vm/progs/hostile.c) against our module: every
# bad command gets its errno, a server killed mid-IO takes the device down
# (or parks it, with recovery), the kernel log stays clean (checked by
# init) and the module unloads afterwards.
. /scenarios/lib.sh

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
echo "+ ublk-hostile"
ublk-hostile > /tmp/t/out 2>&1
rc=$?
cat /tmp/t/out
grep '^FAIL' /tmp/t/out | head -n 1 | grep . && fail "$(grep '^FAIL' /tmp/t/out | head -n 1)"
[ $rc = 0 ] || fail "ublk-hostile exited $rc"
[ "$(grep -c '^ok ' /tmp/t/out)" -ge 60 ] || fail "only $(grep -c '^ok ' /tmp/t/out) checks ran"
no_devices
run rmmod ublk_drv
[ -d /sys/module/ublk_drv ] && fail "module still loaded"
echo "ok: $(grep -c '^ok ' /tmp/t/out) checks"
