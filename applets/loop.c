// SPDX-License-Identifier: MIT
/* loop: serve a file or block device through ublk (add -t loop -f FILE). */
#include "applets.h"

static const char usage[] =
"usage: ublkctl loop FILE [options]\n"
"\n"
"Shorthand for 'ublkctl add -t loop -f FILE': serve FILE as /dev/ublkbN.\n"
"The device has the size of FILE, rounded down to whole blocks.\n"
"\n"
"Options:\n"
" -n, --number ID          device id (default: the first free one)\n"
" -q, --queues N           hardware queues, 1-64 (default 1)\n"
" -d, --depth N            queue depth, 1-4096 (default 128)\n"
" -b, --block-size N       logical block size, 512-4096, a power of 2\n"
" -r, --read-only          refuse writes\n"
"     --direct-io          open FILE with O_DIRECT (no page cache)\n"
"     --foreground         serve in this process until the device is deleted\n"
" -h, --help               this text\n";

int loop_main(int argc, char **argv)
{
	return add_run(argc, argv, "loop", usage, NULL);
}
