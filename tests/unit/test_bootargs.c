// SPDX-License-Identifier: MIT
/*
 * Description: the kernel command line's ublk.* parameters (lib/bootargs.c)
 * and the boot-args applet that prints them for initramfs/ublk-boot: the
 * valid forms, each message, the lines the script reads.
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
#include "bootargs.h"

#define OPTS "(ro, recovery[=MODE], direct-io, queues=N, depth=N, id=N)"

static struct ublk_boot_args args;

static int free_args(void **state)
{
	ublk_boot_free(&args);
	return 0;
}

#define NBD_OPTS "(ro, recovery[=MODE], queues=N, depth=N, id=N, timeout=S, " \
		 "reconnect-timeout=S|inf)"

/* the applet of device i is applet, its arguments want */
static void assert_cmd_args(unsigned int i, const char *applet, const char *want)
{
	char line[512];

	assert_true(i < args.nr_devs);
	assert_string_equal(ublk_boot_applet(&args.devs[i]), applet);
	assert_int_equal(ublk_boot_cmd_args(&args.devs[i], args.wait_s, line, sizeof(line)),
			 strlen(want));
	assert_string_equal(line, want);
}

#define assert_loop_args(i, want) assert_cmd_args(i, "loop", want)

/* cmdline is refused with exactly msg */
static void assert_refused(const char *cmdline, const char *msg)
{
	struct ublk_boot_args a;

	if (ublk_boot_parse(cmdline, &a) != -EINVAL)
		fail_msg("'%s' was not refused", cmdline);
	if (strcmp(a.err, msg))
		fail_msg("'%s': message '%s', want '%s'", cmdline, a.err, msg);
	ublk_boot_free(&a);
}

static void parse__no_ublk_parameter__nothing(void **state)
{
	const char *lines[] = { "", "\n", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n",
				"ublk.break ublk.loopy=x ublk.waiting=y xublk.loop=,zz" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		assert_int_equal(ublk_boot_parse(lines[i], &args), 0);
		assert_int_equal(args.nr_devs, 0);
		assert_int_equal(args.wait_s, UBLK_BOOT_DEF_WAIT);
		ublk_boot_free(&args);
	}
}

static void parse__every_option__loop_args(void **state)
{
	assert_int_equal(ublk_boot_parse("root=/dev/ublkb0 ublk.loop=/dev/vda,ro,direct-io,"
					 "recovery=reissue,queues=64,depth=4096,id=1048575 "
					 "ublk.wait=0\n", &args), 0);
	assert_int_equal(args.wait_s, 0);
	assert_int_equal(args.nr_devs, 1);
	assert_string_equal(args.devs[0].file, "/dev/vda");
	assert_loop_args(0, "--root-daemon --read-only --direct-io --recovery=reissue "
			 "--queues 64 --depth 4096 --number 1048575 -- /dev/vda");
}

static void parse__file_alone__root_daemon_only(void **state)
{
	assert_int_equal(ublk_boot_parse("ublk.loop=disk.img", &args), 0);
	assert_loop_args(0, "--root-daemon -- disk.img");
}

static void parse__recovery_modes__each_kept(void **state)
{
	assert_int_equal(ublk_boot_parse("ublk.loop=/a,recovery ublk.loop=/b,recovery=requeue "
					 "ublk.loop=/c,recovery=reissue "
					 "ublk.loop=/d,recovery=fail-io", &args), 0);
	assert_int_equal(args.nr_devs, 4);
	assert_loop_args(0, "--root-daemon --recovery -- /a");
	assert_loop_args(1, "--root-daemon --recovery=requeue -- /b");
	assert_loop_args(2, "--root-daemon --recovery=reissue -- /c");
	assert_loop_args(3, "--root-daemon --recovery=fail-io -- /d");
}

/* numbers at both ends of their range; a later ublk.wait= wins */
static void parse__limits__accepted(void **state)
{
	assert_int_equal(ublk_boot_parse("ublk.loop=/a,queues=1,depth=1,id=0 ublk.wait=7 "
					 "ublk.wait=3600", &args), 0);
	assert_int_equal(args.wait_s, 3600);
	assert_loop_args(0, "--root-daemon --queues 1 --depth 1 --number 0 -- /a");
}

static void parse__many_devices__in_order(void **state)
{
	char cmdline[4096] = "", name[32];
	unsigned int i;

	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "ublk.loop=/dev/d%u ", i);
		strcat(cmdline, name);
	}
	assert_int_equal(ublk_boot_parse(cmdline, &args), 0);
	assert_int_equal(args.nr_devs, 100);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "/dev/d%u", i);
		assert_string_equal(args.devs[i].file, name);
	}
}

/* the kernel's two ways of quoting a value with spaces */
static void parse__quoted_value__spaces_kept(void **state)
{
	assert_int_equal(ublk_boot_parse("\"ublk.loop=/mnt/my disk.img,ro\" "
					 "ublk.loop=\"/srv/a  b,id=2\"\tublk.wait=\"4\"",
					 &args), 0);
	assert_int_equal(args.nr_devs, 2);
	assert_int_equal(args.wait_s, 4);
	assert_loop_args(0, "--root-daemon --read-only -- /mnt/my disk.img");
	assert_loop_args(1, "--root-daemon --number 2 -- /srv/a  b");
}

/* what follows a bare -- is init's, as for the kernel */
static void parse__after_double_dash__ignored(void **state)
{
	assert_int_equal(ublk_boot_parse("ublk.loop=/a -- ublk.loop=/b,bogus ublk.wait=x",
					 &args), 0);
	assert_int_equal(args.nr_devs, 1);
	assert_int_equal(args.wait_s, UBLK_BOOT_DEF_WAIT);
}

/* ublk-boot splits at the first " -- ": the file may hold one, and start with - */
static void loop_args__odd_file__last_and_verbatim(void **state)
{
	assert_int_equal(ublk_boot_parse("\"ublk.loop=-h -- $(reboot) `x` *,ro\"", &args), 0);
	assert_loop_args(0, "--root-daemon --read-only -- -h -- $(reboot) `x` *");
}

static void loop_args__small_buffer__enospc(void **state)
{
	char line[32];

	assert_int_equal(ublk_boot_parse("ublk.loop=/dev/vda,recovery=fail-io", &args), 0);
	assert_int_equal(ublk_boot_cmd_args(&args.devs[0], 10, line, sizeof(line)), -ENOSPC);
	assert_int_equal(ublk_boot_format(&args.devs[0], line, 10), -ENOSPC);
}

/* format gives a parameter that parses back to the same device */
static void format__parses_back__same(void **state)
{
	struct ublk_boot_args again;
	char param[256];

	assert_int_equal(ublk_boot_parse("\"ublk.loop=/a b,direct-io,id=9,recovery\"", &args), 0);
	assert_int_equal(ublk_boot_format(&args.devs[0], param, sizeof(param)), 40);
	assert_string_equal(param, "\"ublk.loop=/a b,direct-io,recovery,id=9\"");
	assert_int_equal(ublk_boot_parse(param, &again), 0);
	assert_int_equal(again.nr_devs, 1);
	assert_string_equal(again.devs[0].file, "/a b");
	assert_true(again.devs[0].direct_io && again.devs[0].id == 9 &&
		    again.devs[0].recovery == UBLK_BOOT_RECOVERY && !again.devs[0].read_only);
	ublk_boot_free(&again);
}

/* the shell version's messages, word for word */
static void parse__bad_option__message(void **state)
{
	assert_refused("ublk.loop=/dev/vda,bogus",
		       "ublk.loop=/dev/vda,bogus: unknown option 'bogus' " OPTS);
	assert_refused("ublk.loop=/dev/vda,recovery=sometimes",
		       "ublk.loop=/dev/vda,recovery=sometimes: unknown option "
		       "'recovery=sometimes' " OPTS);
	assert_refused("ublk.loop=/a,RO", "ublk.loop=/a,RO: unknown option 'RO' " OPTS);
	assert_refused("ublk.loop=/a,queues", "ublk.loop=/a,queues: unknown option 'queues' " OPTS);
	/* an empty option, trailing comma included (the shell let that one pass) */
	assert_refused("ublk.loop=/a,,ro", "ublk.loop=/a,,ro: unknown option '' " OPTS);
	assert_refused("ublk.loop=/a,ro,", "ublk.loop=/a,ro,: unknown option '' " OPTS);
}

static void parse__not_a_number__message(void **state)
{
	assert_refused("ublk.loop=/dev/vda,queues=two",
		       "ublk.loop=/dev/vda,queues=two: 'queues=two' is not a number");
	assert_refused("ublk.loop=/a,depth=", "ublk.loop=/a,depth=: 'depth=' is not a number");
	assert_refused("ublk.loop=/a,id=-1", "ublk.loop=/a,id=-1: 'id=-1' is not a number");
	assert_refused("ublk.loop=/a,queues=0x2",
		       "ublk.loop=/a,queues=0x2: 'queues=0x2' is not a number");
}

static void parse__out_of_range__message(void **state)
{
	assert_refused("ublk.loop=/a,queues=0",
		       "ublk.loop=/a,queues=0: 'queues=0' is out of range (1-64)");
	assert_refused("ublk.loop=/a,queues=65",
		       "ublk.loop=/a,queues=65: 'queues=65' is out of range (1-64)");
	assert_refused("ublk.loop=/dev/vda,depth=99999",
		       "ublk.loop=/dev/vda,depth=99999: 'depth=99999' is out of range (1-4096)");
	assert_refused("ublk.loop=/a,id=1048576",
		       "ublk.loop=/a,id=1048576: 'id=1048576' is out of range (0-1048575)");
	assert_refused("ublk.loop=/a,id=99999999999999999999999",
		       "ublk.loop=/a,id=99999999999999999999999: 'id=99999999999999999999999' "
		       "is out of range (0-1048575)");
}

static void parse__no_file__message(void **state)
{
	assert_refused("ublk.loop=", "ublk.loop=: no device or file");
	assert_refused("ublk.loop=,ro", "ublk.loop=,ro: no device or file");
	assert_refused("ublk.loop", "ublk.loop=: no device or file");
	assert_refused("ublk.loop=\"\"", "ublk.loop=: no device or file");
}

static void parse__bad_wait__message(void **state)
{
	assert_refused("ublk.wait=x", "ublk.wait=x: not a number of seconds");
	assert_refused("ublk.wait=", "ublk.wait=: not a number of seconds");
	assert_refused("ublk.wait=-1", "ublk.wait=-1: not a number of seconds");
	assert_refused("ublk.wait=3601", "ublk.wait=3601: more than 3600 seconds");
}

static void parse__stray_quote__message(void **state)
{
	assert_refused("ublk.loop=\"/a b\",ro",
		       "ublk.loop=\"/a b\",ro: double quotes go around the whole value only");
	assert_refused("ublk.loop=/a\"b",
		       "ublk.loop=/a\"b: double quotes go around the whole value only");
	/* not closed: the newline /proc/cmdline ends with is not taken in */
	assert_refused("ublk.loop=\"/a b,ro\n",
		       "ublk.loop=\"/a b,ro: double quotes go around the whole value only");
	assert_refused("\"ublk.wait=1",
		       "ublk.wait=1: double quotes go around the whole value only");
}

/* quoted, a tab or newline could reach the file name, and break a line */
static void parse__control_character__refused_and_not_shown(void **state)
{
	assert_refused("ublk.loop=\"/a\tb\"",
		       "ublk.loop=/a?b: control characters in the file name");
	assert_refused("ublk.loop=\"/a\nb,ro\"",
		       "ublk.loop=/a?b,ro: control characters in the file name");
	assert_refused("ublk.loop=\"/a,r\no\"", "ublk.loop=/a,r?o: unknown option 'r?o' " OPTS);
	assert_refused("ublk.loop=/a\x7f", "ublk.loop=/a?: control characters in the file name");
}

/* the first bad value is the one reported */
static void parse__two_bad__first_reported(void **state)
{
	assert_refused("ublk.loop=/a ublk.wait=x ublk.loop=/b,bogus",
		       "ublk.wait=x: not a number of seconds");
}

static void parse__long_value__message_cut(void **state)
{
	char cmdline[1024] = "ublk.loop=/", *end;
	struct ublk_boot_args a;

	memset(cmdline + 11, 'x', 800);
	strcpy(cmdline + 811, ",bogus");
	assert_int_equal(ublk_boot_parse(cmdline, &a), -EINVAL);
	end = strstr(a.err, "...: unknown option 'bogus' " OPTS);
	assert_non_null(end);
	assert_true(strlen(a.err) < 256);
	ublk_boot_free(&a);
}

/* ---- the applet ---- */

static char file[64];

static int make_file(void **state)
{
	int fd;

	strcpy(file, "/tmp/ublkctl-bootargs-XXXXXX");
	fd = mkstemp(file);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int remove_file(void **state)
{
	unlink(file);
	return 0;
}

/* ublk.nbd=: recovery and reconnect-timeout=inf by default, --wait from ublk.wait */
static void parse__nbd_defaults__recovery_inf_wait(void **state)
{
	assert_int_equal(ublk_boot_parse("ip=dhcp ublk.nbd=nbd://server/root ublk.wait=20 "
					 "root=/dev/ublkb0", &args), 0);
	assert_int_equal(args.nr_devs, 1);
	assert_int_equal(args.devs[0].target, UBLK_BOOT_NBD);
	assert_cmd_args(0, "nbd", "--root-daemon --recovery --reconnect-timeout inf "
			"--wait 20 -- nbd://server/root");
}

static void parse__nbd_every_option__nbd_args(void **state)
{
	assert_int_equal(ublk_boot_parse("ublk.nbd=nbd+unix:///e?socket=/run/s,recovery=reissue,"
					 "queues=2,depth=64,timeout=5,reconnect-timeout=60,ro,"
					 "id=3", &args), 0);
	assert_cmd_args(0, "nbd", "--root-daemon --read-only --recovery=reissue --queues 2 "
			"--depth 64 --number 3 --timeout 5 --reconnect-timeout 60 --wait 10 "
			"-- nbd+unix:///e?socket=/run/s");
}

/* numbered in order with ublk.loop= */
static void parse__nbd_and_loop__one_list(void **state)
{
	assert_int_equal(ublk_boot_parse("ublk.loop=/a ublk.nbd=[::1]:10809 ublk.loop=/b,ro "
					 "ublk.nbd=h,reconnect-timeout=inf", &args), 0);
	assert_int_equal(args.nr_devs, 4);
	assert_loop_args(0, "--root-daemon -- /a");
	assert_cmd_args(1, "nbd", "--root-daemon --recovery --reconnect-timeout inf --wait 10 "
			"-- [::1]:10809");
	assert_loop_args(2, "--root-daemon --read-only -- /b");
	assert_cmd_args(3, "nbd", "--root-daemon --recovery --reconnect-timeout inf --wait 10 "
			"-- h");
}

static void parse__nbd_bad__message(void **state)
{
	assert_refused("ublk.nbd=", "ublk.nbd=: no URI");
	assert_refused("ublk.nbd=,ro", "ublk.nbd=,ro: no URI");
	assert_refused("ublk.nbd=nbd://h,direct-io",
		       "ublk.nbd=nbd://h,direct-io: unknown option 'direct-io' " NBD_OPTS);
	assert_refused("ublk.loop=/a,timeout=3",
		       "ublk.loop=/a,timeout=3: unknown option 'timeout=3' " OPTS);
	assert_refused("ublk.nbd=h,timeout=x", "ublk.nbd=h,timeout=x: 'timeout=x' is not a number");
	assert_refused("ublk.nbd=h,timeout=86401",
		       "ublk.nbd=h,timeout=86401: 'timeout=86401' is out of range (0-86400)");
	assert_refused("ublk.nbd=h,reconnect-timeout=forever",
		       "ublk.nbd=h,reconnect-timeout=forever: 'reconnect-timeout=forever' "
		       "is not a number");
	assert_refused("ublk.nbd=h,queues=0", "ublk.nbd=h,queues=0: 'queues=0' is out of range (1-64)");
}

/* the URI is checked as ublkctl nbd checks it, before anything starts */
static void parse__nbd_bad_uri__message_from_the_uri_parser(void **state)
{
	struct ublk_boot_args a;

	assert_int_equal(ublk_boot_parse("ublk.nbd=nbds://h/e", &a), -EINVAL);
	assert_non_null(strstr(a.err, "ublk.nbd=nbds://h/e: "));
	assert_non_null(strstr(a.err, "TLS"));
	ublk_boot_free(&a);
	assert_int_equal(ublk_boot_parse("ublk.nbd=nbd://[::1/e,ro", &a), -EINVAL);
	assert_non_null(strstr(a.err, "ublk.nbd=nbd://[::1/e,ro: "));
	ublk_boot_free(&a);
	assert_int_equal(ublk_boot_parse("ublk.nbd=nbd://h:99999", &a), -EINVAL);
	assert_non_null(strstr(a.err, "ublk.nbd=nbd://h:99999: "));
	ublk_boot_free(&a);
}

static void format__nbd_parses_back__same(void **state)
{
	struct ublk_boot_args again;
	char param[256];

	assert_int_equal(ublk_boot_parse("ublk.nbd=nbd://h/x,timeout=0,reconnect-timeout=9,id=1",
					 &args), 0);
	assert_true(ublk_boot_format(&args.devs[0], param, sizeof(param)) > 0);
	assert_string_equal(param, "ublk.nbd=nbd://h/x,recovery,id=1,timeout=0,reconnect-timeout=9");
	assert_int_equal(ublk_boot_parse(param, &again), 0);
	assert_int_equal(again.devs[0].target, UBLK_BOOT_NBD);
	assert_int_equal(again.devs[0].timeout, 0);
	assert_int_equal(again.devs[0].reconnect_timeout, 9);
	assert_int_equal(again.devs[0].id, 1);
	ublk_boot_free(&again);
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* boot-args ARGS (NULL-terminated); stdout into out, stderr into err */
static int run(char **argv, char *out, char *err, size_t len)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int saved_out = dup(1), saved_err = dup(2), argc = 0, ret;
	size_t n;

	assert_true(o && e && saved_out >= 0 && saved_err >= 0);
	while (argv[argc])
		argc++;
	fflush(NULL);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	optind = 1;
	ret = finish(boot_args_main(argc, argv));
	fflush(NULL);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(o);
	rewind(e);
	n = fread(out, 1, len - 1, o);
	out[n] = 0;
	n = fread(err, 1, len - 1, e);
	err[n] = 0;
	fclose(o);
	fclose(e);
	return ret;
}

static void applet__file__wait_then_loop_lines(void **state)
{
	const char *text = "BOOT_IMAGE=/vmlinuz ublk.loop=/dev/vda,recovery=reissue,queues=2 "
			   "root=/dev/ublkb0 \"ublk.loop=/a b\" ublk.wait=3\n";
	char out[512], err[512];

	write_file(text, strlen(text));
	assert_int_equal(run((char *[]){ "boot-args", file, NULL }, out, err, sizeof(out)),
			 EXIT_OK);
	assert_string_equal(out, "wait 3\n"
			    "loop --root-daemon --recovery=reissue --queues 2 -- /dev/vda\n"
			    "loop --root-daemon -- /a b\n");
	assert_string_equal(err, "");
	text = "ublk.nbd=nbd://h/e,ro ublk.wait=4\n";
	write_file(text, strlen(text));
	assert_int_equal(run((char *[]){ "boot-args", file, NULL }, out, err, sizeof(out)),
			 EXIT_OK);
	assert_string_equal(out, "wait 4\nnbd --root-daemon --read-only --recovery "
			    "--reconnect-timeout inf --wait 4 -- nbd://h/e\n");
}

static void applet__no_device__wait_line_only(void **state)
{
	char out[512], err[512];

	write_file("root=/dev/sda\n", 14);
	assert_int_equal(run((char *[]){ "boot-args", file, NULL }, out, err, sizeof(out)),
			 EXIT_OK);
	assert_string_equal(out, "wait 10\n");
}

/* a bad value: exit 1, its line on stderr, nothing on stdout */
static void applet__bad_value__one_line_nothing_printed(void **state)
{
	const char *text = "ublk.loop=/dev/vda ublk.loop=/dev/vda,bogus\n";
	char out[512], err[512];

	write_file(text, strlen(text));
	assert_int_equal(run((char *[]){ "boot-args", file, NULL }, out, err, sizeof(out)),
			 EXIT_FAIL);
	assert_string_equal(out, "");
	assert_string_equal(err, "ublkctl: ublk.loop=/dev/vda,bogus: unknown option 'bogus' "
			    OPTS "\n");
}

static void applet__unreadable__one_line(void **state)
{
	char out[512], err[512], big[70000];

	assert_int_equal(run((char *[]){ "boot-args", "/dev/null", NULL }, out, err,
			     sizeof(out)), EXIT_FAIL);
	assert_string_equal(err, "ublkctl: /dev/null: not a regular file\n");
	assert_int_equal(run((char *[]){ "boot-args", "/nonexistent/cmdline", NULL }, out, err,
			     sizeof(out)), EXIT_FAIL);
	assert_string_equal(err, "ublkctl: /nonexistent/cmdline: No such file or directory\n");
	write_file("ublk.loop=/a\0ublk.loop=/b", 25);
	assert_int_equal(run((char *[]){ "boot-args", file, NULL }, out, err, sizeof(out)),
			 EXIT_FAIL);
	assert_non_null(strstr(err, ": holds a NUL byte\n"));
	memset(big, ' ', sizeof(big));
	write_file(big, sizeof(big));
	assert_int_equal(run((char *[]){ "boot-args", file, NULL }, out, err, sizeof(out)),
			 EXIT_FAIL);
	assert_non_null(strstr(err, ": longer than 65536 bytes\n"));
	assert_string_equal(out, "");
}

static void applet__usage__exit_2_or_help(void **state)
{
	char out[4096], err[512];

	assert_int_equal(run((char *[]){ "boot-args", "a", "b", NULL }, out, err, sizeof(out)),
			 EXIT_USAGE);
	assert_string_equal(err, "ublkctl: unexpected argument 'b' (see ublkctl --help)\n");
	assert_int_equal(run((char *[]){ "boot-args", "-x", NULL }, out, err, sizeof(out)),
			 EXIT_USAGE);
	assert_string_equal(err, "ublkctl: unknown option '-x' (see ublkctl --help)\n");
	assert_int_equal(run((char *[]){ "boot-args", "--help", NULL }, out, err, sizeof(out)),
			 EXIT_OK);
	assert_non_null(strstr(out, "usage: ublkctl boot-args [FILE]\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(parse__no_ublk_parameter__nothing, free_args),
		cmocka_unit_test_teardown(parse__every_option__loop_args, free_args),
		cmocka_unit_test_teardown(parse__nbd_defaults__recovery_inf_wait, free_args),
		cmocka_unit_test_teardown(parse__nbd_every_option__nbd_args, free_args),
		cmocka_unit_test_teardown(parse__nbd_and_loop__one_list, free_args),
		cmocka_unit_test(parse__nbd_bad__message),
		cmocka_unit_test(parse__nbd_bad_uri__message_from_the_uri_parser),
		cmocka_unit_test_teardown(format__nbd_parses_back__same, free_args),
		cmocka_unit_test_teardown(parse__file_alone__root_daemon_only, free_args),
		cmocka_unit_test_teardown(parse__recovery_modes__each_kept, free_args),
		cmocka_unit_test_teardown(parse__limits__accepted, free_args),
		cmocka_unit_test_teardown(parse__many_devices__in_order, free_args),
		cmocka_unit_test_teardown(parse__quoted_value__spaces_kept, free_args),
		cmocka_unit_test_teardown(parse__after_double_dash__ignored, free_args),
		cmocka_unit_test_teardown(loop_args__odd_file__last_and_verbatim, free_args),
		cmocka_unit_test_teardown(loop_args__small_buffer__enospc, free_args),
		cmocka_unit_test_teardown(format__parses_back__same, free_args),
		cmocka_unit_test(parse__bad_option__message),
		cmocka_unit_test(parse__not_a_number__message),
		cmocka_unit_test(parse__out_of_range__message),
		cmocka_unit_test(parse__no_file__message),
		cmocka_unit_test(parse__bad_wait__message),
		cmocka_unit_test(parse__stray_quote__message),
		cmocka_unit_test(parse__control_character__refused_and_not_shown),
		cmocka_unit_test(parse__two_bad__first_reported),
		cmocka_unit_test(parse__long_value__message_cut),
		cmocka_unit_test_setup_teardown(applet__file__wait_then_loop_lines, make_file,
						remove_file),
		cmocka_unit_test_setup_teardown(applet__no_device__wait_line_only, make_file,
						remove_file),
		cmocka_unit_test_setup_teardown(applet__bad_value__one_line_nothing_printed,
						make_file, remove_file),
		cmocka_unit_test_setup_teardown(applet__unreadable__one_line, make_file,
						remove_file),
		cmocka_unit_test(applet__usage__exit_2_or_help),
	};

	return cmocka_run_group_tests_name("bootargs", tests, NULL, NULL);
}
