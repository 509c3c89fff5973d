# The ublk-stress tests of kmod_kill_many, kmod_spread_del and kmod_torture
# (tests/vm/progs/stress.c) on the kernel's own ublk_drv: the reference for
# our module. A ref_* scenario runs only when named, since 6.12's driver
# hangs or oopses under spread-del and the torture:
#   ./build.sh vm --kernel stable ref_torture_intree
# ublk.reference=LIST on the kernel command line (VM_APPEND) picks some of
# kill-many, spread-del, torture (default: all). What fails here is the
# in-tree driver's doing (or the test's), not our module's: each failure
# is printed, with the driver's kernel-log complaints (then cleared, so
# that init does not count them), and the scenario SKIPs naming them.
# After a test that got stuck in the kernel the rest are not run: the
# driver is wedged. The torture runs last, for ublk.torture_secs or 30 s.
# One test per boot gives the cleanest picture.
. /scenarios/lib.sh

want=$(sed -n 's/.*ublk\.reference=\([^ ]*\).*/\1/p' /proc/cmdline)
[ "${want:-all}" = all ] && want=kill-many,spread-del,torture
# with --driver kmod ours is loaded: swap in the kernel's (init swaps back)
[ -f /sys/module/ublk_drv/version ] && run rmmod ublk_drv
[ -d /sys/module/ublk_drv ] || modprobe ublk_drv || skip "the kernel has no ublk_drv"
[ -f /sys/module/ublk_drv/version ] && fail "our module is loaded, not the kernel's"
secs=${TORTURE_SECS:-$(sed -n 's/.*ublk\.torture_secs=\([0-9]*\).*/\1/p' /proc/cmdline)}
secs=${secs:-30}
# what init looks for in the kernel log
BAD='WARNING:|BUG:|kernel BUG at|Oops|general protection|INFO: task .* blocked|hung_task|possible circular locking|possible recursive locking|inconsistent lock state|UBSAN:|KASAN:|KFENCE:|refcount_t:|list_(add|del) corruption|ODEBUG:'
problems="" wedged=""

# kernel_log NAME: the kernel's complaints since the last call, printed
# (the first whole, then one line each) and cleared; the first one's
# line on stdout's last line
kernel_log() {
	local n
	dmesg -c > /tmp/t/$1.dmesg
	n=$(grep -n -E "$BAD" /tmp/t/$1.dmesg | grep -v 'io_uring/rsrc.c' | head -n 1 | cut -d: -f1)
	[ -n "$n" ] || return 0
	sed -n "$((n > 2 ? n - 2 : 1)),$((n + 40))p" /tmp/t/$1.dmesg | sed 's/^/in-tree kernel: /'
	grep -E "$BAD" /tmp/t/$1.dmesg | sed -n '2,12p' | sed 's/^/in-tree kernel (more): /'
	sed -n "${n}p" /tmp/t/$1.dmesg | cut -c1-100
}

# one NAME LIMIT ARGS...: ublk-stress ARGS, at most LIMIT seconds; its
# failures and the kernel's complaints go to $problems
one() {
	local name=$1 limit=$2 first kernel
	shift 2
	if [ -n "$wedged" ]; then
		echo "in-tree $name: not run, the driver is wedged by $wedged"
		return
	fi
	echo "+ ublk-stress $* (in-tree driver)"
	bounded "$limit" /tmp/t/$name ublk-stress "$@"
	cat /tmp/t/$name
	first=$(grep -m 1 '^FAIL' /tmp/t/$name)
	if [ "$rc" = stuck ]; then
		first="did not end within $limit s${first:+, $first}"
		wedged=$name
	fi
	[ -z "$first" ] && [ "$rc" != 0 ] && first="exited $rc"
	kernel_log $name > /tmp/t/$name.kern
	sed '$d' /tmp/t/$name.kern
	kernel=$(tail -n 1 /tmp/t/$name.kern)
	[ -n "$kernel" ] && first="${first:+$first; }kernel log: $kernel"
	if [ -n "$first" ]; then
		echo "in-tree $name: ${first#FAIL }"
		problems="${problems:+$problems | }$name: ${first#FAIL }"
	else
		echo "in-tree $name: passed"
	fi
}

case ,$want, in *,kill-many,*) one kill-many 50 kill-many ;; esac
case ,$want, in *,spread-del,*) one spread-del 50 spread-del ;; esac
case ,$want, in *,torture,*) one torture $((secs + 80)) torture -t "$secs" ;; esac
[ -z "$problems" ] || skip "in-tree driver fails too: $problems"
echo "ok: $want pass on the in-tree driver"
