// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the kernel command line's ublk.* parser (lib/bootargs.c)
 * on any text. A refusal is one line of printable text. What it accepts is
 * in range, its applet's arguments are one line that initramfs/ublk-boot splits
 * back into the same file at the first " -- ", and the devices formatted
 * as parameters parse again to the same devices.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootargs.h"
#include "ublk.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void check_dev(const struct ublk_boot_dev *d)
{
	check(d->file[0] && printable(d->file));
	check(!strchr(d->file, ',') && !strchr(d->file, '"'));
	check(d->recovery <= UBLK_BOOT_FAIL_IO);
	check(d->queues <= UBLK_MAX_QUEUES);
	check(d->depth <= UBLK_MAX_QUEUE_DEPTH);
	check(d->id >= -1 && d->id <= (int)UBLK_MAX_DEV_ID);
}

/* What ublk-boot does with the line: ARGS up to the first " -- ", FILE after. */
static void check_cmd_args(const struct ublk_boot_dev *d, unsigned int wait_s)
{
	size_t len = UBLK_BOOT_ARGS_LEN(d->file);
	char *line = malloc(len), *sep;
	int n;

	check(line);
	n = ublk_boot_cmd_args(d, wait_s, line, len);
	check(n > 0 && (size_t)n == strlen(line));
	check(printable(line));
	sep = strstr(line, " -- ");
	check(sep && !strcmp(sep + 4, d->file));
	/* the words the shell splits unquoted: nothing it would expand */
	*sep = 0;
	check(!strpbrk(line, "*?[]$`\\\"'\t"));
	check(!strncmp(line, "--root-daemon", 13));
	free(line);
}

static bool same_dev(const struct ublk_boot_dev *a, const struct ublk_boot_dev *b)
{
	return a->target == b->target && !strcmp(a->file, b->file) &&
	       a->read_only == b->read_only && a->timeout == b->timeout &&
	       a->reconnect_timeout == b->reconnect_timeout &&
	       a->direct_io == b->direct_io && a->recovery == b->recovery &&
	       a->queues == b->queues && a->depth == b->depth && a->id == b->id;
}

/* Every device as a ublk.loop= or ublk.nbd= parameter, and ublk.wait=, parse again the same. */
static void check_round_trip(const struct ublk_boot_args *a, size_t size)
{
	size_t len = 32 + a->nr_devs * 202 + 2 * size, used;
	struct ublk_boot_args again;
	char *text = malloc(len);
	unsigned int i;
	int n;

	check(text);
	used = snprintf(text, len, "ublk.wait=%u", a->wait_s);
	for (i = 0; i < a->nr_devs; i++) {
		text[used++] = ' ';
		n = ublk_boot_format(&a->devs[i], text + used, len - used);
		check(n > 0 && (size_t)n == strlen(text + used));
		used += n;
	}
	check(ublk_boot_parse(text, &again) == 0);
	check(again.wait_s == a->wait_s && again.nr_devs == a->nr_devs);
	for (i = 0; i < a->nr_devs; i++)
		check(same_dev(&a->devs[i], &again.devs[i]));
	ublk_boot_free(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ublk_boot_args a;
	char *in = malloc(size + 1);
	unsigned int i;
	int ret;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	ret = ublk_boot_parse(in, &a);
	free(in);
	check(ret == 0 || ret == -EINVAL);
	if (ret) {
		check(a.err[0] && printable(a.err));
		ublk_boot_free(&a);
		return 0;
	}
	check(a.wait_s <= UBLK_BOOT_MAX_WAIT);
	for (i = 0; i < a.nr_devs; i++) {
		check_dev(&a.devs[i]);
		check_cmd_args(&a.devs[i], a.wait_s);
	}
	check_round_trip(&a, size);
	ublk_boot_free(&a);
	return 0;
}
