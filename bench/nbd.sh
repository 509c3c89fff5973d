# SPDX-License-Identifier: MIT
# ublkctl nbd against the kernel's own nbd driver (nbd.ko, connected by
# the host's nbd-client over netlink), in one boot, on one nbdkit memory
# server on 127.0.0.1 inside the guest (allocator=malloc,mlock=true: every
# page is there before the first job, so that no backend pays the first
# touch of the other's writes). Both devices get the "none" scheduler.
# Jobs: 4k random reads at depth 1 and 64, 4k random writes at depth 64,
# 128k sequential reads at depth 16 on one connection; then 4k random
# reads at depth 64 with 2 jobs on 2 connections (ublkctl nbd -q 2,
# nbd-client -C 2). The server's CPU is in both rows alike. Without
# nbd.ko or nbd-client, only ublkctl's rows and a note.
. /scenarios/bench_lib.sh
. /scenarios/nbd.sh

PORT=10809
SIZE=256M
ublkctl nbd --help >/dev/null 2>&1 || fail "ublkctl has no nbd target"
h sh -c 'command -v nbdkit' >/dev/null 2>&1 || fail "no nbdkit on the host (build.sh DEPS)"

# jobs BACKEND DEV CONNS [REF]
jobs() {
	if [ $BENCH_QUICK = 1 ]; then
		bench_job $1 $2 randread-4k-qd64 randread 4k 64 1 $4
		return
	fi
	if [ $3 = 1 ]; then
		bench_job $1 $2 randread-4k-qd1 randread 4k 1 1 $4
		bench_job $1 $2 randread-4k-qd64 randread 4k 64 1 $4
		bench_job $1 $2 randwrite-4k-qd64 randwrite 4k 64 1 $4
		bench_job $1 $2 read-128k-qd16 read 128k 16 1 $4
	else
		bench_job $1 $2 randread-4k-qd64-2j-2conn randread 4k 64 2 $4
	fi
}

# sched DEV: the "none" scheduler, and a note of what it had
sched() {
	local f=/sys/block/${1#/dev/}/queue/scheduler
	[ -w $f ] || return 0
	echo "BENCH-NOTE $2: scheduler was $(cat $f), set to none" >> /tmp/t/sched
	echo none > $f 2>/dev/null || :
}

knbd_down() {
	[ -e /sys/block/nbd0/pid ] || return 0
	bounded 30 /tmp/t/nbdc h nbd-client -d /dev/nbd0
	wait_until 10 sh -c '! test -e /sys/block/nbd0/pid' || fail "/dev/nbd0 does not disconnect: $(cat /tmp/t/nbdc)"
}

# knbd CONNS: /dev/nbd0 on the server, CONNS connections
knbd() {
	bounded 30 /tmp/t/nbdc h nbd-client 127.0.0.1 $PORT /dev/nbd0 -t 30 -C $1
	[ "$rc" = 0 ] || fail "nbd-client -C $1: $rc: $(cat /tmp/t/nbdc)"
	wait_until 10 sh -c '[ "$(cat /sys/block/nbd0/size)" -gt 0 ]' || fail "/dev/nbd0 has no size"
}

cleanup_bench() {
	knbd_down
	timeout 20 ublkctl del -a >/dev/null 2>&1
	stop_server
}
trap cleanup_bench EXIT

nbd_prepare $PORT
nbd_set_addr $PORT ""
# not a child of this shell: bench_job's wait would wait for it
(h nbdkit --foreground --pidfile $NBD_DIR/pid -i 127.0.0.1 -p $PORT \
	memory $SIZE allocator=malloc,mlock=true >$NBD_DIR/log 2>&1 &)
nbd_wait_pidfile $NBD_DIR/pid "nbdkit memory $SIZE"

kref=""
if ! h sh -c 'command -v nbd-client' >/dev/null 2>&1; then
	echo "BENCH-NOTE kernel-nbd: not run: no nbd-client on the host (build.sh DEPS)"
elif ! modprobe nbd nbds_max=2 2>/tmp/t/err; then
	echo "BENCH-NOTE kernel-nbd: not run: no nbd module for this kernel ($(cat /tmp/t/err))"
else
	kref=kernel-nbd
	knbd 1
	sched /dev/nbd0 kernel-nbd
	jobs kernel-nbd /dev/nbd0 1
	knbd_down
	if [ $BENCH_QUICK = 0 ]; then
		knbd 2
		echo none > /sys/block/nbd0/queue/scheduler 2>/dev/null || :
		jobs kernel-nbd /dev/nbd0 2
		knbd_down
	fi
fi

# ublk_nbd QUEUES
ublk_nbd() {
	local dev
	dev=$(timeout 60 ublkctl nbd "$NBD_URI" -q $1) || fail "ublkctl nbd $NBD_URI -q $1"
	[ $1 = 1 ] && sched $dev ublk-nbd || echo none > /sys/block/${dev#/dev/}/queue/scheduler 2>/dev/null
	jobs ublk-nbd $dev $1 $kref
	echo "BENCH-NOTE ublk-nbd -q $1: server RSS after its jobs $(server_rss 0) KiB"
	run timeout 20 ublkctl del -a
}
ublk_nbd 1
[ $BENCH_QUICK = 1 ] || ublk_nbd 2
cat /tmp/t/sched 2>/dev/null
echo ok
