# One queue's tags spread over several server threads (tag t by thread
# t % 3, each with its own ring), on our module (tests/vm/progs/stress.c);
# the devices are deleted during IO. The driver may serve this or refuse a
# thread's commands at once; it must not hang: every command and the
# deletion bounded, all devices gone. Prints which behaviour it showed.
. /scenarios/lib.sh

# bounded LIMIT OUT CMD...: CMD, its output into OUT, waited for at most
# LIMIT seconds: a process stuck in the kernel can be neither killed nor
# waited for (nor can a pipe from it end). Sets rc to CMD's exit status,
# or to "stuck" (then SIGKILLs it, which may or may not help).
bounded() {
	local limit=$1 out=$2 i=0
	shift 2
	rm -f "$out.rc" "$out.pid"
	{ "$@" & echo $! > "$out.pid"; wait $!; echo $? > "$out.rc"; } > "$out" 2>&1 &
	while [ ! -s "$out.rc" ] && [ $i -lt $((limit * 10)) ]; do
		usleep 100000
		i=$((i + 1))
	done
	if [ -s "$out.rc" ]; then
		rc=$(cat "$out.rc")
	else
		rc=stuck
		kill -9 "$(cat "$out.pid")" 2>/dev/null
	fi
}

[ -f /sys/module/ublk_drv/version ] || fail "our ublk_drv is not loaded"
echo "+ ublk-stress spread-del"
bounded 150 /tmp/t/out ublk-stress spread-del
cat /tmp/t/out
first=$(grep -m 1 '^FAIL' /tmp/t/out)
[ -n "$first" ] && fail "${first#FAIL }"
[ $rc = stuck ] && fail "ublk-stress spread-del did not end within 150 s"
[ $rc = 0 ] || fail "ublk-stress spread-del exited $rc"
behaviour=$(sed -n 's/^spread-del: driver behaviour: \([a-z]*\).*/\1/p' /tmp/t/out)
[ -n "$behaviour" ] || fail "no behaviour line"
no_devices
run rmmod ublk_drv
[ -d /sys/module/ublk_drv ] && fail "module still loaded after rmmod"
run insmod /kmod/ublk_drv.ko
echo "ok: driver behaviour: $behaviour"
