// SPDX-License-Identifier: MIT
/* Number and size parsing: the one place user numbers are validated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ublk.h"

void ublk_dev_opts_init(struct ublk_dev_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dev_id = -1;
	o->nr_queues = UBLK_DEF_QUEUES;
	o->depth = UBLK_DEF_DEPTH;
	o->block_size = 512;
	o->reconnect_timeout = 300;
}

/*
 * Decimal digits only (no sign, space or base prefix). Returns -EINVAL on
 * garbage or an empty string, -ERANGE outside [min,max].
 */
int ublk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int ublk_parse_uint(const char *s, unsigned int min, unsigned int max,
		    unsigned int *out)
{
	uint64_t v;
	int ret = ublk_parse_u64(s, min, max, &v);

	if (!ret)
		*out = v;
	return ret;
}

/*
 * "1048576", "512K", "250G", "1T" (powers of 1024, optional trailing "iB"
 * or "B"). Zero is refused: no device has no size; so is 2^63 or more,
 * beyond the kernel's loff_t.
 */
int ublk_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		u = strchr(units, end[0] & ~0x20);
		if (!u || !end[0])
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if ((end[0] == 'i' && end[1] == 'B' && !end[2]) ||
		    (end[0] == 'B' && !end[1]))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (!v)
		return -ERANGE;
	if (v > ((uint64_t)INT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "250G", "1.5M", "512B": lsblk-style, one decimal when not whole. */
int ublk_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	uint64_t whole = bytes, frac = 0;
	int i = 0, n;

	while (whole >= 1024 && i < 6) {
		frac = whole % 1024;
		whole /= 1024;
		i++;
	}
	frac = frac * 10 / 1024;
	if (frac && whole < 100)
		n = snprintf(buf, len, "%llu.%llu%c", (unsigned long long)whole,
			     (unsigned long long)frac, units[i]);
	else
		n = snprintf(buf, len, "%llu%c", (unsigned long long)whole,
			     units[i]);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
