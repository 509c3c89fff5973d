// SPDX-License-Identifier: MIT
/*
 * A device's teardown, in one place: del's (stop, wait for the server,
 * delete), a start-up's that failed, and the server's own once its queues
 * have ended.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ublk.h"

/* Wait up to ms for the process of pidfd to exit; false if it still runs. */
static bool pidfd_wait(int pidfd, unsigned int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, ms) != 0;
}

/* Our own server, proven: wait for it, SIGKILL it if it outlives timeout_ms. */
static void stop_ours(int pidfd, unsigned int timeout_ms)
{
	if (!pidfd_wait(pidfd, timeout_ms)) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		pidfd_wait(pidfd, 2000);
	}
	close(pidfd);
}

/* sig to pid only while it is provably the process that started at start_time. */
static void signal_ours(pid_t pid, uint64_t start_time, int sig)
{
	int fd;

	if (!start_time)
		return;
	fd = ublk_pidfd_verified(pid, start_time);
	if (fd < 0)
		return;
	syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	close(fd);
}

/* A pid we cannot prove is our server's: wait for it, never signal it. */
static void wait_unproven(pid_t pid, unsigned int timeout_ms)
{
	unsigned int waited;

	for (waited = 0; ublk_pid_alive(pid) && waited < timeout_ms; waited += 10)
		ublk_sleep_ms(10);
}

/*
 * Wait for a server to exit. Only a pid proven to be the process that
 * started at start_time is ever signalled: after pid reuse the number may
 * belong to anyone. A start time that does not match means our server is
 * gone; without one (a state file from before it was recorded) we wait.
 */
static void wait_server(pid_t pid, uint64_t start_time, unsigned int timeout_ms)
{
	int fd = ublk_pidfd_verified(pid, start_time);

	if (fd >= 0)
		stop_ours(fd, timeout_ms);
	else if (!start_time)
		wait_unproven(pid, timeout_ms);
}

static bool dev_has_cookie(struct ublk_ctrl *c, unsigned int id, uint64_t cookie)
{
	struct ublksrv_ctrl_dev_info info;

	return ublk_ctrl_get_info(c, id, &info) == 0 && info.ublksrv_flags == cookie;
}

/* The device ADD_DEV made with cookie, or -1. */
static int find_cookie(struct ublk_ctrl *c, uint64_t cookie)
{
	unsigned int *ids;
	int i, n, found = -1;

	n = ublk_list_ids(&ids);
	for (i = 0; i < n && found < 0; i++)
		if (dev_has_cookie(c, ids[i], cookie))
			found = ids[i];
	free(ids);
	return found;
}

void ublk_start_undo(int id, uint64_t cookie, pid_t pid, uint64_t start_time)
{
	struct ublk_ctrl c;

	wait_server(pid, start_time, 0);
	if (!cookie || ublk_ctrl_open(&c))
		return;
	if (id < 0)
		id = find_cookie(&c, cookie);
	if (id >= 0 && dev_has_cookie(&c, id, cookie)) {
		ublk_ctrl_stop_dev(&c, id);
		ublk_ctrl_del_dev(&c, id, false);
		ublk_state_remove(id);
	}
	ublk_ctrl_close(&c);
}

/*
 * A --recovery device whose server ends unasked (its queues failed) waits
 * QUIESCED for `recover`, which reads the state file: keep it. One that
 * del stopped is DEAD.
 */
static bool waits_for_recover(struct ublk_ctrl *c, unsigned int id)
{
	struct ublksrv_ctrl_dev_info info;

	return ublk_ctrl_get_info(c, id, &info) == 0 &&
	       (info.flags & UBLK_F_USER_RECOVERY) && info.state != UBLK_S_DEV_DEAD;
}

/* Only what we stopped ourselves is ours to delete; see del. */
void ublk_server_exit(struct ublk_ctrl *c, unsigned int id, bool self_stop)
{
	struct ublk_state st;

	if (!self_stop && waits_for_recover(c, id))
		return;
	/* first, so that no state file outlives its device */
	if (ublk_state_read(id, &st) == 0 && st.pid == getpid())
		ublk_state_remove(id);
	if (self_stop)
		ublk_ctrl_del_dev(c, id, false);
}

int ublk_dev_remove(struct ublk_ctrl *c, unsigned int id, bool async,
		    unsigned int timeout_ms)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_state st;
	pid_t state_pid = -1;
	uint64_t start = 0;
	int ret;

	ret = ublk_ctrl_get_info(c, id, &info);
	if (ret < 0)
		return ret;
	if (ublk_state_read(id, &st) == 0) {
		state_pid = st.pid;
		start = st.start_time;
	}
	/*
	 * Our server hears of it first (SIGTERM: it stops the device too): IO
	 * it holds for a backing that is away (an nbd server) then fails, or
	 * STOP_DEV would wait for it.
	 */
	if (state_pid > 0 && info.ublksrv_pid == state_pid)
		signal_ours(state_pid, start, SIGTERM);
	ret = ublk_ctrl_stop_dev(c, id);
	if (ret == -ENODEV || ret == -ENOENT)
		return -ENODEV;
	if (ret == -ETIMEDOUT)
		return ret;	/* the driver is stuck: its server stays, serving */
	if (async) {
		ret = ublk_ctrl_del_dev(c, id, true);
		ublk_state_remove(id);
		return ret == -ENODEV ? 0 : ret;
	}
	/* the kernel's pid is proven only when it is the state file's */
	wait_server(info.ublksrv_pid, info.ublksrv_pid == state_pid ? start : 0, timeout_ms);
	if (state_pid != info.ublksrv_pid)
		wait_server(state_pid, start, timeout_ms);
	ret = ublk_ctrl_del_dev(c, id, false);
	ublk_state_remove(id);
	return ret == -ENODEV ? 0 : ret;
}
