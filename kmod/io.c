// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: /dev/ublkcN, the server's side. FETCH_REQ, COMMIT_AND_FETCH_REQ
 * and NEED_GET_DATA commands, the read-only mmap of each queue's IO
 * descriptors, and pread/pwrite for UBLK_F_USER_COPY. Calls blk.c and
 * rq.c only.
 *
 * Nothing from the server is trusted: every queue id, tag, result, address
 * and state transition is checked under the queue lock.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/task.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include "ublk.h"

static int ublk_ch_open(struct inode *inode, struct file *filp)
{
	struct ublk_device *ub = container_of(inode->i_cdev, struct ublk_device, cdev);
	int ret = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	/* one server at a time */
	if (test_and_set_bit(UB_OPEN, &ub->flags))
		return -EBUSY;
	/* a device never started, or stopped, takes a new server */
	mutex_lock(&ub->mutex);
	if (ub->info.state == UBLK_S_DEV_DEAD && !ub->disk)
		ret = ublk_reset_queues(ub);
	mutex_unlock(&ub->mutex);
	if (ret) {
		clear_bit(UB_OPEN, &ub->flags);
		return ret;
	}
	filp->private_data = ub;
	return 0;
}

/*
 * Every command holds a reference on this file, so by now none is left:
 * the server is gone for good.
 */
static int ublk_ch_release(struct inode *inode, struct file *filp)
{
	struct ublk_device *ub = filp->private_data;

	ublk_srv_gone(ub);
	clear_bit(UB_OPEN, &ub->flags);
	return 0;
}

static int ublk_ch_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct ublk_device *ub = filp->private_data;
	size_t stride = round_up(UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc),
				 PAGE_SIZE);
	unsigned long size = vma->vm_end - vma->vm_start;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct ublk_queue *ubq;
	u64 q_id;

	if (off < UBLKSRV_CMD_BUF_OFFSET)
		return -EINVAL;
	off -= UBLKSRV_CMD_BUF_OFFSET;
	q_id = div_u64(off, stride);
	if (off != q_id * stride || q_id >= ub->info.nr_hw_queues)
		return -EINVAL;
	ubq = ub->queues[q_id];
	if (size > (PAGE_SIZE << ubq->descs_order) ||
	    size < ubq->depth * sizeof(struct ublksrv_io_desc))
		return -EINVAL;
	/* the descriptors are ours to write; the server only reads them */
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	ublk_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYWRITE);
	return remap_pfn_range(vma, vma->vm_start, virt_to_phys(ubq->descs) >> PAGE_SHIFT,
			       size, vma->vm_page_prot);
}

/* The cancel callback: the server's ring or task is going away. */
static void ublk_cancel_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct ublk_cmd_pdu *pdu = ublk_pdu(cmd);
	struct ublk_queue *ubq = pdu->ubq;
	struct ublk_io *io = &ubq->ios[pdu->tag];
	bool ours = false;

	ublk_srv_gone(ubq->ub);
	spin_lock(&ubq->lock);
	if (io->state == UBLK_IO_FETCHED && io->cmd == cmd) {
		ublk_io_set(ubq, io, UBLK_IO_IDLE);
		io->cmd = NULL;
		ours = true;
	}
	spin_unlock(&ubq->lock);
	/* otherwise the command is in task work, which completes it */
	if (ours)
		io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, issue_flags);
}

/*
 * Publishes a first fetch; the slot is ours (ARMING). If the server died
 * meanwhile the command ends at once.
 */
static int ublk_arm(struct ublk_queue *ubq, struct ublk_io *io, struct io_uring_cmd *cmd,
		    u64 addr, unsigned int issue_flags)
{
	struct ublk_device *ub = ubq->ub;
	bool dead;

	ublk_cmd_mark_cancelable(cmd, issue_flags);
	spin_lock(&ubq->lock);
	dead = ubq->dead;
	if (dead) {
		ublk_io_set(ubq, io, UBLK_IO_IDLE);
	} else {
		io->cmd = cmd;
		io->addr = addr;
		ublk_io_set(ubq, io, UBLK_IO_FETCHED);
		if (++ubq->nr_fetched == ubq->depth &&
		    atomic_inc_return(&ub->nr_queues_ready) == ub->info.nr_hw_queues)
			wake_up_all(&ub->wait);
	}
	spin_unlock(&ubq->lock);
	if (dead)
		io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, issue_flags);
	return -EIOCBQUEUED;
}

/*
 * The buffer a command names. With user copy there is none; else it must
 * be usable for the largest IO, and only NEED_GET_DATA lets a fetch (or a
 * write's commit) leave it out.
 */
static int ublk_check_addr(struct ublk_device *ub, u64 addr)
{
	if (ublk_user_copy(ub))
		return addr ? -EINVAL : 0;
	if (!addr)
		return ublk_need_get_data(ub) ? 0 : -EINVAL;
	if (!access_ok(u64_to_user_ptr(addr), ub->info.max_io_buf_bytes))
		return -EFAULT;
	return 0;
}

/* Caller holds the queue lock. Only the task that fetched first may talk. */
static bool ublk_is_daemon(struct ublk_queue *ubq)
{
	if (!ubq->daemon) {
		get_task_struct(current);
		ubq->daemon = current;
	}
	return ubq->daemon == current;
}

static int ublk_fetch(struct ublk_queue *ubq, struct ublk_io *io, struct io_uring_cmd *cmd,
		      u64 addr, unsigned int issue_flags)
{
	int ret = 0;

	spin_lock(&ubq->lock);
	if (ubq->dead)
		ret = -ENODEV;
	else if (!ublk_is_daemon(ubq) || io->state != UBLK_IO_IDLE)
		ret = -EINVAL;	/* another task, or a double fetch */
	else
		ublk_io_set(ubq, io, UBLK_IO_ARMING);
	spin_unlock(&ubq->lock);
	if (ret)
		return ret;
	return ublk_arm(ubq, io, cmd, addr, issue_flags);
}

/*
 * A result the request can take: -errno, or bytes done, at most the
 * request's size for data; other ops only tell success (servers commonly
 * report a discard's size).
 */
static bool ublk_result_fits(struct request *rq, int res)
{
	if (res < 0)
		return res >= -MAX_ERRNO;
	if (req_op(rq) == REQ_OP_READ || req_op(rq) == REQ_OP_WRITE)
		return res <= blk_rq_bytes(rq);
	return true;
}

static bool ublk_commit_ok(struct ublk_queue *ubq, struct ublk_io *io, int res, u64 addr)
{
	if (!ublk_is_daemon(ubq) || io->state != UBLK_IO_OWNED)
		return false;	/* not in flight, or not this server's */
	if (!ublk_result_fits(io->rq, res))
		return false;
	/* a read's data comes from the commit's buffer */
	return addr || ublk_user_copy(ubq->ub) || req_op(io->rq) != REQ_OP_READ;
}

/*
 * Ends the server's request and re-arms the slot with the new command in
 * one step: the tag cannot be reused before the request ends, so the slot
 * is published first, then the data copied and the request completed.
 */
static int ublk_commit_and_fetch(struct ublk_queue *ubq, struct ublk_io *io,
				 struct io_uring_cmd *cmd, int res, u64 addr,
				 unsigned int issue_flags)
{
	struct ublk_device *ub = ubq->ub;
	struct request *rq;
	bool ok, dead = false;

	/* before publishing: a published command may be cancelled at once */
	ublk_cmd_mark_cancelable(cmd, issue_flags);
	spin_lock(&ubq->lock);
	ok = ublk_commit_ok(ubq, io, res, addr);
	if (ok) {
		dead = ubq->dead;
		ublk_io_set(ubq, io, dead ? UBLK_IO_IDLE : UBLK_IO_FETCHED);
		io->cmd = dead ? NULL : cmd;
		io->addr = addr;
	}
	rq = io->rq;
	spin_unlock(&ubq->lock);
	if (!ok) {
		io_uring_cmd_done(cmd, -EINVAL, 0, issue_flags);
		return -EIOCBQUEUED;
	}

	/* a partial transfer counts in whole blocks: the rest is sent again */
	if (res > 0 && (req_op(rq) == REQ_OP_READ || req_op(rq) == REQ_OP_WRITE))
		res = round_down(res, queue_logical_block_size(rq->q));
	if (req_op(rq) == REQ_OP_READ && res > 0 && !ublk_user_copy(ub) &&
	    ublk_copy_rq_user(rq, addr, res, ITER_SOURCE))
		res = -EIO;	/* the server's buffer went bad */
	io->res = res;
	ublk_put_request(ub, io);
	if (dead)
		io_uring_cmd_done(cmd, UBLK_IO_RES_ABORT, 0, issue_flags);
	return -EIOCBQUEUED;
}

/* NEED_GET_DATA: the server names the buffer for a write's data now. */
static int ublk_get_data(struct ublk_queue *ubq, struct ublk_io *io, u64 addr)
{
	struct request *rq;
	int ret = 0;
	bool dead;

	spin_lock(&ubq->lock);
	if (!ublk_is_daemon(ubq) || io->state != UBLK_IO_NEED_DATA)
		ret = -EINVAL;
	else
		ublk_io_set(ubq, io, UBLK_IO_COMPLETING);
	spin_unlock(&ubq->lock);
	if (ret)
		return ret;

	rq = io->rq;
	ret = ublk_copy_rq_user(rq, addr, blk_rq_bytes(rq), ITER_DEST);
	spin_lock(&ubq->lock);
	dead = ubq->dead;
	if (dead)
		ublk_io_set(ubq, io, UBLK_IO_IDLE);
	else
		ublk_io_set(ubq, io, ret ? UBLK_IO_NEED_DATA : UBLK_IO_OWNED);
	if (!ret && !dead)
		io->addr = addr;
	spin_unlock(&ubq->lock);
	if (dead) {
		/* the scan that fails the dead server's requests skipped us */
		ublk_abort_rq(ubq->ub, rq, true);
		return UBLK_IO_RES_ABORT;
	}
	return ret ? ret : UBLK_IO_RES_OK;
}

/* The slot of (@q_id, @tag), or NULL when either is out of range. */
static struct ublk_io *ublk_find_io(struct ublk_device *ub, u16 q_id, u16 tag,
				    struct ublk_queue **ubqp)
{
	struct ublk_queue *ubq;

	if (q_id >= ub->info.nr_hw_queues)
		return NULL;
	ubq = ub->queues[q_id];
	if (tag >= ubq->depth)
		return NULL;
	*ubqp = ubq;
	return &ubq->ios[tag];
}

/* Opcode number of a legacy or ioctl-encoded IO opcode, or -errno. */
static int ublk_io_opcode(u32 op)
{
	if (_IOC_TYPE(op) == 'u') {
		if (_IOC_SIZE(op) != sizeof(struct ublksrv_io_cmd))
			return -EOPNOTSUPP;
		return _IOC_NR(op);
	}
	if (op & ~0xffU)
		return -EOPNOTSUPP;
	return op;
}

static int ublk_ch_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	const struct ublksrv_io_cmd *src = ublk_cmd_payload(cmd);
	struct ublk_device *ub = cmd->file->private_data;
	struct ublk_queue *ubq;
	struct ublk_io *io;
	u16 q_id, tag;
	int op, res, ret;
	u64 addr;

	if (ublk_cmd_cancelled(issue_flags)) {
		ublk_cancel_cmd(cmd, issue_flags);
		return 0;
	}
	op = ublk_io_opcode(cmd->cmd_op);
	if (op < 0)
		return op;
	q_id = READ_ONCE(src->q_id);
	tag = READ_ONCE(src->tag);
	res = READ_ONCE(src->result);
	addr = READ_ONCE(src->addr);
	io = ublk_find_io(ub, q_id, tag, &ubq);
	if (!io)
		return -EINVAL;
	ublk_pdu(cmd)->ubq = ubq;
	ublk_pdu(cmd)->tag = tag;

	switch (op) {
	case UBLK_IO_FETCH_REQ:
		ret = ublk_check_addr(ub, addr);
		return ret ? ret : ublk_fetch(ubq, io, cmd, addr, issue_flags);
	case UBLK_IO_COMMIT_AND_FETCH_REQ:
		ret = ublk_check_addr(ub, addr);
		return ret ? ret : ublk_commit_and_fetch(ubq, io, cmd, res, addr, issue_flags);
	case UBLK_IO_NEED_GET_DATA:
		if (!ublk_need_get_data(ub) || !addr)
			return -EINVAL;
		ret = ublk_check_addr(ub, addr);
		return ret ? ret : ublk_get_data(ubq, io, addr);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * UBLK_F_USER_COPY: pread/pwrite at UBLKSRV_IO_BUF_OFFSET + (q_id, tag,
 * byte offset) read a write request's data or fill a read request's.
 */
static ssize_t ublk_user_copy_io(struct kiocb *iocb, struct iov_iter *iter)
{
	struct ublk_device *ub = iocb->ki_filp->private_data;
	struct ublk_queue *ubq;
	struct ublk_io *io;
	struct request *rq = NULL;
	u64 pos = iocb->ki_pos;
	ssize_t done;
	size_t off;
	u16 q_id, tag;
	bool data_for_server;

	if (!ublk_user_copy(ub))
		return -EACCES;
	if (pos < UBLKSRV_IO_BUF_OFFSET || pos >= UBLKSRV_IO_BUF_OFFSET + UBLKSRV_IO_BUF_TOTAL_SIZE)
		return -EINVAL;
	pos -= UBLKSRV_IO_BUF_OFFSET;
	q_id = (pos >> UBLK_QID_OFF) & UBLK_QID_BITS_MASK;
	tag = (pos >> UBLK_TAG_OFF) & UBLK_TAG_BITS_MASK;
	off = pos & UBLK_IO_BUF_BITS_MASK;
	io = ublk_find_io(ub, q_id, tag, &ubq);
	if (!io)
		return -EINVAL;

	/* a reference keeps the request while we copy, even across a commit */
	spin_lock(&ubq->lock);
	if (io->state == UBLK_IO_OWNED && refcount_inc_not_zero(&io->ref))
		rq = io->rq;
	spin_unlock(&ubq->lock);
	if (!rq)
		return -EINVAL;

	data_for_server = iov_iter_rw(iter) == ITER_DEST;
	if (req_op(rq) != (data_for_server ? REQ_OP_WRITE : REQ_OP_READ)) {
		done = -EACCES;
	} else if (off >= blk_rq_bytes(rq)) {
		done = -EINVAL;
	} else {
		done = ublk_copy_rq(rq, off, iter);
		if (!done && iov_iter_count(iter))
			done = -EFAULT;
	}
	ublk_put_request(ub, io);
	return done;
}

static ssize_t ublk_ch_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return ublk_user_copy_io(iocb, to);
}

static ssize_t ublk_ch_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return ublk_user_copy_io(iocb, from);
}

const struct file_operations ublk_ch_fops = {
	.owner = THIS_MODULE,
	.open = ublk_ch_open,
	.release = ublk_ch_release,
	.mmap = ublk_ch_mmap,
	.read_iter = ublk_ch_read_iter,
	.write_iter = ublk_ch_write_iter,
	.uring_cmd = ublk_ch_uring_cmd,
};
