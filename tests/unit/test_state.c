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
static char *text_with(const char *key, const char *value, bool old_format);

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
	s->start_time = 123456789;
	s->tids[0] = 4243;
	s->tids[1] = 4244;
	strcpy(s->tgt_json, "{\"name\":\"loop\"}");
}

/* s holds what sample() put in */
static void assert_sample(const struct ublk_state *s)
{
	assert_int_equal(s->opts.dev_id, 3);
	assert_string_equal(s->opts.target, "loop");
	assert_string_equal(s->opts.file, "/srv/images/disk one.img");
	assert_int_equal(s->opts.size, 256ULL << 20);
	assert_int_equal(s->opts.nr_queues, 2);
	assert_int_equal(s->opts.depth, 64);
	assert_int_equal(s->opts.block_size, 4096);
	assert_true(s->opts.direct_io);
	assert_false(s->opts.read_only);
	assert_false(s->opts.root_daemon);
	assert_int_equal(s->opts.flags, 1ULL << 3);
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->tids[0], 4243);
	assert_int_equal(s->tids[1], 4244);
	assert_int_equal(s->tids[2], 0);
	assert_string_equal(s->tgt_json, "{\"name\":\"loop\"}");
}

static void state__write_read__same_fields(void **unused)
{
	struct ublk_state in, out;
	char path[128];
	struct stat st;

	sample(&in);
	assert_int_equal(ublk_state_write(3, &in), 0);
	assert_int_equal(ublk_state_read(3, &out), 0);
	assert_sample(&out);
	assert_int_equal(out.start_time, 123456789);

	/* root-only, and no temp file left behind */
	ublk_state_path(3, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	strcat(path, ".tmp");
	assert_int_equal(stat(path, &st), -1);
}

/*
 * A server started in an initramfs: switch_root moves /run into the new
 * root, and the state path no longer leads to its directory. Its later
 * writes must still reach the directory it started with (they went to a
 * directory made anew at the old path, unseen by list and recover).
 */
static void state__directory_moved__writes_follow_it(void **unused)
{
	struct ublk_state s;
	char moved[96], file[128];
	FILE *f;
	char line[64];
	bool found = false;

	sample(&s);
	assert_int_equal(ublk_state_write(5, &s), 0);
	snprintf(moved, sizeof(moved), "%s.moved", dir);
	assert_int_equal(rename(dir, moved), 0);
	s.pid = 4242;
	assert_int_equal(ublk_state_write(5, &s), 0);
	snprintf(file, sizeof(file), "%s/5", moved);
	f = fopen(file, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= !strcmp(line, "pid=4242\n");
	fclose(f);
	assert_true(found);
	assert_int_equal(rename(moved, dir), 0);
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
	assert_int_equal(ublk_state_parse(text_with("target", "null\nfuture=1", true), &s), 0);
	assert_string_equal(s.opts.target, "null");
	assert_int_equal(ublk_state_parse(text_with("target", "null\nfuture=1", false), &s), 0);
}

/* The text of sample's state file, key's line set to "key=value" (NULL: gone). */
static char *text_with(const char *key, const char *value, bool old_format)
{
	static char text[16384];
	char line[256], *p, *eol, *start;
	struct ublk_state s;
	int n;

	sample(&s);
	n = ublk_state_format(&s, text, sizeof(text));
	assert_true(n > 0);
	snprintf(line, sizeof(line), "\n%s=", key);
	p = strstr(text, line);
	assert_non_null(p);
	eol = strchr(p + 1, '\n');
	if (value)
		snprintf(line, sizeof(line), "\n%s=%s", key, value);
	else
		line[0] = 0;
	memmove(p + strlen(line), eol, strlen(eol) + 1);
	memcpy(p, line, strlen(line));
	start = text;
	if (old_format && !strncmp(text, "ublkctl-state ", 14))
		start = strchr(text, '\n') + 1;	/* the previous version had no version line */
	return start;
}

static int parse_with(const char *key, const char *value, bool old_format)
{
	struct ublk_state s;

	return ublk_state_parse(text_with(key, value, old_format), &s);
}

/* Names may hold any byte but NUL: each stays one line, and comes back. */
static void state__any_file_name__round_trip(void **unused)
{
	static const char name[] = "/srv/a\nfile=/dev/sda\ntarget=null\n%41\x01\xff\\ b";
	struct ublk_state in, out;
	char text[16384], *p;
	int lines = 0;

	sample(&in);
	strcpy(in.opts.file, name);
	strcpy(in.tgt_json, "{\"backing_file\":\"a\\nb\"}\n");
	assert_true(ublk_state_format(&in, text, sizeof(text)) > 0);
	for (p = text; (p = strstr(p, "\nfile=")); p++)
		lines++;
	assert_int_equal(lines, 1);
	assert_int_equal(ublk_state_parse(text, &out), 0);
	assert_string_equal(out.opts.file, name);
	assert_string_equal(out.opts.target, "loop");
	assert_string_equal(out.tgt_json, in.tgt_json);
}

/* an nbd device's "file" is its server's URI; a loop file stays absolute */
static void state__nbd_uri__round_trip(void **unused)
{
	struct ublk_state s, back;
	char buf[8192];

	sample(&s);
	strcpy(s.opts.target, "nbd");
	strcpy(s.opts.file, "nbd+unix:///disk?socket=/run/n.sock");
	s.opts.reconnect_timeout = UINT32_MAX;	/* inf */
	assert_true(ublk_state_format(&s, buf, sizeof(buf)) > 0);
	assert_int_equal(ublk_state_parse(buf, &back), 0);
	assert_string_equal(back.opts.file, s.opts.file);
	assert_int_equal(back.opts.reconnect_timeout, UINT32_MAX);
	strcpy(s.opts.target, "loop");
	assert_true(ublk_state_format(&s, buf, sizeof(buf)) > 0);
	assert_int_equal(ublk_state_parse(buf, &back), -EINVAL);
}

static void state__format__version_line_first(void **unused)
{
	struct ublk_state s;
	char text[16384];

	sample(&s);
	assert_true(ublk_state_format(&s, text, sizeof(text)) > 0);
	assert_memory_equal(text, "ublkctl-state 2\nid=3\n", 21);
}

/* Exactly what the previous version wrote for sample(): devices live across upgrades. */
static const char old_text[] =
	"id=3\npid=4242\ntarget=loop\nfile=/srv/images/disk one.img\nsize=268435456\n"
	"queues=2\ndepth=64\nblock_size=4096\nread_only=0\ndirect_io=1\nroot_daemon=0\n"
	"flags=8\ntarget_json={\"name\":\"loop\"}\ntids=4243 4244\n";

static void state__old_format__still_read(void **unused)
{
	struct ublk_state s;

	assert_int_equal(ublk_state_parse(old_text, &s), 0);
	assert_sample(&s);
	/* no escapes then */
	assert_int_equal(ublk_state_parse(text_with("file", "/srv/100%.img", true), &s), 0);
	assert_string_equal(s.opts.file, "/srv/100%.img");
	/* versions before --root-daemon wrote no root_daemon line */
	assert_int_equal(parse_with("root_daemon", NULL, true), 0);
	/* nor start_time before del proved its pid: 0, unknown */
	assert_int_equal(ublk_state_parse(text_with("start_time", NULL, true), &s), 0);
	assert_int_equal(s.start_time, 0);
	assert_int_equal(parse_with("pid", NULL, true), -EINVAL);	/* they all had this */
}

/*
 * What a file name with a newline injected into the previous version's
 * file (a symlink to it got past add's check): the second target and
 * file lines once won.
 */
static void state__injected_keys__refused(void **unused)
{
	struct ublk_state s;

	assert_int_equal(parse_with("file", "/tmp/x\ntarget=null\nfile=/dev/sda", true), -EINVAL);
	assert_int_equal(parse_with("file", "/tmp/x\ntarget=null\nfile=/dev/sda", false), -EINVAL);
	assert_int_equal(parse_with("depth", "64\ndepth=64", false), -EINVAL);
	assert_int_equal(parse_with("tids", "1\ntids=2", true), -EINVAL);
	assert_int_equal(parse_with("pid", "1\nfuture=1\nfuture=2", false), 0);
	assert_int_equal(ublk_state_parse("ublkctl-state 2\nublkctl-state 2\n", &s), -EINVAL);
}

/* Every number is checked against what ublkctl itself could have written. */
static void state__numbers_out_of_range__refused(void **unused)
{
	static const char *const bad[][2] = {
		{ "block_size", "0" }, { "block_size", "1000" }, { "block_size", "256" },
		{ "block_size", "8192" }, { "queues", "0" }, { "queues", "65" },
		{ "depth", "0" }, { "depth", "4097" }, { "id", "1048576" }, { "id", "-1" },
		{ "pid", "0" }, { "pid", "-1" }, { "pid", "4194305" },
		{ "pid", "99999999999999999999999" }, { "size", "0" }, { "size", "4095" },
		{ "size", "9223372036854775808" }, { "size", "+5" }, { "size", " 5" },
		{ "size", "0x10" }, { "size", "" }, { "read_only", "2" }, { "direct_io", "-1" },
		{ "root_daemon", "10" }, { "flags", "4294967296" }, { "tids", "1 0" },
		{ "tids", " 1" }, { "tids", "1  2" }, { "tids", "1 " }, { "tids", "x" },
		{ "tids", "1 2 3" },	/* more threads than the sample's 2 queues */
		{ "tids", "4194305" }, { "start_time", "-1" },
		{ "start_time", "9223372036854775808" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse_with(bad[i][0], bad[i][1], false) != -EINVAL ||
		    parse_with(bad[i][0], bad[i][1], true) != -EINVAL)
			fail_msg("%s=%s accepted", bad[i][0], bad[i][1]);
	}
	/* the limits themselves are fine */
	assert_int_equal(parse_with("queues", "64", false), 0);
	assert_int_equal(parse_with("depth", "4096", false), 0);
	assert_int_equal(parse_with("id", "1048575", false), 0);
	assert_int_equal(parse_with("size", "9223372036854775807", false), 0);
	assert_int_equal(parse_with("tids", "", false), 0);
}

static void state__malformed__refused(void **unused)
{
	static const char *const bad[][2] = {
		{ "file", "/a%4" }, { "file", "/a%zz" }, { "file", "/a%00b" }, { "file", "/a%" },
		{ "file", "relative/path" }, { "target", "" }, { "target", "Loop" },
		{ "target", "lo op" }, { "target", "0123456789abcdef" },
	};
	struct ublk_state s;
	char text[16384];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (parse_with(bad[i][0], bad[i][1], false) != -EINVAL)
			fail_msg("%s=%s accepted", bad[i][0], bad[i][1]);
	assert_int_equal(parse_with("file", "/a%25%0A%0a", false), 0);
	/* cut short: the last line has no newline */
	strcpy(text, text_with("pid", "1", false));
	text[strlen(text) - 1] = 0;
	assert_int_equal(ublk_state_parse(text, &s), -EINVAL);
	/* a key missing, a line that is no key=value, an empty one */
	assert_int_equal(ublk_state_parse("ublkctl-state 2\ntarget=null\n", &s), -EINVAL);
	assert_int_equal(parse_with("pid", "1\nno equals sign", false), -EINVAL);
	assert_int_equal(parse_with("pid", "1\n", false), -EINVAL);
	assert_int_equal(parse_with("pid", "1\n=5", false), -EINVAL);
	/* a version we do not know */
	assert_int_equal(ublk_state_parse("ublkctl-state 3\nid=1\n", &s), -EINVAL);
	assert_int_equal(ublk_state_parse("", &s), -EINVAL);
}

/* A file that is not what was written: NUL inside, or another id's. */
static void state__read__nul_or_other_id_refused(void **unused)
{
	struct ublk_state s;
	char path[128];
	FILE *f;

	sample(&s);
	assert_int_equal(ublk_state_write(3, &s), 0);
	ublk_state_path(3, path, sizeof(path));
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 20, SEEK_SET);
	fputc(0, f);
	fclose(f);
	assert_int_equal(ublk_state_read(3, &s), -EINVAL);

	sample(&s);
	assert_int_equal(ublk_state_write(6, &s), 0);	/* says id=3 */
	assert_int_equal(ublk_state_read(6, &s), -EINVAL);
	s.opts.dev_id = 6;
	assert_int_equal(ublk_state_write(6, &s), 0);
	assert_int_equal(ublk_state_read(6, &s), 0);
}

/* Bigger than any file ublkctl writes: refused, not read in part. */
static void state__read__oversized_refused(void **unused)
{
	struct ublk_state s;
	char path[128];
	FILE *f;
	int i;

	sample(&s);
	assert_int_equal(ublk_state_write(7, &s), 0);
	ublk_state_path(7, path, sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("ublkctl-state 2\nid=7\n", f);
	for (i = 0; i < 8192; i++)
		fputs("future_key=1\n", f);
	fclose(f);
	assert_int_equal(ublk_state_read(7, &s), -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state__write_read__same_fields),
		cmocka_unit_test(state__remove__gone_and_idempotent),
		cmocka_unit_test(state__directory_moved__writes_follow_it),
		cmocka_unit_test(state__parse__garbage_rejected),
		cmocka_unit_test(state__any_file_name__round_trip),
		cmocka_unit_test(state__nbd_uri__round_trip),
		cmocka_unit_test(state__format__version_line_first),
		cmocka_unit_test(state__old_format__still_read),
		cmocka_unit_test(state__injected_keys__refused),
		cmocka_unit_test(state__numbers_out_of_range__refused),
		cmocka_unit_test(state__malformed__refused),
		cmocka_unit_test(state__read__nul_or_other_id_refused),
		cmocka_unit_test(state__read__oversized_refused),
	};

	return cmocka_run_group_tests_name("state", tests, make_dir, NULL);
}
