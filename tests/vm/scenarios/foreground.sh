# --foreground serves in the caller's process; SIGTERM stops and deletes.
# del --async returns at once and the device still goes away. Neither
# server keeps a descriptor of its caller's (a lock would stay held).
. /scenarios/lib.sh

# fails when the server of device 0 holds /tmp/t/lock, fd 9 of its caller
no_inherited_fd() {
	local pid=$(server_pid 0)
	[ -n "$pid" ] || fail "no server pid"
	ls -l /proc/$pid/fd
	ls -l /proc/$pid/fd | grep -q /tmp/t/lock && fail "server $pid holds its caller's fd"
	return 0
}

exec 9>/tmp/t/lock
ublkctl add -t null -s 1G --foreground > /tmp/t/fg.out 2>&1 &
fg=$!
exec 9>&-
wait_until 20 test -b /dev/ublkb0 || fail "foreground add made no device"
wait_until 5 grep -q /dev/ublkb0 /tmp/t/fg.out || fail "foreground add printed no path"
kill -0 $fg || fail "foreground add exited while serving"
no_inherited_fd
run dd if=/dev/ublkb0 of=/dev/null bs=4k count=100 iflag=direct
run kill -TERM $fg
wait_until 10 sh -c "! kill -0 $fg" || fail "foreground add still running 10 s after SIGTERM"
wait $fg || fail "foreground add exited non-zero after SIGTERM"
wait_until 5 sh -c '! test -e /sys/class/ublk-char/ublkc0' || fail "device not deleted after SIGTERM"
no_devices

exec 9>/tmp/t/lock
run ublkctl null 1G
exec 9>&-
no_inherited_fd
pid=$(server_pid 0)
run ublkctl del -a --async
wait_until 10 sh -c '! test -e /sys/class/ublk-char/ublkc0' || fail "async del left the device"
wait_until 10 sh -c "! test -d /proc/$pid" || fail "async del left the server"
no_devices
echo ok
