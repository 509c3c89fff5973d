# loop target: fio verify, then ext4 whose files read back right through the
# kernel's own loop device, and fsck is clean. Twice: on a file in a tmpfs
# (plain syscalls in the queue thread) and on a block device (io_uring).
. /scenarios/lib.sh

# integrity BACKING IMG: ublkctl loop on BACKING, which is IMG or a block
# device over it
integrity() {
	local backing=$1 img=$2 dev kloop i fiov
	dev=$(ublkctl loop $backing) || fail "loop failed"
	[ "$dev" = /dev/ublkb0 ] || fail "loop printed '$dev'"
	ublkctl list
	ublkctl list | grep -Eq "^0 +LIVE +loop +256M .* $backing\$" || fail "list row wrong"

	fiov="--name=verify --filename=$dev --rw=randwrite --bs=4k --size=64M --iodepth=16 \
		--verify=crc32c --verify_fatal=1 --randrepeat=1 $FIO_COMMON"
	run h fio $fiov --do_verify=1 --output=/tmp/t/fio1
	cat /tmp/t/fio1
	grep -q 'err= 0' /tmp/t/fio1 || fail "fio write+verify reported errors"
	run h fio $fiov --verify_only --output=/tmp/t/fio2
	cat /tmp/t/fio2
	grep -q 'err= 0' /tmp/t/fio2 || fail "fio read-back verify reported errors"

	run h mkfs.ext4 -q -F $dev
	mkdir -p /tmp/t/mnt /tmp/t/src
	for i in 1 2 3 4 5; do
		dd if=/dev/urandom of=/tmp/t/src/f$i bs=1k count=$((i * 700)) 2>/dev/null
	done
	(cd /tmp/t/src && sha256sum f*) > /tmp/t/sums
	run mount -t ext4 $dev /tmp/t/mnt
	run cp /tmp/t/src/f1 /tmp/t/src/f2 /tmp/t/src/f3 /tmp/t/src/f4 /tmp/t/src/f5 /tmp/t/mnt/
	(cd /tmp/t/mnt && sha256sum -c /tmp/t/sums) || fail "checksums wrong through ublk"
	run umount /tmp/t/mnt
	run ublkctl del -n 0

	kloop=$(losetup -f)
	run losetup -r $kloop $img
	run mount -t ext4 -o ro $kloop /tmp/t/mnt
	(cd /tmp/t/mnt && sha256sum -c /tmp/t/sums) || fail "checksums wrong through the kernel loop device"
	run umount /tmp/t/mnt
	run losetup -d $kloop
	run h fsck.ext4 -n -f $img
}

truncate -s 256M /tmp/t/disk.img
integrity /tmp/t/disk.img /tmp/t/disk.img

truncate -s 256M /tmp/t/disk2.img
bdev=$(losetup -f)
run losetup $bdev /tmp/t/disk2.img
integrity $bdev /tmp/t/disk2.img
run losetup -d $bdev
no_devices
echo ok
