# 20 rounds of: insmod our module, add 2 devices, fio on both, del, rmmod.
. /scenarios/lib.sh

truncate -s 64M /tmp/t/img
rmmod ublk_drv 2>/dev/null
i=1
while [ $i -le 20 ]; do
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
echo "ok: 20 rounds"
