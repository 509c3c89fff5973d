// SPDX-License-Identifier: MIT
/*
 * Description: a device's lock excludes a second holder (another process
 * or, OFD locks being per open file, this one) until it is released; the
 * state directory is refused when it is a symlink, not ours or writable by
 * others; a state file is never written through a planted link.
 */
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
#include "fake_ctrl.h"

static char dir[64];

static int make_dir(void **state)
{
	return fake_state_dir(dir, sizeof(dir), "lock");
}

static void lock__second_holder_waits_then_gives_up(void **state)
{
	int a = ublk_lock_dev(3, 0), b;

	assert_true(a >= 0);
	assert_int_equal(ublk_lock_dev(3, 50), -EBUSY);
	b = ublk_lock_dev(4, 50);	/* another device is free */
	assert_true(b >= 0);
	ublk_unlock(a);
	a = ublk_lock_dev(3, 50);
	assert_true(a >= 0);
	ublk_unlock(a);
	ublk_unlock(b);
}

static void lock__held_by_another_process(void **state)
{
	int a = ublk_lock_dev(7, 0), p[2];
	char rc;

	assert_true(a >= 0);
	assert_int_equal(pipe(p), 0);
	if (fork() == 0) {
		rc = ublk_lock_dev(7, 50) == -EBUSY && ublk_lock_dev(8, 50) >= 0;
		write(p[1], &rc, 1);
		_exit(0);
	}
	assert_int_equal(read(p[0], &rc, 1), 1);
	assert_true(rc);
	ublk_unlock(a);
	close(p[0]);
	close(p[1]);
}

/* an unsafe directory: refused for locks and state files alike */
static void unsafe_dir(const char *path, int want)
{
	struct ublk_state st;

	memset(&st, 0, sizeof(st));
	setenv("UBLK_STATE_DIR", path, 1);
	assert_int_equal(ublk_lock_dev(1, 0), want);
	assert_int_equal(ublk_state_write(1, &st), want);
	setenv("UBLK_STATE_DIR", dir, 1);
}

static void state_dir__symlink_refused(void **state)
{
	char link[96];

	snprintf(link, sizeof(link), "%s-link", dir);
	assert_int_equal(symlink(dir, link), 0);
	unsafe_dir(link, -ENOTDIR);
	unlink(link);
}

static void state_dir__writable_by_others_refused(void **state)
{
	char sub[96];

	snprintf(sub, sizeof(sub), "%s/open", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	unsafe_dir(sub, -EPERM);
	assert_int_equal(chmod(sub, 0755), 0);	/* readable by others is fine */
	setenv("UBLK_STATE_DIR", sub, 1);
	assert_true(ublk_lock_dev(1, 0) >= 0);
	setenv("UBLK_STATE_DIR", dir, 1);
}

/* the old fixed temp name, planted as a link to a victim file: untouched */
static void state_write__planted_link_not_followed(void **state)
{
	char victim[96], planted[96], text[8] = "";
	struct ublk_state st;
	FILE *f;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(planted, sizeof(planted), "%s/2.tmp", dir);
	f = fopen(victim, "w");
	fputs("keep", f);
	fclose(f);
	assert_int_equal(symlink(victim, planted), 0);
	memset(&st, 0, sizeof(st));
	ublk_dev_opts_init(&st.opts);
	st.opts.dev_id = 2;
	strcpy(st.opts.target, "null");
	st.opts.size = 1 << 20;
	st.pid = getpid();
	assert_int_equal(ublk_state_write(2, &st), 0);
	f = fopen(victim, "r");
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "keep");
	assert_int_equal(ublk_state_read(2, &st), 0);
}

/* what a server killed in the middle of a write leaves: del removes it */
static void state_remove__temp_files_of_a_killed_writer(void **state)
{
	char tmp[96], other[96];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/.6.123.0.tmp", dir);
	snprintf(other, sizeof(other), "%s/.16.123.0.tmp", dir);
	f = fopen(tmp, "w");
	fclose(f);
	f = fopen(other, "w");
	fclose(f);
	assert_int_equal(ublk_state_remove(6), 0);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	unlink(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lock__second_holder_waits_then_gives_up),
		cmocka_unit_test(lock__held_by_another_process),
		cmocka_unit_test(state_dir__symlink_refused),
		cmocka_unit_test(state_dir__writable_by_others_refused),
		cmocka_unit_test(state_write__planted_link_not_followed),
		cmocka_unit_test(state_remove__temp_files_of_a_killed_writer),
	};

	return cmocka_run_group_tests_name("lock", tests, make_dir, NULL);
}
