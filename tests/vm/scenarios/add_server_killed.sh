# The server SIGKILLed right after ADD_DEV, before it could tell add the
# new device's id: add fails in one line and removes that device (found by
# the cookie ADD_DEV stored in its ublksrv_flags), and only that one.
. /scenarios/lib.sh

run ublkctl null -n 5
for n in "" "-n 2"; do
	UBLKCTL_TEST_DIE_AFTER_ADD_DEV=1 expect_fail ublkctl null $n
	[ $LAST_RC = 1 ] || fail "add $n exited $LAST_RC, not 1"
	[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "add $n: more than one line"
	[ "$(ublkctl list | tail -n +2 | wc -l)" = 1 ] ||
		fail "add $n left a device: $(ublkctl list)"
	ublkctl list -n 5 | grep -q LIVE || fail "device 5 (not add's) is gone"
done
run ublkctl del -n 5
no_devices
echo ok
