# A short session to watch: ./build.sh demo
. /scenarios/lib.sh
say() { echo; echo "### $*"; }
show() { echo "# $*"; "$@" || { echo "(failed: $?)"; exit 1; }; }
say "a 128 MiB image file, served by ublkctl as a block device"
show truncate -s 128M /tmp/disk.img
show ublkctl loop /tmp/disk.img
say "make a filesystem and use it"
show h mkfs.ext4 -q /dev/ublkb0
mkdir -p /tmp/mnt
show mount /dev/ublkb0 /tmp/mnt
show sh -c 'echo hello from ublk > /tmp/mnt/hello.txt'
show cat /tmp/mnt/hello.txt
show df -h /tmp/mnt
say "what is there"
show ublkctl list
show ublkctl list -J
say "clean up"
show umount /tmp/mnt
show ublkctl del -n 0
show ublkctl list
