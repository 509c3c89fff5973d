# connections per queue and what the server's flags become: nbdkit memory
# (CAN_MULTI_CONN) with -q 2 gets two queues and two connections;
# ublk-nbd-fault without CAN_MULTI_CONN and -q 2 one queue and one
# connection, with CAN_MULTI_CONN two of each. FLUSH and FUA reach the
# server when it offers them (a fsync'd dd and O_DIRECT|O_DSYNC writes
# flush, ext4's journal writes its commits with FUA), and
# neither goes out when it does not.
. /scenarios/lib.sh
. /scenarios/nbd.sh
need_nbd_target
need_host_tool nbdkit

LOG=/tmp/t/srv.log
queues() { ublkctl list -n 0 | awk 'NR == 2 { print $5 }'; }
json() { ublkctl list -n 0 -J | tee /tmp/t/json; }
reconnects() { ublkctl list -n 0 -J | sed -n 's/.*"reconnects":\([0-9]*\).*/\1/p'; }

# some IO from both CPUs, so that both queues (when there are two) work
io_both_cpus() {
	local dev=$1
	bounded 60 /tmp/t/fio h fio --name=both --filename=$dev --rw=randrw --bs=4k --size=8M \
		--iodepth=4 --numjobs=2 --cpus_allowed=0,1 --cpus_allowed_policy=split \
		--verify=0 $FIO_COMMON
	[ "$rc" = 0 ] || { cat /tmp/t/fio; fail "fio on $dev: $rc"; }
}

# 1. nbdkit memory, its log filter counting connections
nbd_prepare 10881
nbd_set_addr 10881 ""
rm -f $LOG
h nbdkit --foreground --pidfile $NBD_DIR/pid -i 127.0.0.1 -p 10881 \
	--filter=log memory 64M logfile=$LOG >$NBD_DIR/log 2>&1 &
nbd_wait_pidfile $NBD_DIR/pid "nbdkit memory with the log filter"
SRV_START=""
before=$(grep -c ' Connect export=' $LOG)
dev=$(ublkctl nbd -q 2 "$NBD_URI") || fail "ublkctl nbd -q 2 $NBD_URI failed"
ublkctl list
[ "$(queues)" = 2 ] || fail "nbdkit memory (CAN_MULTI_CONN), -q 2: QUEUES $(queues), want 2"
io_both_cpus $dev
conns=$(( $(grep -c ' Connect export=' $LOG) - before ))
note "nbdkit saw $conns connections from the device"
[ $conns = 2 ] || { grep -E 'Connect|Disconnect' $LOG; fail "nbdkit saw $conns connections, want 2"; }
[ "$(reconnects)" = 0 ] || fail "reconnects $(reconnects) on a healthy server"
run timeout 20 ublkctl del -a
stop_server
no_devices

# 2. no CAN_MULTI_CONN: one queue whatever -q says, one connection
rm -f $LOG
start_fault_server 10882 --size 64M --log $LOG --flags SEND_FLUSH,SEND_FUA
dev=$(ublkctl nbd -q 2 "$NBD_URI") || fail "ublkctl nbd -q 2 $NBD_URI failed"
ublkctl list
[ "$(queues)" = 1 ] || fail "without CAN_MULTI_CONN, -q 2: QUEUES $(queues), want 1"
io_both_cpus $dev
[ "$(grep -c '^CONN ' $LOG)" = 1 ] || fail "without CAN_MULTI_CONN: $(grep -c '^CONN ' $LOG) connections, want 1"
run timeout 20 ublkctl del -a
stop_server
no_devices

# 3. ublk-nbd-fault with CAN_MULTI_CONN: two queues, two connections
rm -f $LOG
start_fault_server 10883 --size 64M --log $LOG --flags SEND_FLUSH,SEND_FUA,CAN_MULTI_CONN
dev=$(ublkctl nbd -q 2 "$NBD_URI") || fail "ublkctl nbd -q 2 $NBD_URI failed"
[ "$(queues)" = 2 ] || fail "with CAN_MULTI_CONN, -q 2: QUEUES $(queues), want 2"
io_both_cpus $dev
[ "$(grep -c '^CONN ' $LOG)" = 2 ] || fail "with CAN_MULTI_CONN: $(grep -c '^CONN ' $LOG) connections, want 2"
# both connections carried requests
for c in 1 2; do
	grep -Eq "^(READ|WRITE) [0-9]+ [0-9]+ $c( FUA)?\$" $LOG || fail "connection $c carried no IO"
done
run timeout 20 ublkctl del -a
stop_server
no_devices

# 4. SEND_FLUSH and SEND_FUA: a volatile cache with FUA; fsync sends
# FLUSH, ext4's journal flushes (its FUA writes: see the note below)
rm -f $LOG
start_fault_server 10884 --size 64M --log $LOG --flags SEND_FLUSH,SEND_FUA
dev=$(ublkctl nbd "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
wc=$(cat /sys/block/ublkb0/queue/write_cache)
fua=$(cat /sys/block/ublkb0/queue/fua)
note "write_cache '$wc', fua $fua"
[ "$wc" = "write back" ] || fail "SEND_FLUSH: write_cache '$wc', want 'write back'"
[ "$fua" = 1 ] || fail "SEND_FUA: queue/fua $fua, want 1"
run h dd if=/dev/urandom of=$dev bs=64k count=16 conv=fsync status=none
grep -q '^FLUSH ' $LOG || { tail -n 20 $LOG; fail "dd conv=fsync: no FLUSH reached the server"; }
# O_DSYNC direct writes to a block device: each write, then a FLUSH
# (the block device's own direct IO sets no FUA)
f0=$(grep -c '^FLUSH ' $LOG)
run h dd if=/dev/urandom of=$dev bs=4k count=32 seek=1000 oflag=direct,dsync status=none
f1=$(grep -c '^FLUSH ' $LOG)
note "flushes: $f0 before 32 O_DSYNC writes, $f1 after"
[ $((f1 - f0)) -ge 32 ] || { tail -n 40 $LOG; fail "32 O_DSYNC direct writes: $((f1 - f0)) flushes, want 32"; }
grep -Eq "^WRITE $((1000 * 4096)) 4096 1( FUA)?\$" $LOG || fail "the first O_DSYNC write is not in the server's log"
# ext4's journal on it: flushes, and its commit records written with FUA
n0=$(grep -c ' FUA$' $LOG) f0=$(grep -c '^FLUSH ' $LOG)
run h mkfs.ext4 -q -F $dev
mkdir -p /tmp/t/mnt
run mount -t ext4 $dev /tmp/t/mnt
dd if=/dev/urandom of=/tmp/t/mnt/file bs=64k count=16 2>/dev/null || fail "writing a file on ext4"
sync
run umount /tmp/t/mnt
n1=$(grep -c ' FUA$' $LOG) f1=$(grep -c '^FLUSH ' $LOG)
note "ext4: $((n1 - n0)) FUA writes, $((f1 - f0)) flushes"
[ $((f1 - f0)) -ge 1 ] || fail "ext4 on a device with a volatile cache sent no FLUSH"
[ $((n1 - n0)) -ge 1 ] || fail "ext4's journal on a FUA device sent no FUA write"
run timeout 20 ublkctl del -a
stop_server
no_devices

# 5. SEND_FLUSH without SEND_FUA: no FUA on the wire (ext4's journal
# included), the kernel flushes instead
rm -f $LOG
start_fault_server 10885 --size 64M --log $LOG --flags SEND_FLUSH
dev=$(ublkctl nbd "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
[ "$(cat /sys/block/ublkb0/queue/fua)" = 0 ] || fail "no SEND_FUA, but queue/fua is 1"
run h dd if=/dev/urandom of=$dev bs=4k count=8 oflag=direct,dsync status=none
grep -q '^FLUSH ' $LOG || fail "O_DSYNC writes: no FLUSH reached the server"
f0=$(grep -c '^FLUSH ' $LOG)
run h mkfs.ext4 -q -F $dev
run mount -t ext4 $dev /tmp/t/mnt
dd if=/dev/urandom of=/tmp/t/mnt/file bs=64k count=16 2>/dev/null || fail "writing a file on ext4"
sync
run umount /tmp/t/mnt
f1=$(grep -c '^FLUSH ' $LOG)
note "ext4 without FUA: $((f1 - f0)) flushes"
[ $((f1 - f0)) -ge 2 ] || fail "ext4 without FUA: $((f1 - f0)) flushes, want its commits' flushes"
grep -q ' FUA$' $LOG && fail "a write went out with FUA to a server without SEND_FUA"
run timeout 20 ublkctl del -a
stop_server
no_devices

# 6. neither: write through, no FLUSH, no FUA
rm -f $LOG
start_fault_server 10886 --size 64M --log $LOG --flags none
dev=$(ublkctl nbd "$NBD_URI") || fail "ublkctl nbd $NBD_URI failed"
wc=$(cat /sys/block/ublkb0/queue/write_cache)
[ "$wc" = "write through" ] || fail "no SEND_FLUSH: write_cache '$wc', want 'write through'"
run h dd if=/dev/urandom of=$dev bs=64k count=16 conv=fsync status=none
run h dd if=/dev/urandom of=$dev bs=4k count=8 oflag=direct,dsync status=none
grep -q '^WRITE ' $LOG || fail "no WRITE reached the server"
grep -q '^FLUSH ' $LOG && fail "a FLUSH went out to a server without SEND_FLUSH"
grep -q ' FUA$' $LOG && fail "a FUA write went out to a server without SEND_FUA"
run timeout 20 ublkctl del -a
stop_server
no_devices
echo ok
