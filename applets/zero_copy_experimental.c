// SPDX-License-Identifier: MIT
/* zero-copy-experimental: loop, with the file IO done in the request's pages. */
#include <stdlib.h>
#include <string.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl zero-copy-experimental FILE [options]\n"
"\n"
"'ublkctl loop FILE --zero-copy': serve FILE as /dev/ublkbN, reading and\n"
"writing FILE straight into each request's own pages instead of copying\n"
"them through the server. This uses new kernel interfaces: the request\n"
"buffer registration of UBLK_F_SUPPORT_ZERO_COPY (Linux 6.15) and, where\n"
"the driver has it, UBLK_F_AUTO_BUF_REG (Linux 6.16), which is chosen by\n"
"default because it saves two commands per IO. Older drivers (6.12, or\n"
"ublkctl's own module) refuse, and nothing is created.\n"
"\n"
"Options:\n"
"     --zero-copy=MODE     register (explicit register/unregister around\n"
"                          each IO) or auto-buf-reg (the kernel does it)\n"
"     --auto-buf-reg       same as --zero-copy=auto-buf-reg\n"
"     --direct-io          open FILE with O_DIRECT (no page cache)\n"
ADD_COMMON_OPTIONS;

int zero_copy_experimental_main(int argc, char **argv)
{
	char **args = calloc(argc + 2, sizeof(*args));
	int ret;

	if (!args)
		return EXIT_FAIL;
	/* --zero-copy first, so that an explicit mode given later wins */
	args[0] = argv[0];
	args[1] = "--zero-copy";
	memcpy(args + 2, argv + 1, (argc - 1) * sizeof(*args));
	ret = add_run(argc + 1, args, "loop", usage, NULL);
	free(args);
	return ret;
}
