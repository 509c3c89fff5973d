# A control command that never completes (our module's debug_stall_cmd
# holds the chosen opcode) must not hang ublkctl: past --timeout it exits 1
# with one line naming the command and the device, and nothing is left
# that `del` cannot remove.
. /scenarios/lib.sh

stall=/sys/module/ublk_drv/parameters/debug_stall_cmd
[ -w $stall ] || fail "our module has no debug_stall_cmd"

# stalled NR WANT LIMIT CMD...: with opcode number NR stalled, CMD must exit
# 1 within LIMIT seconds, printing one line that contains WANT
stalled() {
	local nr=$1 want=$2 limit=$3
	shift 3
	echo "+ $* (opcode $nr stalled)"
	echo "$nr" > $stall
	bounded "$limit" /tmp/t/out "$@"
	echo 0 > $stall
	cat /tmp/t/out
	[ "$rc" = stuck ] && fail "'$*' hung with opcode $nr stalled"
	[ "$rc" = 1 ] || fail "'$*' exited $rc, not 1"
	grep -q "$want" /tmp/t/out || fail "'$*': no message naming '$want'"
	[ "$(wc -l < /tmp/t/out)" = 1 ] || fail "'$*': more than one line"
	# the stuck command goes on once released: give it a moment
	wait_until 5 sh -c "! pidof ublkctl || [ -n \"\$(ublkctl list | tail -n +2)\" ]"
}

stalled 4 "ADD_DEV to device 3 did not complete within 2 s" 10 ublkctl null -n 3 --timeout 2
# the ADD_DEV released after add gave up made a device no server serves
wait_until 5 test -e /sys/class/ublk-char/ublkc3 && run ublkctl del -n 3
no_devices

stalled 6 "START_DEV to device 4 did not complete within 2 s" 15 ublkctl null -n 4 --timeout 2
wait_until 5 sh -c '! pidof ublkctl'
ublkctl list -n 4 >/dev/null 2>&1 && run ublkctl del -n 4
no_devices

run ublkctl null -n 0
stalled 18 "GET_DEV_INFO2 to device 0 did not complete within 2 s" 10 ublkctl list -n 0 --timeout 2
echo 18 > $stall
bounded 10 /tmp/t/out ublkctl list --timeout 2
echo 0 > $stall
cat /tmp/t/out
[ "$rc" = 1 ] || fail "list with GET_DEV_INFO2 stalled exited $rc, not 1"
stalled 19 "GET_FEATURES to the driver did not complete within 2 s" 10 ublkctl list --timeout 2
stalled 7 "STOP_DEV to device 0 did not complete within 2 s" 10 ublkctl del -n 0 --timeout 2
# del told the server first (SIGTERM): once STOP_DEV goes through, the
# server deletes the device itself; whatever is left, del removes
wait_until 10 sh -c '! ublkctl list -n 0 >/dev/null 2>&1' || run ublkctl del -n 0
# the device leaves the driver's list a moment before its server exits
wait_until 5 sh -c '! pidof ublkctl'
no_devices

# a server that died: START_USER_RECOVERY stalled, the device stays recoverable
run ublkctl null -n 1 --recovery
kill -9 "$(server_pid 1)"
wait_until 10 sh -c "ublkctl list -n 1 | grep -q QUIESCED" || fail "not QUIESCED after a kill"
stalled 16 "START_USER_RECOVERY to device 1 did not complete within 2 s" 20 ublkctl recover -n 1 --timeout 2
wait_until 5 sh -c '! pidof ublkctl'
run ublkctl recover -n 1
run dd if=/dev/ublkb1 of=/dev/null bs=4k count=4 iflag=direct
run ublkctl del -n 1
no_devices

# without --timeout: the default, 30 s
stalled 4 "ADD_DEV to device 2 did not complete within 30 s" 45 ublkctl null -n 2
wait_until 5 test -e /sys/class/ublk-char/ublkc2 && run ublkctl del -n 2
no_devices
echo ok
