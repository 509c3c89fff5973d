// SPDX-License-Identifier: MIT
/*
 * Description: the per-tag command mode (lib/queue.c) on a real io_uring
 * without a ublk device: the FETCH_REQ and COMMIT_AND_FETCH_REQ SQEs it
 * builds, how it takes each answer, and UBLK_F_NEED_GET_DATA's extra round
 * trip for writes.
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

static int fake_queue_io(struct ublk_queue *q, unsigned int tag,
			 const struct ublksrv_io_desc *iod)
{
	check_expected(tag);
	return 0;
}

static const struct ublk_tgt_ops fake_tgt = {
	.name		= "fake",
	.queue_io	= fake_queue_io,
};

/* A started queue: every tag's FETCH_REQ in the SQ, not submitted. */
static struct ublk_queue *queue_new(struct ublk_dev *dev, bool ioctl_encode)
{
	struct ublk_queue *q = calloc(1, sizeof(*q) + DEPTH * sizeof(q->ios[0]));
	unsigned int tag;

	memset(dev, 0, sizeof(*dev));
	dev->info.flags = UBLK_F_NEED_GET_DATA;
	dev->io_cmd_fetch = ioctl_encode ? UBLK_U_IO_FETCH_REQ : UBLK_IO_FETCH_REQ;
	dev->io_cmd_commit = ioctl_encode ? UBLK_U_IO_COMMIT_AND_FETCH_REQ :
					    UBLK_IO_COMMIT_AND_FETCH_REQ;
	dev->ops = &fake_tgt;
	q->dev = dev;
	q->q_id = 1;
	q->depth = DEPTH;
	q->cmd_ops = &ublk_tag_cmd_ops;
	for (tag = 0; tag < DEPTH; tag++)
		q->ios[tag].buf = (void *)(uintptr_t)(0x10000 * (tag + 1));
	assert_int_equal(io_uring_queue_init(16, &q->ring, 0), 0);
	q->cmd_ops->start(q);
	return q;
}

static void queue_free(struct ublk_queue *q)
{
	io_uring_queue_exit(&q->ring);
	free(q);
}

/* The SQE at position i of those not yet submitted. */
static struct io_uring_sqe *sqe_at(struct ublk_queue *q, unsigned int i)
{
	return &q->ring.sq.sqes[(q->ring.sq.sqe_head + i) & *q->ring.sq.kring_mask];
}

static const struct ublksrv_io_cmd *io_cmd(const struct io_uring_sqe *sqe)
{
	return (const struct ublksrv_io_cmd *)sqe->cmd;
}

/* The driver answers the last command of tag with res. */
static void answer(struct ublk_queue *q, unsigned int tag, unsigned int op, int res)
{
	struct io_uring_cqe cqe = { .user_data = ublk_user_data(tag, op, false), .res = res };

	q->cmd_ops->handle_cqe(q, &cqe);
}

static void start__fetch_every_tag_with_its_buffer(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, true);
	unsigned int tag;

	assert_int_equal(io_uring_sq_ready(&q->ring), DEPTH);
	assert_int_equal(q->cmds_inflight, DEPTH);
	for (tag = 0; tag < DEPTH; tag++) {
		struct io_uring_sqe *sqe = sqe_at(q, tag);

		assert_int_equal(sqe->opcode, IORING_OP_URING_CMD);
		assert_int_equal(sqe->cmd_op, UBLK_U_IO_FETCH_REQ);
		assert_int_equal(io_cmd(sqe)->q_id, 1);
		assert_int_equal(io_cmd(sqe)->tag, tag);
		assert_int_equal(io_cmd(sqe)->addr, 0x10000 * (tag + 1));
	}
	queue_free(q);
}

static void request__dispatched_then_committed(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, true);
	struct io_uring_sqe *sqe;

	expect_value(fake_queue_io, tag, 3);
	answer(q, 3, UBLK_U_IO_FETCH_REQ, UBLK_IO_RES_OK);
	assert_int_equal(q->cmds_inflight, DEPTH - 1);
	ublk_complete_io(q, 3, 4096);
	sqe = sqe_at(q, DEPTH);
	assert_int_equal(sqe->cmd_op, UBLK_U_IO_COMMIT_AND_FETCH_REQ);
	assert_int_equal(io_cmd(sqe)->tag, 3);
	assert_int_equal(io_cmd(sqe)->result, 4096);
	assert_int_equal(io_cmd(sqe)->addr, 0x40000);
	assert_int_equal(q->cmds_inflight, DEPTH);
	queue_free(q);
}

/*
 * NEED_GET_DATA: a write comes without its data; the queue names the
 * tag's buffer with UBLK_U_IO_NEED_GET_DATA and dispatches the request
 * only when that command completes.
 */
static void need_get_data__buffer_named_then_dispatched(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, true);
	struct io_uring_sqe *sqe;

	answer(q, 2, UBLK_U_IO_FETCH_REQ, UBLK_IO_RES_NEED_GET_DATA);	/* no dispatch */
	assert_int_equal(io_uring_sq_ready(&q->ring), DEPTH + 1);
	assert_int_equal(q->cmds_inflight, DEPTH);
	sqe = sqe_at(q, DEPTH);
	assert_int_equal(sqe->opcode, IORING_OP_URING_CMD);
	assert_int_equal(sqe->cmd_op, UBLK_U_IO_NEED_GET_DATA);
	assert_int_equal(io_cmd(sqe)->q_id, 1);
	assert_int_equal(io_cmd(sqe)->tag, 2);
	assert_int_equal(io_cmd(sqe)->addr, 0x30000);
	assert_int_equal(ublk_ud_tag(sqe->user_data), 2);
	assert_false(ublk_ud_is_tgt(sqe->user_data));

	expect_value(fake_queue_io, tag, 2);
	answer(q, 2, UBLK_U_IO_NEED_GET_DATA, UBLK_IO_RES_OK);
	assert_int_equal(q->cmds_inflight, DEPTH - 1);
	assert_false(q->stopping);
	queue_free(q);
}

/* the same after a commit, and with the legacy opcodes */
static void need_get_data__legacy_opcode_after_commit(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, false);

	expect_value(fake_queue_io, tag, 0);
	answer(q, 0, UBLK_IO_FETCH_REQ, UBLK_IO_RES_OK);
	ublk_complete_io(q, 0, 512);
	answer(q, 0, UBLK_IO_COMMIT_AND_FETCH_REQ, UBLK_IO_RES_NEED_GET_DATA);
	assert_int_equal(sqe_at(q, DEPTH + 1)->cmd_op, UBLK_IO_NEED_GET_DATA);
	assert_int_equal(io_cmd(sqe_at(q, DEPTH + 1))->addr, 0x10000);
	queue_free(q);
}

static void abort__stops_without_error(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, true);

	answer(q, 1, UBLK_U_IO_FETCH_REQ, UBLK_IO_RES_ABORT);
	assert_true(q->stopping);
	assert_int_equal(q->error, 0);
	assert_int_equal(q->cmds_inflight, DEPTH - 1);
	queue_free(q);
}

static void refused_command__is_the_queue_error(void **state)
{
	struct ublk_dev dev;
	struct ublk_queue *q = queue_new(&dev, true);

	answer(q, 1, UBLK_U_IO_NEED_GET_DATA, -EINVAL);
	assert_true(q->stopping);
	assert_int_equal(q->error, -EINVAL);
	/* a tag out of range is not ours: ignored */
	answer(q, DEPTH, UBLK_U_IO_FETCH_REQ, UBLK_IO_RES_OK);
	assert_int_equal(q->cmds_inflight, DEPTH - 1);
	queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start__fetch_every_tag_with_its_buffer),
		cmocka_unit_test(request__dispatched_then_committed),
		cmocka_unit_test(need_get_data__buffer_named_then_dispatched),
		cmocka_unit_test(need_get_data__legacy_opcode_after_commit),
		cmocka_unit_test(abort__stops_without_error),
		cmocka_unit_test(refused_command__is_the_queue_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
