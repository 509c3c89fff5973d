# several devices at once, and 2 queues served by 2 fio jobs.
. /scenarios/lib.sh

for i in 0 1; do truncate -s 64M /tmp/t/img$i; done
run ublkctl null 1G
run ublkctl null 2G
run ublkctl loop /tmp/t/img0
run ublkctl loop /tmp/t/img1 --direct-io
ublkctl list
[ "$(ublkctl list | tail -n +2 | grep -c LIVE)" = 4 ] || fail "expected 4 LIVE devices"

pids=""
for i in 0 1 2 3; do
	h fio --name=d$i --filename=/dev/ublkb$i --rw=randrw --bs=4k --iodepth=8 \
		--size=32M --runtime=3 --time_based $FIO_COMMON --output=/tmp/t/fio$i &
	pids="$pids $!"
done
for p in $pids; do wait $p || fail "fio on one device failed"; done
for i in 0 1 2 3; do grep -q 'err= 0' /tmp/t/fio$i || fail "fio errors on ublkb$i"; done
run ublkctl del -a
no_devices

dev=$(ublkctl add -t null -q 2 -s 1G) || fail "add -q 2 failed"
ublkctl list | grep -Eq '^0 +LIVE +null +1G +2 ' || fail "list does not show 2 queues"
[ "$(ls /sys/block/ublkb0/mq | wc -l)" = 2 ] || fail "block layer does not have 2 queues"
run h fio --name=two --filename=$dev --rw=randread --bs=4k --iodepth=16 --numjobs=2 \
	--runtime=3 --time_based $FIO_COMMON --output=/tmp/t/fio2q
cat /tmp/t/fio2q
grep -q 'err= 0' /tmp/t/fio2q || fail "fio errors with 2 queues"
run ublkctl del -n 0
no_devices
echo ok
