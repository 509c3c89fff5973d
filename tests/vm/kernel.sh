# SPDX-License-Identifier: MIT
# Sourced by tests/vm/run and tests/vm/boot; needs $top.

# Sets KVER, VMLINUZ and MODBASE (depmod's base dir) for stable|unstable.
prep_kernel() {
	local suite meta img pkg dir
	case $1 in
	stable) suite=bookworm-backports ;;
	unstable) suite=sid ;;
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
