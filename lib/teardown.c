// SPDX-License-Identifier: MIT
/*
 * A device's teardown, in one place: del's (stop, wait for the server,
 * delete), a start-up's that failed, and the server's own once its queues
 * have ended.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "ublk.h"

/* Wait for pid to exit; SIGKILL it after timeout_ms, give up 2 s later. */
static void wait_gone(pid_t pid, unsigned int timeout_ms)
{
	unsigned int waited = 0;

	while (ublk_pid_alive(pid) && waited < timeout_ms + 2000) {
		if (waited == timeout_ms)
			kill(pid, SIGKILL);
		ublk_sleep_ms(10);
		waited += 10;
	}
}

void ublk_start_undo(int id, pid_t pid)
{
	struct ublk_ctrl c;

	if (pid > 0) {
		kill(pid, SIGKILL);
		wait_gone(pid, 2000);
	}
	if (id < 0 || ublk_ctrl_open(&c))
		return;
	ublk_ctrl_stop_dev(&c, id);
	ublk_ctrl_del_dev(&c, id, false);
	ublk_state_remove(id);
	ublk_ctrl_close(&c);
}

/* Only what we stopped ourselves is ours to delete; see del. */
void ublk_server_exit(struct ublk_ctrl *c, unsigned int id, bool self_stop)
{
	struct ublk_state st;

	if (self_stop)
		ublk_ctrl_del_dev(c, id, false);
	if (ublk_state_read(id, &st) == 0 && st.pid == getpid())
		ublk_state_remove(id);
}

int ublk_dev_remove(struct ublk_ctrl *c, unsigned int id, bool async,
		    unsigned int timeout_ms)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_state st;
	pid_t state_pid = -1;
	int ret;

	ret = ublk_ctrl_get_info(c, id, &info);
	if (ret < 0)
		return ret;
	if (ublk_state_read(id, &st) == 0)
		state_pid = st.pid;
	ret = ublk_ctrl_stop_dev(c, id);
	if (ret == -ENODEV || ret == -ENOENT)
		return -ENODEV;
	if (async) {
		ret = ublk_ctrl_del_dev(c, id, true);
		ublk_state_remove(id);
		return ret == -ENODEV ? 0 : ret;
	}
	wait_gone(info.ublksrv_pid, timeout_ms);
	if (state_pid != info.ublksrv_pid)
		wait_gone(state_pid, timeout_ms);
	ret = ublk_ctrl_del_dev(c, id, false);
	ublk_state_remove(id);
	return ret == -ENODEV ? 0 : ret;
}
