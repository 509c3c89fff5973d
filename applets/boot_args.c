// SPDX-License-Identifier: MIT
/*
 * boot-args: the ublk.* parameters of a kernel command line as lines that
 * initramfs/ublk-boot reads with `while IFS= read -r`. The parsing is
 * lib/bootargs.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets.h"
#include "bootargs.h"

static const char usage[] =
"usage: ublkctl boot-args [FILE]\n"
"\n"
"Read a kernel command line (FILE, default /proc/cmdline) and print what\n"
"its ublk.* parameters ask of initramfs/ublk-boot, one line each:\n"
"\n"
"  wait SECONDS               first, always: ublk.wait= (default 10)\n"
"  loop ARGS... -- FILE       one per ublk.loop= or ublk.nbd=, in order:\n"
"  nbd ARGS... -- URI         the applet and its arguments\n"
"\n"
"ARGS are words without white space; FILE (or URI) is the rest of the line after\n"
"the first \" -- \", verbatim. Parameters:\n"
"\n"
"  ublk.loop=DEV_OR_FILE[,ro][,recovery[=requeue|reissue|fail-io]]\n"
"            [,direct-io][,queues=N][,depth=N][,id=N]\n"
"  ublk.nbd=URI[,ro][,recovery[=MODE]][,queues=N][,depth=N][,id=N]\n"
"           [,timeout=S][,reconnect-timeout=S|inf]\n"
"            the URI ends at its first comma; recovery and\n"
"            reconnect-timeout=inf unless given (a boot device waits for\n"
"            its server); ublkctl nbd keeps trying to reach the server\n"
"            for ublk.wait seconds\n"
"  ublk.wait=SECONDS          0-3600: for each DEV_OR_FILE to appear, for\n"
"                             each server to answer\n"
"\n"
"Words split as the kernel splits them; a bare -- ends them (the rest is\n"
"init's). A name with spaces needs double quotes around the whole\n"
"parameter or value: \"ublk.loop=/a b,ro\" or ublk.loop=\"/a b,ro\"; any\n"
"other double quote, and control characters in a name, are refused.\n"
"Every value is checked before anything is printed.\n"
"\n"
"Options:\n"
" -h, --help        this text\n"
"\n"
"Exit status: 0, 1 on a bad value or a FILE that cannot be read (one line\n"
"on stderr, nothing on stdout), 2 on a usage error.\n";

#define CMDLINE_PATH	"/proc/cmdline"
#define CMDLINE_MAX	65536

/* path's text into *text (to free), or says why not */
static int read_cmdline(const char *path, char **text)
{
	int ret = ublk_read_text(path, CMDLINE_MAX, text);

	if (ret)
		error_msg("%s: %s", path, text_strerror(ret, CMDLINE_MAX));
	return ret ? EXIT_FAIL : EXIT_OK;
}

static int print_args(const struct ublk_boot_args *a)
{
	unsigned int i;
	size_t len;
	char *line;

	printf("wait %u\n", a->wait_s);
	for (i = 0; i < a->nr_devs; i++) {
		len = UBLK_BOOT_ARGS_LEN(a->devs[i].file);
		line = malloc(len);
		if (!line || ublk_boot_cmd_args(&a->devs[i], a->wait_s, line, len) < 0) {
			free(line);
			error_msg("out of memory");
			return EXIT_FAIL;
		}
		printf("%s %s\n", ublk_boot_applet(&a->devs[i]), line);
		free(line);
	}
	return EXIT_OK;
}

int boot_args_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = CMDLINE_PATH;
	struct ublk_boot_args a;
	char *text;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (opt == 'h')
			return show_usage(usage);
		return option_error(opt, argv);
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (read_cmdline(path, &text))
		return EXIT_FAIL;
	ret = ublk_boot_parse(text, &a);
	free(text);
	if (ret == -EINVAL)
		error_msg("%s", a.err);
	else if (ret)
		error_msg("out of memory");
	else
		ret = print_args(&a);
	ublk_boot_free(&a);
	return ret ? EXIT_FAIL : EXIT_OK;
}
