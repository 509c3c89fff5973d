# SPDX-License-Identifier: MIT
# The guest side of bench/profile: one fio job on one backend, between two
# marks that bench/prof/insn_count.so (a QEMU plugin) turns into a count
# of the instructions run, per block. Before the window it prints the
# kernel's text symbols (PROF-KSYM lines) for bench/prof/symbolize; after
# it, the IOs done (PROF-IOS). ublk.profile=BACKEND:JOB (JOB as in the
# tables: randread-4k-qd64), ublk.mark=host path of ublk-mark.
. /scenarios/bench_lib.sh

spec=$(sed -n 's/.*ublk\.profile=\([^ ]*\).*/\1/p' /proc/cmdline)
mark=$(sed -n 's/.*ublk\.mark=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$spec" ] && [ -n "$mark" ] || skip "run by bench/profile only"
backend=${spec%%:*} job=${spec#*:}
rw=${job%%-*} bs=${job#*-}; bs=${bs%%-*} depth=${job##*-qd}

mkdir -p /tmp/t/b
run mount -t tmpfs -o size=600M tmpfs /tmp/t/b
dd if=/dev/zero of=/tmp/t/b/img bs=1M count=512 2>/dev/null || fail "no backing file"
case $backend in
null_blk) null_blk; dev=/dev/nullb0 ;;
kernel-loop-dio) run mount --bind /tmp/t/b /host/tmp/t/b	# for the host's losetup
	dev=$(h losetup --direct-io=on -f --show /tmp/t/b/img) || fail "no kernel loop device" ;;
ublk-null) run ublkctl null -q 2 --size 250G; dev=/dev/ublkb0 ;;
kmod-null) wait_until 10 rmmod ublk_drv; run insmod /kmod/ublk_drv.ko
	run ublkctl null -q 2 --size 250G; dev=/dev/ublkb0 ;;
ublk-loop) run ublkctl loop -q 2 /tmp/t/b/img --direct-io; dev=/dev/ublkb0 ;;
ublk-zc) run ublkctl zero-copy-experimental -q 2 /tmp/t/b/img --direct-io --zero-copy=register; dev=/dev/ublkb0 ;;
ublk-abr) run ublkctl zero-copy-experimental -q 2 /tmp/t/b/img --direct-io --zero-copy=auto-buf-reg; dev=/dev/ublkb0 ;;
*) fail "unknown backend $backend" ;;
esac

fio_job() {
	h fio --name=$job --filename=$dev --rw=$rw --bs=$bs --iodepth=$depth --ioengine=io_uring \
		--direct=1 --iomem=shmhuge --time_based --output-format=json "$@"
}
fio_job --runtime=1 --output=/tmp/t/warm.json > /dev/null || fail "fio warm-up"
sed -n 's/^\([0-9a-f]* [tT] .*\)/PROF-KSYM \1/p' /proc/kallsyms
fio_job --runtime=3 --exec_prerun="$mark" --exec_postrun="$mark" --output=/tmp/t/fio.json > /dev/null ||
	fail "fio $job on $backend"
echo "PROF-IOS $(json_sum total_ios /tmp/t/fio.json)"
echo ok
