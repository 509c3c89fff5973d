# SPDX-License-Identifier: MIT
# Zero copy against copying, in one boot: the kernel loop device with
# direct IO, ublkctl loop --direct-io (copy through the server's buffer),
# zero copy with explicit buffer registration and with auto-buf-reg; all
# on the same file in a tmpfs. Jobs: sequential reads and writes of 128k,
# 512k and 1M at depth 16; 4k random reads at depth 64.
. /scenarios/bench_lib.sh

mkdir -p /tmp/t/b
run mount -t tmpfs -o size=600M tmpfs /tmp/t/b
run mount --bind /tmp/t/b /host/tmp/t/b	# for the host's losetup
dd if=/dev/zero of=/tmp/t/b/img bs=1M count=512 2>/dev/null || fail "no backing file"

# jobs BACKEND DEV: ratios to the kernel loop device
jobs() {
	local bs
	if [ $BENCH_QUICK = 1 ]; then
		bench_job $1 $2 read-128k read 128k 16 1 kernel-loop
		return
	fi
	for bs in 128k 512k 1M; do
		bench_job $1 $2 read-$bs read $bs 16 1 kernel-loop
		bench_job $1 $2 write-$bs write $bs 16 1 kernel-loop
	done
	bench_job $1 $2 randread-4k randread 4k 64 1 kernel-loop
}

copy_reference /tmp/t/b/img
kloop=$(h losetup --direct-io=on -f --show /tmp/t/b/img) || fail "no kernel loop device"
jobs kernel-loop $kloop
run h losetup -d $kloop

run ublkctl loop /tmp/t/b/img --direct-io
jobs ublk-copy /dev/ublkb0
run ublkctl del -a
for mode in register auto-buf-reg; do
	ublkctl zero-copy-experimental /tmp/t/b/img --direct-io --zero-copy=$mode >/dev/null 2>/tmp/t/err ||
		{ note "no zero copy ($mode): $(cat /tmp/t/err)"; continue; }
	name=ublk-zc; [ $mode = auto-buf-reg ] && name=ublk-abr
	jobs $name /dev/ublkb0
	run ublkctl del -a
done
run umount /host/tmp/t/b
run umount /tmp/t/b
echo ok
