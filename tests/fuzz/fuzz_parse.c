// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the number and size parsers (lib/parse.c) on any
 * string. Each value they accept must be in range (a size below 2^63)
 * and read back the same from its plain decimal form; ublk_format_size
 * must fit what any size formats to.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ublk.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

/* v printed in decimal parses back to v with parse (no suffix) */
static void decimal_round_trip(uint64_t v)
{
	char dec[32];
	uint64_t back = ~v;

	snprintf(dec, sizeof(dec), "%llu", (unsigned long long)v);
	check(ublk_parse_u64(dec, 0, UINT64_MAX, &back) == 0 && back == v);
	if (v && v <= INT64_MAX)
		check(ublk_parse_size(dec, &back) == 0 && back == v);
	else
		check(ublk_parse_size(dec, &back) == -ERANGE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), human[16];
	unsigned int u;
	uint64_t v;
	int ret;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;

	ret = ublk_parse_uint(s, 1, UBLK_MAX_QUEUE_DEPTH, &u);
	check(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (!ret)
		check(u >= 1 && u <= UBLK_MAX_QUEUE_DEPTH);

	ret = ublk_parse_u64(s, 0, UINT64_MAX, &v);
	check(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (!ret)
		decimal_round_trip(v);

	ret = ublk_parse_size(s, &v);
	check(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (!ret) {
		check(v != 0 && v <= INT64_MAX);
		decimal_round_trip(v);
		check(ublk_format_size(v, human, sizeof(human)) == 0);
	}
	free(s);
	return 0;
}
