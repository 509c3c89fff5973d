// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the state-file parser (lib/state.c) on any text. What
 * it accepts must format, and parse again to the same state and text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ublk.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

/* more than any state file: a PATH_MAX name escaped three-fold */
#define TEXT_MAX	32768

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ublk_state first, again;
	static char text[TEXT_MAX], text2[TEXT_MAX];
	char *in = malloc(size + 1);
	int n, ret;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	ret = ublk_state_parse(in, &first);
	free(in);
	check(ret == 0 || ret == -EINVAL);
	if (ret)
		return 0;
	n = ublk_state_format(&first, text, sizeof(text));
	check(n > 0 && (size_t)n == strlen(text));
	check(ublk_state_parse(text, &again) == 0);
	check(memcmp(&first, &again, sizeof(first)) == 0);
	check(ublk_state_format(&again, text2, sizeof(text2)) == n);
	check(strcmp(text, text2) == 0);
	return 0;
}
