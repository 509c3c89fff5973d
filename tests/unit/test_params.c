// SPDX-License-Identifier: MIT
/* Description: ADD_DEV info and SET_PARAMS params follow the options. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ublk.h"

static void dev_info__defaults__kernel_picks_id(void **state)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_dev_opts o;

	ublk_dev_opts_init(&o);
	ublk_build_dev_info(&o, 0, &info);
	assert_int_equal(info.dev_id, ~0U);
	assert_int_equal(info.nr_hw_queues, 1);
	assert_int_equal(info.queue_depth, 128);
	assert_int_equal(info.max_io_buf_bytes, UBLK_IO_BUF_BYTES);
	assert_int_equal(info.flags, 0);
}

static void dev_info__features__only_known_asked(void **state)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_dev_opts o;

	ublk_dev_opts_init(&o);
	o.dev_id = 5;
	o.nr_queues = 4;
	o.depth = 64;
	/* the driver offers zero copy and more; we ask only for encoding */
	ublk_build_dev_info(&o, UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_SUPPORT_ZERO_COPY |
			    UBLK_F_USER_COPY, &info);
	assert_int_equal(info.dev_id, 5);
	assert_int_equal(info.nr_hw_queues, 4);
	assert_int_equal(info.queue_depth, 64);
	assert_int_equal(info.flags, UBLK_F_CMD_IOCTL_ENCODE);
}

/* NEED_GET_DATA has no batch form: the per-tag commands even where batch IO is */
static void dev_info__need_get_data__no_batch_io(void **state)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_dev_opts o;

	ublk_dev_opts_init(&o);
	ublk_build_dev_info(&o, UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_BATCH_IO |
			    UBLK_F_NEED_GET_DATA, &info);
	assert_int_equal(info.flags, UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_BATCH_IO);
	o.flags = UBLK_F_NEED_GET_DATA;
	ublk_build_dev_info(&o, UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_BATCH_IO |
			    UBLK_F_NEED_GET_DATA, &info);
	assert_int_equal(info.flags, UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_NEED_GET_DATA);
}

/* QUIESCE (for upgrade) is asked for with recovery only, and only if offered */
static void dev_info__recovery__quiesce_when_offered(void **state)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_dev_opts o;

	ublk_dev_opts_init(&o);
	ublk_build_dev_info(&o, UBLK_F_QUIESCE, &info);
	assert_int_equal(info.flags, 0);
	o.flags = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE;
	ublk_build_dev_info(&o, 0, &info);
	assert_int_equal(info.flags, o.flags);
	ublk_build_dev_info(&o, UBLK_F_QUIESCE, &info);
	assert_int_equal(info.flags, o.flags | UBLK_F_QUIESCE);
}

/* 7.2 cannot quiesce a batch-IO queue without failing IO: per tag then */
static void dev_info__recovery_and_quiesce__no_batch_io(void **state)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_dev_opts o;

	ublk_dev_opts_init(&o);
	ublk_build_dev_info(&o, UBLK_F_BATCH_IO | UBLK_F_QUIESCE, &info);
	assert_int_equal(info.flags, UBLK_F_BATCH_IO);
	o.flags = UBLK_F_USER_RECOVERY;
	ublk_build_dev_info(&o, UBLK_F_BATCH_IO, &info);
	assert_int_equal(info.flags, UBLK_F_USER_RECOVERY | UBLK_F_BATCH_IO);
	ublk_build_dev_info(&o, UBLK_F_BATCH_IO | UBLK_F_QUIESCE, &info);
	assert_int_equal(info.flags, UBLK_F_USER_RECOVERY | UBLK_F_QUIESCE);
}

static void params__4k_blocks__shifts_and_rounded_size(void **state)
{
	struct ublk_dev_opts o;
	struct ublk_params p;

	ublk_dev_opts_init(&o);
	o.block_size = 4096;
	o.size = (1ULL << 30) + 1000;	/* not a whole number of blocks */
	o.read_only = true;
	ublk_build_params(&o, &p);
	assert_int_equal(p.len, sizeof(p));
	assert_int_equal(p.types, UBLK_PARAM_TYPE_BASIC);
	assert_int_equal(p.basic.logical_bs_shift, 12);
	assert_int_equal(p.basic.physical_bs_shift, 12);
	assert_int_equal(p.basic.dev_sectors, (1ULL << 30) >> 9);
	assert_int_equal(p.basic.max_sectors, UBLK_IO_BUF_BYTES >> 9);
	assert_true(p.basic.attrs & UBLK_ATTR_READ_ONLY);
}

static void params__512_blocks__writable(void **state)
{
	struct ublk_dev_opts o;
	struct ublk_params p;

	ublk_dev_opts_init(&o);
	o.size = 1ULL << 20;
	ublk_build_params(&o, &p);
	assert_int_equal(p.basic.logical_bs_shift, 9);
	assert_int_equal(p.basic.dev_sectors, 2048);
	assert_false(p.basic.attrs & UBLK_ATTR_READ_ONLY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dev_info__defaults__kernel_picks_id),
		cmocka_unit_test(dev_info__features__only_known_asked),
		cmocka_unit_test(dev_info__need_get_data__no_batch_io),
		cmocka_unit_test(dev_info__recovery__quiesce_when_offered),
		cmocka_unit_test(dev_info__recovery_and_quiesce__no_batch_io),
		cmocka_unit_test(params__4k_blocks__shifts_and_rounded_size),
		cmocka_unit_test(params__512_blocks__writable),
	};

	return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
