# loop --direct-io on a 4Kn backing (a loop device with 4096-byte
# sectors, and a file on ext4 on it): the ublk device takes the backing's
# logical block size, so no request is smaller than O_DIRECT allows; an
# explicit smaller -b is refused in one line, leaving nothing.
. /scenarios/lib.sh

truncate -s 96M /tmp/t/img
back=$(h losetup --sector-size 4096 -f --show /tmp/t/img) || skip "no losetup --sector-size"
[ "$(cat /sys/block/${back#/dev/}/queue/logical_block_size)" = 4096 ] || fail "$back is not 4Kn"
FIO_VERIFY="--name=v --filename=/dev/ublkb0 --rw=randwrite --bs=4k --size=16M --iodepth=16 --verify=crc32c $FIO_COMMON"

# serve_4k FILE: --direct-io gives a 4096-byte device on which IO works
serve_4k() {
	run ublkctl loop --direct-io "$1"
	lbs=$(cat /sys/block/ublkb0/queue/logical_block_size)
	[ "$lbs" = 4096 ] || fail "$1: logical block size $lbs, not the backing's 4096"
	ublkctl list -n 0 | grep -q ' 4096 ' || fail "list does not show block size 4096"
	run h fio $FIO_VERIFY --output=/tmp/t/fio
	run ublkctl del -n 0
}

serve_4k $back
expect_fail ublkctl loop --direct-io -b 512 $back
grep -q 'needs blocks of 4096' /tmp/t/err || fail "-b 512: no word about the 4096-byte blocks"
no_devices

# a file on a 4Kn file system: statx's direct-IO alignment
mkdir -p /tmp/t/mnt
run h mkfs.ext4 -q -b 4096 $back
run mount -t ext4 $back /tmp/t/mnt
truncate -s 32M /tmp/t/mnt/f
serve_4k /tmp/t/mnt/f
# buffered IO has no such limit: the default stays
run ublkctl loop /tmp/t/mnt/f
[ "$(cat /sys/block/ublkb0/queue/logical_block_size)" = 512 ] || fail "buffered loop changed its block size"
run ublkctl del -n 0
run umount /tmp/t/mnt
h losetup -d $back
no_devices
echo ok
