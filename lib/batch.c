// SPDX-License-Identifier: MIT
/*
 * UBLK_F_BATCH_IO (Linux 7.0 and later): the driver hands a queue's new
 * requests over as a list of tags, written by one multishot FETCH_IO_CMDS
 * into buffers of a provided-buffer ring, and takes the results of a whole
 * batch in one COMMIT_IO_CMDS. Per request that saves the issue and the
 * completion of one uring_cmd, which is most of what io_uring costs a
 * ublk server. The per-tag FETCH_REQ/COMMIT_AND_FETCH_REQ path in queue.c
 * serves every other driver. The queue knows this mode only as
 * ublk_batch_cmd_ops; it uses the queue's ublk_queue_sqe() and
 * ublk_queue_dispatch().
 *
 * One mapping per queue holds the buffer ring, its buffers and two commit
 * arrays (room for every tag in each): one fills while the other may still
 * sit in the SQ.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ublk.h"

#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT (1U << 1)
#endif

#define FETCH_GROUP	0
#define FETCH_TAGS	128	/* per buffer: the driver hands over up to 128 at once */

static size_t page_round(size_t n)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return (n + page - 1) & ~(page - 1);
}

static unsigned int fetch_buf_tags(const struct ublk_queue *q)
{
	return q->depth < FETCH_TAGS ? q->depth : FETCH_TAGS;
}

/*
 * Enough buffers for every tag twice over, at least 4, a power of two: a
 * fetch that finds none ends (ENOBUFS) and has to be sent again.
 */
static unsigned int fetch_bufs_wanted(const struct ublk_queue *q)
{
	unsigned int want = 2 * ((q->depth + FETCH_TAGS - 1) / FETCH_TAGS), n = 4;

	while (n < want)
		n *= 2;
	return n;
}

static uint16_t *fetch_buf(const struct ublk_queue *q, unsigned int bid)
{
	return q->fetch_tags + bid * fetch_buf_tags(q);
}

static void fetch_buf_give(struct ublk_queue *q, unsigned int bid)
{
	io_uring_buf_ring_add(q->fetch_ring, fetch_buf(q, bid),
			      fetch_buf_tags(q) * sizeof(uint16_t), bid,
			      io_uring_buf_ring_mask(q->fetch_nr), 0);
	io_uring_buf_ring_advance(q->fetch_ring, 1);
}

static int batch_setup(struct ublk_queue *q)
{
	uint64_t flags = q->dev->info.flags;
	struct io_uring_buf_reg reg;
	unsigned int nr_bufs = q->fetch_nr = fetch_bufs_wanted(q);
	size_t ring_len = page_round(nr_bufs * sizeof(struct io_uring_buf));
	size_t fetch_len = page_round(nr_bufs * fetch_buf_tags(q) * sizeof(uint16_t));
	unsigned int bid;
	void *map;
	int ret;

	/* a buffer address only where the driver copies into ours */
	q->batch_flags = 0;
	q->elem_bytes = sizeof(struct ublk_elem_header);
	if (!(flags & (UBLK_F_USER_COPY | UBLK_ZERO_COPY_FLAGS))) {
		q->batch_flags = UBLK_BATCH_F_HAS_BUF_ADDR;
		q->elem_bytes += sizeof(uint64_t);
	}
	q->batch_len = ring_len + fetch_len + 2 * page_round(q->depth * q->elem_bytes);
	map = mmap(NULL, q->batch_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	q->batch_map = map;
	q->fetch_ring = map;
	q->fetch_tags = (uint16_t *)((char *)map + ring_len);
	q->commit[0] = (char *)map + ring_len + fetch_len;
	q->commit[1] = q->commit[0] + page_round(q->depth * q->elem_bytes);

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)map;
	reg.ring_entries = nr_bufs;
	reg.bgid = FETCH_GROUP;
	ret = io_uring_register_buf_ring(&q->ring, &reg, 0);
	if (ret < 0)
		return ret;
	io_uring_buf_ring_init(q->fetch_ring);
	for (bid = 0; bid < nr_bufs; bid++)
		fetch_buf_give(q, bid);
	return 0;
}

static void batch_teardown(struct ublk_queue *q)
{
	if (q->batch_map)
		munmap(q->batch_map, q->batch_len);
}

/*
 * Header of a PREP/COMMIT/FETCH command on fixed file 0 (/dev/ublkcN);
 * the caller counts it in cmds_inflight if a CQE will come.
 */
static struct io_uring_sqe *batch_cmd(struct ublk_queue *q, unsigned int op,
				      unsigned int nr, unsigned int elem_bytes)
{
	struct io_uring_sqe *sqe = ublk_queue_sqe(q);
	struct ublk_batch_io *cmd;

	if (!sqe) {
		q->error = -EBUSY;
		return NULL;
	}
	memset(sqe, 0, sizeof(*sqe));
	ublk_sqe_io_cmd(sqe, op);
	cmd = (struct ublk_batch_io *)sqe->cmd;
	cmd->q_id = q->q_id;
	cmd->nr_elem = nr;
	cmd->elem_bytes = elem_bytes;
	/* the count rides in the tag field: commit checks its answer by it */
	sqe->user_data = ublk_user_data(nr, op, false);
	return sqe;
}

static void queue_fetch(struct ublk_queue *q)
{
	struct io_uring_sqe *sqe = batch_cmd(q, UBLK_U_IO_FETCH_IO_CMDS,
					     q->depth, sizeof(uint16_t));

	if (!sqe)
		return;
	sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = FETCH_GROUP;
	q->cmds_inflight++;
}

static void batch_failed(struct ublk_queue *q, int res)
{
	/* ABORT: the device is going away; anything else is an error too */
	if (res != UBLK_IO_RES_ABORT && !q->error)
		q->error = res < 0 ? res : -EIO;
	q->stopping = true;
}

/* Send the filled array with @op and switch to the other one. */
static void queue_elems(struct ublk_queue *q, unsigned int op)
{
	struct io_uring_sqe *sqe = batch_cmd(q, op, q->commit_nr, q->elem_bytes);

	if (!sqe)
		return;
	/*
	 * A commit is done when the kernel takes its SQE: it answers only on
	 * failure, so no CQE to reap per batch (null 4k qd1: 35,897 -> 36,030
	 * IOPS). A commit taken in part answers with a short count, also
	 * skipped: the driver refuses elements only for a tag we do not own.
	 */
	if (op == UBLK_U_IO_COMMIT_IO_CMDS)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	else
		q->cmds_inflight++;
	sqe->addr = (uintptr_t)q->commit[q->commit_cur];
	sqe->len = q->commit_nr * q->elem_bytes;
	((struct ublk_batch_io *)sqe->cmd)->flags = q->batch_flags;
	q->commit_cur ^= 1;
	q->commit_nr = 0;
}

/* Commit what the last batch of completions produced, if anything. */
static void batch_flush(struct ublk_queue *q)
{
	if (!q->commit_nr)
		return;
	/*
	 * The array we switch to went out with the last flush: the kernel
	 * reads it when it takes the SQE, so let nothing older wait there.
	 */
	while (io_uring_sq_ready(&q->ring) && io_uring_submit(&q->ring) > 0)
		;
	if (io_uring_sq_ready(&q->ring)) {
		batch_failed(q, -EBUSY);
		return;
	}
	queue_elems(q, UBLK_U_IO_COMMIT_IO_CMDS);
}

static void batch_complete(struct ublk_queue *q, unsigned int tag, int res)
{
	struct ublk_elem_header *e = (struct ublk_elem_header *)
		(q->commit[q->commit_cur] + q->commit_nr * q->elem_bytes);

	e->tag = tag;
	/* auto buffer registration: the next request's pages go to slot tag */
	e->buf_index = tag;
	e->result = res;
	if (q->batch_flags & UBLK_BATCH_F_HAS_BUF_ADDR)
		*(uint64_t *)(e + 1) = (uintptr_t)q->ios[tag].buf;
	q->commit_nr++;
}

/* Every tag once with PREP_IO_CMDS, then the fetch that runs for ever. */
static void batch_start(struct ublk_queue *q)
{
	unsigned int tag;

	for (tag = 0; tag < q->depth; tag++)
		batch_complete(q, tag, 0);
	queue_elems(q, UBLK_U_IO_PREP_IO_CMDS);
	queue_fetch(q);
}

static void fetch_done(struct ublk_queue *q, const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		unsigned int i, n = cqe->res > 0 ? cqe->res / sizeof(uint16_t) : 0;
		const uint16_t *tags;

		if (bid >= q->fetch_nr) {
			batch_failed(q, -EPROTO);
			return;
		}
		tags = fetch_buf(q, bid);
		for (i = 0; i < n && i < fetch_buf_tags(q); i++)
			if (tags[i] < q->depth)
				ublk_queue_dispatch(q, tags[i]);
		fetch_buf_give(q, bid);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	/* ended: out of buffers (its tags wait in the driver) or going away */
	q->cmds_inflight--;
	if ((cqe->res >= 0 || cqe->res == -ENOBUFS) && !q->stopping)
		queue_fetch(q);
	else if (cqe->res < 0)
		batch_failed(q, cqe->res);
}

static void batch_handle_cqe(struct ublk_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int op = ublk_ud_op(cqe->user_data);
	unsigned int nr = ublk_ud_tag(cqe->user_data);

	if (op == (UBLK_U_IO_FETCH_IO_CMDS & 0xff)) {
		fetch_done(q, cqe);
		return;
	}
	if (op == (UBLK_U_IO_PREP_IO_CMDS & 0xff)) {
		q->cmds_inflight--;
		if (cqe->res)
			batch_failed(q, cqe->res);
		return;
	}
	/* a commit answers when it failed or took fewer elements than sent */
	if (cqe->res != (int)(nr * q->elem_bytes))
		batch_failed(q, cqe->res);
}

const struct ublk_cmd_ops ublk_batch_cmd_ops = {
	.setup		= batch_setup,
	.teardown	= batch_teardown,
	.start		= batch_start,
	.complete	= batch_complete,
	.flush		= batch_flush,
	.handle_cqe	= batch_handle_cqe,
};
