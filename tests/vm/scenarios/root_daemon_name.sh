# A --root-daemon server is "@ublkctl" in /proc/PID/cmdline (what systemd
# spares at switch_root and ps shows), whatever argv[0] it was started
# with: "ublkctl" through PATH is shorter than the name, and a recovered
# root server used to show as "@blkctl".
. /scenarios/lib.sh

# cmdline_is ID: the server of device ID calls itself exactly @ublkctl
cmdline_is() {
	local pid=$(server_pid "$1") got
	[ -n "$pid" ] || fail "device $1 has no server"
	got=$(tr '\0' '\n' < /proc/$pid/cmdline | head -n 1)
	echo "server $pid: argv[0] '$got'"
	[ "$got" = "@ublkctl" ] || fail "server of device $1 calls itself '$got'"
}

mkdir -p /tmp/t/bin
ln -sf "$(command -v ublkctl)" /tmp/t/bin/ublkctl
PATH=/tmp/t/bin:$PATH
run ublkctl null -n 0 --root-daemon --recovery		# argv[0] "ublkctl"
cmdline_is 0
kill -9 "$(server_pid 0)"
wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "not QUIESCED"
run ublkctl recover -n 0
cmdline_is 0
run /tmp/t/bin/ublkctl null -n 1 --root-daemon		# long enough: written in place
cmdline_is 1
run ublkctl del -a
no_devices
echo ok
