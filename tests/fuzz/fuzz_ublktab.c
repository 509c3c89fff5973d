// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: /etc/ublktab's parser (lib/ublktab.c) on any text.
 * Every bad line gets one printable message with a line number inside the
 * text; what is kept has one entry an id, a known target, words without
 * white space, and no more options than the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ublk.h"
#include "ublktab.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

static unsigned int nr_lines;

static void bad(unsigned int line, const char *msg, void *arg)
{
	const char *s;

	check(line >= 1 && line <= nr_lines);
	check(msg[0]);
	for (s = msg; *s; s++)
		check((unsigned char)*s >= 0x20 || *s == '\t');
}

static bool a_word(const char *s)
{
	return s && s[0] && !strpbrk(s, " \t\n\r\v\f#");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct ublktab t;
	unsigned int i, j;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	nr_lines = 1;
	for (i = 0; i < strlen(text); i++)
		nr_lines += text[i] == '\n';
	check(ublktab_parse(text, &t, bad, NULL) == 0);
	for (i = 0; i < t.nr; i++) {
		const struct ublktab_entry *e = &t.entries[i];

		check(e->id <= UBLK_MAX_DEV_ID);
		check(ublktab_find(&t, e->id) == e);
		check(!strcmp(e->target, "null") || !strcmp(e->target, "loop") ||
		      !strcmp(e->target, "nbd"));
		check(a_word(e->source));
		check(e->nr_opts <= UBLKTAB_MAX_OPTS);
		for (j = 0; j < e->nr_opts; j++)
			check(a_word(e->opts[j]));
		check(e->nr_opts == 0 || e->opts[0][0] == '-');
	}
	ublktab_free(&t);
	free(text);
	return 0;
}
