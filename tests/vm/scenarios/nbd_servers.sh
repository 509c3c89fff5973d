# the nbd scenarios' servers work in the guest (no nbd target needed):
# ublk-nbd-fault's self-test, then nbdkit, qemu-nbd, nbd-server and
# ublk-nbd-fault each on 127.0.0.1 or a unix socket (and [::1]), each
# answering a handshake and a write, read back and flush; a restart keeps
# the address and the data.
# once: the test servers themselves, no ublk device
. /scenarios/lib.sh
. /scenarios/nbd.sh

bounded 60 /tmp/t/self ublk-nbd-fault --self-test
cat /tmp/t/self
[ "$rc" = 0 ] || fail "ublk-nbd-fault --self-test: $rc"
grep -q ' 0 failed' /tmp/t/self || fail "self-test summary missing"

start_fault_server 10801 --size 8M --block-size 512:4096:65536
run nbd_probe --rw
stop_server
ublk-nbd-fault --listen '[::1]:10802' --ready /tmp/t/ready6 --exit-after-secs 30 &
p6=$!
wait_until 10 test -s /tmp/t/ready6 || fail "ublk-nbd-fault on [::1] did not start"
run ublk-nbd-fault --probe '[::1]:10802' --rw
kill $p6

need_host_tool nbdkit
start_nbdkit_memory 64M 10803
run nbd_probe --rw
if h sh -c 'command -v nbdinfo' >/dev/null; then
	run h timeout 20 nbdinfo "$NBD_URI"
fi
start_nbdkit_memory 64M $NBD_DIR/kit.sock
run nbd_probe --rw
start_nbdkit_file /tmp/t/export.img 10804
run nbd_probe --rw
old=$SRV_PID
restart_server 1
[ "$SRV_PID" != "$old" ] || fail "restart_server kept pid $old"
run nbd_probe
# the delay and error filters load (the reconnect scenarios may use them)
start_nbdkit_file /tmp/t/export.img 10805 --filter=delay --filter=error rdelay=100ms error-rate=0
run nbd_probe
stop_server

need_host_tool qemu-nbd
run h qemu-img create -q -f qcow2 /tmp/t/img.qcow2 64M
start_qemu_nbd /tmp/t/img.qcow2 10806
run nbd_probe --rw
start_qemu_nbd /tmp/t/img.qcow2 $NBD_DIR/q.sock
run nbd_probe
stop_server
run h qemu-img check -q /tmp/t/img.qcow2

need_host_tool nbd-server
start_nbd_server /tmp/t/export.img 10807
run nbd_probe --rw
start_nbd_server /tmp/t/export.img $NBD_DIR/n.sock
run nbd_probe --rw
stop_server
echo ok
