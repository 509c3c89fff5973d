// SPDX-License-Identifier: MIT
/*
 * null target: every request completes at once with its full length. Like
 * null_blk without memory_backed it moves no data: with UBLK_F_USER_COPY
 * the driver leaves the copying to the server, and null never copies.
 */
#include <stdio.h>

#include "ublk.h"

static int null_init(struct ublk_dev *dev, struct ublk_params *p)
{
	if (!dev->opts.size)
		dev->opts.size = UBLK_DEF_NULL_SIZE;
	/* the driver drops NEED_GET_DATA, if asked for, with user copy */
	if (!(dev->opts.flags & UBLK_F_NEED_GET_DATA))
		dev->tgt_flags = UBLK_F_USER_COPY;
	ublk_build_params(&dev->opts, p);
	return 0;
}

static int null_queue_io(struct ublk_queue *q, unsigned int tag,
			 const struct ublksrv_io_desc *iod)
{
	ublk_complete_io(q, tag, iod->nr_sectors << 9);
	return 0;
}

static int null_describe(const struct ublk_dev *dev, char *buf, size_t len)
{
	int n = snprintf(buf, len, "{\"name\":\"null\",\"dev_size\":%llu}",
			 (unsigned long long)dev->opts.size);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const struct ublk_tgt_ops null_tgt_ops = {
	.name		= "null",
	.init		= null_init,
	.queue_io	= null_queue_io,
	.describe	= null_describe,
};
