// SPDX-License-Identifier: MIT
/*
 * Description: recover serves only what it can: a state file that passes
 * every check, a device whose queues fit. The driver and the server start
 * are faked (fake_ctrl.c): device 0 waits QUIESCED for a server.
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

static char dir[64], path[128];

static int make_dir(void **state)
{
	if (fake_state_dir(dir, sizeof(dir), "recover"))
		return -1;
	snprintf(path, sizeof(path), "%s/0", dir);
	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 0, .queue_depth = 128,
						    .state = UBLK_S_DEV_QUIESCED,
						    .flags = UBLK_F_USER_RECOVERY };
	return 0;
}

/* device 0's state file in the previous version's format, with extra lines */
static void old_state(const char *extra)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "id=0\npid=4194304\ntarget=null\nfile=\nsize=1048576\nqueues=2\n"
		"depth=128\n%sread_only=0\ndirect_io=0\nflags=8\ntarget_json=\ntids=\n",
		extra);
	fclose(f);
}

/* recover with the arguments after "recover", NULL-terminated */
static int recover_args(char **args)
{
	char *argv[8] = { "recover" };
	int argc = 1;

	while (*args)
		argv[argc++] = *args++;
	fake_spawned = 0;
	return recover_main(argc, argv);
}

static int recover(void)
{
	return recover_args((char *[]){ "-n", "0", NULL });
}

static void recover__old_state_file__served(void **state)
{
	fake_info.nr_hw_queues = 2;
	old_state("block_size=4096\n");
	assert_int_equal(recover(), EXIT_OK);
	assert_int_equal(fake_spawned, 1);
	assert_string_equal(fake_spawned_opts.target, "null");
	assert_int_equal(fake_spawned_opts.block_size, 4096);
	assert_int_equal(fake_spawned_opts.nr_queues, 2);
	assert_true(fake_spawned_opts.recover);
}

/* block_size=0 once reached an undefined shift in the server's params */
static void recover__bad_block_size__refused(void **state)
{
	fake_info.nr_hw_queues = 2;
	old_state("block_size=0\n");
	assert_int_equal(recover(), EXIT_FAIL);
	assert_int_equal(fake_spawned, 0);
}

/* more queues than dev->queues[] and the state's tids[] hold */
static void recover__more_queues_than_served__refused(void **state)
{
	fake_info.nr_hw_queues = UBLK_MAX_QUEUES + 1;
	old_state("block_size=512\n");
	assert_int_equal(recover(), EXIT_FAIL);
	assert_int_equal(fake_spawned, 0);
	fake_info.nr_hw_queues = UBLK_MAX_QUEUES;
	assert_int_equal(recover(), EXIT_OK);
	assert_int_equal(fake_spawned, 1);
}

/* recover -n 0 -t null serves the null target */
static void t_null_served(void)
{
	assert_int_equal(recover_args((char *[]){ "-n", "0", "-t", "null", NULL }), EXIT_OK);
	assert_int_equal(fake_spawned, 1);
	assert_string_equal(fake_spawned_opts.target, "null");
}

/* -t/-f once replaced a readable state file: a loop device served as null */
static void recover__cmdline_disagrees_with_state__refused(void **state)
{
	fake_info.nr_hw_queues = 2;
	old_state("block_size=512\n");	/* target=null */
	assert_int_equal(recover_args((char *[]){ "-n", "0", "-t", "loop", NULL }), EXIT_FAIL);
	assert_int_equal(fake_spawned, 0);
	assert_int_equal(recover_args((char *[]){ "-n", "0", "-f", path, NULL }), EXIT_FAIL);
	assert_int_equal(fake_spawned, 0);
	t_null_served();
}

/* without a state file they fill it in */
static void recover__no_state_file__cmdline_served(void **state)
{
	fake_info.nr_hw_queues = 2;
	unlink(path);
	assert_int_equal(recover(), EXIT_FAIL);
	assert_int_equal(fake_spawned, 0);
	t_null_served();
}

/* one -f for every waiting device would serve them all from one file */
static void recover__all_with_cmdline__usage_error(void **state)
{
	fake_info.nr_hw_queues = 2;
	unlink(path);
	assert_int_equal(recover_args((char *[]){ "-a", "-f", dir, NULL }), EXIT_USAGE);
	assert_int_equal(recover_args((char *[]){ "-a", "-t", "null", NULL }), EXIT_USAGE);
	assert_int_equal(fake_spawned, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recover__old_state_file__served),
		cmocka_unit_test(recover__bad_block_size__refused),
		cmocka_unit_test(recover__more_queues_than_served__refused),
		cmocka_unit_test(recover__cmdline_disagrees_with_state__refused),
		cmocka_unit_test(recover__no_state_file__cmdline_served),
		cmocka_unit_test(recover__all_with_cmdline__usage_error),
	};

	return cmocka_run_group_tests_name("recover", tests, make_dir, NULL);
}
