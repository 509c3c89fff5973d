# ext4 on a loop device added with --recovery=reissue: a writer writes and
# fsyncs files of known checksums; the server is killed (-9) in the middle
# and `ublkctl recover -n 0` brings it back. The writer sees no error, fsck
# is clean and every checksum is right. Ten rounds in one boot; prints the
# time from the kill to IO flowing again.
. /scenarios/lib.sh

truncate -s 256M /tmp/t/img
run ublkctl loop --recovery=reissue /tmp/t/img
run h mkfs.ext4 -q -F /dev/ublkb0
mkdir -p /tmp/t/mnt
run mount -t ext4 /dev/ublkb0 /tmp/t/mnt

writer() {
	local round=$1 i=0
	while [ $i -lt 40 ]; do
		dd if=/dev/urandom of=/tmp/t/mnt/r$round.$i bs=64k count=4 conv=fsync 2>/dev/null ||
			{ echo "writer: write r$round.$i failed"; return 1; }
		md5sum /tmp/t/mnt/r$round.$i >> /tmp/t/sums.$round
		i=$((i + 1))
	done
}

now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
total=0 round=1
while [ $round -le 10 ]; do
	writer $round > /tmp/t/writer.log 2>&1 &
	wpid=$!
	wait_until 20 test -s /tmp/t/sums.$round || fail "round $round: writer wrote nothing"
	pid=$(server_pid 0)
	[ -n "$pid" ] || fail "round $round: no server pid"
	t0=$(now_ms)
	kill -9 $pid
	wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "round $round: not QUIESCED"
	ublkctl list -n 0 | tail -n 1 | grep -Eq ' - +/tmp/t/img$' || fail "round $round: list claims a server"
	ublkctl recover -n 0 >/dev/null || fail "round $round: recover failed"
	dd if=/dev/ublkb0 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null || fail "round $round: no IO after recover"
	ms=$(( $(now_ms) - t0 ))
	total=$((total + ms))
	wait $wpid || { cat /tmp/t/writer.log; fail "round $round: the writer saw an error"; }
	note "round $round: recovered in $ms ms"
	round=$((round + 1))
done
cat /tmp/t/sums.* > /tmp/t/all.sums
run umount /tmp/t/mnt
run h fsck.ext4 -n -f /dev/ublkb0
run mount -t ext4 -o ro /dev/ublkb0 /tmp/t/mnt
md5sum -c /tmp/t/all.sums > /tmp/t/check 2>&1 || { grep -v OK /tmp/t/check | head; fail "checksums differ"; }
umount /tmp/t/mnt
run ublkctl del -n 0
no_devices
echo "BENCH recovery (kill -9 to IO flowing again), mean of 10: $((total / 10)) ms"
echo "ok: $(wc -l < /tmp/t/all.sums) files in 10 rounds"
