# null target: add, list (table and JSON), fio 4k random reads, batch IO
# where the driver has it and the per-tag commands on request, a queue
# of depth 1024, del.
. /scenarios/lib.sh

dev=$(ublkctl add -t null -s 1G) || fail "add failed"
echo "add printed: $dev"
[ "$dev" = /dev/ublkb0 ] || fail "add printed '$dev', expected /dev/ublkb0"
[ -b /dev/ublkb0 ] || fail "/dev/ublkb0 is not a block device"
[ -f /run/ublk/0 ] || fail "no state file /run/ublk/0"

ublkctl list | tee /tmp/t/list
sed -n 1p /tmp/t/list | grep -q '^ID  *STATE  *TARGET  *SIZE  *QUEUES  *DEPTH  *BS  *PID  *FILE$' ||
	fail "bad table header"
grep -Eq '^0 +LIVE +null +1G +1 +128 +512 +[0-9]+ *$' /tmp/t/list || fail "bad table row"

ublkctl list -J | tee /tmp/t/json
for kv in '"id":0' '"dev":"/dev/ublkb0"' '"state":"LIVE"' '"target":"null"' \
	'"size":1073741824' '"queues":1' '"depth":128' '"block_size":512' '"file":null'; do
	grep -qF "$kv" /tmp/t/json || fail "JSON lacks $kv"
done
grep -q '^{"ublkdevices":\[$' /tmp/t/json || fail "JSON does not open with ublkdevices"
pid=$(server_pid 0)
[ -n "$pid" ] && [ -d /proc/$pid ] || fail "no live server pid in JSON"
[ "$(cat /sys/block/ublkb0/size)" = 2097152 ] || fail "sysfs size is $(cat /sys/block/ublkb0/size)"

run h fio --name=randread --filename=/dev/ublkb0 --rw=randread --bs=4k \
	--iodepth=16 --runtime=3 --time_based $FIO_COMMON --output=/tmp/t/fio.out
cat /tmp/t/fio.out
grep -q 'err= 0' /tmp/t/fio.out || fail "fio reported errors"
grep -Eq 'IOPS=[1-9]' /tmp/t/fio.out || fail "fio did no IO"

# Batch IO (UBLK_F_BATCH_IO, bit 15) where the driver offers it: Linux 7.0
# and later, not our module. UBLKCTL_NO_BATCH=1 keeps the per-tag commands.
batch_bit() {
	echo $(( $(ublk list -n $1 | awk '$1 == "flags" { print $2 }') >> 15 & 1 ))
}
want=0
[ ! -f /sys/module/ublk_drv/version ] && [ "$(uname -r | cut -d. -f1)" -ge 7 ] && want=1
[ "$(batch_bit 0)" = $want ] || fail "batch IO flag is $(batch_bit 0), expected $want"
run env UBLKCTL_NO_BATCH=1 ublkctl add -t null -s 1G -n 1
[ "$(batch_bit 1)" = 0 ] || fail "UBLKCTL_NO_BATCH=1: batch IO still on"
run h fio --name=pertag --filename=/dev/ublkb1 --rw=randread --bs=4k \
	--iodepth=16 --runtime=1 --time_based $FIO_COMMON --output=/tmp/t/fio.out
grep -q 'err= 0' /tmp/t/fio.out || fail "fio on the per-tag device reported errors"
run ublkctl del -n 1
# A deep queue: more requests at once than one fetch buffer holds.
run ublkctl add -t null -s 1G -n 2 -d 1024
run h fio --name=deep --filename=/dev/ublkb2 --rw=randread --bs=4k --iodepth=512 --iodepth_batch_submit=512 \
	--numjobs=2 --runtime=2 --time_based $FIO_COMMON --output=/tmp/t/fio.out
grep -q 'err= 0' /tmp/t/fio.out || fail "fio on the depth 1024 device reported errors"
run ublkctl del -n 2

run ublkctl del -n 0
[ -e /dev/ublkb0 ] && fail "/dev/ublkb0 still there"
[ -e /run/ublk/0 ] && fail "state file still there"
[ -d /proc/$pid ] && fail "server $pid still running"
[ -e /sys/class/ublk-char/ublkc0 ] && fail "ublkc0 still there"
no_devices
echo ok
