# SPDX-License-Identifier: MIT
# Sourced by tests/vm/run and tests/vm/boot; needs $top.

# Sets KVER, VMLINUZ and MODBASE (depmod's base dir) for stable (Debian
# 12's bookworm-backports 6.12), unstable (sid), oldstable (Debian 12's own
# 6.1, built without ublk: only our module serves there), or debug: our build of 6.12 with KASAN, lockdep and KFENCE
# (scripts/debug-kernel, tests/vm/debug-kernel.config; built on first use).
# TIME_FACTOR: how many times longer than on Debian's kernels the timeouts
# are (the debug kernel's checks make kernel work about 4 times slower).
prep_kernel() {
	local suite meta img pkg dir
	TIME_FACTOR=1
	case $1 in
	stable) suite=bookworm-backports ;;
	oldstable) suite=bookworm ;;
	unstable) suite=sid ;;
	debug)
		MODBASE=$("$top/scripts/debug-kernel") || return 1
		KVER=$(basename "$(ls -d "$MODBASE"/lib/modules/*/)")
		VMLINUZ=$MODBASE/boot/vmlinuz-$KVER
		TIME_FACTOR=4
		return 0 ;;
	*) echo "$0: unknown kernel $1" >&2; return 1 ;;
	esac
	meta=$("$top/scripts/debfetch" "$suite" linux-image-amd64)
	pkg=$(grep -o 'linux-image-[^ ,]*-amd64' "$meta/.depends" | head -n 1)
	img=$("$top/scripts/debfetch" "$suite" "$pkg")
	if ls "$img"/boot/vmlinuz-* >/dev/null 2>&1; then
		VMLINUZ=$(ls "$img"/boot/vmlinuz-*)
		MODBASE=$img
	else
		# newer packaging: the image package only depends on these two
		for pkg in $(grep -o 'linux-\(binary\|modules\)-[^ ,]*-amd64' "$img/.depends"); do
			dir=$("$top/scripts/debfetch" "$suite" "$pkg")
			case $pkg in
			linux-binary-*) VMLINUZ=$(ls "$dir"/usr/lib/modules/*/vmlinuz) ;;
			linux-modules-*) MODBASE=$dir/usr ;;
			esac
		done
	fi
	KVER=$(basename "$(ls -d "$MODBASE"/lib/modules/*/)")
	[ -f "$MODBASE/lib/modules/$KVER/modules.dep" ] || depmod -b "$MODBASE" "$KVER" 2>/dev/null
}
