# reconnect holds IO instead of failing it: the server dies under a
# verifying fio and comes back 2 s later (same export, same data): fio
# ends with no error and its data verified, list shows RECONNECTING in
# between and "reconnects" >= 1 after. A server that never comes back:
# with --reconnect-timeout 3, IO fails with EIO after about 3 s and the
# device stays until del; with --reconnect-timeout 0, at once.
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit

json_field() { ublkctl list -n 0 -J | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# 1. the server comes back
truncate -s 64M /tmp/t/export.img
start_nbdkit_file /tmp/t/export.img 10821
dev=$(ublkctl nbd --timeout 5 "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
h fio --name=verify --filename=$dev --rw=randwrite --bs=4k --size=48M --iodepth=16 \
	--verify=crc32c --verify_fatal=1 $FIO_COMMON --output=/tmp/t/fio &
fio=$!
wait_io ublkb0
kill_server
wait_until 2 sh -c "ublkctl list | grep -q RECONNECTING" ||
	fail "list does not show RECONNECTING while the server is away: $(ublkctl list)"
ublkctl list
sleep 2
kill -0 $fio 2>/dev/null || { cat /tmp/t/fio; fail "fio ended while the server was away"; }
restart_server
wait_until 180 sh -c "! kill -0 $fio" || fail "fio still running 180 s after the restart"
wait $fio || { cat /tmp/t/fio; fail "fio failed across the reconnect"; }
cat /tmp/t/fio
grep -q 'err= 0' /tmp/t/fio || fail "fio reports errors"
n=$(json_field reconnects)
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "list -J: reconnects is '$n', want >= 1"
ublkctl list | grep -q ' LIVE ' || fail "not LIVE after the reconnect: $(ublkctl list)"
run timeout 20 ublkctl del -a
stop_server
no_devices

# 2. it never comes back: IO fails after --reconnect-timeout
start_nbdkit_memory 64M 10822
dev=$(ublkctl nbd --timeout 5 --reconnect-timeout 3 "$NBD_URI") || fail "ublkctl nbd failed"
run h dd if=$dev of=/dev/null bs=4k count=16 iflag=direct status=none
kill_server
t0=$(date +%s)
bounded 60 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none
secs=$(( $(date +%s) - t0 ))
cat /tmp/t/dd
[ "$rc" = stuck ] && fail "a read was held 60 s with --reconnect-timeout 3"
[ "$rc" != 0 ] || fail "a read succeeded with the server gone"
grep -q 'Input/output error' /tmp/t/dd || fail "the read did not fail with EIO"
[ $secs -ge 2 ] && [ $secs -le 15 ] || fail "the read failed after $secs s, want about 3"
note "IO failed after $secs s"
ublkctl list | tee /tmp/t/list
[ -n "$(tail -n +2 /tmp/t/list)" ] || fail "the device went away by itself"
run timeout 20 ublkctl del -a
no_devices

# 3. --reconnect-timeout 0: at once
start_nbdkit_memory 64M 10823
dev=$(ublkctl nbd --timeout 5 --reconnect-timeout 0 "$NBD_URI") || fail "ublkctl nbd failed"
kill_server
t0=$(date +%s)
bounded 30 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=1 skip=200 iflag=direct status=none
secs=$(( $(date +%s) - t0 ))
cat /tmp/t/dd
[ "$rc" != 0 ] && [ "$rc" != stuck ] || fail "with --reconnect-timeout 0 the read gave '$rc'"
[ $secs -le 2 ] || fail "with --reconnect-timeout 0 the read failed only after $secs s"
run timeout 20 ublkctl del -a
no_devices
echo ok
