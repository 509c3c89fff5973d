// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: SET_PARAMS and UPDATE_SIZE values, checked before anything is
 * kept, and turned into the disk's queue limits. Calls nothing else.
 */
#include <linux/blkdev.h>
#include "ublk.h"

/* A size in sectors the disk can take: whole blocks, bytes fit a loff_t. */
int ublk_check_size(const struct ublk_param_basic *p, u64 sectors)
{
	unsigned int lbs_sectors = 1U << (p->logical_bs_shift - SECTOR_SHIFT);

	if (sectors > (u64)LLONG_MAX >> SECTOR_SHIFT)
		return -EINVAL;
	if (sectors & (lbs_sectors - 1))
		return -EINVAL;
	return 0;
}

static int ublk_check_basic(const struct ublk_device *ub, const struct ublk_param_basic *p)
{
	unsigned int lbs_sectors;

	if (p->logical_bs_shift < SECTOR_SHIFT || p->logical_bs_shift > PAGE_SHIFT)
		return -EINVAL;
	lbs_sectors = 1U << (p->logical_bs_shift - SECTOR_SHIFT);
	if (p->physical_bs_shift < p->logical_bs_shift || p->physical_bs_shift > 20)
		return -EINVAL;
	if (p->io_min_shift > 30 || p->io_opt_shift > 30)
		return -EINVAL;
	if (p->max_sectors < (PAGE_SIZE >> SECTOR_SHIFT) ||
	    p->max_sectors > (ub->info.max_io_buf_bytes >> SECTOR_SHIFT))
		return -EINVAL;
	/* a chunk smaller than a block would not split bios at all */
	if (p->chunk_sectors &&
	    (!is_power_of_2(p->chunk_sectors) || p->chunk_sectors < lbs_sectors))
		return -EINVAL;
	/* a boundary mask is 2^n - 1, at most a page */
	if (p->virt_boundary_mask &&
	    ((p->virt_boundary_mask & (p->virt_boundary_mask + 1)) ||
	     p->virt_boundary_mask >= PAGE_SIZE))
		return -EINVAL;
	if (p->attrs & ~(UBLK_ATTR_READ_ONLY | UBLK_ATTR_ROTATIONAL |
			 UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA))
		return -EINVAL;
	return ublk_check_size(p, p->dev_sectors);
}

static int ublk_check_discard(const struct ublk_param_discard *d)
{
	if (!d->discard_granularity || !is_power_of_2(d->discard_granularity))
		return -EINVAL;
	/*
	 * The block layer merges non-adjacent discards into one request of
	 * several ranges; the UAPI hands the server one range only, which
	 * would cover (and destroy) the data between them.
	 */
	if (d->max_discard_sectors && d->max_discard_segments != 1)
		return -EINVAL;
	return 0;
}

static int ublk_check_segment(const struct ublk_param_basic *b,
			      const struct ublk_param_segment *s)
{
	/* the block layer insists on these, and would WARN otherwise */
	if (b->virt_boundary_mask || !s->max_segments)
		return -EINVAL;
	if (s->max_segment_size < max_t(u32, UBLK_MIN_SEGMENT_SIZE, PAGE_SIZE))
		return -EINVAL;
	if (s->seg_boundary_mask < PAGE_SIZE - 1 || !is_power_of_2(s->seg_boundary_mask + 1))
		return -EINVAL;
	return 0;
}

int ublk_validate_params(const struct ublk_device *ub, const struct ublk_params *p)
{
	static const struct { u32 type; size_t end; } need[] = {
		{ UBLK_PARAM_TYPE_BASIC, offsetofend(struct ublk_params, basic) },
		{ UBLK_PARAM_TYPE_DISCARD, offsetofend(struct ublk_params, discard) },
		{ UBLK_PARAM_TYPE_DMA_ALIGN, offsetofend(struct ublk_params, dma) },
		{ UBLK_PARAM_TYPE_SEGMENT, offsetofend(struct ublk_params, seg) },
	};
	unsigned int i;
	int ret;

	if (p->types & ~UBLK_PARAM_TYPES)
		return -EINVAL;
	if (!(p->types & UBLK_PARAM_TYPE_BASIC))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(need); i++)
		if ((p->types & need[i].type) && p->len < need[i].end)
			return -EINVAL;
	ret = ublk_check_basic(ub, &p->basic);
	if (!ret && (p->types & UBLK_PARAM_TYPE_DISCARD))
		ret = ublk_check_discard(&p->discard);
	if (!ret && (p->types & UBLK_PARAM_TYPE_SEGMENT))
		ret = ublk_check_segment(&p->basic, &p->seg);
	if (ret)
		return ret;
	if ((p->types & UBLK_PARAM_TYPE_DMA_ALIGN) &&
	    (p->dma.alignment >= PAGE_SIZE || !is_power_of_2(p->dma.alignment + 1)))
		return -EINVAL;
	return 0;
}

void ublk_fill_limits(const struct ublk_params *p, struct ublk_limits *ul)
{
	const struct ublk_param_basic *b = &p->basic;
	struct queue_limits *lim = &ul->lim;

	lim->logical_block_size = 1U << b->logical_bs_shift;
	lim->physical_block_size = 1U << b->physical_bs_shift;
	lim->io_min = 1U << b->io_min_shift;
	lim->io_opt = 1U << b->io_opt_shift;
	lim->max_hw_sectors = b->max_sectors;
	lim->chunk_sectors = b->chunk_sectors;
	lim->virt_boundary_mask = b->virt_boundary_mask;
	lim->max_segments = USHRT_MAX;
	ul->write_cache = b->attrs & UBLK_ATTR_VOLATILE_CACHE;
	ul->fua = b->attrs & UBLK_ATTR_FUA;
	ul->rotational = b->attrs & UBLK_ATTR_ROTATIONAL;
	if (p->types & UBLK_PARAM_TYPE_DISCARD) {
		lim->discard_alignment = p->discard.discard_alignment;
		lim->discard_granularity = p->discard.discard_granularity;
		lim->max_hw_discard_sectors = p->discard.max_discard_sectors;
		lim->max_write_zeroes_sectors = p->discard.max_write_zeroes_sectors;
		lim->max_discard_segments = p->discard.max_discard_segments;
	}
	if (p->types & UBLK_PARAM_TYPE_DMA_ALIGN)
		lim->dma_alignment = p->dma.alignment;
	if (p->types & UBLK_PARAM_TYPE_SEGMENT) {
		lim->seg_boundary_mask = p->seg.seg_boundary_mask;
		lim->max_segment_size = p->seg.max_segment_size;
		lim->max_segments = p->seg.max_segments;
	}
}
