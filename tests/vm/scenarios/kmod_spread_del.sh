# One queue's tags spread over several server threads (tag t by thread
# t % 3, each with its own ring), on our module (tests/vm/progs/stress.c);
# the devices are deleted during IO. The driver may serve this or refuse a
# thread's commands at once; it must not hang: every command and the
# deletion bounded, all devices gone. Prints which behaviour it showed.
. /scenarios/lib.sh

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
stress 150 spread-del
behaviour=$(sed -n 's/^spread-del: driver behaviour: \([a-z]*\).*/\1/p' /tmp/t/out)
[ -n "$behaviour" ] || fail "no behaviour line"
reload_kmod
echo "ok: driver behaviour: $behaviour"
