// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: /dev/ublkbN. blk-mq dispatch to the server's fetched commands,
 * completion, and what happens when the server goes away: stop the disk,
 * or park (requeue/reissue) or fail IO until a new server recovers it.
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include "ublk.h"

static const struct block_device_operations ublk_bd_ops;

/* Ends a request for which no server will ever answer. */
void ublk_abort_rq(struct ublk_device *ub, struct request *rq, bool seen)
{
	/* requeue parks it until recovery; a dead server's IO only on reissue */
	if (READ_ONCE(ub->requeue_ok) &&
	    (!seen || (ub->info.flags & UBLK_F_USER_RECOVERY_REISSUE)))
		blk_mq_requeue_request(rq, false);
	else
		blk_mq_end_request(rq, BLK_STS_IOERR);
}

static void ublk_end_rq(struct request *rq, int res)
{
	if (res == UBLK_RES_REQUEUE) {
		blk_mq_requeue_request(rq, false);
		return;
	}
	if (res < 0) {
		blk_mq_end_request(rq, errno_to_blk_status(res));
		return;
	}
	if (req_op(rq) != REQ_OP_READ && req_op(rq) != REQ_OP_WRITE) {
		blk_mq_end_request(rq, BLK_STS_OK);
		return;
	}
	/* no progress at all would requeue forever */
	if (!res) {
		blk_mq_end_request(rq, BLK_STS_IOERR);
		return;
	}
	/* a short transfer: the rest goes to the server again */
	if (blk_update_request(rq, BLK_STS_OK, res))
		blk_mq_requeue_request(rq, true);
	else
		__blk_mq_end_request(rq, BLK_STS_OK);
}

/*
 * Drops a reference of the server's turn; the last one ends the request.
 * Only user copy takes more than the one, so others skip the atomic.
 */
void ublk_put_request(struct ublk_device *ub, struct ublk_io *io)
{
	if (ublk_user_copy(ub) && !refcount_dec_and_test(&io->ref))
		return;
	ublk_end_rq(io->rq, io->res);
}

static u32 ublk_op_flags(struct request *rq)
{
	u32 flags = 0;

	if (rq->cmd_flags & REQ_FAILFAST_DEV)
		flags |= UBLK_IO_F_FAILFAST_DEV;
	if (rq->cmd_flags & REQ_FAILFAST_TRANSPORT)
		flags |= UBLK_IO_F_FAILFAST_TRANSPORT;
	if (rq->cmd_flags & REQ_FAILFAST_DRIVER)
		flags |= UBLK_IO_F_FAILFAST_DRIVER;
	if (rq->cmd_flags & REQ_META)
		flags |= UBLK_IO_F_META;
	if (rq->cmd_flags & REQ_FUA)
		flags |= UBLK_IO_F_FUA;
	if (rq->cmd_flags & REQ_NOUNMAP)
		flags |= UBLK_IO_F_NOUNMAP;
	if (rq->cmd_flags & REQ_SWAP)
		flags |= UBLK_IO_F_SWAP;
	return flags;
}

static int ublk_op(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return UBLK_IO_OP_READ;
	case REQ_OP_WRITE:
		return UBLK_IO_OP_WRITE;
	case REQ_OP_FLUSH:
		return UBLK_IO_OP_FLUSH;
	case REQ_OP_DISCARD:
		return UBLK_IO_OP_DISCARD;
	case REQ_OP_WRITE_ZEROES:
		return UBLK_IO_OP_WRITE_ZEROES;
	default:
		return -1;
	}
}

/*
 * The fetch named a bad buffer: fail the request and keep the fetch, or
 * end it when the server died meanwhile (the cancel skipped it).
 */
static void ublk_fail_dispatch(struct ublk_queue *ubq, struct ublk_io *io,
			       struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct request *rq = io->rq;
	bool dead;

	spin_lock(&ubq->lock);
	dead = ubq->dead;
	io->state = dead ? UBLK_IO_IDLE : UBLK_IO_FETCHED;
	if (dead)
		io->cmd = NULL;
	spin_unlock(&ubq->lock);
	blk_mq_end_request(rq, BLK_STS_IOERR);
	if (dead)
		io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, issue_flags);
}

/*
 * Task work in the server's task: hand a write's data over, then complete
 * the fetch so the server sees the request. This work owns the command.
 */
static void ublk_dispatch_tw(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct ublk_queue *ubq = ublk_pdu(cmd)->ubq;
	struct ublk_io *io = &ubq->ios[ublk_pdu(cmd)->tag];
	struct ublk_device *ub = ubq->ub;
	struct request *rq = io->rq;
	int res = UBLK_IO_RES_OK;
	bool dead;

	/* the task is exiting: its memory is no place to copy to */
	if (unlikely(issue_flags & IO_URING_F_TASK_DEAD))
		ublk_srv_gone(ub);
	else if (req_op(rq) == REQ_OP_WRITE && !ublk_user_copy(ub)) {
		if (ublk_need_get_data(ub))
			res = UBLK_IO_RES_NEED_GET_DATA;
		else if (ublk_copy_rq_user(rq, io->addr, blk_rq_bytes(rq), ITER_DEST))
			return ublk_fail_dispatch(ubq, io, cmd, issue_flags);
	}

	spin_lock(&ubq->lock);
	dead = ubq->dead;
	if (dead) {
		io->state = UBLK_IO_IDLE;
	} else {
		refcount_set(&io->ref, 1);
		io->state = res == UBLK_IO_RES_NEED_GET_DATA ? UBLK_IO_NEED_DATA : UBLK_IO_OWNED;
	}
	io->cmd = NULL;
	spin_unlock(&ubq->lock);
	if (dead) {
		ublk_abort_rq(ub, rq, false);
		res = UBLK_IO_RES_ABORT;
	}
	io_uring_cmd_done(cmd, res, 0, issue_flags);
}

static blk_status_t ublk_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	struct ublk_queue *ubq = hctx->driver_data;
	struct ublk_device *ub = ubq->ub;
	struct request *rq = bd->rq;
	struct ublk_io *io = &ubq->ios[rq->tag];
	struct ublksrv_io_desc *iod = &ubq->descs[rq->tag];
	struct io_uring_cmd *cmd = NULL;
	int op = ublk_op(rq);

	if (op < 0)
		return BLK_STS_NOTSUPP;
	blk_mq_start_request(rq);
	if (unlikely(READ_ONCE(ub->fail_io))) {
		blk_mq_end_request(rq, BLK_STS_IOERR);
		return BLK_STS_OK;
	}
	spin_lock(&ubq->lock);
	if (likely(!ubq->dead && io->state == UBLK_IO_FETCHED)) {
		iod->op_flags = op | ublk_op_flags(rq);
		iod->nr_sectors = blk_rq_sectors(rq);
		iod->start_sector = blk_rq_pos(rq);
		iod->addr = io->addr;
		io->rq = rq;
		io->state = UBLK_IO_DISPATCHING;
		cmd = io->cmd;
	}
	spin_unlock(&ubq->lock);
	if (unlikely(!cmd)) {
		/* no server (or one that never fetched this tag) */
		ublk_abort_rq(ub, rq, false);
		return BLK_STS_OK;
	}
	io_uring_cmd_complete_in_task(cmd, ublk_dispatch_tw);
	return BLK_STS_OK;
}

static int ublk_init_hctx(struct blk_mq_hw_ctx *hctx, void *driver_data, unsigned int idx)
{
	struct ublk_device *ub = driver_data;

	hctx->driver_data = ub->queues[idx];
	return 0;
}

const struct blk_mq_ops ublk_mq_ops = {
	.queue_rq = ublk_queue_rq,
	.init_hctx = ublk_init_hctx,
};

/*
 * The server went away (its ring, task or /dev/ublkcN): stop handing out
 * requests at once, wake whoever waits for it, and let the work decide
 * what becomes of the disk. Callable from any context that may spin.
 */
void ublk_srv_gone(struct ublk_device *ub)
{
	unsigned int i;

	if (test_and_set_bit(UB_SRV_GONE, &ub->flags))
		return;
	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		spin_lock(&ub->queues[i]->lock);
		ub->queues[i]->dead = true;
		spin_unlock(&ub->queues[i]->lock);
	}
	wake_up_all(&ub->wait);
	get_device(&ub->cdev_dev);
	if (!queue_work(ublk_wq, &ub->nosrv_work))
		ublk_put_device(ub);
}

/* Ends or requeues the requests a dead server held. Queues are dead. */
static void ublk_abort_held(struct ublk_device *ub)
{
	bool reissue = READ_ONCE(ub->requeue_ok) &&
		       (ub->info.flags & UBLK_F_USER_RECOVERY_REISSUE);
	unsigned int i, tag;

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ublk_queue *ubq = ub->queues[i];

		for (tag = 0; tag < ubq->depth; tag++) {
			struct ublk_io *io = &ubq->ios[tag];
			bool held;

			spin_lock(&ubq->lock);
			held = io->state == UBLK_IO_OWNED || io->state == UBLK_IO_NEED_DATA;
			if (held) {
				io->state = UBLK_IO_IDLE;
				io->res = reissue ? UBLK_RES_REQUEUE : -EIO;
			}
			spin_unlock(&ubq->lock);
			if (held)
				ublk_put_request(ub, io);
		}
	}
}

/* Completes the fetches we still hold, so that the server's loop ends. */
static void ublk_cancel_fetched(struct ublk_device *ub)
{
	unsigned int i, tag;

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ublk_queue *ubq = ub->queues[i];

		for (tag = 0; tag < ubq->depth; tag++) {
			struct ublk_io *io = &ubq->ios[tag];
			struct io_uring_cmd *cmd = NULL;

			spin_lock(&ubq->lock);
			ubq->dead = true;
			if (io->state == UBLK_IO_FETCHED) {
				cmd = io->cmd;
				io->cmd = NULL;
				io->state = UBLK_IO_IDLE;
			}
			spin_unlock(&ubq->lock);
			if (cmd)
				io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, IO_URING_F_UNLOCKED);
		}
	}
}

void ublk_nosrv_work(struct work_struct *work)
{
	struct ublk_device *ub = container_of(work, struct ublk_device, nosrv_work);

	/*
	 * First the dead server's requests, without the mutex: a STOP_DEV
	 * holding it may be waiting in del_gendisk() for exactly these.
	 */
	ublk_abort_held(ub);
	mutex_lock(&ub->mutex);
	if (ub->info.state == UBLK_S_DEV_LIVE && test_bit(UB_SRV_GONE, &ub->flags)) {
		if (!ublk_recoverable(ub)) {
			ublk_stop_disk(ub);
		} else if (ub->info.flags & UBLK_F_USER_RECOVERY_FAIL_IO) {
			WRITE_ONCE(ub->fail_io, true);
			ub->info.state = UBLK_S_DEV_FAIL_IO;
			blk_mq_kick_requeue_list(ub->disk->queue);
		} else {
			/* wait out queue_rq calls running now, then park */
			blk_mq_quiesce_queue(ub->disk->queue);
			ub->info.state = UBLK_S_DEV_QUIESCED;
		}
	}
	mutex_unlock(&ub->mutex);
	ublk_put_device(ub);
}

/*
 * Fresh queues for a new server, once the old one left nothing behind.
 * Caller holds ub->mutex and /dev/ublkcN is closed.
 */
int ublk_reset_queues(struct ublk_device *ub)
{
	unsigned int i, tag;

	for (i = 0; i < ub->info.nr_hw_queues; i++)
		for (tag = 0; tag < ub->queues[i]->depth; tag++)
			if (READ_ONCE(ub->queues[i]->ios[tag].state) != UBLK_IO_IDLE)
				return -EBUSY;
	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ublk_queue *ubq = ub->queues[i];

		spin_lock(&ubq->lock);
		if (ubq->daemon)
			put_task_struct(ubq->daemon);
		ubq->daemon = NULL;
		ubq->nr_fetched = 0;
		ubq->dead = false;
		spin_unlock(&ubq->lock);
	}
	atomic_set(&ub->nr_queues_ready, 0);
	clear_bit(UB_SRV_GONE, &ub->flags);
	return 0;
}

static int ublk_check_basic(const struct ublk_device *ub, const struct ublk_param_basic *p)
{
	if (p->logical_bs_shift < SECTOR_SHIFT || p->logical_bs_shift > PAGE_SHIFT)
		return -EINVAL;
	if (p->physical_bs_shift < p->logical_bs_shift || p->physical_bs_shift > 20)
		return -EINVAL;
	if (p->io_min_shift > 30 || p->io_opt_shift > 30)
		return -EINVAL;
	if (p->max_sectors < (PAGE_SIZE >> SECTOR_SHIFT) ||
	    p->max_sectors > (ub->info.max_io_buf_bytes >> SECTOR_SHIFT))
		return -EINVAL;
	if (p->chunk_sectors && !is_power_of_2(p->chunk_sectors))
		return -EINVAL;
	/* a boundary mask is 2^n - 1, at most a page */
	if (p->virt_boundary_mask &&
	    ((p->virt_boundary_mask & (p->virt_boundary_mask + 1)) ||
	     p->virt_boundary_mask >= PAGE_SIZE))
		return -EINVAL;
	if (p->attrs & ~(UBLK_ATTR_READ_ONLY | UBLK_ATTR_ROTATIONAL |
			 UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA))
		return -EINVAL;
	if (p->dev_sectors > (sector_t)LLONG_MAX >> SECTOR_SHIFT)
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
	if (ret)
		return ret;
	if (p->types & UBLK_PARAM_TYPE_DISCARD) {
		if (p->discard.max_discard_sectors && !p->discard.discard_granularity)
			return -EINVAL;
		if (p->discard.discard_granularity &&
		    !is_power_of_2(p->discard.discard_granularity))
			return -EINVAL;
	}
	if ((p->types & UBLK_PARAM_TYPE_DMA_ALIGN) &&
	    (p->dma.alignment >= PAGE_SIZE || !is_power_of_2(p->dma.alignment + 1)))
		return -EINVAL;
	if (p->types & UBLK_PARAM_TYPE_SEGMENT) {
		/* the block layer insists on these, and would WARN otherwise */
		if (p->basic.virt_boundary_mask || !p->seg.max_segments ||
		    p->seg.max_segment_size < UBLK_MIN_SEGMENT_SIZE ||
		    p->seg.seg_boundary_mask < PAGE_SIZE - 1 ||
		    !is_power_of_2(p->seg.seg_boundary_mask + 1))
			return -EINVAL;
	}
	return 0;
}

static void ublk_fill_limits(const struct ublk_params *p, struct queue_limits *lim)
{
	const struct ublk_param_basic *b = &p->basic;

	lim->logical_block_size = 1U << b->logical_bs_shift;
	lim->physical_block_size = 1U << b->physical_bs_shift;
	lim->io_min = 1U << b->io_min_shift;
	lim->io_opt = 1U << b->io_opt_shift;
	lim->max_hw_sectors = b->max_sectors;
	lim->chunk_sectors = b->chunk_sectors;
	lim->virt_boundary_mask = b->virt_boundary_mask;
	lim->max_segments = USHRT_MAX;
	if (b->attrs & UBLK_ATTR_VOLATILE_CACHE) {
		lim->features |= BLK_FEAT_WRITE_CACHE;
		if (b->attrs & UBLK_ATTR_FUA)
			lim->features |= BLK_FEAT_FUA;
	}
	if (b->attrs & UBLK_ATTR_ROTATIONAL)
		lim->features |= BLK_FEAT_ROTATIONAL;
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

/* START_DEV: every queue is fetched and params are set. Holds ub->mutex. */
int ublk_start_disk(struct ublk_device *ub)
{
	struct queue_limits lim = { };
	struct gendisk *disk;
	int ret;

	ublk_fill_limits(&ub->params, &lim);
	disk = blk_mq_alloc_disk(&ub->tag_set, &lim, ub);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	disk->fops = &ublk_bd_ops;
	disk->private_data = ub;
	snprintf(disk->disk_name, sizeof(disk->disk_name), "ublkb%u", ub->info.dev_id);
	set_capacity(disk, ub->params.basic.dev_sectors);
	set_disk_ro(disk, ub->params.basic.attrs & UBLK_ATTR_READ_ONLY);
	WRITE_ONCE(ub->requeue_ok, false);	/* until LIVE: fail, never park */
	/* the disk keeps the device (and its tag set) until freed */
	get_device(&ub->cdev_dev);
	ub->disk = disk;
	ret = add_disk(disk);
	if (ret) {
		ub->disk = NULL;
		put_disk(disk);
		return ret;
	}
	ub->info.state = UBLK_S_DEV_LIVE;
	WRITE_ONCE(ub->requeue_ok, ublk_recoverable(ub) &&
		   !(ub->info.flags & UBLK_F_USER_RECOVERY_FAIL_IO));
	return 0;
}

/*
 * STOP_DEV, DEL_DEV, or a server gone without recovery. IO still with a
 * live server completes normally; everything else fails. Holds ub->mutex.
 */
void ublk_stop_disk(struct ublk_device *ub)
{
	struct gendisk *disk = ub->disk;

	if (!disk)
		return;
	WRITE_ONCE(ub->requeue_ok, false);
	if (ub->info.state == UBLK_S_DEV_QUIESCED)
		blk_mq_unquiesce_queue(disk->queue);
	if (ub->info.state != UBLK_S_DEV_LIVE)
		WRITE_ONCE(ub->fail_io, true);
	/* parked requests come back and fail now */
	blk_mq_kick_requeue_list(disk->queue);
	if (test_bit(UB_SRV_GONE, &ub->flags))
		ublk_abort_held(ub);
	del_gendisk(disk);
	ublk_cancel_fetched(ub);
	ub->disk = NULL;
	ub->info.state = UBLK_S_DEV_DEAD;
	ub->info.ublksrv_pid = -1;
	WRITE_ONCE(ub->fail_io, false);
	put_disk(disk);
}

static void ublk_free_disk(struct gendisk *disk)
{
	struct ublk_device *ub = disk->private_data;

	ublk_put_device(ub);
}

static const struct block_device_operations ublk_bd_ops = {
	.owner = THIS_MODULE,
	.free_disk = ublk_free_disk,
};
