// SPDX-License-Identifier: MIT
/*
 * Description: add checks the backing file it will serve, after resolving
 * symlinks; the server start is faked (records what it would serve).
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

/* ---- fakes: no driver, no server ---- */
int ublk_ctrl_open(struct ublk_ctrl *c) { return -ENODEV; }

const struct ublk_tgt_ops *ublk_find_target(const char *name)
{
	static const struct ublk_tgt_ops loop = { .name = "loop" }, null = { .name = "null" };

	return !strcmp(name, "loop") ? &loop : !strcmp(name, "null") ? &null : NULL;
}

static int spawned;
static char spawned_file[PATH_MAX];

int ublk_server_spawn(const struct ublk_dev_opts *o, struct ublk_spawn_result *res,
		      char *err, size_t len)
{
	spawned++;
	strcpy(spawned_file, o->file);
	res->dev_id = 0;
	res->pid = 1;
	return 0;
}

static char dir[64];

static int make_dir(void **state)
{
	strcpy(dir, "/tmp/ublkctl-add-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int add(const char *file)
{
	char *argv[] = { "add", "-t", "loop", "-f", (char *)file, NULL };
	int dev_id;

	spawned = 0;
	return add_run(5, argv, NULL, "", &dev_id);
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fclose(f);
}

/* The name served and saved is the real path: its newline counts. */
static void add__symlink_to_newline_name__refused(void **state)
{
	char target[128], link[128];

	snprintf(target, sizeof(target), "%s/disk\nfile=x.img", dir);
	snprintf(link, sizeof(link), "%s/plain.img", dir);
	touch(target);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(add(link), EXIT_USAGE);
	assert_int_equal(spawned, 0);
	assert_int_equal(add(target), EXIT_USAGE);
	assert_int_equal(spawned, 0);
	unlink(link);
	unlink(target);
}

static void add__symlink__real_path_served(void **state)
{
	char target[128], link[128];

	snprintf(target, sizeof(target), "%s/disk.img", dir);
	snprintf(link, sizeof(link), "%s/link.img", dir);
	touch(target);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(add(link), EXIT_OK);
	assert_int_equal(spawned, 1);
	assert_string_equal(spawned_file, target);
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
