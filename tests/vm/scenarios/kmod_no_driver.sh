# ublkctl where no ublk driver is loaded, e.g. on Debian 12's 6.1 (built
# without ublk) before our module is: add, null, loop and list each say so
# in one line on stderr and exit 1, leaving nothing behind. Whatever
# ublk_drv is loaded (ours with --driver kmod) is unloaded first, so this
# runs on every kernel; name it to run it with --driver intree:
#   tests/vm/run --kernel oldstable kmod_no_driver
. /scenarios/lib.sh

if [ -d /sys/module/ublk_drv ]; then
	[ -f /sys/module/ublk_drv/initstate ] ||
		skip "ublk_drv is built into this kernel: it cannot be unloaded"
	run rmmod ublk_drv
fi
# the message names the way out: modprobe, or a module to install
mods=/lib/modules/$(uname -r)
if grep -q 'ublk_drv\.ko' $mods/modules.builtin 2>/dev/null ||
	[ -n "$(find $mods -name 'ublk_drv.ko*' 2>/dev/null)" ]; then
	note "$(uname -r) has its own ublk_drv (not loaded now)"
	want='ublk driver not loaded (try: modprobe ublk_drv)'
else
	note "$(uname -r) has no ublk_drv of its own"
	want="ublk driver not loaded: Linux $(uname -r) has no ublk_drv (install ublkctl-dkms"
fi
[ -e /dev/ublk-control ] && fail "/dev/ublk-control exists without a driver"
truncate -s 16M /tmp/t/img

for cmd in "null 1G" "add -t null -s 1G" "loop /tmp/t/img" "add -t loop -f /tmp/t/img --recovery" "list"; do
	# shellcheck disable=SC2086
	expect_fail ublkctl $cmd
	[ "$LAST_RC" = 1 ] || fail "ublkctl $cmd exited $LAST_RC, not 1"
	[ "$(wc -l < /tmp/t/err)" = 1 ] || fail "ublkctl $cmd: not one line on stderr"
	grep -qF "$want" /tmp/t/err || fail "ublkctl $cmd: message wrong: $(cat /tmp/t/err)"
	[ -s /tmp/t/out ] && fail "ublkctl $cmd printed on stdout"
done
ls /dev/ublkb* /dev/ublkc* >/dev/null 2>&1 && fail "device nodes appeared"
[ -z "$(ls /run/ublk 2>/dev/null)" ] || fail "state files left: $(ls /run/ublk)"
pidof ublkctl >/dev/null && fail "ublkctl processes left: $(pidof ublkctl)"
echo ok
