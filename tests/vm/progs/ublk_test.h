/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the raw-UAPI test programs in tests/vm/progs: checks
 * that count failures, control commands on an SQE128 ring with a bound on
 * how long each may take, and the parameter and device-info defaults.
 */
#ifndef UBLK_TEST_H
#define UBLK_TEST_H

#include <errno.h>
#include <liburing.h>
#include <linux/ublk_cmd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define TEST_DEPTH	4
#define TEST_BUF_BYTES	(64 << 10)

static int *failures;		/* in shared memory: children count too */

static void check(const char *what, long got, long want)
{
	if (got == want) {
		printf("ok %s\n", what);
	} else {
		printf("FAIL %s: got %ld, want %ld\n", what, got, want);
		__atomic_fetch_add(failures, 1, __ATOMIC_SEQ_CST);
	}
	fflush(stdout);
}

static int init_failures(void)
{
	failures = mmap(NULL, sizeof(*failures), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return failures == MAP_FAILED ? -1 : 0;
}

static struct io_uring_sqe *uring_cmd_sqe(struct io_uring *r, int fd, unsigned int op,
					  uint64_t data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);

	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	sqe->user_data = data;
	return sqe;
}

static struct ublksrv_ctrl_cmd cmd_for(unsigned int id, void *buf, unsigned int len)
{
	struct ublksrv_ctrl_cmd c = {
		.dev_id = id, .queue_id = (__u16)-1, .addr = (uintptr_t)buf, .len = len,
	};
	return c;
}

static struct ublksrv_ctrl_dev_info dev_info_for(unsigned int id, __u64 flags)
{
	struct ublksrv_ctrl_dev_info info = {
		.nr_hw_queues = 1, .queue_depth = TEST_DEPTH, .max_io_buf_bytes = TEST_BUF_BYTES,
		.dev_id = id, .flags = flags,
	};
	return info;
}

static struct ublk_params good_params(void)
{
	struct ublk_params p = {
		.len = sizeof(p),
		.types = UBLK_PARAM_TYPE_BASIC,
		.basic = {
			.logical_bs_shift = 9, .physical_bs_shift = 12,
			.io_opt_shift = 12, .io_min_shift = 9,
			.max_sectors = TEST_BUF_BYTES >> 9, .dev_sectors = 1 << 20,
		},
	};
	return p;
}

#endif
