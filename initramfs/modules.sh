# SPDX-License-Identifier: MIT
# Sourced by initramfs/mkimage and tests/vm/run.
#
# copy_modules SRC DST NAME...: copy the modules NAME... of the module tree
# SRC (/lib/modules/RELEASE) and all they depend on to DST, decompressed
# (busybox's insmod and modprobe read plain .ko), with a modules.dep for
# them. Names the tree lacks (built in: modules.builtin, or absent) are
# skipped, so that every one of them may be built in.
copy_modules() {
	local src=$1 dst=$2 m path list
	shift 2
	mkdir -p "$dst"
	list=$(for m in "$@"; do
		path=$(grep -E "/${m//_/[-_]}\.ko(\.xz|\.zst|\.gz)?:" "$src/modules.dep" 2>/dev/null | head -n 1)
		[ -n "$path" ] || continue
		echo "${path%%:*}"; echo "${path#*:}" | tr ' ' '\n'
	done | { grep . || :; } | sort -u)
	for path in $list; do
		mkdir -p "$dst/$(dirname "$path")"
		case $path in
		*.xz) xz -dc "$src/$path" > "$dst/${path%.xz}" ;;
		*.zst) zstd -qdc "$src/$path" > "$dst/${path%.zst}" ;;
		*.gz) gzip -dc "$src/$path" > "$dst/${path%.gz}" ;;
		*) cp "$src/$path" "$dst/$path" ;;
		esac
	done
	for path in $list; do grep "^$path:" "$src/modules.dep" || :; done |
		sed 's/\.ko\.\(xz\|zst\|gz\)/.ko/g' > "$dst/modules.dep"
	# busybox modprobe says "builtin" instead of "not found" for these
	cp "$src/modules.builtin" "$dst/" 2>/dev/null || :
}

# has_module SRC NAME: the tree SRC has module NAME (as a file or built in)
has_module() {
	grep -Eq "/${2//_/[-_]}\.ko(\.xz|\.zst|\.gz)?(:|$)" "$1/modules.dep" "$1/modules.builtin" 2>/dev/null
}
