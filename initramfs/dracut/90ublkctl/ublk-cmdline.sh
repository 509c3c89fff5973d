#!/bin/sh
# SPDX-License-Identifier: MIT
# dracut cmdline hook: with ublk.loop=, create the devices once udev settled.
if getarg ublk.loop= > /dev/null; then
	/sbin/initqueue --settled --onetime --unique --name ublk /lib/ublk/dracut-boot
fi
