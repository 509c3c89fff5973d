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

static ssize_t read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len) {
		r = read(fd, buf + n, len - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		n += r;
	}
	return n;
}

/*
 * path's text into *text (to free), or says why not. Only a regular file
 * is opened: a FIFO or a device could block, or act on being opened.
 */
static int read_cmdline(const char *path, char **text)
{
	struct stat st;
	ssize_t n;
	int fd = -1;

	if (stat(path, &st) < 0 ||
	    (S_ISREG(st.st_mode) &&
	     (fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)) {
		error_msg("%s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	if (!S_ISREG(st.st_mode)) {
		error_msg("%s: not a regular file", path);
		return EXIT_FAIL;
	}
	*text = malloc(CMDLINE_MAX + 1);
	n = *text ? read_all(fd, *text, CMDLINE_MAX + 1) : -ENOMEM;
	close(fd);
	if (n >= 0 && n <= CMDLINE_MAX && !memchr(*text, 0, n)) {
		(*text)[n] = 0;
		return EXIT_OK;
	}
	free(*text);
	if (n < 0)
		error_msg("%s: %s", path, strerror(-n));
	else if (n > CMDLINE_MAX)
		error_msg("%s: longer than %u bytes", path, CMDLINE_MAX);
	else
		error_msg("%s: holds a NUL byte", path);
	return EXIT_FAIL;
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
