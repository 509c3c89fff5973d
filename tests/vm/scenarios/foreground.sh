# --foreground serves in the caller's process; SIGTERM stops and deletes.
# del --async returns at once and the device still goes away.
. /scenarios/lib.sh

ublkctl add -t null -s 1G --foreground > /tmp/t/fg.out 2>&1 &
fg=$!
wait_until 20 test -b /dev/ublkb0 || fail "foreground add made no device"
wait_until 5 grep -q /dev/ublkb0 /tmp/t/fg.out || fail "foreground add printed no path"
kill -0 $fg || fail "foreground add exited while serving"
run dd if=/dev/ublkb0 of=/dev/null bs=4k count=100 iflag=direct
run kill -TERM $fg
wait_until 10 sh -c "! kill -0 $fg" || fail "foreground add still running 10 s after SIGTERM"
wait $fg || fail "foreground add exited non-zero after SIGTERM"
wait_until 5 sh -c '! test -e /sys/class/ublk-char/ublkc0' || fail "device not deleted after SIGTERM"
no_devices

run ublkctl null 1G
pid=$(server_pid 0)
run ublkctl del -a --async
wait_until 10 sh -c '! test -e /sys/class/ublk-char/ublkc0' || fail "async del left the device"
wait_until 10 sh -c "! test -d /proc/$pid" || fail "async del left the server"
no_devices
echo ok
