# bad input: every error path says something, exits non-zero, leaves nothing.
. /scenarios/lib.sh

truncate -s 1M /tmp/t/img
truncate -s 100 /tmp/t/tiny
mkdir -p /tmp/t/dir

expect_fail ublkctl add
[ $LAST_RC = 2 ] || fail "no target should be a usage error (2), got $LAST_RC"
expect_fail ublkctl add -t bogus
expect_fail ublkctl add -t null -q 0
expect_fail ublkctl add -t null -q 1000
expect_fail ublkctl add -t null -d 0
expect_fail ublkctl add -t null -d 5000
expect_fail ublkctl add -t null -b 1000
expect_fail ublkctl add -t null -b 8192
expect_fail ublkctl add -t null -s 0
expect_fail ublkctl add -t null -s 12Q
expect_fail ublkctl add -t null -s abc
expect_fail ublkctl add -t null -n -1
expect_fail ublkctl add -t null -n x
expect_fail ublkctl add -t null -f /tmp/t/img
expect_fail ublkctl add -t loop
expect_fail ublkctl add -t loop -f /tmp/t/missing
[ $LAST_RC = 1 ] || fail "missing file should exit 1, got $LAST_RC"
grep -q 'No such file' /tmp/t/err || fail "missing file: message does not say so"
expect_fail ublkctl add -t loop -f /tmp/t/dir
expect_fail ublkctl add -t loop -f /tmp/t/tiny -b 4096
expect_fail ublkctl add -t loop -f /tmp/t/img -s 1M
expect_fail ublkctl loop
expect_fail ublkctl null 1G extra
expect_fail ublkctl add -t null --bogus-option
expect_fail ublkctl bogus-applet
[ $LAST_RC = 127 ] || fail "unknown applet should exit 127, got $LAST_RC"
expect_fail ublkctl del
expect_fail ublkctl del -n 7
[ $LAST_RC = 1 ] || fail "del of an unknown id should exit 1, got $LAST_RC"
expect_fail ublkctl del -n 3 -a
expect_fail ublkctl list -n 9
expect_fail ublkctl list --bogus
no_devices

# a device id that is taken: the second add fails, the first stays
run ublkctl null -n 3 1G
expect_fail ublkctl null -n 3 1G
grep -q 'already exists' /tmp/t/err || fail "taken id: message does not say so"
[ "$(ublkctl list | tail -n +2 | wc -l)" = 1 ] || fail "taken id: device count changed"
run ublkctl del -n 3
no_devices

# read-only: writes fail, reads work
run ublkctl loop -r /tmp/t/img
[ "$(cat /sys/block/ublkb0/ro)" = 1 ] || fail "read-only device is writable"
dd if=/dev/zero of=/dev/ublkb0 bs=4k count=1 oflag=direct 2>/dev/null && fail "write to read-only device worked"
run dd if=/dev/ublkb0 of=/dev/null bs=4k count=16 iflag=direct
run ublkctl del -n 0
no_devices

# without the driver
run rmmod ublk_drv
expect_fail ublkctl list
grep -q 'ublk driver not loaded (try: modprobe ublk_drv)' /tmp/t/err || fail "no-driver message wrong"
expect_fail ublkctl add -t null
grep -q 'ublk driver not loaded' /tmp/t/err || fail "add without driver: message wrong"
run modprobe ublk_drv
no_devices
echo ok
