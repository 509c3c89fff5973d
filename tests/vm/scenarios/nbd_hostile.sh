# a hostile NBD server (ublk-nbd-fault): a reply with a bad magic, one for
# a handle never sent, a READ cut short, a server that stops answering
# (past --timeout 3), a READ answered with more data than asked, a request
# answered NBD_ESHUTDOWN (the server is quitting: not an IO error): each ends
# the connection and the target reconnects, the IO completes. A handshake
# that never ends (option replies forever) or that announces a 4 GiB
# reply: refused at add within --timeout, tried again on a reconnection. A server that closes during the handshake of the
# reconnection is tried again. A server that comes back with another
# size: IO fails instead of being served by the wrong export. Each time
# the device can be deleted and nothing is left; the kernel log is
# checked by the guest's init.
# once: the NBD protocol side of ublkctl; the driver sees ordinary IO
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
# the ublkctl under test (nbd_hostile_asan: one built with ASan and UBSan)
: "${UBLKCTL:=ublkctl}"

LOG=/tmp/t/nbd.log
# io_across_fault NAME ARGS...: ublk-nbd-fault ARGS (a fault on its first
# connection), 1024 random writes read back and verified (the READ faults
# hit the first reads): all must complete, after one reconnect at least
io_across_fault() {
	local name=$1 dev n
	shift
	note "fault: $name"
	rm -f $LOG
	start_fault_server 10841 --file /tmp/t/export.img --size 64M --log $LOG "$@"
	dev=$($UBLKCTL nbd --timeout 3 --reconnect-timeout 30 "$NBD_URI") ||
		fail "$name: $UBLKCTL nbd failed"
	bounded 90 /tmp/t/fio h fio --name=$name --filename=$dev --rw=randwrite --bs=4k --size=4M \
		--iodepth=4 --verify=crc32c --verify_fatal=1 $FIO_COMMON
	cat /tmp/t/fio
	[ "$rc" = stuck ] && fail "$name: IO still held after 90 s"
	[ "$rc" = 0 ] || fail "$name: IO failed ($rc) instead of being reissued on a new connection"
	grep -q "^FAULT" $LOG || fail "$name: the fault never happened (too little IO?)"
	[ "$(grep -c '^CONN ' $LOG)" -ge 2 ] || fail "$name: no reconnection in the server's log"
	n=$(ublkctl list -n 0 -J | sed -n 's/.*"reconnects":\([0-9]*\).*/\1/p')
	[ -n "$n" ] && [ "$n" -ge 1 ] || fail "$name: reconnects is '$n'"
	run timeout 20 $UBLKCTL del -a
	stop_server
	no_devices
}

truncate -s 64M /tmp/t/export.img
io_across_fault bad-magic --bad-magic-after 20
io_across_fault unknown-handle --unknown-handle-after 20
io_across_fault short-read --short-read-after 20
io_across_fault stall --stall-after 20
io_across_fault drop --drop-after 20
io_across_fault long-read --long-read-after 20
# what nbdkit does with the requests it holds when told to quit
io_across_fault shutdown --shutdown-after 20

# a handshake cut short, endless, or with a reply longer than any option's:
# refused at add with one line, within --timeout
refused_at_add() {
	local name=$1 want=$2
	shift 2
	note "handshake: $name"
	start_fault_server 10842 --fault-conns 1- "$@"
	expect_fail timeout 60 $UBLKCTL nbd --timeout 3 "$NBD_URI"
	[ $LAST_RC = 1 ] || fail "$name: exit $LAST_RC, want 1"
	grep -q "$want" /tmp/t/err || fail "$name: the message does not say '$want'"
	[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "$name: more than one line"
	stop_server
	no_devices
}
refused_at_add close-in-handshake "closed the connection" --close-in-handshake
refused_at_add endless-handshake "within 3000 ms" --endless-handshake
refused_at_add huge-option-reply "4294967280-byte reply" --huge-option-reply

# the same faults in the handshakes of a reconnection (twice): tried again,
# the reads waiting meanwhile complete
retried_on_reconnect() {
	local name=$1 dev
	shift
	note "reconnection handshake: $name"
	start_fault_server 10843 --file /tmp/t/export.img
	dev=$($UBLKCTL nbd --timeout 3 --reconnect-timeout 30 "$NBD_URI") || fail "$UBLKCTL nbd failed"
	kill_server
	rm -f $LOG
	start_fault_server 10843 --file /tmp/t/export.img --log $LOG --fault-conns 1-2 "$@"
	bounded 60 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=64 iflag=direct status=none
	cat /tmp/t/dd
	[ "$rc" = 0 ] || fail "$name: reads after two bad handshakes: $rc"
	[ "$(grep -c '^CONN ' $LOG)" -ge 3 ] || fail "$name: fewer than three connection attempts: $(cat $LOG)"
	run timeout 20 $UBLKCTL del -a
	stop_server
	no_devices
}
retried_on_reconnect close-in-handshake --close-in-handshake
retried_on_reconnect endless-handshake --endless-handshake
retried_on_reconnect huge-option-reply --huge-option-reply

# another size after the reconnection: IO fails, nothing is served by it
rm -f $LOG
start_fault_server 10844 --file /tmp/t/export.img --size 64M --log $LOG \
	--drop-after 30 --wrong-size-on-reconnect
dev=$($UBLKCTL nbd --timeout 3 --reconnect-timeout 5 "$NBD_URI") || fail "$UBLKCTL nbd failed"
bounded 90 /tmp/t/dd h dd if=$dev of=/dev/null bs=4k count=4096 iflag=direct status=none
cat /tmp/t/dd
[ "$rc" = stuck ] && fail "IO held 90 s by a server of the wrong size"
[ "$rc" != 0 ] || fail "IO went on with an export of another size"
grep -q 'FAULT wrong-size' $LOG || fail "no connection saw the other size"
grep -E '^(READ|WRITE|TRIM|WRITE_ZEROES|FLUSH) [0-9]+ [0-9]+ ([2-9]|[1-9][0-9]+)( FUA)?$' $LOG &&
	fail "the export of the wrong size was used"
[ "$(cat /sys/block/ublkb0/size 2>/dev/null || echo 131072)" = 131072 ] ||
	fail "the device changed its size to $(cat /sys/block/ublkb0/size) sectors"
run timeout 20 $UBLKCTL del -a
stop_server
no_devices
echo ok
