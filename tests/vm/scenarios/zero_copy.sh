# zero-copy-experimental, in both modes where the kernel has them: fio
# verify write and read-back; mkfs.ext4, files, fsck and checksums; list
# names the mode; kill -9 of the server mid-IO, without recovery (IO
# fails, the device is DEAD and deletable) and with --recovery=reissue (the
# device quiesces, recover, fio ends without an error); afterwards the
# module unloads, so no request buffer stayed registered. Without the
# feature: one clear refusal.
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

# kill_mid_io MODE [--recovery=reissue]
kill_mid_io() {
	local mode=$1 rec=${2:-} pid fio st
	note "kill -9 mid-IO: $mode $rec"
	run ublkctl zero-copy-experimental /tmp/t/img --zero-copy=$mode $rec
	pid=$(server_pid 0)
	h fio --name=busy --filename=/dev/ublkb0 --rw=randrw --bs=4k --bsrange=4k-512k --size=100M \
		--iodepth=32 --runtime=20 --time_based $FIO_COMMON --output=/tmp/t/fio &
	fio=$!
	wait_io ublkb0
	run kill -9 $pid
	if [ -z "$rec" ]; then
		wait_until 10 sh -c "! kill -0 $fio" || fail "$mode: fio still running 10 s after the kill"
		wait $fio && fail "$mode: fio did not notice the server dying"
		st=$(ublkctl list | awk 'NR == 2 { print $2 }')
		[ -z "$st" ] || [ "$st" = DEAD ] || fail "$mode: state $st after the kill, expected DEAD"
	else
		wait_until 10 sh -c "ublkctl list | grep -q QUIESCED" || fail "$mode: not QUIESCED 10 s after the kill"
		run ublkctl recover -n 0
		wait $fio || fail "$mode: fio saw an error across the recovery"
	fi
	run timeout 10 ublkctl del -a
	no_devices
}
for mode in register auto-buf-reg; do
	kill_mid_io $mode
	kill_mid_io $mode --recovery=reissue
done
run rmmod ublk_drv
echo ok
