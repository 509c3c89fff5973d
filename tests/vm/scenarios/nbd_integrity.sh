# an ext4 on an nbd device survives in the server's own view: mkfs.ext4,
# mount, a few MB of random files with their checksums, umount, del; then
# the image itself (nbdkit file: the file; qemu-nbd: the qcow2 converted to
# raw) passes e2fsck -fn and each file dumped from it by debugfs has the
# checksum it was written with.
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit
need_host_tool debugfs

MNT=/tmp/t/mnt
# fill_fs NAME: mkfs.ext4 on the current server's export, random files
# written through the mount, their checksums in /tmp/t/NAME.sums
fill_fs() {
	local name=$1 dev i
	dev=$(ublkctl nbd --timeout 10 "$NBD_URI") || fail "$name: ublkctl nbd $NBD_URI failed"
	[ -b "$dev" ] || fail "$name: no block device '$dev'"
	run h mkfs.ext4 -q -F -b 4096 "$dev"
	mkdir -p $MNT
	run mount -t ext4 "$dev" $MNT
	mkdir -p $MNT/sub
	for i in 1 2 3 4 5; do
		dd if=/dev/urandom of=$MNT/f$i bs=64k count=$((i * 6)) 2>/dev/null ||
			fail "$name: writing f$i"
	done
	dd if=/dev/urandom of=$MNT/sub/small bs=1k count=7 2>/dev/null || fail "$name: writing sub/small"
	(cd $MNT && sha256sum f1 f2 f3 f4 f5 sub/small) > /tmp/t/$name.sums
	cat /tmp/t/$name.sums
	[ "$(wc -l < /tmp/t/$name.sums)" = 6 ] || fail "$name: checksums missing"
	du -sk $MNT
	run umount $MNT
	run timeout 20 ublkctl del -a
	no_devices
}

# check_image NAME IMAGE: e2fsck clean, every file dumped by debugfs from
# IMAGE with its checksum
check_image() {
	local name=$1 img=$2 f
	run h e2fsck -fn "$img"
	rm -rf /tmp/t/dump
	mkdir -p /tmp/t/dump/sub
	for f in f1 f2 f3 f4 f5 sub/small; do
		h debugfs -R "dump /$f /tmp/t/dump/$f" "$img" >/tmp/t/debugfs.out 2>&1
		[ -s /tmp/t/dump/$f ] || { cat /tmp/t/debugfs.out; fail "$name: debugfs found no /$f in $img"; }
	done
	(cd /tmp/t/dump && sha256sum -c /tmp/t/$name.sums) || fail "$name: a file in $img differs from what was written"
	note "$name: all files intact in $img"
}

# nbdkit file plugin: the data is in the file
rm -f /tmp/t/kit.img
truncate -s 64M /tmp/t/kit.img
start_nbdkit_file /tmp/t/kit.img 10871
fill_fs kit
stop_server
check_image kit /tmp/t/kit.img

# qemu-nbd of a qcow2 image: the data is in the qcow2
need_host_tool qemu-nbd
run h qemu-img create -q -f qcow2 /tmp/t/img.qcow2 64M
start_qemu_nbd /tmp/t/img.qcow2 10872
fill_fs qcow
stop_server
run h qemu-img check -q /tmp/t/img.qcow2
run h qemu-img convert -f qcow2 -O raw /tmp/t/img.qcow2 /tmp/t/qcow.raw
check_image qcow /tmp/t/qcow.raw

# and the same files read back through a new device on the same server
start_nbdkit_file /tmp/t/kit.img 10873
dev=$(ublkctl nbd -r "$NBD_URI") || fail "ublkctl nbd -r $NBD_URI failed"
run mount -t ext4 -o ro "$dev" $MNT
(cd $MNT && sha256sum -c /tmp/t/kit.sums) || fail "the files read back through ublk differ"
run umount $MNT
run timeout 20 ublkctl del -a
stop_server
no_devices
echo ok
