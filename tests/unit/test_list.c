// SPDX-License-Identifier: MIT
/*
 * Description: list -J prints valid JSON whatever bytes the state file's
 * names hold; the driver is faked (fake_ctrl.c: one LIVE device, id 5).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../applets/applets.h"
#include "fake_ctrl.h"

static char dir[64];

static int make_dir(void **state)
{
	if (fake_state_dir(dir, sizeof(dir), "list"))
		return -1;
	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 5, .nr_hw_queues = 1,
						    .queue_depth = 128,
						    .state = UBLK_S_DEV_LIVE };
	return 0;
}

/* list's stdout for argv, into out (len bytes, terminated) */
static void run_list(char **argv, int argc, char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(1);
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	dup2(fileno(tmp), 1);
	optind = 1;
	assert_int_equal(list_main(argc, argv), 0);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = 0;
	fclose(tmp);
}

static void save_loop_state(const char *file)
{
	struct ublk_state s;

	memset(&s, 0, sizeof(s));
	ublk_dev_opts_init(&s.opts);
	s.opts.dev_id = 5;
	strcpy(s.opts.target, "loop");
	strcpy(s.opts.file, file);
	s.opts.size = 1 << 20;
	s.pid = 4 << 20;	/* above any pid_max: no server runs */
	assert_int_equal(ublk_state_write(5, &s), 0);
}

#define ROW_HEAD "{\"ublkdevices\":[\n    {\"id\":5,\"dev\":\"/dev/ublkb5\",\"state\":\"LIVE\"," \
		 "\"target\":\"loop\",\"size\":1048576,\"queues\":1,\"depth\":128," \
		 "\"block_size\":512,\"pid\":null,\"file\":\""
#define ROW_TAIL "\"}\n]}\n"

/*
 * A name whose escape is six times its length (once overflowed list's
 * buffer, and was printed unterminated), then bytes that are not UTF-8.
 */
static void list_json__any_file_name__valid_json(void **state)
{
	char *argv[] = { "list", "-J", NULL };
	char name[PATH_MAX], *want, *out;
	size_t nctl = 3000, o;

	want = malloc(64 * 1024);
	out = malloc(64 * 1024);
	strcpy(name, "/img/");
	memset(name + 5, '\x01', nctl);
	strcpy(name + 5 + nctl, "\xff\"\xc3");
	save_loop_state(name);

	o = sprintf(want, "%s/img/", ROW_HEAD);
	while (nctl--)
		o += sprintf(want + o, "\\u0001");
	sprintf(want + o, "\\ufffd\\\"\\ufffd%s", ROW_TAIL);
	run_list(argv, 2, out, 64 * 1024);
	assert_string_equal(out, want);
	free(want);
	free(out);
}

static void list_json__plain_name__unchanged(void **state)
{
	char *argv[] = { "list", "-J", NULL };
	char out[1024];

	save_loop_state("/srv/disk one.img");
	run_list(argv, 2, out, sizeof(out));
	assert_string_equal(out, ROW_HEAD "/srv/disk one.img" ROW_TAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_json__plain_name__unchanged),
		cmocka_unit_test(list_json__any_file_name__valid_json),
	};

	return cmocka_run_group_tests_name("list", tests, make_dir, NULL);
}
