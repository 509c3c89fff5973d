// SPDX-License-Identifier: MIT
/*
 * ublk-stress: stress tests of a ublk driver, written from the UAPI
 * (linux/ublk_cmd.h) and the kernel's ublk documentation.
 *
 *   ublk-stress torture [-t SECONDS] [-s SEED]
 *	random control commands from several threads on ids 0..3 while
 *	servers come, serve and die at random points, and IO runs on the
 *	block devices that exist
 *   ublk-stress kill-many
 *	devices served by more threads than queues, every server SIGKILLed
 *	under IO, a few rounds
 *   ublk-stress spread-del
 *	the tags of one queue fetched by several threads, the devices
 *	deleted during IO
 *
 * Every control command is bounded: one not answered within HANG_MS is
 * reported as "FAIL hang: <cmd> id N" and fails the run. Errors from the
 * driver (EINVAL, EBUSY, ENODEV, ...) are fine; hangs, crashes and devices
 * left behind are not. Lines starting with "FAIL" name each failure; exit
 * status 0 only when there was none.
 *
 * Internal modes: "serve" (a server process) and "io" (an IO process).
 * They are started as new programs (fork + exec of /proc/self/exe), so
 * they share no ring or mapping with the tester and a SIGKILL takes only
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/fs.h>
#include <linux/ublk_cmd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HANG_MS		30000	/* a command not answered by then hangs */
#define CANCEL_MS	8000	/* START_DEV / END_USER_RECOVERY: give up waiting */
#define TICK_MS		50
#define FD_READY	100	/* a server child writes 'R' here once it fetched */
#define FD_REPORT	101	/* a server child's report lines */
#define MAX_QUEUES	8
#define MAX_THREADS	8	/* serving threads of one queue */
#define CANCEL_UD	(1ULL << 63)
#define CTL_HUNG	INT_MIN

static int failures;
static volatile int stop_all;	/* torture: every thread winds down */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	flockfile(stdout);
	fputs("FAIL ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	funlockfile(stdout);
	va_end(ap);
	__atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
}

/* xorshift64*: each thread its own, seeded from the run's seed */
struct rng {
	uint64_t s;
};

static uint32_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (r->s * 0x2545f4914f6cdd1dULL) >> 32;
}

static unsigned int pick(struct rng *r, unsigned int n)
{
	return n ? rnd(r) % n : 0;
}

static void rng_seed(struct rng *r, uint64_t seed, unsigned int stream)
{
	r->s = (seed + 1) * 0x9e3779b97f4a7c15ULL + stream * 0xbf58476d1ce4e5b9ULL;
	if (!r->s)
		r->s = 1;
	rnd(r);
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* An SQE128 ring that is not inherited by the programs we start. */
static int ring_init(struct io_uring *ring, unsigned int entries)
{
	int ret = io_uring_queue_init(entries, ring, IORING_SETUP_SQE128);

	if (ret == 0)
		fcntl(ring->ring_fd, F_SETFD, FD_CLOEXEC);
	return ret;
}

/* ---------------------------------------------------------------------
 * Control commands on /dev/ublk-control
 */

static const struct {
	unsigned int op;
	const char *name;
} op_names[] = {
	{ UBLK_U_CMD_ADD_DEV, "ADD_DEV" },
	{ UBLK_U_CMD_SET_PARAMS, "SET_PARAMS" },
	{ UBLK_U_CMD_START_DEV, "START_DEV" },
	{ UBLK_U_CMD_STOP_DEV, "STOP_DEV" },
	{ UBLK_U_CMD_DEL_DEV, "DEL_DEV" },
	{ UBLK_U_CMD_DEL_DEV_ASYNC, "DEL_DEV_ASYNC" },
	{ UBLK_U_CMD_GET_DEV_INFO, "GET_DEV_INFO" },
	{ UBLK_U_CMD_GET_DEV_INFO2, "GET_DEV_INFO2" },
	{ UBLK_U_CMD_GET_PARAMS, "GET_PARAMS" },
	{ UBLK_U_CMD_GET_QUEUE_AFFINITY, "GET_QUEUE_AFFINITY" },
	{ UBLK_U_CMD_START_USER_RECOVERY, "START_USER_RECOVERY" },
	{ UBLK_U_CMD_END_USER_RECOVERY, "END_USER_RECOVERY" },
	{ UBLK_U_CMD_UPDATE_SIZE, "UPDATE_SIZE" },
	{ UBLK_U_CMD_GET_FEATURES, "GET_FEATURES" },
};
#define NR_OPS (sizeof(op_names) / sizeof(op_names[0]))

static long op_sent[NR_OPS], op_ok[NR_OPS];
static long n_cmds, n_cancels;

static unsigned int op_index(unsigned int op)
{
	unsigned int i;

	for (i = 0; i < NR_OPS; i++)
		if (op_names[i].op == op)
			break;
	return i;
}

static const char *op_name(unsigned int op)
{
	unsigned int i = op_index(op);

	return i < NR_OPS ? op_names[i].name : "?";
}

struct ctl {
	struct io_uring ring;
	int fd;
	uint64_t seq;
	bool dead;		/* a command hung: the ring is not used again */
};

static int ctl_open(struct ctl *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	ret = ring_init(&c->ring, 16);
	if (ret) {
		close(c->fd);
		return ret;
	}
	return 0;
}

static void ctl_close(struct ctl *c)
{
	/* a hung command stays with the kernel; closing does not wait for it */
	io_uring_queue_exit(&c->ring);
	close(c->fd);
}

static void ctl_cancel(struct ctl *c, uint64_t which)
{
	struct io_uring_sqe *sqe = get_sqe(&c->ring);

	memset(sqe, 0, 2 * sizeof(*sqe));
	io_uring_prep_cancel64(sqe, which, 0);
	sqe->user_data = CANCEL_UD | which;
	__atomic_fetch_add(&n_cancels, 1, __ATOMIC_RELAXED);
}

/*
 * Sends one control command and waits for its answer, at most HANG_MS.
 * START_DEV and END_USER_RECOVERY wait until a server has fetched every
 * tag, which never happens when that server died first: like any caller
 * with a timeout, we cancel them after CANCEL_MS (the driver must then
 * answer, with -EINTR or so). A command still unanswered after HANG_MS
 * is reported as a hang and CTL_HUNG returned.
 */
static int ctl_cmd(struct ctl *c, unsigned int op, const struct ublksrv_ctrl_cmd *cmd)
{
	bool may_cancel = op == UBLK_U_CMD_START_DEV || op == UBLK_U_CMD_END_USER_RECOVERY;
	struct io_uring_sqe *sqe;
	uint64_t me = ++c->seq;
	long t0 = now_ms();
	bool cancelled = false;
	unsigned int i = op_index(op);

	if (c->dead)
		return CTL_HUNG;
	sqe = get_sqe(&c->ring);
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = op;
	sqe->user_data = me;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));
	__atomic_fetch_add(&n_cmds, 1, __ATOMIC_RELAXED);
	if (i < NR_OPS)
		__atomic_fetch_add(&op_sent[i], 1, __ATOMIC_RELAXED);

	for (;;) {
		struct __kernel_timespec ts = { .tv_nsec = TICK_MS * 1000000L };
		struct io_uring_cqe *cqe;
		long waited;
		int ret;

		io_uring_submit(&c->ring);
		ret = io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
		if (ret == 0) {
			uint64_t ud = cqe->user_data;
			int res = cqe->res;

			io_uring_cqe_seen(&c->ring, cqe);
			if (ud != me)
				continue;	/* a cancel's own answer */
			if (res == 0 && i < NR_OPS)
				__atomic_fetch_add(&op_ok[i], 1, __ATOMIC_RELAXED);
			return res;
		}
		if (ret != -ETIME && ret != -EINTR) {
			fail("io_uring wait for %s id %u: %s", op_name(op), cmd->dev_id, strerror(-ret));
			c->dead = true;
			return CTL_HUNG;
		}
		waited = now_ms() - t0;
		if (may_cancel && !cancelled && waited >= CANCEL_MS) {
			ctl_cancel(c, me);
			cancelled = true;
		}
		if (waited >= HANG_MS) {
			fail("hang: %s id %u (no answer after %ld s%s)", op_name(op), cmd->dev_id,
			     waited / 1000, cancelled ? ", cancelled" : "");
			c->dead = true;
			stop_all = 1;
			return CTL_HUNG;
		}
	}
}

static struct ublksrv_ctrl_cmd ctl_args(unsigned int id, void *buf, unsigned int len)
{
	struct ublksrv_ctrl_cmd c = {
		.dev_id = id, .queue_id = (__u16)-1, .addr = (uintptr_t)buf, .len = len,
	};
	return c;
}

static int ctl_simple(struct ctl *c, unsigned int op, unsigned int id, __u64 data0)
{
	struct ublksrv_ctrl_cmd cmd = ctl_args(id, NULL, 0);

	cmd.data[0] = data0;
	return ctl_cmd(c, op, &cmd);
}

static int ctl_add(struct ctl *c, unsigned int id, struct ublksrv_ctrl_dev_info *info)
{
	struct ublksrv_ctrl_cmd cmd = ctl_args(id, info, sizeof(*info));

	info->dev_id = id;	/* the in-tree driver wants both ids equal */
	return ctl_cmd(c, UBLK_U_CMD_ADD_DEV, &cmd);
}

static int ctl_info(struct ctl *c, unsigned int id, struct ublksrv_ctrl_dev_info *info)
{
	struct ublksrv_ctrl_cmd cmd = ctl_args(id, info, sizeof(*info));

	memset(info, 0, sizeof(*info));
	return ctl_cmd(c, UBLK_U_CMD_GET_DEV_INFO, &cmd);
}

static int ctl_set_params(struct ctl *c, unsigned int id, struct ublk_params *p)
{
	struct ublksrv_ctrl_cmd cmd = ctl_args(id, p, sizeof(*p));

	return ctl_cmd(c, UBLK_U_CMD_SET_PARAMS, &cmd);
}

static __u64 ctl_features(struct ctl *c)
{
	struct ublksrv_ctrl_cmd cmd;
	__u64 f = 0;

	cmd = ctl_args(0, &f, sizeof(f));
	return ctl_cmd(c, UBLK_U_CMD_GET_FEATURES, &cmd) == 0 ? f : 0;
}

/* Basic params: @bytes of device, IO up to @maxio bytes. */
static struct ublk_params basic_params(__u64 bytes, unsigned int maxio, unsigned int bs_shift)
{
	struct ublk_params p = {
		.len = sizeof(p),
		.types = UBLK_PARAM_TYPE_BASIC,
		.basic = {
			.logical_bs_shift = bs_shift, .physical_bs_shift = 12,
			.io_opt_shift = 12, .io_min_shift = bs_shift,
			.max_sectors = maxio >> 9, .dev_sectors = bytes >> 9,
		},
	};
	return p;
}

static const char *state_name(int st)
{
	switch (st) {
	case UBLK_S_DEV_DEAD: return "DEAD";
	case UBLK_S_DEV_LIVE: return "LIVE";
	case UBLK_S_DEV_QUIESCED: return "QUIESCED";
	case UBLK_S_DEV_FAIL_IO: return "FAIL_IO";
	}
	return "?";
}

/* ---------------------------------------------------------------------
 * Child processes
 */

/*
 * Starts this program again as @argv. The given pipe ends become
 * FD_READY and FD_REPORT in the child; every other descriptor of ours is
 * close-on-exec. Between fork and exec only async-signal-safe calls.
 */
static pid_t spawn(char *const argv[], int ready_fd, int report_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (ready_fd >= 0)
			dup2(ready_fd, FD_READY);
		if (report_fd >= 0)
			dup2(report_fd, FD_REPORT);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

/* Reaps @pid within @ms: its wait status, -1 if still running, -2 if gone. */
static int reap(pid_t pid, long ms)
{
	long end = now_ms() + ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -2;
		if (now_ms() >= end)
			return -1;
		nap_ms(20);
	}
}

/* Starts an IO process on /dev/ublkb@id for @secs seconds. */
static pid_t spawn_io(unsigned int id, unsigned int secs, uint32_t seed)
{
	char path[32], s[16], sd[16];
	char *argv[] = { "ublk-stress", "io", path, s, sd, NULL };

	snprintf(path, sizeof(path), "/dev/ublkb%u", id);
	snprintf(s, sizeof(s), "%u", secs);
	snprintf(sd, sizeof(sd), "%u", seed);
	return spawn(argv, -1, -1);
}

struct srv_args {
	unsigned int id, nq, depth, maxio;
	__u64 flags;
	unsigned int spread;	/* threads sharing queue 0's tags */
	unsigned int helpers;	/* extra threads doing the user copies */
	long life_ms;		/* the server's death (or plain exit) comes then */
	char death;		/* 'k' SIGKILL itself, 'c' close its rings, 'n' exit */
	const char *backing;	/* loop target's file, or NULL: null target */
};

/*
 * Starts a server process for the device. Returns its pid; *@ready_rd
 * gets the read end of its ready pipe, *@report_rd (when not NULL) the
 * read end of its report pipe.
 */
static pid_t spawn_server(const struct srv_args *a, uint32_t seed, int *ready_rd, int *report_rd)
{
	char v[10][24];
	char *argv[] = { "ublk-stress", "serve", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
			 v[8], v[9], (char *)(a->backing ? a->backing : "-"), NULL };
	int ready[2], report[2] = { -1, -1 };
	pid_t pid;

	snprintf(v[0], 24, "%u", a->id);
	snprintf(v[1], 24, "%u", a->nq);
	snprintf(v[2], 24, "%u", a->depth);
	snprintf(v[3], 24, "%llx", (unsigned long long)a->flags);
	snprintf(v[4], 24, "%u", a->maxio);
	snprintf(v[5], 24, "%u", a->spread);
	snprintf(v[6], 24, "%u", a->helpers);
	snprintf(v[7], 24, "%ld", a->life_ms);
	snprintf(v[8], 24, "%c", a->death);
	snprintf(v[9], 24, "%u", seed);
	if (pipe2(ready, O_CLOEXEC))
		return -1;
	if (report_rd && pipe2(report, O_CLOEXEC)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	pid = spawn(argv, ready[1], report[1]);
	close(ready[1]);
	if (report[1] >= 0)
		close(report[1]);
	*ready_rd = ready[0];
	if (report_rd)
		*report_rd = report[0];
	return pid;
}

/* Waits up to @ms for a server's 'R'; false when it died or took too long. */
static bool wait_ready(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, ms) != 1)
		return false;
	return read(fd, &c, 1) == 1 && c == 'R';
}

/* Requests completed so far on /dev/ublkb@id (reads + writes). */
static long io_done(unsigned int id)
{
	char path[48];
	long r = 0, x, w = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/ublkb%u/stat", id);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld %ld %ld %ld", &r, &x, &x, &x, &w) != 5)
		r = w = 0;
	fclose(f);
	return r + w;
}

/* ---------------------------------------------------------------------
 * "io" mode: random O_DIRECT reads and writes until an error or the time
 * is up. Exit 0: time up, 1: an IO failed, 2: no device.
 */
static int io_main(int argc, char **argv)
{
	unsigned long long size = 0;
	unsigned char *buf;
	struct rng r;
	long end;
	unsigned int n;
	int fd;

	if (argc != 5)
		return 2;
	end = now_ms() + atol(argv[3]) * 1000;
	rng_seed(&r, strtoul(argv[4], NULL, 0), getpid());
	fd = open(argv[2], O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return 2;
	if (ioctl(fd, BLKGETSIZE64, &size) || size < (256 << 10))
		return 2;
	buf = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 2;
	for (n = 0; now_ms() < end; n++) {
		size_t len = 4096 * (1 + pick(&r, 16));
		off_t off = (off_t)4096 * pick(&r, (size - len) / 4096);
		ssize_t done;

		if (pick(&r, 3))
			done = pread(fd, buf, len, off);
		else
			done = pwrite(fd, memset(buf, n, len), len, off);
		if (done != (ssize_t)len)
			return 1;
		if (n % 32 == 31 && fdatasync(fd))
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * "serve" mode: a null or loop server. Each queue's tags are fetched by
 * one thread with its own ring, except queue 0 with spread > 1: there tag
 * t belongs to thread t % spread. With helpers, READ and WRITE data is
 * moved (UBLK_F_USER_COPY pread/pwrite, backing file IO) by helper
 * threads, and the owning thread commits. The server dies (or just exits)
 * at its life time.
 */

static struct srv_args S;
static int cdev = -1, backing_fd = -1, report_fd = -1;
static const struct ublksrv_io_desc *descs[MAX_QUEUES];
static volatile int srv_stop;	/* all threads: leave now */

#define UD_OP_SHIFT	16
#define UD_EVENT	(1ULL << 40)

enum { IO_FETCH = 1, IO_COMMIT, IO_GET_DATA };

struct job {
	struct worker *w;
	unsigned int tag, op, len;
	__u64 sector;
	int res;
	struct job *next;
};

struct worker {
	pthread_t th;
	unsigned int q, idx, nthreads;
	struct io_uring ring;
	unsigned char *bufs;	/* maxio bytes per tag of the queue */
	struct job *jobs;	/* one per tag, for the helpers */
	unsigned int live;	/* own tags with a command in the kernel */
	unsigned long served;
	int efd;		/* helpers signal finished jobs */
	uint64_t evbuf;
	pthread_mutex_t lock;
	struct job *done;
	int armed, finished;
};

static struct worker workers[MAX_QUEUES * MAX_THREADS];
static unsigned int nworkers;
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
static struct job *job_list;

static void report(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n;

	if (report_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && n < (int)sizeof(line) && write(report_fd, line, n) != n)
		report_fd = -1;
}

static bool user_copy(void)
{
	return S.flags & UBLK_F_USER_COPY;
}

static unsigned char *tag_buf(struct worker *w, unsigned int tag)
{
	return w->bufs + (size_t)tag * S.maxio;
}

/* Where pread/pwrite on /dev/ublkcN reach a request's data. */
static off_t copy_pos(unsigned int q, unsigned int tag)
{
	return UBLKSRV_IO_BUF_OFFSET + ((off_t)q << UBLK_QID_OFF) + ((off_t)tag << UBLK_TAG_OFF);
}

static void queue_io(struct worker *w, unsigned int op, unsigned int tag, int res)
{
	struct io_uring_sqe *sqe = get_sqe(&w->ring);
	struct ublksrv_io_cmd *cmd = (struct ublksrv_io_cmd *)sqe->cmd;
	unsigned int kind = op == UBLK_U_IO_FETCH_REQ ? IO_FETCH :
			    op == UBLK_U_IO_COMMIT_AND_FETCH_REQ ? IO_COMMIT : IO_GET_DATA;

	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = cdev;
	sqe->cmd_op = op;
	sqe->user_data = tag | (uint64_t)kind << UD_OP_SHIFT;
	cmd->q_id = w->q;
	cmd->tag = tag;
	cmd->result = res;
	/* with user copy there is no buffer; NEED_GET_DATA always names one */
	if (!user_copy() || op == UBLK_U_IO_NEED_GET_DATA)
		cmd->addr = (uintptr_t)tag_buf(w, tag);
}

/* The data part of a request: its result (bytes, or -errno). */
static int do_io(struct worker *w, unsigned int tag, unsigned int op, unsigned int len, __u64 sector)
{
	unsigned char *buf = tag_buf(w, tag);
	off_t pos = copy_pos(w->q, tag), at = (off_t)sector << 9;

	if (op == UBLK_IO_OP_FLUSH || op == UBLK_IO_OP_DISCARD || op == UBLK_IO_OP_WRITE_ZEROES)
		return 0;
	if (op != UBLK_IO_OP_READ && op != UBLK_IO_OP_WRITE)
		return -EOPNOTSUPP;
	if (len > S.maxio)
		return -EIO;
	if (op == UBLK_IO_OP_WRITE) {
		if (user_copy() && pread(cdev, buf, len, pos) != (ssize_t)len)
			return -EIO;
		if (backing_fd >= 0 && pwrite(backing_fd, buf, len, at) != (ssize_t)len)
			return -EIO;
		return len;
	}
	if (backing_fd >= 0 && pread(backing_fd, buf, len, at) < 0)
		return -EIO;
	if (user_copy() && pwrite(cdev, buf, len, pos) != (ssize_t)len)
		return -EIO;
	return len;
}

static void commit(struct worker *w, unsigned int tag, int res)
{
	queue_io(w, UBLK_U_IO_COMMIT_AND_FETCH_REQ, tag, res);
}

/* A request arrived on @tag: serve it here, or hand its data to a helper. */
static void handle_request(struct worker *w, unsigned int tag)
{
	const volatile struct ublksrv_io_desc *d = &descs[w->q][tag];
	unsigned int op = d->op_flags & 0xff, len = d->nr_sectors << 9;
	__u64 sector = d->start_sector;

	w->served++;
	if (S.helpers && (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE)) {
		struct job *j = &w->jobs[tag];

		j->op = op;
		j->len = len;
		j->sector = sector;
		pthread_mutex_lock(&job_lock);
		j->next = job_list;
		job_list = j;
		pthread_cond_signal(&job_cond);
		pthread_mutex_unlock(&job_lock);
		return;
	}
	commit(w, tag, do_io(w, tag, op, len, sector));
}

static void arm_event(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(&w->ring);

	memset(sqe, 0, 2 * sizeof(*sqe));
	io_uring_prep_read(sqe, w->efd, &w->evbuf, sizeof(w->evbuf), 0);
	sqe->user_data = UD_EVENT;
}

/* Commits what the helpers finished for this thread. */
static void commit_done_jobs(struct worker *w)
{
	struct job *j;

	pthread_mutex_lock(&w->lock);
	j = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->lock);
	for (; j; j = j->next)
		commit(w, j->tag, j->res);
}

static void on_cqe(struct worker *w, uint64_t ud, int res)
{
	static const char *const kinds[] = { "?", "FETCH", "COMMIT", "NEED_GET_DATA" };
	unsigned int tag = ud & 0xffff, kind = (ud >> UD_OP_SHIFT) & 3;

	if (ud == UD_EVENT) {
		commit_done_jobs(w);
		arm_event(w);
		return;
	}
	if (res == UBLK_IO_RES_OK) {
		handle_request(w, tag);
		return;
	}
	if (res == UBLK_IO_RES_NEED_GET_DATA) {
		queue_io(w, UBLK_U_IO_NEED_GET_DATA, tag, 0);
		return;
	}
	/* the tag is done: aborted (the device goes away) or refused */
	w->live--;
	if (res != UBLK_IO_RES_ABORT) {
		report("refused %s q=%u tag=%u thread=%u res=%d\n", kinds[kind], w->q, tag, w->idx, res);
		/* one thread of a spread queue refused: this server cannot work */
		if (w->nthreads > 1)
			srv_stop = 1;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int tag;

	for (tag = w->idx; tag < S.depth; tag += w->nthreads) {
		queue_io(w, UBLK_U_IO_FETCH_REQ, tag, 0);
		w->live++;
	}
	if (S.helpers)
		arm_event(w);
	io_uring_submit(&w->ring);
	__atomic_store_n(&w->armed, 1, __ATOMIC_SEQ_CST);

	while (w->live && !srv_stop) {
		struct __kernel_timespec ts = { .tv_nsec = TICK_MS * 1000000L };
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		io_uring_submit(&w->ring);
		if (io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts))
			continue;
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			on_cqe(w, cqe->user_data, cqe->res);
			n++;
		}
		io_uring_cq_advance(&w->ring, n);
	}
	io_uring_submit(&w->ring);
	/* dying by closing the ring: commands and requests still in flight */
	if (srv_stop && S.death == 'c')
		io_uring_queue_exit(&w->ring);
	__atomic_store_n(&w->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *helper_main(void *arg)
{
	while (!srv_stop) {
		struct timespec until;
		struct job *j;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&job_lock);
		if (!job_list)
			pthread_cond_timedwait(&job_cond, &job_lock, &until);
		j = job_list;
		if (j)
			job_list = j->next;
		pthread_mutex_unlock(&job_lock);
		if (!j)
			continue;
		j->res = do_io(j->w, j->tag, j->op, j->len, j->sector);
		pthread_mutex_lock(&j->w->lock);
		j->next = j->w->done;
		j->w->done = j;
		pthread_mutex_unlock(&j->w->lock);
		eventfd_write(j->w->efd, 1);
	}
	return NULL;
}

static int worker_setup(struct worker *w, unsigned int q, unsigned int idx, unsigned int nthreads)
{
	size_t bytes = (size_t)S.depth * S.maxio;
	unsigned int tag;

	w->q = q;
	w->idx = idx;
	w->nthreads = nthreads;
	pthread_mutex_init(&w->lock, NULL);
	w->bufs = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->jobs = calloc(S.depth, sizeof(*w->jobs));
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->bufs == MAP_FAILED || !w->jobs || w->efd < 0)
		return -1;
	for (tag = 0; tag < S.depth; tag++) {
		w->jobs[tag].w = w;
		w->jobs[tag].tag = tag;
	}
	return ring_init(&w->ring, 2 * S.depth + 8);
}

static bool parse_server(int argc, char **argv)
{
	if (argc != 13)
		return false;
	S.id = atoi(argv[2]);
	S.nq = atoi(argv[3]);
	S.depth = atoi(argv[4]);
	S.flags = strtoull(argv[5], NULL, 16);
	S.maxio = atoi(argv[6]);
	S.spread = atoi(argv[7]);
	S.helpers = atoi(argv[8]);
	S.life_ms = atol(argv[9]);
	S.death = argv[10][0];
	S.backing = strcmp(argv[12], "-") ? argv[12] : NULL;
	return S.nq >= 1 && S.nq <= MAX_QUEUES && S.depth >= 1 && S.depth <= 64 &&
	       S.spread >= 1 && S.spread <= MAX_THREADS && S.maxio >= 4096 &&
	       S.maxio <= (1 << 20) && S.helpers <= 4;
}

/* Opens /dev/ublkc<id> and maps every queue's descriptors. */
static int server_open(void)
{
	size_t stride = ((size_t)UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc) + 4095) & ~4095UL;
	size_t len = ((size_t)S.depth * sizeof(struct ublksrv_io_desc) + 4095) & ~4095UL;
	char path[32];
	unsigned int q;

	snprintf(path, sizeof(path), "/dev/ublkc%u", S.id);
	cdev = open(path, O_RDWR | O_CLOEXEC);
	if (cdev < 0)
		return -1;
	for (q = 0; q < S.nq; q++) {
		void *m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, cdev,
			       UBLKSRV_CMD_BUF_OFFSET + q * stride);

		if (m == MAP_FAILED)
			return -1;
		descs[q] = m;
	}
	if (S.backing) {
		backing_fd = open(S.backing, O_RDWR | O_CLOEXEC);
		if (backing_fd < 0)
			return -1;
	}
	return 0;
}

/* True when every serving thread has set its flag @armed (else: finished). */
static bool all_workers(bool armed)
{
	unsigned int i;

	for (i = 0; i < nworkers; i++)
		if (!__atomic_load_n(armed ? &workers[i].armed : &workers[i].finished, __ATOMIC_SEQ_CST))
			return false;
	return true;
}

/* The tester waits for this on FD_READY (if anyone waits at all). */
static void tell_ready(void)
{
	if (write(FD_READY, "R", 1) != 1) {
		/* nobody waits: fine */
	}
}

static void server_summary(void)
{
	unsigned int i;

	for (i = 0; i < nworkers; i++)
		report("thread q=%u idx=%u served=%lu\n", workers[i].q, workers[i].idx, workers[i].served);
}

static int serve_main(int argc, char **argv)
{
	long t0 = now_ms(), until;
	pthread_t helper[4];
	unsigned int q, i;
	bool ready = false;

	if (!parse_server(argc, argv))
		return 2;
	if (fcntl(FD_REPORT, F_GETFD) >= 0)
		report_fd = FD_REPORT;
	if (server_open())
		return 2;
	for (q = 0; q < S.nq; q++) {
		unsigned int n = q == 0 ? S.spread : 1;

		for (i = 0; i < n; i++)
			if (worker_setup(&workers[nworkers++], q, i, n))
				return 2;
	}
	for (i = 0; i < S.helpers; i++)
		pthread_create(&helper[i], NULL, helper_main, NULL);
	for (i = 0; i < nworkers; i++)
		pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);

	until = t0 + S.life_ms;
	while (now_ms() < until) {
		if (!ready && all_workers(true)) {
			ready = true;
			tell_ready();
		}
		if (all_workers(false))
			break;
		nap_ms(TICK_MS / 2);
	}
	if (now_ms() >= until) {
		if (S.death == 'k')
			kill(getpid(), SIGKILL);
		srv_stop = 1;
		for (i = 0; i < nworkers; i++)
			pthread_join(workers[i].th, NULL);
		if (S.death == 'c') {
			/* rings closed, /dev/ublkcN still open a little longer */
			nap_ms(getpid() % 300);
			_exit(3);
		}
	}
	srv_stop = 1;
	server_summary();
	_exit(0);
}

/* ---------------------------------------------------------------------
 * torture
 */

#define NR_IDS		4
#define NR_CTL		3
#define PARK_MS		20000	/* IO parked this long without a server: delete */

struct slot {
	pthread_mutex_t lock;
	pid_t server, io;
	long server_end;	/* the owner kills its server then (0: never) */
	long not_live_since;	/* while IO runs on a device that is not LIVE */
	long last_spawn;
	long calm_until;	/* no STOP_DEV / DEL_DEV from the random threads before */
};

static struct slot slots[NR_IDS];
static long n_kills, n_closed, n_ended, n_unusable, n_created, n_servers, n_io, n_io_err;
static uint64_t seed;

static pid_t slot_server(unsigned int id)
{
	pid_t p;

	pthread_mutex_lock(&slots[id].lock);
	p = slots[id].server;
	pthread_mutex_unlock(&slots[id].lock);
	return p;
}

/* Mostly valid device info: 1-2 queues, depth 1-8, some recovery flags. */
static struct ublksrv_ctrl_dev_info random_info(struct rng *r)
{
	struct ublksrv_ctrl_dev_info info = {
		.nr_hw_queues = 1 + pick(r, 2),
		.queue_depth = 1 + pick(r, 8),
		.max_io_buf_bytes = (64 << 10) << pick(r, 3),
	};

	if (pick(r, 5) < 2)
		info.flags |= UBLK_F_USER_COPY;
	if (pick(r, 5) < 2) {
		info.flags |= UBLK_F_USER_RECOVERY;
		if (pick(r, 3) == 0)
			info.flags |= UBLK_F_USER_RECOVERY_REISSUE;
		else if (pick(r, 2) == 0)
			info.flags |= UBLK_F_USER_RECOVERY_FAIL_IO;
	}
	if (pick(r, 5) == 0)
		info.flags |= UBLK_F_NEED_GET_DATA;
	if (pick(r, 2))
		info.flags |= UBLK_F_UPDATE_SIZE;
	switch (pick(r, 24)) {	/* now and then something invalid */
	case 0: info.nr_hw_queues = 0; break;
	case 1: info.queue_depth = 0; break;
	case 2: info.queue_depth = UBLK_MAX_QUEUE_DEPTH + 1; break;
	case 3: info.flags = UBLK_F_USER_RECOVERY_REISSUE; break;
	case 4: info.max_io_buf_bytes = 512; break;
	}
	return info;
}

static struct ublk_params random_params(struct rng *r)
{
	struct ublk_params p = basic_params((1ULL << 20) << pick(r, 7), 64 << 10, pick(r, 2) ? 9 : 12);

	if (pick(r, 3) == 0) {
		p.types |= UBLK_PARAM_TYPE_DISCARD;
		p.discard.discard_granularity = 4096;
		p.discard.max_discard_sectors = 2048;
		p.discard.max_write_zeroes_sectors = 2048;
		p.discard.max_discard_segments = 1;
	}
	switch (pick(r, 16)) {
	case 0: p.basic.logical_bs_shift = 3; break;
	case 1: p.basic.max_sectors = 1 << 24; break;
	case 2: p.types = UBLK_PARAM_TYPE_DISCARD; break;
	}
	return p;
}

/* One random control command on a random id; false if it hung. */
static bool random_command(struct ctl *c, struct rng *r)
{
	unsigned int id = pick(r, NR_IDS), k = pick(r, 100);
	struct {
		char path[32];
		struct ublksrv_ctrl_dev_info info;
		unsigned char more[64];
	} big;
	struct ublksrv_ctrl_dev_info info;
	struct ublksrv_ctrl_cmd cmd;
	struct ublk_params p;
	pid_t srv = slot_server(id);
	__u64 pid = srv > 0 ? srv : getpid();
	int ret;

	if (pick(r, 10) == 0)
		pid = 0;	/* invalid */
	/* a device stopped or deleted every few seconds, not all the time */
	if (k >= 25 && k < 35) {
		long now = now_ms();

		if (now < __atomic_load_n(&slots[id].calm_until, __ATOMIC_RELAXED))
			k = 40;		/* GET_DEV_INFO instead */
		else
			__atomic_store_n(&slots[id].calm_until, now + 1000 + pick(r, 5000),
					 __ATOMIC_RELAXED);
	}
	if (k < 10) {
		info = random_info(r);
		ret = ctl_add(c, id, &info);
		if (ret == 0)
			__atomic_fetch_add(&n_created, 1, __ATOMIC_RELAXED);
	} else if (k < 20) {
		p = random_params(r);
		ret = ctl_set_params(c, id, &p);
	} else if (k < 25) {
		ret = ctl_simple(c, UBLK_U_CMD_START_DEV, id, pid);
	} else if (k < 30) {
		ret = ctl_simple(c, UBLK_U_CMD_STOP_DEV, id, 0);
	} else if (k < 33) {
		ret = ctl_simple(c, UBLK_U_CMD_DEL_DEV, id, 0);
	} else if (k < 35) {
		ret = ctl_simple(c, UBLK_U_CMD_DEL_DEV_ASYNC, id, 0);
	} else if (k < 48) {
		ret = ctl_info(c, id, &info);
	} else if (k < 55) {
		memset(&big, 0, sizeof(big));
		snprintf(big.path, sizeof(big.path), "/dev/ublkc%u", id);
		cmd = ctl_args(id, &big, sizeof(big));
		cmd.dev_path_len = strlen(big.path) + 1;
		ret = ctl_cmd(c, UBLK_U_CMD_GET_DEV_INFO2, &cmd);
	} else if (k < 65) {
		memset(&p, 0, sizeof(p));
		p.len = sizeof(p);
		cmd = ctl_args(id, &p, sizeof(p));
		ret = ctl_cmd(c, UBLK_U_CMD_GET_PARAMS, &cmd);
	} else if (k < 72) {
		cmd = ctl_args(id, big.more, 8 * (1 + pick(r, 8)));
		cmd.data[0] = pick(r, 3);
		ret = ctl_cmd(c, UBLK_U_CMD_GET_QUEUE_AFFINITY, &cmd);
	} else if (k < 80) {
		ret = ctl_simple(c, UBLK_U_CMD_START_USER_RECOVERY, id, 0);
	} else if (k < 86) {
		ret = ctl_simple(c, UBLK_U_CMD_END_USER_RECOVERY, id, pid);
	} else if (k < 96) {
		ret = ctl_simple(c, UBLK_U_CMD_UPDATE_SIZE, id, (__u64)2048 * (1 + pick(r, 128)));
	} else {
		ret = ctl_features(c) ? 0 : -1;
		if (c->dead)
			ret = CTL_HUNG;
	}
	return ret != CTL_HUNG;
}

static struct ctl ctls[NR_CTL + NR_IDS];

static void *control_main(void *arg)
{
	unsigned int i = (uintptr_t)arg;
	struct rng r;

	rng_seed(&r, seed, i);
	while (!stop_all) {
		if (!random_command(&ctls[i], &r))
			break;
		nap_ms(pick(&r, 40));
	}
	return NULL;
}

/*
 * How a server ended: SIGKILL (by itself or the owner) or closing its
 * rings count as killed; exit 0 is the end of its tags (ABORT, refused)
 * or of its life; exit 2 is a server that could not even set up.
 */
static void count_server_end(int st)
{
	long *n = &n_ended;

	if (WIFSIGNALED(st))
		n = &n_kills;
	else if (WEXITSTATUS(st) == 3)
		n = &n_closed;
	else if (WEXITSTATUS(st) == 2)
		n = &n_unusable;
	__atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

/* Forgets children of @id that ended. */
static void owner_reap(unsigned int id)
{
	struct slot *s = &slots[id];
	int st;

	if (s->server > 0 && waitpid(s->server, &st, WNOHANG) == s->server) {
		count_server_end(st);
		pthread_mutex_lock(&s->lock);
		s->server = 0;
		s->server_end = 0;
		pthread_mutex_unlock(&s->lock);
	}
	if (s->io > 0 && waitpid(s->io, &st, WNOHANG) == s->io) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
			__atomic_fetch_add(&n_io_err, 1, __ATOMIC_RELAXED);
		s->io = 0;
	}
}

/*
 * A server for @id as it is now. It dies by itself (SIGKILL or closing
 * its rings) at a random time, or the owner kills it then. Then START_DEV
 * (or, after START_USER_RECOVERY, END_USER_RECOVERY) with its pid.
 */
static bool owner_serve(struct ctl *c, unsigned int id, const struct ublksrv_ctrl_dev_info *info,
			bool recovering, struct rng *r)
{
	struct slot *s = &slots[id];
	struct srv_args a = {
		.id = id, .nq = info->nr_hw_queues, .depth = info->queue_depth,
		.maxio = info->max_io_buf_bytes, .flags = info->flags, .spread = 1,
		.life_ms = 200 + pick(r, 4800),
	};
	unsigned int how = pick(r, 10);
	int ready, ret;
	pid_t pid;

	if (a.nq > MAX_QUEUES || a.depth > 64 || a.maxio < 4096 || a.maxio > (1 << 20))
		return true;
	if (pick(r, 10) == 0)
		a.life_ms = pick(r, 100);	/* dies while it sets up */
	/* death by the owner's SIGKILL, by its own, or by closing its rings */
	a.death = how < 4 ? 'n' : how < 7 ? 'k' : 'c';
	if (a.death == 'n')
		a.life_ms += 2000;	/* a safety exit, after the owner's kill */
	s->last_spawn = now_ms();
	pid = spawn_server(&a, rnd(r), &ready, NULL);
	if (pid < 0)
		return true;
	__atomic_fetch_add(&n_servers, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->lock);
	s->server = pid;
	s->server_end = a.death == 'n' ? now_ms() + a.life_ms - 2000 : 0;
	pthread_mutex_unlock(&s->lock);
	if (!wait_ready(ready, 5000)) {
		close(ready);
		return true;
	}
	close(ready);
	ret = ctl_simple(c, recovering ? UBLK_U_CMD_END_USER_RECOVERY : UBLK_U_CMD_START_DEV, id, pid);
	return ret != CTL_HUNG;
}

static bool owner_add(struct ctl *c, unsigned int id, struct rng *r)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params p;
	int ret;

	do
		info = random_info(r);
	while (!info.nr_hw_queues || !info.queue_depth || info.queue_depth > 64 ||
	       info.max_io_buf_bytes < 4096 || info.flags == UBLK_F_USER_RECOVERY_REISSUE);
	ret = ctl_add(c, id, &info);
	if (ret == CTL_HUNG)
		return false;
	if (ret)
		return true;
	__atomic_fetch_add(&n_created, 1, __ATOMIC_RELAXED);
	p = basic_params((8ULL << 20) << pick(r, 4), 64 << 10, 9);
	return ctl_set_params(c, id, &p) != CTL_HUNG;
}

/* Looks after device @id: servers, IO, parked IO. False on a hang. */
static bool owner_tend(struct ctl *c, unsigned int id, const struct ublksrv_ctrl_dev_info *info,
		       struct rng *r)
{
	struct slot *s = &slots[id];
	long now = now_ms();
	int ret;

	if (s->server > 0 && s->server_end && now >= s->server_end) {
		kill(s->server, SIGKILL);
		s->server_end = 0;
	}
	if (info->state == UBLK_S_DEV_LIVE) {
		s->not_live_since = 0;
		if (s->server > 0 && !s->io) {
			s->io = spawn_io(id, 1 + pick(r, 3), rnd(r));
			__atomic_fetch_add(&n_io, 1, __ATOMIC_RELAXED);
		}
		return true;
	}
	/* IO waits while no server runs; the hung-task watchdog must not fire */
	if (s->io > 0) {
		if (!s->not_live_since) {
			s->not_live_since = now;
		} else if (now - s->not_live_since > PARK_MS) {
			printf("torture: id %u %s for %d s with IO waiting: DEL_DEV\n",
			       id, state_name(info->state), PARK_MS / 1000);
			s->not_live_since = 0;
			return ctl_simple(c, UBLK_U_CMD_DEL_DEV, id, 0) != CTL_HUNG;
		}
	}
	if (s->server > 0 || now - s->last_spawn < 300)
		return true;
	if (info->state == UBLK_S_DEV_DEAD)
		return owner_serve(c, id, info, false, r);
	ret = ctl_simple(c, UBLK_U_CMD_START_USER_RECOVERY, id, 0);
	if (ret == CTL_HUNG)
		return false;
	return ret ? true : owner_serve(c, id, info, true, r);
}

static void *owner_main(void *arg)
{
	unsigned int id = (uintptr_t)arg;
	struct ctl *c = &ctls[NR_CTL + id];
	struct ublksrv_ctrl_dev_info info;
	struct rng r;
	bool ok = true;
	int ret;

	rng_seed(&r, seed, 100 + id);
	while (!stop_all && ok) {
		owner_reap(id);
		ret = ctl_info(c, id, &info);
		if (ret == CTL_HUNG)
			break;
		if (ret == -ENODEV && pick(&r, 4) == 0)
			ok = owner_add(c, id, &r);
		else if (ret == 0)
			ok = owner_tend(c, id, &info, &r);
		nap_ms(20 + pick(&r, 80));
	}
	return NULL;
}

/* Every child gets SIGKILL and must be gone within HANG_MS. */
static void kill_children(void)
{
	long end = now_ms() + HANG_MS;
	unsigned int id;

	for (id = 0; id < NR_IDS; id++) {
		if (slots[id].server > 0)
			kill(slots[id].server, SIGKILL);
		if (slots[id].io > 0)
			kill(slots[id].io, SIGKILL);
	}
	for (id = 0; id < NR_IDS; id++) {
		pid_t *p[2] = { &slots[id].server, &slots[id].io };
		int k;

		for (k = 0; k < 2; k++) {
			if (*p[k] <= 0)
				continue;
			if (reap(*p[k], end - now_ms()) == -1)
				fail("%s process %d of id %u still there %d s after SIGKILL",
				     k ? "IO" : "server", *p[k], id, HANG_MS / 1000);
			*p[k] = 0;
		}
	}
}

/* Deletes @id and makes sure it is gone; false when it is not. */
static bool delete_for_good(struct ctl *c, unsigned int id)
{
	struct ublksrv_ctrl_dev_info info;
	long end = now_ms() + HANG_MS;
	int ret;

	for (;;) {
		ret = ctl_simple(c, UBLK_U_CMD_DEL_DEV, id, 0);
		if (ret == CTL_HUNG)
			return false;
		ret = ctl_info(c, id, &info);
		if (ret == CTL_HUNG)
			return false;
		if (ret == -ENODEV)
			return true;
		if (now_ms() >= end) {
			fail("cleanup: device %u still there (GET_DEV_INFO %d, state %s)", id, ret,
			     ret ? "-" : state_name(info.state));
			return false;
		}
		nap_ms(200);
	}
}

static void print_answers(void)
{
	char line[1024];
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < NR_OPS && n < sizeof(line) - 64; i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%s %ld/%ld", i ? ", " : "",
			      op_names[i].name, op_ok[i], op_sent[i]);
	printf("torture: succeeded/sent: %s\n", line);
}

static int torture_main(int argc, char **argv)
{
	pthread_t th[NR_CTL + NR_IDS];
	long secs = 60, t0;
	unsigned int i, id;
	struct ctl c;
	int opt;

	seed = time(NULL);
	while ((opt = getopt(argc - 1, argv + 1, "t:s:")) != -1) {
		switch (opt) {
		case 't': secs = atol(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: ublk-stress torture [-t SECONDS] [-s SEED]\n");
			return 2;
		}
	}
	if (secs < 1 || secs > 3600)
		return 2;
	for (i = 0; i < NR_CTL + NR_IDS; i++) {
		if (ctl_open(&ctls[i])) {
			perror("ublk-stress: /dev/ublk-control");
			return 1;
		}
	}
	for (id = 0; id < NR_IDS; id++)
		pthread_mutex_init(&slots[id].lock, NULL);
	printf("torture: seed %llu, %ld s, %d control threads, ids 0..%d\n",
	       (unsigned long long)seed, secs, NR_CTL, NR_IDS - 1);
	t0 = now_ms();
	for (i = 0; i < NR_CTL; i++)
		pthread_create(&th[i], NULL, control_main, (void *)(uintptr_t)i);
	for (id = 0; id < NR_IDS; id++)
		pthread_create(&th[NR_CTL + id], NULL, owner_main, (void *)(uintptr_t)id);
	while (!stop_all && now_ms() - t0 < secs * 1000)
		nap_ms(100);
	stop_all = 1;
	/* each thread's command is bounded, so these joins are too */
	for (i = 0; i < NR_CTL + NR_IDS; i++)
		pthread_join(th[i], NULL);
	printf("torture: stopping after %ld s; deleting every device\n", (now_ms() - t0) / 1000);

	if (ctl_open(&c))
		return 1;
	/* DEL_DEV with servers and IO still running, as a user would */
	for (id = 0; id < NR_IDS; id++)
		if (ctl_simple(&c, UBLK_U_CMD_DEL_DEV, id, 0) == CTL_HUNG)
			break;
	kill_children();
	for (id = 0; id < NR_IDS && !c.dead; id++)
		delete_for_good(&c, id);
	print_answers();
	printf("torture: servers: %ld started, %ld SIGKILLed, %ld closed their rings and exited, "
	       "%ld ended (tags aborted or refused, or life over), %ld could not set up\n",
	       n_servers, n_kills, n_closed, n_ended, n_unusable);
	printf("torture: %ld IO processes, %ld ended by an IO error; %ld waits cancelled\n",
	       n_io, n_io_err, n_cancels);
	printf("torture: %ld commands issued, %ld servers killed, %ld devices created, %ld seconds\n",
	       n_cmds, n_kills + n_closed, n_created, (now_ms() - t0) / 1000);
	for (i = 0; i < NR_CTL + NR_IDS; i++)
		ctl_close(&ctls[i]);
	ctl_close(&c);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * kill-many and spread-del: devices set up the ordinary way
 */

struct dev {
	unsigned int id;
	struct ublksrv_ctrl_dev_info info;
	pid_t server;
	int ready, report;
	pid_t io[2];
	int started;		/* START_DEV's answer */
	int io_failed;		/* IO processes that met an error before the delete */
	char report_text[4096];
};

/*
 * ADD_DEV + SET_PARAMS + a server + START_DEV. False (after a FAIL line)
 * when the driver hung; a START_DEV that fails is only recorded.
 */
static bool dev_setup(struct ctl *c, struct dev *d, struct srv_args *a, __u64 bytes, bool want_report)
{
	struct ublk_params p;
	int ret;

	memset(&d->info, 0, sizeof(d->info));
	d->info.nr_hw_queues = a->nq;
	d->info.queue_depth = a->depth;
	d->info.max_io_buf_bytes = a->maxio;
	d->info.flags = a->flags;
	d->server = 0;
	d->report = -1;
	d->io[0] = d->io[1] = 0;
	d->io_failed = 0;
	d->report_text[0] = 0;
	ret = ctl_add(c, d->id, &d->info);
	if (ret) {
		if (ret != CTL_HUNG)
			fail("setup: ADD_DEV id %u: %s", d->id, strerror(-ret));
		return false;
	}
	p = basic_params(bytes, d->info.max_io_buf_bytes, 9);
	ret = ctl_set_params(c, d->id, &p);
	if (ret) {
		if (ret != CTL_HUNG)
			fail("setup: SET_PARAMS id %u: %s", d->id, strerror(-ret));
		return false;
	}
	/* what the driver made of our wishes: queues are capped at the CPUs */
	a->nq = d->info.nr_hw_queues;
	a->depth = d->info.queue_depth;
	a->maxio = d->info.max_io_buf_bytes;
	a->flags = d->info.flags;
	d->server = spawn_server(a, d->id, &d->ready, want_report ? &d->report : NULL);
	if (d->server < 0) {
		fail("setup: cannot start a server");
		return false;
	}
	if (!wait_ready(d->ready, 10000))
		printf("-- id %u: the server did not report ready\n", d->id);
	d->started = ctl_simple(c, UBLK_U_CMD_START_DEV, d->id, d->server);
	return d->started != CTL_HUNG;
}

static void dev_start_io(struct dev *d, unsigned int secs)
{
	int k;

	for (k = 0; k < 2; k++)
		if (!d->io[k])
			d->io[k] = spawn_io(d->id, secs, d->id * 2 + k);
}

/*
 * Reaps the IO processes of @devs within @ms. Counts those that ended with
 * an IO error in *@errors; false (after a FAIL line) if one is still there.
 */
static bool reap_io(struct dev *devs, unsigned int n, long ms, const char *after, int *errors)
{
	long end = now_ms() + ms;
	bool ok = true;
	unsigned int i;
	int k, st;

	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			if (!devs[i].io[k])
				continue;
			st = reap(devs[i].io[k], end - now_ms());
			if (st == -1) {
				fail("IO on /dev/ublkb%u still running %ld s %s", devs[i].id, ms / 1000, after);
				kill(devs[i].io[k], SIGKILL);
				ok = false;
				continue;
			}
			if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 && errors)
				(*errors)++;
			devs[i].io[k] = 0;
		}
	}
	return ok;
}

/* Reaps the servers of @devs within @ms; false (after a FAIL line) if one stays. */
static bool reap_servers(struct dev *devs, unsigned int n, long ms, const char *after)
{
	long end = now_ms() + ms;
	bool ok = true;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (devs[i].server <= 0)
			continue;
		if (reap(devs[i].server, end - now_ms()) == -1) {
			fail("server of id %u (pid %d) still running %ld s %s", devs[i].id,
			     devs[i].server, ms / 1000, after);
			kill(devs[i].server, SIGKILL);
			ok = false;
		}
		devs[i].server = 0;
		close(devs[i].ready);
	}
	return ok;
}

/* DEL_DEV of each device, then GET_DEV_INFO must say ENODEV. */
static bool delete_all(struct ctl *c, struct dev *devs, unsigned int n)
{
	struct ublksrv_ctrl_dev_info info;
	bool ok = true;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = ctl_simple(c, UBLK_U_CMD_DEL_DEV, devs[i].id, 0);
		if (ret == CTL_HUNG)
			return false;
		if (ret && ret != -ENODEV)
			printf("-- DEL_DEV id %u: %s\n", devs[i].id, strerror(-ret));
	}
	for (i = 0; i < n; i++) {
		ret = ctl_info(c, devs[i].id, &info);
		if (ret == CTL_HUNG)
			return false;
		if (ret != -ENODEV) {
			fail("device %u still there after DEL_DEV (GET_DEV_INFO %d, state %s)",
			     devs[i].id, ret, ret ? "-" : state_name(info.state));
			ok = false;
		}
	}
	return ok;
}

/* Waits up to @ms until every device has done some IO. */
static void wait_some_io(struct dev *devs, unsigned int n, long ms)
{
	long end = now_ms() + ms;
	unsigned int i;

	for (i = 0; i < n; i++) {
		while (io_done(devs[i].id) < 16 && now_ms() < end)
			nap_ms(100);
		printf("-- /dev/ublkb%u: %ld requests done\n", devs[i].id, io_done(devs[i].id));
	}
}

/* Waits up to @ms until device @id is in @state (or gone). */
static int wait_state(struct ctl *c, unsigned int id, int state, long ms)
{
	struct ublksrv_ctrl_dev_info info;
	long end = now_ms() + ms;
	int ret;

	for (;;) {
		ret = ctl_info(c, id, &info);
		if (ret)
			return ret;
		if (info.state == state || now_ms() >= end)
			return info.state;
		nap_ms(100);
	}
}

#define KM_DEVS		3
#define KM_ROUNDS	9	/* the three kinds, three times each */
#define KM_SECS		120	/* no round starts after this */
#define KM_LOOP_FILE	"/tmp/ublk-stress-loop.img"
#define KM_LOOP_BYTES	(32ULL << 20)

/* One round: start, IO, SIGKILL every server, everything must go. */
static bool kill_many_round(struct ctl *c, unsigned int round, __u64 rflags, const char *what,
			    struct rng *r)
{
	struct dev devs[KM_DEVS];
	unsigned int i, threads = 0;
	int errors = 0;
	long t;
	bool ok = true;

	for (i = 0; i < KM_DEVS; i++) {
		struct srv_args a = {
			.nq = 4, .depth = 16, .maxio = 256 << 10, .spread = 1, .helpers = 2,
			.flags = UBLK_F_USER_COPY | rflags, .life_ms = 120000, .death = 'n',
			.backing = i == KM_DEVS - 1 ? KM_LOOP_FILE : NULL,
		};

		devs[i].id = i;
		a.id = i;
		if (!dev_setup(c, &devs[i], &a, a.backing ? KM_LOOP_BYTES : 256ULL << 20, false))
			return false;
		if (devs[i].started) {
			fail("setup: START_DEV id %u: %s", i, strerror(-devs[i].started));
			return false;
		}
		threads = a.nq + a.helpers;
		dev_start_io(&devs[i], 60);
	}
	printf("kill-many: round %u (%s): %d devices, %u queues and %u server threads each\n",
	       round, what, KM_DEVS, devs[0].info.nr_hw_queues, threads);
	wait_some_io(devs, KM_DEVS, 15000);
	/* some more IO, so that the kill finds requests at every stage */
	nap_ms(200 + pick(r, 1300));
	for (i = 0; i < KM_DEVS; i++)
		kill(devs[i].server, SIGKILL);
	t = now_ms();
	ok &= reap_servers(devs, KM_DEVS, HANG_MS, "after SIGKILL");
	if (!(rflags & UBLK_F_USER_RECOVERY)) {
		/* no recovery: the dead servers' IO must fail by itself */
		ok &= reap_io(devs, KM_DEVS, HANG_MS, "after its server was killed", &errors);
		printf("-- IO ended %ld ms after the kill, %d of %d with errors\n", now_ms() - t,
		       errors, 2 * KM_DEVS);
	} else {
		for (i = 0; i < KM_DEVS; i++) {
			int st = wait_state(c, i, rflags & UBLK_F_USER_RECOVERY_FAIL_IO ?
					    UBLK_S_DEV_FAIL_IO : UBLK_S_DEV_QUIESCED, 10000);

			if (st == CTL_HUNG)
				return false;
			printf("-- id %u after the kill: %s\n", i, st < 0 ? strerror(-st) : state_name(st));
		}
	}
	ok &= delete_all(c, devs, KM_DEVS);
	ok &= reap_io(devs, KM_DEVS, HANG_MS, "after DEL_DEV", &errors);
	printf("kill-many: round %u: %s (%d of %d IO processes ended with errors, %ld ms)\n",
	       round, ok ? "all devices gone, all IO ended" : "FAILED", errors, 2 * KM_DEVS,
	       now_ms() - t);
	return ok && !c->dead;
}

static int kill_many_main(void)
{
	static const struct {
		__u64 flags;
		const char *name;
	} kinds[3] = {
		{ 0, "no recovery" },
		{ UBLK_F_USER_RECOVERY, "recovery" },
		{ UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_FAIL_IO, "recovery, fail IO" },
	};
	long t0 = now_ms();
	unsigned int r, k;
	__u64 features;
	struct rng rng;
	struct ctl c;
	int fd;

	rng_seed(&rng, time(NULL), 0);
	if (ctl_open(&c)) {
		perror("ublk-stress: /dev/ublk-control");
		return 1;
	}
	features = ctl_features(&c);
	fd = open(KM_LOOP_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, KM_LOOP_BYTES)) {
		perror("ublk-stress: " KM_LOOP_FILE);
		return 1;
	}
	close(fd);
	for (r = 0; r < KM_ROUNDS && now_ms() - t0 < KM_SECS * 1000; r++) {
		k = r % 3;
		if ((kinds[k].flags & ~features) != 0) {
			printf("kill-many: round %u (%s): not offered by the driver, skipped\n",
			       r, kinds[k].name);
			continue;
		}
		if (!kill_many_round(&c, r, kinds[k].flags, kinds[k].name, &rng))
			break;
	}
	unlink(KM_LOOP_FILE);
	ctl_close(&c);
	printf("kill-many: %s, %ld s\n", failures ? "FAILED" : "passed", (now_ms() - t0) / 1000);
	return failures ? 1 : 0;
}

#define SD_DEVS		2
#define SD_SPREAD	3

/* Reads what a spread server reported, without waiting. */
static void read_report(struct dev *d)
{
	size_t n = strlen(d->report_text);
	ssize_t got;

	if (d->report < 0)
		return;
	fcntl(d->report, F_SETFL, O_NONBLOCK);
	while (n < sizeof(d->report_text) - 1 &&
	       (got = read(d->report, d->report_text + n, sizeof(d->report_text) - 1 - n)) > 0)
		n += got;
	d->report_text[n] = 0;
	close(d->report);
	d->report = -1;
}

/* What the driver did with the spread queue: "refused", "served" or else. */
static const char *spread_behaviour(struct dev *d, char *detail, size_t len)
{
	const char *refused = strstr(d->report_text, "refused ");
	unsigned int busy = 0, idx;
	unsigned long served;
	const char *p = d->report_text;

	while ((p = strstr(p, "thread q=0 idx=")) != NULL) {
		if (sscanf(p, "thread q=0 idx=%u served=%lu", &idx, &served) == 2 && served)
			busy++;
		p++;
	}
	if (refused) {
		snprintf(detail, len, "%.*s", (int)strcspn(refused, "\n"), refused);
		return "refused";
	}
	snprintf(detail, len, "FETCHes accepted, %u of %d threads of queue 0 served requests, "
		 "%d IO processes failed before DEL_DEV; START_DEV %d",
		 busy, SD_SPREAD, d->io_failed, d->started);
	return busy > 1 ? "served" : "accepted";
}

static int spread_del_main(void)
{
	static const __u64 round_flags[2] = { 0, UBLK_F_USER_COPY };
	struct dev devs[SD_DEVS];
	unsigned int r, i;
	int refused = 0, served = 0, errors;
	struct ctl c;
	char detail[200];
	long t0 = now_ms(), t;

	if (ctl_open(&c)) {
		perror("ublk-stress: /dev/ublk-control");
		return 1;
	}
	for (r = 0; r < 2 && !c.dead; r++) {
		for (i = 0; i < SD_DEVS; i++) {
			struct srv_args a = {
				.id = i, .nq = 2, .depth = 12, .maxio = 128 << 10, .spread = SD_SPREAD,
				.flags = round_flags[r], .life_ms = 120000, .death = 'n',
			};

			devs[i].id = i;
			if (!dev_setup(&c, &devs[i], &a, 64ULL << 20, true))
				goto out;
			if (devs[i].started == 0)
				dev_start_io(&devs[i], 60);
			else
				printf("-- id %u: START_DEV: %s\n", i, strerror(-devs[i].started));
		}
		printf("spread-del: round %u (%s): %d devices, queue 0's tags over %d threads\n", r,
		       round_flags[r] ? "user copy" : "buffers", SD_DEVS, SD_SPREAD);
		/* IO for a while; IO processes that failed are started again */
		t = now_ms() + 3000;
		while (now_ms() < t) {
			for (i = 0; i < SD_DEVS; i++) {
				int k;

				for (k = 0; k < 2; k++) {
					int st = devs[i].io[k] > 0 ? reap(devs[i].io[k], 0) : -1;

					if (st < 0)
						continue;
					if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
						devs[i].io_failed++;
					devs[i].io[k] = 0;
				}
				if (devs[i].started == 0)
					dev_start_io(&devs[i], 60);
			}
			nap_ms(100);
		}
		for (i = 0; i < SD_DEVS; i++)
			printf("-- /dev/ublkb%u: %ld requests done, %d IO processes running\n", i,
			       io_done(i), (devs[i].io[0] > 0) + (devs[i].io[1] > 0));
		t = now_ms();
		errors = 0;
		if (!delete_all(&c, devs, SD_DEVS))
			goto out;
		reap_io(devs, SD_DEVS, HANG_MS, "after DEL_DEV", &errors);
		reap_servers(devs, SD_DEVS, HANG_MS, "after DEL_DEV");
		printf("-- DEL_DEV of both and the end of their IO and servers took %ld ms\n",
		       now_ms() - t);
		for (i = 0; i < SD_DEVS; i++) {
			const char *b;

			read_report(&devs[i]);
			b = spread_behaviour(&devs[i], detail, sizeof(detail));
			refused += !strcmp(b, "refused");
			served += !strcmp(b, "served");
			printf("spread-del: round %u id %u: %s (%s)\n", r, i, b, detail);
		}
	}
out:
	printf("spread-del: driver behaviour: %s; %s, %ld s\n",
	       refused && served ? "mixed" : refused ? "refused" : served ? "served" : "accepted",
	       failures ? "FAILED" : "nothing hung, all devices gone", (now_ms() - t0) / 1000);
	ctl_close(&c);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "io"))
		return io_main(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "torture"))
		return torture_main(argc, argv);
	if (argc == 2 && !strcmp(argv[1], "kill-many"))
		return kill_many_main();
	if (argc == 2 && !strcmp(argv[1], "spread-del"))
		return spread_del_main();
	fprintf(stderr, "usage: ublk-stress torture [-t SECONDS] [-s SEED] | kill-many | spread-del\n");
	return 2;
}
