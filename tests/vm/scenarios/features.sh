# features: the driver named (ours says its version), its bits by their
# UAPI names, the table and -J agreeing with each other, and after the
# table what the driver lacks and why (-J: "missing")
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
# "Missing:" after a blank line: every bit marked no, none marked yes
sed -n '/^Missing:$/,$s/^  \([A-Z_0-9]*\)  .*/\1/p' /tmp/t/f > /tmp/t/missing
sed -n -E 's/^ *[0-9]+ ([A-Z_0-9]+) +no .*/\1/p' /tmp/t/f > /tmp/t/no
cmp -s /tmp/t/missing /tmp/t/no || fail "Missing lists $(echo $(cat /tmp/t/missing)), the bits marked no are $(echo $(cat /tmp/t/no))"
if [ -s /tmp/t/no ]; then
	grep -B1 '^Missing:$' /tmp/t/f | head -n 1 | grep -q '^$' || fail "no blank line before Missing:"
else
	! grep -q '^Missing' /tmp/t/f || fail "Missing: shown with nothing missing"
fi
for n in $(cat /tmp/t/missing); do
	if grep -Eq "^ *[0-9]+ $n +yes " /tmp/t/f; then fail "$n listed missing, but the driver has it"; fi
done
if [ -f /sys/module/ublk_drv/version ]; then
	grep -q "^  SUPPORT_ZERO_COPY  *not in our module: lending a request's pages to io_uring needs 6.15\$" /tmp/t/f ||
		fail "SUPPORT_ZERO_COPY not listed missing with our module's reason"
fi
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
# -J's "missing": null exactly for the bits marked true, a reason for the others
trues=$(grep -o '"driver":true' /tmp/t/j | wc -l)
[ "$(grep -Eo '"driver":true,"used_for":(null|"[^"]*"),"missing":null}' /tmp/t/j | wc -l)" = "$trues" ] ||
	fail "-J: a bit marked true has a reason it is missing"
[ "$(grep -o '"missing":null' /tmp/t/j | wc -l)" = "$trues" ] ||
	fail "-J: a bit marked false has \"missing\":null"
[ "$(grep -Eo '"driver":false,"used_for":(null|"[^"]*"),"missing":"[^"]+"}' /tmp/t/j | wc -l)" = \
	"$(grep -o '"driver":false' /tmp/t/j | wc -l)" ] || fail "-J: a bit marked false without its reason"
expect_fail ublkctl features extra
[ $LAST_RC = 2 ] || fail "an extra argument: exit $LAST_RC, want 2"
echo ok
