/* SPDX-License-Identifier: MIT */
/* The applets' side: messages, exit codes and shared option handling. */
#ifndef UBLKCTL_CLI_H
#define UBLKCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "ublk.h"

/* Exit codes, documented in the README. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_NOAPPLET	127

/* "ublkctl add", set by the dispatcher; prefixes every message. */
extern const char *applet_name;

void error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error, one line pointing at --help; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The usage error for getopt's answer ch ('?' or ':'); optstrings start with ':'. */
int option_error(int ch, char *const argv[]);
/* Prints usage to stdout and returns EXIT_OK. */
int show_usage(const char *usage);
/* Flushes stdout; a write error there turns success into failure. */
int finish(int code);

/*
 * --timeout SECONDS: every applet that talks to the driver takes it, as
 * OPT_TIMEOUT in its option table; parse_timeout() sets the deadline of
 * each control command, or prints a usage error and returns EXIT_USAGE.
 */
#define OPT_TIMEOUT		0x1000
#define TIMEOUT_OPTION		{ "timeout", required_argument, NULL, OPT_TIMEOUT }
int parse_timeout(const char *arg);
/*
 * The end of every applet's option switch: --timeout, -h and the usage
 * error for anything else. OPTION_OK, or the exit code to return.
 */
#define OPTION_OK	(-1)
int common_option(int ch, const char *usage, char *const argv[]);

/*
 * Takes device id's lock (see lib/lock.c), waiting while another ublkctl
 * holds it; a descriptor for ublk_unlock(), or -1 after saying why not.
 */
int lock_device(unsigned int id);

/* Parses a device id; on error prints it and returns EXIT_USAGE. */
int parse_dev_id(const char *arg, unsigned int *id);
/* Opens the control device or says why not; returns 0 or EXIT_FAIL. */
int open_ctrl(struct ublk_ctrl *c);
/* Describes -errno from a control command on device id. */
const char *ctrl_strerror(int err);
/* Describes -errno from ublk_read_text() with that max. */
const char *text_strerror(int err, size_t max);

#endif
