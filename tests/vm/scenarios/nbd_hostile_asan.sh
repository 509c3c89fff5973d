# nbd_hostile with a ublkctl built with ASan and UBSan (build/tests/ublkctl-asan,
# glibc: run from the host's share): the hostile server's every fault, and
# not one sanitizer report from the command or its server.
. /scenarios/lib.sh
[ -x /bin/ublkctl-asan ] || fail "no ublkctl-asan in the guest (build.sh progs builds it)"
[ -d /host/usr/lib ] || skip "no host share: the ASan build needs the host's glibc"
dir=/tmp/t/asan
mkdir -p $dir
cp /bin/ublkctl-asan $dir/ublkctl
# its own name stays ublkctl, so that pidof and no_devices see its servers
cat > $dir/run <<EOS
#!/bin/sh
exec chroot /host /usr/bin/env -C "\$PWD" PATH=/usr/sbin:/usr/bin:/sbin:/bin $dir/ublkctl "\$@"
EOS
chmod +x $dir/run
export ASAN_OPTIONS=log_path=$dir/report:detect_leaks=1
export UBSAN_OPTIONS=log_path=$dir/report:print_stacktrace=1
export UBLKCTL=$dir/run
$UBLKCTL --help >/dev/null 2>&1 || fail "the ASan build does not run: $($UBLKCTL --help 2>&1 | head -3)"
(. /scenarios/nbd_hostile.sh) || exit 1
for r in $dir/report*; do
	[ -e "$r" ] || continue
	cat "$r"
	fail "a sanitizer report: $r"
done
echo ok
