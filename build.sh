#!/bin/bash
# SPDX-License-Identifier: MIT
# ./build.sh [build|kmod|deb|test|unit|vm|bench|profile|demo|clean]
#   build (default)  build/ublkctl: static (musl), stripped; its man page
#                    build/ublkctl.8 (scripts/mkman); and kmod
#   kmod             build/kmod/<release>/ublk_drv.ko for the VM's 6.12
#                    kernel, or for KDIR=/lib/modules/$(uname -r)/build;
#                    --debug-kernel: for the debug kernel (see test);
#                    --kernel oldstable: for Debian 12's 6.1
#   deb              build/deb/: the Debian packages ublkctl and
#                    ublkctl-dkms (scripts/mkdeb; docs/packages.md)
#   test             every test: unit tests (also under ASan and UBSan),
#                    20 s per fuzz target, checkpatch of kmod/, the VM
#                    suite on both kernels and on our module (6.12, and
#                    6.1 with root on ublk booted there), our module's
#                    hardening scenarios on a 6.12 built with KASAN,
#                    lockdep, KFENCE (the first use builds that kernel,
#                    at nice 19 beside the other tests; then cached in
#                    UBLKCTL_CACHE/debug-kernel), the initramfs boot tests
#                    and the benchmarks' quick mode; the packages
#                    (tests/deb/run: lintian, DKMS for 6.1 and 6.12)
#   test --debug-kernel  every scenario on the debug kernel (13 min more)
#   test --packages  also the packages as a user meets them: a debootstrapped
#                    Debian 12 with them installed boots (tests/deb/system,
#                    about 7 min more)
#   vm ARGS          tests/vm/run ARGS (--kernel debug or oldstable builds
#                    our module for that kernel too)
#   bench [ARGS]     the benchmarks (bench/run ARGS: bench/run --help)
#   profile ARGS     one benchmark job's instructions by kernel function
#                    (bench/profile ARGS: bench/profile --help)
#   unit             the cmocka unit tests only
#   demo             boot a VM and run a short scripted session
#   clean            remove build/
# Installs what it needs with apt when missing. Overridable: CC, OPTIMIZE,
# HOT_OPTIMIZE (the data path), UBLKCTL_CACHE (downloaded packages;
# default ~/.cache/ublkctl).
set -eu -o pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
: "${CC:=musl-gcc}"
: "${OPTIMIZE:=-Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables}"
: "${UBLKCTL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/ublkctl}"
export UBLKCTL_CACHE
B=$top/build
WARN="-Wall -Wextra -Wno-unused-parameter -Werror"

# command-or-file:package pairs this project needs
DEPS="musl-gcc:musl-tools /usr/include/cmocka.h:libcmocka-dev
/usr/lib/x86_64-linux-gnu/liburing.a:liburing-dev qemu-system-x86_64:qemu-system-x86
/bin/busybox:busybox-static cpio:cpio xz:xz-utils fio:fio mkfs.ext4:e2fsprogs
udevadm:udev dhclient:isc-dhcp-client arping:iputils-arping pahole:dwarves depmod:kmod file:file gcc:gcc make:make debugfs:e2fsprogs unshare:util-linux
x86_64-linux-gnu-gcc-12:gcc-12 clang:clang
nbdkit:nbdkit qemu-nbd:qemu-utils nbdinfo:libnbd-bin nbd-server:nbd-server nbd-client:nbd-client
/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev"

need_deps() {
	local missing="" APT_OPTS=${APT_OPTS:-} pair what pkg
	for pair in $DEPS; do
		what=${pair%%:*} pkg=${pair#*:}
		if [[ $what == /* ]]; then [ -e "$what" ] && continue
		else command -v "$what" >/dev/null 2>&1 && continue; fi
		missing="$missing $pkg"
	done
	[ -z "$missing" ] && return 0
	echo "build.sh: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y -q $APT_OPTS $missing >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $APT_OPTS $missing >/dev/null; }
}

# Debian unstable's kernel headers: the newest ublk UAPI, kept in the cache.
uapi_include() {
	local dir inc=$B/include
	if [ ! -e "$inc/linux/ublk_cmd.h" ]; then
		dir=$(scripts/debfetch sid linux-libc-dev)
		mkdir -p "$inc"
		ln -sfn "$dir/usr/include/linux" "$inc/linux"
		ln -sfn "$dir/usr/include/asm-generic" "$inc/asm-generic"
		ln -sfn "$dir/usr/include/x86_64-linux-gnu/asm" "$inc/asm"
		# liburing's headers, without the rest of glibc's include dir
		ln -sfn /usr/include/liburing.h "$inc/liburing.h"
		ln -sfn /usr/include/liburing "$inc/liburing"
	fi
	echo "$inc"
}

SRCS="ublkctl.c $(echo applets/*.c lib/*.c)"
# The data path is built for speed, the rest for size: at -Os gcc clears
# an SQE with "rep stosb", 62 counted instructions per request.
HOT_SRCS="lib/queue.c lib/batch.c lib/tgt_null.c lib/tgt_loop.c"
: "${HOT_OPTIMIZE:=-O2}"

build() {
	need_deps
	local inc stamp flags src obj objs
	inc=$(uapi_include)
	flags="$CC $WARN -static -isystem $inc -Ilib -Iapplets -D_GNU_SOURCE"
	stamp=$( (echo "$flags $OPTIMIZE $HOT_OPTIMIZE"; cat $SRCS lib/*.h applets/*.h) | sha256sum | cut -c1-16)
	if [ -x "$B/ublkctl" ] && [ "$(cat "$B/.stamp" 2>/dev/null)" = "$stamp" ]; then
		[ -f "$B/ublkctl.8" ] || man_page
		return 0
	fi
	mkdir -p "$B/obj"
	objs=""
	for src in $SRCS; do
		obj=$B/obj/$(echo "${src%.c}" | tr / _).o
		case " $HOT_SRCS " in
		*" $src "*) $flags $OPTIMIZE $HOT_OPTIMIZE -c -o "$obj" "$src" ;;
		*) $flags $OPTIMIZE -c -o "$obj" "$src" ;;
		esac
		objs="$objs $obj"
	done
	$flags $OPTIMIZE -o "$B/ublkctl.unstripped" $objs \
		-Wl,--gc-sections /usr/lib/x86_64-linux-gnu/liburing.a -lpthread
	strip -s -R .comment -R '.note*' -o "$B/ublkctl" "$B/ublkctl.unstripped"
	echo "$stamp" > "$B/.stamp"
	file "$B/ublkctl" | grep -q 'statically linked' ||
		{ echo "build.sh: build/ublkctl is not statically linked" >&2; exit 1; }
	echo "build/ublkctl: $(stat -c %s "$B/ublkctl") bytes, static"
	man_page
}

# ublkctl(8) from the binary's help texts: one section per applet
man_page() {
	local applets sections
	scripts/mkman "$B/ublkctl" > "$B/ublkctl.8"
	applets=$("$B/ublkctl" --help | sed -n '/^Applets:/,/^$/p' | grep -c '^  [a-z]')
	sections=$(grep -c '^\.SS ' "$B/ublkctl.8")
	[ "$applets" = "$sections" ] ||
		{ echo "build.sh: ublkctl.8 has $sections applets, ublkctl $applets" >&2; exit 1; }
}

# Our ublk_drv.ko, built out of the source tree (Kbuild writes next to
# its sources, so they are copied) and stripped of debug info.
kmod() {
	need_deps
	local kdir inc rel out
	kdir=${KDIR:-$(scripts/kbuild-dir)}
	inc=$(uapi_include)
	# the release modules live under (Debian's 6.1 headers give the
	# upstream version in kernel.release)
	rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
	[ -n "$rel" ] || rel=$(cat "$kdir/include/config/kernel.release")
	out=$B/kmod/$rel
	mkdir -p "$out/src"
	cp -p kmod/*.c kmod/*.h kmod/Kbuild "$out/src/"
	make -s -C "$kdir" M="$out/src" UBLK_UAPI_H="$(readlink -f "$inc/linux")/ublk_cmd.h" \
		modules 2>&1 | grep -v '^Skipping BTF' >&2 || :
	[ -f "$out/src/ublk_drv.ko" ] || { echo "build.sh: kmod build failed" >&2; exit 1; }
	if [ "$out/src/ublk_drv.ko" -nt "$out/ublk_drv.ko" ]; then
		strip --strip-debug -o "$out/ublk_drv.ko" "$out/src/ublk_drv.ko"
		echo "build/kmod/$rel/ublk_drv.ko: $(stat -c %s "$out/ublk_drv.ko") bytes"
	fi
}

# Our module for the debug kernel (scripts/debug-kernel builds that kernel
# on first use, then keeps it in the cache).
kmod_debug() {
	local dir
	dir=$(scripts/debug-kernel) || { echo "build.sh: no debug kernel" >&2; exit 1; }
	KDIR=$dir/linux kmod
}

# Our module for Debian 12's own kernel, 6.1 (tests/vm/run --kernel oldstable).
kmod_oldstable() {
	KDIR=$(scripts/kbuild-dir bookworm) kmod
}

# Small test programs the VM runs (tests/vm/progs/NAME.c -> build/tests/ublk-NAME).
progs() {
	local inc src out
	inc=$(uapi_include)
	mkdir -p "$B/tests"
	for src in tests/vm/progs/*.c; do
		out=$B/tests/ublk-$(basename "$src" .c)
		[ "$out" -nt "$src" ] && continue
		$CC -Os $WARN -static -isystem "$inc" -D_GNU_SOURCE -o "$out" "$src" \
			/usr/lib/x86_64-linux-gnu/liburing.a
	done
	asan_build "$inc"
}

# ublkctl with ASan and UBSan (gcc, glibc: the guest runs it from the host's
# share), for the scenarios that put hostile input in front of it.
asan_build() {
	local out=$B/tests/ublkctl-asan f
	if [ -x "$out" ]; then
		for f in $SRCS lib/*.h applets/*.h; do [ "$f" -nt "$out" ] && break; done
		[ "$f" -nt "$out" ] || return 0
	fi
	gcc -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
		$WARN -isystem "$1" -Ilib -Iapplets -D_GNU_SOURCE -o "$out" $SRCS \
		/usr/lib/x86_64-linux-gnu/liburing.a -lpthread
}

unit() {
	build
	tests/unit/run
}

# The Debian packages (scripts/mkdeb) in build/deb/, with what builds and
# checks them (dkms without the host kernel's headers it recommends).
deb_deps() {
	APT_OPTS=--no-install-recommends \
		DEPS="dpkg-deb:dpkg fakeroot:fakeroot lintian:lintian dkms:dkms" need_deps
}
deb() {
	deb_deps
	rm -rf "$B/deb"
	mkdir -p "$B/deb"
	scripts/mkdeb "$B/deb" "$(readlink -f "$(uapi_include)/linux")/ublk_cmd.h"
}

case "${1:-build}" in
build) build; kmod ;;
deb) build; deb ;;
kmod)
	case "${2:-} ${3:-}" in
	"--debug-kernel ") kmod_debug ;;
	"--kernel oldstable") kmod_oldstable ;;
	" ") kmod ;;
	*) echo "build.sh: kmod takes --debug-kernel or --kernel oldstable" >&2; exit 2 ;;
	esac ;;
unit) unit ;;
vm)
	build; kmod; progs; shift
	case " $* " in *" --kernel debug "*) kmod_debug ;; esac
	case " $* " in *" --kernel oldstable "*) kmod_oldstable ;; esac
	tests/vm/run "$@" ;;
test)
	debug_kernel=0 fuzz_secs=20 packages=0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--debug-kernel) debug_kernel=1; shift ;;
		--packages) packages=1; shift ;;
		--fuzz-secs)
			case ${2:-} in ''|*[!0-9]*|0)
				echo "build.sh: --fuzz-secs takes a number of seconds" >&2; exit 2 ;;
			esac
			fuzz_secs=$2; shift 2 ;;
		*) echo "build.sh: test takes --debug-kernel, --packages and --fuzz-secs N" >&2; exit 2 ;;
		esac
	done
	build
	kmod
	kmod_oldstable
	progs
	# The debug kernel builds (nice 19: on the CPU time the tests leave)
	# beside them; its source and packages first, so no two apt runs meet.
	DEPS="bison:bison flex:flex bc:bc /usr/include/libelf.h:libelf-dev" need_deps
	deb_deps
	[ $packages = 0 ] || DEPS="debootstrap:debootstrap" need_deps
	scripts/debfetch bookworm-backports linux-source-6.12 > /dev/null
	rm -f "$B/kmod-debug.rc"
	(if kmod_debug > "$B/kmod-debug.log" 2>&1; then echo 0; else echo 1; fi > "$B/kmod-debug.rc") &
	debug_build=$!
	set +e
	tests/unit/run > "$B/unit.log" 2>&1; urc=$?
	cat "$B/unit.log"
	# the unit tests again under ASan and UBSan (glibc), and the fuzz targets
	tests/unit/run --sanitize > "$B/sanitize.log" 2>&1 || urc=1
	cat "$B/sanitize.log"
	tests/fuzz/run --secs "$fuzz_secs" > "$B/fuzz.log" 2>&1 || urc=1
	cat "$B/fuzz.log"
	# kmod/ in the kernel's coding style
	if scripts/checkpatch > "$B/checkpatch.log" 2>&1; then
		echo "checkpatch: 1 passed, 0 failed" >> "$B/checkpatch.log"
	else
		echo "checkpatch: 0 passed, 1 failed" >> "$B/checkpatch.log"; urc=1
	fi
	cat "$B/checkpatch.log"
	# the packages: lintian, and DKMS building ublk_drv for 6.1 (not 6.12)
	{ deb > /dev/null && tests/deb/run; } > "$B/deb.log" 2>&1 ||
		{ urc=1; grep -q 'deb: ' "$B/deb.log" || echo "deb: 0 passed, 1 failed" >> "$B/deb.log"; }
	[ $packages = 0 ] || tests/deb/system >> "$B/deb.log" 2>&1 || urc=1
	cat "$B/deb.log"
	: > "$B/vm.log"
	vrc=0
	# vm_step CMD...: run a VM test step, its output into vm.log
	vm_step() { "$@" | tee -a "$B/vm.log"; [ "${PIPESTATUS[0]}" = 0 ] || vrc=1; }
	vm_step tests/vm/run --kernel stable --kernel unstable
	vm_step tests/vm/run --kernel stable --driver kmod
	# our module on Debian 12's own 6.1, built without ublk: the scenarios
	# of docs/kmod-kernels.md, and ublkctl there without it (kmod_no_driver)
	vm_step tests/vm/run --kernel oldstable --driver kmod null loop_4kn loop_integrity loop_zeroes \
		recover_modes del_during_io kill_server kmod_hostile kmod_torture kmod_defects kmod_no_driver
	# initramfs/: root on ublk, the rescue shell, bad values, the generators
	vm_step tests/vm/boot --kernel unstable
	vm_step tests/vm/boot --kernel stable --driver kmod
	vm_step tests/vm/boot --kernel oldstable --driver kmod root
	# the benchmarks, one short job per backend: they must still produce rows
	vm_step bench/run --quick --kernel unstable --kernel stable
	# our module on the debug kernel (KASAN, lockdep, KFENCE, hung tasks):
	# the module's own scenarios and its recovery paths; all with the flag
	debug_scenarios="kmod_defects kmod_alloc_fail kmod_hostile kmod_kill_many kmod_spread_del kmod_torture
		kmod_cycle recover_modes del_during_io kill_server"
	[ $debug_kernel = 1 ] && debug_scenarios=""
	wait $debug_build
	cat "$B/kmod-debug.log"
	if [ "$(cat "$B/kmod-debug.rc" 2>/dev/null)" = 0 ]; then
		# shellcheck disable=SC2086
		vm_step tests/vm/run --kernel debug --driver kmod $debug_scenarios
	else
		echo "vm: 0 passed, 1 failed" | tee -a "$B/vm.log"
		vrc=1
	fi
	set -e
	tests/summarize "$B/unit.log" "$B/sanitize.log" "$B/fuzz.log" "$B/checkpatch.log" "$B/deb.log" "$B/vm.log"
	[ $urc = 0 ] && [ $vrc = 0 ]
	;;
bench)
	build; kmod; progs; shift
	case " $* " in *" --kernel oldstable "*) kmod_oldstable ;; esac
	bench/run "$@" ;;
profile) build; kmod; progs; shift; bench/profile "$@" ;;
demo) build; tests/vm/run --kernel unstable --demo ;;
clean) rm -rf "$B" ;;
*) sed -n '3,24p' "$0" >&2; exit 2 ;;
esac
