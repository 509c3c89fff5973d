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
ADD_COMMON_OPTIONS;

int null_main(int argc, char **argv)
{
	return add_run(argc, argv, "null", usage, NULL);
}
