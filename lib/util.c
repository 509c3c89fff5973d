// SPDX-License-Identifier: MIT
/* Small helpers shared by the library and the applets. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ublk.h"

void ublk_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* the task flag /proc/PID/stat shows once a process has begun to exit */
#define PF_EXITING 0x4

/*
 * /proc/PID/stat into buf (len bytes); returns what follows the command
 * name (which may hold spaces and parentheses), NULL with errno set when
 * there is no such process or the line is not what we know.
 */
static const char *stat_fields(pid_t pid, char *buf, size_t len)
{
	char path[32], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');
	errno = p ? 0 : EINVAL;
	return p ? p + 1 : NULL;
}

/* A process that exits (killed, or a zombie) serves nothing any more. */
bool ublk_pid_alive(pid_t pid)
{
	char buf[512], state;
	const char *f;
	unsigned int flags;

	if (pid <= 0)
		return false;
	f = stat_fields(pid, buf, sizeof(buf));
	if (!f)
		return errno != ENOENT && errno != EINVAL;
	if (sscanf(f, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		return true;
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}

/*
 * When pid started, in clock ticks after boot (field 22 of /proc/PID/stat),
 * or 0 when it is gone. With the pid it names one process for the whole
 * boot: a reused pid has a later start.
 */
uint64_t ublk_pid_start_time(pid_t pid)
{
	unsigned long long start;
	char buf[512];
	const char *f;

	if (pid <= 0 || !(f = stat_fields(pid, buf, sizeof(buf))))
		return 0;
	/* fields 3 (state) to 21 skipped as words: some outgrow an int */
	if (sscanf(f, " %*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%*s %*s %*s %llu", &start) != 1)
		return 0;
	return start;
}

/*
 * A pidfd for pid if pid is still the process that started at start_time,
 * else -ESRCH (or -errno). The pidfd is taken before the check: if the
 * check passes, it holds that process, and a signal sent through it can
 * reach no other, whatever happens to the number after.
 */
int ublk_pidfd_verified(pid_t pid, uint64_t start_time)
{
	int fd;

	if (pid <= 0 || !start_time)
		return -ESRCH;
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	if (ublk_pid_start_time(pid) != start_time) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/*
 * Close every descriptor from first up, walking /proc/self/fd: what
 * close_range() does on kernels before 5.9. Returns 0 or -errno.
 */
int ublk_close_from_walk(int first)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		fd = atoi(e->d_name);
		/* closing while reading is fine: the entries are numbers */
		if (fd >= first && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
	return 0;
}

/*
 * Keep 0-2 and the n descriptors of fds (renumbered 3, 4, ..., close-on-exec;
 * fds gets the new numbers), close the rest. Returns 0 or -errno.
 */
int ublk_keep_fds(int *fds, unsigned int n)
{
	unsigned int i;
	int ret;

	/* out of the way first, so that renumbering cannot close one of them */
	for (i = 0; i < n; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n);
		if (fds[i] < 0)
			return -errno;
	}
	for (i = 0; i < n; i++) {
		if (dup3(fds[i], 3 + i, O_CLOEXEC) < 0)
			return -errno;
		fds[i] = 3 + i;
	}
	if (syscall(SYS_close_range, 3 + n, ~0U, 0) == 0)
		return 0;
	ret = ublk_close_from_walk(3 + n);
	return ret;
}

/*
 * Keep 0-2 and keep (as 3, close-on-exec), close the rest: a daemon must
 * hold nothing of its caller's (`flock L ublkctl loop f` would hold L for
 * the device's life). Returns 3 or -errno.
 */
int ublk_close_inherited(int keep)
{
	int ret = ublk_keep_fds(&keep, 1);

	return ret ? ret : keep;
}

/* Write all of buf, through EINTR and short writes; 0 or -errno. */
int ublk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

uint64_t ublk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until a device node exists; without devtmpfs (or when it lags),
 * create it from the numbers sysfs shows. Returns 0 or -errno.
 */
int ublk_wait_node(const char *path, const char *sysfs_dev, mode_t type,
		   unsigned int timeout_ms)
{
	unsigned int maj, min, waited = 0;
	struct stat st;
	char buf[32];
	ssize_t n;
	int fd;

	for (;;) {
		if (stat(path, &st) == 0)
			return (st.st_mode & S_IFMT) == type ? 0 : -ENOTBLK;
		if (waited >= timeout_ms)
			break;
		ublk_sleep_ms(10);
		waited += 10;
	}
	fd = open(sysfs_dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENODEV;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENODEV;
	buf[n] = 0;
	if (sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -ENODEV;
	if (mknod(path, type | 0600, makedev(maj, min)) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when there is none.
 */
static size_t utf8_len(const unsigned char *s)
{
	unsigned int cp, n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * The JSON form of the character at s into out (at least 7 bytes); sets
 * *used to the bytes of s it stands for and returns its length. A byte
 * that starts no UTF-8 character becomes U+FFFD, so the output is valid
 * whatever the input (file names are bytes, not text).
 */
static size_t json_char(const char *s, char *out, size_t *used)
{
	unsigned char c = *s;
	size_t n = utf8_len((const unsigned char *)s);

	*used = n ? n : 1;
	if (!n)
		return (size_t)snprintf(out, 7, "\\ufffd");
	if (c == '"' || c == '\\')
		return (size_t)snprintf(out, 7, "\\%c", c);
	if (c < 0x20 || c == 0x7f)
		return (size_t)snprintf(out, 7, "\\u%04x", c);
	memcpy(out, s, n);
	return n;
}

/*
 * JSON string body for s (no quotes). buf is always terminated and valid
 * JSON: when s does not fit (-ENOSPC), it holds the longest prefix of
 * whole characters. UBLK_JSON_ESCAPED_LEN(strlen(s)) bytes always suffice.
 */
int ublk_json_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0, used, n;
	char tmp[8];

	if (!len)
		return -ENOSPC;
	for (; *s; s += used) {
		n = json_char(s, tmp, &used);
		if (o + n + 1 > len) {
			buf[o] = 0;
			return -ENOSPC;
		}
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = 0;
	return 0;
}

static ssize_t read_full(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len) {
		r = read(fd, buf + n, len - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			break;
		n += r;
	}
	return n;
}

int ublk_read_text(const char *path, size_t max, char **text)
{
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*text = malloc(max + 1);
	n = *text ? read_full(fd, *text, max + 1) : -ENOMEM;
	close(fd);
	if (n >= 0 && (size_t)n <= max && !memchr(*text, 0, n)) {
		(*text)[n] = 0;
		return 0;
	}
	free(*text);
	*text = NULL;
	if (n < 0)
		return n;
	return (size_t)n > max ? -EFBIG : -EILSEQ;
}

uint64_t ublk_dev_capacity(unsigned int id, uint64_t fallback)
{
	unsigned long long sectors = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/ublkb%u/size", id);
	f = fopen(path, "r");
	if (!f)
		return fallback;
	if (fscanf(f, "%llu", &sectors) != 1)
		sectors = 0;
	fclose(f);
	return sectors ? sectors << 9 : fallback;
}

/* Both forms of the no-driver message start with this: scripts grep it. */
#define NO_DRIVER	"ublk driver not loaded"
#define UBLK_DRV_KO	"ublk_drv.ko"

/*
 * Is line's first word (a modules.dep or modules.builtin entry) the
 * ublk_drv module file, compressed or not? whole: line reaches the end
 * of its line (fgets did not cut it short).
 */
static bool names_ublk_drv(const char *line, bool whole)
{
	static const char *const ext[] = { "", ".xz", ".zst", ".gz" };
	const size_t ko = sizeof(UBLK_DRV_KO) - 1;
	size_t end = strcspn(line, ": \t\r\n"), len, i;
	const char *name = line + end;

	if (!line[end] && !whole)
		return false;
	while (name > line && name[-1] != '/')
		name--;
	len = line + end - name;
	if (len < ko || memcmp(name, UBLK_DRV_KO, ko))
		return false;
	for (i = 0; i < ARRAY_SIZE(ext); i++)
		if (strlen(ext[i]) == len - ko && !memcmp(name + ko, ext[i], len - ko))
			return true;
	return false;
}

static bool lists_ublk_drv(const char *modules, const char *release,
			   const char *file)
{
	char path[PATH_MAX], line[512];
	bool at_start = true, found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", modules, release, file);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		bool ended = strchr(line, '\n');

		found = at_start && names_ublk_drv(line, ended || feof(f));
		at_start = ended;
	}
	fclose(f);
	return found;
}

const char *ublk_no_driver_msg_at(const char *modules, const char *release)
{
	static char msg[160];

	if (lists_ublk_drv(modules, release, "modules.dep") ||
	    lists_ublk_drv(modules, release, "modules.builtin"))
		return NO_DRIVER " (try: modprobe ublk_drv)";
	snprintf(msg, sizeof(msg),
		 NO_DRIVER ": Linux %s has no ublk_drv (install ublkctl-dkms: docs/packages.md)",
		 release);
	return msg;
}

const char *ublk_no_driver_msg(void)
{
	struct utsname u;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	return ublk_no_driver_msg_at("/lib/modules", u.release);
}
