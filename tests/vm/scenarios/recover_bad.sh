# recover's refusals leave the device recoverable: a LIVE device, one added
# without --recovery, a missing state file (then -t/-f work), a missing
# backing file; a new server killed before END_USER_RECOVERY; -t/-f that
# disagree with the state file, or given with -a; del of a quiesced device;
# SIGTERM deletes a --recovery device.
. /scenarios/lib.sh

truncate -s 64M /tmp/t/img
run ublkctl loop /tmp/t/img
expect_fail ublkctl recover -n 0
grep -q 'without --recovery' /tmp/t/err || fail "no word about --recovery"
run ublkctl del -n 0

run ublkctl loop --recovery /tmp/t/img
expect_fail ublkctl recover -n 0
grep -q 'is LIVE' /tmp/t/err || fail "recover of a LIVE device: wrong message"
expect_fail ublkctl recover -n 7
expect_fail ublkctl recover
[ "$LAST_RC" = 2 ] || fail "recover without -n/-a: exit $LAST_RC, not 2"

kill -9 $(server_pid 0)
wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "not QUIESCED"
mv /tmp/t/img /tmp/t/img.away
expect_fail ublkctl recover -n 0
ublkctl list -n 0 | grep -q QUIESCED || fail "failed recover changed the device"
mv /tmp/t/img.away /tmp/t/img

# the new server dies after START_USER_RECOVERY, before END
UBLKCTL_TEST_DIE_BEFORE_END_RECOVERY=1 ublkctl recover -n 0 2>/tmp/t/err && fail "dying server recovered"
cat /tmp/t/err
wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "not QUIESCED after a failed recovery"
run ublkctl recover -n 0
run dd if=/dev/ublkb0 of=/dev/null bs=4k count=16 iflag=direct

kill -9 $(server_pid 0)
wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "not QUIESCED"
mv /run/ublk/0 /tmp/t/state
expect_fail ublkctl recover -n 0
grep -q 'state file' /tmp/t/err || fail "no word about the state file"
ublkctl recover -n 0 -t loop -f /tmp/t/img 2>/tmp/t/err || { cat /tmp/t/err; fail "recover with -t -f"; }
grep -q 'from the command line' /tmp/t/err || fail "no word about taking the target from the command line"
run dd if=/dev/ublkb0 of=/dev/null bs=4k count=16 iflag=direct

kill -9 $(server_pid 0)
wait_until 10 sh -c "ublkctl list -n 0 | grep -q QUIESCED" || fail "not QUIESCED"
# -t/-f never override the state file, and never go with -a
expect_fail ublkctl recover -n 0 -t null
grep -q 'stands in for a missing state file' /tmp/t/err || fail "-t over a state file: wrong message"
expect_fail ublkctl recover -a -f /tmp/t/img
[ "$LAST_RC" = 2 ] || fail "recover -a -f: exit $LAST_RC, not 2"
ublkctl list -n 0 | grep -q QUIESCED || fail "refused recover changed the device"
run timeout 20 ublkctl del -n 0
no_devices

# SIGTERM (shutdown, a service manager, Ctrl-C of --foreground) stops and
# deletes a --recovery device too: only a server that dies unasked leaves
# it to recover (documented in add --help)
run ublkctl loop --recovery /tmp/t/img
run kill -TERM $(server_pid 0)
wait_until 10 sh -c '! test -e /sys/class/ublk-char/ublkc0' || fail "SIGTERM left the --recovery device"
no_devices
echo ok
