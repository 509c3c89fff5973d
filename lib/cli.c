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
		error_msg("%s", ublk_no_driver_msg());
		return EXIT_FAIL;
	}
	if (ret) {
		error_msg("%s: %s", UBLK_CONTROL_PATH, ublk_ctrl_strerror(ret));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const char *ctrl_strerror(int err)
{
	if (err == -ENODEV || err == -ENOENT)
		return "no such device";
	return ublk_ctrl_strerror(err);
}

int lock_device(unsigned int id)
{
	unsigned int wait_ms = ublk_ctrl_timeout_ms ? UBLK_LOCK_TIMEOUT_MS : 0;
	int fd = ublk_lock_dev(id, wait_ms);

	if (fd == -EBUSY)
		error_msg("device %u: another ublkctl has held it for %u s: try again",
			  id, wait_ms / 1000);
	else if (fd < 0)
		error_msg("device %u: %s", id, ublk_state_dir_strerror(fd));
	return fd;
}

int parse_timeout(const char *arg)
{
	unsigned int secs;

	if (ublk_parse_uint(arg, 0, 86400, &secs))
		return usage_error("invalid timeout '%s' (seconds, 0-86400; 0: none)", arg);
	ublk_ctrl_timeout_ms = secs * 1000;
	return EXIT_OK;
}

int parse_dev_id(const char *arg, unsigned int *id)
{
	if (ublk_parse_uint(arg, 0, UBLK_MAX_DEV_ID, id))
		return usage_error("invalid device id '%s'", arg);
	return EXIT_OK;
}

int common_option(int ch, const char *usage, char *const argv[])
{
	if (ch == OPT_TIMEOUT)
		return parse_timeout(optarg) ? EXIT_USAGE : OPTION_OK;
	if (ch == 'h')
		return show_usage(usage);
	return option_error(ch, argv);
}

const char *text_strerror(int err, size_t max)
{
	static char buf[48];

	if (err == -EINVAL)
		return "not a regular file";
	if (err == -EILSEQ)
		return "holds a NUL byte";
	if (err == -EFBIG) {
		snprintf(buf, sizeof(buf), "longer than %zu bytes", max);
		return buf;
	}
	return strerror(-err);
}
