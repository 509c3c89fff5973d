# loop's WRITE_ZEROES: on a tmpfs file (no FALLOC_FL_ZERO_RANGE) the device
# does not advertise it and blkdiscard -z still zeroes (the block layer
# writes zero pages), never an IO error; on ext4 it is advertised and
# done in place. Either way the range reads as zeroes, the rest unchanged.
. /scenarios/lib.sh

# zeroes FILE: blkdiscard -z of 1M..5M on a loop device over FILE
zeroes() {
	local dev wz
	dev=$(ublkctl loop "$1") || fail "loop $1 failed"
	run dd if=/dev/urandom of=$dev bs=1M count=8 oflag=direct
	dd if=$dev bs=1M count=1 iflag=direct 2>/dev/null | sha256sum > /tmp/t/head
	dd if=$dev bs=1M skip=5 count=3 iflag=direct 2>/dev/null | sha256sum > /tmp/t/tail
	wz=$(cat /sys/block/${dev#/dev/}/queue/write_zeroes_max_bytes)
	note "$1: write_zeroes_max_bytes $wz"
	run h blkdiscard -z -o 1048576 -l 4194304 $dev
	[ "$(dd if=$dev bs=1M skip=1 count=4 iflag=direct 2>/dev/null | tr -d '\000' | wc -c)" = 0 ] ||
		fail "$1: the zeroed range does not read as zeroes"
	dd if=$dev bs=1M count=1 iflag=direct 2>/dev/null | sha256sum | cmp -s - /tmp/t/head ||
		fail "$1: the data before the range changed"
	dd if=$dev bs=1M skip=5 count=3 iflag=direct 2>/dev/null | sha256sum | cmp -s - /tmp/t/tail ||
		fail "$1: the data after the range changed"
	# discard (a punched hole) still works
	run h blkdiscard -o 1048576 -l 1048576 $dev
	run ublkctl del -n 0
	WZ=$wz
}

truncate -s 64M /tmp/t/img
zeroes /tmp/t/img
[ "$WZ" = 0 ] || fail "tmpfs: WRITE_ZEROES advertised ($WZ bytes), which tmpfs cannot do in place"

truncate -s 256M /tmp/t/fs.img
run h mkfs.ext4 -q -F /tmp/t/fs.img
kloop=$(losetup -f)
run losetup $kloop /tmp/t/fs.img
mkdir -p /tmp/t/mnt
run mount -t ext4 $kloop /tmp/t/mnt
truncate -s 64M /tmp/t/mnt/img
zeroes /tmp/t/mnt/img
[ "$WZ" != 0 ] || fail "ext4: no WRITE_ZEROES advertised"
run umount /tmp/t/mnt
run losetup -d $kloop
no_devices
echo ok
