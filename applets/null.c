// SPDX-License-Identifier: MIT
/* null: a device that completes every request at once (add -t null). */
#include "applets.h"

static const char usage[] =
"usage: ublkctl null [SIZE] [options]\n"
"\n"
"Shorthand for 'ublkctl add -t null -s SIZE': writes are dropped, reads\n"
"return whatever the server's buffer holds. SIZE takes K/M/G/T suffixes\n"
"(default 250G).\n"
"\n"
"Options:\n"
" -n, --number ID          device id (default: the first free one)\n"
" -q, --queues N           hardware queues, 1-64 (default 1)\n"
" -d, --depth N            queue depth, 1-4096 (default 128)\n"
" -b, --block-size N       logical block size, 512-4096, a power of 2\n"
" -r, --read-only          refuse writes\n"
"     --foreground         serve in this process until the device is deleted\n"
" -h, --help               this text\n";

int null_main(int argc, char **argv)
{
	return add_run(argc, argv, "null", usage, NULL);
}
