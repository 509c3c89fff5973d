#!/bin/sh
# SPDX-License-Identifier: MIT
# dracut: /lib/ublk/boot; a bad ublk.* value stops in the emergency shell.
. /lib/dracut-lib.sh
/lib/ublk/boot || die "ublk: the devices of ublk.loop= or ublk.nbd= did not come up"
