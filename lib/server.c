// SPDX-License-Identifier: MIT
/*
 * The per-device server and its start-up handshake. `add` forks the server,
 * which creates the device itself and reports over a socket: "ID <id> <pid>
 * <start time>" once ADD_DEV succeeded, then "OK" when /dev/ublkbN is
 * usable or "ERR <text>". End of file without "OK" means the server
 * died; the parent then removes whatever it had created, so a failed add
 * leaves nothing. add answers "OK" with one byte once it has printed the
 * device (ublk_server_confirm): without it (add was killed) the server
 * removes the device itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ublk.h"

#define START_TIMEOUT_MS	60000
#define EXIT_TIMEOUT_MS		10000

/* One line to add; false when nobody reads any more (add was killed). */
static bool report(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	ssize_t w;
	int n;

	if (fd < 0)
		return true;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return true;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	while ((w = write(fd, line, n)) < 0 && errno == EINTR)
		;
	return w >= 0 || errno != EPIPE;
}

/*
 * add answers "OK" with one byte once it has told the user; end of file
 * means it was killed before (our write of "OK" succeeds while it lives).
 */
static bool report_read(int fd)
{
	ssize_t n;
	char c;

	if (fd < 0)
		return true;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1;
}

/* "ERR CMD: why" for a control command that failed; a stuck one says all itself. */
static void report_ctrl(int fd, const char *cmd, int err)
{
	if (err == -ETIMEDOUT)
		report(fd, "ERR %s", ublk_ctrl_strerror(err));
	else
		report(fd, "ERR %s: %s", cmd, strerror(-err));
}

/* "ID <id> <pid> <start time>": add signals the server only while that pid is it. */
static bool report_id(int fd, unsigned int id)
{
	return report(fd, "ID %u %d %llu", id, (int)getpid(),
		      (unsigned long long)ublk_pid_start_time(getpid()));
}

static const struct ublk_tgt_ops *const targets[] = {
	&null_tgt_ops,
	&loop_tgt_ops,
	&nbd_tgt_ops,
};

const struct ublk_tgt_ops *ublk_find_target(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(targets); i++)
		if (!strcmp(targets[i]->name, name))
			return targets[i];
	return NULL;
}

static void load_affinity(struct ublk_ctrl *c, struct ublk_dev *dev)
{
	unsigned int i, nq = dev->info.nr_hw_queues;

	dev->affinity = calloc(nq, sizeof(cpu_set_t));
	if (!dev->affinity)
		return;
	for (i = 0; i < nq; i++) {
		if (ublk_ctrl_get_affinity(c, dev->info.dev_id, i,
					   &dev->affinity[i]) < 0 ||
		    !CPU_COUNT(&dev->affinity[i])) {
			free(dev->affinity);
			dev->affinity = NULL;
			return;
		}
	}
}

static int open_cdev(struct ublk_dev *dev)
{
	char path[64], sys[96];
	int ret;

	snprintf(path, sizeof(path), "/dev/ublkc%u", dev->info.dev_id);
	snprintf(sys, sizeof(sys), "/sys/class/ublk-char/ublkc%u/dev",
		 dev->info.dev_id);
	ret = ublk_wait_node(path, sys, S_IFCHR, 3000);
	if (ret)
		return ret;
	dev->cdev_fd = open(path, O_RDWR | O_CLOEXEC);
	return dev->cdev_fd < 0 ? -errno : 0;
}

static int wait_bdev(unsigned int id)
{
	char path[64], sys[96];

	snprintf(path, sizeof(path), "/dev/ublkb%u", id);
	snprintf(sys, sizeof(sys), "/sys/class/block/ublkb%u/dev", id);
	return ublk_wait_node(path, sys, S_IFBLK, 3000);
}

/* Queue threads save it too (the nbd target's connection state): one at a time. */
int ublk_dev_save_state(struct ublk_dev *dev)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct ublk_state st;
	unsigned int i;
	int ret;

	memset(&st, 0, sizeof(st));
	st.opts = dev->opts;
	st.opts.dev_id = dev->info.dev_id;
	/* resize changes the size under us: the kernel's is the one to keep */
	st.opts.size = ublk_dev_capacity(dev->info.dev_id, dev->opts.size);
	st.pid = getpid();
	st.start_time = ublk_pid_start_time(st.pid);
	if (dev->ops->describe)
		dev->ops->describe(dev, st.tgt_json, sizeof(st.tgt_json));
	for (i = 0; i < dev->info.nr_hw_queues; i++)
		st.tids[i] = dev->queues[i] ? dev->queues[i]->tid : 0;
	pthread_mutex_lock(&lock);
	ret = ublk_state_write(dev->info.dev_id, &st);
	pthread_mutex_unlock(&lock);
	return ret;
}

/*
 * Sleep until the queues end (stopped: we stopped the device already).
 * SIGINT or SIGTERM stops the device first, with --recovery too:
 * shutdown and service managers send it to end a service, and a device
 * kept QUIESCED after it would park IO (a mounted filesystem's last sync)
 * until someone ran recover. Recovery is for a server that failed.
 */
static bool serve_until_stopped(struct ublk_ctrl *c, struct ublk_dev *dev,
				const sigset_t *sigs, bool stopped)
{
	bool self_stop = stopped;
	int sig;

	for (;;) {
		sig = sigwaitinfo(sigs, NULL);
		if (sig == SIGUSR1)
			return self_stop;
		if ((sig == SIGINT || sig == SIGTERM) && !self_stop) {
			self_stop = true;
			/* first: IO held for an absent backing (nbd) must fail, or STOP_DEV waits */
			__atomic_store_n(&dev->stop_requested, true, __ATOMIC_RELAXED);
			ublk_ctrl_stop_dev(c, dev->info.dev_id);
		}
	}
}

/* What we ask for only when the user did: the driver must have each. */
#define UBLK_CHECKED_FLAGS (UBLK_RECOVERY_FLAGS | UBLK_ZERO_COPY_FLAGS | UBLK_F_NEED_GET_DATA)

/* The bit of the optional features in @want the driver lacks, or 0. */
static uint64_t missing_feature(uint64_t want, uint64_t features)
{
	uint64_t missing = want & UBLK_CHECKED_FLAGS & ~features;

	/* without GET_FEATURES we cannot tell: ADD_DEV's answer will */
	if (!features || !missing)
		return 0;
	return missing & -missing;
}

static const char *feature_error(uint64_t flag)
{
	if (flag == UBLK_F_SUPPORT_ZERO_COPY)
		return "zero copy needs UBLK_F_SUPPORT_ZERO_COPY, which this ublk driver "
		       "lacks (Linux 6.15 or later)";
	if (flag == UBLK_F_AUTO_BUF_REG)
		return "--auto-buf-reg needs UBLK_F_AUTO_BUF_REG, which this ublk driver "
		       "lacks (Linux 6.16 or later)";
	if (flag == UBLK_F_USER_RECOVERY_FAIL_IO)
		return "--recovery=fail-io needs UBLK_F_USER_RECOVERY_FAIL_IO, which this "
		       "ublk driver lacks (Linux 6.13 or later, or ublkctl's own ublk_drv)";
	if (flag == UBLK_F_NEED_GET_DATA)
		return "--need-get-data (ublk -g 1) needs UBLK_F_NEED_GET_DATA, which this "
		       "ublk driver lacks";
	if (flag == UBLK_F_USER_RECOVERY_REISSUE)
		return "--recovery=reissue needs UBLK_F_USER_RECOVERY_REISSUE, which this "
		       "ublk driver lacks";
	return "--recovery needs UBLK_F_USER_RECOVERY, which this ublk driver lacks";
}

static void set_io_opcodes(struct ublk_dev *dev)
{
	if (dev->info.flags & UBLK_F_CMD_IOCTL_ENCODE) {
		dev->io_cmd_fetch = UBLK_U_IO_FETCH_REQ;
		dev->io_cmd_commit = UBLK_U_IO_COMMIT_AND_FETCH_REQ;
	} else {
		dev->io_cmd_fetch = UBLK_IO_FETCH_REQ;
		dev->io_cmd_commit = UBLK_IO_COMMIT_AND_FETCH_REQ;
	}
}

/* A new device: ADD_DEV, then SET_PARAMS. */
static int add_device(struct ublk_ctrl *ctrl, struct ublk_dev *dev,
		      struct ublk_params *params, int report_fd)
{
	uint64_t missing, features = ctrl->features;
	int ret;

	/* for comparisons and tests: the per-tag commands even where batch IO is */
	if (getenv("UBLKCTL_NO_BATCH"))
		features &= ~UBLK_F_BATCH_IO;
	ublk_build_dev_info(&dev->opts, features, &dev->info);
	ret = ublk_ctrl_add_dev(ctrl, &dev->info);
	/* for tests: die where only add's cookie says whose the device is */
	if (!ret && getenv("UBLKCTL_TEST_DIE_AFTER_ADD_DEV"))
		raise(SIGKILL);
	if (ret) {
		if (ret == -EEXIST)
			report(report_fd, "ERR device %d already exists", dev->opts.dev_id);
		else
			report_ctrl(report_fd, "ADD_DEV", ret);
		return ret;
	}
	if (!report_id(report_fd, dev->info.dev_id)) {
		/* add was killed (Ctrl-C, timeout): nobody else will undo this */
		ublk_ctrl_del_dev(ctrl, dev->info.dev_id, false);
		return -EPIPE;
	}
	set_io_opcodes(dev);
	/* the driver drops flags it does not know: check what we got */
	missing = dev->opts.flags & UBLK_CHECKED_FLAGS & ~dev->info.flags;
	if (missing) {
		report(report_fd, "ERR %s", feature_error(missing & -missing));
		return -EOPNOTSUPP;
	}
	ret = ublk_ctrl_set_params(ctrl, dev->info.dev_id, params);
	if (ret)
		report_ctrl(report_fd, "SET_PARAMS", ret);
	return ret;
}

/*
 * A device whose server died: START_USER_RECOVERY, once the kernel has let
 * go of the old server (its /dev/ublkcN closes a moment after its death).
 */
static int recover_begin(struct ublk_ctrl *ctrl, struct ublk_dev *dev, int report_fd)
{
	unsigned int waited;
	int ret;

	ret = ublk_ctrl_get_info(ctrl, dev->opts.dev_id, &dev->info);
	if (ret) {
		report(report_fd, "ERR device %d: %s", dev->opts.dev_id, ublk_ctrl_strerror(ret));
		return ret;
	}
	if (!ublk_dev_info_servable(&dev->info)) {
		report(report_fd, "ERR device %d: %u queues of depth %u, more than we serve",
		       dev->opts.dev_id, dev->info.nr_hw_queues, dev->info.queue_depth);
		return -E2BIG;
	}
	report_id(report_fd, dev->info.dev_id);
	set_io_opcodes(dev);
	for (waited = 0;; waited += 50) {
		ret = ublk_ctrl_start_recovery(ctrl, dev->info.dev_id);
		if (ret != -EBUSY || waited >= EXIT_TIMEOUT_MS)
			break;
		ublk_sleep_ms(50);
	}
	if (ret)
		report_ctrl(report_fd, "START_USER_RECOVERY", ret);
	return ret;
}

char *ublk_argv0;

/*
 * The name systemd spares and ps shows: "@ublkctl". It fits where argv[0]
 * was when that is long enough; a short one ("ublkctl" through PATH, as a
 * script runs `ublkctl recover`) would make it "@blkctl", so then the
 * kernel is told our command line lives in a buffer of ours instead
 * (PR_SET_MM needs CAP_SYS_RESOURCE, which a root daemon has).
 */
static void root_daemon_name(void)
{
	static const char name[] = "@ublkctl";
	char *cmdline;

	if (ublk_argv0 && strlen(ublk_argv0) >= strlen(name)) {
		memset(ublk_argv0, 0, strlen(ublk_argv0));
		memcpy(ublk_argv0, name, strlen(name));
		return;
	}
	/* anonymous memory: /proc/PID/cmdline reads no file-backed page */
	cmdline = mmap(NULL, sizeof(name), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cmdline != MAP_FAILED) {
		memcpy(cmdline, name, sizeof(name));
		/* start first: it moves below the stack, so start <= end holds throughout */
		if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)cmdline, 0, 0) == 0 &&
		    prctl(PR_SET_MM, PR_SET_MM_ARG_END,
			  (unsigned long)(cmdline + sizeof(name)), 0, 0) == 0)
			return;
	}
	if (ublk_argv0 && ublk_argv0[0])
		ublk_argv0[0] = '@';	/* at least systemd spares it */
}

/*
 * The server must never wait for a page-in from a device it serves: lock
 * what is mapped now (our code included), and later mappings as they are
 * touched, so that unused parts of IO buffers cost nothing. A root daemon
 * also takes the name systemd spares (argv[0] starting with '@') and is
 * the OOM killer's last choice. Failures leave an ordinary server.
 */
static void server_pin(const struct ublk_dev_opts *o)
{
	int fd;

	mlockall(MCL_CURRENT);
	mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
	if (!o->root_daemon)
		return;
	root_daemon_name();
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		write(fd, "-1000", 5);
		close(fd);
	}
}

/*
 * One server: its start-up in three steps, then its service. A step that
 * fails reports why and the server exits: what it created is removed by
 * ublk_start_undo() in add, which is also what removes it when the server
 * is killed during start-up, so both ways share one teardown. Once
 * started, the service ends in the other: ublk_server_exit().
 */
struct server {
	struct ublk_ctrl ctrl;
	struct ublk_dev dev;
	struct ublk_params params;
	int report_fd;
};

static void report_init_error(struct server *s, int ret)
{
	const struct ublk_dev_opts *o = &s->dev.opts;

	if (s->dev.init_err[0])
		report(s->report_fd, "ERR %s: %s", o->file[0] ? o->file : o->target,
		       s->dev.init_err);
	else if (o->file[0])
		report(s->report_fd, "ERR %s: %s", o->file,
		       ret == -ENOSPC ? "smaller than one block" : strerror(-ret));
	else
		report(s->report_fd, "ERR target %s: %s", o->target, strerror(-ret));
}

/* The driver, its features and the target's backing: nothing created yet. */
static int server_prepare(struct server *s)
{
	struct ublk_dev *dev = &s->dev;
	uint64_t missing;
	int ret;

	dev->ops = ublk_find_target(dev->opts.target);
	if (!dev->ops) {
		report(s->report_fd, "ERR unknown target '%s'", dev->opts.target);
		return -EINVAL;
	}
	ret = ublk_ctrl_open(&s->ctrl);
	if (ret) {
		report(s->report_fd, "ERR %s", ret == -ENODEV ?
		       ublk_no_driver_msg() : ublk_ctrl_strerror(ret));
		return ret;
	}
	/* --zero-copy without a mode: auto buffer registration if we can */
	if ((dev->opts.flags & UBLK_ZERO_COPY_FLAGS) == UBLK_ZERO_COPY_FLAGS)
		dev->opts.flags &= ~((s->ctrl.features & UBLK_F_AUTO_BUF_REG) ?
				     UBLK_F_SUPPORT_ZERO_COPY : UBLK_F_AUTO_BUF_REG);
	missing = missing_feature(dev->opts.flags, s->ctrl.features);
	if (missing) {
		report(s->report_fd, "ERR %s", feature_error(missing));
		return -EOPNOTSUPP;
	}
	ret = dev->ops->init(dev, &s->params);
	if (ret) {
		report_init_error(s, ret);
		return ret;
	}
	dev->opts.flags |= s->ctrl.features & dev->tgt_flags;
	return 0;
}

/* The device (new, or one to recover), its char device and its queues. */
static int server_attach(struct server *s)
{
	struct ublk_dev *dev = &s->dev;
	int ret;

	if (dev->opts.recover)
		ret = recover_begin(&s->ctrl, dev, s->report_fd);
	else
		ret = add_device(&s->ctrl, dev, &s->params, s->report_fd);
	if (ret)
		return ret;
	load_affinity(&s->ctrl, dev);
	ret = open_cdev(dev);
	if (ret) {
		report(s->report_fd, "ERR /dev/ublkc%u: %s", dev->info.dev_id,
		       strerror(-ret));
		return ret;
	}
	ret = ublk_queues_start(dev);
	if (ret)
		report(s->report_fd, "ERR queue setup: %s", strerror(-ret));
	return ret;
}

/* START_DEV or END_USER_RECOVERY, then /dev/ublkbN usable and the state saved. */
static int server_go_live(struct server *s)
{
	struct ublk_dev *dev = &s->dev;
	unsigned int id = dev->info.dev_id;
	int ret;

	if (dev->opts.recover) {
		/* for tests: die where a crash hurts recovery most */
		if (getenv("UBLKCTL_TEST_DIE_BEFORE_END_RECOVERY"))
			raise(SIGKILL);
		ret = ublk_ctrl_end_recovery(&s->ctrl, id, getpid());
		if (ret) {
			report_ctrl(s->report_fd, "END_USER_RECOVERY", ret);
			return ret;
		}
	} else {
		ret = ublk_ctrl_start_dev(&s->ctrl, id, getpid());
		if (ret) {
			report_ctrl(s->report_fd, "START_DEV", ret);
			return ret;
		}
	}
	ret = wait_bdev(id);
	if (ret) {
		report(s->report_fd, "ERR /dev/ublkb%u: %s", id, strerror(-ret));
		return ret;
	}
	ret = ublk_dev_save_state(dev);
	if (ret)
		report(s->report_fd, "ERR state file: %s", ublk_state_dir_strerror(ret));
	return ret;
}

/*
 * Serve until the device stops, then end as ublk_server_exit() says. add
 * killed during start-up (Ctrl-C, timeout) never read our "OK": nobody
 * knows of the device, so it is stopped as SIGTERM would. A recovered
 * device serves on: stopping it would lose its data.
 */
static void server_serve(struct server *s, const sigset_t *sigs)
{
	struct ublk_dev *dev = &s->dev;
	bool self_stop, delivered, orphaned;

	delivered = report(s->report_fd, "OK") && report_read(s->report_fd);
	orphaned = !delivered && !dev->opts.recover;
	if (s->report_fd >= 0)
		close(s->report_fd);
	if (orphaned)
		ublk_ctrl_stop_dev(&s->ctrl, dev->info.dev_id);

	self_stop = serve_until_stopped(&s->ctrl, dev, sigs, orphaned);

	ublk_queues_join(dev);
	close(dev->cdev_fd);
	if (dev->ops->deinit)
		dev->ops->deinit(dev);
	ublk_server_exit(&s->ctrl, dev->info.dev_id, self_stop);
	ublk_ctrl_close(&s->ctrl);
}

/* Returns an exit code; failures are reported on report_fd. */
static int server_run(const struct ublk_dev_opts *o, int report_fd)
{
	static struct server s;	/* large, and for the process's whole life */
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	server_pin(o);
	s.dev.opts = *o;
	s.dev.cdev_fd = -1;
	s.dev.backing_fd = -1;
	s.report_fd = report_fd;
	if (server_prepare(&s) || server_attach(&s) || server_go_live(&s))
		return 1;
	server_serve(&s, &sigs);
	return 0;
}

static void detach_stdio(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	if (!keep_stderr)
		dup2(fd, 2);
	close(fd);
}

/*
 * The device's lock, once the server has said which it is: from then until
 * add has told the user, del or recover of that id wait for us.
 */
static void lock_reported(struct ublk_spawn_result *res)
{
	int ret;

	if (res->dev_id < 0 || res->lock_fd >= 0)
		return;
	ret = ublk_lock_dev(res->dev_id, UBLK_LOCK_TIMEOUT_MS);
	if (ret >= 0)
		res->lock_fd = ret;
}

/* Read "KEY rest" lines from fd until OK, ERR or EOF/timeout. */
static int read_reports(int fd, struct ublk_spawn_result *res, bool lock,
			char *err, size_t len)
{
	unsigned long long start;
	char buf[1024];
	size_t have = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t deadline = time(NULL) + START_TIMEOUT_MS / 1000;

	snprintf(err, len, "server exited during start-up");
	for (;;) {
		char *nl;
		ssize_t n;
		int left = (int)(deadline - time(NULL));

		while ((nl = memchr(buf, '\n', have))) {
			*nl = 0;
			if (!strcmp(buf, "OK"))
				return 0;
			if (!strncmp(buf, "ERR ", 4)) {
				snprintf(err, len, "%s", buf + 4);
				return -1;
			}
			if (sscanf(buf, "ID %d %d %llu", &res->dev_id, &res->pid, &start) == 3) {
				res->start_time = start;
				if (lock)
					lock_reported(res);
			}
			have -= nl + 1 - buf;
			memmove(buf, nl + 1, have);
		}
		if (left <= 0 || poll(&pfd, 1, left * 1000) == 0) {
			snprintf(err, len, "server did not start within %d s",
				 START_TIMEOUT_MS / 1000);
			return -1;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += n;
	}
}

/* Nonzero, and no other process makes the same: pid and clock in one. */
static uint64_t new_cookie(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return 1ULL << 63 | (uint64_t)getpid() << 32 |
	       (uint32_t)(ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

int ublk_server_spawn(const struct ublk_dev_opts *opts,
		      struct ublk_spawn_result *res, char *err, size_t len)
{
	struct ublk_dev_opts mine = *opts, *o = &mine;
	int p[2], status, report_fd;
	pid_t pid;

	res->dev_id = -1;
	res->pid = -1;
	res->start_time = 0;
	res->report_fd = -1;
	res->lock_fd = -1;
	/* a recovered device's cookie is its first server's */
	o->cookie = o->recover ? 0 : new_cookie();
	/* both ways: "OK" is answered, so that the server knows it was read */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) {
		snprintf(err, len, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, len, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (!o->foreground) {
			setsid();
			pid = fork();
			if (pid)
				_exit(pid < 0);
		}
		/* Hold no descriptor, directory or terminal of the caller's. */
		report_fd = ublk_close_inherited(p[1]);
		if (report_fd < 0 || chdir("/") < 0)
			_exit(1);
		detach_stdio(o->foreground);
		_exit(server_run(o, report_fd));
	}
	close(p[1]);
	if (!o->foreground)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	else	/* our child: its pid is its own until we reap it */
		res->pid = pid, res->start_time = ublk_pid_start_time(pid);
	/* recover holds the device's lock already */
	if (read_reports(p[0], res, !o->recover, err, len)) {
		close(p[0]);
		/* a device being recovered stays, for the next try */
		ublk_start_undo(res->dev_id, o->cookie, res->pid, res->start_time);
		ublk_unlock(res->lock_fd);
		res->lock_fd = -1;
		if (o->foreground)
			waitpid(pid, &status, 0);
		return -1;
	}
	res->report_fd = p[0];
	return 0;
}

void ublk_server_confirm(struct ublk_spawn_result *res)
{
	if (res->report_fd < 0)
		return;
	send(res->report_fd, "A", 1, MSG_NOSIGNAL);
	close(res->report_fd);
	res->report_fd = -1;
	ublk_unlock(res->lock_fd);
	res->lock_fd = -1;
}
