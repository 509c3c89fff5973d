// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: /dev/ublkbN. blk-mq dispatch to the server's fetched commands,
 * and what happens when the server goes away: stop the disk, or park
 * (requeue/reissue) or fail IO until a new server recovers it. Calls
 * params.c and rq.c only.
 */
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/module.h>
#include "ublk.h"

static struct workqueue_struct *ublk_wq;
static const struct block_device_operations ublk_bd_ops;

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
	ublk_io_set(ubq, io, dead ? UBLK_IO_IDLE : UBLK_IO_FETCHED);
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
	if (unlikely(ublk_tw_task_dead(issue_flags)))
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
		ublk_io_set(ubq, io, UBLK_IO_IDLE);
	} else {
		refcount_set(&io->ref, 1);
		ublk_io_set(ubq, io, res == UBLK_IO_RES_NEED_GET_DATA ? UBLK_IO_NEED_DATA : UBLK_IO_OWNED);
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
		ublk_io_set(ubq, io, UBLK_IO_DISPATCHING);
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

/* Caller holds the queue lock. The queue's task is exiting or dead. */
static bool ublk_daemon_exiting(struct ublk_queue *ubq)
{
	return ubq->daemon && (READ_ONCE(ubq->daemon->flags) & PF_EXITING);
}

/*
 * A request the server holds too long. A queue's daemon that exited while
 * holding every tag leaves no command to cancel, and its process (or a
 * child holding /dev/ublkcN) may live on: only here is that noticed.
 */
static enum blk_eh_timer_return ublk_timeout(struct request *rq)
{
	struct ublk_queue *ubq = rq->mq_hctx->driver_data;
	bool gone;

	spin_lock(&ubq->lock);
	gone = ublk_daemon_exiting(ubq);
	spin_unlock(&ubq->lock);
	/* the death work ends or parks the request; a live server may be slow */
	if (gone)
		ublk_srv_gone(ubq->ub);
	return BLK_EH_RESET_TIMER;
}

static int ublk_init_hctx(struct blk_mq_hw_ctx *hctx, void *driver_data, unsigned int idx)
{
	struct ublk_device *ub = driver_data;

	hctx->driver_data = ub->queues[idx];
	return 0;
}

const struct blk_mq_ops ublk_mq_ops = {
	.queue_rq = ublk_queue_rq,
	.timeout = ublk_timeout,
	.init_hctx = ublk_init_hctx,
};

/* Moves the device on, along the diagram in ublk.h only. */
void ublk_set_state(struct ublk_device *ub, u16 state)
{
	static const u8 allowed_from[] = {
		[UBLK_S_DEV_DEAD] = 0xf,
		[UBLK_S_DEV_LIVE] = BIT(UBLK_S_DEV_DEAD) | BIT(UBLK_S_DEV_QUIESCED) |
				    BIT(UBLK_S_DEV_FAIL_IO),
		[UBLK_S_DEV_QUIESCED] = BIT(UBLK_S_DEV_LIVE),
		[UBLK_S_DEV_FAIL_IO] = BIT(UBLK_S_DEV_LIVE),
	};

	lockdep_assert_held(&ub->mutex);
	WARN_ON_ONCE(state >= ARRAY_SIZE(allowed_from) ||
		     !(allowed_from[state] & BIT(ub->info.state)));
	ub->info.state = state;
}

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

/*
 * Ends or requeues the requests a dead server held. Only dead queues are
 * touched: a new server's requests are never the old one's to fail.
 */
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
			held = ubq->dead && (io->state == UBLK_IO_OWNED ||
					     io->state == UBLK_IO_NEED_DATA);
			if (held) {
				ublk_io_set(ubq, io, UBLK_IO_IDLE);
				io->res = reissue ? UBLK_RES_REQUEUE : -EIO;
			}
			spin_unlock(&ubq->lock);
			if (held)
				ublk_put_request(ub, io);
		}
	}
}

/*
 * Under ubq->lock: the tag's fetch, if it is armed, taken from the slot
 * (now IDLE) for the caller to complete outside the lock; else NULL.
 */
static struct io_uring_cmd *ublk_take_fetch(struct ublk_queue *ubq, struct ublk_io *io)
{
	struct io_uring_cmd *cmd;

	if (io->state != UBLK_IO_FETCHED)
		return NULL;
	cmd = io->cmd;
	io->cmd = NULL;
	ublk_io_set(ubq, io, UBLK_IO_IDLE);
	return cmd;
}

/*
 * Completes the fetches we still hold, so that the server's loop ends;
 * this server can never start the device again.
 */
static void ublk_cancel_fetched(struct ublk_device *ub)
{
	unsigned int i, tag;

	set_bit(UB_SRV_STOPPED, &ub->flags);
	wake_up_all(&ub->wait);

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ublk_queue *ubq = ub->queues[i];

		for (tag = 0; tag < ubq->depth; tag++) {
			struct ublk_io *io = &ubq->ios[tag];
			struct io_uring_cmd *cmd = NULL;

			spin_lock(&ubq->lock);
			ubq->dead = true;
			cmd = ublk_take_fetch(ubq, io);
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
	/* a new server may have recovered it meanwhile: LIVE, SRV_GONE clear */
	if (ub->info.state == UBLK_S_DEV_LIVE && test_bit(UB_SRV_GONE, &ub->flags)) {
		if (!ublk_recoverable(ub)) {
			ublk_stop_disk(ub);
		} else if (ub->info.flags & UBLK_F_USER_RECOVERY_FAIL_IO) {
			WRITE_ONCE(ub->fail_io, true);
			ublk_set_state(ub, UBLK_S_DEV_FAIL_IO);
			blk_mq_kick_requeue_list(ub->disk->queue);
		} else {
			/* wait out queue_rq calls running now, then park */
			blk_mq_quiesce_queue(ub->disk->queue);
			ublk_set_state(ub, UBLK_S_DEV_QUIESCED);
		}
	}
	mutex_unlock(&ub->mutex);
	ublk_put_device(ub);
}

/*
 * Completes the fetches a queue of an ended server still holds. Only a
 * dead queue's: a new server's queue is live again (ublk_reset_queues()).
 */
static void ublk_end_dead_fetches(struct ublk_queue *ubq)
{
	unsigned int tag;

	for (tag = 0; tag < ubq->depth; tag++) {
		struct ublk_io *io = &ubq->ios[tag];
		struct io_uring_cmd *cmd = NULL;

		spin_lock(&ubq->lock);
		if (ubq->dead)
			cmd = ublk_take_fetch(ubq, io);
		spin_unlock(&ubq->lock);
		if (cmd)
			io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, IO_URING_F_UNLOCKED);
	}
}

/*
 * Kernels without cancelable commands (compat.h) never tell us that a
 * server's task exits, and the fetches it left would keep its ring, and
 * so /dev/ublkcN, open for ever. Instead this work looks at each queue's
 * task twice a second, and treats one that exits as the cancel callback
 * treats a cancelled command: the server is gone, and the queue's
 * fetches are completed. A fetch taken first keeps the dying server's
 * file open, so no new server can have reset the queues (which needs it
 * closed) before ublk_srv_gone() marks them dead. A queue that holds no
 * fetch pins nothing: the file's release or the request timeout sees
 * that death. Armed from ADD_DEV until the device is removed.
 */
#define UBLK_WATCH_PERIOD	(HZ / 2)

static void ublk_watch_queue(struct ublk_queue *ubq)
{
	struct io_uring_cmd *cmd = NULL;
	unsigned int tag;
	bool exiting;

	spin_lock(&ubq->lock);
	exiting = ublk_daemon_exiting(ubq);
	for (tag = 0; exiting && !ubq->dead && !cmd && tag < ubq->depth; tag++)
		cmd = ublk_take_fetch(ubq, &ubq->ios[tag]);
	spin_unlock(&ubq->lock);
	if (cmd) {
		ublk_srv_gone(ubq->ub);
		io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, IO_URING_F_UNLOCKED);
	}
	if (exiting)
		ublk_end_dead_fetches(ubq);
}

void ublk_watch_work(struct work_struct *work)
{
	struct ublk_device *ub = container_of(to_delayed_work(work), struct ublk_device,
					      watch_work);
	unsigned int i;

	for (i = 0; i < ub->info.nr_hw_queues; i++)
		ublk_watch_queue(ub->queues[i]);
	queue_delayed_work(ublk_wq, &ub->watch_work, UBLK_WATCH_PERIOD);
}

void ublk_watch_start(struct ublk_device *ub)
{
	if (UBLK_WATCH_DAEMONS)
		queue_delayed_work(ublk_wq, &ub->watch_work, UBLK_WATCH_PERIOD);
}

/* No new work after this: the work requeues only itself, and this waits it out. */
void ublk_watch_stop(struct ublk_device *ub)
{
	if (UBLK_WATCH_DAEMONS)
		cancel_delayed_work_sync(&ub->watch_work);
}

/* No slot holds a request of the server's, or one on its way to it. */
static bool ublk_srv_idle(struct ublk_device *ub)
{
	unsigned int i, tag;

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ublk_queue *ubq = ub->queues[i];

		for (tag = 0; tag < ubq->depth; tag++) {
			u8 state = READ_ONCE(ubq->ios[tag].state);

			if (state != UBLK_IO_IDLE && state != UBLK_IO_FETCHED)
				return false;
		}
	}
	return true;
}

/*
 * QUIESCE_DEV: park a LIVE device for a new server without failing any IO.
 * Requests stop reaching the server, the server answers those it holds,
 * then its fetches end so that it exits, and the device waits QUIESCED
 * for START_USER_RECOVERY. @timeout_ms 0: no limit but a signal. A server
 * that dies meanwhile is handled as any death: its held IO is ended by
 * the no-server work, and the device is QUIESCED all the same.
 * Holds ub->mutex; the device is LIVE.
 */
int ublk_quiesce_disk(struct ublk_device *ub, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	lockdep_assert_held(&ub->mutex);
	blk_mq_quiesce_queue(ub->disk->queue);
	while (!ublk_srv_idle(ub)) {
		if (signal_pending(current) ||
		    (timeout_ms && time_after(jiffies, deadline))) {
			blk_mq_unquiesce_queue(ub->disk->queue);
			return signal_pending(current) ? -EINTR : -ETIMEDOUT;
		}
		msleep(20);
	}
	ublk_set_state(ub, UBLK_S_DEV_QUIESCED);
	ublk_cancel_fetched(ub);
	return 0;
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
	clear_bit(UB_SRV_STOPPED, &ub->flags);
	return 0;
}

/* START_DEV: every queue is fetched and params are set. Holds ub->mutex. */
int ublk_start_disk(struct ublk_device *ub)
{
	struct ublk_limits lim = { };
	struct gendisk *disk;
	int ret;

	ublk_fill_limits(&ub->params, &lim);
	disk = ublk_alloc_disk(&ub->tag_set, &lim, ub);
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
		/* free_disk() runs only for a disk that was added */
		ub->disk = NULL;
		put_disk(disk);
		ublk_put_device(ub);
		return ret;
	}
	ublk_set_state(ub, UBLK_S_DEV_LIVE);
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

	if (!disk) {
		/* never started: the server's fetches must not wait for ever */
		ublk_cancel_fetched(ub);
		return;
	}
	/* first nothing may park any more, then parked requests run (and fail) */
	WRITE_ONCE(ub->requeue_ok, false);
	if (ub->info.state != UBLK_S_DEV_LIVE)
		WRITE_ONCE(ub->fail_io, true);
	if (ub->info.state == UBLK_S_DEV_QUIESCED)
		blk_mq_unquiesce_queue(disk->queue);
	blk_mq_kick_requeue_list(disk->queue);
	if (test_bit(UB_SRV_GONE, &ub->flags))
		ublk_abort_held(ub);
	del_gendisk(disk);
	ublk_cancel_fetched(ub);
	ub->disk = NULL;
	ublk_set_state(ub, UBLK_S_DEV_DEAD);
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

/* The death work runs here: unbound, and able to go on under reclaim. */
int ublk_blk_init(void)
{
	ublk_wq = alloc_workqueue("ublk", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return ublk_wq ? 0 : -ENOMEM;
}

void ublk_blk_exit(void)
{
	destroy_workqueue(ublk_wq);
}
