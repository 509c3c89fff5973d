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

# bounded LIMIT OUT CMD...: CMD, its output into OUT, waited for at most
# LIMIT seconds: a process stuck in the kernel can be neither killed nor
# waited for (nor can a pipe from it end). Sets rc to CMD's exit status,
# or to "stuck" (then SIGKILLs it, which may or may not help).
bounded() {
	local limit=$1 out=$2 i=0
	shift 2
	rm -f "$out.rc" "$out.pid"
	{ "$@" & echo $! > "$out.pid"; wait $!; echo $? > "$out.rc"; } > "$out" 2>&1 &
	while [ ! -s "$out.rc" ] && [ $i -lt $((limit * 10)) ]; do
		usleep 100000
		i=$((i + 1))
	done
	if [ -s "$out.rc" ]; then
		rc=$(cat "$out.rc")
	else
		rc=stuck
		kill -9 "$(cat "$out.pid")" 2>/dev/null
	fi
}

# stress LIMIT MODE ARGS...: ublk-stress MODE ARGS within LIMIT seconds,
# its output in /tmp/t/out; fails on its first FAIL line, a hang or an
# exit status other than 0
stress() {
	local limit=$1 first
	shift
	echo "+ ublk-stress $*"
	bounded "$limit" /tmp/t/out ublk-stress "$@"
	cat /tmp/t/out
	first=$(grep -m 1 '^FAIL' /tmp/t/out)
	[ -n "$first" ] && fail "${first#FAIL }"
	[ "$rc" = stuck ] && fail "ublk-stress $1 did not end within $limit s"
	[ "$rc" = 0 ] || fail "ublk-stress $1 exited $rc"
}

# reload_kmod: nothing left behind, and our module unloads and loads again
reload_kmod() {
	no_devices
	ls /dev/ublkc* >/dev/null 2>&1 && fail "char nodes left: $(ls /dev/ublkc*)"
	run rmmod ublk_drv
	[ -d /sys/module/ublk_drv ] && fail "module still loaded after rmmod"
	run insmod /kmod/ublk_drv.ko
	[ -f /sys/module/ublk_drv/version ] || fail "our module did not load again"
}
