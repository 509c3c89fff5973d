# the nbd target on real servers: nbdkit memory on 127.0.0.1 and on a unix
# socket, ublk-nbd-fault on [::1], qemu-nbd of a qcow2 image, nbd-server
# when the host has it: add, fio verify with direct IO, list shows the
# URI, del leaves nothing.
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit

# verify_export HOW WHAT: the current server through `ublkctl nbd` (HOW
# nbd) or `ublkctl add -t nbd -f` (HOW add); WHAT is what list must show
verify_export() {
	local dev row
	case $1 in
	nbd) dev=$(ublkctl nbd "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed" ;;
	add) dev=$(ublkctl add -t nbd -f "$NBD_URI") || fail "ublkctl add -t nbd -f $NBD_URI failed" ;;
	esac
	[ -b "$dev" ] || fail "ublkctl nbd printed '$dev', no block device"
	ublkctl list | tee /tmp/t/list
	row=$(tail -n +2 /tmp/t/list)
	echo "$row" | grep -q ' LIVE ' || fail "not LIVE: $row"
	echo "$row" | grep -qF "$2" || fail "list does not show '$2': $row"
	ublkctl list -J | tee /tmp/t/json
	grep -qF "\"uri\":\"" /tmp/t/json || fail "list -J has no \"uri\""
	grep -q '"reconnects":0' /tmp/t/json || fail "list -J: no \"reconnects\":0"
	bounded 180 /tmp/t/fio h fio --name=verify --filename=$dev --rw=randwrite --bs=4k \
		--size=8M --iodepth=16 --verify=crc32c --verify_fatal=1 $FIO_COMMON
	cat /tmp/t/fio
	[ "$rc" = 0 ] || fail "fio verify on $NBD_URI: $rc"
	bounded 60 /tmp/t/fio h fio --name=big --filename=$dev --rw=write --bs=1M \
		--size=16M --iodepth=4 --verify=md5 $FIO_COMMON
	[ "$rc" = 0 ] || { cat /tmp/t/fio; fail "1M fio verify on $NBD_URI: $rc"; }
	run timeout 20 ublkctl del -a
	no_devices
}

start_nbdkit_memory 64M 10811
verify_export nbd 127.0.0.1:10811
start_nbdkit_memory 64M $NBD_DIR/kit.sock
verify_export nbd $NBD_DIR/kit.sock
start_nbdkit_memory 64M 10812
verify_export add 127.0.0.1:10812
stop_server

# ours on [::1]
ublk-nbd-fault --listen '[::1]:10813' --size 64M --ready /tmp/t/ready6 --exit-after-secs 200 &
p6=$!
wait_until 10 test -s /tmp/t/ready6 || fail "ublk-nbd-fault on [::1] did not start"
NBD_URI='nbd://[::1]:10813/'
verify_export nbd '[::1]:10813'
kill $p6

# qemu-nbd: the data lands in the qcow2 image
need_host_tool qemu-nbd
run h qemu-img create -q -f qcow2 /tmp/t/img.qcow2 64M
start_qemu_nbd /tmp/t/img.qcow2 10814
verify_export nbd 127.0.0.1:10814
dev=$(ublkctl nbd "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
run h dd if=/dev/urandom of=/tmp/t/pattern bs=1M count=1 status=none
run h dd if=/tmp/t/pattern of=$dev bs=64k oflag=direct status=none
run timeout 20 ublkctl del -a
stop_server
run h qemu-img check -q /tmp/t/img.qcow2
run h qemu-img convert -f qcow2 -O raw /tmp/t/img.qcow2 /tmp/t/img.raw
run h cmp -n 1048576 /tmp/t/pattern /tmp/t/img.raw
no_devices

if h sh -c 'command -v nbd-server' >/dev/null; then
	start_nbd_server /tmp/t/nbd-server.img 10815
	verify_export nbd 127.0.0.1:10815/disk
	stop_server
else
	note "no nbd-server on the host: not tried"
fi
echo ok
