# del while fio runs: fio sees errors, nothing hangs, all gone within 10 s.
. /scenarios/lib.sh

truncate -s 128M /tmp/t/img
dev=$(ublkctl loop /tmp/t/img) || fail "loop failed"
pid=$(server_pid 0)
h fio --name=busy --filename=$dev --rw=randrw --bs=4k --size=100M --iodepth=32 --runtime=60 \
	--time_based $FIO_COMMON --output=/tmp/t/fio &
fio=$!
wait_io ublkb0
t0=$(date +%s)
run timeout 10 ublkctl del -n 0
wait_until 10 sh -c "! kill -0 $fio" || fail "fio still running 10 s after del"
wait $fio && fail "fio did not notice the device going away"
[ $(( $(date +%s) - t0 )) -le 10 ] || fail "del and fio took more than 10 s"
cat /tmp/t/fio
[ -e /dev/ublkb0 ] && fail "/dev/ublkb0 still there"
[ -d /proc/$pid ] && fail "server $pid still running"
no_devices
echo ok
