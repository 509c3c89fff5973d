# the server (nbdkit file plugin: the data is kept) killed and started again
# 10 times under one verifying fio, each time after a pause of 0.5 to 2 s:
# fio ends with no error and all its data verified, each restart is
# followed by IO completing again, and list -J counts 10 reconnects at
# least; the whole within bounded time.
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit

RUNTIME=60	# fio's time limit; the 10 restarts take 25 s here
reconnects() { ublkctl list -n 0 -J | sed -n 's/.*"reconnects":\([0-9]*\).*/\1/p'; }
up() { ublkctl list -n 0 -J | grep -q '"connection":"up"'; }

truncate -s 64M /tmp/t/export.img
start_nbdkit_file /tmp/t/export.img 10891
dev=$(ublkctl nbd --timeout 5 --reconnect-timeout 60 "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
t0=$(date +%s)
# loops of write then verify, each block also verified soon after it is
# written (verify_backlog); fio stops at RUNTIME at the latest
h fio --name=restart10 --filename=$dev --rw=randwrite --bs=4k --size=16M --loops=1000 \
	--runtime=$RUNTIME --iodepth=16 --verify=crc32c --verify_fatal=1 --verify_backlog=256 \
	$FIO_COMMON --output=/tmp/t/fio &
fio=$!
wait_io ublkb0
pauses="0.5 1 2 0.5 1.5 1 2 0.5 1 1.5"
i=0
for p in $pauses; do
	i=$((i + 1))
	kill -0 $fio 2>/dev/null || { cat /tmp/t/fio; fail "fio ended before restart $i"; }
	n=$(io_count ublkb0)
	kill_server
	sleep $p
	restart_server
	# the queue is back and IO completes again before the next kill
	wait_until 30 up || fail "restart $i: the connection is not up 30 s after the server came back: $(ublkctl list)"
	wait_until 30 sh -c "[ \$(awk '{ print \$1 + \$5 }' /sys/block/ublkb0/stat) -gt $((n + 200)) ]" ||
		fail "restart $i: no IO completed within 30 s of the server coming back"
	note "restart $i after ${p}s: reconnects $(reconnects), $(io_count ublkb0) requests done, $(( $(date +%s) - t0 ))s"
done
kill -0 $fio 2>/dev/null || { cat /tmp/t/fio; fail "fio ended before the 10th restart was served"; }
wait_until $((RUNTIME + 60)) sh -c "! kill -0 $fio" || fail "fio still running $((RUNTIME + 60)) s after its start"
wait $fio
frc=$?
cat /tmp/t/fio
[ $frc = 0 ] || fail "fio exited $frc across 10 restarts"
grep -q 'err= 0' /tmp/t/fio || fail "fio reports errors across 10 restarts"
grep -q "^restart10: " /tmp/t/fio || fail "fio's report is missing"
n=$(reconnects)
note "reconnects $n, $(( $(date +%s) - t0 ))s in all"
[ -n "$n" ] && [ "$n" -ge 10 ] || fail "list -J: reconnects '$n' after 10 restarts, want >= 10"
ublkctl list | grep -q ' LIVE ' || fail "not LIVE after the restarts: $(ublkctl list)"
run timeout 20 ublkctl del -a
stop_server
no_devices
echo ok
