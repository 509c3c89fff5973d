// SPDX-License-Identifier: MIT
/*
 * Description: JSON escaping gives valid JSON for any bytes, whole or not
 * at all; a server keeps none of its caller's descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ublk.h"

static void escaped_is(const char *in, const char *want)
{
	char buf[256];

	assert_int_equal(ublk_json_escape(in, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void json_escape__specials_and_controls__escaped(void **state)
{
	escaped_is("/srv/disk one.img", "/srv/disk one.img");
	escaped_is("a\"b\\c", "a\\\"b\\\\c");
	escaped_is("l1\nl2\t\x01\x1f\x7f", "l1\\u000al2\\u0009\\u0001\\u001f\\u007f");
}

static void json_escape__valid_utf8__kept(void **state)
{
	escaped_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
		   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
}

/* each byte that starts no well-formed character becomes U+FFFD */
static void json_escape__invalid_utf8__replaced(void **state)
{
	escaped_is("a\xff" "b", "a\\ufffdb");
	escaped_is("\x80", "\\ufffd");				/* lone continuation */
	escaped_is("x\xc3", "x\\ufffd");			/* cut at the end */
	escaped_is("\xc3" "A", "\\ufffdA");			/* cut by ASCII */
	escaped_is("\xc0\xaf", "\\ufffd\\ufffd");		/* overlong '/' */
	escaped_is("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");	/* overlong, 3 bytes */
	escaped_is("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");	/* surrogate */
	escaped_is("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* > U+10FFFF */
	escaped_is("\xf5\x80", "\\ufffd\\ufffd");
}

/* A buffer too small: terminated after the last whole character. */
static void json_escape__no_room__whole_characters_terminated(void **state)
{
	char buf[16];

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(ublk_json_escape("ab\x01", buf, 6), -ENOSPC);
	assert_memory_equal(buf, "ab", 3);	/* never half of \u0001 */

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(ublk_json_escape("a\xe2\x82\xac", buf, 4), -ENOSPC);
	assert_memory_equal(buf, "a", 2);	/* never half of the euro sign */

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(ublk_json_escape("a\"", buf, 3), -ENOSPC);
	assert_memory_equal(buf, "a", 2);

	assert_int_equal(ublk_json_escape("", buf, 1), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(ublk_json_escape("a", buf, 0), -ENOSPC);
}

/* the documented worst case is enough */
static void json_escape__worst_case__fits(void **state)
{
	char in[64], out[UBLK_JSON_ESCAPED_LEN(sizeof(in) - 1)];

	memset(in, 0x01, sizeof(in) - 1);
	in[sizeof(in) - 1] = 0;
	assert_int_equal(ublk_json_escape(in, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

#define FD_CHECK_MAX	64

/* In a child: every descriptor from first up closed? Exit 0 if so. */
static void exit_if_closed_from(int first)
{
	int fd;

	for (fd = first; fd < FD_CHECK_MAX; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			_exit(10 + fd);
	_exit(0);
}

/* Runs close_fn in a child holding a pipe's write end (20) and more. */
static void in_child_with_fds(void (*close_fn)(int keep))
{
	int p[2], status, i;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (i = 0; i < 8; i++)
			open("/dev/null", O_RDONLY);
		dup2(p[1], 20);
		close_fn(20);
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(p[0]);
}

static void close_keeping(int keep)
{
	int fd = ublk_close_inherited(keep);

	/* the kept one is 3, close-on-exec, and still the pipe */
	if (fd != 3 || !(fcntl(3, F_GETFD) & FD_CLOEXEC) || write(3, "", 0) < 0)
		_exit(1);
	exit_if_closed_from(4);
}

static void close_by_walk(int keep)
{
	if (ublk_close_from_walk(3))
		_exit(1);
	exit_if_closed_from(3);
}

/* `flock L ublkctl loop f` once held L for the device's life */
static void close_inherited__only_kept_descriptor_left(void **state)
{
	in_child_with_fds(close_keeping);
}

/* close_range's fallback for kernels before 5.9 */
static void close_from_walk__all_closed(void **state)
{
	in_child_with_fds(close_by_walk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_escape__specials_and_controls__escaped),
		cmocka_unit_test(json_escape__valid_utf8__kept),
		cmocka_unit_test(json_escape__invalid_utf8__replaced),
		cmocka_unit_test(json_escape__no_room__whole_characters_terminated),
		cmocka_unit_test(json_escape__worst_case__fits),
		cmocka_unit_test(close_inherited__only_kept_descriptor_left),
		cmocka_unit_test(close_from_walk__all_closed),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
