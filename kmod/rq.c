// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: the bottom layer, one request of one tag. Ending a request
 * with the server's result (or requeueing it), and copying its data to or
 * from the server's memory. Calls nothing else in the module.
 */
#include <linux/blkdev.h>
#include <linux/uio.h>
#include "ublk.h"

/* Ends a request for which no server will ever answer. */
void ublk_abort_rq(struct ublk_device *ub, struct request *rq, bool seen)
{
	/*
	 * requeue parks it until recovery; a dead server's IO only on reissue.
	 * Always kick: a quiesced queue keeps it anyway, and a request put on
	 * the list after STOP_DEV's kick would otherwise never run again,
	 * leaving del_gendisk() waiting for it.
	 */
	if (READ_ONCE(ub->requeue_ok) &&
	    (!seen || (ub->info.flags & UBLK_F_USER_RECOVERY_REISSUE)))
		blk_mq_requeue_request(rq, true);
	else
		blk_mq_end_request(rq, BLK_STS_IOERR);
}

static void ublk_end_rq(struct request *rq, int res)
{
	if (res == UBLK_RES_REQUEUE) {
		blk_mq_requeue_request(rq, true);
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

/* Copies between a request's pages, from @offset on, and @iter. */
size_t ublk_copy_rq(struct request *rq, size_t offset, struct iov_iter *iter)
{
	struct req_iterator it;
	struct bio_vec bv;
	size_t done = 0, len, n;

	rq_for_each_segment(bv, rq, it) {
		if (offset >= bv.bv_len) {
			offset -= bv.bv_len;
			continue;
		}
		len = bv.bv_len - offset;
		if (iov_iter_rw(iter) == ITER_DEST)
			n = copy_page_to_iter(bv.bv_page, bv.bv_offset + offset, len, iter);
		else
			n = copy_page_from_iter(bv.bv_page, bv.bv_offset + offset, len, iter);
		done += n;
		offset = 0;
		if (n < len || !iov_iter_count(iter))
			break;
	}
	return done;
}

/*
 * Copies @len bytes between the request and the server's buffer at @addr:
 * ITER_DEST hands write data to the server, ITER_SOURCE takes read data
 * back. Runs in the server's task, so @addr is in the right mm.
 */
int ublk_copy_rq_user(struct request *rq, u64 addr, size_t len, int dir)
{
	struct iov_iter iter;
	int ret;

	ret = ublk_import_ubuf(dir, u64_to_user_ptr(addr), len, &iter);
	if (ret)
		return ret;
	return ublk_copy_rq(rq, 0, &iter) == len ? 0 : -EFAULT;
}
