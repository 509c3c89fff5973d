# resize: a mounted ext4 on a loop device grows with its backing file
# (resize, then resize2fs online), its data intact; the state file keeps
# the new size through kill -9 and recover; shrinking needs --force; a
# null device takes a size. A driver without UBLK_F_UPDATE_SIZE: one line
# naming it, exit 1, the device as it was.
. /scenarios/lib.sh
truncate -s 64M /tmp/t/a.img
h mkfs.ext4 -q -F /tmp/t/a.img || fail "mkfs.ext4"
dev=$(ublkctl loop --recovery /tmp/t/a.img) || fail "ublkctl loop"
if ! ublkctl features | grep -Eq '^ 10 UPDATE_SIZE +yes'; then
	truncate -s 128M /tmp/t/a.img
	expect_fail ublkctl resize -n 0
	grep -q "lacks UBLK_F_UPDATE_SIZE" /tmp/t/err || fail "the refusal does not name UBLK_F_UPDATE_SIZE"
	[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "more than one line"
	[ "$(cat /sys/block/ublkb0/size)" = 131072 ] || fail "the size changed anyway"
	run ublkctl del -n 0
	no_devices
	echo ok
	exit 0
fi
# mounted where the host's tools see it too (/host/tmp is /tmp, without
# its submounts): resize2fs finds it mounted and resizes online
mnt=/host/tmp/t/mnt
mkdir -p /tmp/t/mnt
run mount $dev $mnt
run dd if=/dev/urandom of=$mnt/data bs=1M count=20 status=none
sum=$(md5sum < $mnt/data)
truncate -s 128M /tmp/t/a.img
run ublkctl resize -n 0
[ "$(cat /sys/block/ublkb0/size)" = 262144 ] || fail "the kernel's size is $(cat /sys/block/ublkb0/size) sectors"
run h resize2fs $dev
blocks=$(df -k $mnt | awk 'NR == 2 { print $2 }')
[ "$blocks" -gt 100000 ] || fail "ext4 did not grow: $blocks KiB"
run dd if=/dev/urandom of=$mnt/more bs=1M count=60 status=none
[ "$(md5sum < $mnt/data)" = "$sum" ] || fail "the data changed"
sync
grep -qx 'size=134217728' /run/ublk/0 || fail "the state file: $(cat /run/ublk/0)"
kill -9 "$(server_pid 0)"
wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "not QUIESCED"
run ublkctl recover -n 0
[ "$(cat /sys/block/ublkb0/size)" = 262144 ] || fail "the recovered device has $(cat /sys/block/ublkb0/size) sectors"
grep -qx 'size=134217728' /run/ublk/0 || fail "the state file after recover: $(cat /run/ublk/0)"
[ "$(md5sum < $mnt/data)" = "$sum" ] || fail "the data changed after recover"
run umount $mnt
run h fsck.ext4 -n -f $dev
expect_fail ublkctl resize -n 0 64M
grep -q "needs --force" /tmp/t/err || fail "shrinking without --force: no message"
[ "$(cat /sys/block/ublkb0/size)" = 262144 ] || fail "shrunk without --force"
run ublkctl resize -n 0 96M --force
[ "$(cat /sys/block/ublkb0/size)" = 196608 ] || fail "--force did not shrink"
run ublkctl null -n 1 -s 1G
run ublkctl resize -n 1 3G
[ "$(cat /sys/block/ublkb1/size)" = 6291456 ] || fail "null: $(cat /sys/block/ublkb1/size) sectors"
expect_fail ublkctl resize -n 1
[ $LAST_RC = 2 ] || fail "null without a size: exit $LAST_RC, want 2"
run ublkctl del -a
no_devices
echo ok
