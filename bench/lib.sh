# SPDX-License-Identifier: MIT
# Sourced by the guest side of every benchmark (copied into the VM as
# /scenarios/bench_lib.sh). bench_job prints one "BENCH-ROW" line that
# bench/run turns into the tables: backend, job, IOPS, MB/s, and CPU time
# per GB moved (busy time of all CPUs from /proc/stat, from the end of
# fio's ramp to its end, over the bytes fio counted), and what the ratios
# are taken to. Also "BENCH-NOTE text" and "BENCH-TARGET JOB BACKEND REF
# MIN" (a ratio the benchmark should reach) lines.
. /scenarios/lib.sh

BENCH_RAMP=1
BENCH_RUN=3
BENCH_QUICK=0
BENCH_WALL=0
# bench/run --quick: one short job per backend, to prove the rows still come
if grep -q 'ublk\.bench_quick=1' /proc/cmdline; then
	BENCH_QUICK=1 BENCH_RAMP=0 BENCH_RUN=1
fi
grep -q 'ublk\.bench_wall=1' /proc/cmdline && BENCH_WALL=1
# fio's buffers in huge pages: with small pages, how many of a large IO's
# pages happen to be adjacent (and merge into one bio segment) changes from
# boot to boot, and a 128k read's cost with it, by up to 10%
echo 64 > /proc/sys/vm/nr_hugepages

cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# json_sum KEY FILE: KEY summed over fio's read, write and trim sections
json_sum() {
	awk -v k="\"$1\"" '$1 == k { sub(/,$/, "", $3); s += $3 } END { printf "%.0f", s }' "$2"
}

# bench_job BACKEND DEV JOB RW BS DEPTH [NUMJOBS] [REF]: REF is the row
# the ratios are taken to: a backend (same job) or BACKEND/JOB
bench_job() {
	local backend=$1 dev=$2 job=$3 rw=$4 bs=$5 depth=$6 numjobs=${7:-1} ref=${8:-}
	local busy1 bytes iops ms hz=100
	rm -f /tmp/t/busy0
	(sleep $BENCH_RAMP; cpu_busy > /tmp/t/busy0) &
	h fio --name=$job --filename=$dev --rw=$rw --bs=$bs --iodepth=$depth --numjobs=$numjobs \
		--ramp_time=$BENCH_RAMP --runtime=$BENCH_RUN --time_based --ioengine=io_uring --direct=1 --iomem=shmhuge \
		--group_reporting --output-format=json --output=/tmp/t/fio.json > /dev/null ||
		fail "fio $job on $backend ($dev)"
	busy1=$(cpu_busy)
	wait
	bytes=$(json_sum io_bytes /tmp/t/fio.json)
	iops=$(json_sum iops /tmp/t/fio.json)
	[ "$bytes" -gt 0 ] 2>/dev/null || fail "fio $job on $backend moved no data"
	ms=$(( ($busy1 - $(cat /tmp/t/busy0)) * 1000 / hz ))
	echo "BENCH-ROW $backend $job $iops $(( bytes / BENCH_RUN / 1000000 )) $(awk "BEGIN { printf \"%.0f\", $ms / ($bytes / 1e9) }") $ref"
}

# server_rss ID: the resident set of device ID's server, in KiB
server_rss() {
	awk '/^VmRSS:/ { print $2 }' /proc/$(server_pid "$1")/status
}

# copy_reference FILE: what one copy of each byte costs on this clock:
# dd reads FILE (in a tmpfs) into its buffer, one memory copy per byte
copy_reference() {
	local mbs
	mbs=$(h dd if="$1" of=/dev/null bs=1M 2>&1 | sed -n 's/.*, \([0-9.]*\) \([MG]\)B\/s.*/\1 \2/p' |
		awk '{ printf "%d", $2 == "G" ? $1 * 1000 : $1 }')
	echo "BENCH-NOTE copy reference: dd copies a tmpfs file to user memory at $mbs MB/s, i.e. $(( 1000000 / (mbs > 0 ? mbs : 1) )) ms of one CPU per GB copied"
}

# null_blk: /dev/nullb0, blk-mq, no IRQ delay, not memory backed, 2 queues
null_blk() {
	modprobe null_blk queue_mode=2 irqmode=0 memory_backed=0 submit_queues=2 hw_queue_depth=128 gb=250 ||
		fail "no null_blk"
	wait_until 5 test -b /dev/nullb0 || fail "no /dev/nullb0"
}
