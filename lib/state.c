// SPDX-License-Identifier: MIT
/*
 * Device state: /run/ublk/<id>, one "key=value" line per field, written
 * atomically (temp file + rename) and readable by root only. /run is what
 * initramfs-tools carries into the new root, so the file outlives
 * switch_root. UBLK_STATE_DIR in the environment moves it (for tests).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ublk.h"

#define STATE_MAX	8192

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

int ublk_state_format(const struct ublk_state *s, char *buf, size_t len)
{
	const struct ublk_dev_opts *o = &s->opts;
	size_t off;
	int n, i;

	n = snprintf(buf, len,
		     "id=%d\npid=%d\ntarget=%s\nfile=%s\nsize=%llu\nqueues=%u\n"
		     "depth=%u\nblock_size=%u\nread_only=%d\ndirect_io=%d\n"
		     "root_daemon=%d\nflags=%llu\ntarget_json=%s\ntids=",
		     o->dev_id, (int)s->pid, o->target, o->file,
		     (unsigned long long)o->size, o->nr_queues, o->depth,
		     o->block_size, o->read_only, o->direct_io, o->root_daemon,
		     (unsigned long long)o->flags, s->tgt_json);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = n;
	for (i = 0; i < UBLK_MAX_QUEUES && s->tids[i]; i++) {
		n = snprintf(buf + off, len - off, "%s%d", i ? " " : "",
			     (int)s->tids[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += n;
	}
	if (off + 2 > len)
		return -ENOSPC;
	buf[off++] = '\n';
	buf[off] = 0;
	return off;
}

static int copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

static int parse_line(struct ublk_state *s, const char *key, const char *val)
{
	struct ublk_dev_opts *o = &s->opts;
	unsigned long long v;
	char *end;
	int i;

	if (!strcmp(key, "target"))
		return copy_str(o->target, sizeof(o->target), val);
	if (!strcmp(key, "file"))
		return copy_str(o->file, sizeof(o->file), val);
	if (!strcmp(key, "target_json"))
		return copy_str(s->tgt_json, sizeof(s->tgt_json), val);
	if (!strcmp(key, "tids")) {
		for (i = 0; i < UBLK_MAX_QUEUES && *val; i++) {
			s->tids[i] = strtol(val, &end, 10);
			if (end == val)
				return -EINVAL;
			val = end + strspn(end, " ");
		}
		return 0;
	}
	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || *end || end == val)
		return -EINVAL;
	if (!strcmp(key, "id"))
		o->dev_id = v;
	else if (!strcmp(key, "pid"))
		s->pid = v;
	else if (!strcmp(key, "size"))
		o->size = v;
	else if (!strcmp(key, "queues"))
		o->nr_queues = v;
	else if (!strcmp(key, "depth"))
		o->depth = v;
	else if (!strcmp(key, "block_size"))
		o->block_size = v;
	else if (!strcmp(key, "read_only"))
		o->read_only = v;
	else if (!strcmp(key, "direct_io"))
		o->direct_io = v;
	else if (!strcmp(key, "root_daemon"))
		o->root_daemon = v;
	else if (!strcmp(key, "flags"))
		o->flags = v;
	/* unknown keys come from newer versions: ignore them */
	return 0;
}

/* Fills s from the text of a state file; -EINVAL on anything malformed. */
int ublk_state_parse(const char *text, struct ublk_state *s)
{
	char line[PATH_MAX + 64];
	const char *p = text;
	int ret;

	memset(s, 0, sizeof(*s));
	ublk_dev_opts_init(&s->opts);
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *eq;

		if (n >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, n);
		line[n] = 0;
		p += n + (p[n] == '\n');
		if (!n)
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq = 0;
		ret = parse_line(s, line, eq + 1);
		if (ret)
			return ret;
	}
	return s->opts.target[0] ? 0 : -EINVAL;
}

int ublk_state_write(unsigned int id, const struct ublk_state *s)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	char *buf = malloc(STATE_MAX);
	int fd, len, ret = 0;

	if (!buf)
		return -ENOMEM;
	len = ublk_state_format(s, buf, STATE_MAX);
	if (len < 0) {
		ret = len;
		goto out;
	}
	if (mkdir(ublk_state_dir(), 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		goto out;
	}
	ublk_state_path(id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, buf, len) != len || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	free(buf);
	return ret;
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
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	n = read(fd, buf, STATE_MAX - 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (!ret) {
		buf[n] = 0;
		ret = ublk_state_parse(buf, s);
	}
out:
	free(buf);
	return ret;
}

int ublk_state_remove(unsigned int id)
{
	char path[PATH_MAX];

	ublk_state_path(id, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
