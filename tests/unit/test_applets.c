// SPDX-License-Identifier: MIT
/*
 * Description: the applets' command lines, through every applet and the
 * `ublk` personality; the driver is faked (fake_ctrl.c: device 0, LIVE).
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
	strcpy(dir, "/tmp/ublkctl-applets-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	setenv("UBLK_STATE_DIR", dir, 1);
	return 0;
}

static int reset(void **state)
{
	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 0, .nr_hw_queues = 1,
						    .queue_depth = 128,
						    .state = UBLK_S_DEV_LIVE };
	fake_stopped = fake_deleted = fake_spawned = 0;
	optind = 1;
	return 0;
}

/* `ublk ARGS...` (NULL-terminated) */
static int ublk(char **args)
{
	char *argv[32] = { "ublk" };
	int argc = 1;

	while (*args)
		argv[argc++] = *args++;
	return ublk_compat_main(argc, argv);
}

/* ublk del once passed on only its first six arguments */
static void ublk_del__many_ids__all_deleted(void **state)
{
	assert_int_equal(ublk((char *[]){ "del", "-n", "0", "-n", "0", "-n", "0",
					  "-n", "0", "-n", "0", NULL }), EXIT_OK);
	assert_int_equal(fake_stopped, 5);
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ublk_del__many_ids__all_deleted),
	};

	return cmocka_run_group_tests_name("applets", tests, make_dir, NULL);
}
