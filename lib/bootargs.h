/* SPDX-License-Identifier: MIT */
/*
 * The ublk.* parameters of the kernel command line (initramfs/ublk-boot,
 * through `ublkctl boot-args`): a pure parser, text in, the devices or one
 * message out. No IO, nothing printed.
 */
#ifndef UBLKCTL_BOOTARGS_H
#define UBLKCTL_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>

#define UBLK_BOOT_DEF_WAIT	10	/* seconds to wait for each DEV_OR_FILE or server */
#define UBLK_BOOT_MAX_WAIT	3600
#define UBLK_BOOT_ERR_LEN	512
/* What ublk_boot_cmd_args and ublk_boot_format add to the file's length. */
#define UBLK_BOOT_ARGS_LEN(file)	(strlen(file) + 200)

enum ublk_boot_target {
	UBLK_BOOT_LOOP,			/* ublk.loop= */
	UBLK_BOOT_NBD,			/* ublk.nbd= */
};

enum ublk_boot_recovery {
	UBLK_BOOT_NO_RECOVERY,
	UBLK_BOOT_RECOVERY,		/* "recovery": ublkctl's default mode */
	UBLK_BOOT_REQUEUE,
	UBLK_BOOT_REISSUE,
	UBLK_BOOT_FAIL_IO,
};

/* One ublk.loop= or ublk.nbd= value. */
struct ublk_boot_dev {
	enum ublk_boot_target target;
	const char *file;		/* loop: the file, nbd: the URI; as given, never
					 * empty, no control character */
	bool read_only;
	bool direct_io;
	enum ublk_boot_recovery recovery;
	unsigned int queues;		/* 0: not given */
	unsigned int depth;		/* 0: not given */
	int id;				/* -1: not given */
	int timeout;			/* nbd: --timeout, -1: not given */
	unsigned int reconnect_timeout;	/* nbd: seconds, UINT_MAX: inf (the default) */
};

struct ublk_boot_args {
	unsigned int wait_s;		/* ublk.wait=, UBLK_BOOT_DEF_WAIT if not given */
	unsigned int nr_devs;
	struct ublk_boot_dev *devs;	/* one per ublk.loop= or ublk.nbd=, in order */
	char *text;			/* the copy the files point into */
	char err[UBLK_BOOT_ERR_LEN];	/* after -EINVAL: the message, one line */
};

/*
 * Parses a kernel command line. Returns 0, -EINVAL with a->err set, or
 * -ENOMEM; a must be given to ublk_boot_free() in every case.
 */
int ublk_boot_parse(const char *cmdline, struct ublk_boot_args *a);
void ublk_boot_free(struct ublk_boot_args *a);

/* "loop" or "nbd": the applet that serves d */
const char *ublk_boot_applet(const struct ublk_boot_dev *d);
/*
 * The applet's arguments for d, on one line: "--root-daemon", the options
 * (words without white space), then " -- " and the file or URI, verbatim.
 * Returns the length, or -ENOSPC when len (UBLK_BOOT_ARGS_LEN suffices)
 * is too small.
 */
int ublk_boot_cmd_args(const struct ublk_boot_dev *d, unsigned int wait_s,
		       char *buf, size_t len);
/* d as a ublk.loop= or ublk.nbd= parameter, in double quotes when the file has a space. */
int ublk_boot_format(const struct ublk_boot_dev *d, char *buf, size_t len);

#endif
