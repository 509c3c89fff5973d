// SPDX-License-Identifier: MIT
/*
 * Data plane: one thread and one io_uring per queue. Each tag is fetched
 * once, then committed-and-fetched for ever. All completions of one
 * io_uring_enter are handled as a batch and everything they produce, ublk
 * commands and target IO alike, goes out with the next enter. Nothing here
 * allocates once the queue runs.
 *
 * The commands that fetch requests and commit results follow one of two
 * modes (struct ublk_cmd_ops): per tag, here, or in batches (batch.c),
 * which the queue reaches only through ublk_batch_cmd_ops.
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

/*
 * The per-tag mode is called directly, as the batch mode's handle_cqe is
 * below: a compare costs what the old bool did, an indirect call per
 * request a little more.
 */
void ublk_complete_io(struct ublk_queue *q, unsigned int tag, int res)
{
	if (q->cmd_ops == &ublk_tag_cmd_ops)
		queue_io_cmd(q, tag, q->dev->io_cmd_commit, res);
	else
		q->cmd_ops->complete(q, tag, res);
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

struct io_uring_sqe *ublk_queue_bg_sqe(struct ublk_queue *q, unsigned int op)
{
	struct io_uring_sqe *sqe = ublk_queue_sqe(q);

	if (!sqe)
		return NULL;
	memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = ublk_user_data(0, op, true) | UBLK_UD_BG;
	return sqe;
}

void ublk_queue_dispatch(struct ublk_queue *q, unsigned int tag)
{
	int ret = q->dev->ops->queue_io(q, tag, &q->descs[tag]);

	if (ret < 0)
		ublk_complete_io(q, tag, ret);
}

/* UBLK_IO_NEED_GET_DATA, encoded as the device's other IO commands are. */
static unsigned int get_data_op(const struct ublk_dev *dev)
{
	return dev->io_cmd_fetch == UBLK_U_IO_FETCH_REQ ? UBLK_U_IO_NEED_GET_DATA :
							 UBLK_IO_NEED_GET_DATA;
}

/*
 * A FETCH_REQ, COMMIT_AND_FETCH_REQ or NEED_GET_DATA ended: a request for
 * tag (OK), or with UBLK_F_NEED_GET_DATA a write still without its data:
 * NEED_GET_DATA names the tag's buffer, the driver copies the data into it
 * and completes that command with the request ready (OK).
 */
static void tag_handle_cqe(struct ublk_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = ublk_ud_tag(cqe->user_data);

	if (tag >= q->depth)
		return;

	q->cmds_inflight--;
	if (cqe->res == UBLK_IO_RES_OK) {
		ublk_queue_dispatch(q, tag);
		return;
	}
	if (cqe->res == UBLK_IO_RES_NEED_GET_DATA) {
		queue_io_cmd(q, tag, get_data_op(q->dev), 0);
		return;
	}
	/* ABORT: the device is going away; anything else is fatal too. */
	if (cqe->res != UBLK_IO_RES_ABORT && !q->error) {
		q->error = cqe->res;
		if (getenv("UBLKCTL_DEBUG"))
			fprintf(stderr, "queue %u tag %u: command failed: %d\n",
				q->q_id, tag, cqe->res);
	}
	q->tags_ended++;
	q->stopping = true;
}

/* Every tag's FETCH_REQ, with its commit made once for all its requests. */
static void tag_start(struct ublk_queue *q)
{
	unsigned int tag;

	for (tag = 0; tag < q->depth; tag++) {
		make_commit_sqe(q, tag);
		queue_io_cmd(q, tag, q->dev->io_cmd_fetch, -1);
	}
}

static void tag_complete(struct ublk_queue *q, unsigned int tag, int res)
{
	queue_io_cmd(q, tag, q->dev->io_cmd_commit, res);
}

const struct ublk_cmd_ops ublk_tag_cmd_ops = {
	.start		= tag_start,
	.complete	= tag_complete,
	.handle_cqe	= tag_handle_cqe,
};

static void handle_cqe(struct ublk_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int tag = ublk_ud_tag(cqe->user_data);

	if (ublk_ud_is_tgt(cqe->user_data)) {
		if (tag >= q->depth)
			return;
		if (!(cqe->user_data & UBLK_UD_BG))
			q->tgt_inflight--;
		q->dev->ops->io_done(q, tag, cqe);
		return;
	}
	/* one CQE per request in the per-tag mode: no indirect call there */
	if (q->cmd_ops == &ublk_tag_cmd_ops)
		tag_handle_cqe(q, cqe);
	else
		q->cmd_ops->handle_cqe(q, cqe);
}

/*
 * Every request the queue was given has been answered. Per tag, fetches
 * still armed do not count: while the in-tree driver quiesces a device it
 * ends only the fetches armed at that moment, and those re-armed by the
 * last commits would wait forever; the ring's close ends them.
 */
static bool queue_holds_nothing(const struct ublk_queue *q)
{
	if (q->cmd_ops == &ublk_tag_cmd_ops)
		return q->cmds_inflight + q->tags_ended == q->depth;
	return !q->cmds_inflight;
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
 * The mode's first commands. Some complete as they are submitted (batch
 * mode's PREP_IO_CMDS, a FETCH_REQ the driver refuses): look at their
 * answers now, so that a refusal fails the start.
 */
static int queue_start(struct ublk_queue *q)
{
	int ret;

	q->cmd_ops->start(q);
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
	if (q->cmd_ops->setup) {
		ret = q->cmd_ops->setup(q);
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
	if (q->cmd_ops->teardown)
		q->cmd_ops->teardown(q);
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
	bool last;
	int ret;

	q->tid = syscall(SYS_gettid);
	if (dev->affinity)
		sched_setaffinity(0, sizeof(cpu_set_t), &dev->affinity[q->q_id]);
	/* Our IO may be what frees memory: don't let reclaim wait on us. */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
	queue_sched_batch();

	q->cmd_ops = dev->info.flags & UBLK_F_BATCH_IO ? &ublk_batch_cmd_ops :
							 &ublk_tag_cmd_ops;
	ret = queue_setup(q);
	if (!ret)
		ret = queue_start(q);
	queue_report_ready(q, ret);
	if (ret < 0)
		goto out;

	for (;;) {
		if (q->cmd_ops->flush)
			q->cmd_ops->flush(q);
		if (q->stopping && !q->tgt_inflight && queue_holds_nothing(q)) {
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
