/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ublk_drv: every difference between the kernels the module builds for,
 * in one place. Built and tested: Debian 12's 6.1.y (with the 6.3
 * io_uring_cmd_done() change that 6.1.y stable carries) and 6.12.y.
 * Each item names the version that changed it; versions in between are
 * keyed the same way, untested. The .c files call only the helpers here.
 */
#ifndef UBLK_COMPAT_H
#define UBLK_COMPAT_H

#include <linux/version.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/uio.h>

/* The one test of the version every item below uses. */
#define UBLK_KERNEL_AT_LEAST(major, minor) \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(major, minor, 0))

/* 6.7 moved the uring_cmd API from linux/io_uring.h to linux/io_uring/cmd.h */
#if UBLK_KERNEL_AT_LEAST(6, 7)
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif

/*
 * 6.3 (and 6.1.y stable) gave io_uring_cmd_done() and the task-work
 * callback issue_flags; 6.1.0 itself had neither, and is not supported.
 */

/* 6.6 replaced cmd->cmd (the payload) by cmd->sqe and io_uring_sqe_cmd() */
static inline const void *ublk_cmd_payload(const struct io_uring_cmd *cmd)
{
#if UBLK_KERNEL_AT_LEAST(6, 6)
	return io_uring_sqe_cmd(cmd->sqe);
#else
	return cmd->cmd;
#endif
}

/* 6.12's cmd.h has io_uring_cmd_to_pdu(); 6.1 has only the pdu array */
#if UBLK_KERNEL_AT_LEAST(6, 12)
#define ublk_cmd_to_pdu(cmd, type)	io_uring_cmd_to_pdu(cmd, type)
#else
#define ublk_cmd_to_pdu(cmd, type)					\
	(BUILD_BUG_ON_ZERO(sizeof(type) > sizeof_field(struct io_uring_cmd, pdu)) + \
	 (type *)(cmd)->pdu)
#endif

/*
 * 6.7 added cancelable uring_cmds: io_uring calls the driver back with
 * IO_URING_F_CANCEL when the ring or its task goes away. Before, nothing
 * tells the driver; UBLK_WATCH_DAEMONS turns on blk.c's watch of the
 * queues' tasks instead (docs/kmod-kernels.md).
 */
#if UBLK_KERNEL_AT_LEAST(6, 7)
#define UBLK_WATCH_DAEMONS	false
static inline void ublk_cmd_mark_cancelable(struct io_uring_cmd *cmd,
					    unsigned int issue_flags)
{
	io_uring_cmd_mark_cancelable(cmd, issue_flags);
}

static inline bool ublk_cmd_cancelled(unsigned int issue_flags)
{
	return issue_flags & IO_URING_F_CANCEL;
}
#else
#define UBLK_WATCH_DAEMONS	true
static inline void ublk_cmd_mark_cancelable(struct io_uring_cmd *cmd,
					    unsigned int issue_flags)
{
}

static inline bool ublk_cmd_cancelled(unsigned int issue_flags)
{
	return false;
}
#endif

/*
 * 6.12's io_uring tells task work that its task is exiting (or that it
 * runs from a kernel thread's fallback) with IO_URING_F_TASK_DEAD; in 6.1
 * the same is seen in the current task's flags.
 */
static inline bool ublk_tw_task_dead(unsigned int issue_flags)
{
#if UBLK_KERNEL_AT_LEAST(6, 12)
	return issue_flags & IO_URING_F_TASK_DEAD;
#else
	return current->flags & (PF_EXITING | PF_KTHREAD);
#endif
}

/* 6.3 added vm_flags_mod(); before, vm_flags was written directly */
static inline void ublk_vm_flags_mod(struct vm_area_struct *vma, vm_flags_t set,
				     vm_flags_t clear)
{
#if UBLK_KERNEL_AT_LEAST(6, 3)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/*
 * 6.1 has no import_ubuf(): its checks, then iov_iter_ubuf() (which 6.0
 * added; so this builds wherever import_ubuf() is missing)
 */
static inline int ublk_import_ubuf(int dir, void __user *buf, size_t len,
				   struct iov_iter *iter)
{
#if UBLK_KERNEL_AT_LEAST(6, 4)
	return import_ubuf(dir, buf, len, iter);
#else
	if (len > MAX_RW_COUNT)
		len = MAX_RW_COUNT;
	if (!access_ok(buf, len))
		return -EFAULT;
	iov_iter_ubuf(iter, dir, buf, len);
	return 0;
#endif
}

/* 6.4 made class_register() and device.class take a const struct class */
#if UBLK_KERNEL_AT_LEAST(6, 4)
#define ublk_class_const	const
#else
#define ublk_class_const
#endif

/*
 * A disk's limits as params.c computes them. 6.11 moved write cache, FUA
 * and rotational into queue_limits.features; before, they were queue
 * settings, so they are kept apart here.
 */
struct ublk_limits {
	struct queue_limits lim;
	bool write_cache;
	bool fua;
	bool rotational;
};

#if !UBLK_KERNEL_AT_LEAST(6, 9)
/* Before 6.9, each limit was set on the allocated disk's queue with its own call */
static inline void ublk_set_old_limits(struct request_queue *q, const struct queue_limits *lim)
{
	blk_queue_logical_block_size(q, lim->logical_block_size);
	blk_queue_physical_block_size(q, lim->physical_block_size);
	blk_queue_io_min(q, lim->io_min);
	blk_queue_io_opt(q, lim->io_opt);
	blk_queue_max_hw_sectors(q, lim->max_hw_sectors);
	blk_queue_chunk_sectors(q, lim->chunk_sectors);
	blk_queue_max_segments(q, lim->max_segments);
	if (lim->virt_boundary_mask)
		blk_queue_virt_boundary(q, lim->virt_boundary_mask);
	if (lim->seg_boundary_mask)
		blk_queue_segment_boundary(q, lim->seg_boundary_mask);
	if (lim->max_segment_size)
		blk_queue_max_segment_size(q, lim->max_segment_size);
	if (lim->dma_alignment)
		blk_queue_dma_alignment(q, lim->dma_alignment);
	/* these two had no setter */
	q->limits.discard_granularity = lim->discard_granularity;
	q->limits.discard_alignment = lim->discard_alignment;
	blk_queue_max_discard_sectors(q, lim->max_hw_discard_sectors);
	blk_queue_max_write_zeroes_sectors(q, lim->max_write_zeroes_sectors);
	if (lim->max_discard_segments)
		blk_queue_max_discard_segments(q, lim->max_discard_segments);
}
#endif

/* A disk of @set with the limits @ul; its queuedata is @data. */
static inline struct gendisk *ublk_alloc_disk(struct blk_mq_tag_set *set,
					      struct ublk_limits *ul, void *data)
{
	struct gendisk *disk;

#if UBLK_KERNEL_AT_LEAST(6, 11)
	if (ul->write_cache)
		ul->lim.features |= BLK_FEAT_WRITE_CACHE;
	if (ul->write_cache && ul->fua)
		ul->lim.features |= BLK_FEAT_FUA;
	if (ul->rotational)
		ul->lim.features |= BLK_FEAT_ROTATIONAL;
#endif
	/* 6.9 made blk_mq_alloc_disk() take the queue limits */
#if UBLK_KERNEL_AT_LEAST(6, 9)
	disk = blk_mq_alloc_disk(set, &ul->lim, data);
#else
	disk = blk_mq_alloc_disk(set, data);
	if (!IS_ERR(disk))
		ublk_set_old_limits(disk->queue, &ul->lim);
#endif
#if !UBLK_KERNEL_AT_LEAST(6, 11)
	if (!IS_ERR(disk)) {
		blk_queue_write_cache(disk->queue, ul->write_cache, ul->write_cache && ul->fua);
		if (!ul->rotational)
			blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	}
#endif
	return disk;
}

#endif
