# /etc/ublktab: up creates what the file lists and is not there, a bad line
# says its number while the others are served, a second up changes
# nothing, up ID starts one, down deletes them all.
. /scenarios/lib.sh
tab=/tmp/t/ublktab
truncate -s 64M /tmp/t/a.img
cat > $tab <<EOF
# ID TARGET SOURCE OPTIONS
3 loop /tmp/t/a.img --recovery=reissue early
5 null 1G --queues 2 --depth 64
6 null
7 null 2G
EOF
expect_fail ublkctl up -a --tab $tab
[ $LAST_RC = 1 ] || fail "a bad line: exit $LAST_RC, want 1"
grep -q "^ublkctl up: $tab:4: no size after the target$" /tmp/t/err || fail "no message naming line 4"
for id in 3 5 7; do
	ublkctl list -n $id >/dev/null || fail "device $id not created"
done
ublkctl list -n 6 >/dev/null 2>&1 && fail "the bad line's device exists"
ublkctl list -n 5 -J | grep -q '"queues":2,"depth":64' || fail "device 5 lacks its options: $(ublkctl list -n 5 -J)"
pid=$(server_pid 3)
ublkctl up -a --tab $tab >/dev/null 2>&1	# 1 again: line 4
[ "$(server_pid 3)" = "$pid" ] || fail "a second up touched device 3"
run dd if=/dev/urandom of=/dev/ublkb3 bs=64k count=16 oflag=direct status=none
kill -9 "$pid"
wait_until 10 sh -c "ublkctl list -n 3 | grep -q QUIESCED" || fail "device 3 not QUIESCED"
run ublkctl recover -n 3
run ublkctl del -n 7
sed -i '/^6 null$/d' $tab
run ublkctl up --tab $tab 7
ublkctl list -n 7 >/dev/null || fail "up 7 did not create device 7"
expect_fail ublkctl up --tab $tab 9
grep -q "device 9 is not in $tab" /tmp/t/err || fail "up of an id not in the file: no message"
run ublkctl down -a --tab $tab
no_devices
echo ok
