# Control-plane torture of our module (tests/vm/progs/stress.c): for 60 s
# (ublk.torture_secs=N on the kernel command line, e.g. through VM_APPEND,
# or TORTURE_SECS in the guest, changes that) several threads send random
# control commands on ids 0..3 while servers serve and die at random
# points and IO runs. Every command must be answered within 30 s and every
# device deleted at the end; then nothing is left, the module unloads and
# loads again. init checks the kernel log. torture_intree runs the same on
# the kernel's driver, for reference.
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
secs=${TORTURE_SECS:-$(sed -n 's/.*ublk\.torture_secs=\([0-9]*\).*/\1/p' /proc/cmdline)}
secs=${secs:-60}
echo "+ ublk-stress torture -t $secs"
bounded $((secs + 100)) /tmp/t/out ublk-stress torture -t "$secs"
cat /tmp/t/out
first=$(grep -m 1 '^FAIL' /tmp/t/out)
[ -n "$first" ] && fail "${first#FAIL }"
[ $rc = stuck ] && fail "ublk-stress torture did not end within $((secs + 100)) s"
[ $rc = 0 ] || fail "ublk-stress torture exited $rc"
figures=$(grep '^torture: .* commands issued' /tmp/t/out) || fail "no figures line"
no_devices
ls /dev/ublkc* >/dev/null 2>&1 && fail "char nodes left: $(ls /dev/ublkc*)"
run rmmod ublk_drv
[ -d /sys/module/ublk_drv ] && fail "module still loaded after rmmod"
run insmod /kmod/ublk_drv.ko
[ -f /sys/module/ublk_drv/version ] || fail "our module did not load again"
echo "ok: $figures"
