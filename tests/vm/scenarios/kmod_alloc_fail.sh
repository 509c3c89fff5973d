# Our module's START_DEV with each of its allocations failed in turn
# (defects.c alloc_fail): every failure leaves a device that DEL_DEV frees.
# Needs failslab (fault injection), which only the debug kernel has.
. /scenarios/lib.sh

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -d /sys/kernel/debug/failslab ] || skip "no failslab in this kernel (the debug kernel has it)"
echo "+ ublk-defects alloc_fail"
ublk-defects alloc_fail > /tmp/t/out 2>&1
rc=$?
cat /tmp/t/out
grep '^FAIL' /tmp/t/out | head -n 1 | grep . && fail "$(grep '^FAIL' /tmp/t/out | head -n 1)"
[ $rc = 0 ] || fail "ublk-defects exited $rc"
no_devices
run rmmod ublk_drv
echo "ok: $(grep "^-- .* rounds" /tmp/t/out)"
