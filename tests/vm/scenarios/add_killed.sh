# add killed during start-up (timeout, Ctrl-C, kill -9) leaves no device
# and no server: the server finds nobody reading its start-up report and
# undoes the start. SIGTERM stands for Ctrl-C (a script's background job
# ignores SIGINT). The kill lands at delays across the start-up; an add
# that finished first (exit 0) printed its device, which del removes.
. /scenarios/lib.sh

truncate -s 64M /tmp/t/img
for sig in TERM KILL; do
	for us in $(seq 0 1000 24000) 40000 80000; do
		ublkctl loop /tmp/t/img >/tmp/t/out 2>&1 &
		add=$!
		usleep $us
		kill -$sig $add
		wait $add
		rc=$?
		# add's exit 0 is its device's; SIGKILL may land after add told
		# the server it printed the device, before it exits
		if [ $rc = 0 ] || { [ $sig = KILL ] && grep -q /dev/ublkb /tmp/t/out; }; then
			note "SIG$sig after ${us}us: add finished first (exit $rc)"
			run ublkctl del -a
		fi
		wait_until 10 sh -c '! ls /sys/class/ublk-char | grep -q .' ||
			fail "add killed by SIG$sig after ${us}us left a device;" \
			     "add said '$(cat /tmp/t/out)'; $(ublkctl list | tail -n +2)"
		wait_until 10 sh -c '! pidof ublkctl' || fail "SIG$sig after ${us}us: server left"
		[ -z "$(ls /run/ublk 2>/dev/null)" ] || fail "SIG$sig after ${us}us: state file left"
	done
done
no_devices
echo ok
