// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: every applet's command line, with the driver faked by
 * tests/unit/fake_ctrl.c (devices 0 and 1, QUIESCED, added with
 * --recovery; device 0 has a state file). The input is argv, words
 * separated by NUL bytes; the first names an applet of applets/applets.h,
 * or `ublk` for ublksrv's front end; anything else is the dispatcher's
 * 127. Checks: the exit status is 0, 1, 2 or 127; no sanitizer report,
 * no leak.
 *
 * Nothing real is touched: fake_ctrl.c replaces /dev/ublk-control and
 * the server start (no fork), so no device is made; the pids the fake
 * devices and their state file name are above any pid_max, so teardown.c
 * finds no process to wait for or signal (add --foreground forwards its
 * signals to such a pid too). add, loop and recover only stat() and
 * realpath() the files they are given. boot-args is the one applet that
 * opens a file: it gets only names without a '/', and runs in the state
 * directory, where they resolve; or it reads /proc/cmdline.
 *
 * FUZZ_VERBOSE=1 build/fuzz/fuzz_cmdline FILE... shows each input's
 * output and exit status.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../applets/applets.h"
#include "../unit/fake_ctrl.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

#define MAX_ARGS	64

struct applet {
	const char *name;
	int (*main)(int argc, char **argv);
};

static const struct applet applets[] = {
#define APPLET(name, entry, desc) { #name, entry },
#include "../../applets/applets.h"
#undef APPLET
	{ "ublk", ublk_compat_main },
};

static char dir[64];
static FILE *devnull;
static int dir_fd, cwd_fd;	/* the state directory, where we were started */
static bool verbose;

static void remove_dir(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/0", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cmdline", dir);
	unlink(path);
	rmdir(dir);
}

/* Device 0's state file, as del and the failed recover may remove it. */
static void write_state(void)
{
	struct ublk_state st = { .pid = FAKE_SERVER_PID, .start_time = 1 };
	char path[128];

	snprintf(path, sizeof(path), "%s/0", dir);
	if (!access(path, F_OK))
		return;
	ublk_dev_opts_init(&st.opts);
	st.opts.dev_id = 0;
	st.opts.recover = false;
	strcpy(st.opts.target, "loop");
	strcpy(st.opts.file, "/nonexistent/ublkctl-fuzz.img");
	st.opts.size = 1 << 20;
	st.opts.flags = UBLK_F_USER_RECOVERY;
	strcpy(st.tgt_json, "{}");
	check(ublk_state_write(0, &st) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[128];
	FILE *f;

	if (fake_state_dir(dir, sizeof(dir), "fuzz"))
		abort();
	atexit(remove_dir);
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cmdline", dir);
	f = fopen(path, "w");
	if (dir_fd < 0 || cwd_fd < 0 || !f)
		abort();
	fputs("root=/dev/ublkb0 ublk.loop=/dev/vda,recovery=reissue ublk.wait=3\n", f);
	fclose(f);
	verbose = getenv("FUZZ_VERBOSE");
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

static const struct applet *find_applet(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(applets); i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

/* The fake driver as every run starts with it. */
static void reset_fake(void)
{
	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 0, .nr_hw_queues = 1,
						    .queue_depth = 128,
						    .state = UBLK_S_DEV_QUIESCED,
						    .flags = UBLK_F_USER_RECOVERY,
						    .ublksrv_pid = FAKE_SERVER_PID };
	fake_devs = 2;
	fake_spawned = fake_stopped = fake_deleted = 0;
	write_state();
}

/*
 * glibc's getopt keeps a pointer into the last argv while a cluster of
 * short options is unfinished, and only optind = 0 drops it; the applets
 * set optind = 1, so it is done here, on an argv of its own.
 */
static void reset_getopt(void)
{
	char *argv[] = { "reset", NULL };

	optind = 0;
	getopt(1, argv, "");
}

/* the applets that take a path: boot-args, up and down read it, upgrade runs it */
static bool takes_path(const struct applet *a)
{
	return !strcmp(a->name, "boot-args") || !strcmp(a->name, "up") ||
	       !strcmp(a->name, "down") || !strcmp(a->name, "upgrade");
}

/* only names that stay in the state directory */
static bool opens_elsewhere(const struct applet *a, int argc, char **argv)
{
	int i;

	if (!takes_path(a))
		return false;
	for (i = 1; i < argc; i++)
		if (strchr(argv[i], '/'))
			return true;
	return false;
}

/* a, as the dispatcher runs it, its output thrown away, the process left as it was */
static int run(const struct applet *a, int argc, char **argv)
{
	struct sigaction old_int, old_term;
	FILE *out = stdout, *err = stderr;
	sigset_t mask;
	int ret;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);
	applet_name = a->name;
	if (takes_path(a))
		check(fchdir(dir_fd) == 0);
	if (!verbose)
		stdout = stderr = devnull;
	ret = finish(a->main(argc, argv));
	stdout = out;
	stderr = err;
	if (takes_path(a))
		check(fchdir(cwd_fd) == 0);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 1];
	const struct applet *a;
	int argc = 0, i, ret;
	size_t pos = 0, n;

	while (pos < size && argc < MAX_ARGS) {
		n = strnlen((const char *)data + pos, size - pos);
		argv[argc] = malloc(n + 1);	/* each its own: overreads show */
		check(argv[argc]);
		memcpy(argv[argc], data + pos, n);
		argv[argc++][n] = 0;
		pos += n + 1;
	}
	argv[argc] = NULL;
	a = argc ? find_applet(argv[0]) : NULL;
	if (a && !opens_elsewhere(a, argc, argv)) {
		reset_fake();
		reset_getopt();
		ret = run(a, argc, argv);
		if (verbose)
			fprintf(stderr, "exit %d\n", ret);
		check(ret == EXIT_OK || ret == EXIT_FAIL || ret == EXIT_USAGE ||
		      ret == EXIT_NOAPPLET);
	}
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
