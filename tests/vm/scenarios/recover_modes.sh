# fio verify across a kill and recover, in each recovery mode:
# reissue: no error at all; requeue: errors only for the IO the dead
# server held, then the device is fully usable; fail-io: IO fails at once
# while no server runs, and works after recover.
. /scenarios/lib.sh

truncate -s 64M /tmp/t/img
FIO_VERIFY="--name=v --filename=/dev/ublkb0 --bs=4k --size=48M --iodepth=16 --verify=crc32c --randrepeat=1 $FIO_COMMON"

# kill_during_fio MODE: fio writes with verify; the server dies and comes back
kill_during_fio() {
	run ublkctl loop --recovery=$1 /tmp/t/img
	h fio $FIO_VERIFY --rw=randwrite --do_verify=0 --continue_on_error=io --time_based --runtime=8 \
		--output=/tmp/t/fio.$1 2>/tmp/t/fio.$1.err &
	fio=$!
	wait_io ublkb0
	kill -9 $(server_pid 0)
	sleep 1
	if [ $1 = fail-io ]; then
		dd if=/dev/ublkb0 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &&
			fail "fail-io: a read succeeded with no server"
		ublkctl list -n 0 | grep -q FAIL_IO || fail "fail-io: list does not show FAIL_IO"
	fi
	run ublkctl recover -n 0
	wait $fio
	errs=$(sed -n 's/.*errors *: total=\([0-9]*\).*/\1/p' /tmp/t/fio.$1 | head -n 1)
	errs=${errs:-0}
	note "$1: fio IO errors across the kill: $errs"
	case $1 in
	# only what the dead server held may fail: at most the queue depth
	requeue) [ "$errs" -le 16 ] || fail "requeue: $errs IO errors, more than were in flight" ;;
	fail-io) [ "$errs" -gt 0 ] || fail "fail-io: no IO failed while no server ran" ;;
	esac
}

kill_during_fio reissue
[ "$errs" = 0 ] || { cat /tmp/t/fio.reissue.err; fail "reissue: fio saw errors"; }
run h fio $FIO_VERIFY --rw=randwrite --do_verify=1 --verify_only --output=/tmp/t/verify
run ublkctl del -n 0

kill_during_fio requeue
run h fio $FIO_VERIFY --rw=randwrite --output=/tmp/t/after
run ublkctl del -n 0

if ublkctl loop --recovery=fail-io /tmp/t/img > /tmp/t/out 2> /tmp/t/err; then
	ublkctl del -n 0
	kill_during_fio fail-io
	run h fio $FIO_VERIFY --rw=randwrite --output=/tmp/t/after
	run ublkctl del -n 0
else
	cat /tmp/t/err
	grep -q 'fail-io needs UBLK_F_USER_RECOVERY_FAIL_IO' /tmp/t/err || fail "no clear message for fail-io"
	no_devices
	skip "this ublk driver has no UBLK_F_USER_RECOVERY_FAIL_IO (reissue and requeue passed)"
fi
no_devices
echo ok
