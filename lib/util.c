// SPDX-License-Identifier: MIT
/* Small helpers shared by the library and the applets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* A process that exits (killed, or a zombie) serves nothing any more. */
bool ublk_pid_alive(pid_t pid)
{
	char path[32], buf[256], *p, state;
	unsigned int flags;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
		return true;
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
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

/* JSON string body for s (no quotes); -ENOSPC when it does not fit. */
int ublk_json_escape(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = *s;
		char tmp[8];
		const char *e = tmp;

		if (c == '"' || c == '\\')
			snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c < 0x20)
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		else
			tmp[0] = c, tmp[1] = 0;
		if (o + strlen(e) + 1 > len)
			return -ENOSPC;
		memcpy(buf + o, e, strlen(e));
		o += strlen(e);
	}
	if (o + 1 > len)
		return -ENOSPC;
	buf[o] = 0;
	return 0;
}
