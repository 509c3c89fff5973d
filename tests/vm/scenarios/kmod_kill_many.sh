# Servers SIGKILLed under IO, on our module (tests/vm/progs/stress.c): 3
# devices (2 null, 1 loop on a tmpfs file) with user copy, each served by
# more threads than queues (a thread per queue, two more doing the data
# copies), IO running, then every server killed at once; without recovery,
# with recovery and with recovery + fail-io, three times each. Every IO
# process must end and every device go within 30 s. Then nothing is left
# and the module unloads and loads again.
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
echo "+ ublk-stress kill-many"
bounded 150 /tmp/t/out ublk-stress kill-many
cat /tmp/t/out
first=$(grep -m 1 '^FAIL' /tmp/t/out)
[ -n "$first" ] && fail "${first#FAIL }"
[ $rc = stuck ] && fail "ublk-stress kill-many did not end within 150 s"
[ $rc = 0 ] || fail "ublk-stress kill-many exited $rc"
rounds=$(grep -c '^kill-many: round .*all devices gone' /tmp/t/out)
[ "$rounds" -ge 3 ] || fail "only $rounds rounds completed"
no_devices
run rmmod ublk_drv
[ -d /sys/module/ublk_drv ] && fail "module still loaded after rmmod"
run insmod /kmod/ublk_drv.ko
echo "ok: $rounds rounds"
