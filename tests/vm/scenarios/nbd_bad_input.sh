# the nbd target's bad input: nothing listening, an unknown export, a
# read-only export opened for writing, a size that is not a multiple of
# the block size, bad URIs, TLS: each one line naming the cause, exit 1
# (2 for usage), no device left.
# once: ublkctl's checks and messages before any device exists
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target

# one_line WHAT PATTERN: the last expect_fail said one line matching PATTERN
one_line() {
	[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "$1: not one line: $(cat /tmp/t/err)"
	grep -Eqi "$2" /tmp/t/err || fail "$1: the message does not say '$2': $(cat /tmp/t/err)"
	no_devices
}

expect_fail ublkctl nbd
[ $LAST_RC = 2 ] || fail "no URI: exit $LAST_RC, want 2"
expect_fail ublkctl add -t nbd
[ $LAST_RC = 2 ] || fail "add -t nbd without -f: exit $LAST_RC, want 2"
expect_fail ublkctl nbd --reconnect-timeout never nbd://127.0.0.1:10851/
[ $LAST_RC = 2 ] || fail "a bad --reconnect-timeout: exit $LAST_RC, want 2"

# nothing listening (a closed loopback port, a missing socket)
expect_fail timeout 60 ublkctl nbd nbd://127.0.0.1:10851/
[ $LAST_RC = 1 ] || fail "nothing listening: exit $LAST_RC, want 1"
one_line "nothing listening" "refused|connect"
expect_fail timeout 60 ublkctl nbd "nbd+unix:///?socket=/tmp/t/no.sock"
[ $LAST_RC = 1 ] || fail "no socket: exit $LAST_RC, want 1"
one_line "no socket" "no such file|/tmp/t/no.sock"

# bad URIs, TLS
for uri in "http://127.0.0.1/" "nbd://127.0.0.1:99999/" "nbd://127.0.0.1:10851/x?socket=/s" \
	"nbd+unix:///x" "nbd+vsock:///x"; do
	expect_fail timeout 20 ublkctl nbd "$uri"
	[ $LAST_RC = 1 ] || [ $LAST_RC = 2 ] || fail "$uri: exit $LAST_RC, want 1 or 2"
	one_line "$uri" "."
done
expect_fail timeout 20 ublkctl nbd nbds://127.0.0.1:10851/
one_line "nbds://" "tls"
expect_fail timeout 20 ublkctl add -t nbd -f "nbds+unix:///?socket=/tmp/t/s"
one_line "nbds+unix://" "tls"

# an unknown export
start_fault_server 10852 --export disk
expect_fail timeout 60 ublkctl nbd nbd://127.0.0.1:10852/other
[ $LAST_RC = 1 ] || fail "unknown export: exit $LAST_RC, want 1"
one_line "unknown export" "other"
# ... and from a server without NBD_OPT_GO, which can only hang up
start_fault_server 10852 --export disk --no-go
expect_fail timeout 60 ublkctl nbd nbd://127.0.0.1:10852/other
[ $LAST_RC = 1 ] || fail "unknown export (no GO): exit $LAST_RC, want 1"
one_line "unknown export (no GO)" "export"

# a read-only export: refused for writing, served with -r
start_fault_server 10853 --flags READ_ONLY,SEND_FLUSH
expect_fail timeout 60 ublkctl nbd "$NBD_URI"
[ $LAST_RC = 1 ] || fail "read-only export for writing: exit $LAST_RC, want 1"
one_line "read-only export" "read-only|read only"
dev=$(ublkctl nbd -r "$NBD_URI") || fail "a read-only export with -r was refused"
[ "$(cat /sys/block/ublkb0/ro)" = 1 ] || fail "-r: the device is not read-only"
run h dd if=$dev of=/dev/null bs=4k count=16 iflag=direct status=none
run timeout 20 ublkctl del -a
no_devices

# sizes that are not a multiple of the block size
start_fault_server 10854 --size 1000000
expect_fail timeout 60 ublkctl nbd "$NBD_URI"
one_line "size 1000000" "size|multiple"
start_fault_server 10854 --size 1049088 --block-size 4096:4096:65536
expect_fail timeout 60 ublkctl nbd "$NBD_URI"
one_line "size 1049088, 4 KiB blocks" "size|multiple"
stop_server
no_devices
echo ok
