// SPDX-License-Identifier: MIT
/*
 * Description: add checks the backing file it will serve, after resolving
 * symlinks; the server start is faked (fake_ctrl.c records what it would serve).
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
	return fake_state_dir(dir, sizeof(dir), "add");
}

static int add(const char *file)
{
	char *argv[] = { "add", "-t", "loop", "-f", (char *)file, NULL };
	int dev_id;

	fake_spawned = 0;
	return add_run(5, argv, NULL, "", &dev_id);
}

/* A file named name in dir, and link.img pointing to it. */
static void make_link(const char *name, char *target, char *link, size_t len)
{
	FILE *f;

	snprintf(target, len, "%s/%s", dir, name);
	snprintf(link, len, "%s/link.img", dir);
	f = fopen(target, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(symlink(target, link), 0);
}

/* The name served and saved is the real path: its newline counts. */
static void add__symlink_to_newline_name__refused(void **state)
{
	char target[128], link[128];

	make_link("disk\nfile=x.img", target, link, sizeof(target));
	assert_int_equal(add(link), EXIT_USAGE);
	assert_int_equal(fake_spawned, 0);
	assert_int_equal(add(target), EXIT_USAGE);
	assert_int_equal(fake_spawned, 0);
	unlink(link);
	unlink(target);
}

static void add__symlink__real_path_served(void **state)
{
	char target[128], link[128];

	make_link("disk.img", target, link, sizeof(target));
	assert_int_equal(add(link), EXIT_OK);
	assert_int_equal(fake_spawned, 1);
	assert_string_equal(fake_spawned_opts.file, target);
	unlink(link);
	unlink(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add__symlink_to_newline_name__refused),
		cmocka_unit_test(add__symlink__real_path_served),
	};

	return cmocka_run_group_tests_name("add", tests, make_dir, NULL);
}
