# called as `ublk`: ublksrv's command lines (add -t/-n/-q/-d/-g/-f/-u,
# list, del -a, recover) and ublksrv 1.6's `ublk list` layout, read by
# field with awk as scripts written for it do.
. /scenarios/lib.sh

# field LINE N [ID]: field N of line LINE of `ublk list -n ID` (default 2)
field() {
	ublk list -n "${3:-2}" | awk -v l="$1" -v f="$2" 'NR == l { print $f }'
}

truncate -s 64M /tmp/t/img
ublk add -t loop -n 2 -q 2 -d 64 -u 0 -f /tmp/t/img > /tmp/t/add || fail "ublk add failed"
cat /tmp/t/add
grep -q '^dev id 2: ' /tmp/t/add || fail "add does not print the device"
ublk list > /tmp/t/list || fail "ublk list failed"
cat /tmp/t/list
grep -Eq '^dev id 2: nr_hw_queues 2 queue_depth 64 block size 512 dev_capacity 131072$' /tmp/t/list ||
	fail "first line of ublk list"
grep -Eq '^	max rq size [0-9]+ daemon pid [0-9]+ state LIVE$' /tmp/t/list ||
	fail "second line of ublk list"
grep -Eq '^	flags 0x[0-9a-f]+ \[( [A-Z_]+)* \]$' /tmp/t/list || fail "flags line"
grep -q '^	flags .* CMD_IOCTL_ENCODE ' /tmp/t/list || fail "flags line without CMD_IOCTL_ENCODE"
grep -Eq '^	ublkc: [0-9]+:2 ublkb: [0-9]+:[0-9]+ owner: 0:0$' /tmp/t/list || fail "devt line"
[ "$(grep -Ec '^	queue [01]: tid [1-9][0-9]* affinity\(([0-9]+ )+\)$' /tmp/t/list)" = 2 ] ||
	fail "per-queue thread lines"
grep -q '^	target {"name":"loop","backing_file":"/tmp/t/img"' /tmp/t/list || fail "target line"
# the fields scripts scrape with awk
[ "$(awk '/^dev id/ { sub(":", "", $3); print $3 }' /tmp/t/list)" = 2 ] || fail "awk: dev id"
[ "$(field 1 5)" = 2 ] || fail "awk: nr_hw_queues"
[ "$(field 1 7)" = 64 ] || fail "awk: queue_depth"
[ "$(field 1 12)" = 131072 ] || fail "awk: dev_capacity"
[ "$(field 2 9)" = LIVE ] || fail "awk: state is '$(field 2 9)', not LIVE"
[ "$(field 2 7)" = "$(server_pid 2)" ] || fail "awk: daemon pid"
run dd if=/dev/urandom of=/dev/ublkb2 bs=64k count=16 oflag=direct

# -q beyond the CPUs: min(N, CPUs) queues, as ublksrv (the driver caps them)
ncpu=$(grep -c '^processor' /proc/cpuinfo)
run ublk add -t null -n 4 -q $((ncpu * 2 + 1)) --quiet
[ "$(field 1 5 4)" = "$ncpu" ] || fail "-q $((ncpu * 2 + 1)): $(field 1 5 4) queues on $ncpu CPUs"
[ "$(ublk list -n 4 | grep -c '^	queue ')" = "$ncpu" ] || fail "-q: queue lines"

# -g 1: NEED_GET_DATA, in the flags line where ublksrv names it
run ublk add -t null -n 5 -g 1 --quiet
ublk list -n 5 | grep -q '^	flags .* NEED_GET_DATA ' || fail "-g 1: no NEED_GET_DATA in the flags"
run dd if=/dev/zero of=/dev/ublkb5 bs=128k count=8 oflag=direct
run ublk add -t null -n 6 -g 0 --quiet
ublk list -n 6 | grep -q 'NEED_GET_DATA' && fail "-g 0: NEED_GET_DATA in the flags"

expect_fail ublk add -t null -i 1
expect_fail ublk add -t null -g 2
expect_fail ublk add -t null -u 2
run ublk del -a
[ -z "$(ublk list)" ] || fail "del -a left devices"

# -r 1 is add --recovery; after a kill -9 the state reads QUIESCED where
# scripts look (field 9), and ublk recover brings the device back
run ublk add -t null -n 3 -r 1 -i 1 --quiet
pid=$(server_pid 3)
kill -9 $pid
wait_until 10 sh -c "ublk list -n 3 | awk 'NR == 2 { print \$9 }' | grep -qx QUIESCED" ||
	fail "-r 1: state '$(field 2 9 3)' after a kill, not QUIESCED"
run ublk recover -n 3
[ "$(field 2 9 3)" = LIVE ] || fail "recover: state '$(field 2 9 3)', not LIVE"
[ "$(field 2 7 3)" != "$pid" ] || fail "recover: still the dead server's pid"
run dd if=/dev/ublkb3 of=/dev/null bs=4k count=4 iflag=direct
run ublk del -n 3
no_devices
echo ok
