# Benchmark row: fio 4k random read, depth 64, on ublkctl null, with our
# module and with the kernel's in-tree ublk_drv in the same boot,
# alternating over 3 rounds; prints both medians and the ratio. Checks
# only that every run produced a number (timing belongs to benchmarks).
. /scenarios/lib.sh

grep -q '/ublk_drv\.ko:' /lib/modules/$(uname -r)/modules.dep ||
	skip "the kernel has no in-tree ublk_drv to compare with"
one_run() {
	local iops
	ublkctl null --size 1G >/dev/null || fail "add with $1"
	h fio --name=bench --filename=/dev/ublkb0 --rw=randread --bs=4k --iodepth=64 \
		--runtime=5 --ramp_time=1 --time_based $FIO_COMMON --output=/tmp/t/fio.$1 ||
		fail "fio with $1"
	ublkctl del -a || fail "del with $1"
	iops=$(sed -n 's/.*read: IOPS=\([0-9.]*k\?\),.*/\1/p' /tmp/t/fio.$1 | head -n 1)
	case $iops in *k) iops=$(echo "${iops%k}" | awk '{ printf "%d", $1 * 1000 }') ;; esac
	[ -n "$iops" ] || fail "no IOPS from fio with $1"
	echo "$iops"
}
median() { tr ' ' '\n' | grep . | sort -n | sed -n 2p; }
kmod="" intree=""
for round in 1 2 3; do
	rmmod ublk_drv 2>/dev/null
	insmod /kmod/ublk_drv.ko || fail "insmod"
	kmod="$kmod $(one_run kmod)" || exit 1
	rmmod ublk_drv || fail "rmmod ours"
	modprobe ublk_drv || fail "modprobe in-tree"
	intree="$intree $(one_run intree)" || exit 1
	rmmod ublk_drv || fail "rmmod in-tree"
	note "round $round: kmod$kmod / in-tree$intree"
done
k=$(echo $kmod | median) t=$(echo $intree | median)
echo "BENCH kmod-vs-intree null randread 4k qd64: kmod $k IOPS, in-tree $t IOPS, ratio $(awk "BEGIN { printf \"%.3f\", $k / $t }") (runs: kmod$kmod; in-tree$intree)"
