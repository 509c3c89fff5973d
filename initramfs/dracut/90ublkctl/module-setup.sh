#!/bin/bash
# SPDX-License-Identifier: MIT
# dracut module ublkctl: ublkctl with its applet links, ublk_drv and
# /lib/ublk/boot, run from the initqueue once udev has settled when the
# kernel command line has ublk.loop=. Not included unless asked for
# (dracut --add ublkctl, or add_dracutmodules+=" ublkctl ").

check() {
	require_binaries ublkctl || return 1
	return 255
}

depends() {
	return 0
}

installkernel() {
	hostonly='' instmods ublk_drv
}

install() {
	local bin
	bin=$(command -v ublkctl)
	inst_simple "$bin" /usr/bin/ublkctl
	"$bin" --install "$initdir/usr/bin"
	inst_simple "${UBLKCTL_BOOT:-/usr/lib/ublkctl/boot}" /lib/ublk/boot
	inst_simple "$moddir/ublk-dracut-boot.sh" /lib/ublk/dracut-boot
	chmod 0755 "$initdir/lib/ublk/dracut-boot"
	inst_hook cmdline 90 "$moddir/ublk-cmdline.sh"
	# the devices marked early in /etc/ublktab start in the initramfs
	[ -r /etc/ublktab ] && inst_simple /etc/ublktab /etc/ublktab
}
