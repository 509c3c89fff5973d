# ublk add -t loop -g 1 (UBLK_F_NEED_GET_DATA: each write reaches the
# server without its data, which it fetches with NEED_GET_DATA): fio verify
# on a tmpfs file (syscalls in the queue thread) and on a block device
# (io_uring); then a kill -9 of the server during fio and `ublk recover`
# in that mode, with every block verified after.
. /scenarios/lib.sh

truncate -s 128M /tmp/t/img
FIO_VERIFY="--name=v --filename=/dev/ublkb0 --rw=randwrite --size=48M --iodepth=16 \
	--verify=crc32c --verify_fatal=1 --randrepeat=1 $FIO_COMMON"

# check_get_data: device 0 has NEED_GET_DATA and serves per tag (no batch IO)
check_get_data() {
	local flags
	ublk list -n 0 > /tmp/t/list || fail "ublk list -n 0 failed"
	cat /tmp/t/list
	grep -q '^	flags 0x[0-9a-f]* \[.* NEED_GET_DATA .*\]$' /tmp/t/list || fail "no NEED_GET_DATA in the flags"
	flags=$(awk 'NR == 3 { print $2 }' /tmp/t/list)
	[ $((flags & 0x8000)) = 0 ] || fail "BATCH_IO ($flags) with NEED_GET_DATA"
}

# verify_fio OUT ARGS...: fio verify, no error
verify_fio() {
	local out=$1
	shift
	run h fio $FIO_VERIFY "$@" --output=/tmp/t/$out
	cat /tmp/t/$out
	grep -q 'err= 0' /tmp/t/$out || fail "fio $out reported errors"
}

run ublk add -t loop -n 0 -q 2 -g 1 -r 1 -i 1 -f /tmp/t/img --quiet
check_get_data
# writes of one page and of many: each is one NEED_GET_DATA copy
verify_fio write --bsrange=4k-128k --do_verify=1
verify_fio readback --bsrange=4k-128k --verify_only

# kill -9 during the writes of a second region; reissue: fio sees no
# error, and its read-back after recover checks every block it wrote
base=$(io_count ublkb0)
h fio $FIO_VERIFY --bs=4k --offset=64M --do_verify=1 --output=/tmp/t/fio.kill \
	2>/tmp/t/fio.kill.err &
fio=$!
wait_until 20 sh -c "[ \$(awk '{ print \$1 + \$5 }' /sys/block/ublkb0/stat) -gt $((base + 1000)) ]" ||
	fail "no IO on ublkb0"
pid=$(server_pid 0)
run kill -9 $pid
wait_until 10 sh -c "ublk list -n 0 | awk 'NR == 2 { print \$9 }' | grep -qx QUIESCED" ||
	fail "not QUIESCED after the kill: $(ublk list -n 0 | sed -n 2p)"
run ublk recover -n 0
wait $fio || { cat /tmp/t/fio.kill /tmp/t/fio.kill.err; fail "fio failed across the kill"; }
cat /tmp/t/fio.kill
grep -q 'err= 0' /tmp/t/fio.kill || fail "fio saw errors across the kill"
grep -q 'verify' /tmp/t/fio.kill.err && { cat /tmp/t/fio.kill.err; fail "fio verify failed"; }
[ "$(server_pid 0)" != "$pid" ] || fail "the old server still serves"
check_get_data
# and what was written before the kill is still there
verify_fio after --bsrange=4k-128k --verify_only
run ublk del -n 0

# the same image through a block device: file IO on io_uring
bdev=$(losetup -f)
run losetup $bdev /tmp/t/img
run ublk add -t loop -n 0 -g 1 -f $bdev --quiet
check_get_data
verify_fio bdev --bsrange=4k-128k --do_verify=1 --size=16M
run ublk del -a
run losetup -d $bdev
no_devices
echo ok
