# features: the driver named (ours says its version), its bits by their
# UAPI names, the table and -J agreeing with each other
. /scenarios/lib.sh
run ublkctl features > /tmp/t/f
cat /tmp/t/f
if [ -f /sys/module/ublk_drv/version ]; then
	grep -q "^driver: ublkctl $(cat /sys/module/ublk_drv/version), " /tmp/t/f || fail "our module not named with its version"
else
	grep -q "^driver: in-tree, Linux $(uname -r), " /tmp/t/f || fail "the in-tree driver not named"
fi
# every driver this suite runs has recovery and ioctl-encoded commands
grep -Eq '^  3 USER_RECOVERY +yes +--recovery' /tmp/t/f || fail "USER_RECOVERY not shown as the driver's"
grep -Eq '^  6 CMD_IOCTL_ENCODE +yes ' /tmp/t/f || fail "CMD_IOCTL_ENCODE not shown as the driver's"
run ublkctl features -J > /tmp/t/j
cat /tmp/t/j
flags=$(sed -n 's/.*"flags":\([0-9]*\).*/\1/p' /tmp/t/j)
sum=0
for b in $(grep -o '"bit":[0-9]*,"name":"[A-Z_0-9]*","driver":true' /tmp/t/j | sed 's/"bit":\([0-9]*\).*/\1/'); do
	sum=$((sum + (1 << b)))
done
[ "$sum" = "$flags" ] || fail "-J: the bits marked true add up to $sum, flags says $flags"
[ "$(printf '%x' "$flags")" = "$(sed -n 's/.*features 0x\([0-9a-f]*\)$/\1/p' /tmp/t/f)" ] ||
	fail "the table's features and -J's flags differ"
[ "$(grep -c ' yes ' /tmp/t/f)" = "$(grep -o '"driver":true' /tmp/t/j | wc -l)" ] ||
	fail "the table and -J mark different bits"
expect_fail ublkctl features extra
[ $LAST_RC = 2 ] || fail "an extra argument: exit $LAST_RC, want 2"
echo ok
