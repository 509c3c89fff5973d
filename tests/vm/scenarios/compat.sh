# called as `ublk`: ublksrv's options and `ublk list` layout.
. /scenarios/lib.sh

truncate -s 64M /tmp/t/img
ublk add -t loop -n 2 -q 2 -d 64 -u 0 -f /tmp/t/img > /tmp/t/add || fail "ublk add failed"
cat /tmp/t/add
ublk list > /tmp/t/list || fail "ublk list failed"
cat /tmp/t/list
grep -Eq '^dev id 2: nr_hw_queues 2 queue_depth 64 block size 512 dev_capacity 131072$' /tmp/t/list ||
	fail "first line of ublk list"
grep -Eq '^	max rq size [0-9]+ daemon pid [0-9]+ flags 0x[0-9a-f]+ state LIVE$' /tmp/t/list ||
	fail "second line of ublk list"
grep -Eq '^	ublkc: [0-9]+:2 ublkb: [0-9]+:[0-9]+ owner: 0:0$' /tmp/t/list || fail "devt line"
[ "$(grep -Ec '^	queue [01]: tid [1-9][0-9]* affinity\(([0-9]+ )+\)$' /tmp/t/list)" = 2 ] ||
	fail "per-queue thread lines"
grep -q '^	target {"name":"loop","backing_file":"/tmp/t/img"' /tmp/t/list || fail "target line"
# the field scripts scrape with awk
[ "$(ublk list -n 2 | awk 'NR==2 {print $11}')" = LIVE ] || fail "awk state field"
expect_fail ublk add -t null -i 1
expect_fail ublk add -t null -g 1
expect_fail ublk add -t null -u 2
run ublk del -n 2
# -r 1 is add --recovery; ublk recover brings a killed server back
run ublk add -t null -n 3 -r 1 -i 1 --quiet
kill -9 $(server_pid 3)
wait_until 10 sh -c "ublkctl list -n 3 | grep -q QUIESCED" || fail "-r 1: not QUIESCED after a kill"
run ublk recover -n 3
run dd if=/dev/ublkb3 of=/dev/null bs=4k count=4 iflag=direct
run ublk del -n 3
no_devices
echo ok
