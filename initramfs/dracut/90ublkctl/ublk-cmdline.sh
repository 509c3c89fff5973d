#!/bin/sh
# SPDX-License-Identifier: MIT
# dracut cmdline hook: with ublk.loop=, create the devices once udev
# settled; with ublk.nbd=, once the network of ip= is up (dracut's network
# module, which the image must have: dracut --add "ublkctl network").
if getarg ublk.nbd= > /dev/null; then
	mkdir -p /etc/cmdline.d
	echo rd.neednet=1 > /etc/cmdline.d/90-ublk-net.conf
	/sbin/initqueue --online --onetime --unique --name ublk /lib/ublk/dracut-boot
elif getarg ublk.loop= > /dev/null || [ -r /etc/ublktab ]; then
	/sbin/initqueue --settled --onetime --unique --name ublk /lib/ublk/dracut-boot
fi
