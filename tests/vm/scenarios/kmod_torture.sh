# Control-plane torture of our module (tests/vm/progs/stress.c): for 60 s
# (ublk.torture_secs=N on the kernel command line, e.g. through VM_APPEND,
# or TORTURE_SECS in the guest, changes that) several threads send random
# control commands on ids 0..3 while servers serve and die at random
# points and IO runs. Every command must be answered within 30 s and every
# device deleted at the end; then nothing is left, the module unloads and
# loads again. init checks the kernel log. ref_torture_intree runs the same on
# the kernel's driver, for reference.
. /scenarios/lib.sh

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
secs=${TORTURE_SECS:-$(sed -n 's/.*ublk\.torture_secs=\([0-9]*\).*/\1/p' /proc/cmdline)}
secs=${secs:-60}
stress $((secs + 100)) torture -t "$secs"
figures=$(grep '^torture: .* commands issued' /tmp/t/out) || fail "no figures line"
reload_kmod
echo "ok: $figures"
