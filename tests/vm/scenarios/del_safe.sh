# del --safe: a device that is mounted, or open in a process, stays, with
# one line naming what uses it; once unused it goes. (Plain del of a
# mounted device waits in DEL_DEV until it is unmounted: the reason for
# --safe.) Where the driver has UBLK_F_SAFE_STOP_DEV, TRY_STOP_DEV is used.
. /scenarios/lib.sh
truncate -s 64M /tmp/t/a.img
h mkfs.ext4 -q -F /tmp/t/a.img || fail "mkfs.ext4"
dev=$(ublkctl loop /tmp/t/a.img) || fail "ublkctl loop"
mkdir -p /tmp/t/mnt
run mount $dev /tmp/t/mnt
expect_fail ublkctl del --safe -n 0
grep -q "^ublkctl del: device 0 is in use: ublkb0 mounted on /tmp/t/mnt$" /tmp/t/err || fail "no line naming the mount"
[ -b $dev ] && ublkctl list -n 0 | grep -q LIVE || fail "the mounted device did not stay"
run umount /tmp/t/mnt
sleep 60 < $dev &
opener=$!
expect_fail ublkctl del --safe -n 0
grep -q "ublkb0 open by $opener (sleep)" /tmp/t/err || fail "no line naming the process that has it open"
kill $opener
wait $opener 2>/dev/null
ublkctl features | grep -Eq '^ 17 SAFE_STOP_DEV +yes' && note "the driver has TRY_STOP_DEV"
run ublkctl del --safe -n 0
no_devices
echo ok
