# zero-copy-experimental, in both modes where the kernel has them: fio
# verify write and read-back; mkfs.ext4, files, fsck and checksums; list
# names the mode. Without the feature: one clear refusal.
# Not here yet: killing a zero-copy server mid-IO leaves its IO hanging
# for more than a minute on Linux 7.2 (see the note).
. /scenarios/lib.sh

truncate -s 256M /tmp/t/img
if ! ublkctl zero-copy-experimental /tmp/t/img > /tmp/t/out 2> /tmp/t/err; then
	cat /tmp/t/err
	grep -q 'needs UBLK_F_SUPPORT_ZERO_COPY, which this ublk driver lacks (Linux 6.15' /tmp/t/err ||
		fail "no clear refusal without zero copy"
	[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "refusal is not one line"
	no_devices
	skip "the driver has no zero copy: refused as it should be"
fi
run ublkctl del -a

for mode in register auto-buf-reg; do
	want=zc; [ $mode = auto-buf-reg ] && want=abr
	run ublkctl zero-copy-experimental /tmp/t/img --zero-copy=$mode
	ublkctl list | tee /tmp/t/list
	grep -q "loop+$want" /tmp/t/list || fail "$mode: list does not say loop+$want"
	run h fio --name=zc --filename=/dev/ublkb0 --rw=randwrite --bs=4k --bsrange=4k-512k --size=128M \
		--iodepth=16 --verify=crc32c --verify_fatal=1 --randrepeat=1 $FIO_COMMON --output=/tmp/t/fio
	run h fio --name=zc --filename=/dev/ublkb0 --rw=randwrite --bs=4k --bsrange=4k-512k --size=128M \
		--iodepth=16 --verify=crc32c --verify_fatal=1 --randrepeat=1 --verify_only $FIO_COMMON --output=/tmp/t/fio2
	run h mkfs.ext4 -q -F /dev/ublkb0
	mkdir -p /tmp/t/mnt
	run mount -t ext4 /dev/ublkb0 /tmp/t/mnt
	i=0
	while [ $i -lt 20 ]; do
		dd if=/dev/urandom of=/tmp/t/mnt/f$i bs=64k count=8 2>/dev/null
		i=$((i + 1))
	done
	(cd /tmp/t/mnt && md5sum f* > /tmp/t/sums)
	run umount /tmp/t/mnt
	run h fsck.ext4 -n -f /dev/ublkb0
	run mount -t ext4 -o ro /dev/ublkb0 /tmp/t/mnt
	(cd /tmp/t/mnt && md5sum -c /tmp/t/sums >/dev/null) || fail "$mode: checksums differ"
	run umount /tmp/t/mnt
	run ublkctl del -a
	no_devices
done
echo ok
