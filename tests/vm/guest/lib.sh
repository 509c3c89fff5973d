# SPDX-License-Identifier: MIT
# Sourced by every scenario. A scenario exits 0 (pass), 77 (skip, after
# printing "SKIP: reason") or anything else (fail, after "FAIL: reason").

h() { chroot /host /usr/bin/env -C "$PWD" PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }		# a host tool: fio, mkfs.ext4, fsck
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "-- $*"; }

# run CMD...: echo it, run it, fail when it fails
run() {
	echo "+ $*"
	"$@" || fail "'$*' exited $?"
}

# expect_fail CMD...: CMD must exit non-zero and say something on stderr
expect_fail() {
	local rc
	echo "+ $* (must fail)"
	"$@" >/tmp/t/out 2>/tmp/t/err
	rc=$?
	cat /tmp/t/out /tmp/t/err
	[ $rc != 0 ] || fail "'$*' succeeded"
	[ -s /tmp/t/err ] || fail "'$*' failed without a message"
	LAST_RC=$rc
}

# the server pid of device $1, from list -J
server_pid() {
	ublkctl list -n "$1" -J | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s
wait_until() {
	local limit=$(( $1 * 10 )) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		usleep 100000
	done
}

# no_devices: nothing left behind (device, state file, server)
no_devices() {
	local out
	out=$(ublkctl list | tail -n +2)
	[ -z "$out" ] || fail "devices left: $out"
	[ -z "$(ls /run/ublk 2>/dev/null)" ] || fail "state files left: $(ls /run/ublk)"
	ls /dev/ublkb* >/dev/null 2>&1 && fail "block nodes left: $(ls /dev/ublkb*)"
	pidof ublkctl >/dev/null && fail "ublkctl processes left: $(pidof ublkctl)"
	return 0
}

FIO_COMMON="--ioengine=io_uring --direct=1 --group_reporting --output-format=normal"

# completed reads + writes of block device $1 (e.g. ublkb0)
io_count() {
	awk '{ print $1 + $5 }' /sys/block/$1/stat 2>/dev/null || echo 0
}

# wait_io DEV: fail unless IO completes on DEV within 20 s
wait_io() {
	wait_until 20 sh -c "[ \$(awk '{ print \$1 + \$5 }' /sys/block/$1/stat) -gt 1000 ]" ||
		fail "no IO on $1"
	note "IO running on $1: $(io_count $1) requests done"
}
