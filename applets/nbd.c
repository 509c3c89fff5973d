// SPDX-License-Identifier: MIT
/* nbd: serve an NBD server's export through ublk (add -t nbd -f URI). */
#include "applets.h"

static const char usage[] =
"usage: ublkctl nbd URI [options]\n"
"\n"
"Shorthand for 'ublkctl add -t nbd -f URI': serve the export of an NBD\n"
"server (nbdkit, qemu-nbd, nbd-server) as /dev/ublkbN, of the export's size.\n"
"URI: nbd://HOST[:PORT][/EXPORT], nbd+unix:///[EXPORT]?socket=PATH or\n"
"HOST[:PORT] (port 10809 unless given; IPv6 as [ADDR]).\n"
"\n"
"A broken connection fails no IO: requests wait while the queue reconnects\n"
"(pauses of 0.1 s growing to 5 s), the export must be the same, and what\n"
"was in flight is sent again (a write may reach the server twice, which a\n"
"block device allows). Each queue has its own connection when the server\n"
"sets NBD_FLAG_CAN_MULTI_CONN, else the device has one queue.\n"
"\n"
"Options:\n"
"     --reconnect-timeout S  fail waiting IO with EIO after S seconds without\n"
"                          the server (default 300; 0: at once; inf: never);\n"
"                          the queue keeps trying and serves again later\n"
"                          --timeout S (below) is also how long a reply may\n"
"                          take before the connection counts as broken\n"
"     --wait S             keep trying to reach the server for up to S seconds\n"
"                          (refused, unreachable, no answer) before giving up\n"
"                          (default 0: one try; at boot: ublk.wait)\n"
ADD_COMMON_OPTIONS;

int nbd_main(int argc, char **argv)
{
	return add_run(argc, argv, "nbd", usage, NULL);
}
