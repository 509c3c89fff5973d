// SPDX-License-Identifier: MIT
/*
 * /etc/ublktab (see ublktab.h). Each line is checked as far as it can be
 * without the driver: the id, the target, the fields add takes from the
 * line itself; the options are add's, checked by add when `up` runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ublk.h"
#include "ublktab.h"

static const char *const targets[] = { "null", "loop", "nbd" };

/* what the first three fields say, so never an option */
static const char *const field_options[] = {
	"-n", "--number", "-t", "--type", "-f", "--file", "-s", "--size",
};

#define SHOWN_LEN	40	/* how much of a word a message shows */

/* word for a message: at most SHOWN_LEN bytes, control characters as '?' */
static const char *shown(const char *word, char *buf)
{
	size_t i;

	for (i = 0; word[i] && i < SHOWN_LEN; i++)
		buf[i] = (unsigned char)word[i] < 0x20 || word[i] == 0x7f ? '?' : word[i];
	buf[i] = 0;
	return buf;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next word of the line at *p, terminated in place; NULL at its end. */
static char *next_word(char **p)
{
	char *s = *p, *word;

	while (is_space(*s))
		s++;
	if (!*s)
		return NULL;
	for (word = s; *s && !is_space(*s); s++)
		;
	if (*s)
		*s++ = 0;
	*p = s;
	return word;
}

static bool known_target(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(targets); i++)
		if (!strcmp(name, targets[i]))
			return true;
	return false;
}

/* word names a field's option ("-f", "--file=x"...) */
static bool is_field_option(const char *word)
{
	size_t n = strcspn(word, "=");
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(field_options); i++)
		if (strlen(field_options[i]) == n && !strncmp(word, field_options[i], n))
			return true;
	/* short options with their value attached: -n3, -f/a */
	for (i = 0; i < ARRAY_SIZE(field_options); i += 2)
		if (!strncmp(word, field_options[i], 2))
			return true;
	return false;
}

/* The options after the third field into e; the message, or NULL. */
static const char *parse_options(char **p, struct ublktab_entry *e, char *msg, size_t len)
{
	bool value_may_follow = false;
	char *word, w[SHOWN_LEN + 1];

	while ((word = next_word(p))) {
		if (!strcmp(word, "early")) {
			e->early = true;
			value_may_follow = false;
			continue;
		}
		if (word[0] != '-' && !value_may_follow) {
			snprintf(msg, len, "'%s' is not an option (they start with -)", shown(word, w));
			return msg;
		} else if (is_field_option(word)) {
			snprintf(msg, len, "'%s': the id, target and file are the line's "
				 "first three fields", shown(word, w));
			return msg;
		}
		if (e->nr_opts == UBLKTAB_MAX_OPTS) {
			snprintf(msg, len, "more than %d options", UBLKTAB_MAX_OPTS);
			return msg;
		}
		e->opts[e->nr_opts++] = word;
		/* "--queues 2": an option's value is the next word */
		value_may_follow = word[0] == '-' && !strchr(word, '=');
	}
	return NULL;
}

/* One line (comment cut) into e; the message, or NULL. */
static const char *parse_line(char *line, const struct ublktab *t, struct ublktab_entry *e,
			      char *msg, size_t len)
{
	char *id = next_word(&line), w[SHOWN_LEN + 1];

	e->target = next_word(&line);
	e->source = next_word(&line);
	if (ublk_parse_uint(id, 0, UBLK_MAX_DEV_ID, &e->id)) {
		snprintf(msg, len, "'%s' is not a device id (0-%u)", shown(id, w), UBLK_MAX_DEV_ID);
		return msg;
	}
	if (!e->target || !known_target(e->target)) {
		snprintf(msg, len, "no target (null, loop or nbd) after the id");
		return msg;
	}
	if (!e->source) {
		snprintf(msg, len, "no %s after the target",
			 !strcmp(e->target, "null") ? "size" :
			 !strcmp(e->target, "nbd") ? "URI" : "file");
		return msg;
	}
	if (ublktab_find(t, e->id)) {
		snprintf(msg, len, "device %u is already on line %u", e->id,
			 ublktab_find(t, e->id)->line);
		return msg;
	}
	return parse_options(&line, e, msg, len);
}

static bool blank(const char *s)
{
	while (is_space(*s))
		s++;
	return !*s;
}

int ublktab_parse(const char *text, struct ublktab *t, ublktab_bad_fn bad, void *arg)
{
	struct ublktab_entry e, *grown;
	char msg[UBLKTAB_ERR_LEN], *line, *next;
	unsigned int n = 0;

	memset(t, 0, sizeof(*t));
	t->text = strdup(text);
	if (!t->text)
		return -ENOMEM;
	for (line = t->text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		n++;
		line[strcspn(line, "#")] = 0;
		if (blank(line))
			continue;
		memset(&e, 0, sizeof(e));
		e.line = n;
		if (parse_line(line, t, &e, msg, sizeof(msg))) {
			bad(n, msg, arg);
			continue;
		}
		grown = realloc(t->entries, (t->nr + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		t->entries = grown;
		t->entries[t->nr++] = e;
	}
	return 0;
}

void ublktab_free(struct ublktab *t)
{
	free(t->entries);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

const struct ublktab_entry *ublktab_find(const struct ublktab *t, unsigned int id)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->entries[i].id == id)
			return &t->entries[i];
	return NULL;
}
