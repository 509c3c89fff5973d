// SPDX-License-Identifier: MIT
/* Messages and helpers for the applets (the library itself never prints). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *applet_name = "ublkctl";

static void vmsg(const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "%s: ", applet_name);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	/* one write, so concurrent messages do not interleave */
	strcat(line, "\n");
	fflush(stdout);
	fputs(line, stderr);
}

void error_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int usage_error(const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error_msg("%s (see %s --help)", msg, applet_name);
	return EXIT_USAGE;
}

/*
 * getopt's '?' or ':' as one line (the optstrings start with ':', so
 * getopt itself says nothing). A long option is the word at optind - 1
 * (musl leaves optind past argc after a short one's missing value), a
 * short one optopt.
 */
int option_error(int ch, char *const argv[])
{
	const char *word = optind > 0 && argv[optind - 1] ? argv[optind - 1] : "";
	bool is_long = !strncmp(word, "--", 2);

	if (ch == ':' && is_long)
		return usage_error("option '%s' needs a value", word);
	if (ch == ':')
		return usage_error("option '-%c' needs a value", optopt);
	if (!optopt)
		return usage_error("unknown option '%s'", word);
	if (is_long && strchr(word, '='))
		return usage_error("option '%s' takes no value", word);
	return usage_error("unknown option '-%c'", optopt);
}

int show_usage(const char *usage)
{
	fputs(usage, stdout);
	return EXIT_OK;
}

int finish(int code)
{
	if ((fflush(stdout) || ferror(stdout)) && errno != EPIPE) {
		fprintf(stderr, "%s: write error: %s\n", applet_name,
			strerror(errno));
		return EXIT_FAIL;
	}
	return code;
}

int open_ctrl(struct ublk_ctrl *c)
{
	int ret = ublk_ctrl_open(c);

	if (ret == -ENODEV) {
		error_msg("ublk driver not loaded (try: modprobe ublk_drv)");
		return EXIT_FAIL;
	}
	if (ret) {
		error_msg("%s: %s", UBLK_CONTROL_PATH, strerror(-ret));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const char *ctrl_strerror(int err)
{
	if (err == -ENODEV || err == -ENOENT)
		return "no such device";
	return strerror(-err);
}

int parse_dev_id(const char *arg, unsigned int *id)
{
	if (ublk_parse_uint(arg, 0, UBLK_MAX_DEV_ID, id))
		return usage_error("invalid device id '%s'", arg);
	return EXIT_OK;
}
