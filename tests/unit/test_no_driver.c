// SPDX-License-Identifier: MIT
/*
 * Description: without /dev/ublk-control ublkctl says "modprobe ublk_drv"
 * only when the kernel's modules.dep or modules.builtin has that module
 * (compressed or not, the kernel's or DKMS's), else that the kernel has
 * none; other modules and names that only start like it do not count.
 */
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

#define RELEASE		"6.1.0-50-amd64"
#define MODPROBE	"ublk driver not loaded (try: modprobe ublk_drv)"
#define NO_UBLK_DRV	"ublk driver not loaded: Linux " RELEASE " has no ublk_drv " \
			"(install ublkctl-dkms: docs/packages.md)"

struct tree {
	char root[32];		/* the modules root, holding RELEASE/ */
	char dir[64];		/* root/RELEASE */
};

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->root, sizeof(t->root), "/tmp/ublk-modules-XXXXXX");
	if (!mkdtemp(t->root)) {
		free(t);
		return -1;
	}
	snprintf(t->dir, sizeof(t->dir), "%s/%s", t->root, RELEASE);
	if (mkdir(t->dir, 0755)) {
		rmdir(t->root);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char path[96];

	snprintf(path, sizeof(path), "%s/modules.dep", t->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/modules.builtin", t->dir);
	unlink(path);
	rmdir(t->dir);
	rmdir(t->root);
	free(t);
	return 0;
}

static void write_file(const struct tree *t, const char *name, const char *text)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void says(const struct tree *t, const char *want)
{
	assert_string_equal(ublk_no_driver_msg_at(t->root, RELEASE), want);
}

static void no_driver_msg__in_modules_dep__modprobe(void **state)
{
	write_file(*state, "modules.dep",
		   "kernel/drivers/block/loop.ko.xz:\n"
		   "kernel/drivers/block/ublk_drv.ko.xz:\n"
		   "kernel/drivers/block/nbd.ko.xz:\n");
	says(*state, MODPROBE);
	write_file(*state, "modules.dep", "kernel/drivers/block/ublk_drv.ko.zst: kernel/lib/x.ko.zst\n");
	says(*state, MODPROBE);
	/* the last line without its newline */
	write_file(*state, "modules.dep", "kernel/drivers/block/ublk_drv.ko:");
	says(*state, MODPROBE);
}

static void no_driver_msg__dkms_module__modprobe(void **state)
{
	write_file(*state, "modules.dep",
		   "kernel/drivers/block/nbd.ko:\n"
		   "updates/dkms/ublk_drv.ko:\n");
	says(*state, MODPROBE);
}

static void no_driver_msg__builtin__modprobe(void **state)
{
	write_file(*state, "modules.dep", "kernel/drivers/block/nbd.ko:\n");
	write_file(*state, "modules.builtin",
		   "kernel/drivers/block/loop.ko\n"
		   "kernel/drivers/block/ublk_drv.ko\n");
	says(*state, MODPROBE);
}

static void no_driver_msg__absent__no_ublk_drv(void **state)
{
	char text[1200];
	size_t n;

	write_file(*state, "modules.dep",
		   "kernel/drivers/block/nbd.ko:\n"
		   "kernel/drivers/block/ublk_drv_foo.ko:\n"
		   "kernel/drivers/block/xublk_drv.ko.xz:\n"
		   "kernel/drivers/block/ublk_drv.ko.bz2:\n"
		   "kernel/drivers/block/ublk_drv.kox:\n"
		   "kernel/drivers/ublk_drv.ko/nbd.ko:\n");
	write_file(*state, "modules.builtin", "kernel/drivers/block/loop.ko\n");
	says(*state, NO_UBLK_DRV);
	/* a line longer than the scan's buffer: its cut-off rest is no entry */
	n = snprintf(text, sizeof(text), "kernel/a.ko:");
	while (n < 511)
		text[n++] = ' ';
	snprintf(text + n, sizeof(text) - n, "kernel/drivers/block/ublk_drv.ko\n");
	write_file(*state, "modules.dep", text);
	says(*state, NO_UBLK_DRV);
}

static void no_driver_msg__no_files__no_ublk_drv(void **state)
{
	says(*state, NO_UBLK_DRV);
}

static void no_driver_msg__missing_directory__no_ublk_drv(void **state)
{
	const struct tree *t = *state;
	char missing[64];

	snprintf(missing, sizeof(missing), "%s/nowhere", t->root);
	assert_string_equal(ublk_no_driver_msg_at(missing, RELEASE), NO_UBLK_DRV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_driver_msg__in_modules_dep__modprobe,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(no_driver_msg__dkms_module__modprobe,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(no_driver_msg__builtin__modprobe,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(no_driver_msg__absent__no_ublk_drv,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(no_driver_msg__no_files__no_ublk_drv,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(no_driver_msg__missing_directory__no_ublk_drv,
						tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests_name("no_driver", tests, NULL, NULL);
}
