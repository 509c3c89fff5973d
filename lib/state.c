// SPDX-License-Identifier: MIT
/*
 * Device state: /run/ublk/<id>, written atomically (temp file + rename)
 * and readable by root only. /run is what initramfs-tools carries into the
 * new root, so the file outlives switch_root. UBLK_STATE_DIR in the
 * environment moves it (for tests).
 *
 * The format is safe by construction: a version line, then one key=value
 * line per field in which '%', control characters and DEL are written as
 * %XX, so no value can start a line of its own. On read a key may appear
 * once, every number is checked against what ublkctl could have written,
 * and a file cut short (no final newline) is refused. Files of the
 * previous version (no version line, values raw) are read with the same
 * checks: a device outlives an upgrade of its server's binary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ublk.h"

/* a PATH_MAX name and a full target_json, every byte escaped, fit */
#define STATE_MAX	32768
#define STATE_MAGIC	"ublkctl-state "
#define STATE_VERSION	"2"
#define PID_LIMIT	(4U << 20)	/* the kernel's PID_MAX_LIMIT */

const char *ublk_state_dir(void)
{
	const char *d = getenv("UBLK_STATE_DIR");

	return d && *d ? d : UBLK_STATE_DIR;
}

int ublk_state_path(unsigned int id, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%u", ublk_state_dir(), id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* One line per field, in this order; numbers are bool, 32 or 64 bits. */
enum field_kind { FIELD_STR, FIELD_NUM, FIELD_TIDS };

struct field {
	const char *key;
	enum field_kind kind;
	size_t off, size;	/* the member of struct ublk_state */
	uint64_t min, max;	/* FIELD_NUM */
	bool required;		/* every version wrote it */
};

#define MEMBER(m) offsetof(struct ublk_state, m), sizeof(((struct ublk_state *)0)->m)
#define STR(key, m, req)		{ key, FIELD_STR, MEMBER(m), 0, 0, req }
#define NUM(key, m, lo, hi, req)	{ key, FIELD_NUM, MEMBER(m), lo, hi, req }

static const struct field fields[] = {
	NUM("id", opts.dev_id, 0, UBLK_MAX_DEV_ID, true),
	NUM("pid", pid, 1, PID_LIMIT, true),
	/* since del proves a pid is our server's: 0 in files without it */
	NUM("start_time", start_time, 0, INT64_MAX, false),
	STR("target", opts.target, true),
	STR("file", opts.file, true),
	NUM("size", opts.size, 1, INT64_MAX, true),	/* a file's size is an off_t */
	NUM("queues", opts.nr_queues, 1, UBLK_MAX_QUEUES, true),
	NUM("depth", opts.depth, 1, UBLK_MAX_QUEUE_DEPTH, true),
	NUM("block_size", opts.block_size, 512, 4096, true),
	NUM("read_only", opts.read_only, 0, 1, false),
	NUM("direct_io", opts.direct_io, 0, 1, false),
	NUM("root_daemon", opts.root_daemon, 0, 1, false),	/* since --root-daemon */
	NUM("flags", opts.flags, 0, UINT32_MAX, false),	/* UBLK_F_* use bits 0-19 so far */
	/* nbd only, since the nbd target; "inf" is UINT32_MAX */
	NUM("reconnect_timeout", opts.reconnect_timeout, 0, UINT32_MAX, false),
	STR("target_json", tgt_json, false),
	{ "tids", FIELD_TIDS, MEMBER(tids), 0, 0, false },
};

static uint64_t load_num(const void *p, size_t size)
{
	if (size == sizeof(bool))
		return *(const bool *)p;
	if (size == sizeof(uint32_t))
		return *(const uint32_t *)p;
	return *(const uint64_t *)p;
}

static void store_num(void *p, size_t size, uint64_t v)
{
	if (size == sizeof(bool))
		*(bool *)p = v;
	else if (size == sizeof(uint32_t))
		*(uint32_t *)p = v;
	else
		*(uint64_t *)p = v;
}

/* ---- writing ---- */

struct out {
	char *buf;
	size_t len, off;
	bool full;
};

static void out_printf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off)
		o->full = true;
	else
		o->off += n;
}

static bool needs_escape(unsigned char c)
{
	return c == '%' || c < 0x20 || c == 0x7f;
}

static void out_escaped(struct out *o, const char *s)
{
	for (; *s && !o->full; s++) {
		if (needs_escape(*s))
			out_printf(o, "%%%02X", (unsigned char)*s);
		else
			out_printf(o, "%c", *s);
	}
}

static void out_field(struct out *o, const struct ublk_state *s, const struct field *f)
{
	const char *p = (const char *)s + f->off;
	unsigned int i;

	out_printf(o, "%s=", f->key);
	switch (f->kind) {
	case FIELD_STR:
		out_escaped(o, p);
		break;
	case FIELD_NUM:
		out_printf(o, "%llu", (unsigned long long)load_num(p, f->size));
		break;
	case FIELD_TIDS:
		for (i = 0; i < UBLK_MAX_QUEUES && s->tids[i]; i++)
			out_printf(o, "%s%d", i ? " " : "", (int)s->tids[i]);
		break;
	}
	out_printf(o, "\n");
}

/* The file's text into buf; returns its length or -ENOSPC. */
int ublk_state_format(const struct ublk_state *s, char *buf, size_t len)
{
	struct out o = { buf, len, 0, len == 0 };
	size_t i;

	out_printf(&o, STATE_MAGIC STATE_VERSION "\n");
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		out_field(&o, s, &fields[i]);
	return o.full ? -ENOSPC : (int)o.off;
}

/* ---- reading ---- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/*
 * A value into dst (len bytes): %XX decoded when escaped, raw in the old
 * format. What the writer never writes (a raw control character, a broken
 * or NUL escape) is refused, and so is a value too long for dst.
 */
static int parse_str(const char *val, bool escaped, char *dst, size_t len)
{
	size_t o = 0;
	int hi, lo;

	for (; *val; val++) {
		char c = *val;

		if (escaped && c == '%') {
			hi = hex_digit(val[1]);
			lo = hi < 0 ? -1 : hex_digit(val[2]);
			if (lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = hi << 4 | lo;
			val += 2;
		} else if (escaped && needs_escape(c)) {
			return -EINVAL;
		}
		if (o + 1 >= len)
			return -EINVAL;
		dst[o++] = c;
	}
	dst[o] = 0;
	return 0;
}

/* "tid tid ...": one space between, each a live thread id at writing. */
static int parse_tids(char *val, pid_t *tids)
{
	unsigned int i;
	uint64_t v;
	char *sp;

	for (i = 0; *val; i++) {
		if (i == UBLK_MAX_QUEUES)
			return -EINVAL;
		sp = strchr(val, ' ');
		if (sp)
			*sp = 0;
		if (ublk_parse_u64(val, 1, PID_LIMIT, &v))
			return -EINVAL;
		tids[i] = v;
		if (!sp)
			break;
		val = sp + 1;
		if (!*val)
			return -EINVAL;	/* a trailing space */
	}
	return 0;
}

static const struct field *find_field(const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].key, key))
			return &fields[i];
	return NULL;
}

static int parse_value(struct ublk_state *s, const struct field *f, char *val,
		       bool escaped)
{
	char *p = (char *)s + f->off;
	uint64_t v;

	switch (f->kind) {
	case FIELD_STR:
		return parse_str(val, escaped, p, f->size);
	case FIELD_NUM:
		if (ublk_parse_u64(val, f->min, f->max, &v))
			return -EINVAL;
		store_num(p, f->size, v);
		return 0;
	case FIELD_TIDS:
		return parse_tids(val, s->tids);
	}
	return -EINVAL;
}

static bool valid_key(const char *k)
{
	return *k && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(k);
}

/* One "key=value" line; *seen has a bit per field already read. */
static int parse_line(struct ublk_state *s, char *line, bool escaped, uint32_t *seen)
{
	char *eq = strchr(line, '=');
	const struct field *f;
	uint32_t bit;

	if (!eq)
		return -EINVAL;
	*eq = 0;
	if (!valid_key(line))
		return -EINVAL;
	f = find_field(line);
	if (!f)
		return 0;	/* a newer version's: ignored */
	bit = 1U << (f - fields);
	if (*seen & bit)
		return -EINVAL;	/* a second value must not override the first */
	*seen |= bit;
	return parse_value(s, f, eq + 1, escaped);
}

static bool valid_target(const char *t)
{
	return *t && strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(t);
}

static unsigned int nr_tids(const struct ublk_state *s)
{
	unsigned int n = 0;

	while (n < UBLK_MAX_QUEUES && s->tids[n])
		n++;
	return n;
}

/* What a single field's range cannot say. */
static int check_state(const struct ublk_state *s, uint32_t seen)
{
	const struct ublk_dev_opts *o = &s->opts;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++)
		if (fields[i].required && !(seen & 1U << i))
			return -EINVAL;
	/* a loop file is an absolute path; an nbd server is a URI */
	if (!valid_target(o->target) ||
	    (o->file[0] && o->file[0] != '/' && strcmp(o->target, "nbd")))
		return -EINVAL;
	if ((o->block_size & (o->block_size - 1)) || o->size < o->block_size)
		return -EINVAL;
	if (nr_tids(s) > o->nr_queues)
		return -EINVAL;
	return 0;
}

static int parse_lines(char *text, struct ublk_state *s)
{
	bool escaped = false;
	uint32_t seen = 0;
	char *p = text, *nl;
	int ret;

	if (!strncmp(p, STATE_MAGIC, strlen(STATE_MAGIC))) {
		if (strncmp(p + strlen(STATE_MAGIC), STATE_VERSION "\n",
			    strlen(STATE_VERSION) + 1))
			return -EINVAL;	/* a version we do not know */
		escaped = true;
		p = strchr(p, '\n') + 1;
	}
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			return -EINVAL;	/* cut short */
		*nl = 0;
		ret = parse_line(s, p, escaped, &seen);
		if (ret)
			return ret;
	}
	return check_state(s, seen);
}

/* Fills s from the text of a state file; -EINVAL on anything malformed. */
int ublk_state_parse(const char *text, struct ublk_state *s)
{
	char *copy = strdup(text);
	int ret;

	if (!copy)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	ublk_dev_opts_init(&s->opts);
	ret = parse_lines(copy, s);
	free(copy);
	return ret;
}

/*
 * The directory, created 0700; an existing one must be a directory (not a
 * symlink), ours, and writable by nobody else: otherwise someone could
 * redirect or replace the files root trusts.
 */
int ublk_state_dir_prepare(void)
{
	const char *dir = ublk_state_dir();
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	/* a symlink or a directory others can write could redirect our files */
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

const char *ublk_state_dir_strerror(int err)
{
	static char msg[PATH_MAX + 96];

	if (err == -ENOTDIR)
		snprintf(msg, sizeof(msg), "%s is not a directory (a symlink?): "
			 "refusing to keep state there", ublk_state_dir());
	else if (err == -EPERM)
		snprintf(msg, sizeof(msg), "%s is not ours or others may write it: "
			 "refusing to keep state there", ublk_state_dir());
	else
		snprintf(msg, sizeof(msg), "%s: %s", ublk_state_dir(), strerror(-err));
	return msg;
}

/*
 * The state directory, held open. A server started in an initramfs goes
 * on writing its state after switch_root has moved /run into the new
 * root, where the path no longer leads from the server's own root. The
 * descriptor is checked each time: a server closes what it inherited, and
 * the number may since name something else.
 */
static int state_dir_fd(void)
{
	static char path[PATH_MAX];
	static dev_t dev;
	static ino_t ino;
	static int fd = -1;
	const char *dir = ublk_state_dir();
	struct stat st;
	int ret;

	if (fd >= 0 && !fstat(fd, &st) && st.st_dev == dev && st.st_ino == ino) {
		if (!strcmp(path, dir))
			return fd;
		close(fd);	/* ours still, for another directory (tests) */
	}
	ret = ublk_state_dir_prepare();
	if (ret)
		return ret;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
		return ret;
	}
	snprintf(path, sizeof(path), "%s", dir);
	dev = st.st_dev;
	ino = st.st_ino;
	return fd;
}

int ublk_state_write(unsigned int id, const struct ublk_state *s)
{
	static unsigned int tmp_seq;
	char path[16], tmp[64];
	char *buf = malloc(STATE_MAX);
	int fd, dir, len, ret = 0;

	if (!buf)
		return -ENOMEM;
	len = ublk_state_format(s, buf, STATE_MAX);
	if (len < 0) {
		ret = len;
		goto out;
	}
	dir = state_dir_fd();
	if (dir < 0) {
		ret = dir;
		goto out;
	}
	snprintf(path, sizeof(path), "%u", id);
	/* unique, and never through a link someone planted */
	snprintf(tmp, sizeof(tmp), ".%u.%d.%u.tmp", id, (int)getpid(), tmp_seq++);
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, buf, len) != len || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && renameat(dir, tmp, dir, path) < 0)
		ret = -errno;
	if (ret)
		unlinkat(dir, tmp, 0);
out:
	free(buf);
	return ret;
}

/* The whole file into buf (STATE_MAX bytes), terminated; its length or -errno. */
static ssize_t read_all(int fd, char *buf)
{
	size_t off = 0;
	ssize_t n;

	do {
		n = read(fd, buf + off, STATE_MAX - off);
		if (n < 0 && errno != EINTR)
			return -errno;
		off += n > 0 ? n : 0;
	} while (n != 0 && off < STATE_MAX);
	if (off == STATE_MAX)
		return -EFBIG;	/* more than we ever write: not ours */
	buf[off] = 0;
	return off;
}

int ublk_state_read(unsigned int id, struct ublk_state *s)
{
	char path[PATH_MAX];
	char *buf = malloc(STATE_MAX);
	ssize_t n;
	int fd, ret;

	if (!buf)
		return -ENOMEM;
	ublk_state_path(id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	n = read_all(fd, buf);
	close(fd);
	if (n < 0)
		ret = n;
	else if (strlen(buf) != (size_t)n)
		ret = -EINVAL;	/* a NUL would hide the rest */
	else
		ret = ublk_state_parse(buf, s);
	if (!ret && s->opts.dev_id != (int)id)
		ret = -EINVAL;	/* another device's file */
out:
	free(buf);
	return ret;
}

/* A server killed while it wrote its state leaves .ID.PID.N.tmp behind. */
static void remove_temp_files(unsigned int id)
{
	DIR *d = opendir(ublk_state_dir());
	struct dirent *e;
	char prefix[16];

	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), ".%u.", id);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (!strncmp(e->d_name, prefix, strlen(prefix)) && n > 4 &&
		    !strcmp(e->d_name + n - 4, ".tmp"))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int ublk_state_remove(unsigned int id)
{
	char path[PATH_MAX];

	remove_temp_files(id);
	ublk_state_path(id, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
