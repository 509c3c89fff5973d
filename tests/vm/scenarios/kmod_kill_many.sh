# Servers SIGKILLed under IO, on our module (tests/vm/progs/stress.c): 3
# devices (2 null, 1 loop on a tmpfs file) with user copy, each served by
# more threads than queues (a thread per queue, two more doing the data
# copies), IO running, then every server killed at once; without recovery,
# with recovery and with recovery + fail-io, three times each. Every IO
# process must end and every device go within 30 s. Then nothing is left
# and the module unloads and loads again.
. /scenarios/lib.sh

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
stress 150 kill-many
rounds=$(grep -c '^kill-many: round .*all devices gone' /tmp/t/out)
[ "$rounds" -ge 3 ] || fail "only $rounds rounds completed"
reload_kmod
echo "ok: $rounds rounds"
