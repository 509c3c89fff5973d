// SPDX-License-Identifier: MIT
/* down: delete the devices of /etc/ublktab. */
#include <getopt.h>
#include <stdlib.h>

#include "applets.h"
#include "ublktab.h"

static const char usage[] =
"usage: ublkctl down -a | ID... [--async] [--tab FILE]\n"
"\n"
"Delete the devices that /etc/ublktab lists (every one with -a, or those\n"
"of the IDs given), as ublkctl del does; one that is not there is skipped.\n"
"The file's format: ublkctl up --help.\n"
"\n"
"Options:\n"
" -a, --all         every device of the file\n"
"     --async       do not wait for the servers and the deletions to finish\n"
"     --tab FILE    read FILE instead of /etc/ublktab\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Exit status: 0 when every device asked for is gone; 1 when a line is bad,\n"
"an ID is not in the file or a device could not be deleted; 2 on a usage\n"
"error.\n";

int down_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "async", no_argument, NULL, 'A' },
		{ "tab", required_argument, NULL, 'T' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct ublktab_entry **sel;
	const char *path = UBLKTAB_PATH;
	bool all = false, async = false;
	int opt, ret, n, i, status;
	unsigned int *ids;
	struct ublktab t;

	while ((opt = getopt_long(argc, argv, ":ah", longopts, NULL)) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt == 'A')
			async = true;
		else if (opt == 'T')
			path = optarg;
		else if ((ret = common_option(opt, usage, argv)) != OPTION_OK)
			return ret;
	}
	if (all == (optind < argc))
		return usage_error("give either -a or device ids");
	n = ublktab_open(path, argv + optind, argc - optind, &t, &sel, &status);
	ids = n > 0 ? calloc(n, sizeof(*ids)) : NULL;
	for (i = 0; ids && i < n; i++)
		ids[i] = sel[i]->id;
	if (n > 0 && (!ids || del_devices(ids, n, true, async, false)))
		status = EXIT_FAIL;
	free(ids);
	free(sel);
	ublktab_free(&t);
	return finish(status);
}
