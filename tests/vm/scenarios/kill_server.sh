# kill -9 of the server during IO (no recovery): the device goes away or
# fails IO within 10 s, list tells the truth, del cleans up.
. /scenarios/lib.sh

truncate -s 128M /tmp/t/img
dev=$(ublkctl loop /tmp/t/img) || fail "loop failed"
pid=$(server_pid 0)
[ -n "$pid" ] || fail "no server pid"
h fio --name=busy --filename=$dev --rw=randrw --bs=4k --size=100M --iodepth=32 --runtime=60 \
	--time_based $FIO_COMMON --output=/tmp/t/fio &
fio=$!
wait_io ublkb0
run kill -9 $pid
wait_until 10 sh -c "! kill -0 $fio" || fail "fio still running 10 s after the kill"
wait $fio && fail "fio did not notice the server dying"
ublkctl list | tee /tmp/t/list
row=$(tail -n +2 /tmp/t/list)
case $row in
"") note "device removed by the kernel" ;;
*) echo "$row" | grep -Eq '^0 +(DEAD|QUIESCED) +loop .* - +/tmp/t/img$' ||
	fail "list shows '$row', expected DEAD with no server" ;;
esac
ublkctl list -J | grep -q '"pid":null' || [ -z "$row" ] || fail "JSON claims a server"
run timeout 10 ublkctl del -a
[ -e /dev/ublkb0 ] && fail "/dev/ublkb0 still there"
no_devices
echo ok
