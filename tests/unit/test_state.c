// SPDX-License-Identifier: MIT
/* Description: the state file round-trips and refuses what it cannot read. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ublk.h"

static char dir[64];

static int make_dir(void **state)
{
	strcpy(dir, "/tmp/ublkctl-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* the state dir itself must be created by ublk_state_write */
	strcat(dir, "/run");
	setenv("UBLK_STATE_DIR", dir, 1);
	return 0;
}

static void sample(struct ublk_state *s)
{
	memset(s, 0, sizeof(*s));
	ublk_dev_opts_init(&s->opts);
	s->opts.dev_id = 3;
	strcpy(s->opts.target, "loop");
	strcpy(s->opts.file, "/srv/images/disk one.img");
	s->opts.size = 256ULL << 20;
	s->opts.nr_queues = 2;
	s->opts.depth = 64;
	s->opts.block_size = 4096;
	s->opts.direct_io = true;
	s->opts.flags = 1ULL << 3;
	s->pid = 4242;
	s->tids[0] = 4243;
	s->tids[1] = 4244;
	strcpy(s->tgt_json, "{\"name\":\"loop\"}");
}

static void state__write_read__same_fields(void **unused)
{
	struct ublk_state in, out;
	char path[128];
	struct stat st;

	sample(&in);
	assert_int_equal(ublk_state_write(3, &in), 0);
	assert_int_equal(ublk_state_read(3, &out), 0);
	assert_int_equal(out.opts.dev_id, 3);
	assert_string_equal(out.opts.target, "loop");
	assert_string_equal(out.opts.file, "/srv/images/disk one.img");
	assert_int_equal(out.opts.size, 256ULL << 20);
	assert_int_equal(out.opts.nr_queues, 2);
	assert_int_equal(out.opts.depth, 64);
	assert_int_equal(out.opts.block_size, 4096);
	assert_true(out.opts.direct_io);
	assert_false(out.opts.read_only);
	assert_int_equal(out.opts.flags, 1ULL << 3);
	assert_int_equal(out.pid, 4242);
	assert_int_equal(out.tids[0], 4243);
	assert_int_equal(out.tids[1], 4244);
	assert_int_equal(out.tids[2], 0);
	assert_string_equal(out.tgt_json, "{\"name\":\"loop\"}");

	/* root-only, and no temp file left behind */
	ublk_state_path(3, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	strcat(path, ".tmp");
	assert_int_equal(stat(path, &st), -1);
}

static void state__remove__gone_and_idempotent(void **unused)
{
	struct ublk_state s;

	sample(&s);
	assert_int_equal(ublk_state_write(4, &s), 0);
	assert_int_equal(ublk_state_remove(4), 0);
	assert_int_equal(ublk_state_read(4, &s), -ENOENT);
	assert_int_equal(ublk_state_remove(4), 0);
}

static void state__parse__garbage_rejected(void **unused)
{
	struct ublk_state s;

	assert_int_equal(ublk_state_parse("target=null\nsize=12x\n", &s), -EINVAL);
	assert_int_equal(ublk_state_parse("no equals sign\n", &s), -EINVAL);
	assert_int_equal(ublk_state_parse("size=5\n", &s), -EINVAL); /* no target */
	/* unknown keys from newer versions are fine */
	assert_int_equal(ublk_state_parse("target=null\nfuture=1\n", &s), 0);
	assert_string_equal(s.opts.target, "null");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state__write_read__same_fields),
		cmocka_unit_test(state__remove__gone_and_idempotent),
		cmocka_unit_test(state__parse__garbage_rejected),
	};

	return cmocka_run_group_tests_name("state", tests, make_dir, NULL);
}
