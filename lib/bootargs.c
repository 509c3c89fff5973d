// SPDX-License-Identifier: MIT
/*
 * The ublk.* parameters of the kernel command line:
 *
 *   ublk.loop=DEV_OR_FILE[,ro][,recovery[=requeue|reissue|fail-io]]
 *             [,direct-io][,queues=N][,depth=N][,id=N]
 *   ublk.nbd=URI[,ro][,recovery[=MODE]][,queues=N][,depth=N][,id=N]
 *            [,timeout=S][,reconnect-timeout=S|inf]
 *   ublk.wait=SECONDS
 *
 * A URI ends at its first comma. A ublk.nbd= device has recovery and
 * reconnect-timeout=inf unless told otherwise: what it serves at boot
 * (the root filesystem, often) should wait for its server, not fail.
 *
 * Words are split where the kernel splits its parameters: at white space
 * outside double quotes; a bare "--" ends them (what follows is init's).
 * Double quotes may enclose a whole parameter or a whole value,
 * "ublk.loop=/a b,ro" or ublk.loop="/a b,ro", so that a file name holds
 * spaces; a double quote anywhere else in a ublk.* value is refused, as
 * are control characters in a file name. Every value is checked here, so
 * that a bad one stops the boot before any device starts.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootargs.h"
#include "nbd.h"
#include "ublk.h"

#define LOOP_OPTIONS	"(ro, recovery[=MODE], direct-io, queues=N, depth=N, id=N)"
#define NBD_OPTIONS	"(ro, recovery[=MODE], queues=N, depth=N, id=N, timeout=S, " \
			"reconnect-timeout=S|inf)"
#define MAX_TIMEOUT	86400		/* ublkctl's --timeout */
#define MAX_RECONNECT	1000000		/* ublkctl's --reconnect-timeout */
/* how much of a value a message shows */
#define SHOWN_LEN	160

static const char *const param_names[] = {
	[UBLK_BOOT_LOOP] = "ublk.loop",
	[UBLK_BOOT_NBD] = "ublk.nbd",
};

static const char *const recovery_modes[] = {
	[UBLK_BOOT_REQUEUE] = "requeue",
	[UBLK_BOOT_REISSUE] = "reissue",
	[UBLK_BOOT_FAIL_IO] = "fail-io",
};

/* isspace() in the C locale: what the kernel splits its command line at */
static bool is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* s for a message: control characters as '?', cut after SHOWN_LEN bytes */
static const char *show(const char *s, char *buf)
{
	size_t i;

	for (i = 0; s[i] && i < SHOWN_LEN; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(buf + i, s[i] ? "..." : "");
	return buf;
}

static int fail(struct ublk_boot_args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The next word of *p, terminated in place; NULL at the end. */
static char *next_word(char **p)
{
	bool quoted = false;
	char *s = *p, *word;

	while (is_space(*s))
		s++;
	if (!*s)
		return NULL;
	for (word = s; *s && (quoted || !is_space(*s)); s++)
		if (*s == '"')
			quoted = !quoted;
	if (*s)
		*s++ = 0;
	*p = s;
	return word;
}

/*
 * Drops the double quotes around *s when it starts with one; false when
 * that one is not closed by its last character.
 */
static bool unquote(char **s)
{
	size_t n = strlen(*s);

	if (**s != '"')
		return true;
	if (n < 2 || (*s)[n - 1] != '"')
		return false;
	(*s)[n - 1] = 0;
	(*s)++;
	return true;
}

static int add_dev(struct ublk_boot_args *a, const struct ublk_boot_dev *d)
{
	struct ublk_boot_dev *devs;

	/* a new array at each power of 2 */
	if (!(a->nr_devs & (a->nr_devs - 1))) {
		devs = realloc(a->devs, (a->nr_devs ? 2 * a->nr_devs : 1) * sizeof(*devs));
		if (!devs)
			return -ENOMEM;
		a->devs = devs;
	}
	a->devs[a->nr_devs++] = *d;
	return 0;
}

static int parse_recovery(const char *mode, enum ublk_boot_recovery *out)
{
	unsigned int i;

	for (i = UBLK_BOOT_REQUEUE; i < ARRAY_SIZE(recovery_modes); i++) {
		if (!strcmp(mode, recovery_modes[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The number of opt ("name=N") into *out, or the message; value is shown. */
static int parse_number(struct ublk_boot_args *a, const struct ublk_boot_dev *d,
			const char *value, const char *opt, unsigned int min,
			unsigned int max, unsigned int *out)
{
	char v[SHOWN_LEN + 4], o[SHOWN_LEN + 4];
	int ret = ublk_parse_uint(strchr(opt, '=') + 1, min, max, out);

	if (ret == -ERANGE)
		return fail(a, "%s=%s: '%s' is out of range (%u-%u)", param_names[d->target],
			    show(value, v), show(opt, o), min, max);
	if (ret)
		return fail(a, "%s=%s: '%s' is not a number", param_names[d->target],
			    show(value, v), show(opt, o));
	return 0;
}

/* timeout= and reconnect-timeout= of a ublk.nbd= value; 1 when opt is neither */
static int parse_nbd_option(struct ublk_boot_args *a, const char *value, const char *opt,
			    struct ublk_boot_dev *d)
{
	unsigned int secs;
	int ret;

	if (!strncmp(opt, "timeout=", 8)) {
		ret = parse_number(a, d, value, opt, 0, MAX_TIMEOUT, &secs);
		if (!ret)
			d->timeout = secs;
		return ret;
	}
	if (!strcmp(opt, "reconnect-timeout=inf")) {
		d->reconnect_timeout = UINT_MAX;
		return 0;
	}
	if (!strncmp(opt, "reconnect-timeout=", 18))
		return parse_number(a, d, value, opt, 0, MAX_RECONNECT, &d->reconnect_timeout);
	return 1;
}

/* One option of a ublk.loop= or ublk.nbd= value into d. */
static int parse_option(struct ublk_boot_args *a, const char *value, const char *opt,
			struct ublk_boot_dev *d)
{
	char v[SHOWN_LEN + 4], o[SHOWN_LEN + 4];
	bool nbd = d->target == UBLK_BOOT_NBD;
	unsigned int id;
	int ret;

	if (nbd && (ret = parse_nbd_option(a, value, opt, d)) <= 0)
		return ret;
	if (!strcmp(opt, "ro")) {
		d->read_only = true;
	} else if (!nbd && !strcmp(opt, "direct-io")) {
		d->direct_io = true;
	} else if (!strcmp(opt, "recovery")) {
		d->recovery = UBLK_BOOT_RECOVERY;
	} else if (!strncmp(opt, "recovery=", 9) &&
		   !parse_recovery(opt + 9, &d->recovery)) {
		;
	} else if (!strncmp(opt, "queues=", 7)) {
		return parse_number(a, d, value, opt, 1, UBLK_MAX_QUEUES, &d->queues);
	} else if (!strncmp(opt, "depth=", 6)) {
		return parse_number(a, d, value, opt, 1, UBLK_MAX_QUEUE_DEPTH, &d->depth);
	} else if (!strncmp(opt, "id=", 3)) {
		ret = parse_number(a, d, value, opt, 0, UBLK_MAX_DEV_ID, &id);
		if (!ret)
			d->id = id;
		return ret;
	} else {
		return fail(a, "%s=%s: unknown option '%s' %s", param_names[d->target],
			    show(value, v), show(opt, o), nbd ? NBD_OPTIONS : LOOP_OPTIONS);
	}
	return 0;
}

/* The file or URI of d, checked; the message names the whole value. */
static int check_file(struct ublk_boot_args *a, const struct ublk_boot_dev *d,
		      const char *whole)
{
	const char *name = param_names[d->target];
	char v[SHOWN_LEN + 4], err[NBD_ERR_LEN];
	struct nbd_uri u;

	if (!d->file[0])
		return fail(a, "%s=%s: no %s", name, show(whole, v),
			    d->target == UBLK_BOOT_NBD ? "URI" : "device or file");
	if (has_control(d->file))
		return fail(a, "%s=%s: control characters in the %s", name, show(whole, v),
			    d->target == UBLK_BOOT_NBD ? "URI" : "file name");
	if (d->target == UBLK_BOOT_NBD && nbd_uri_parse(d->file, &u, err, sizeof(err)))
		return fail(a, "%s=%s: %s", name, show(whole, v), err);
	return 0;
}

/*
 * A ublk.loop= or ublk.nbd= value: the file or URI up to the first comma,
 * then the options.
 */
static int parse_dev(struct ublk_boot_args *a, enum ublk_boot_target target, char *value)
{
	struct ublk_boot_dev d = { .target = target, .id = -1, .timeout = -1 };
	char *whole, *opt, *next;
	int ret;

	if (target == UBLK_BOOT_NBD) {
		d.recovery = UBLK_BOOT_RECOVERY;
		d.reconnect_timeout = UINT_MAX;
	}
	whole = strdup(value);		/* for messages: value is cut at commas */
	if (!whole)
		return -ENOMEM;
	d.file = value;
	next = strchr(value, ',');
	if (next)
		*next++ = 0;
	ret = check_file(a, &d, whole);
	while (!ret && next) {
		opt = next;
		next = strchr(opt, ',');
		if (next)
			*next++ = 0;
		ret = parse_option(a, whole, opt, &d);
	}
	free(whole);
	return ret ? ret : add_dev(a, &d);
}

static int parse_wait(struct ublk_boot_args *a, const char *value)
{
	char v[SHOWN_LEN + 4];
	int ret = ublk_parse_uint(value, 0, UBLK_BOOT_MAX_WAIT, &a->wait_s);

	if (ret == -ERANGE)
		return fail(a, "ublk.wait=%s: more than %u seconds", show(value, v),
			    UBLK_BOOT_MAX_WAIT);
	if (ret)
		return fail(a, "ublk.wait=%s: not a number of seconds", show(value, v));
	return 0;
}

/*
 * One word: ours (ublk.loop, ublk.wait) or not. *end is set at a bare
 * "--". A parameter without '=' has an empty value.
 */
static int parse_word(struct ublk_boot_args *a, char *word, bool *end)
{
	bool closed = unquote(&word);
	char *name = closed ? word : word + 1, *value = strchr(name, '=');
	bool bare = !value;
	char v[SHOWN_LEN + 4];

	if (value)
		*value++ = 0;
	else
		value = name + strlen(name);
	if (closed && bare && !strcmp(name, "--")) {
		*end = true;
		return 0;
	}
	if (strcmp(name, "ublk.loop") && strcmp(name, "ublk.nbd") && strcmp(name, "ublk.wait"))
		return 0;
	if (closed)
		closed = unquote(&value);
	if (!closed || strchr(value, '"'))
		return fail(a, "%s=%s: double quotes go around the whole value only",
			    name, show(value, v));
	if (!strcmp(name, "ublk.wait"))
		return parse_wait(a, value);
	return parse_dev(a, !strcmp(name, "ublk.nbd") ? UBLK_BOOT_NBD : UBLK_BOOT_LOOP, value);
}

int ublk_boot_parse(const char *cmdline, struct ublk_boot_args *a)
{
	bool end = false;
	char *p, *word;
	int ret = 0;

	memset(a, 0, sizeof(*a));
	a->wait_s = UBLK_BOOT_DEF_WAIT;
	a->text = strdup(cmdline);
	if (!a->text)
		return -ENOMEM;
	/* /proc/cmdline ends with a newline, which an open quote would take */
	for (p = a->text + strlen(a->text); p > a->text && is_space(p[-1]); p--)
		p[-1] = 0;
	p = a->text;
	while (!ret && !end && (word = next_word(&p)))
		ret = parse_word(a, word, &end);
	return ret;
}

void ublk_boot_free(struct ublk_boot_args *a)
{
	free(a->devs);
	free(a->text);
	a->devs = NULL;
	a->text = NULL;
	a->nr_devs = 0;
}

/* snprintf's appending into one buffer: used counts even what did not fit */
struct out {
	char *buf;
	size_t len, used;
};

static void put(struct out *o, const char *fmt, ...)
{
	size_t room = o->used < o->len ? o->len - o->used : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
	va_end(ap);
	o->used += n > 0 ? n : 0;
}

static int out_end(const struct out *o)
{
	return o->used < o->len ? (int)o->used : -ENOSPC;
}

const char *ublk_boot_applet(const struct ublk_boot_dev *d)
{
	return param_names[d->target] + 5;
}

int ublk_boot_cmd_args(const struct ublk_boot_dev *d, unsigned int wait_s,
		       char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	put(&o, "--root-daemon");
	if (d->read_only)
		put(&o, " --read-only");
	if (d->direct_io)
		put(&o, " --direct-io");
	if (d->recovery == UBLK_BOOT_RECOVERY)
		put(&o, " --recovery");
	else if (d->recovery)
		put(&o, " --recovery=%s", recovery_modes[d->recovery]);
	if (d->queues)
		put(&o, " --queues %u", d->queues);
	if (d->depth)
		put(&o, " --depth %u", d->depth);
	if (d->id >= 0)
		put(&o, " --number %d", d->id);
	if (d->target == UBLK_BOOT_NBD) {
		if (d->timeout >= 0)
			put(&o, " --timeout %d", d->timeout);
		if (d->reconnect_timeout == UINT_MAX)
			put(&o, " --reconnect-timeout inf");
		else
			put(&o, " --reconnect-timeout %u", d->reconnect_timeout);
		put(&o, " --wait %u", wait_s);
	}
	put(&o, " -- %s", d->file);
	return out_end(&o);
}

int ublk_boot_format(const struct ublk_boot_dev *d, char *buf, size_t len)
{
	const char *quote = strchr(d->file, ' ') ? "\"" : "";
	struct out o = { buf, len, 0 };

	put(&o, "%s%s=%s", quote, param_names[d->target], d->file);
	if (d->read_only)
		put(&o, ",ro");
	if (d->direct_io)
		put(&o, ",direct-io");
	if (d->recovery == UBLK_BOOT_RECOVERY)
		put(&o, ",recovery");
	else if (d->recovery)
		put(&o, ",recovery=%s", recovery_modes[d->recovery]);
	if (d->queues)
		put(&o, ",queues=%u", d->queues);
	if (d->depth)
		put(&o, ",depth=%u", d->depth);
	if (d->id >= 0)
		put(&o, ",id=%d", d->id);
	if (d->target == UBLK_BOOT_NBD && d->timeout >= 0)
		put(&o, ",timeout=%d", d->timeout);
	if (d->target == UBLK_BOOT_NBD && d->reconnect_timeout != UINT_MAX)
		put(&o, ",reconnect-timeout=%u", d->reconnect_timeout);
	put(&o, "%s", quote);
	return out_end(&o);
}
