# Four shells at once for a bounded time: one adds devices (null and loop,
# some with --recovery), one kills servers and recovers, one lists and
# reads every state file, one deletes. Every command must exit 0 or 1
# (never a usage error, a crash or a hang), every state file must parse
# whenever it is seen, and at the end del -a leaves no device, server or
# state file. CONCURRENT_SECS in the guest changes the 40 s.
. /scenarios/lib.sh

secs=${CONCURRENT_SECS:-40}
end=$(( $(date +%s) + secs ))
log=/tmp/t/conc
rm -f $log.*
for i in 0 1 2 3; do truncate -s 32M /tmp/t/img$i; done

# c NAME CMD...: run one ublkctl command; note any exit status but 0 and 1
c() {
	local name=$1 rc
	shift
	"$@" >/dev/null 2>$log.err.$name
	rc=$?
	echo "$rc" >> $log.rc.$name
	[ $rc -le 1 ] || echo "FAIL $name: '$*' exited $rc: $(cat $log.err.$name)" >> $log.fail
}

some_id() {
	ublkctl list 2>/dev/null | awk -v r=$RANDOM 'NR > 1 { id[n++] = $1 } END { if (n) print id[r % n] }'
}

adder() {
	while [ $(date +%s) -lt $end ]; do
		[ "$(ublkctl list | wc -l)" -gt 7 ] && { usleep 50000; continue; }
		case $((RANDOM % 4)) in
		0) c add ublkctl null -s 64M --timeout 20 ;;
		1) c add ublkctl null -s 64M --recovery --timeout 20 ;;
		2) c add ublkctl loop /tmp/t/img$((RANDOM % 4)) --recovery=reissue --timeout 20 ;;
		3) c add ublkctl add -t null -n $((RANDOM % 8)) --timeout 20 ;;
		esac
	done
}

recoverer() {
	local id pid
	while [ $(date +%s) -lt $end ]; do
		id=$(some_id)
		[ -n "$id" ] || { usleep 50000; continue; }
		pid=$(server_pid "$id")
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
		usleep $((RANDOM % 200000))
		if [ $((RANDOM % 3)) = 0 ]; then
			c recover ublkctl recover -a --timeout 20
		else
			c recover ublkctl recover -n "$id" --timeout 20
		fi
	done
}

# every state file seen must be whole: the version line, then key=value lines
check_states() {
	local f
	for f in /run/ublk/[0-9]*; do
		[ -f "$f" ] || continue
		cp "$f" $log.state 2>/dev/null || continue	# deleted meanwhile
		head -n 1 $log.state | grep -q '^ublkctl-state 2$' &&
			! tail -n +2 $log.state | grep -qv '^[a-z_]*=' ||
			{ echo "FAIL list: $f does not parse: $(cat $log.state)" >> $log.fail; }
	done
}

lister() {
	while [ $(date +%s) -lt $end ]; do
		c list ublkctl list --timeout 20
		ublkctl list -J --timeout 20 > $log.json 2>/dev/null
		grep -q '^{"ublkdevices":\[' $log.json && tail -n 1 $log.json | grep -q '\]}$' ||
			echo "FAIL list: list -J printed $(cat $log.json)" >> $log.fail
		check_states
	done
}

deleter() {
	local id
	while [ $(date +%s) -lt $end ]; do
		usleep $((RANDOM % 300000))
		if [ $((RANDOM % 6)) = 0 ]; then
			c del ublkctl del -a --timeout 20
		else
			id=$(some_id)
			[ -n "$id" ] && c del ublkctl del -n "$id" --timeout 20
		fi
	done
}

adder & a=$!
recoverer & r=$!
lister & l=$!
deleter & d=$!
# each loop ends by its clock; a command stuck past that is a hang
alive() {
	local p
	for p in $a $r $l $d; do kill -0 $p 2>/dev/null && return 0; done
	return 1
}
limit=$(( $(date +%s) + secs + 120 ))
while alive && [ $(date +%s) -lt $limit ]; do sleep 1; done
alive && fail "a shell did not finish within $((secs + 120)) s of the start"
wait
[ -s $log.fail ] && fail "$(head -n 1 $log.fail) ($(wc -l < $log.fail) failures)"
for n in add recover list del; do
	note "$n: $(grep -c '^0$' $log.rc.$n 2>/dev/null) succeeded, $(grep -c '^1$' $log.rc.$n 2>/dev/null) failed (exit 1)"
done
run ublkctl del -a
if ! wait_until 10 sh -c '! pidof ublkctl'; then
	for p in $(pidof ublkctl); do
		echo "pid $p: $(tr '\0' ' ' < /proc/$p/cmdline) state $(awk '{print $3}' /proc/$p/stat)" \
		     "wchan $(cat /proc/$p/wchan 2>/dev/null) ppid $(awk '{print $4}' /proc/$p/stat)"
		cat /proc/$p/stack 2>/dev/null
	done
	fail "ublkctl processes left: $(pidof ublkctl)"
fi
no_devices
[ -z "$(ls -A /run/ublk | grep -v '^\.lock$')" ] || fail "files left in /run/ublk: $(ls -A /run/ublk)"
echo "ok: $secs s, $(cat $log.rc.* | wc -l) commands"
