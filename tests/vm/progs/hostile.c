// SPDX-License-Identifier: MIT
/*
 * ublk-hostile: a ublk server that does everything wrong, against our
 * module. Each bad control or IO command must fail with the errno named
 * here; then a server child dies with IO in flight (SIGKILL) and the
 * device must go away with the reader getting EIO, and a recoverable
 * device must sit QUIESCED and still be deletable. Prints "ok ..." or
 * "FAIL ..." per check; exit 0 only when every check passed. The guest
 * scenario checks the kernel log and that the module unloads afterwards.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ublk_test.h"

#define DEV_ID		7
#define DEPTH		TEST_DEPTH
#define BUF_BYTES	TEST_BUF_BYTES
#define IO_TAG		(1ULL << 32)	/* user_data of IO commands */
#define PATTERN		0xa5

static struct io_uring ring;	/* SQE128: control and IO commands */
static int ctrl_fd = -1, cdev_fd = -1;
static unsigned char *bufs[DEPTH];
static int served;		/* IO requests answered automatically */
static int user_copy;		/* the device under test has UBLK_F_USER_COPY */
static int last_io_res;		/* result of the fetch that wait_for() returned */

static struct io_uring_sqe *new_sqe(int fd, unsigned int op, uint64_t data)
{
	return uring_cmd_sqe(&ring, fd, op, data);
}

static void queue_io(unsigned int op, unsigned int q_id, unsigned int tag, int result, uint64_t addr)
{
	struct io_uring_sqe *sqe = new_sqe(cdev_fd, op, IO_TAG | tag);
	struct ublksrv_io_cmd *cmd = (struct ublksrv_io_cmd *)sqe->cmd;

	cmd->q_id = q_id;
	cmd->tag = tag;
	cmd->result = result;
	cmd->addr = addr;
}

static const struct ublksrv_io_desc *descs;

/* Where pread/pwrite on /dev/ublkcN reach a request's data (queue 0). */
static off_t user_copy_pos(unsigned int tag, unsigned int offset)
{
	return UBLKSRV_IO_BUF_OFFSET + ((off_t)tag << UBLK_TAG_OFF) + offset;
}

/* Answers a request the way an honest null-ish server would. */
static void serve(unsigned int tag)
{
	const struct ublksrv_io_desc *iod = &descs[tag];
	unsigned int op = ublksrv_get_op(iod);
	int res = 0;

	if (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE)
		res = iod->nr_sectors << 9;
	if (op == UBLK_IO_OP_READ)
		memset(bufs[tag], PATTERN, res);
	if (user_copy && op == UBLK_IO_OP_READ &&
	    pwrite(cdev_fd, bufs[tag], res, user_copy_pos(tag, 0)) != res)
		res = -EIO;
	queue_io(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, res, user_copy ? 0 : (uintptr_t)bufs[tag]);
	served++;
}

/*
 * Waits for the completion of @data. Meanwhile a fetch that completes
 * (a request arrived) is served when @auto_serve, else its tag is
 * returned through @arrived (when not NULL) and waiting stops.
 */
static int wait_for(uint64_t data, int auto_serve, int *arrived)
{
	struct io_uring_cqe *cqe;
	int ret;

	for (;;) {
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			uint64_t ud = cqe->user_data;
			int res = cqe->res;

			io_uring_cqe_seen(&ring, cqe);
			if (ud == data)
				return res;
			if ((ud & IO_TAG) && (res == UBLK_IO_RES_OK || res == UBLK_IO_RES_NEED_GET_DATA)) {
				if (auto_serve && res == UBLK_IO_RES_OK) {
					serve(ud & 0xffff);
				} else if (arrived) {
					*arrived = ud & 0xffff;
					last_io_res = res;
					return 0;
				}
			}
		}
	}
}

static int ctrl(unsigned int op, struct ublksrv_ctrl_cmd *c, int auto_serve)
{
	struct io_uring_sqe *sqe = new_sqe(ctrl_fd, op, 1);

	memcpy(sqe->cmd, c, sizeof(*c));
	return wait_for(1, auto_serve, NULL);
}

static int io_cmd(unsigned int op, unsigned int q_id, unsigned int tag, int result, uint64_t addr)
{
	queue_io(op, q_id, tag, result, addr);
	return wait_for(IO_TAG | tag, 0, NULL);
}

static struct ublksrv_ctrl_dev_info dev_info(__u64 flags)
{
	return dev_info_for(DEV_ID, flags);
}

static int add_dev(struct ublksrv_ctrl_dev_info *info, unsigned int id)
{
	struct ublksrv_ctrl_cmd c = cmd_for(id, info, sizeof(*info));

	return ctrl(UBLK_U_CMD_ADD_DEV, &c, 0);
}

static int simple(unsigned int op, unsigned int id, __u64 data0)
{
	struct ublksrv_ctrl_cmd c = cmd_for(id, NULL, 0);

	c.data[0] = data0;
	/* START_DEV's partition scan needs this server's answers */
	return ctrl(op, &c, op == UBLK_U_CMD_START_DEV);
}

static int set_params(struct ublk_params *p, unsigned int len)
{
	struct ublksrv_ctrl_cmd c = cmd_for(DEV_ID, p, len);

	return ctrl(UBLK_U_CMD_SET_PARAMS, &c, 0);
}

static int dev_state(unsigned int id)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublksrv_ctrl_cmd c = cmd_for(id, &info, sizeof(info));
	int ret = ctrl(UBLK_U_CMD_GET_DEV_INFO, &c, 0);

	return ret < 0 ? ret : info.state;
}

static void check_ctrl_commands(void)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublksrv_ctrl_cmd c;
	struct io_uring small;
	struct ublk_params p;
	__u64 features = 0;
	char buf[256];

	c = cmd_for(0, &features, sizeof(features));
	check("GET_FEATURES", ctrl(UBLK_U_CMD_GET_FEATURES, &c, 0), 0);
	check("GET_FEATURES reports what is implemented", features,
	      UBLK_F_URING_CMD_COMP_IN_TASK | UBLK_F_NEED_GET_DATA | UBLK_F_USER_RECOVERY |
	      UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_USER_COPY |
	      UBLK_F_USER_RECOVERY_FAIL_IO | UBLK_F_UPDATE_SIZE | UBLK_F_QUIESCE);
	c = cmd_for(0, buf, sizeof(buf));
	check("unknown legacy opcode", ctrl(0x3f, &c, 0), -EOPNOTSUPP);
	check("unknown encoded opcode", ctrl(_IOWR('u', 0x3f, struct ublksrv_ctrl_cmd), &c, 0), -EOPNOTSUPP);
	check("encoded opcode of the wrong size", ctrl(_IOWR('u', UBLK_CMD_ADD_DEV, __u64), &c, 0), -EOPNOTSUPP);

	/* control commands need SQE128 */
	if (io_uring_queue_init(2, &small, 0) == 0) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&small);
		struct io_uring_cqe *cqe;

		memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_URING_CMD;
		sqe->fd = ctrl_fd;
		sqe->cmd_op = UBLK_U_CMD_GET_FEATURES;
		io_uring_submit_and_wait(&small, 1);
		io_uring_peek_cqe(&small, &cqe);
		check("control command without SQE128", cqe->res, -EINVAL);
		io_uring_queue_exit(&small);
	}

	info = dev_info(0);
	c = cmd_for(DEV_ID, &info, sizeof(info));
	c.queue_id = 0;
	check("ADD_DEV with a queue id", ctrl(UBLK_U_CMD_ADD_DEV, &c, 0), -EINVAL);
	c = cmd_for(DEV_ID, &info, 8);
	check("ADD_DEV short length", ctrl(UBLK_U_CMD_ADD_DEV, &c, 0), -EINVAL);
	c = cmd_for(DEV_ID, (void *)8, sizeof(info));
	check("ADD_DEV bogus address", ctrl(UBLK_U_CMD_ADD_DEV, &c, 0), -EFAULT);
	info = dev_info(0);
	info.nr_hw_queues = 0;
	check("ADD_DEV no queues", add_dev(&info, DEV_ID), -EINVAL);
	info = dev_info(0);
	info.queue_depth = UBLK_MAX_QUEUE_DEPTH + 1;
	check("ADD_DEV depth too large", add_dev(&info, DEV_ID), -EINVAL);
	info = dev_info(0);
	info.max_io_buf_bytes = 100;
	check("ADD_DEV tiny IO buffer", add_dev(&info, DEV_ID), -EINVAL);
	info = dev_info(1ULL << 40);
	check("ADD_DEV unknown flag", add_dev(&info, DEV_ID), -EINVAL);
	info = dev_info(UBLK_F_USER_RECOVERY_REISSUE);
	check("ADD_DEV reissue without recovery", add_dev(&info, DEV_ID), -EINVAL);
	info = dev_info(UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_AUTO_BUF_REG);
	check("ADD_DEV with unimplemented flags", add_dev(&info, DEV_ID), -EINVAL);

	info = dev_info(0);
	check("ADD_DEV", add_dev(&info, DEV_ID), 0);
	info = dev_info(0);
	check("ADD_DEV of a taken id", add_dev(&info, DEV_ID), -EEXIST);
	check("GET_DEV_INFO of no device", dev_state(999), -ENODEV);
	c = cmd_for(DEV_ID, &info, 8);
	check("GET_DEV_INFO short length", ctrl(UBLK_U_CMD_GET_DEV_INFO, &c, 0), -EINVAL);
	c = cmd_for(DEV_ID, buf, sizeof(buf));
	check("GET_DEV_INFO2 without path", ctrl(UBLK_U_CMD_GET_DEV_INFO2, &c, 0), -EINVAL);

	p = good_params();
	check("SET_PARAMS short header", set_params(&p, 4), -EINVAL);
	check("SET_PARAMS len beyond the buffer", set_params(&p, 16), -EINVAL);
	p.types |= 1U << 20;
	check("SET_PARAMS unknown type", set_params(&p, sizeof(p)), -EINVAL);
	p = good_params();
	p.types |= UBLK_PARAM_TYPE_ZONED;
	check("SET_PARAMS zoned without the feature", set_params(&p, sizeof(p)), -EINVAL);
	p = good_params();
	p.types = UBLK_PARAM_TYPE_DISCARD;
	check("SET_PARAMS without basic", set_params(&p, sizeof(p)), -EINVAL);
	p = good_params();
	p.basic.logical_bs_shift = 3;
	check("SET_PARAMS block size 8", set_params(&p, sizeof(p)), -EINVAL);
	p = good_params();
	p.basic.max_sectors = 1 << 20;
	check("SET_PARAMS max_sectors beyond the IO buffer", set_params(&p, sizeof(p)), -EINVAL);
	p = good_params();
	p.types |= UBLK_PARAM_TYPE_SEGMENT;
	p.seg.max_segments = 1;
	p.seg.max_segment_size = 512;
	p.seg.seg_boundary_mask = 4095;
	check("SET_PARAMS tiny segments", set_params(&p, sizeof(p)), -EINVAL);
	c = cmd_for(DEV_ID, (void *)8, sizeof(p));
	check("SET_PARAMS bogus address", ctrl(UBLK_U_CMD_SET_PARAMS, &c, 0), -EFAULT);
	p = good_params();
	check("SET_PARAMS", set_params(&p, sizeof(p)), 0);

	c = cmd_for(DEV_ID, buf, 128);
	c.data[0] = 5;
	check("GET_QUEUE_AFFINITY queue out of range", ctrl(UBLK_U_CMD_GET_QUEUE_AFFINITY, &c, 0), -EINVAL);
	c = cmd_for(DEV_ID, buf, 3);
	check("GET_QUEUE_AFFINITY short length", ctrl(UBLK_U_CMD_GET_QUEUE_AFFINITY, &c, 0), -EINVAL);
	check("START_USER_RECOVERY without recovery", simple(UBLK_U_CMD_START_USER_RECOVERY, DEV_ID, 0), -EINVAL);
	check("UPDATE_SIZE without the flag", simple(UBLK_U_CMD_UPDATE_SIZE, DEV_ID, 1), -EOPNOTSUPP);
	check("START_DEV without a pid", simple(UBLK_U_CMD_START_DEV, DEV_ID, 0), -EINVAL);
}

static int open_cdev(void)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/ublkc%d", DEV_ID);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void check_cdev(void)
{
	size_t len = (DEPTH * sizeof(struct ublksrv_io_desc) + 4095) & ~4095UL;
	void *map;
	int fd;

	fd = open_cdev();
	check("second open of /dev/ublkcN", fd < 0 ? -errno : 0, -EBUSY);
	if (fd >= 0)
		close(fd);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, cdev_fd, 0);
	check("writable mmap of the descriptors", map == MAP_FAILED ? -errno : 0, -EPERM);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, cdev_fd, 4096);
	check("mmap at a bad offset", map == MAP_FAILED ? -errno : 0, -EINVAL);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, cdev_fd, 0);
	check("mmap of queue 0", map == MAP_FAILED ? -errno : 0, 0);
	descs = map;
	check("mprotect to writable", mprotect(map, len, PROT_READ | PROT_WRITE) ? -errno : 0, -EACCES);
	check("user copy read without the flag",
	      pread(cdev_fd, bufs[0], 512, UBLKSRV_IO_BUF_OFFSET) < 0 ? -errno : 0, -EACCES);
}

static void check_io_commands(void)
{
	unsigned int tag;

	check("FETCH queue out of range", io_cmd(UBLK_U_IO_FETCH_REQ, 3, 0, 0, (uintptr_t)bufs[0]), -EINVAL);
	check("FETCH tag out of range", io_cmd(UBLK_U_IO_FETCH_REQ, 0, DEPTH + 5, 0, (uintptr_t)bufs[0]), -EINVAL);
	check("FETCH without a buffer", io_cmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0, 0), -EINVAL);
	check("FETCH with a kernel address",
	      io_cmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0, 0xffff888000000000ULL), -EFAULT);
	check("unknown IO opcode", io_cmd(_IOWR('u', 0x3e, struct ublksrv_io_cmd), 0, 0, 0, 0), -EOPNOTSUPP);
	check("NEED_GET_DATA without the flag",
	      io_cmd(UBLK_U_IO_NEED_GET_DATA, 0, 0, 0, (uintptr_t)bufs[0]), -EINVAL);
	check("COMMIT before any FETCH",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, 0, 0, (uintptr_t)bufs[0]), -EINVAL);
	for (tag = 0; tag < DEPTH; tag++)
		queue_io(UBLK_U_IO_FETCH_REQ, 0, tag, 0, (uintptr_t)bufs[tag]);
	io_uring_submit(&ring);
	check("double FETCH", io_cmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0, (uintptr_t)bufs[0]), -EINVAL);
}

/*
 * The reader (or writer): the device's first 4k, expecting (or writing)
 * the pattern; reports 0 or -errno on @report_fd.
 */
static int reader_main(int report_fd, int write_it)
{
	unsigned char *b = NULL;
	char path[32];
	int fd, ret = 0, i;

	snprintf(path, sizeof(path), "/dev/ublkb%d", DEV_ID);
	fd = open(path, (write_it ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (posix_memalign((void **)&b, 4096, 4096) || fd < 0)
		ret = -errno;
	else if (write_it)
		ret = pwrite(fd, memset(b, PATTERN, 4096), 4096, 0) == 4096 ? 0 : -errno;
	else if (pread(fd, b, 4096, 0) != 4096)
		ret = -errno;
	for (i = 0; !ret && !write_it && i < 4096; i++)
		if (b[i] != PATTERN)
			ret = -EILSEQ;
	return write(report_fd, &ret, sizeof(ret)) == sizeof(ret) ? 0 : 2;
}

/*
 * Starts a reader as a new program: a plain fork would share the server's
 * ring and descriptor mappings, keeping them alive after the server dies.
 */
static void start_io(int report_fd, const char *how)
{
	char arg[16];

	snprintf(arg, sizeof(arg), "%d", report_fd);
	if (fork() == 0) {
		execl("/proc/self/exe", "ublk-hostile", how, arg, (char *)NULL);
		_exit(127);
	}
}

static void start_reader(int report_fd)
{
	start_io(report_fd, "--read");
}

static void on_alarm(int sig)
{
}

/* A reader's result, or -ETIMEDOUT when none came within @secs. */
static int read_report(int fd, unsigned int secs)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int ret = -ETIMEDOUT;

	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
	if (read(fd, &ret, sizeof(ret)) != sizeof(ret))
		ret = -ETIMEDOUT;
	alarm(0);
	return ret;
}

/* With a request of the reader in hand, commit it wrongly, then right. */
static void check_commits(int report[2])
{
	int tag = -1, ret;

	start_reader(report[1]);
	ret = wait_for(~0ULL, 0, &tag);
	check("a request arrives", ret == 0 && tag >= 0, 1);
	if (tag < 0)
		return;
	check("COMMIT of more than the request",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 8192, (uintptr_t)bufs[tag]), -EINVAL);
	check("COMMIT of a bogus errno",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, -5000, (uintptr_t)bufs[tag]), -EINVAL);
	check("COMMIT with a kernel address",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 4096, 0xffff888000000000ULL), -EFAULT);
	check("COMMIT for another tag",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, (tag + 1) % DEPTH, 0, (uintptr_t)bufs[0]), -EINVAL);
	memset(bufs[tag], PATTERN, 4096);
	queue_io(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 4096, (uintptr_t)bufs[tag]);
	io_uring_submit(&ring);
	check("reader got the committed data", read_report(report[0], 60), 0);
}

/* UBLK_F_USER_COPY: the server moves data with pread/pwrite on /dev/ublkcN. */
static void check_user_copy(int report[2])
{
	struct ublk_params p = { .len = sizeof(p) };
	struct ublksrv_ctrl_cmd c = cmd_for(DEV_ID, &p, sizeof(p));
	int tag = -1;

	start_reader(report[1]);
	wait_for(~0ULL, 0, &tag);
	check("user copy: a request arrives", tag >= 0, 1);
	if (tag < 0)
		return;
	memset(bufs[tag], PATTERN, 4096);
	check("user copy: pread of a read request",
	      pread(cdev_fd, bufs[tag], 4096, user_copy_pos(tag, 0)) < 0 ? -errno : 0, -EACCES);
	check("user copy: pwrite past the request",
	      pwrite(cdev_fd, bufs[tag], 512, user_copy_pos(tag, 8192)) < 0 ? -errno : 0, -EINVAL);
	check("user copy: pwrite for an idle tag",
	      pwrite(cdev_fd, bufs[tag], 512, user_copy_pos((tag + 1) % DEPTH, 0)) < 0 ? -errno : 0, -EINVAL);
	check("user copy: pwrite of the data",
	      pwrite(cdev_fd, bufs[tag], 4096, user_copy_pos(tag, 0)), 4096);
	check("user copy: COMMIT with a buffer",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 4096, (uintptr_t)bufs[tag]), -EINVAL);
	queue_io(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 4096, 0);
	io_uring_submit(&ring);
	check("user copy: reader got the data", read_report(report[0], 60), 0);

	check("UPDATE_SIZE", simple(UBLK_U_CMD_UPDATE_SIZE, DEV_ID, 4 << 20), 0);
	check("GET_PARAMS", ctrl(UBLK_U_CMD_GET_PARAMS, &c, 0), 0);
	check("GET_PARAMS shows the new size", p.basic.dev_sectors, 4 << 20);
	check("GET_PARAMS fills devt", p.types & UBLK_PARAM_TYPE_DEVT && p.devt.disk_major, 1);
}

/* UBLK_F_NEED_GET_DATA: a write's buffer is named after it arrives. */
static void check_need_get_data(int report[2])
{
	int tag = -1;

	start_io(report[1], "--write");
	wait_for(~0ULL, 0, &tag);
	check("need get data: a write arrives", tag >= 0, 1);
	if (tag < 0)
		return;
	check("need get data: the fetch asks for a buffer", last_io_res, UBLK_IO_RES_NEED_GET_DATA);
	check("need get data: COMMIT before the data",
	      io_cmd(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 4096, (uintptr_t)bufs[tag]), -EINVAL);
	memset(bufs[tag], 0, 4096);
	check("NEED_GET_DATA", io_cmd(UBLK_U_IO_NEED_GET_DATA, 0, tag, 0, (uintptr_t)bufs[tag]), 0);
	check("NEED_GET_DATA copied the write", bufs[tag][0] == PATTERN && bufs[tag][4095] == PATTERN, 1);
	check("NEED_GET_DATA twice", io_cmd(UBLK_U_IO_NEED_GET_DATA, 0, tag, 0, (uintptr_t)bufs[tag]), -EINVAL);
	queue_io(UBLK_U_IO_COMMIT_AND_FETCH_REQ, 0, tag, 4096, 0);
	io_uring_submit(&ring);
	check("need get data: writer done", read_report(report[0], 60), 0);
}

/*
 * The server: a child that opens /dev/ublkcN, checks the IO side, starts
 * the device, and dies by SIGKILL while a reader's request is in flight.
 */
static void run_server(int report[2], int check_commit, __u64 flags)
{
	int tag = -1;

	/* a ring of its own: the parent's is shared memory */
	close(ring.ring_fd);
	if (io_uring_queue_init(64, &ring, IORING_SETUP_SQE128) < 0)
		_exit(1);
	fcntl(ring.ring_fd, F_SETFD, FD_CLOEXEC);
	cdev_fd = open_cdev();
	check("open /dev/ublkcN", cdev_fd < 0 ? -errno : 0, 0);
	if (cdev_fd < 0)
		_exit(1);
	if (check_commit) {
		check_cdev();
		check_io_commands();
	} else {
		int no_buf = flags & (UBLK_F_USER_COPY | UBLK_F_NEED_GET_DATA);

		user_copy = flags & UBLK_F_USER_COPY;
		descs = mmap(NULL, 4096, PROT_READ, MAP_SHARED, cdev_fd, 0);
		if (user_copy)
			check("user copy: FETCH with a buffer",
			      io_cmd(UBLK_U_IO_FETCH_REQ, 0, 0, 0, (uintptr_t)bufs[0]), -EINVAL);
		for (tag = 0; tag < DEPTH; tag++)
			queue_io(UBLK_U_IO_FETCH_REQ, 0, tag, 0, no_buf ? 0 : (uintptr_t)bufs[tag]);
	}
	check("START_DEV while serving", simple(UBLK_U_CMD_START_DEV, DEV_ID, getpid()) == 0 ?
	      0 : -1, 0);
	/* simple() does not serve: START's partition scan is served here */
	if (check_commit)
		check_commits(report);
	if (flags & UBLK_F_USER_COPY)
		check_user_copy(report);
	if (flags & UBLK_F_NEED_GET_DATA)
		check_need_get_data(report);
	tag = -1;
	start_reader(report[1]);
	wait_for(~0ULL, 0, &tag);
	check("a request is in flight before the kill", tag >= 0, 1);
	fflush(stdout);
	kill(getpid(), SIGKILL);
}

static void run_server_child(int report[2], int check_commit, __u64 flags)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		run_server(report, check_commit, flags);
		_exit(1);
	}
	waitpid(pid, &status, 0);
	check("server died by SIGKILL", WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, 1);
}

static int wait_state(int want)
{
	int i, st = -1;

	for (i = 0; i < 200; i++) {
		st = dev_state(DEV_ID);
		if (st == want)
			break;
		usleep(50000);
	}
	return st;
}

int main(int argc, char **argv)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params p;
	int report[2];
	unsigned int i;

	if (argc == 3 && !strcmp(argv[1], "--read"))
		return reader_main(atoi(argv[2]), 0);
	if (argc == 3 && !strcmp(argv[1], "--write"))
		return reader_main(atoi(argv[2]), 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (init_failures())
		return 1;
	ctrl_fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
	if (ctrl_fd < 0 || io_uring_queue_init(64, &ring, IORING_SETUP_SQE128) < 0 ||
	    pipe(report)) {
		perror("ublk-hostile: setup");
		return 1;
	}
	for (i = 0; i < DEPTH; i++)
		if (posix_memalign((void **)&bufs[i], 4096, BUF_BYTES))
			return 1;

	check_ctrl_commands();
	/* served by the child: its own ring, the parent's is only inherited */
	run_server_child(report, 1, 0);
	check("reader of the killed server got EIO", read_report(report[0], 60), -EIO);
	check("device without recovery is DEAD", wait_state(UBLK_S_DEV_DEAD), UBLK_S_DEV_DEAD);
	check("DEL_DEV after the kill", simple(UBLK_U_CMD_DEL_DEV, DEV_ID, 0), 0);
	check("GET_DEV_INFO after DEL_DEV", dev_state(DEV_ID), -ENODEV);

	/* with recovery (reissue) the device and its IO wait, QUIESCED; DEL_DEV still works */
	info = dev_info(UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE);
	check("ADD_DEV with recovery", add_dev(&info, DEV_ID), 0);
	p = good_params();
	check("SET_PARAMS", set_params(&p, sizeof(p)), 0);
	run_server_child(report, 0, info.flags);
	check("recoverable device is QUIESCED", wait_state(UBLK_S_DEV_QUIESCED), UBLK_S_DEV_QUIESCED);
	check("END_USER_RECOVERY before START", simple(UBLK_U_CMD_END_USER_RECOVERY, DEV_ID, 1) < 0, 1);
	check("reader's request stays parked", read_report(report[0], 2), -ETIMEDOUT);
	check("DEL_DEV of a quiesced device", simple(UBLK_U_CMD_DEL_DEV, DEV_ID, 0), 0);
	check("parked reader fails at DEL_DEV", read_report(report[0], 60), -EIO);

	/* the data paths without a server buffer, each ending in a kill */
	for (i = 0; i < 2; i++) {
		info = dev_info(i ? UBLK_F_NEED_GET_DATA : UBLK_F_USER_COPY | UBLK_F_UPDATE_SIZE);
		check(i ? "ADD_DEV need get data" : "ADD_DEV user copy", add_dev(&info, DEV_ID), 0);
		p = good_params();
		check("SET_PARAMS", set_params(&p, sizeof(p)), 0);
		run_server_child(report, 0, info.flags);
		check("killed server's reader got EIO", read_report(report[0], 60), -EIO);
		check("DEL_DEV", simple(UBLK_U_CMD_DEL_DEV, DEV_ID, 0), 0);
	}

	printf("%s: %d failed\n", *failures ? "FAIL" : "PASS", *failures);
	return *failures ? 1 : 0;
}
