# ublkctl itself crashing under an nbd device: with --recovery the device
# waits (QUIESCED) while no server runs, and `ublkctl recover -n 0` reads
# the URI from the state file and connects again; a verifying fio running
# across it ends with no error. A recover while the NBD server is away too
# fails in one line and leaves the device recoverable for the next try.
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit

quiesced() { ublkctl list -n 0 | grep -q QUIESCED; }

truncate -s 64M /tmp/t/export.img
start_nbdkit_file /tmp/t/export.img 10861
dev=$(ublkctl nbd --recovery=reissue --timeout 5 "$NBD_URI") || fail "ublkctl nbd --recovery failed"
h fio --name=verify --filename=$dev --rw=randwrite --bs=4k --size=32M --iodepth=8 \
	--verify=crc32c --verify_fatal=1 $FIO_COMMON --output=/tmp/t/fio &
fio=$!
wait_io ublkb0
kill -9 "$(server_pid 0)"
wait_until 10 quiesced || fail "not QUIESCED after ublkctl's server was killed: $(ublkctl list)"
# nbdkit itself now and then aborts when its client dies in the middle of
# a reply ("raw_send_socket: Assertion `sock >= 0' failed"): the device
# waits all the same, so then the server starts again and recover retries
recover_once() {
	ublkctl recover -n 0 && return 0
	kill -0 "$SRV_PID" 2>/dev/null && return 1
	note "nbdkit died with ublkctl's server: $(tail -n 1 $NBD_DIR/log)"
	restart_server
	ublkctl recover -n 0
}
recover_once || { ps; cat $NBD_DIR/log; fail "recover -n 0 failed"; }
ublkctl list | grep -q "nbd .*127.0.0.1:10861" || fail "recovered device lost its URI: $(ublkctl list)"
wait_until 180 sh -c "! kill -0 $fio" || fail "fio still running 180 s after recover"
wait $fio || { cat /tmp/t/fio; fail "fio failed across the recovery"; }
grep -q 'err= 0' /tmp/t/fio || { cat /tmp/t/fio; fail "fio reports errors"; }

# both gone: recover cannot connect, says so, and the device waits on
kill -9 "$(server_pid 0)"
wait_until 10 quiesced || fail "not QUIESCED after the second kill"
kill_server
expect_fail ublkctl recover -n 0 --timeout 3
[ $LAST_RC = 1 ] || fail "recover without its NBD server: exit $LAST_RC, want 1"
[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "recover without its NBD server: more than one line"
quiesced || fail "a failed recover did not leave the device QUIESCED: $(ublkctl list)"
restart_server
ps; cat $NBD_DIR/log; ublkctl list -J
run ublkctl recover -n 0
run h dd if=$dev of=/dev/null bs=1M count=8 iflag=direct status=none
run timeout 20 ublkctl del -n 0
stop_server
no_devices
echo ok
