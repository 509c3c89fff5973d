// SPDX-License-Identifier: MIT
/*
 * What serialises ublkctl's processes. One lock file, <state dir>/.lock, with an open-file-description lock on
 * byte ID for device ID: add (from ADD_DEV until the device is usable), del
 * and recover hold it, so two scripts, or a boot script and a user, never
 * work on one device at once. list takes none: state files are replaced
 * atomically, so it always reads a whole one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ublk.h"

#ifndef F_OFD_SETLK
#define F_OFD_SETLK	37
#endif

/* Each lock its own open file description: OFD locks conflict even within one process. */
static int lock_file_open(void)
{
	char path[PATH_MAX];
	int fd, ret;

	ret = ublk_state_dir_prepare();
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/.lock", ublk_state_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

int ublk_lock_dev(unsigned int id, unsigned int timeout_ms)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = id,
		.l_len = 1,
	};
	uint64_t deadline = ublk_now_ms() + timeout_ms;
	int fd = lock_file_open();

	if (fd < 0)
		return fd;
	/* polled, not F_OFD_SETLKW: a holder stuck in the kernel must not hang us */
	while (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int err = errno;

		if ((err != EAGAIN && err != EACCES) ||
		    (timeout_ms && ublk_now_ms() >= deadline)) {
			close(fd);
			return err == EAGAIN || err == EACCES ? -EBUSY : -err;
		}
		ublk_sleep_ms(10);
	}
	return fd;
}

void ublk_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
}
