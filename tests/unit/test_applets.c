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
	return fake_state_dir(dir, sizeof(dir), "applets");
}

static int reset(void **state)
{
	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 0, .nr_hw_queues = 1,
						    .queue_depth = 128,
						    .state = UBLK_S_DEV_LIVE };
	fake_stopped = fake_deleted = fake_spawned = 0;
	fake_devs = 1;
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

typedef int (*applet_fn)(int argc, char **argv);

/* fn on args (NULL-terminated, args[0] the applet), its output on fd into buf */
static int run_capture(int fd, applet_fn fn, char **args, char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(fd), argc = 0, ret;
	size_t n;

	assert_non_null(tmp);
	while (args[argc])
		argc++;
	fflush(NULL);
	dup2(fileno(tmp), fd);
	optind = 1;
	ret = fn(argc, args);
	fflush(NULL);
	dup2(saved, fd);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
	return ret;
}

/* A usage error: exit 2 and one line naming what, whatever getopt saw. */
static void one_line_error(applet_fn fn, char **args, const char *what)
{
	char err[1024];

	if (run_capture(2, fn, args, err, sizeof(err)) != EXIT_USAGE)
		fail_msg("%s %s: not a usage error", args[0], args[1]);
	if (!strchr(err, '\n') || strchr(err, '\n')[1] || !strstr(err, what))
		fail_msg("%s %s: '%s', not one line naming %s", args[0], args[1], err, what);
}

/* getopt's own message came first: 2 or 3 lines, prefixed "add:" by ublk add */
static void bad_option__every_applet__one_line(void **state)
{
	one_line_error(add_main, (char *[]){ "add", "-x", NULL }, "'-x'");
	one_line_error(add_main, (char *[]){ "add", "-t", "null", "--bogus", NULL }, "'--bogus'");
	one_line_error(add_main, (char *[]){ "add", "-t", "null", "-n", NULL }, "'-n'");
	one_line_error(add_main, (char *[]){ "add", "--number", NULL }, "'--number'");
	one_line_error(add_main, (char *[]){ "add", "--direct-io=1", NULL }, "'--direct-io=1'");
	one_line_error(loop_main, (char *[]){ "loop", "-t", "null", NULL }, "'-t'");
	one_line_error(null_main, (char *[]){ "null", "-x", NULL }, "'-x'");
	one_line_error(del_main, (char *[]){ "del", "-x", NULL }, "'-x'");
	one_line_error(del_main, (char *[]){ "del", "-n", NULL }, "'-n'");
	one_line_error(list_main, (char *[]){ "list", "--bogus", NULL }, "'--bogus'");
	one_line_error(recover_main, (char *[]){ "recover", "-x", NULL }, "'-x'");
	one_line_error(ublk_compat_main, (char *[]){ "ublk", "add", "-x", NULL }, "'-x'");
	one_line_error(ublk_compat_main, (char *[]){ "ublk", "add", "-t", NULL }, "'-t'");
	one_line_error(ublk_compat_main, (char *[]){ "ublk", "list", "-x", NULL }, "'-x'");
	one_line_error(ublk_compat_main, (char *[]){ "ublk", "del", "--bogus", NULL }, "'--bogus'");
	/* and the applets' own usage errors */
	one_line_error(add_main, (char *[]){ "add", "-t", "bogus", NULL }, "'bogus'");
	one_line_error(del_main, (char *[]){ "del", NULL }, "-a");
}

#define MANY_DEVS	300

/* list, del -a and recover -a once stopped at 256 devices */
static void list__many_devices__all_shown(void **state)
{
	static char out[MANY_DEVS * 256];
	unsigned int n = 0;
	char *p;

	fake_devs = MANY_DEVS;
	assert_int_equal(run_capture(1, list_main, (char *[]){ "list", "-J", NULL },
				     out, sizeof(out)), EXIT_OK);
	for (p = out; (p = strstr(p, "{\"id\":")); p++)
		n++;
	assert_int_equal(n, MANY_DEVS);
}

static void del_all__many_devices__all_deleted(void **state)
{
	fake_devs = MANY_DEVS;
	assert_int_equal(del_main(2, (char *[]){ "del", "-a", NULL }), EXIT_OK);
	assert_int_equal(fake_stopped, MANY_DEVS);
}

static void recover_all__many_devices__all_served(void **state)
{
	struct ublk_state st;
	unsigned int id;

	fake_devs = MANY_DEVS;
	fake_info.state = UBLK_S_DEV_QUIESCED;
	fake_info.flags = UBLK_F_USER_RECOVERY;
	memset(&st, 0, sizeof(st));
	ublk_dev_opts_init(&st.opts);
	strcpy(st.opts.target, "null");
	st.opts.size = 1 << 20;
	st.pid = 1;
	for (id = 0; id < MANY_DEVS; id++) {
		st.opts.dev_id = id;
		assert_int_equal(ublk_state_write(id, &st), 0);
	}
	assert_int_equal(recover_main(2, (char *[]){ "recover", "-a", NULL }), EXIT_OK);
	assert_int_equal(fake_spawned, MANY_DEVS);
	for (id = 0; id < MANY_DEVS; id++)
		ublk_state_remove(id);
}

/* ublk add -g 1: the server is asked for NEED_GET_DATA, nothing else is */
static void ublk_add_g1__need_get_data_asked(void **state)
{
	fake_info.flags = UBLK_F_NEED_GET_DATA;
	assert_int_equal(ublk((char *[]){ "add", "-t", "null", "-g", "1", "--quiet", NULL }),
			 EXIT_OK);
	assert_int_equal(fake_spawned, 1);
	assert_true(fake_spawned_opts.flags & UBLK_F_NEED_GET_DATA);
	assert_int_equal(fake_deleted, 0);
	optind = 1;
	assert_int_equal(ublk((char *[]){ "add", "-t", "null", "-g", "0", "--quiet", NULL }),
			 EXIT_OK);
	assert_false(fake_spawned_opts.flags & UBLK_F_NEED_GET_DATA);
}

/* ublksrv's nbd options become the URI the nbd target serves */
static void ublk_add_nbd__options_make_the_uri(void **state)
{
	assert_int_equal(ublk((char *[]){ "add", "-t", "nbd", "--host", "127.0.0.1", "--port",
				       "10900", "--export_name", "disk 1", "--quiet", NULL }),
			 EXIT_OK);
	assert_string_equal(fake_spawned_opts.target, "nbd");
	assert_string_equal(fake_spawned_opts.file, "nbd://127.0.0.1:10900/disk%201");
	optind = 1;
	assert_int_equal(ublk((char *[]){ "add", "-t", "nbd", "--unix", "/run/n.sock",
				       "--read_only", "--quiet", NULL }), EXIT_OK);
	assert_string_equal(fake_spawned_opts.file, "nbd+unix:///?socket=/run/n.sock");
	assert_true(fake_spawned_opts.read_only);
	optind = 1;
	assert_int_equal(ublk((char *[]){ "add", "-t", "nbd", "--port", "1", "--quiet", NULL }),
			 EXIT_USAGE);
}

/* ublk add -q N: ublksrv takes any N (the driver caps it at the CPUs); we serve 64 */
static void ublk_add_many_queues__capped_at_64(void **state)
{
	assert_int_equal(ublk((char *[]){ "add", "-t", "null", "-q", "1000", "--quiet", NULL }),
			 EXIT_OK);
	assert_int_equal(fake_spawned_opts.nr_queues, UBLK_MAX_QUEUES);
	optind = 1;
	assert_int_equal(ublk((char *[]){ "add", "-t", "null", "-q", "3", "--quiet", NULL }),
			 EXIT_OK);
	assert_int_equal(fake_spawned_opts.nr_queues, 3);
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(ublk_del__many_ids__all_deleted),
		T(bad_option__every_applet__one_line),
		T(list__many_devices__all_shown),
		T(del_all__many_devices__all_deleted),
		T(recover_all__many_devices__all_served),
		T(ublk_add_g1__need_get_data_asked),
		T(ublk_add_many_queues__capped_at_64),
		T(ublk_add_nbd__options_make_the_uri),
	};

	return cmocka_run_group_tests_name("applets", tests, make_dir, NULL);
}
