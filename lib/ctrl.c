// SPDX-License-Identifier: MIT
/*
 * Control plane: one submitter for the SQE128 ring on /dev/ublk-control and
 * one small function per command. This file is the only user of liburing's
 * submit and wait calls for control commands.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ublk.h"

/* Legacy opcode and its ioctl encoding, indexed by the legacy number. */
static const unsigned int ctrl_encoded[] = {
	[UBLK_CMD_GET_QUEUE_AFFINITY]	= UBLK_U_CMD_GET_QUEUE_AFFINITY,
	[UBLK_CMD_GET_DEV_INFO]		= UBLK_U_CMD_GET_DEV_INFO,
	[UBLK_CMD_ADD_DEV]		= UBLK_U_CMD_ADD_DEV,
	[UBLK_CMD_DEL_DEV]		= UBLK_U_CMD_DEL_DEV,
	[UBLK_CMD_START_DEV]		= UBLK_U_CMD_START_DEV,
	[UBLK_CMD_STOP_DEV]		= UBLK_U_CMD_STOP_DEV,
	[UBLK_CMD_SET_PARAMS]		= UBLK_U_CMD_SET_PARAMS,
	[UBLK_CMD_GET_PARAMS]		= UBLK_U_CMD_GET_PARAMS,
	[UBLK_CMD_START_USER_RECOVERY]	= UBLK_U_CMD_START_USER_RECOVERY,
	[UBLK_CMD_END_USER_RECOVERY]	= UBLK_U_CMD_END_USER_RECOVERY,
	[UBLK_CMD_GET_DEV_INFO2]	= UBLK_U_CMD_GET_DEV_INFO2,
};

unsigned int ublk_ctrl_timeout_ms = UBLK_CTRL_TIMEOUT_MS;

#define UBLK_NEW_DEV	((__u32)-1)	/* ADD_DEV's id: the driver picks */

/* The last command that did not complete in time, for ublk_ctrl_strerror(). */
static struct {
	unsigned int nr;
	unsigned int dev_id;
	unsigned int timeout_ms;
} ctrl_stuck;

static const char *const ctrl_names[] = {
	[UBLK_CMD_GET_QUEUE_AFFINITY]	= "GET_QUEUE_AFFINITY",
	[UBLK_CMD_GET_DEV_INFO]		= "GET_DEV_INFO",
	[UBLK_CMD_ADD_DEV]		= "ADD_DEV",
	[UBLK_CMD_DEL_DEV]		= "DEL_DEV",
	[UBLK_CMD_START_DEV]		= "START_DEV",
	[UBLK_CMD_STOP_DEV]		= "STOP_DEV",
	[UBLK_CMD_SET_PARAMS]		= "SET_PARAMS",
	[UBLK_CMD_GET_PARAMS]		= "GET_PARAMS",
	[UBLK_CMD_START_USER_RECOVERY]	= "START_USER_RECOVERY",
	[UBLK_CMD_END_USER_RECOVERY]	= "END_USER_RECOVERY",
	[UBLK_CMD_GET_DEV_INFO2]	= "GET_DEV_INFO2",
	[_IOC_NR(UBLK_U_CMD_GET_FEATURES)] = "GET_FEATURES",
	[_IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC)] = "DEL_DEV_ASYNC",
	[_IOC_NR(UBLK_U_CMD_TRY_STOP_DEV)] = "TRY_STOP_DEV",
	[_IOC_NR(UBLK_U_CMD_UPDATE_SIZE)] = "UPDATE_SIZE",
};

const char *ublk_ctrl_strerror(int err)
{
	static char msg[160];
	char dev[24];
	unsigned int nr = ctrl_stuck.nr;

	if (err != -ETIMEDOUT || !nr)
		return strerror(-err);
	if (nr == _IOC_NR(UBLK_U_CMD_GET_FEATURES))
		snprintf(dev, sizeof(dev), "the driver");
	else
		snprintf(dev, sizeof(dev), ctrl_stuck.dev_id == UBLK_NEW_DEV ?
			 "a new device" : "device %u", ctrl_stuck.dev_id);
	snprintf(msg, sizeof(msg), "%s to %s did not complete within %u s "
		 "(the driver is stuck in it: see dmesg)",
		 nr < ARRAY_SIZE(ctrl_names) && ctrl_names[nr] ? ctrl_names[nr] : "command",
		 dev, (ctrl_stuck.timeout_ms + 999) / 1000);
	return msg;
}

static int ring_submit(struct io_uring *ring, int fd, unsigned int op,
		       const struct ublksrv_ctrl_cmd *cmd)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));

	do {
		ret = io_uring_submit(ring);
	} while (ret == -EINTR);
	if (ret < 0)
		return ret;
	do {
		ret = io_uring_wait_cqe(ring, &cqe);
	} while (ret == -EINTR || ret == -EAGAIN);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/*
 * The child of ctrl_submit_bounded(): the command on a ring of its own (the
 * parent's ring is shared memory), then its result and the buffer the
 * driver filled, down the pipe.
 */
static void ctrl_child(int fd, unsigned int op, const struct ublksrv_ctrl_cmd *cmd,
		       int out, pid_t parent)
{
	int fds[2] = { fd, out };
	struct io_uring ring;
	int ret;

	/* one stuck in the kernel must not hold a lock or socket of ours */
	if (ublk_keep_fds(fds, 2))
		_exit(1);
	/*
	 * and dies with the thread that asked (as the command would have been
	 * interrupted in it): a command waiting interruptibly for a device that
	 * goes away would otherwise wait for ever
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	ret = io_uring_queue_init(2, &ring, IORING_SETUP_SQE128);
	if (!ret)
		ret = ring_submit(&ring, fds[0], op, cmd);
	if (write(fds[1], &ret, sizeof(ret)) == sizeof(ret) && ret >= 0 && cmd->len)
		ublk_write_all(fds[1], (void *)(uintptr_t)cmd->addr, cmd->len);
	_exit(0);
}

/* Read the child's answer into ret and the command's buffer, by deadline. */
static int ctrl_read_answer(int in, const struct ublksrv_ctrl_cmd *cmd,
			    unsigned int timeout_ms, int *ret)
{
	size_t want = sizeof(*ret), have = 0;
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	uint64_t deadline = ublk_now_ms() + timeout_ms;
	char *dst = (char *)ret;
	ssize_t n;

	while (have < want) {
		uint64_t now = ublk_now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, deadline - now);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(in, dst + have, want - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;	/* the child died without an answer */
		have += n;
		if (have == sizeof(*ret) && dst == (char *)ret && *ret >= 0 && cmd->len) {
			dst = (char *)(uintptr_t)cmd->addr;
			want = cmd->len;
			have = 0;
		}
	}
	return 0;
}

/*
 * A control command that cannot hang us: some kernels never complete one
 * (the caller then sleeps uninterruptibly inside io_uring_enter). A child
 * process submits it; we wait for its answer until the deadline, and past
 * it SIGKILL the child (a wait the kernel lets be interrupted ends; one it
 * does not stays stuck, reparented to init when we go) and return
 * -ETIMEDOUT, so that a rescue shell gets its prompt back.
 */
static int ctrl_submit_bounded(struct ublk_ctrl *c, unsigned int op,
			       const struct ublksrv_ctrl_cmd *cmd)
{
	unsigned int timeout_ms = ublk_ctrl_timeout_ms;
	int p[2], ret, err, status;
	pid_t pid, parent = getpid();

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[0]);
		ctrl_child(c->fd, op, cmd, p[1], parent);
	}
	close(p[1]);
	err = ctrl_read_answer(p[0], cmd, timeout_ms, &ret);
	close(p[0]);
	if (err == -ETIMEDOUT) {
		ctrl_stuck.nr = _IOC_TYPE(op) == 'u' ? _IOC_NR(op) : op;
		ctrl_stuck.dev_id = cmd->dev_id;
		ctrl_stuck.timeout_ms = timeout_ms;
		/* a wait the kernel may interrupt ends; one it may not stays stuck */
		kill(pid, SIGKILL);
		return err;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return err ? err : ret;
}

/*
 * Submit one command and wait for its completion, within the deadline
 * when there is one. A signal interrupts only the wait, never the command.
 */
static int ctrl_submit(struct ublk_ctrl *c, unsigned int op,
		       const struct ublksrv_ctrl_cmd *cmd)
{
	if (ublk_ctrl_timeout_ms)
		return ctrl_submit_bounded(c, op, cmd);
	return ring_submit(&c->ring, c->fd, op, cmd);
}

static int ctrl_cmd(struct ublk_ctrl *c, unsigned int legacy_op,
		    struct ublksrv_ctrl_cmd *cmd)
{
	unsigned int op = legacy_op;

	if (c->ioctl_encode && legacy_op < ARRAY_SIZE(ctrl_encoded))
		op = ctrl_encoded[legacy_op];
	return ctrl_submit(c, op, cmd);
}

static void cmd_init(struct ublksrv_ctrl_cmd *cmd, unsigned int id,
		     void *buf, size_t len)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->dev_id = id;
	cmd->queue_id = (__u16)-1;
	cmd->addr = (uintptr_t)buf;
	cmd->len = len;
}

/* Returns -ENODEV when the driver is not loaded, or another -errno. */
int ublk_ctrl_open(struct ublk_ctrl *c)
{
	uint64_t features = 0;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = open(UBLK_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	ret = io_uring_queue_init(4, &c->ring, IORING_SETUP_SQE128);
	if (ret < 0) {
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	/* GET_FEATURES exists only ioctl-encoded; old drivers refuse it. */
	ret = ublk_ctrl_get_features(c, &features);
	if (ret == -ETIMEDOUT) {
		ublk_ctrl_close(c);
		return ret;
	}
	if (ret == 0) {
		c->features = features;
		c->ioctl_encode = features & UBLK_F_CMD_IOCTL_ENCODE;
	}
	return 0;
}

void ublk_ctrl_close(struct ublk_ctrl *c)
{
	if (c->fd < 0)
		return;
	io_uring_queue_exit(&c->ring);
	close(c->fd);
	c->fd = -1;
}

int ublk_ctrl_get_features(struct ublk_ctrl *c, uint64_t *features)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, 0, features, sizeof(*features));
	return ctrl_submit(c, UBLK_U_CMD_GET_FEATURES, &cmd);
}

int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, info->dev_id, info, sizeof(*info));
	return ctrl_cmd(c, UBLK_CMD_ADD_DEV, &cmd);
}

int ublk_ctrl_del_dev(struct ublk_ctrl *c, unsigned int id, bool async)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, id, NULL, 0);
	if (async && (c->features & UBLK_F_CMD_IOCTL_ENCODE)) {
		int ret = ctrl_submit(c, UBLK_U_CMD_DEL_DEV_ASYNC, &cmd);

		if (ret != -EINVAL && ret != -EOPNOTSUPP)
			return ret;
	}
	return ctrl_cmd(c, UBLK_CMD_DEL_DEV, &cmd);
}

/* A command that carries at most one number. */
static int ctrl_simple(struct ublk_ctrl *c, unsigned int op, unsigned int id,
		       uint64_t data)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, id, NULL, 0);
	cmd.data[0] = data;
	return ctrl_cmd(c, op, &cmd);
}

int ublk_ctrl_start_dev(struct ublk_ctrl *c, unsigned int id, pid_t pid)
{
	return ctrl_simple(c, UBLK_CMD_START_DEV, id, pid);
}

int ublk_ctrl_stop_dev(struct ublk_ctrl *c, unsigned int id)
{
	return ctrl_simple(c, UBLK_CMD_STOP_DEV, id, 0);
}

int ublk_ctrl_update_size(struct ublk_ctrl *c, unsigned int id, uint64_t sectors)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, id, NULL, 0);
	cmd.data[0] = sectors;
	return ctrl_submit(c, UBLK_U_CMD_UPDATE_SIZE, &cmd);
}

int ublk_ctrl_quiesce_dev(struct ublk_ctrl *c, unsigned int id, unsigned int wait_ms)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, id, NULL, 0);
	cmd.data[0] = wait_ms;
	return ctrl_submit(c, UBLK_U_CMD_QUIESCE_DEV, &cmd);
}

int ublk_ctrl_try_stop_dev(struct ublk_ctrl *c, unsigned int id)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, id, NULL, 0);
	return ctrl_submit(c, UBLK_U_CMD_TRY_STOP_DEV, &cmd);
}

int ublk_ctrl_start_recovery(struct ublk_ctrl *c, unsigned int id)
{
	return ctrl_simple(c, UBLK_CMD_START_USER_RECOVERY, id, 0);
}

int ublk_ctrl_end_recovery(struct ublk_ctrl *c, unsigned int id, pid_t pid)
{
	return ctrl_simple(c, UBLK_CMD_END_USER_RECOVERY, id, pid);
}

int ublk_ctrl_set_params(struct ublk_ctrl *c, unsigned int id,
			 struct ublk_params *p)
{
	struct ublksrv_ctrl_cmd cmd;

	cmd_init(&cmd, id, p, sizeof(*p));
	return ctrl_cmd(c, UBLK_CMD_SET_PARAMS, &cmd);
}

int ublk_ctrl_get_params(struct ublk_ctrl *c, unsigned int id,
			 struct ublk_params *p)
{
	struct ublksrv_ctrl_cmd cmd;

	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	cmd_init(&cmd, id, p, sizeof(*p));
	return ctrl_cmd(c, UBLK_CMD_GET_PARAMS, &cmd);
}

/*
 * INFO2 where the driver has it (it came with GET_FEATURES), else INFO.
 * INFO2's buffer starts with the char device's path.
 */
int ublk_ctrl_get_info(struct ublk_ctrl *c, unsigned int id,
		       struct ublksrv_ctrl_dev_info *info)
{
	struct {
		char path[32];
		struct ublksrv_ctrl_dev_info info;
	} buf;
	struct ublksrv_ctrl_cmd cmd;
	int ret;

	if (c->ioctl_encode) {
		memset(&buf, 0, sizeof(buf));
		snprintf(buf.path, sizeof(buf.path), "/dev/ublkc%u", id);
		cmd_init(&cmd, id, &buf, sizeof(buf));
		cmd.dev_path_len = sizeof(buf.path);
		ret = ctrl_cmd(c, UBLK_CMD_GET_DEV_INFO2, &cmd);
		if (ret >= 0 || ret == -ENODEV || ret == -ETIMEDOUT) {
			*info = buf.info;
			return ret;
		}
	}
	cmd_init(&cmd, id, info, sizeof(*info));
	return ctrl_cmd(c, UBLK_CMD_GET_DEV_INFO, &cmd);
}

int ublk_ctrl_get_affinity(struct ublk_ctrl *c, unsigned int id,
			   unsigned int q_id, cpu_set_t *set)
{
	struct ublksrv_ctrl_cmd cmd;

	CPU_ZERO(set);
	cmd_init(&cmd, id, set, sizeof(*set));
	cmd.data[0] = q_id;
	return ctrl_cmd(c, UBLK_CMD_GET_QUEUE_AFFINITY, &cmd);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/* ids (cap entries) with room for one more; false when out of memory */
static bool ids_room(unsigned int **ids, size_t n, size_t *cap)
{
	unsigned int *grown;

	if (n < *cap)
		return true;
	grown = realloc(*ids, (*cap ? 2 * *cap : 64) * sizeof(**ids));
	if (!grown)
		return false;
	*ids = grown;
	*cap = *cap ? 2 * *cap : 64;
	return true;
}

int ublk_list_ids(unsigned int **ids)
{
	DIR *d = opendir("/sys/class/ublk-char");
	struct dirent *e;
	size_t n = 0, cap = 0;
	unsigned int id;

	*ids = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, "ublkc%u", &id) != 1)
			continue;
		if (!ids_room(ids, n, &cap)) {
			closedir(d);
			free(*ids);
			*ids = NULL;
			return -ENOMEM;
		}
		(*ids)[n++] = id;
	}
	closedir(d);
	if (n)
		qsort(*ids, n, sizeof(**ids), cmp_uint);
	return n;
}

const char *ublk_state_name(unsigned int state)
{
	switch (state) {
	case UBLK_S_DEV_DEAD:
		return "DEAD";
	case UBLK_S_DEV_LIVE:
		return "LIVE";
	case UBLK_S_DEV_QUIESCED:
		return "QUIESCED";
	case UBLK_S_DEV_FAIL_IO:
		return "FAIL_IO";
	}
	return "UNKNOWN";
}
