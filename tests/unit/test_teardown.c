// SPDX-License-Identifier: MIT
/*
 * Description: del signals a server only when it is provably ours (the
 * pid and start time its state file recorded); a failed start likewise. A
 * server that ends keeps the state file of a device that waits for recover.
 * The driver is faked (fake_ctrl.c); a child of ours that sleeps plays
 * the server, or the unrelated process that got its pid.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ublk.h"
#include "fake_ctrl.h"

#define TIMEOUT_MS	100

static char dir[64];
static pid_t child;

static int make_dir(void **state)
{
	return fake_state_dir(dir, sizeof(dir), "teardown");
}

/* A process that sleeps until killed; device 0 LIVE, served by it. */
static int start_child(void **state)
{
	child = fork();
	if (child == 0)
		for (;;)
			pause();
	if (child < 0)
		return -1;
	while (!ublk_pid_start_time(child))
		ublk_sleep_ms(1);
	fake_deleted = 0;
	fake_info = (struct ublksrv_ctrl_dev_info){ .dev_id = 0, .nr_hw_queues = 1,
						    .queue_depth = 128, .ublksrv_pid = child,
						    .state = UBLK_S_DEV_LIVE };
	return 0;
}

static int reap_child(void **state)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ublk_state_remove(0);
	return 0;
}

/* Device 0's state file, naming pid and the start time it recorded. */
static void save_state(pid_t pid, uint64_t start_time)
{
	struct ublk_state s;

	memset(&s, 0, sizeof(s));
	ublk_dev_opts_init(&s.opts);
	s.opts.dev_id = 0;
	strcpy(s.opts.target, "null");
	s.opts.size = 1 << 20;
	s.pid = pid;
	s.start_time = start_time;
	assert_int_equal(ublk_state_write(0, &s), 0);
}

/* How the child ended: 0 while it still runs, else its wait status. */
static int child_status(void)
{
	int status;

	if (waitpid(child, &status, WNOHANG) == 0)
		return 0;
	return status;
}

static unsigned int remove_ms(void)
{
	struct ublk_ctrl c;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(ublk_dev_remove(&c, 0, false, TIMEOUT_MS), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

/* The server that had this pid started at another time: the pid was reused. */
static void del__reused_pid__not_signalled(void **state)
{
	save_state(child, ublk_pid_start_time(child) - 1);
	remove_ms();
	assert_int_equal(child_status(), 0);
	assert_int_equal(fake_deleted, 1);
}

/* Our server is asked first (SIGTERM: it stops its device itself), then waited for. */
static void del__our_server__asked_to_stop(void **state)
{
	int status;

	save_state(child, ublk_pid_start_time(child));
	assert_true(remove_ms() < TIMEOUT_MS);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(fake_deleted, 1);
}

/* Our server, stuck (deaf to SIGTERM): killed once the timeout has passed. */
static void del__our_stuck_server__killed(void **state)
{
	int status;

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = fork();
	if (child == 0) {
		signal(SIGTERM, SIG_IGN);
		for (;;)
			pause();
	}
	while (!ublk_pid_start_time(child))
		ublk_sleep_ms(1);
	ublk_sleep_ms(20);	/* past signal() */
	fake_info.ublksrv_pid = child;
	save_state(child, ublk_pid_start_time(child));
	assert_true(remove_ms() >= TIMEOUT_MS);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(fake_deleted, 1);
}

/* A state file from before start times: waited for, never signalled. */
static void del__no_start_time__waits_never_signals(void **state)
{
	save_state(child, 0);
	assert_true(remove_ms() >= TIMEOUT_MS);
	assert_int_equal(child_status(), 0);
}

/* No state file: the kernel's pid alone proves nothing. */
static void del__no_state_file__not_signalled(void **state)
{
	remove_ms();
	assert_int_equal(child_status(), 0);
}

static void start_undo__reused_pid__not_signalled(void **state)
{
	ublk_start_undo(-1, 0, child, ublk_pid_start_time(child) + 1);
	assert_int_equal(child_status(), 0);
	ublk_start_undo(-1, 0, child, 0);
	assert_int_equal(child_status(), 0);
	ublk_start_undo(-1, 0, child, ublk_pid_start_time(child));
	assert_int_not_equal(child_status(), 0);
}

/*
 * A server that died before it reported its device's id: the device
 * whose ublksrv_flags hold add's cookie is removed, and only that one.
 */
static void start_undo__device_found_by_cookie(void **state)
{
	int deleted = fake_deleted;

	fake_info.ublksrv_flags = 0x8000000012345678ULL;
	ublk_start_undo(-1, 0x8000000012345679ULL, -1, 0);
	assert_int_equal(fake_deleted, deleted);
	ublk_start_undo(0, 0x8000000012345679ULL, -1, 0);
	assert_int_equal(fake_deleted, deleted);
	ublk_start_undo(-1, 0x8000000012345678ULL, -1, 0);
	assert_int_equal(fake_deleted, deleted + 1);
	fake_info.ublksrv_flags = 0;
}

/* The server's last step: is its state file still there afterwards? */
static bool state_kept_after_exit(unsigned int dev_state, uint64_t flags, bool self_stop)
{
	struct ublk_state st;
	struct ublk_ctrl c;

	fake_info.state = dev_state;
	fake_info.flags = flags;
	save_state(getpid(), ublk_pid_start_time(getpid()));
	ublk_server_exit(&c, 0, self_stop);
	return ublk_state_read(0, &st) == 0;
}

/* its queues failed: the device waits for recover, which needs the file */
static void server_exit__recovery_device_left__state_kept(void **state)
{
	assert_true(state_kept_after_exit(UBLK_S_DEV_LIVE, UBLK_F_USER_RECOVERY, false));
	assert_int_equal(fake_deleted, 0);
}

static void server_exit__device_gone__state_removed(void **state)
{
	/* del stopped it */
	assert_false(state_kept_after_exit(UBLK_S_DEV_DEAD, UBLK_F_USER_RECOVERY, false));
	/* SIGTERM: the server deletes it */
	assert_false(state_kept_after_exit(UBLK_S_DEV_LIVE, UBLK_F_USER_RECOVERY, true));
	assert_int_equal(fake_deleted, 1);
	/* nothing to recover */
	assert_false(state_kept_after_exit(UBLK_S_DEV_LIVE, 0, false));
}

#define T(f) cmocka_unit_test_setup_teardown(f, start_child, reap_child)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(del__reused_pid__not_signalled),
		T(del__our_server__asked_to_stop),
		T(del__our_stuck_server__killed),
		T(del__no_start_time__waits_never_signals),
		T(del__no_state_file__not_signalled),
		T(start_undo__reused_pid__not_signalled),
		T(start_undo__device_found_by_cookie),
		T(server_exit__recovery_device_left__state_kept),
		T(server_exit__device_gone__state_removed),
	};

	return cmocka_run_group_tests_name("teardown", tests, make_dir, NULL);
}
