// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: ublk_json_escape (lib/util.c) on any bytes, into a
 * buffer of any size (the first byte). The output must be terminated, a
 * valid JSON string body (escapes whole, no raw control character, UTF-8
 * that glibc's decoder accepts), and a short buffer must hold a prefix of
 * the full escape.
 */
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ublk.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

static int hex4(const char *s)
{
	return strspn(s, "0123456789abcdefABCDEF") >= 4;
}

/* A JSON string body: checked with a decoder that is not ours. */
static void check_json_body(const char *s)
{
	mbstate_t mb;
	size_t n;

	memset(&mb, 0, sizeof(mb));
	while (*s) {
		unsigned char c = *s;

		check(c >= 0x20 && c != 0x7f && c != '"');
		if (c == '\\') {
			check(s[1] == '"' || s[1] == '\\' || (s[1] == 'u' && hex4(s + 2)));
			s += s[1] == 'u' ? 6 : 2;
			continue;
		}
		n = mbrtowc(NULL, s, MB_CUR_MAX, &mb);
		check(n != (size_t)-1 && n != (size_t)-2 && n != 0);
		s += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char full[UBLK_JSON_ESCAPED_LEN(4096)], part[256 + 8];
	size_t len;
	char *in;
	int ret;

	if (!size || size > 4096)
		return 0;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		abort();
	len = data[0];
	in = malloc(size);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = 0;

	check(ublk_json_escape(in, full, sizeof(full)) == 0);
	check_json_body(full);
	memset(part, 'X', sizeof(part));
	ret = ublk_json_escape(in, part, len);
	if (len) {
		check(memchr(part, 0, len) != NULL);
		check(strncmp(part, full, strlen(part)) == 0);
		check_json_body(part);	/* not cut inside an escape or a character */
		check(ret == 0 ? !strcmp(part, full) : ret == -ENOSPC);
	} else {
		check(ret == -ENOSPC && part[0] == 'X');
	}
	free(in);
	return 0;
}
