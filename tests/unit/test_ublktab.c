// SPDX-License-Identifier: MIT
/*
 * Description: /etc/ublktab (lib/ublktab.c): the lines kept, each bad line
 * reported with its number while the others stay; up creates what is not
 * there (as add would) and down deletes what is, on the fake driver
 * (fake_ctrl.c: device 0 exists).
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
#include "ublktab.h"

static char bad[1024];
static unsigned int nr_bad;

static void collect(unsigned int line, const char *msg, void *arg)
{
	size_t n = strlen(bad);

	snprintf(bad + n, sizeof(bad) - n, "%u: %s\n", line, msg);
	nr_bad++;
}

static void parse(const char *text, struct ublktab *t)
{
	bad[0] = 0;
	nr_bad = 0;
	assert_int_equal(ublktab_parse(text, t, collect, NULL), 0);
}

static void parse__lines__fields_options_early(void **state)
{
	struct ublktab t;

	parse("# ID TARGET SOURCE OPTIONS\n"
	      "\n"
	      "0 loop /srv/root.img --recovery=reissue early   # the root\n"
	      "  12\tnbd  nbd://server/data --recovery --queues 2\n"
	      "3 null 1G", &t);
	assert_int_equal(nr_bad, 0);
	assert_int_equal(t.nr, 3);
	assert_int_equal(t.entries[0].line, 3);
	assert_int_equal(t.entries[0].id, 0);
	assert_string_equal(t.entries[0].target, "loop");
	assert_string_equal(t.entries[0].source, "/srv/root.img");
	assert_true(t.entries[0].early);
	assert_int_equal(t.entries[0].nr_opts, 1);
	assert_string_equal(t.entries[0].opts[0], "--recovery=reissue");
	assert_int_equal(t.entries[1].id, 12);
	assert_false(t.entries[1].early);
	assert_int_equal(t.entries[1].nr_opts, 3);
	assert_string_equal(t.entries[1].opts[2], "2");
	assert_string_equal(t.entries[2].source, "1G");
	assert_ptr_equal(ublktab_find(&t, 12), &t.entries[1]);
	assert_null(ublktab_find(&t, 1));
	ublktab_free(&t);
}

/* each bad line is named by its number; the good ones are kept */
static void parse__bad_lines__reported_others_kept(void **state)
{
	struct ublktab t;

	parse("x loop /a\n"
	      "1 disk /a\n"
	      "2 loop\n"
	      "3 loop /a -f /b\n"
	      "4 loop /a --number=4\n"
	      "5 loop /a rw\n"
	      "6 loop /a\n"
	      "6 nbd h\n"
	      "1048576 null 1G\n", &t);
	assert_int_equal(t.nr, 1);
	assert_int_equal(t.entries[0].id, 6);
	assert_int_equal(nr_bad, 8);
	assert_string_equal(bad,
		"1: 'x' is not a device id (0-1048575)\n"
		"2: no target (null, loop or nbd) after the id\n"
		"3: no file after the target\n"
		"4: '-f': the id, target and file are the line's first three fields\n"
		"5: '--number=4': the id, target and file are the line's first three fields\n"
		"6: 'rw' is not an option (they start with -)\n"
		"8: device 6 is already on line 7\n"
		"9: '1048576' is not a device id (0-1048575)\n");
	ublktab_free(&t);
}

static void parse__too_many_options__refused(void **state)
{
	char text[512] = "0 null 1G";
	struct ublktab t;
	int i;

	for (i = 0; i <= UBLKTAB_MAX_OPTS; i++)
		strcat(text, " -r");
	parse(text, &t);
	assert_int_equal(t.nr, 0);
	assert_string_equal(bad, "1: more than 32 options\n");
	ublktab_free(&t);
}

static char tab[64];

static void write_tab(const char *text)
{
	FILE *f = fopen(tab, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int run(int (*fn)(int, char **), char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	optind = 1;
	fflush(stdout);
	return fn(argc, argv);
}

static int setup(void **state)
{
	static char dir[64];

	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 0, .nr_hw_queues = 1,
						    .queue_depth = 128, .state = UBLK_S_DEV_LIVE };
	fake_devs = 1;
	fake_spawned = fake_stopped = fake_deleted = 0;
	snprintf(tab, sizeof(tab), "/tmp/ublktab-test-%d", getpid());
	return fake_state_dir(dir, sizeof(dir), "ublktab");
}

static int teardown(void **state)
{
	unlink(tab);
	return 0;
}

/* device 0 is there: only 7 is created, as add -n 7 -t loop -f FILE -r would */
static void up__all__creates_what_is_missing(void **state)
{
	char *argv[] = { "up", "-a", "--tab", tab, NULL };

	char text[128];

	snprintf(text, sizeof(text), "0 null 1G\n7 loop %s --read-only --queues 2\n", tab);
	write_tab(text);
	assert_int_equal(run(up_main, argv), EXIT_OK);
	assert_int_equal(fake_spawned, 1);
	assert_int_equal(fake_spawned_opts.dev_id, 7);
	assert_string_equal(fake_spawned_opts.target, "loop");
	assert_string_equal(fake_spawned_opts.file, tab);
	assert_true(fake_spawned_opts.read_only);
	assert_int_equal(fake_spawned_opts.nr_queues, 2);
}

/* a bad line and a bad option: exit 1, the good line served all the same */
static void up__bad_lines__others_still_served(void **state)
{
	char *argv[] = { "up", "-a", "--tab", tab, NULL };

	write_tab("5 null 1G --bogus\nnonsense\n6 null 2G\n");
	assert_int_equal(run(up_main, argv), EXIT_FAIL);
	assert_int_equal(fake_spawned, 1);
	assert_int_equal(fake_spawned_opts.dev_id, 6);
	assert_int_equal(fake_spawned_opts.size, 2ULL << 30);
}

static void up__ids_and_early__only_those(void **state)
{
	char *ids[] = { "up", "--tab", tab, "8", NULL };
	char *early[] = { "up", "-a", "--early", "--tab", tab, NULL };
	char *missing[] = { "up", "--tab", tab, "9", NULL };
	char *usage[] = { "up", "--tab", tab, NULL };

	write_tab("8 null 1G\n3 null 1G early\n");
	assert_int_equal(run(up_main, ids), EXIT_OK);
	assert_int_equal(fake_spawned_opts.dev_id, 8);
	assert_int_equal(run(up_main, early), EXIT_OK);
	assert_int_equal(fake_spawned_opts.dev_id, 3);
	assert_int_equal(fake_spawned, 2);
	assert_int_equal(run(up_main, missing), EXIT_FAIL);
	assert_int_equal(run(up_main, usage), EXIT_USAGE);
	assert_int_equal(fake_spawned, 2);
}

static void up__no_file__exit_1(void **state)
{
	char *argv[] = { "up", "-a", "--tab", "/nonexistent/ublktab", NULL };

	assert_int_equal(run(up_main, argv), EXIT_FAIL);
	assert_int_equal(fake_spawned, 0);
}

/* down deletes the listed device that is there, skips the one that is not */
static void down__all__deletes_what_is_there(void **state)
{
	char *argv[] = { "down", "-a", "--tab", tab, NULL };

	write_tab("0 null 1G\n4 loop /a\n");
	assert_int_equal(run(down_main, argv), EXIT_OK);
	assert_int_equal(fake_deleted, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse__lines__fields_options_early),
		cmocka_unit_test(parse__bad_lines__reported_others_kept),
		cmocka_unit_test(parse__too_many_options__refused),
		cmocka_unit_test_setup_teardown(up__all__creates_what_is_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(up__bad_lines__others_still_served, setup, teardown),
		cmocka_unit_test_setup_teardown(up__ids_and_early__only_those, setup, teardown),
		cmocka_unit_test_setup_teardown(up__no_file__exit_1, setup, teardown),
		cmocka_unit_test_setup_teardown(down__all__deletes_what_is_there, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
