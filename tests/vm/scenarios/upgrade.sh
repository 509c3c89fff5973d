# upgrade: 20 times under one verifying fio, the server of a loop device
# is replaced by a new process: fio ends with no error and all its data
# verified, each time a new server pid. Where the driver has QUIESCE
# (7.x, our module) upgrade quiesces the device, the old server answers
# what it holds and exits by itself: then a --recovery=requeue device,
# whose held IO a killed server would fail, is the one upgraded. On
# 6.12's own driver the server is killed and reissue resends what it
# held; requeue is refused there. Devices that cannot be upgraded keep
# their server.
. /scenarios/lib.sh
RUNTIME=45	# fio's time limit; 20 upgrades take 4 s (our module) to 20 s
truncate -s 64M /tmp/t/a.img
if ublkctl features | grep -Eq '^ *12 QUIESCE +yes '; then
	mode=requeue refused=""
else
	mode=reissue refused="--recovery=requeue"
fi
note "upgrading a --recovery=$mode device"
dev=$(ublkctl loop --recovery=$mode -q 2 /tmp/t/a.img) || fail "ublkctl loop"
t0=$(date +%s)
h fio --name=upgrade20 --filename=$dev --rw=randwrite --bs=4k --size=16M --loops=1000 \
	--runtime=$RUNTIME --iodepth=16 --verify=crc32c --verify_fatal=1 --verify_backlog=256 \
	$FIO_COMMON --output=/tmp/t/fio &
fio=$!
wait_io ublkb0
cp /bin/ublkctl /tmp/t/ublkctl.new
i=0
while [ $i -lt 20 ]; do
	i=$((i + 1))
	kill -0 $fio 2>/dev/null || { cat /tmp/t/fio; fail "fio ended before upgrade $i"; }
	old=$(server_pid 0)
	n=$(io_count ublkb0)
	if [ $((i % 2)) = 0 ]; then
		run ublkctl upgrade -n 0 --binary /tmp/t/ublkctl.new > /tmp/t/up 2> /tmp/t/up.err
	else
		run ublkctl upgrade -n 0 > /tmp/t/up 2> /tmp/t/up.err
	fi
	# the old server exits by itself once it answered what it held
	! grep . /tmp/t/up.err || fail "upgrade $i: $(cat /tmp/t/up.err)"
	grep -qx /dev/ublkb0 /tmp/t/up || fail "upgrade $i printed: $(cat /tmp/t/up)"
	new=$(server_pid 0)
	[ -n "$new" ] && [ "$new" != "$old" ] || fail "upgrade $i: server $old, then '$new'"
	wait_until 30 sh -c "[ \$(awk '{ print \$1 + \$5 }' /sys/block/ublkb0/stat) -gt $((n + 200)) ]" ||
		fail "upgrade $i: no IO completed within 30 s"
done
note "20 upgrades in $(( $(date +%s) - t0 )) s"
kill -0 $fio 2>/dev/null || { cat /tmp/t/fio; fail "fio ended before the 20th upgrade was served"; }
wait_until $((RUNTIME + 60)) sh -c "! kill -0 $fio" || fail "fio still running"
wait $fio
frc=$?
cat /tmp/t/fio
[ $frc = 0 ] || fail "fio exited $frc across 20 upgrades"
grep -q 'err= 0' /tmp/t/fio || fail "fio reports errors across 20 upgrades"
run ublkctl del -n 0
# what cannot be upgraded losslessly: refused, the server kept
for opt in $refused ""; do
	dev=$(ublkctl loop $opt /tmp/t/a.img) || fail "ublkctl loop $opt"
	pid=$(server_pid 0)
	expect_fail ublkctl upgrade -n 0
	grep -Eq "requeue|without --recovery" /tmp/t/err || fail "upgrade of a '$opt' device: no reason given"
	[ "$(server_pid 0)" = "$pid" ] || fail "the '$opt' device lost its server"
	run ublkctl del -n 0
done
no_devices
echo ok
