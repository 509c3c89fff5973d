// SPDX-License-Identifier: MIT
/*
 * Description: the null and loop targets through their ops table, with a
 * fake queue standing in for queue.c (its functions are defined here).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <cmocka.h>

#include "ublk.h"

/* ---- the fake queue ---- */
/* the SQEs of one request; the next request starts again at 0 */
static struct io_uring_sqe fake_sqes[3];
static unsigned int nr_sqes;
#define fake_sqe (fake_sqes[0])

void ublk_complete_io(struct ublk_queue *q, unsigned int tag, int res)
{
	check_expected(tag);
	check_expected(res);
}

struct io_uring_sqe *ublk_queue_tgt_sqe(struct ublk_queue *q, unsigned int tag)
{
	struct io_uring_sqe *sqe = &fake_sqes[nr_sqes++ % 3];

	memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = ublk_user_data(tag, 0, true);
	return sqe;
}

void ublk_prep_buf_cmd(struct ublk_queue *q, struct io_uring_sqe *sqe,
		       unsigned int tag, bool reg)
{
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->cmd_op = reg ? UBLK_U_IO_REGISTER_IO_BUF : UBLK_U_IO_UNREGISTER_IO_BUF;
	sqe->user_data = ublk_user_data(tag, reg ? UBLK_OP_BUF_REG : UBLK_OP_BUF_UNREG, true);
}

struct io_uring_sqe *ublk_queue_buf_cmd(struct ublk_queue *q, unsigned int tag, bool reg)
{
	struct io_uring_sqe *sqe = ublk_queue_tgt_sqe(q, tag);

	ublk_prep_buf_cmd(q, sqe, tag, reg);
	return sqe;
}

struct fake {
	struct ublk_dev dev;
	struct ublk_queue *q;
	struct ublksrv_io_desc descs[4];
	char path[64];
};

static struct fake *fake_new(const char *target, uint64_t file_size)
{
	struct fake *f = calloc(1, sizeof(*f));
	int fd;

	nr_sqes = 0;
	ublk_dev_opts_init(&f->dev.opts);
	strcpy(f->dev.opts.target, target);
	f->dev.backing_fd = -1;
	f->dev.ops = ublk_find_target(target);
	f->q = calloc(1, sizeof(*f->q) + 4 * sizeof(f->q->ios[0]));
	f->q->dev = &f->dev;
	f->q->depth = 4;
	f->q->descs = f->descs;
	f->q->ios[1].buf = (void *)0x1000;
	if (file_size) {
		strcpy(f->path, "/tmp/ublkctl-tgt-XXXXXX");
		fd = mkstemp(f->path);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, file_size), 0);
		close(fd);
		strcpy(f->dev.opts.file, f->path);
	}
	return f;
}

static void fake_free(struct fake *f)
{
	if (f->dev.ops->deinit)
		f->dev.ops->deinit(&f->dev);
	if (f->path[0])
		unlink(f->path);
	free(f->q);
	free(f);
}

/* Fake ublk_find_target lives in server.c; the tests need only these two. */
const struct ublk_tgt_ops *ublk_find_target(const char *name)
{
	return !strcmp(name, "null") ? &null_tgt_ops :
	       !strcmp(name, "loop") ? &loop_tgt_ops : NULL;
}

/* The target SQE completes with res; the target must commit want. */
static void complete_tgt_sqe(struct fake *f, unsigned int tag, int res, int want)
{
	struct io_uring_cqe cqe = { .user_data = fake_sqe.user_data, .res = res };

	nr_sqes = 0;
	expect_value(ublk_complete_io, tag, tag);
	expect_value(ublk_complete_io, res, want);
	f->dev.ops->io_done(f->q, tag, &cqe);
}

static void null__queue_io__completes_full_length(void **state)
{
	struct fake *f = fake_new("null", 0);
	struct ublk_params p;

	f->dev.opts.size = 1ULL << 30;
	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_int_equal(p.basic.dev_sectors, (1ULL << 30) >> 9);
	f->descs[2] = (struct ublksrv_io_desc){ .op_flags = UBLK_IO_OP_READ,
						.nr_sectors = 8 };
	expect_value(ublk_complete_io, tag, 2);
	expect_value(ublk_complete_io, res, 4096);
	assert_int_equal(f->dev.ops->queue_io(f->q, 2, &f->descs[2]), 0);
	fake_free(f);
}

/* null copies nothing: user copy, unless NEED_GET_DATA is asked for (the driver drops it then) */
static void null__init__user_copy_unless_need_get_data(void **state)
{
	struct fake *f = fake_new("null", 0);
	struct ublk_params p;

	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_int_equal(f->dev.tgt_flags, UBLK_F_USER_COPY);
	f->dev.tgt_flags = 0;
	f->dev.opts.flags = UBLK_F_NEED_GET_DATA;
	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_int_equal(f->dev.tgt_flags, 0);
	fake_free(f);
}

/*
 * init for the io_uring path, wherever the test file is: a /tmp in a
 * tmpfs would give plain syscalls (loop__memory_file__syscalls_then_commit)
 */
static void loop_init_on_disk(struct fake *f, struct ublk_params *p)
{
	assert_int_equal(f->dev.ops->init(&f->dev, p), 0);
	f->dev.backing_in_memory = false;
}

static void loop__init__size_from_file_and_discard(void **state)
{
	struct fake *f = fake_new("loop", 8 << 20);
	struct ublk_params p;

	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_true(f->dev.backing_fd >= 0);
	assert_int_equal(f->dev.opts.size, 8 << 20);
	assert_int_equal(p.basic.dev_sectors, (8 << 20) >> 9);
	assert_true(p.basic.attrs & UBLK_ATTR_VOLATILE_CACHE);
	/* /tmp can punch holes on the machines we test on */
	assert_true(p.types & UBLK_PARAM_TYPE_DISCARD);
	fake_free(f);
}

/* A file of size bytes in directory dir for loop, or -1 if dir is missing. */
static int fake_file_in(struct fake *f, const char *dir, off_t size)
{
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/ublkctl-tgt-XXXXXX", dir);
	fd = mkstemp(f->path);
	if (fd < 0) {
		f->path[0] = 0;
		return -1;
	}
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	strcpy(f->dev.opts.file, f->path);
	return 0;
}

/*
 * tmpfs punches holes but has no FALLOC_FL_ZERO_RANGE: DISCARD, and no
 * WRITE_ZEROES, which would fail each request (EOPNOTSUPP). The probe
 * past EOF leaves the file's size alone.
 */
static void loop__init_on_tmpfs__discard_without_write_zeroes(void **state)
{
	struct fake *f = fake_new("loop", 0);
	struct ublk_params p;
	struct stat st;

	if (fake_file_in(f, "/dev/shm", 1 << 20) < 0) {
		fake_free(f);
		skip();
	}
	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_true(f->dev.backing_in_memory);
	assert_true(p.types & UBLK_PARAM_TYPE_DISCARD);
	assert_int_equal(p.discard.max_write_zeroes_sectors, 0);
	assert_int_equal(f->dev.tgt_flags, UBLK_F_USER_COPY);
	assert_int_equal(fstat(f->dev.backing_fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	fake_free(f);
}

/* where ZERO_RANGE works (/tmp on ext4 here): both, and no block left allocated past EOF */
static void loop__init_on_disk__write_zeroes_and_nothing_past_eof(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);
	struct ublk_params p;
	struct stat st;
	int fd = open(f->path, O_RDWR | O_CLOEXEC), ret;

	ret = fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	close(fd);
	if (ret < 0) {
		fake_free(f);
		skip();		/* /tmp in a tmpfs: the test above covers it */
	}
	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_true(p.types & UBLK_PARAM_TYPE_DISCARD);
	assert_int_equal(p.discard.max_write_zeroes_sectors, UINT32_MAX >> 9);
	assert_int_equal(fstat(f->dev.backing_fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(st.st_blocks * 512 <= 8192);	/* at most the block zeroed at 0 */
	fake_free(f);
}

/* with NEED_GET_DATA asked for, no user copy: the driver would drop the flag */
static void loop__init_on_tmpfs_need_get_data__no_user_copy(void **state)
{
	struct fake *f = fake_new("loop", 0);
	struct ublk_params p;

	if (fake_file_in(f, "/dev/shm", 1 << 20) < 0) {
		fake_free(f);
		skip();
	}
	f->dev.opts.flags = UBLK_F_NEED_GET_DATA;
	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	assert_true(f->dev.backing_in_memory);
	assert_int_equal(f->dev.tgt_flags, 0);
	fake_free(f);
}

static void loop__init__tiny_file_refused(void **state)
{
	struct fake *f = fake_new("loop", 100);
	struct ublk_params p;

	assert_int_equal(f->dev.ops->init(&f->dev, &p), -ENOSPC);
	assert_int_equal(f->dev.backing_fd, -1);
	fake_free(f);
}

/*
 * O_DIRECT on a backing that needs blocks of 4096 (a 4Kn disk) once got
 * 512-byte requests, which fail: the default grows, a given size stays.
 */
static void loop__direct_io_block_size__at_least_the_backing(void **state)
{
	assert_int_equal(ublk_loop_block_size(512, false, 512), 512);
	assert_int_equal(ublk_loop_block_size(512, false, 4096), 4096);
	assert_int_equal(ublk_loop_block_size(512, false, 1024), 1024);
	assert_int_equal(ublk_loop_block_size(4096, true, 512), 4096);
	assert_int_equal(ublk_loop_block_size(4096, true, 4096), 4096);
	assert_int_equal(ublk_loop_block_size(2048, false, 1024), 2048);
	/* -b 512 given, or a recovered device's: refused, not changed */
	assert_int_equal(ublk_loop_block_size(512, true, 4096), 0);
	/* beyond what a ublk device takes, or not a power of 2 */
	assert_int_equal(ublk_loop_block_size(512, false, 8192), 0);
	assert_int_equal(ublk_loop_block_size(512, false, 1536), 0);
}

static void loop__read__one_sqe_then_commit(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);
	struct ublk_params p;

	loop_init_on_disk(f, &p);
	f->descs[1] = (struct ublksrv_io_desc){ .op_flags = UBLK_IO_OP_READ,
						.nr_sectors = 16,
						.start_sector = 64 };
	assert_int_equal(f->dev.ops->queue_io(f->q, 1, &f->descs[1]), 1);
	assert_int_equal(fake_sqe.opcode, IORING_OP_READ);
	assert_int_equal(fake_sqe.fd, 1);
	assert_true(fake_sqe.flags & IOSQE_FIXED_FILE);
	assert_int_equal(fake_sqe.off, 64 * 512);
	assert_int_equal(fake_sqe.len, 8192);
	assert_int_equal(fake_sqe.addr, 0x1000);
	assert_int_equal(ublk_ud_tag(fake_sqe.user_data), 1);
	assert_true(ublk_ud_is_tgt(fake_sqe.user_data));

	complete_tgt_sqe(f, 1, 8192, 8192);
	fake_free(f);
}

/*
 * A DISCARD or WRITE_ZEROES is one fallocate of mode over the whole range,
 * committed 0: from 2 GiB on (fstrim, mkfs) the s32 result cannot hold the
 * length, and a negative one would fail the request with EIO.
 */
static void fallocate_whole_range(unsigned int op_flags, unsigned int nr_sectors, int mode)
{
	struct fake *f = fake_new("loop", 1 << 20);
	struct ublk_params p;

	loop_init_on_disk(f, &p);
	f->descs[0] = (struct ublksrv_io_desc){ .op_flags = op_flags,
						.nr_sectors = nr_sectors };
	assert_int_equal(f->dev.ops->queue_io(f->q, 0, &f->descs[0]), 1);
	assert_int_equal(fake_sqe.opcode, IORING_OP_FALLOCATE);
	assert_int_equal(fake_sqe.len, FALLOC_FL_KEEP_SIZE | mode);
	assert_int_equal(fake_sqe.addr, (uint64_t)nr_sectors << 9);	/* fallocate's length */
	complete_tgt_sqe(f, 0, 0, 0);
	fake_free(f);
}

static void loop__flush_and_discard__commit_zero(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);
	struct ublk_params p;

	fallocate_whole_range(UBLK_IO_OP_DISCARD, 8, FALLOC_FL_PUNCH_HOLE);
	loop_init_on_disk(f, &p);
	f->descs[0] = (struct ublksrv_io_desc){ .op_flags = UBLK_IO_OP_FLUSH };
	assert_int_equal(f->dev.ops->queue_io(f->q, 0, &f->descs[0]), 1);
	assert_int_equal(fake_sqe.opcode, IORING_OP_FSYNC);
	complete_tgt_sqe(f, 0, 0, 0);
	fake_free(f);
}

static void loop__discard_2g__commits_success(void **state)
{
	fallocate_whole_range(UBLK_IO_OP_DISCARD, 1U << 22, FALLOC_FL_PUNCH_HOLE);
}

/* Beyond what we advertise, still the whole range: a short zeroing loses data. */
static void loop__write_zeroes_4g__whole_range(void **state)
{
	fallocate_whole_range(UBLK_IO_OP_WRITE_ZEROES | UBLK_IO_F_NOUNMAP, 1U << 23,
			      FALLOC_FL_ZERO_RANGE);
}

static void loop__unknown_op__refused(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);
	struct ublk_params p;

	loop_init_on_disk(f, &p);
	f->descs[0] = (struct ublksrv_io_desc){ .op_flags = UBLK_IO_OP_ZONE_OPEN };
	assert_int_equal(f->dev.ops->queue_io(f->q, 0, &f->descs[0]), -EOPNOTSUPP);
	fake_free(f);
}

/* A CQE for fake_sqes[i]; the request is not committed by it. */
static void cqe_no_commit(struct fake *f, unsigned int i, int res)
{
	struct io_uring_cqe cqe = { .user_data = fake_sqes[i].user_data, .res = res };

	f->dev.ops->io_done(f->q, ublk_ud_tag(cqe.user_data), &cqe);
}

static void zero_copy_read(struct fake *f, unsigned int tag)
{
	f->descs[tag].op_flags = UBLK_IO_OP_READ;
	f->descs[tag].start_sector = 64;
	f->descs[tag].nr_sectors = 8;
	nr_sqes = 0;
}

static void loop__zero_copy__register_read_unregister_then_commit(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);

	f->dev.info.flags = UBLK_F_SUPPORT_ZERO_COPY;
	zero_copy_read(f, 2);
	assert_int_equal(f->dev.ops->queue_io(f->q, 2, &f->descs[2]), 3);
	assert_int_equal(fake_sqes[0].cmd_op, UBLK_U_IO_REGISTER_IO_BUF);
	assert_true(fake_sqes[0].flags & IOSQE_IO_HARDLINK);
	assert_int_equal(fake_sqes[1].opcode, IORING_OP_READ_FIXED);
	assert_int_equal(fake_sqes[1].buf_index, 2);
	assert_int_equal(fake_sqes[1].len, 4096);
	assert_int_equal(fake_sqes[1].off, 64 * 512);
	assert_true(fake_sqes[1].flags & IOSQE_IO_HARDLINK);
	assert_true(fake_sqes[1].flags & IOSQE_FIXED_FILE);
	assert_int_equal(fake_sqes[2].cmd_op, UBLK_U_IO_UNREGISTER_IO_BUF);
	/* committed after the last of the three, with the read's result */
	cqe_no_commit(f, 0, 0);
	cqe_no_commit(f, 1, 4096);
	expect_value(ublk_complete_io, tag, 2);
	expect_value(ublk_complete_io, res, 4096);
	cqe_no_commit(f, 2, 0);
	fake_free(f);
}

static void loop__zero_copy__failed_register_fails_the_io(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);

	f->dev.info.flags = UBLK_F_SUPPORT_ZERO_COPY;
	zero_copy_read(f, 1);
	assert_int_equal(f->dev.ops->queue_io(f->q, 1, &f->descs[1]), 3);
	cqe_no_commit(f, 0, -EINVAL);
	cqe_no_commit(f, 1, -EFAULT);
	expect_value(ublk_complete_io, tag, 1);
	expect_value(ublk_complete_io, res, -EINVAL);
	cqe_no_commit(f, 2, -EINVAL);
	fake_free(f);
}

static void loop__auto_buf_reg__one_fixed_sqe(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);

	f->dev.info.flags = UBLK_F_AUTO_BUF_REG;
	zero_copy_read(f, 3);
	f->descs[3].op_flags = UBLK_IO_OP_WRITE;
	assert_int_equal(f->dev.ops->queue_io(f->q, 3, &f->descs[3]), 1);
	assert_int_equal(fake_sqe.opcode, IORING_OP_WRITE_FIXED);
	assert_int_equal(fake_sqe.buf_index, 3);
	expect_value(ublk_complete_io, tag, 3);
	expect_value(ublk_complete_io, res, 4096);
	cqe_no_commit(f, 0, 4096);
	fake_free(f);
}

/* On the in-memory path a request is done, and committed with want, at once. */
static void queue_sync(struct fake *f, unsigned int tag, unsigned int op, int want)
{
	f->descs[tag].op_flags = op;
	expect_value(ublk_complete_io, tag, tag);
	expect_value(ublk_complete_io, res, want);
	assert_int_equal(f->dev.ops->queue_io(f->q, tag, &f->descs[tag]), 0);
	assert_int_equal(nr_sqes, 0);
}

/* tmpfs or ramfs: the IO is done with pwrite/pread in the tag's buffer */
static void loop__memory_file__syscalls_then_commit(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);
	char buf[4096], back[4096];
	struct ublk_params p;

	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	f->dev.backing_in_memory = true;
	memset(buf, 0xa5, sizeof(buf));
	f->q->ios[1].buf = buf;
	f->descs[1] = (struct ublksrv_io_desc){ .nr_sectors = 8, .start_sector = 16 };
	queue_sync(f, 1, UBLK_IO_OP_WRITE, 4096);
	assert_int_equal(pread(f->dev.backing_fd, back, sizeof(back), 16 * 512), 4096);
	assert_memory_equal(back, buf, sizeof(buf));

	memset(buf, 0, sizeof(buf));
	queue_sync(f, 1, UBLK_IO_OP_READ, 4096);
	assert_memory_equal(back, buf, sizeof(buf));
	/* flush commits 0, as through io_uring */
	queue_sync(f, 1, UBLK_IO_OP_FLUSH, 0);
	/* a 2 GiB hole: success, not a negative length */
	f->descs[1] = (struct ublksrv_io_desc){ .nr_sectors = 1U << 22 };
	queue_sync(f, 1, UBLK_IO_OP_DISCARD, 0);
	fake_free(f);
}

/*
 * The same with user copy: the data goes through the queue's one buffer
 * and pread/pwrite at the request's place in /dev/ublkcN (here a file).
 */
static void loop__memory_file_user_copy__through_cdev(void **state)
{
	struct fake *f = fake_new("loop", 1 << 20);
	char scratch[4096], data[4096], back[4096], cdev_path[] = "/tmp/ublkctl-cdev-XXXXXX";
	off_t pos = UBLKSRV_IO_BUF_OFFSET + ((off_t)2 << UBLK_TAG_OFF);
	struct ublk_params p;

	assert_int_equal(f->dev.ops->init(&f->dev, &p), 0);
	f->dev.backing_in_memory = true;
	f->dev.info.flags = UBLK_F_USER_COPY;
	f->dev.cdev_fd = mkstemp(cdev_path);
	assert_true(f->dev.cdev_fd >= 0);
	f->q->bufs = scratch;
	f->q->ios[2].buf = NULL;
	memset(data, 0x3c, sizeof(data));
	assert_int_equal(pwrite(f->dev.cdev_fd, data, sizeof(data), pos), 4096);

	f->descs[2] = (struct ublksrv_io_desc){ .nr_sectors = 8, .start_sector = 24 };
	queue_sync(f, 2, UBLK_IO_OP_WRITE, 4096);
	assert_int_equal(pread(f->dev.backing_fd, back, sizeof(back), 24 * 512), 4096);
	assert_memory_equal(back, data, sizeof(data));

	assert_int_equal(ftruncate(f->dev.cdev_fd, 0), 0);
	queue_sync(f, 2, UBLK_IO_OP_READ, 4096);
	assert_int_equal(pread(f->dev.cdev_fd, back, sizeof(back), pos), 4096);
	assert_memory_equal(back, data, sizeof(data));
	close(f->dev.cdev_fd);
	unlink(cdev_path);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(null__queue_io__completes_full_length),
		cmocka_unit_test(null__init__user_copy_unless_need_get_data),
		cmocka_unit_test(loop__zero_copy__register_read_unregister_then_commit),
		cmocka_unit_test(loop__zero_copy__failed_register_fails_the_io),
		cmocka_unit_test(loop__auto_buf_reg__one_fixed_sqe),
		cmocka_unit_test(loop__init__size_from_file_and_discard),
		cmocka_unit_test(loop__init__tiny_file_refused),
		cmocka_unit_test(loop__init_on_tmpfs__discard_without_write_zeroes),
		cmocka_unit_test(loop__init_on_disk__write_zeroes_and_nothing_past_eof),
		cmocka_unit_test(loop__init_on_tmpfs_need_get_data__no_user_copy),
		cmocka_unit_test(loop__direct_io_block_size__at_least_the_backing),
		cmocka_unit_test(loop__read__one_sqe_then_commit),
		cmocka_unit_test(loop__flush_and_discard__commit_zero),
		cmocka_unit_test(loop__discard_2g__commits_success),
		cmocka_unit_test(loop__write_zeroes_4g__whole_range),
		cmocka_unit_test(loop__unknown_op__refused),
		cmocka_unit_test(loop__memory_file__syscalls_then_commit),
		cmocka_unit_test(loop__memory_file_user_copy__through_cdev),
	};

	return cmocka_run_group_tests_name("target", tests, NULL, NULL);
}
