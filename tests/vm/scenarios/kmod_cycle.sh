# 20 rounds of: insmod our module, add 2 devices, fio on both, del, rmmod;
# 4 on the debug kernel, where a round takes 30 s (KASAN, lockdep).
. /scenarios/lib.sh

rounds=20
case $(uname -r) in *-ublk-debug) rounds=4 ;; esac
truncate -s 64M /tmp/t/img
rmmod ublk_drv 2>/dev/null
i=1
while [ $i -le $rounds ]; do
	insmod /kmod/ublk_drv.ko || fail "round $i: insmod"
	ublkctl null --size 256M >/dev/null || fail "round $i: add null"
	ublkctl loop /tmp/t/img >/dev/null || fail "round $i: add loop"
	for d in /dev/ublkb0 /dev/ublkb1; do
		h fio --name=cycle --filename=$d --rw=randrw --bs=4k --size=32M --iodepth=8 \
			--io_size=1M $FIO_COMMON --output=/tmp/t/fio >/dev/null 2>&1 ||
			fail "round $i: fio on $d"
	done
	ublkctl del -a || fail "round $i: del"
	rmmod ublk_drv || fail "round $i: rmmod"
	i=$((i + 1))
done
[ -d /sys/module/ublk_drv ] && fail "module still loaded"
no_devices
echo "ok: $rounds rounds"
