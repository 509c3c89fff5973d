// SPDX-License-Identifier: MIT
/*
 * loop target: requests become IO on a backing file, submitted on the
 * queue's own ring (fixed file 1), so one io_uring_enter carries both the
 * ublk commits and the file IO.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ublk.h"

#define LOOP_FILE_IDX	1
#define TMPFS_MAGIC	0x01021994
#define RAMFS_MAGIC	0x858458f6

/*
 * The smallest block O_DIRECT on fd takes: a block device's logical block
 * size, or the file system's direct-IO offset alignment (statx
 * STATX_DIOALIGN, Linux 6.1+). 512 where neither says, as before.
 */
static unsigned int loop_dio_need(int fd, const struct stat *st)
{
	struct statx stx;
	int lbs;

	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs > 512 ? (unsigned int)lbs : 512;
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align > 512)
		return stx.stx_dio_offset_align;
	return 512;
}

/*
 * With O_DIRECT, a request smaller than the backing's block fails: the
 * device's logical blocks must be at least that. The default (512) grows
 * to it; a size given with -b, or a recovered device's, cannot change.
 * Returns the block size, or 0 when none fits.
 */
unsigned int ublk_loop_block_size(unsigned int want, bool fixed, unsigned int need)
{
	if (want >= need)
		return want;
	if (fixed || need > 4096 || (need & (need - 1)))
		return 0;
	return need;
}

static int loop_fit_direct_io(struct ublk_dev *dev, int fd, const struct stat *st)
{
	struct ublk_dev_opts *o = &dev->opts;
	unsigned int need = loop_dio_need(fd, st);
	unsigned int bs = ublk_loop_block_size(o->block_size, o->block_size_set, need);

	if (!bs) {
		snprintf(dev->init_err, sizeof(dev->init_err), "--direct-io needs blocks "
			 "of %u bytes here, the device's are %u", need, o->block_size);
		return -EINVAL;
	}
	o->block_size = bs;
	return 0;
}

/*
 * Whether the file system zeroes ranges in place (FALLOC_FL_ZERO_RANGE, what
 * WRITE_ZEROES with NOUNMAP becomes): tmpfs, for one, does not. Tried on a
 * block past EOF, size kept; it may allocate that block, and the punch of
 * loop_can_punch() at the same place frees it again.
 */
static bool loop_can_zero(int fd, uint64_t at)
{
	return fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, at, 4096) == 0;
}

/* Punching a hole past EOF changes nothing, and tells whether we can. */
static bool loop_can_punch(int fd, uint64_t at)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 at, 4096) == 0;
}

/*
 * DISCARD (a punched hole) where the file system punches; WRITE_ZEROES
 * only where it also zeroes in place. Without it the block layer writes
 * zero pages itself, as for any device without WRITE_ZEROES, where each
 * request would otherwise fail with EOPNOTSUPP (an IO error to the user).
 */
static void loop_set_discard(struct ublk_params *p, int fd, const struct stat *st,
			     uint64_t size)
{
	uint64_t at = (size + 65535) & ~65535ULL;	/* whole blocks past EOF */
	bool zero = loop_can_zero(fd, at);

	if (!loop_can_punch(fd, at))
		return;
	p->types |= UBLK_PARAM_TYPE_DISCARD;
	p->discard.discard_granularity = st->st_blksize ? st->st_blksize : 4096;
	p->discard.max_discard_sectors = UINT32_MAX >> 9;
	p->discard.max_write_zeroes_sectors = zero ? UINT32_MAX >> 9 : 0;
	p->discard.max_discard_segments = 1;
}

static int loop_init(struct ublk_dev *dev, struct ublk_params *p)
{
	struct ublk_dev_opts *o = &dev->opts;
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	uint64_t size;
	struct statfs fs;
	struct stat st;
	int fd;

	if (!o->file[0])
		return -EINVAL;
	if (o->direct_io)
		flags |= O_DIRECT;
	fd = open(o->file, flags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			goto fail_errno;
	} else if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		close(fd);
		return -EINVAL;
	}
	if (o->direct_io && loop_fit_direct_io(dev, fd, &st) < 0) {
		close(fd);
		return -EINVAL;
	}
	if (!o->size || o->size > size)
		o->size = size;
	if (o->size < o->block_size) {
		close(fd);
		return -ENOSPC;
	}
	dev->backing_fd = fd;
	/* a device node's statfs is its directory's (devtmpfs): files only */
	if (S_ISREG(st.st_mode) && fstatfs(fd, &fs) == 0 &&
	    (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC))
		dev->backing_in_memory = true;
	/*
	 * then one buffer per queue is enough: see loop_queue_sync(); the
	 * driver would drop NEED_GET_DATA, asked for, with user copy
	 */
	if (dev->backing_in_memory &&
	    !(o->flags & (UBLK_ZERO_COPY_FLAGS | UBLK_F_NEED_GET_DATA)))
		dev->tgt_flags = UBLK_F_USER_COPY;

	ublk_build_params(o, p);
	/* Buffered writes sit in the page cache: ask for flushes. */
	p->basic.attrs |= UBLK_ATTR_VOLATILE_CACHE;
	if (!o->read_only && S_ISREG(st.st_mode))
		loop_set_discard(p, fd, &st, size);
	return 0;

fail_errno:
	flags = -errno;
	close(fd);
	return flags;
}

static void loop_deinit(struct ublk_dev *dev)
{
	if (dev->backing_fd >= 0)
		close(dev->backing_fd);
	dev->backing_fd = -1;
}

/*
 * READ/WRITE straight into the request's pages, registered as buffer <tag>:
 * by the kernel at fetch time (auto buffer registration), or here, with a
 * register and an unregister command hard-linked around the file IO so the
 * buffer is released exactly when the IO is done, failed or not.
 */
static int loop_queue_zero_copy(struct ublk_queue *q, unsigned int tag,
				struct io_uring_sqe *rw, unsigned int op,
				uint64_t off, uint32_t len)
{
	struct io_uring_sqe *reg = NULL;

	if (ublk_dev_zero_copy(q->dev)) {
		/* the register goes first: swap it into the SQE we got */
		reg = rw;
		rw = ublk_queue_tgt_sqe(q, tag);
		if (!rw)
			return -EBUSY;
		ublk_prep_buf_cmd(q, reg, tag, true);
		reg->flags |= IOSQE_IO_HARDLINK;
	}
	if (op == UBLK_IO_OP_READ)
		io_uring_prep_read_fixed(rw, LOOP_FILE_IDX, NULL, len, off, tag);
	else
		io_uring_prep_write_fixed(rw, LOOP_FILE_IDX, NULL, len, off, tag);
	rw->flags |= IOSQE_FIXED_FILE;
	rw->user_data = ublk_user_data(tag, op, true);
	q->ios[tag].zc_res = 0;
	q->ios[tag].zc_pending = 1;
	if (!reg)
		return 1;
	rw->flags |= IOSQE_IO_HARDLINK;
	if (!ublk_queue_buf_cmd(q, tag, false))
		return -EBUSY;
	q->ios[tag].zc_pending = 3;
	return 3;
}

/*
 * The range of a DISCARD or WRITE_ZEROES, in 64 bits: nr_sectors << 9
 * overflows 32 bits from 4 GiB on, and a short zeroing loses data.
 */
static uint64_t loop_range_len(const struct ublksrv_io_desc *iod)
{
	return (uint64_t)iod->nr_sectors << 9;
}

/* Where pread/pwrite on /dev/ublkcN reach tag's request data (user copy). */
static off_t user_copy_pos(const struct ublk_queue *q, unsigned int tag)
{
	return UBLKSRV_IO_BUF_OFFSET + ((off_t)q->q_id << UBLK_QID_OFF) +
	       ((off_t)tag << UBLK_TAG_OFF);
}

/*
 * A file in memory (tmpfs, ramfs) never waits for a device, but io_uring
 * cannot start IO on it without blocking semantics and hands every request
 * to a worker thread: two more context switches per request. A plain
 * syscall in the queue's own thread is cheaper (icount, 4k random reads on
 * tmpfs: qd1 23117 -> 34320 IOPS, qd64 70904 -> 80105). Each request is
 * done before the next starts, so with user copy one buffer per queue
 * carries them all and the server stays small whatever the queue depth.
 */
static int loop_queue_sync(struct ublk_queue *q, unsigned int tag,
			   const struct ublksrv_io_desc *iod, unsigned int op, int mode)
{
	bool user_copy = q->dev->info.flags & UBLK_F_USER_COPY;
	void *buf = user_copy ? q->bufs : q->ios[tag].buf;
	int fd = q->dev->backing_fd, cdev = q->dev->cdev_fd;
	uint64_t off = iod->start_sector << 9;
	uint32_t len = iod->nr_sectors << 9;
	ssize_t res;

	switch (op) {
	case UBLK_IO_OP_READ:
		res = pread(fd, buf, len, off);
		if (user_copy && res > 0 && pwrite(cdev, buf, res, user_copy_pos(q, tag)) != res)
			res = -1;
		break;
	case UBLK_IO_OP_WRITE:
		res = user_copy ? pread(cdev, buf, len, user_copy_pos(q, tag)) : len;
		if (res == len) {
			res = pwrite(fd, buf, len, off);
		} else if (res >= 0) {
			errno = EIO;	/* the driver gave less than the request */
			res = -1;
		}
		break;
	case UBLK_IO_OP_FLUSH:
		res = fdatasync(fd);
		break;
	default:
		res = fallocate(fd, mode, off, loop_range_len(iod));
		break;
	}
	ublk_complete_io(q, tag, res < 0 ? -errno : (int)res);
	return 0;
}

static int loop_queue_io(struct ublk_queue *q, unsigned int tag,
			 const struct ublksrv_io_desc *iod)
{
	unsigned int op = ublksrv_get_op(iod);
	uint64_t off = iod->start_sector << 9;
	uint32_t len = iod->nr_sectors << 9;
	struct io_uring_sqe *sqe;
	void *buf = q->ios[tag].buf;
	int mode = 0;

	switch (op) {
	case UBLK_IO_OP_READ:
	case UBLK_IO_OP_WRITE:
	case UBLK_IO_OP_FLUSH:
		break;
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		mode = FALLOC_FL_KEEP_SIZE;
		if (op == UBLK_IO_OP_WRITE_ZEROES &&
		    (iod->op_flags & UBLK_IO_F_NOUNMAP))
			mode |= FALLOC_FL_ZERO_RANGE;
		else
			mode |= FALLOC_FL_PUNCH_HOLE;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (!ublk_dev_zero_copy(q->dev) && !ublk_dev_auto_buf_reg(q->dev) &&
	    (q->dev->backing_in_memory || (q->dev->info.flags & UBLK_F_USER_COPY)))
		return loop_queue_sync(q, tag, iod, op, mode);
	sqe = ublk_queue_tgt_sqe(q, tag);
	if (!sqe)
		return -EBUSY;
	switch (op) {
	case UBLK_IO_OP_READ:
		sqe->opcode = IORING_OP_READ;
		break;
	case UBLK_IO_OP_WRITE:
		sqe->opcode = IORING_OP_WRITE;
		break;
	case UBLK_IO_OP_FLUSH:
		io_uring_prep_fsync(sqe, LOOP_FILE_IDX, IORING_FSYNC_DATASYNC);
		goto fixed;
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, LOOP_FILE_IDX, mode, off, loop_range_len(iod));
		goto fixed;
	}
	if (ublk_dev_zero_copy(q->dev) || ublk_dev_auto_buf_reg(q->dev))
		return loop_queue_zero_copy(q, tag, sqe, op, off, len);
	sqe->fd = LOOP_FILE_IDX;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
fixed:
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = ublk_user_data(tag, op, true);
	return 1;
}

static void loop_io_done(struct ublk_queue *q, unsigned int tag,
			 const struct io_uring_cqe *cqe)
{
	unsigned int op = ublk_ud_op(cqe->user_data);
	struct ublk_io *io = &q->ios[tag];
	int res = cqe->res;

	/* zero copy: commit once the file IO and both buffer commands are in */
	if (io->zc_pending) {
		if (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE)
			io->zc_res = io->zc_res < 0 ? io->zc_res : res;
		else if (res < 0)
			io->zc_res = res;	/* a failed (un)register fails the IO */
		if (--io->zc_pending)
			return;
		res = io->zc_res;
	}

	/*
	 * Only READ and WRITE commit a length: the driver ends FLUSH, DISCARD
	 * and WRITE_ZEROES on any result >= 0, and the s32 result could not
	 * hold one of 2 GiB or more. fsync and fallocate give 0.
	 */
	ublk_complete_io(q, tag, res);
}

static int loop_describe(const struct ublk_dev *dev, char *buf, size_t len)
{
	char file[PATH_MAX * 2];
	int n;

	if (ublk_json_escape(dev->opts.file, file, sizeof(file)) < 0)
		return -1;
	n = snprintf(buf, len,
		     "{\"name\":\"loop\",\"backing_file\":\"%s\",\"dev_size\":%llu,\"direct_io\":%d}",
		     file, (unsigned long long)dev->opts.size, dev->opts.direct_io);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const struct ublk_tgt_ops loop_tgt_ops = {
	.name		= "loop",
	.init		= loop_init,
	.deinit		= loop_deinit,
	.queue_io	= loop_queue_io,
	.io_done	= loop_io_done,
	.describe	= loop_describe,
};
