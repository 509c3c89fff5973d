// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: NBD URIs (lib/nbd.c) from any text. What parses must
 * format, parse again to the same struct, and format to the same text; a
 * refusal always says why.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbd.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nbd_uri first, again;
	static char text[NBD_URI_MAX], text2[NBD_URI_MAX];
	char err[NBD_ERR_LEN] = "", *in = malloc(size + 1);
	int n, ret;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	ret = nbd_uri_parse(in, &first, err, sizeof(err));
	free(in);
	check(ret == 0 || ret == -EINVAL);
	if (ret) {
		check(err[0] && strlen(err) < sizeof(err));
		return 0;
	}
	check(first.host[0] || first.transport == NBD_TRANSPORT_UNIX);
	check(first.socket[0] || first.transport == NBD_TRANSPORT_TCP);
	check(first.port);
	n = nbd_uri_format(&first, text, sizeof(text));
	check(n > 0 && (size_t)n == strlen(text));
	check(nbd_uri_format(&first, text2, (size_t)n) == -ENOSPC);
	check(nbd_uri_parse(text, &again, err, sizeof(err)) == 0);
	check(memcmp(&first, &again, sizeof(first)) == 0);
	check(nbd_uri_format(&again, text2, sizeof(text2)) == n);
	check(strcmp(text, text2) == 0);
	return 0;
}
