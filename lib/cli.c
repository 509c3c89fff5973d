// SPDX-License-Identifier: MIT
/* Messages and helpers for the applets (the library itself never prints). */
#include <errno.h>
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
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", applet_name);
	return EXIT_USAGE;
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
