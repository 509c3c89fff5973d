# Our module against the defects a review found (tests/vm/progs/defects.c):
# each check fails on the module before its fix. The kernel log stays
# clean (checked by init) and the module unloads afterwards.
. /scenarios/lib.sh

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
echo "+ ublk-defects"
# shown as it runs: a check that hangs is seen in the scenario's output
{ ublk-defects; echo $? > /tmp/t/rc; } 2>&1 | tee /tmp/t/out
rc=$(cat /tmp/t/rc)
grep '^FAIL' /tmp/t/out | head -n 1 | grep . && fail "$(grep '^FAIL' /tmp/t/out | head -n 1)"
[ $rc = 0 ] || fail "ublk-defects exited $rc"
grep -q '^PASS: 12 checks run' /tmp/t/out || fail "not every check ran"
run rmmod ublk_drv
[ -d /sys/module/ublk_drv ] && fail "module still loaded"
echo "ok: $(grep -c '^ok ' /tmp/t/out) checks"
