// SPDX-License-Identifier: MIT
/*
 * Data plane: one thread and one io_uring per queue. Each tag is fetched
 * once, then committed-and-fetched for ever. All completions of one
 * io_uring_enter are handled as a batch and everything they produce, ublk
 * commands and target IO alike, goes out with the next enter. Nothing here
 * allocates once the queue runs.
 */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ublk.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

/* The IO desc array of a queue sits at a fixed stride in the cdev's mmap. */
static off_t desc_offset(unsigned int q_id)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t stride = UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc);

	stride = (stride + page - 1) & ~(page - 1);
	return UBLKSRV_CMD_BUF_OFFSET + (off_t)q_id * stride;
}

struct io_uring_sqe *ublk_queue_sqe(struct ublk_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	/* The ring is sized for the worst case; this is only a safety net. */
	if (!sqe) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

/* A per-tag command: the common header, then queue and tag. */
static struct ublksrv_io_cmd *prep_io_cmd(struct ublk_queue *q, struct io_uring_sqe *sqe,
					  unsigned int tag, unsigned int op)
{
	struct ublksrv_io_cmd *cmd = (struct ublksrv_io_cmd *)sqe->cmd;

	ublk_sqe_io_cmd(sqe, op);
	cmd->q_id = q->q_id;
	cmd->tag = tag;
	return cmd;
}

/*
 * A tag's commit, less its result, never changes: it is made once per tag
 * at setup and copied (four 16-byte stores) for each request.
 */
static void make_commit_sqe(struct ublk_queue *q, unsigned int tag)
{
	struct io_uring_sqe *sqe = &q->ios[tag].commit;
	unsigned int op = q->dev->io_cmd_commit;
	struct ublksrv_io_cmd *cmd;

	memset(sqe, 0, sizeof(*sqe));
	cmd = prep_io_cmd(q, sqe, tag, op);
	/*
	 * Auto buffer registration: the buffer index (tag, no flags) goes in
	 * the SQE's own addr, as ublk_auto_buf_reg_to_sqe_addr() lays out.
	 */
	if (ublk_dev_auto_buf_reg(q->dev))
		sqe->addr = tag;
	else
		cmd->addr = (uintptr_t)q->ios[tag].buf;	/* NULL without a copy buffer */
	sqe->user_data = ublk_user_data(tag, op, false);
}

static void queue_io_cmd(struct ublk_queue *q, unsigned int tag,
			 unsigned int op, int result)
{
	struct io_uring_sqe *sqe = ublk_queue_sqe(q);

	if (!sqe) {
		q->error = -EBUSY;
		return;
	}
	*sqe = q->ios[tag].commit;
	if (op != q->dev->io_cmd_commit) {
		sqe->cmd_op = op;
		sqe->user_data = ublk_user_data(tag, op, false);
	}
	((struct ublksrv_io_cmd *)sqe->cmd)->result = result;
	q->cmds_inflight++;
}

void ublk_prep_buf_cmd(struct ublk_queue *q, struct io_uring_sqe *sqe,
		       unsigned int tag, bool reg)
{
	struct ublksrv_io_cmd *cmd = prep_io_cmd(q, sqe, tag, reg ? UBLK_U_IO_REGISTER_IO_BUF :
						 UBLK_U_IO_UNREGISTER_IO_BUF);

	cmd->addr = tag;	/* the buffer index in this ring's table */
	sqe->user_data = ublk_user_data(tag, reg ? UBLK_OP_BUF_REG : UBLK_OP_BUF_UNREG, true);
}

struct io_uring_sqe *ublk_queue_buf_cmd(struct ublk_queue *q, unsigned int tag, bool reg)
{
	struct io_uring_sqe *sqe = ublk_queue_tgt_sqe(q, tag);

	if (sqe)
		ublk_prep_buf_cmd(q, sqe, tag, reg);
	return sqe;
}

void ublk_complete_io(struct ublk_queue *q, unsigned int tag, int res)
{
	if (q->batch)
		ublk_batch_complete(q, tag, res);
	else
		queue_io_cmd(q, tag, q->dev->io_cmd_commit, res);
}

struct io_uring_sqe *ublk_queue_tgt_sqe(struct ublk_queue *q, unsigned int tag)
{
	struct io_uring_sqe *sqe = ublk_queue_sqe(q);

	if (!sqe)
		return NULL;
	memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = ublk_user_data(tag, 0, true);
	q->tgt_inflight++;
	return sqe;
}

void ublk_queue_dispatch(struct ublk_queue *q, unsigned int tag)
{
	int ret = q->dev->ops->queue_io(q, tag, &q->descs[tag]);

	if (ret < 0)
		ublk_complete_io(q, tag, ret);
}

static void handle_cqe(struct ublk_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = ublk_ud_tag(cqe->user_data);

	if (ublk_ud_is_tgt(cqe->user_data)) {
		if (tag >= q->depth)
			return;
		q->tgt_inflight--;
		q->dev->ops->io_done(q, tag, cqe);
		return;
	}
	if (q->batch) {
		ublk_batch_handle_cqe(q, cqe);
		return;
	}
	if (tag >= q->depth)
		return;

	q->cmds_inflight--;
	if (cqe->res != UBLK_IO_RES_OK) {
		/* ABORT: the device is going away; anything else is fatal too. */
		if (cqe->res != UBLK_IO_RES_ABORT && !q->error) {
			q->error = cqe->res;
			if (getenv("UBLKCTL_DEBUG"))
				fprintf(stderr, "queue %u tag %u: command failed: %d\n",
					q->q_id, tag, cqe->res);
		}
		q->stopping = true;
		return;
	}
	ublk_queue_dispatch(q, tag);
}

static void reap_cqes(struct ublk_queue *q)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&q->ring, head, cqe) {
		handle_cqe(q, cqe);
		n++;
	}
	io_uring_cq_advance(&q->ring, n);
}

/*
 * Batch mode's first commands. PREP_IO_CMDS completes as it is submitted:
 * look at its answer now, so that a refusal fails the start.
 */
static int batch_start(struct ublk_queue *q)
{
	int ret;

	ublk_batch_start(q);
	ret = io_uring_submit(&q->ring);
	if (ret < 0)
		return ret;
	reap_cqes(q);
	return q->error;
}

static int queue_setup(struct ublk_queue *q)
{
	struct ublk_dev *dev = q->dev;
	struct io_uring_params p;
	int fds[2] = { dev->cdev_fd, dev->backing_fd };
	bool zc = ublk_dev_zero_copy(dev) || ublk_dev_auto_buf_reg(dev), user_copy;
	/* a commit and one target SQE per tag; zero copy adds two */
	unsigned int entries = (ublk_dev_zero_copy(dev) ? 4 : 2) * q->depth, tag;
	size_t page = sysconf(_SC_PAGESIZE);
	void *map;
	int ret;

	q->descs_len = q->depth * sizeof(struct ublksrv_io_desc);
	q->descs_len = (q->descs_len + page - 1) & ~(page - 1);
	map = mmap(NULL, q->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE,
		   dev->cdev_fd, desc_offset(q->q_id));
	if (map == MAP_FAILED)
		return -errno;
	q->descs = map;

	/* Newest first: fewer task-work interrupts, then plain. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init_params(entries, &q->ring, &p);
	if (ret == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_COOP_TASKRUN;
		ret = io_uring_queue_init_params(entries, &q->ring, &p);
	}
	if (ret == -EINVAL)
		ret = io_uring_queue_init(entries, &q->ring, 0);
	if (ret < 0)
		return ret;
	/* enter without looking the ring's fd up each time (5.18 and later) */
	io_uring_register_ring_fd(&q->ring);
	ret = io_uring_register_files(&q->ring, fds, dev->backing_fd >= 0 ? 2 : 1);
	if (ret < 0)
		return ret;
	if (q->batch) {
		ret = ublk_batch_setup(q);
		if (ret < 0)
			return ret;
	}
	/* zero copy: an empty table the requests' pages are put in */
	if (zc)
		return io_uring_register_buffers_sparse(&q->ring, q->depth);
	/*
	 * One mapping for all tags, made by this thread so that it sits on
	 * the queue's node; no huge pages, or a few small IOs would make
	 * megabytes resident. With user copy the target moves the data with
	 * pread/pwrite on /dev/ublkcN, one request at a time: one buffer.
	 */
	user_copy = dev->info.flags & UBLK_F_USER_COPY;
	q->bufs_len = (size_t)(user_copy ? 1 : q->depth) * dev->info.max_io_buf_bytes;
	map = mmap(NULL, q->bufs_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	q->bufs = map;
	madvise(map, q->bufs_len, MADV_NOHUGEPAGE);
	for (tag = 0; tag < q->depth && !user_copy; tag++)
		q->ios[tag].buf = q->bufs + (size_t)tag * dev->info.max_io_buf_bytes;
	return 0;
}

static void queue_teardown(struct ublk_queue *q)
{
	if (q->ring.ring_fd > 0)
		io_uring_queue_exit(&q->ring);
	if (q->descs)
		munmap((void *)q->descs, q->descs_len);
	if (q->bufs)
		munmap(q->bufs, q->bufs_len);
	ublk_batch_teardown(q);
}

static void queue_report_ready(struct ublk_queue *q, int error)
{
	struct ublk_dev *dev = q->dev;

	pthread_mutex_lock(&dev->lock);
	if (error && !dev->queue_error)
		dev->queue_error = error;
	dev->queues_ready++;
	pthread_cond_broadcast(&dev->cond);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * SCHED_BATCH: the same share of the CPU as any task, but our wakeups do
 * not preempt the task that queued the IO. It runs on until it sleeps and
 * we take all it queued in one go rather than one request per context
 * switch (null, 4k random reads at depth 64: 60k -> 95k IOPS under icount).
 */
static void queue_sched_batch(void)
{
	struct sched_param sp = { 0 };

	/* musl's sched_setscheduler() is a stub: the syscall is per thread */
	syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp);
}

static void *queue_thread(void *arg)
{
	struct ublk_queue *q = arg;
	struct ublk_dev *dev = q->dev;
	unsigned int tag;
	bool last;
	int ret;

	q->tid = syscall(SYS_gettid);
	if (dev->affinity)
		sched_setaffinity(0, sizeof(cpu_set_t), &dev->affinity[q->q_id]);
	/* Our IO may be what frees memory: don't let reclaim wait on us. */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
	queue_sched_batch();

	q->batch = dev->info.flags & UBLK_F_BATCH_IO;
	ret = queue_setup(q);
	if (!ret && q->batch) {
		ret = batch_start(q);
	} else if (!ret) {
		for (tag = 0; tag < q->depth; tag++) {
			make_commit_sqe(q, tag);
			queue_io_cmd(q, tag, dev->io_cmd_fetch, -1);
		}
		ret = io_uring_submit(&q->ring);
		ret = ret < 0 ? ret : q->error;
	}
	queue_report_ready(q, ret);
	if (ret < 0)
		goto out;

	for (;;) {
		if (q->batch)
			ublk_batch_flush(q);
		if (q->stopping && !q->cmds_inflight && !q->tgt_inflight) {
			io_uring_submit(&q->ring);	/* the last commits */
			break;
		}
		ret = io_uring_submit_and_wait(&q->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			q->error = ret;
			break;
		}
		reap_cqes(q);
	}
out:
	queue_teardown(q);
	pthread_mutex_lock(&dev->lock);
	last = --dev->queues_live == 0;
	pthread_mutex_unlock(&dev->lock);
	/* The server's main thread sleeps in sigwait until the queues end. */
	if (last)
		kill(getpid(), SIGUSR1);
	return NULL;
}

/*
 * Start one thread per queue and wait until every tag has been fetched
 * (START_DEV waits for that in the kernel). Returns 0 or the first error.
 */
int ublk_queues_start(struct ublk_dev *dev)
{
	unsigned int i, nq = dev->info.nr_hw_queues;
	int ret = 0;

	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->cond, NULL);
	for (i = 0; i < nq; i++) {
		struct ublk_queue *q;

		q = calloc(1, sizeof(*q) + dev->info.queue_depth * sizeof(q->ios[0]));
		if (!q)
			return -ENOMEM;
		q->dev = dev;
		q->q_id = i;
		q->depth = dev->info.queue_depth;
		dev->queues[i] = q;
		pthread_mutex_lock(&dev->lock);
		dev->queues_live++;
		pthread_mutex_unlock(&dev->lock);
		ret = -pthread_create(&q->thread, NULL, queue_thread, q);
		if (ret) {
			pthread_mutex_lock(&dev->lock);
			dev->queues_live--;
			dev->queues_ready++;
			pthread_mutex_unlock(&dev->lock);
			free(q);
			dev->queues[i] = NULL;
			break;
		}
	}
	pthread_mutex_lock(&dev->lock);
	while (dev->queues_ready < i)
		pthread_cond_wait(&dev->cond, &dev->lock);
	if (!ret)
		ret = dev->queue_error;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void ublk_queues_join(struct ublk_dev *dev)
{
	unsigned int i;

	for (i = 0; i < UBLK_MAX_QUEUES; i++) {
		if (!dev->queues[i])
			continue;
		pthread_join(dev->queues[i]->thread, NULL);
		free(dev->queues[i]);
		dev->queues[i] = NULL;
	}
}
