// SPDX-License-Identifier: MIT
/* del: stop and delete devices, and wait until their servers are gone. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl del -n ID | -a [--async] [--safe]\n"
"\n"
"Stop a device (IO in flight fails), wait for its server to exit, delete\n"
"the device and its state file.\n"
"\n"
"Options:\n"
" -n, --number ID   the device to delete\n"
" -a, --all         every ublk device\n"
"     --async       do not wait for the server and the deletion to finish\n"
"     --safe        refuse (exit 1, naming it) when something uses the\n"
"                   device or a partition of it: a mount, a holder (dm,\n"
"                   md), a process that has it open; the driver's\n"
"                   TRY_STOP_DEV makes it race-free where it exists\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Exit status: 0 when every device asked for is gone, 1 otherwise.\n";

#define SERVER_EXIT_TIMEOUT_MS 10000

/*
 * --safe: 0 when nothing uses device id, which the driver then stopped
 * where it can refuse to (TRY_STOP_DEV); else -EBUSY after saying what.
 */
static int stop_unused(struct ublk_ctrl *c, unsigned int id)
{
	char users[512];
	int ret = ublk_dev_users(id, users, sizeof(users));

	if (ret > 0) {
		error_msg("device %u is in use: %s", id, users);
		return -EBUSY;
	}
	if (!(c->features & UBLK_F_SAFE_STOP_DEV))
		return 0;
	ret = ublk_ctrl_try_stop_dev(c, id);
	if (ret == -EBUSY)
		error_msg("device %u is in use: the driver says it is open", id);
	else if (ret < 0 && ret != -ENODEV)
		error_msg("device %u: %s", id, ctrl_strerror(ret));
	return ret == -ENODEV ? 0 : ret;
}

int del_devices(const unsigned int *ids, int n, bool missing_ok, bool async, bool safe)
{
	struct ublk_ctrl c;
	int i, ret, lock, status = EXIT_OK;

	if (open_ctrl(&c))
		return EXIT_FAIL;
	for (i = 0; i < n; i++) {
		lock = lock_device(ids[i]);
		if (lock < 0) {
			status = EXIT_FAIL;
			continue;
		}
		if (safe && stop_unused(&c, ids[i])) {
			ublk_unlock(lock);
			status = EXIT_FAIL;
			continue;
		}
		ret = ublk_dev_remove(&c, ids[i], async, SERVER_EXIT_TIMEOUT_MS);
		ublk_unlock(lock);
		if (ret < 0 && !(missing_ok && ret == -ENODEV)) {
			error_msg("device %u: %s", ids[i], ctrl_strerror(ret));
			status = EXIT_FAIL;
		}
	}
	ublk_ctrl_close(&c);
	return status;
}

int del_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "number", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ "async", no_argument, NULL, 'A' },
		{ "safe", no_argument, NULL, 'S' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int given[256], *ids = given;
	bool all = false, async = false, safe = false;
	int n = 0, opt, ret;

	while ((opt = getopt_long(argc, argv, ":n:ah", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (n == (int)ARRAY_SIZE(given))
				return usage_error("too many devices");
			if (parse_dev_id(optarg, &given[n]))
				return EXIT_USAGE;
			n++;
			break;
		case 'a':
			all = true;
			break;
		case 'A':
			async = true;
			break;
		case 'S':
			safe = true;
			break;
		default:
			ret = common_option(opt, usage, argv);
			if (ret != OPTION_OK)
				return ret;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (all == (n > 0))
		return usage_error("give either -n ID or -a");
	if (all) {
		n = ublk_list_ids(&ids);
		if (n < 0)
			n = 0;
	}
	ret = del_devices(ids, n, all, async, safe);
	if (ids != given)
		free(ids);
	return ret;
}
