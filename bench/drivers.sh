# SPDX-License-Identifier: MIT
# ublkctl against the kernel's own drivers, in one boot: null_blk (blk-mq,
# no IRQ delay, not memory backed) and ublkctl null; the loop device with
# direct IO and buffered, and ublkctl loop --direct-io, all on one file in
# a tmpfs; ublkctl zero copy and auto-buf-reg where the driver has them;
# ublkctl null and loop on our module where it is built for this kernel.
# Every device has 2 queues, so that the 2-job row can use both. Also: the
# server's RSS after its jobs and the time from `add` to a usable device.
# With --wall (ublk.bench_wall=1) only the scaling rows run: null with 1
# and 2 jobs, median of 3 interleaved rounds.
. /scenarios/bench_lib.sh

jobs() {
	if [ $BENCH_QUICK = 1 ]; then
		bench_job $1 $2 randread-4k-qd64 randread 4k 64 1 $3
		return
	fi
	bench_job $1 $2 randread-4k-qd1 randread 4k 1 1 $3
	bench_job $1 $2 randread-4k-qd64 randread 4k 64 1 $3
	bench_job $1 $2 randwrite-4k-qd64 randwrite 4k 64 1 $3
	bench_job $1 $2 read-128k-qd16 read 128k 16 1 $3
	bench_job $1 $2 randread-4k-qd64-2j randread 4k 64 2 $3
}

# ublk_jobs BACKEND REF ADD-ARGS...: a ublkctl device, its jobs, its RSS
ublk_jobs() {
	local backend=$1 ref=$2 us
	shift 2
	ublk-timeit ublkctl "$@" -q 2 > /dev/null 2> /tmp/t/timeit || { cat /tmp/t/timeit; fail "ublkctl $*"; }
	us=$(sed -n 's/^timeit: \([0-9]*\) us$/\1/p' /tmp/t/timeit)
	jobs $backend /dev/ublkb0 $ref
	echo "BENCH-NOTE $backend: add to usable device $((us / 1000)) ms; server RSS after its jobs $(server_rss 0) KiB"
	run ublkctl del -a
}

# scaling: 1 job against 2 jobs on null_blk and ublkctl null, 3 rounds,
# rows of the median (wall clock: the only clock that shows parallelism)
scaling() {
	local r b j
	null_blk
	run ublkctl null -q 2
	for r in 1 2 3; do
		for b in null_blk:/dev/nullb0 ublk-null:/dev/ublkb0; do
			for j in 1 2; do
				bench_job ${b%%:*} ${b#*:} randread-4k-qd64-${j}j randread 4k 64 $j \
					${b%%:*}/randread-4k-qd64-1j
			done
		done
	done > /tmp/t/scaling
	for b in null_blk ublk-null; do
		for j in 1 2; do
			grep " $b randread-4k-qd64-${j}j " /tmp/t/scaling | sort -k4n | sed -n 2p
		done
	done
	run ublkctl del -a
	rmmod null_blk
}

if [ $BENCH_WALL = 1 ]; then
	scaling
	echo "BENCH-TARGET randread-4k-qd64-2j ublk-null ublk-null/randread-4k-qd64-1j 1.6"
	echo ok
	exit 0
fi

# Debian 12's own 6.1 has no ublk driver: there only our module's rows
intree=0
[ -d /sys/module/ublk_drv ] && [ ! -f /sys/module/ublk_drv/version ] && intree=1
[ $intree = 1 ] ||
	echo "BENCH-NOTE ublk-null, ublk-loop, ublk-zc, ublk-abr: Linux $(uname -r) has no ublk driver of its own"
[ "$(nproc)" = 1 ] && echo "BENCH-NOTE this boot has one CPU (tests/vm/run: 6.1 under icount): the 2-job rows share it"

null_blk
jobs null_blk /dev/nullb0
rmmod null_blk
[ $intree = 0 ] || ublk_jobs ublk-null null_blk null --size 250G

mkdir -p /tmp/t/b
run mount -t tmpfs -o size=600M tmpfs /tmp/t/b
run mount --bind /tmp/t/b /host/tmp/t/b	# for the host's losetup
dd if=/dev/zero of=/tmp/t/b/img bs=1M count=512 2>/dev/null || fail "no backing file"
# tmpfs takes O_DIRECT from 6.6 on: before, loop devices here are buffered
modes="on off" kmod_loop="kernel-loop-dio --direct-io"
if ! h dd if=/tmp/t/b/img of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; then
	modes=off kmod_loop=kernel-loop-buffered
	echo "BENCH-NOTE no direct IO on this kernel's tmpfs: kmod-loop is buffered, compared with kernel-loop-buffered"
fi
for dio in $modes; do
	kloop=$(h losetup --direct-io=$dio -f --show /tmp/t/b/img) || fail "no kernel loop device"
	name=kernel-loop-dio; [ $dio = off ] && name=kernel-loop-buffered
	jobs $name $kloop
	run h losetup -d $kloop
done
[ $intree = 0 ] || ublk_jobs ublk-loop kernel-loop-dio loop /tmp/t/b/img --direct-io
# the RSS target is per device at the defaults (1 queue, depth 128)
if [ $BENCH_QUICK = 0 ] && [ $intree = 1 ]; then
	run ublkctl loop /tmp/t/b/img --direct-io
	for j in randread:4k:64 read:128k:16; do
		set -- $(echo $j | tr : ' ')
		h fio --name=rss --filename=/dev/ublkb0 --rw=$1 --bs=$2 --iodepth=$3 --ioengine=io_uring \
			--direct=1 --runtime=$BENCH_RUN --time_based > /dev/null || fail "fio $j for RSS"
	done
	echo "BENCH-NOTE ublk-loop at the defaults (1 queue, depth 128): server RSS after 4k random and 128k reads $(server_rss 0) KiB"
	run ublkctl del -a
fi
for mode in $([ $intree = 1 ] && echo register auto-buf-reg); do
	name=ublk-zc; [ $mode = auto-buf-reg ] && name=ublk-abr
	if ublkctl zero-copy-experimental /tmp/t/b/img --zero-copy=$mode >/dev/null 2>/tmp/t/err; then
		run ublkctl del -a
		ublk_jobs $name kernel-loop-dio zero-copy-experimental /tmp/t/b/img --direct-io --zero-copy=$mode
	else
		echo "BENCH-NOTE $name: not on this kernel ($(cat /tmp/t/err))"
	fi
done

if [ -f /kmod/ublk_drv.ko ] && [ ! -f /sys/module/ublk_drv/version ]; then
	# the last server's ring may still be going away: the module is busy until then
	[ $intree = 0 ] || wait_until 10 rmmod ublk_drv || fail "cannot unload the in-tree ublk_drv"
	run insmod /kmod/ublk_drv.ko
	ublk_jobs kmod-null null_blk null --size 250G
	set -- $kmod_loop
	ublk_jobs kmod-loop "$1" loop /tmp/t/b/img ${2:-}
	wait_until 10 rmmod ublk_drv || fail "cannot unload our ublk_drv"
	[ $intree = 0 ] || run modprobe ublk_drv
else
	echo "BENCH-NOTE kmod-null, kmod-loop: our module is not built for this kernel"
fi
run umount /host/tmp/t/b
run umount /tmp/t/b

# the issue's targets: ratios to the kernel's drivers in this boot
cat <<'T'
BENCH-TARGET randread-4k-qd1 ublk-null null_blk 0.34
BENCH-TARGET randread-4k-qd64 ublk-null null_blk 0.87
BENCH-TARGET read-128k-qd16 ublk-null null_blk 1.19
BENCH-TARGET randread-4k-qd1 ublk-loop kernel-loop-dio 0.77
BENCH-TARGET randread-4k-qd64 ublk-loop kernel-loop-dio 0.80
BENCH-TARGET read-128k-qd16 ublk-loop kernel-loop-dio 0.87
BENCH-TARGET read-128k-qd16 ublk-zc kernel-loop-dio 1.00
BENCH-TARGET read-128k-qd16 ublk-abr kernel-loop-dio 1.00
BENCH-TARGET randread-4k-qd1 kmod-null ublk-null 0.95
BENCH-TARGET randread-4k-qd64 kmod-null ublk-null 0.95
BENCH-TARGET randwrite-4k-qd64 kmod-null ublk-null 0.95
BENCH-TARGET read-128k-qd16 kmod-null ublk-null 0.95
T
echo ok
