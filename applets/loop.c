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
"     --direct-io          open FILE with O_DIRECT (no page cache)\n"
ADD_COMMON_OPTIONS;

int loop_main(int argc, char **argv)
{
	return add_run(argc, argv, "loop", usage, NULL);
}
