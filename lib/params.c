// SPDX-License-Identifier: MIT
/* Building what ADD_DEV and SET_PARAMS carry from the user's options. */
#include <string.h>
#include <unistd.h>

#include "ublk.h"

/* Feature bits we ask for whenever the driver has them. */
/* batch IO where the driver offers it (7.0 and later): see batch.c */
#define UBLK_WANTED_FEATURES	(UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_BATCH_IO | UBLK_F_UPDATE_SIZE)

void ublk_build_dev_info(const struct ublk_dev_opts *o, uint64_t features,
			 struct ublksrv_ctrl_dev_info *info)
{
	memset(info, 0, sizeof(*info));
	info->nr_hw_queues = o->nr_queues;
	info->queue_depth = o->depth;
	info->max_io_buf_bytes = UBLK_IO_BUF_BYTES;
	info->dev_id = o->dev_id < 0 ? ~0U : (unsigned int)o->dev_id;
	info->flags = (features & UBLK_WANTED_FEATURES) | o->flags;
	info->ublksrv_flags = o->cookie;	/* the driver keeps it for us */
	/* batch IO has no NEED_GET_DATA: the per-tag commands then */
	if (o->flags & UBLK_F_NEED_GET_DATA)
		info->flags &= ~UBLK_F_BATCH_IO;
	/*
	 * A recoverable device can be handed to a new server losslessly
	 * (upgrade), on per-tag queues: 7.2 fails the requests arriving at
	 * a batch-IO queue while it quiesces it.
	 */
	if ((o->flags & UBLK_F_USER_RECOVERY) && (features & UBLK_F_QUIESCE)) {
		info->flags |= UBLK_F_QUIESCE;
		info->flags &= ~UBLK_F_BATCH_IO;
	}
}

/*
 * A device we can serve: its queues fit dev->queues[] and the state's
 * tids[], its depth our tags. Another tool may have made it with more.
 */
bool ublk_dev_info_servable(const struct ublksrv_ctrl_dev_info *info)
{
	return info->nr_hw_queues >= 1 && info->nr_hw_queues <= UBLK_MAX_QUEUES &&
	       info->queue_depth >= 1 && info->queue_depth <= UBLK_MAX_QUEUE_DEPTH;
}

static unsigned int ilog2_u32(unsigned int v)
{
	unsigned int r = 0;

	while (v >>= 1)
		r++;
	return r;
}

/*
 * Basic params only; a target adds discard where its backend supports it.
 * The size is rounded down to whole logical blocks.
 */
void ublk_build_params(const struct ublk_dev_opts *o, struct ublk_params *p)
{
	unsigned int lbs_shift = ilog2_u32(o->block_size);
	unsigned int pbs = o->block_size > 4096 ? o->block_size : 4096;

	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	p->types = UBLK_PARAM_TYPE_BASIC;
	p->basic.logical_bs_shift = lbs_shift;
	p->basic.physical_bs_shift = ilog2_u32(pbs);
	p->basic.io_min_shift = lbs_shift;
	p->basic.io_opt_shift = ilog2_u32(pbs);
	p->basic.max_sectors = UBLK_IO_BUF_BYTES >> 9;
	p->basic.dev_sectors = (o->size >> lbs_shift) << (lbs_shift - 9);
	if (o->read_only)
		p->basic.attrs |= UBLK_ATTR_READ_ONLY;
}
