# nbdkit's filters between us and the data. The error filter (switched on
# and off by a file): EIO replies reach fio and dd as EIO, nothing hangs,
# the connection stays (no reconnect) and serves correctly once the errors
# stop. The delay filter with --timeout 5 (put in by restarting nbdkit
# once the device is up): replies 1 s and 3 s late (below the timeout,
# but many of them longer than it in all) cause no further reconnect and
# the IO completes, verified.
# once: the NBD protocol side of ublkctl; the driver sees ordinary IO
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit

reconnects() { ublkctl list -n 0 -J | sed -n 's/.*"reconnects":\([0-9]*\).*/\1/p'; }
# still_up WHAT: the one connection was never broken
still_up() {
	ublkctl list -n 0 -J | tee /tmp/t/json
	grep -q '"connection":"up"' /tmp/t/json || fail "$1: the connection is not up"
	[ "$(reconnects)" = 0 ] || fail "$1: reconnects $(reconnects), want 0 (an error reply is no broken connection)"
}

# 1. the error filter
ERR=/tmp/t/err-on
rm -f $ERR
truncate -s 64M /tmp/t/export.img
start_nbdkit_file /tmp/t/export.img 10901 --filter=error \
	error-pread=EIO error-pread-rate=30% error-pread-file=$ERR \
	error-pwrite=EIO error-pwrite-rate=30% error-pwrite-file=$ERR
dev=$(ublkctl nbd --timeout 5 --reconnect-timeout 30 "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
bounded 90 /tmp/t/fio h fio --name=clean --filename=$dev --rw=randwrite --bs=4k --size=4M \
	--iodepth=8 --verify=crc32c --verify_fatal=1 $FIO_COMMON
cat /tmp/t/fio
[ "$rc" = 0 ] || fail "fio before the errors were switched on: $rc"
still_up "before the errors"

touch $ERR
bounded 90 /tmp/t/fio h fio --name=errors --filename=$dev --rw=randrw --bs=4k --size=4M \
	--iodepth=8 --verify=0 --continue_on_error=all $FIO_COMMON
cat /tmp/t/fio
[ "$rc" = stuck ] && fail "fio under EIO replies did not end within 90 s"
total=$(sed -n 's/.*errors *: total=\([0-9]*\),.*/\1/p' /tmp/t/fio | head -n 1)
note "fio counted '$total' errors"
[ -n "$total" ] && [ "$total" -gt 0 ] || fail "fio counted no errors with 30% of reads and writes failing"
grep -q 'first_error=5/' /tmp/t/fio || fail "fio's first error is not EIO (5)"
bounded 60 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=64 iflag=direct status=none
cat /tmp/t/dd
[ "$rc" = stuck ] && fail "dd under EIO replies did not end within 60 s"
[ "$rc" != 0 ] || fail "64 direct reads with 30% failing all succeeded"
grep -q 'Input/output error' /tmp/t/dd || fail "dd's read did not fail with EIO"
still_up "under EIO replies"

rm -f $ERR
bounded 90 /tmp/t/fio h fio --name=after --filename=$dev --rw=randwrite --bs=4k --size=4M \
	--iodepth=8 --verify=crc32c --verify_fatal=1 $FIO_COMMON
cat /tmp/t/fio
[ "$rc" = 0 ] || fail "fio after the errors were switched off: $rc"
grep -q 'err= 0' /tmp/t/fio || fail "fio after the errors reports errors"
still_up "after the errors"
run timeout 20 ublkctl del -a
stop_server
no_devices

# slow_server PORT ARGS...: the device added on nbdkit without a filter
# (START_DEV's partition scan makes several reads, which together would
# take longer than --timeout: see the report of issue 16), then nbdkit
# restarted on the same file with ARGS (the delay filter): the device
# reconnects once and from then on every reply is late. R0: its reconnects.
slow_server() {
	local port=$1
	shift
	start_nbdkit_file /tmp/t/export.img $port
	dev=$(ublkctl nbd --timeout 5 --reconnect-timeout 30 "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
	run h dd if=$dev of=/dev/null bs=4k count=4 iflag=direct status=none
	stop_server
	wait_until 10 sh -c 'ublkctl list -n 0 | grep -q RECONNECTING' ||
		fail "not RECONNECTING after the server stopped: $(ublkctl list)"
	start_nbdkit_file /tmp/t/export.img $port "$@"
	wait_until 30 sh -c 'ublkctl list -n 0 -J | grep -q "\"connection\":\"up\""' ||
		fail "no connection to the slow server 30 s after it started: $(ublkctl list -n 0 -J)"
	R0=$(reconnects)
	[ -n "$R0" ] && [ "$R0" -ge 1 ] || fail "reconnects '$R0' after the server was restarted"
}
# same_connection WHAT: no reconnect since slow_server
same_connection() {
	ublkctl list -n 0 -J | tee /tmp/t/json
	grep -q '"connection":"up"' /tmp/t/json || fail "$1: the connection is not up"
	[ "$(reconnects)" = "$R0" ] || fail "$1: reconnects went from $R0 to $(reconnects): a slow reply below --timeout broke the connection"
}

# 2. the delay filter: each reply 1 s late, --timeout 5
slow_server 10902 --filter=delay rdelay=1 wdelay=1
t0=$(date +%s)
bounded 60 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=8 skip=4096 iflag=direct status=none
secs=$(( $(date +%s) - t0 ))
cat /tmp/t/dd
[ "$rc" = 0 ] || fail "8 reads, each 1 s late: $rc"
note "8 reads 1 s late each took ${secs}s"
[ $secs -ge 7 ] || fail "8 reads took ${secs}s: the delay filter did not delay"
[ $secs -le 30 ] || fail "8 reads 1 s late took ${secs}s: held longer than the delays"
bounded 120 /tmp/t/fio h fio --name=delayed --filename=$dev --rw=randwrite --bs=4k --size=256k \
	--iodepth=8 --verify=crc32c --verify_fatal=1 $FIO_COMMON
cat /tmp/t/fio
[ "$rc" = 0 ] || fail "fio with each reply 1 s late: $rc"
grep -q 'err= 0' /tmp/t/fio || fail "fio with slow replies reports errors"
same_connection "replies 1 s late"
run timeout 20 ublkctl del -a
stop_server
no_devices

# 3. 3 s late: still below --timeout 5, each reply; 4 in a row take 12 s
slow_server 10903 --filter=delay rdelay=3
t0=$(date +%s)
bounded 60 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=4 skip=8192 iflag=direct status=none
secs=$(( $(date +%s) - t0 ))
cat /tmp/t/dd
[ "$rc" = 0 ] || fail "4 reads, each 3 s late: $rc"
note "4 reads 3 s late each took ${secs}s"
[ $secs -ge 11 ] || fail "4 reads took ${secs}s: the delay filter did not delay"
[ $secs -le 30 ] || fail "4 reads 3 s late took ${secs}s: held longer than the delays"
same_connection "replies 3 s late"
run timeout 20 ublkctl del -a
stop_server
no_devices
echo ok
