# temporary: nbd target against nbdkit memory on 127.0.0.1
. /scenarios/lib.sh
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
h nbdkit -f -i 127.0.0.1 -p 10809 memory 256M > /tmp/t/nbdkit.log 2>&1 &
srv=$!
sleep 1
cat /tmp/t/nbdkit.log
run ublkctl nbd nbd://127.0.0.1:10809 -q 2
ublkctl list; ublkctl list -J
h fio --name=v --filename=/dev/ublkb0 --rw=randwrite --bs=4k --size=64M --iodepth=16 --verify=crc32c --do_verify=1 $FIO_COMMON --output=/tmp/t/fio >/dev/null 2>&1 || { cat /tmp/t/fio; fail "fio verify"; }
grep -E "IOPS|err" /tmp/t/fio | head -3
# reconnect: kill the server, restart after 2 s; IO must wait, not fail
h fio --name=w --filename=/dev/ublkb0 --rw=randwrite --bs=4k --size=64M --iodepth=8 --time_based --runtime=8 $FIO_COMMON --output=/tmp/t/fio2 >/dev/null 2>&1 &
f=$!
sleep 2
kill -9 $srv
sleep 1
ublkctl list
sleep 1
h nbdkit -f -i 127.0.0.1 -p 10809 memory 256M > /tmp/t/nbdkit2.log 2>&1 &
srv=$!
wait $f || { cat /tmp/t/fio2; fail "fio across the reconnect"; }
ublkctl list -J
run ublkctl del -n 0
kill $srv
no_devices
echo ok
