// SPDX-License-Identifier: MIT
/*
 * Description: batch IO (lib/batch.c) on a real io_uring without a ublk
 * device: the PREP, FETCH and COMMIT SQEs it builds, the tags a FETCH CQE
 * hands to the queue, and how it takes the end of a command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ublk.h"

#define DEPTH 4

/* ---- the queue services a mode uses (queue.c) ---- */
struct io_uring_sqe *ublk_queue_sqe(struct ublk_queue *q)
{
	return io_uring_get_sqe(&q->ring);
}

void ublk_queue_dispatch(struct ublk_queue *q, unsigned int tag)
{
	check_expected(tag);
}

static struct ublk_queue *queue_deep(struct ublk_dev *dev, uint64_t flags,
				     unsigned int depth)
{
	struct ublk_queue *q = calloc(1, sizeof(*q) + depth * sizeof(q->ios[0]));
	unsigned int tag;

	memset(dev, 0, sizeof(*dev));
	dev->info.flags = flags | UBLK_F_BATCH_IO;
	q->dev = dev;
	q->q_id = 1;
	q->depth = depth;
	for (tag = 0; tag < depth; tag++)
		q->ios[tag].buf = (void *)(uintptr_t)(0x10000 * (tag + 1));
	assert_int_equal(io_uring_queue_init(16, &q->ring, 0), 0);
	assert_int_equal(ublk_batch_cmd_ops.setup(q), 0);
	return q;
}

static struct ublk_queue *queue_new(struct ublk_dev *dev, uint64_t flags)
{
	return queue_deep(dev, flags, DEPTH);
}

static void queue_free(struct ublk_queue *q)
{
	io_uring_queue_exit(&q->ring);
	ublk_batch_cmd_ops.teardown(q);
	free(q);
}

/* The SQE at position i of those not yet submitted. */
static struct io_uring_sqe *sqe_at(struct ublk_queue *q, unsigned int i)
{
	return &q->ring.sq.sqes[(q->ring.sq.sqe_head + i) & *q->ring.sq.kring_mask];
}

static const struct ublk_batch_io *batch_hdr(const struct io_uring_sqe *sqe)
{
	return (const struct ublk_batch_io *)sqe->cmd;
}

static const struct ublk_elem_header *elem(const struct io_uring_sqe *sqe,
					   unsigned int i)
{
	return (const void *)(uintptr_t)(sqe->addr + i * batch_hdr(sqe)->elem_bytes);
}

static void start__prep_lists_every_tag_with_its_buffer_then_fetch(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, 0);	/* copy mode: buffer addresses */
	const struct io_uring_sqe *prep, *fetch;
	unsigned int tag;

	ublk_batch_cmd_ops.start(q);
	assert_int_equal(io_uring_sq_ready(&q->ring), 2);
	prep = sqe_at(q, 0);
	assert_int_equal(prep->opcode, IORING_OP_URING_CMD);
	assert_int_equal(prep->cmd_op, UBLK_U_IO_PREP_IO_CMDS);
	assert_int_equal(prep->flags, IOSQE_FIXED_FILE);
	assert_int_equal(batch_hdr(prep)->q_id, 1);
	assert_int_equal(batch_hdr(prep)->nr_elem, DEPTH);
	assert_int_equal(batch_hdr(prep)->elem_bytes, 16);
	assert_int_equal(batch_hdr(prep)->flags, UBLK_BATCH_F_HAS_BUF_ADDR);
	assert_int_equal(prep->len, DEPTH * 16);
	for (tag = 0; tag < DEPTH; tag++) {
		assert_int_equal(elem(prep, tag)->tag, tag);
		assert_int_equal(*(const uint64_t *)(elem(prep, tag) + 1),
				 (uintptr_t)q->ios[tag].buf);
	}
	fetch = sqe_at(q, 1);
	assert_int_equal(fetch->cmd_op, UBLK_U_IO_FETCH_IO_CMDS);
	assert_int_equal(fetch->flags, IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT);
	assert_int_equal(fetch->uring_cmd_flags, 1U << 1);	/* multishot */
	assert_int_equal(batch_hdr(fetch)->elem_bytes, 2);
	assert_int_equal(q->cmds_inflight, 2);
	queue_free(q);
}

static void flush__one_commit_per_batch_from_alternate_arrays(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, UBLK_F_USER_COPY);
	const struct io_uring_sqe *commit;
	const void *first;

	ublk_batch_cmd_ops.flush(q);			/* nothing completed: nothing sent */
	assert_int_equal(io_uring_sq_ready(&q->ring), 0);
	ublk_batch_cmd_ops.complete(q, 3, 4096);
	ublk_batch_cmd_ops.complete(q, 0, -EIO);
	ublk_batch_cmd_ops.flush(q);
	assert_int_equal(io_uring_sq_ready(&q->ring), 1);
	commit = sqe_at(q, 0);
	assert_int_equal(commit->cmd_op, UBLK_U_IO_COMMIT_IO_CMDS);
	assert_int_equal(batch_hdr(commit)->nr_elem, 2);
	assert_int_equal(batch_hdr(commit)->elem_bytes, 8);	/* user copy: no address */
	assert_int_equal(batch_hdr(commit)->flags, 0);
	assert_int_equal(elem(commit, 0)->tag, 3);
	assert_int_equal(elem(commit, 0)->result, 4096);
	assert_int_equal(elem(commit, 1)->tag, 0);
	assert_int_equal(elem(commit, 1)->result, -EIO);
	first = (const void *)(uintptr_t)commit->addr;

	/* the next batch fills the other array; the first is submitted first */
	ublk_batch_cmd_ops.complete(q, 1, 512);
	ublk_batch_cmd_ops.flush(q);
	assert_int_equal(io_uring_sq_ready(&q->ring), 1);
	commit = sqe_at(q, 0);
	assert_ptr_not_equal((const void *)(uintptr_t)commit->addr, first);
	assert_int_equal(elem(commit, 0)->tag, 1);
	/* a commit answers only when it fails: nothing to wait for */
	assert_int_equal(commit->flags, IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS);
	assert_int_equal(q->cmds_inflight, 0);
	queue_free(q);
}

static void fetch_cqe(struct io_uring_cqe *cqe, uint32_t flags, int res)
{
	memset(cqe, 0, sizeof(*cqe));
	cqe->user_data = ublk_user_data(DEPTH, UBLK_U_IO_FETCH_IO_CMDS, false);
	cqe->res = res;
	cqe->flags = flags;
}

static void fetch_cqe__dispatches_its_tags_and_gives_the_buffer_back(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, UBLK_F_USER_COPY);
	uint16_t tail = q->fetch_ring->tail;
	uint16_t *tags = (uint16_t *)(uintptr_t)q->fetch_ring->bufs[2].addr;
	struct io_uring_cqe cqe;

	fetch_cqe(&cqe, IORING_CQE_F_BUFFER | 2 << IORING_CQE_BUFFER_SHIFT | IORING_CQE_F_MORE,
		  3 * sizeof(uint16_t));
	q->cmds_inflight = 1;
	tags[0] = 3, tags[1] = 0, tags[2] = 2;
	expect_value(ublk_queue_dispatch, tag, 3);
	expect_value(ublk_queue_dispatch, tag, 0);
	expect_value(ublk_queue_dispatch, tag, 2);
	ublk_batch_cmd_ops.handle_cqe(q, &cqe);
	assert_int_equal((uint16_t)(q->fetch_ring->tail - tail), 1);
	assert_int_equal(q->fetch_ring->bufs[tail & 3].bid, 2);
	assert_int_equal(q->cmds_inflight, 1);	/* still armed */
	assert_int_equal(io_uring_sq_ready(&q->ring), 0);
	queue_free(q);
}

static void fetch_end__rearmed_when_out_of_buffers_stopped_on_abort(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, UBLK_F_USER_COPY);
	struct io_uring_cqe cqe;

	fetch_cqe(&cqe, 0, -ENOBUFS);
	q->cmds_inflight = 1;
	ublk_batch_cmd_ops.handle_cqe(q, &cqe);
	assert_int_equal(io_uring_sq_ready(&q->ring), 1);
	assert_int_equal(sqe_at(q, 0)->cmd_op, UBLK_U_IO_FETCH_IO_CMDS);
	assert_int_equal(q->cmds_inflight, 1);
	assert_false(q->stopping);

	fetch_cqe(&cqe, 0, UBLK_IO_RES_ABORT);
	ublk_batch_cmd_ops.handle_cqe(q, &cqe);
	assert_int_equal(q->cmds_inflight, 0);
	assert_true(q->stopping);
	assert_int_equal(q->error, 0);		/* the device went away: no error */
	queue_free(q);
}

static void commit_cqe__failure_or_short_answer_fails_the_queue(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, UBLK_F_USER_COPY);
	struct io_uring_cqe cqe = {
		.user_data = ublk_user_data(2, UBLK_U_IO_COMMIT_IO_CMDS, false), .res = 16 };

	ublk_batch_cmd_ops.handle_cqe(q, &cqe);		/* both elements taken */
	assert_false(q->stopping);
	cqe.res = 8;				/* one of two */
	ublk_batch_cmd_ops.handle_cqe(q, &cqe);
	assert_true(q->stopping);
	assert_int_equal(q->error, -EIO);
	q->error = 0;
	cqe.res = -EINVAL;
	ublk_batch_cmd_ops.handle_cqe(q, &cqe);
	assert_int_equal(q->error, -EINVAL);
	assert_int_equal(q->cmds_inflight, 0);
	queue_free(q);
}

/* The driver hands over at most a buffer's worth: 128 tags need 256 bytes. */
static void setup__buffers_for_every_tag_twice_over(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, UBLK_F_USER_COPY);

	assert_int_equal(q->fetch_ring->tail, 4);	/* at least four */
	assert_int_equal(q->fetch_ring->bufs[0].len, DEPTH * sizeof(uint16_t));
	queue_free(q);
	q = queue_deep(&dev, UBLK_F_USER_COPY, 1000);
	assert_int_equal(q->fetch_ring->tail, 16);	/* 2 x 8 of 128 */
	assert_int_equal(q->fetch_ring->bufs[15].len, 256);
	assert_int_equal(q->fetch_ring->bufs[15].bid, 15);
	queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(setup__buffers_for_every_tag_twice_over),
		cmocka_unit_test(start__prep_lists_every_tag_with_its_buffer_then_fetch),
		cmocka_unit_test(flush__one_commit_per_batch_from_alternate_arrays),
		cmocka_unit_test(fetch_cqe__dispatches_its_tags_and_gives_the_buffer_back),
		cmocka_unit_test(fetch_end__rearmed_when_out_of_buffers_stopped_on_abort),
		cmocka_unit_test(commit_cqe__failure_or_short_answer_fails_the_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
