// SPDX-License-Identifier: MIT
/*
 * ublk-defects: one check per defect found by reviewing our module, each
 * written to fail on the module before its fix. The servers are children
 * of this program that speak the UAPI directly, so that the module's
 * interface is what is tested, not ublkctl's way of using it. Every wait
 * is bounded: a hang is reported as a FAIL with -ETIME (-62), and the
 * check then kills what it started so that the next check can run.
 *
 *   ublk-defects [NAME...]   run the named checks (default: all)
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ublk_test.h"

#define DEV_ID		9
#define PATTERN		0x5a
#define CMD_DATA	(1ULL << 40)	/* user_data of the server's pipe read */

static struct io_uring ring;	/* control commands, SQE128 */
static unsigned int dev_depth = TEST_DEPTH;	/* of new devices and their servers */
static int ctrl_fd;
static uint64_t next_data = 1;

/* Completions that arrived while another command was waited for. */
static struct { uint64_t data; int res; } early[32];
static unsigned int nr_early;

static uint64_t ctrl_submit(unsigned int op, const struct ublksrv_ctrl_cmd *c)
{
	uint64_t data = next_data++;
	struct io_uring_sqe *sqe = uring_cmd_sqe(&ring, ctrl_fd, op, data);

	memcpy(sqe->cmd, c, sizeof(*c));
	io_uring_submit(&ring);
	return data;
}

static int take_early(uint64_t data, int *res)
{
	unsigned int i;

	for (i = 0; i < nr_early; i++) {
		if (early[i].data == data) {
			*res = early[i].res;
			early[i] = early[--nr_early];
			return 1;
		}
	}
	return 0;
}

/* The result of command @data, or -ETIME when it took over @secs seconds. */
static int ctrl_wait(uint64_t data, int secs)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	struct io_uring_cqe *cqe;
	int res, waited = 0;

	while (!take_early(data, &res)) {
		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) {
			if (++waited >= secs)
				return -ETIME;
			continue;
		}
		if (nr_early < sizeof(early) / sizeof(early[0])) {
			early[nr_early].data = cqe->user_data;
			early[nr_early++].res = cqe->res;
		}
		io_uring_cqe_seen(&ring, cqe);
	}
	return res;
}

static int ctrl(unsigned int op, struct ublksrv_ctrl_cmd c, int secs)
{
	return ctrl_wait(ctrl_submit(op, &c), secs);
}

static int simple(unsigned int op, unsigned int id, __u64 data0)
{
	struct ublksrv_ctrl_cmd c = cmd_for(id, NULL, 0);

	c.data[0] = data0;
	return ctrl(op, c, 20);
}

static int add_dev(struct ublksrv_ctrl_dev_info *info)
{
	return ctrl(UBLK_U_CMD_ADD_DEV, cmd_for(info->dev_id, info, sizeof(*info)), 10);
}

static int set_params(unsigned int id, struct ublk_params *p)
{
	return ctrl(UBLK_U_CMD_SET_PARAMS, cmd_for(id, p, sizeof(*p)), 10);
}

static int get_params(unsigned int id, struct ublk_params *p)
{
	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	return ctrl(UBLK_U_CMD_GET_PARAMS, cmd_for(id, p, sizeof(*p)), 10);
}

static int dev_state(unsigned int id)
{
	struct ublksrv_ctrl_dev_info info;
	int ret = ctrl(UBLK_U_CMD_GET_DEV_INFO, cmd_for(id, &info, sizeof(info)), 10);

	return ret < 0 ? ret : info.state;
}

static int disk_exists(unsigned int id)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/ublkb%u", id);
	return access(path, F_OK) == 0;
}

/* A device of our test geometry with params set; 0 or -errno. */
static int new_dev(unsigned int id, __u64 flags, struct ublk_params *p)
{
	struct ublksrv_ctrl_dev_info info = dev_info_for(id, flags);
	struct ublk_params dflt = good_params();
	int ret;

	info.queue_depth = dev_depth;
	ret = add_dev(&info);

	if (ret)
		return ret;
	return set_params(id, p ? p : &dflt);
}

/*
 * A server: a child process with its own ring that fetches every tag of
 * queue 0 and answers like a null device. The test steers it with bytes
 * on a pipe and reads its reports from another.
 */
enum { SRV_DELAY_FETCH = 1, SRV_LINGER = 2, SRV_THREAD = 4 };

struct report { int kind, a, b; };
enum { REP_OPEN = 1, REP_READY, REP_ABORTED, REP_GEOM, REP_HELD };

struct srv {
	pid_t pid;
	int cmd_w, rep_r;
};

/* The state one server child keeps. */
struct srv_ctx {
	unsigned int id;
	int mode, cmd_fd, rep_fd, cdev;
	struct io_uring r;
	const struct ublksrv_io_desc *descs;
	unsigned int depth;
	unsigned char **bufs;
	char cmd_byte;
	int partial;		/* commit the next read short, report the retry */
	int retry_watch;	/* the next request's geometry is reported */
	volatile int hold;	/* requests are kept, not answered */
	volatile int die_next;	/* ... and the serving thread exits holding every tag */
	unsigned int held, *held_tags;
	int aborted;
};

static void report(struct srv_ctx *s, int kind, int a, int b)
{
	struct report rep = { kind, a, b };

	if (write(s->rep_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(4);
}

static void srv_queue_io(struct srv_ctx *s, unsigned int op, unsigned int tag, int res)
{
	struct io_uring_sqe *sqe = uring_cmd_sqe(&s->r, s->cdev, op, tag);
	struct ublksrv_io_cmd *cmd = (struct ublksrv_io_cmd *)sqe->cmd;

	cmd->q_id = 0;
	cmd->tag = tag;
	cmd->result = res;
	cmd->addr = (uintptr_t)s->bufs[tag];
}

static void srv_fetch_all(struct srv_ctx *s)
{
	unsigned int tag;

	for (tag = 0; tag < s->depth; tag++)
		srv_queue_io(s, UBLK_U_IO_FETCH_REQ, tag, 0);
	io_uring_submit(&s->r);
	report(s, REP_READY, 0, 0);
}

static void srv_read_cmd(struct srv_ctx *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->r);

	io_uring_prep_read(sqe, s->cmd_fd, &s->cmd_byte, 1, 0);
	sqe->user_data = CMD_DATA;
	io_uring_submit(&s->r);
}

static void srv_serve(struct srv_ctx *s, unsigned int tag)
{
	const struct ublksrv_io_desc *iod = &s->descs[tag];
	unsigned int op = ublksrv_get_op(iod);
	int res = 0;

	if (s->hold) {
		s->held_tags[s->held] = tag;
		if (++s->held < s->depth)
			return;
		if (s->die_next)
			pthread_exit(NULL);
		report(s, REP_HELD, s->held, 0);
		return;
	}
	if (s->retry_watch) {
		report(s, REP_GEOM, iod->start_sector, iod->nr_sectors);
		s->retry_watch = 0;
	}
	if (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE)
		res = iod->nr_sectors << 9;
	if (op == UBLK_IO_OP_READ) {
		memset(s->bufs[tag], PATTERN, res);
		if (s->partial) {
			res = 1000;	/* not a whole sector */
			s->partial = 0;
			s->retry_watch = 1;
		}
	}
	srv_queue_io(s, UBLK_U_IO_COMMIT_AND_FETCH_REQ, tag, res);
	io_uring_submit(&s->r);
}

static void srv_command(struct srv_ctx *s, char c)
{
	switch (c) {
	case 'f':
		srv_fetch_all(s);
		break;
	case 'p':
		s->partial = 1;
		break;
	case 'h':
		s->hold = 1;
		break;
	case 'r':	/* answer what is held, then serve as before */
		s->hold = 0;
		while (s->held)
			srv_serve(s, s->held_tags[--s->held]);
		break;
	default:
		_exit(0);
	}
}

static void *srv_loop(void *arg)
{
	struct srv_ctx *s = arg;
	struct __kernel_timespec ts = { .tv_sec = 60 };
	struct io_uring_cqe *cqe;
	uint64_t data;
	int res;

	if (io_uring_queue_init(2 * s->depth + 4, &s->r, IORING_SETUP_SQE128) < 0)
		_exit(2);
	if (!(s->mode & SRV_DELAY_FETCH))
		srv_fetch_all(s);
	if (!(s->mode & SRV_THREAD))
		srv_read_cmd(s);
	for (;;) {
		if (io_uring_wait_cqe_timeout(&s->r, &cqe, &ts))
			_exit(3);	/* nothing for a minute: the test is gone */
		data = cqe->user_data;
		res = cqe->res;
		io_uring_cqe_seen(&s->r, cqe);
		if (data == CMD_DATA) {
			srv_command(s, res == 1 ? s->cmd_byte : 'q');
			srv_read_cmd(s);
		} else if (res == UBLK_IO_RES_OK) {
			srv_serve(s, data);
		} else if (++s->aborted == (int)s->depth) {
			report(s, REP_ABORTED, s->aborted, res);
			if (!(s->mode & SRV_LINGER))
				_exit(0);
		}
	}
	return NULL;
}

static void srv_main(struct srv_ctx *s)
{
	char path[32];
	pthread_t t;
	unsigned int i;
	char c;

	snprintf(path, sizeof(path), "/dev/ublkc%u", s->id);
	s->cdev = open(path, O_RDWR);
	s->descs = mmap(NULL, 4096, PROT_READ, MAP_SHARED, s->cdev, UBLKSRV_CMD_BUF_OFFSET);
	if (s->cdev < 0 || s->descs == MAP_FAILED)
		_exit(1);
	report(s, REP_OPEN, 0, 0);
	s->bufs = calloc(s->depth, sizeof(*s->bufs));
	s->held_tags = calloc(s->depth, sizeof(*s->held_tags));
	if (!s->held_tags)
		_exit(1);
	for (i = 0; s->bufs && i < s->depth; i++)
		if (posix_memalign((void **)&s->bufs[i], 4096, TEST_BUF_BYTES))
			_exit(1);
	if (!(s->mode & SRV_THREAD)) {
		srv_loop(s);
		_exit(0);
	}
	/* the serving thread may die; this one keeps the process alive */
	pthread_create(&t, NULL, srv_loop, s);
	while (read(s->cmd_fd, &c, 1) == 1 && c == 'd') {
		s->die_next = 1;
		s->hold = 1;
	}
	_exit(0);
}

static struct srv srv_start(unsigned int id, int mode)
{
	struct srv srv = { .pid = -1 };
	int cmd[2], rep[2];

	if (pipe(cmd) || pipe(rep))
		return srv;
	srv.pid = fork();
	if (srv.pid == 0) {
		struct srv_ctx s = { .id = id, .mode = mode, .cmd_fd = cmd[0], .rep_fd = rep[1],
				     .depth = dev_depth };

		close(cmd[1]);
		close(rep[0]);
		close(ring.ring_fd);	/* the parent's control ring is not ours */
		srv_main(&s);
	}
	close(cmd[0]);
	close(rep[1]);
	srv.cmd_w = cmd[1];
	srv.rep_r = rep[0];
	return srv;
}

static void on_alarm(int sig)
{
}

/* The server's next report of @kind, or kind 0 after @secs seconds. */
static struct report srv_report(struct srv *srv, int kind, unsigned int secs)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct report rep = { 0 };

	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
	while (read(srv->rep_r, &rep, sizeof(rep)) == sizeof(rep) && rep.kind != kind)
		;
	alarm(0);
	if (rep.kind != kind)
		rep.kind = 0;
	return rep;
}

static void srv_send(struct srv *srv, char c)
{
	if (write(srv->cmd_w, &c, 1) != 1)
		perror("ublk-defects: server pipe");
}

/* Kills the server (if still there) and reaps it. */
static void srv_end(struct srv *srv)
{
	if (srv->pid > 0) {
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, NULL, 0);
	}
	close(srv->cmd_w);
	close(srv->rep_r);
	srv->pid = -1;
}

/* Deletes @id; a hang is killed off (the server first) and reported. */
static void del_dev(unsigned int id, struct srv *srv)
{
	uint64_t data = ctrl_submit(UBLK_U_CMD_DEL_DEV, &(struct ublksrv_ctrl_cmd){
		.dev_id = id, .queue_id = (__u16)-1 });
	int ret = ctrl_wait(data, 20);

	if (ret == -ETIME && srv && srv->pid > 0) {
		srv_end(srv);
		ret = ctrl_wait(data, 20);
	}
	check("DEL_DEV completes", ret, 0);
	if (srv && srv->pid > 0)
		srv_end(srv);
}

/* What an IO child does on /dev/ublkbN. */
enum io_kind { READ_4K, READ_256K, READ_LOOP, READ_MANY };

/* READ_MANY: 64 reads of 4 KiB in flight at once; the first error. */
static int read_many(int fd)
{
	struct io_uring r;
	struct io_uring_cqe *cqe;
	unsigned char *b;
	int i, ret = 0;

	if (io_uring_queue_init(64, &r, 0) < 0 || posix_memalign((void **)&b, 4096, 64 * 4096))
		return -ENOMEM;
	for (i = 0; i < 64; i++)
		io_uring_prep_read(io_uring_get_sqe(&r), fd, b + i * 4096, 4096, i * 8192);
	io_uring_submit(&r);
	for (i = 0; i < 64; i++) {
		if (io_uring_wait_cqe(&r, &cqe))
			return -EINTR;
		if (cqe->res != 4096 && !ret)
			ret = cqe->res < 0 ? cqe->res : -EIO;
		io_uring_cqe_seen(&r, cqe);
	}
	return ret;
}

static int do_io(unsigned int id, enum io_kind kind)
{
	size_t len = kind == READ_256K ? 256 << 10 : 4096;
	unsigned char *b;
	char path[32];
	int fd, i;

	snprintf(path, sizeof(path), "/dev/ublkb%u", id);
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&b, 4096, len))
		return -errno;
	if (kind == READ_MANY)
		return read_many(fd);
	/* READ_LOOP reads until the device fails it, at most ~a minute */
	for (i = 0; i < (kind == READ_LOOP ? 1000000 : 1); i++) {
		if (pread(fd, b, len, (i % 64) * len) != (ssize_t)len)
			return -errno;
		if (b[0] != PATTERN || b[len - 1] != PATTERN)
			return -EILSEQ;
	}
	return 0;
}

/* Starts an IO child; its result comes through *@report_fd. */
static int start_io(unsigned int id, enum io_kind kind, int *report_fd)
{
	int fds[2], ret;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ring.ring_fd);
		ret = do_io(id, kind);
		_exit(write(fds[1], &ret, sizeof(ret)) == sizeof(ret) ? 0 : 1);
	}
	close(fds[1]);
	*report_fd = fds[0];
	return pid;
}

/* The IO child's result, or -ETIME after @secs (the child is then killed). */
static int io_result(int pid, int fd, unsigned int secs)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int ret = -ETIME;

	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
	if (read(fd, &ret, sizeof(ret)) != sizeof(ret))
		ret = -ETIME;
	alarm(0);
	close(fd);
	if (ret == -ETIME)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ret;
}

/* Starts device @id served by @srv; 0 or -errno. */
static int start_dev(unsigned int id, struct srv *srv)
{
	if (srv_report(srv, REP_READY, 10).kind != REP_READY)
		return -ENOTCONN;
	return simple(UBLK_U_CMD_START_DEV, id, srv->pid);
}

/* Defects 4 and 10: every bad parameter set is refused, nothing kept. */
static const char *const bad_param_names[] = {
	"chunk_sectors below the block size", "chunk_sectors not a power of 2",
	"discard of 2 segments", "discard without granularity",
	"segment size below a page", "DMA alignment of a page", "io_opt_shift 31",
	"max_sectors 0", "size not whole blocks", "size beyond a loff_t",
	"integrity params", "zoned params", "unknown attr", "physical block below logical",
};

static struct ublk_params params_4k(void)
{
	struct ublk_params p = good_params();

	p.basic.logical_bs_shift = 12;
	p.types |= UBLK_PARAM_TYPE_DISCARD;
	p.discard.discard_granularity = 4096;
	p.discard.max_discard_sectors = 1 << 16;
	p.discard.max_discard_segments = 1;
	return p;
}

static struct ublk_params bad_params(unsigned int i)
{
	struct ublk_params p = params_4k();

	switch (i) {
	case 0: p.basic.chunk_sectors = 1; break;
	case 1: p.basic.chunk_sectors = 24; break;
	case 2: p.discard.max_discard_segments = 2; break;
	case 3: p.discard.discard_granularity = 0; break;
	case 4:
		p.types |= UBLK_PARAM_TYPE_SEGMENT;
		p.seg = (struct ublk_param_segment){ .seg_boundary_mask = 4095,
			.max_segment_size = 2048, .max_segments = 4 };
		break;
	case 5:
		p.types |= UBLK_PARAM_TYPE_DMA_ALIGN;
		p.dma.alignment = 4096;
		break;
	case 6: p.basic.io_opt_shift = 31; break;
	case 7: p.basic.max_sectors = 0; break;
	case 8: p.basic.dev_sectors = (1 << 20) + 1; break;
	case 9: p.basic.dev_sectors = 1ULL << 60; break;
	case 10: p.types |= UBLK_PARAM_TYPE_INTEGRITY; break;
	case 11: p.types |= UBLK_PARAM_TYPE_ZONED; break;
	case 12: p.basic.attrs |= 1U << 10; break;
	default: p.basic.physical_bs_shift = 9; break;
	}
	return p;
}

static void check_params(void)
{
	struct ublk_params p = params_4k(), got;
	char what[96];
	unsigned int i;

	check("ADD_DEV and SET_PARAMS of a 4k device", new_dev(DEV_ID, 0, &p), 0);
	for (i = 0; i < sizeof(bad_param_names) / sizeof(bad_param_names[0]); i++) {
		p = bad_params(i);
		snprintf(what, sizeof(what), "SET_PARAMS %s", bad_param_names[i]);
		check(what, set_params(DEV_ID, &p), -EINVAL);
		get_params(DEV_ID, &got);
		snprintf(what, sizeof(what), "params kept after %s", bad_param_names[i]);
		check(what, got.basic.logical_bs_shift == 12 && got.basic.dev_sectors == 1 << 20 &&
		      got.discard.max_discard_segments == 1 && !got.basic.chunk_sectors, 1);
	}
	check("device still there", dev_state(DEV_ID), UBLK_S_DEV_DEAD);
	del_dev(DEV_ID, NULL);
}

/* The highest possible CPU + 1, as the kernel's nr_cpu_ids. */
static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int lo = 0, hi = 0, n;

	if (!f)
		return -1;
	n = fscanf(f, "%d-%d", &lo, &hi);
	fclose(f);
	return (n == 2 ? hi : lo) + 1;
}

/* Unimplemented flags are refused; queues are capped; big queues allocate. */
static void check_flags(void)
{
	static const struct { const char *name; __u64 flag; } unknown[] = {
		{ "SUPPORT_ZERO_COPY", UBLK_F_SUPPORT_ZERO_COPY },
		{ "AUTO_BUF_REG", UBLK_F_AUTO_BUF_REG },
		{ "PER_IO_DAEMON", UBLK_F_PER_IO_DAEMON },
		{ "BATCH_IO", UBLK_F_BATCH_IO },
		{ "INTEGRITY", UBLK_F_INTEGRITY },
		{ "ZONED", UBLK_F_ZONED },
	};
	struct ublksrv_ctrl_dev_info info;
	char what[64];
	unsigned int i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		info = dev_info_for(DEV_ID, unknown[i].flag);
		snprintf(what, sizeof(what), "ADD_DEV with %s", unknown[i].name);
		check(what, add_dev(&info), -EINVAL);
		snprintf(what, sizeof(what), "no device after %s", unknown[i].name);
		check(what, dev_state(DEV_ID), -ENODEV);
	}
	info = dev_info_for(DEV_ID, 0);
	info.nr_hw_queues = 64;
	check("ADD_DEV of 64 queues", add_dev(&info), 0);
	check("queues capped at the possible CPUs", info.nr_hw_queues, possible_cpus());
	del_dev(DEV_ID, NULL);
	info = dev_info_for(DEV_ID, 0);
	info.queue_depth = UBLK_MAX_QUEUE_DEPTH;
	check("ADD_DEV of the deepest queue", add_dev(&info), 0);
	del_dev(DEV_ID, NULL);
}

/* Defect 1: ids are looked up while ADD_DEV builds the device. */
static volatile int race_over;

static void *race_lookups(void *arg)
{
	static const unsigned int ops[] = {
		UBLK_U_CMD_GET_QUEUE_AFFINITY, UBLK_U_CMD_DEL_DEV_ASYNC,
		UBLK_U_CMD_GET_DEV_INFO, UBLK_U_CMD_START_DEV,
	};
	unsigned long *issued = arg;
	struct io_uring r;
	struct io_uring_cqe *cqe;
	unsigned char buf[1024];
	struct ublksrv_ctrl_cmd c;
	unsigned int i = 0;

	if (io_uring_queue_init(4, &r, IORING_SETUP_SQE128) < 0)
		return NULL;
	while (!race_over) {
		c = cmd_for(DEV_ID + 1, buf, sizeof(buf));
		c.data[0] = (i & 3) == 3 ? 1 : 0;	/* START_DEV: a pid */
		memcpy(uring_cmd_sqe(&r, ctrl_fd, ops[i++ & 3], 0)->cmd, &c, sizeof(c));
		io_uring_submit_and_wait(&r, 1);
		if (io_uring_peek_cqe(&r, &cqe) == 0)
			io_uring_cqe_seen(&r, cqe);
		(*issued)++;
	}
	io_uring_queue_exit(&r);
	return NULL;
}

static void check_add_race(void)
{
	struct ublksrv_ctrl_dev_info info;
	unsigned long lookups = 0, adds = 0, bad = 0;
	time_t end = time(NULL) + 8;
	pthread_t t;
	int ret;

	race_over = 0;
	pthread_create(&t, NULL, race_lookups, &lookups);
	while (time(NULL) < end) {
		info = dev_info_for(DEV_ID + 1, 0);
		info.nr_hw_queues = 2;
		info.queue_depth = 256;
		ret = add_dev(&info);
		if (ret == 0)
			adds++;
		else if (ret != -EEXIST)
			bad++;
		simple(UBLK_U_CMD_DEL_DEV_ASYNC, DEV_ID + 1, 0);
	}
	race_over = 1;
	pthread_join(t, NULL);
	printf("-- %lu devices added, %lu lookups meanwhile\n", adds, lookups);
	check("ADD_DEV during lookups: only 0 or EEXIST", bad, 0);
	check("some ADD_DEV succeeded", adds > 0, 1);
	simple(UBLK_U_CMD_DEL_DEV, DEV_ID + 1, 0);
	check("nothing left", dev_state(DEV_ID + 1), -ENODEV);
}

/* Defect 2: START_DEV waiting for fetches while DEL_DEV_ASYNC runs. */
static void check_start_vs_del(void)
{
	struct srv srv;
	uint64_t start;

	check("new device", new_dev(DEV_ID, 0, NULL), 0);
	srv = srv_start(DEV_ID, SRV_DELAY_FETCH);
	check("server opened /dev/ublkcN", srv_report(&srv, REP_OPEN, 10).kind, REP_OPEN);
	start = ctrl_submit(UBLK_U_CMD_START_DEV, &(struct ublksrv_ctrl_cmd){
		.dev_id = DEV_ID, .queue_id = (__u16)-1, .data = { srv.pid } });
	usleep(300000);		/* START_DEV now waits for the fetches */
	check("DEL_DEV_ASYNC", simple(UBLK_U_CMD_DEL_DEV_ASYNC, DEV_ID, 0), 0);
	srv_send(&srv, 'f');
	check("START_DEV of a deleted device fails", ctrl_wait(start, 20) < 0, 1);
	check("no disk for a deleted device", disk_exists(DEV_ID), 0);
	srv_end(&srv);
	check("device gone", dev_state(DEV_ID), -ENODEV);
}

/* Defect 7: STOP or DEL before START ends the server's fetches. */
static void check_stop_unstarted(void)
{
	struct srv srv;
	uint64_t del;
	int ret;

	check("new device", new_dev(DEV_ID, 0, NULL), 0);
	srv = srv_start(DEV_ID, 0);
	check("server fetched", srv_report(&srv, REP_READY, 10).kind, REP_READY);
	check("STOP_DEV before START", simple(UBLK_U_CMD_STOP_DEV, DEV_ID, 0), 0);
	check("STOP_DEV ended the fetches", srv_report(&srv, REP_ABORTED, 10).kind, REP_ABORTED);
	srv_end(&srv);
	/* a new server after the stop, then a synchronous DEL_DEV */
	srv = srv_start(DEV_ID, 0);
	check("second server fetched", srv_report(&srv, REP_READY, 10).kind, REP_READY);
	del = ctrl_submit(UBLK_U_CMD_DEL_DEV, &(struct ublksrv_ctrl_cmd){ .dev_id = DEV_ID, .queue_id = (__u16)-1 });
	check("DEL_DEV ended the fetches", srv_report(&srv, REP_ABORTED, 10).kind, REP_ABORTED);
	ret = ctrl_wait(del, 30);
	check("DEL_DEV of a device never started returns", ret, 0);
	srv_end(&srv);
	if (ret == -ETIME)
		ctrl_wait(del, 20);
}

/* Defect 8: START_DEV after STOP_DEV by the same server is refused. */
static void check_start_after_stop(void)
{
	struct srv srv;

	check("new device", new_dev(DEV_ID, 0, NULL), 0);
	srv = srv_start(DEV_ID, SRV_LINGER);
	check("START_DEV", start_dev(DEV_ID, &srv), 0);
	check("STOP_DEV", simple(UBLK_U_CMD_STOP_DEV, DEV_ID, 0), 0);
	check("the server's fetches ended", srv_report(&srv, REP_ABORTED, 10).kind, REP_ABORTED);
	check("START_DEV again by the stopped server", simple(UBLK_U_CMD_START_DEV, DEV_ID, srv.pid), -ENODEV);
	check("no disk", disk_exists(DEV_ID), 0);
	srv_end(&srv);
	del_dev(DEV_ID, NULL);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -EIO;
}

/* Defect 5: the serving thread dies holding every tag; its process lives. */
static void check_thread_death(void)
{
	char path[64];
	struct srv srv;
	int pid, fd;

	check("new device", new_dev(DEV_ID, 0, NULL), 0);
	srv = srv_start(DEV_ID, SRV_THREAD);
	check("START_DEV", start_dev(DEV_ID, &srv), 0);
	snprintf(path, sizeof(path), "/sys/block/ublkb%u/queue/io_timeout", DEV_ID);
	check("io_timeout 1 s", write_file(path, "1000"), 0);
	srv_send(&srv, 'd');
	usleep(100000);
	pid = start_io(DEV_ID, READ_256K, &fd);
	check("IO held by a dead thread fails", io_result(pid, fd, 30), -EIO);
	srv_end(&srv);
	del_dev(DEV_ID, NULL);
}

/* Defect 12: a result that is not whole sectors counts whole blocks only. */
static void check_partial(void)
{
	struct report rep;
	struct srv srv;
	int pid, fd;

	check("new device", new_dev(DEV_ID, 0, NULL), 0);
	srv = srv_start(DEV_ID, 0);
	check("START_DEV", start_dev(DEV_ID, &srv), 0);
	srv_send(&srv, 'p');
	usleep(100000);
	pid = start_io(DEV_ID, READ_4K, &fd);
	rep = srv_report(&srv, REP_GEOM, 10);
	check("the rest of a 1000-byte answer comes again", rep.kind, REP_GEOM);
	check("from sector 1", rep.a, 1);
	check("over 7 sectors", rep.b, 7);
	check("the read completes with the data", io_result(pid, fd, 20), 0);
	srv_end(&srv);
	del_dev(DEV_ID, NULL);
}

/* Defect 11: UPDATE_SIZE is checked and really resizes the disk. */
static void check_update_size(void)
{
	struct ublk_params p = params_4k();
	unsigned long long bytes = 0;
	char path[32];
	struct srv srv;
	int fd;

	check("new device", new_dev(DEV_ID, UBLK_F_UPDATE_SIZE, &p), 0);
	check("UPDATE_SIZE before START", simple(UBLK_U_CMD_UPDATE_SIZE, DEV_ID, 1 << 19), -ENODEV);
	srv = srv_start(DEV_ID, 0);
	check("START_DEV", start_dev(DEV_ID, &srv), 0);
	check("UPDATE_SIZE not whole blocks", simple(UBLK_U_CMD_UPDATE_SIZE, DEV_ID, (1 << 19) + 1), -EINVAL);
	check("UPDATE_SIZE beyond a loff_t", simple(UBLK_U_CMD_UPDATE_SIZE, DEV_ID, 1ULL << 62), -EINVAL);
	check("UPDATE_SIZE to half", simple(UBLK_U_CMD_UPDATE_SIZE, DEV_ID, 1 << 19), 0);
	snprintf(path, sizeof(path), "/dev/ublkb%u", DEV_ID);
	fd = open(path, O_RDONLY);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes))
		bytes = 0;
	if (fd >= 0)
		close(fd);
	check("the disk has the new size", bytes, (1ULL << 19) * 512);
	get_params(DEV_ID, &p);
	check("GET_PARAMS has the new size", p.basic.dev_sectors, 1 << 19);
	srv_end(&srv);
	del_dev(DEV_ID, NULL);
}

/*
 * Defect 3: a reissue device whose dead server held every tag, deleted at
 * once: the death work requeues what STOP_DEV's own pass has not reached
 * yet, and each of those must still run (and fail) for del_gendisk().
 */
static void check_requeue_stop(void)
{
	struct srv srv;
	int round, pid, fd;

	dev_depth = 64;
	for (round = 0; round < 6; round++) {
		check("new recoverable device", new_dev(DEV_ID, UBLK_F_USER_RECOVERY |
			UBLK_F_USER_RECOVERY_REISSUE, NULL), 0);
		srv = srv_start(DEV_ID, 0);
		check("START_DEV", start_dev(DEV_ID, &srv), 0);
		srv_send(&srv, 'h');
		usleep(100000);
		pid = start_io(DEV_ID, READ_MANY, &fd);
		check("the server holds every tag", srv_report(&srv, REP_HELD, 20).kind, REP_HELD);
		kill(srv.pid, SIGKILL);
		/* odd rounds delete at once, even ones once the death work ran */
		if (!(round & 1))
			usleep(200000);
		del_dev(DEV_ID, &srv);
		check("reader ends with EIO, not a hang", io_result(pid, fd, 20), -EIO);
	}
	dev_depth = TEST_DEPTH;
}

/* START_USER_RECOVERY once the old server's /dev/ublkcN has closed. */
static int start_recovery(unsigned int id)
{
	int ret, tries;

	for (tries = 0; tries < 100; tries++) {
		ret = simple(UBLK_U_CMD_START_USER_RECOVERY, id, 0);
		if (ret != -EBUSY)
			break;
		usleep(100000);
	}
	return ret;
}

/*
 * QUIESCE_DEV, upgrade's command: refused where it cannot apply; while
 * the server holds IO it waits, bounded by its timeout (the device then
 * stays LIVE); once the server has answered, the device is QUIESCED, the
 * server's fetches end and nothing has failed: the reads still queued are
 * served by the next server.
 */
static void check_quiesce(void)
{
	__u64 flags = UBLK_F_USER_RECOVERY | UBLK_F_QUIESCE;
	struct srv srv;
	uint64_t quiesce;
	int pid, fd;

	check("QUIESCE without recovery refused", new_dev(DEV_ID, UBLK_F_QUIESCE, NULL), -EINVAL);
	check("new device without QUIESCE", new_dev(DEV_ID, UBLK_F_USER_RECOVERY, NULL), 0);
	check("QUIESCE_DEV without the flag", simple(UBLK_U_CMD_QUIESCE_DEV, DEV_ID, 500), -EOPNOTSUPP);
	del_dev(DEV_ID, NULL);
	check("new device with QUIESCE", new_dev(DEV_ID, flags, NULL), 0);
	check("QUIESCE_DEV before START", simple(UBLK_U_CMD_QUIESCE_DEV, DEV_ID, 500), -ENODEV);
	srv = srv_start(DEV_ID, SRV_LINGER);
	check("START_DEV", start_dev(DEV_ID, &srv), 0);
	srv_send(&srv, 'h');
	usleep(100000);
	pid = start_io(DEV_ID, READ_MANY, &fd);
	check("the server holds every tag", srv_report(&srv, REP_HELD, 20).kind, REP_HELD);
	check("QUIESCE_DEV gives up after its timeout", simple(UBLK_U_CMD_QUIESCE_DEV, DEV_ID, 500), -ETIMEDOUT);
	check("... leaving the device LIVE", dev_state(DEV_ID), UBLK_S_DEV_LIVE);
	quiesce = ctrl_submit(UBLK_U_CMD_QUIESCE_DEV, &(struct ublksrv_ctrl_cmd){
		.dev_id = DEV_ID, .queue_id = (__u16)-1, .data = { 20000 } });
	check("QUIESCE_DEV waits while IO is held", ctrl_wait(quiesce, 1), -ETIME);
	srv_send(&srv, 'r');
	check("QUIESCE_DEV once the server answered", ctrl_wait(quiesce, 20), 0);
	check("the server's fetches ended", srv_report(&srv, REP_ABORTED, 10).kind, REP_ABORTED);
	check("QUIESCED", dev_state(DEV_ID), UBLK_S_DEV_QUIESCED);
	check("QUIESCE_DEV again: already so", simple(UBLK_U_CMD_QUIESCE_DEV, DEV_ID, 500), 0);
	srv_end(&srv);
	check("START_USER_RECOVERY", start_recovery(DEV_ID), 0);
	srv = srv_start(DEV_ID, 0);
	check("new server fetched", srv_report(&srv, REP_READY, 10).kind, REP_READY);
	check("END_USER_RECOVERY", simple(UBLK_U_CMD_END_USER_RECOVERY, DEV_ID, srv.pid), 0);
	check("every read served, none failed", io_result(pid, fd, 30), 0);
	del_dev(DEV_ID, &srv);
}

/* The test knob that makes a chosen control command stall until cleared. */
static void check_stall_knob(void)
{
	static const char knob[] = "/sys/module/ublk_drv/parameters/debug_stall_cmd";
	struct ublksrv_ctrl_dev_info info = dev_info_for(DEV_ID, 0);
	char nr[8];
	uint64_t add;

	snprintf(nr, sizeof(nr), "%u", UBLK_CMD_ADD_DEV);
	check("debug_stall_cmd set to ADD_DEV", write_file(knob, nr), 0);
	add = ctrl_submit(UBLK_U_CMD_ADD_DEV, &(struct ublksrv_ctrl_cmd){ .dev_id = DEV_ID,
		.queue_id = (__u16)-1, .addr = (uintptr_t)&info, .len = sizeof(info) });
	check("ADD_DEV stalls", ctrl_wait(add, 2), -ETIME);
	check("debug_stall_cmd cleared", write_file(knob, "0"), 0);
	check("ADD_DEV completes once cleared", ctrl_wait(add, 10), 0);
	del_dev(DEV_ID, NULL);
}

/*
 * Defect 6: START_DEV with one of its allocations failed (failslab, on the
 * kernels that have it: the debug kernel), at random, 150 times. Whatever
 * START_DEV does after add_disk() took its reference, a failure must not
 * keep the device: DEL_DEV frees it at once.
 */
static int failslab(const char *name, const char *val)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/debug/failslab/%s", name);
	return write_file(path, val);
}

/*
 * START_DEV from a child whose allocations (and those of the io-wq worker
 * that runs the command, created after) failslab may fail: 0, -1 when it
 * failed, or 1000 + the step of the child's own set-up that failed.
 */
static int start_failing(unsigned int id, pid_t srv_pid)
{
	struct io_uring_cqe *cqe;
	struct io_uring r;
	int status, res = -ECHILD;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct ublksrv_ctrl_cmd c = cmd_for(id, NULL, 0);

		if (io_uring_queue_init(4, &r, IORING_SETUP_SQE128) < 0)
			_exit(101);
		if (write_file("/proc/self/make-it-fail", "1"))
			_exit(102);
		c.data[0] = srv_pid;
		memcpy(uring_cmd_sqe(&r, ctrl_fd, UBLK_U_CMD_START_DEV, 1)->cmd, &c, sizeof(c));
		if (io_uring_submit_and_wait(&r, 1) < 0 || io_uring_peek_cqe(&r, &cqe))
			_exit(103);
		_exit(cqe->res < 0 ? 1 : cqe->res ? 104 : 0);
	}
	alarm(30);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		res = WEXITSTATUS(status) > 100 ? 1000 + WEXITSTATUS(status) : -WEXITSTATUS(status);
	alarm(0);
	return res;
}

static void check_alloc_fail(void)
{
	unsigned int round, failed = 0, started = 0, kept = 0, setup = 0;
	struct srv srv;
	int ret;

	check("failslab: 10% of this test's allocations, once per START_DEV",
	      failslab("task-filter", "Y") || failslab("probability", "10") ||
	      failslab("interval", "1") || failslab("ignore-gfp-wait", "N") ||
	      failslab("verbose", "0"), 0);
	for (round = 0; round < 150; round++) {
		if (new_dev(DEV_ID, 0, NULL))
			break;
		srv = srv_start(DEV_ID, 0);
		if (srv_report(&srv, REP_READY, 10).kind != REP_READY)
			break;
		failslab("times", "1");
		ret = start_failing(DEV_ID, srv.pid);
		failslab("times", "0");
		if (ret >= 1000 && !setup++)
			printf("-- set-up step %d of the START_DEV child failed\n", ret - 1000);
		started += ret == 0;
		failed += ret < 0;
		srv_end(&srv);
		if (simple(UBLK_U_CMD_DEL_DEV, DEV_ID, 0) != 0 || dev_state(DEV_ID) != -ENODEV)
			kept++;
	}
	printf("-- %u rounds: START_DEV failed %u times, got through %u times\n",
	       round, failed, started);
	check("150 rounds", round, 150);
	check("the START_DEV child set itself up", setup, 0);
	check("START_DEV failed in some rounds", failed > 0, 1);
	check("START_DEV got through in some rounds", started > 0, 1);
	check("every device freed by DEL_DEV", kept, 0);
}

/*
 * Whether id @id can be added again within @secs seconds. A device deleted
 * asynchronously keeps its id until its last user lets go (the server's
 * ring is torn down after the server has exited), so this waits for that.
 */
static int id_frees(unsigned int id, int secs)
{
	struct ublksrv_ctrl_dev_info info;
	int ret, tries;

	for (tries = 0; tries < secs * 10; tries++) {
		info = dev_info_for(id, 0);
		ret = add_dev(&info);
		if (ret != -EEXIST)
			return ret == 0 ? simple(UBLK_U_CMD_DEL_DEV, id, 0) == 0 : 0;
		usleep(100000);
	}
	return 0;
}

/* What check @name left must not fail the next one too. */
static void settle(const char *name)
{
	char what[96];
	unsigned int id;

	for (id = DEV_ID; id <= DEV_ID + 1; id++) {
		simple(UBLK_U_CMD_DEL_DEV, id, 0);
		snprintf(what, sizeof(what), "%s: id %u free again", name, id);
		check(what, id_frees(id, 60), 1);
	}
}

/* Run by default, or (explicit) only when named. */
static const struct { const char *name; void (*run)(void); int explicit; } checks[] = {
	{ "params", check_params, 0 },
	{ "flags", check_flags, 0 },
	{ "add_race", check_add_race, 0 },
	{ "start_vs_del", check_start_vs_del, 0 },
	{ "stop_unstarted", check_stop_unstarted, 0 },
	{ "start_after_stop", check_start_after_stop, 0 },
	{ "thread_death", check_thread_death, 0 },
	{ "partial", check_partial, 0 },
	{ "update_size", check_update_size, 0 },
	{ "requeue_stop", check_requeue_stop, 0 },
	{ "stall_knob", check_stall_knob, 0 },
	{ "quiesce", check_quiesce, 0 },
	{ "alloc_fail", check_alloc_fail, 1 },
};


int main(int argc, char **argv)
{
	unsigned int i;
	int ran = 0, a;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	ctrl_fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
	if (init_failures() || ctrl_fd < 0 ||
	    io_uring_queue_init(32, &ring, IORING_SETUP_SQE128) < 0) {
		perror("ublk-defects: setup");
		return 1;
	}
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		for (a = 1; a < argc && strcmp(argv[a], checks[i].name); a++)
			;
		if (argc > 1 ? a == argc : checks[i].explicit)
			continue;
		printf("== %s\n", checks[i].name);
		checks[i].run();
		ran++;
		settle(checks[i].name);
	}
	printf("%s: %d checks run, %d failed\n", *failures ? "FAIL" : "PASS", ran, *failures);
	return *failures || !ran ? 1 : 0;
}
