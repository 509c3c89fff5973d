// SPDX-License-Identifier: MIT
/*
 * recover: serve a device again after its server died. The device must
 * have been added with --recovery; its state file in /run/ublk says what
 * to serve. The kernel kept the device (QUIESCED or FAIL_IO) and its IO.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl recover -n ID [-t null|loop|nbd] [-f FILE|URI] | -a\n"
"\n"
"Start a new server for a device whose server died, and return once IO\n"
"flows again. Only devices added with --recovery can be recovered; they\n"
"wait QUIESCED (or FAIL_IO) while no server runs. What to serve comes\n"
"from the device's state file in /run/ublk; when that is missing or\n"
"unreadable, -t (and -f for loop) give it. They never override a state\n"
"file: when both exist and differ, recover refuses. They go with -n only.\n"
"\n"
"Options:\n"
" -n, --number ID          the device to recover\n"
" -a, --all                every device that waits for a server\n"
" -t, --type TYPE          target, when the state file is gone\n"
" -f, --file FILE          loop: backing file, when the state file is gone\n"
"     --timeout S          give up on a driver command after S seconds\n"
"                          (default 30, 0: never)\n"
" -h, --help               this text\n"
"\n"
"Exit status: 0 when every device serves IO again, 1 when one could not be\n"
"recovered (it stays recoverable), 2 on a usage error.\n";

static const struct option longopts[] = {
	{ "number",	required_argument, NULL, 'n' },
	{ "all",	no_argument,	   NULL, 'a' },
	{ "type",	required_argument, NULL, 't' },
	{ "file",	required_argument, NULL, 'f' },
	TIMEOUT_OPTION,
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

#define STATE_WAIT_MS	5000

static bool waiting_for_server(unsigned int state)
{
	return state == UBLK_S_DEV_QUIESCED || state == UBLK_S_DEV_FAIL_IO;
}

/*
 * The device's info once the kernel has noticed its server is gone: right
 * after a kill the device may still look LIVE for a moment.
 */
static int settled_info(struct ublk_ctrl *c, unsigned int id,
			struct ublksrv_ctrl_dev_info *info)
{
	unsigned int waited = 0;
	int ret;

	for (;;) {
		ret = ublk_ctrl_get_info(c, id, info);
		if (ret || info->state != UBLK_S_DEV_LIVE ||
		    ublk_pid_alive(info->ublksrv_pid) || waited >= STATE_WAIT_MS)
			return ret;
		ublk_sleep_ms(50);
		waited += 50;
	}
}

/*
 * -t and -f stand in for a missing state file, never override one: serving
 * a loop device's writes with another file or the null target loses them.
 */
static bool cmdline_disagrees(unsigned int id, const struct ublk_dev_opts *saved,
			      const struct ublk_dev_opts *cmdline)
{
	if (cmdline->file[0] && strcmp(cmdline->file, saved->file)) {
		error_msg("device %u serves %s%s, not %s: -f only stands in for a "
			  "missing state file", id, saved->file[0] ? "" : "no file",
			  saved->file, cmdline->file);
		return true;
	}
	if (cmdline->target[0] && strcmp(cmdline->target, saved->target)) {
		error_msg("device %u serves target %s, not %s: -t only stands in for "
			  "a missing state file", id, saved->target, cmdline->target);
		return true;
	}
	return false;
}

/* What to serve: the state file, or the command line's -t/-f without one. */
static int recovery_opts(unsigned int id, const struct ublksrv_ctrl_dev_info *info,
			 const struct ublk_dev_opts *cmdline, struct ublk_dev_opts *o)
{
	struct ublk_state st;
	int ret;

	ret = ublk_state_read(id, &st);
	if (ret && !cmdline->target[0]) {
		error_msg("device %u: no readable state file %s/%u (%s): give the target "
			  "with -t null|loop [-f FILE]", id, ublk_state_dir(), id,
			  strerror(-ret));
		return EXIT_FAIL;
	}
	if (ret) {
		error_msg("device %u: no readable state file (%s): taking the target "
			  "from the command line", id, strerror(-ret));
		ublk_dev_opts_init(o);
		memcpy(o->target, cmdline->target, sizeof(o->target));
		memcpy(o->file, cmdline->file, sizeof(o->file));
	} else if (cmdline_disagrees(id, &st.opts, cmdline)) {
		return EXIT_FAIL;
	} else {
		*o = st.opts;
	}
	if (!ublk_find_target(o->target)) {
		error_msg("device %u: unknown target '%s'", id, o->target);
		return EXIT_FAIL;
	}
	if ((!strcmp(o->target, "loop") || !strcmp(o->target, "nbd")) && !o->file[0]) {
		error_msg("device %u: the %s target needs its %s (-f)", id, o->target,
			  strcmp(o->target, "nbd") ? "backing file" : "server's URI");
		return EXIT_FAIL;
	}
	o->dev_id = id;
	o->nr_queues = info->nr_hw_queues;
	o->depth = info->queue_depth;
	o->flags = info->flags & (UBLK_RECOVERY_FLAGS | UBLK_ZERO_COPY_FLAGS);
	o->foreground = false;
	o->recover = true;
	return EXIT_OK;
}

static int recover_locked(struct ublk_ctrl *c, unsigned int id,
			  const struct ublk_dev_opts *cmdline, bool quiet_if_live)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_spawn_result res;
	struct ublk_params params;
	struct ublk_dev_opts o;
	char err[512];
	int ret;

	ret = settled_info(c, id, &info);
	if (ret) {
		error_msg("device %u: %s", id, ctrl_strerror(ret));
		return EXIT_FAIL;
	}
	if (!(info.flags & UBLK_F_USER_RECOVERY)) {
		if (quiet_if_live)
			return EXIT_OK;
		error_msg("device %u was added without --recovery: it cannot be recovered", id);
		return EXIT_FAIL;
	}
	if (!waiting_for_server(info.state)) {
		if (quiet_if_live && info.state == UBLK_S_DEV_LIVE)
			return EXIT_OK;
		if (info.state == UBLK_S_DEV_LIVE)
			error_msg("device %u is LIVE: its server (pid %d) runs, nothing to recover",
				  id, info.ublksrv_pid);
		else
			error_msg("device %u is %s: nothing to recover", id,
				  ublk_state_name(info.state));
		return EXIT_FAIL;
	}
	if (!ublk_dev_info_servable(&info)) {
		error_msg("device %u has %u queues of depth %u: ublkctl serves 1-%u queues "
			  "of depth 1-%u", id, info.nr_hw_queues, info.queue_depth,
			  UBLK_MAX_QUEUES, UBLK_MAX_QUEUE_DEPTH);
		return EXIT_FAIL;
	}
	ret = recovery_opts(id, &info, cmdline, &o);
	if (ret)
		return ret;
	/* the size and block size are the kernel's; the target must fit them */
	if (ublk_ctrl_get_params(c, id, &params) == 0 && (params.types & UBLK_PARAM_TYPE_BASIC)) {
		o.size = params.basic.dev_sectors << 9;
		if (params.basic.logical_bs_shift >= 9 && params.basic.logical_bs_shift <= 12)
			o.block_size = 1U << params.basic.logical_bs_shift;
	}
	o.block_size_set = true;
	fflush(stdout);
	if (ublk_server_spawn(&o, &res, err, sizeof(err))) {
		error_msg("device %u: %s (it can still be recovered)", id, err);
		return EXIT_FAIL;
	}
	printf("/dev/ublkb%u\n", id);
	fflush(stdout);
	ublk_server_confirm(&res);
	return EXIT_OK;
}

/* Under the device's lock: a del or another recover of it waits for us. */
static int recover_one(struct ublk_ctrl *c, unsigned int id,
		       const struct ublk_dev_opts *cmdline, bool quiet_if_live)
{
	int lock = lock_device(id), rc;

	if (lock < 0)
		return EXIT_FAIL;
	rc = recover_locked(c, id, cmdline, quiet_if_live);
	ublk_unlock(lock);
	return rc;
}

int recover_main(int argc, char **argv)
{
	struct ublk_dev_opts cmdline;
	unsigned int *ids, id = 0;
	struct ublk_ctrl c;
	bool all = false, have_id = false;
	int ch, i, n, ret, rc = EXIT_OK;

	ublk_dev_opts_init(&cmdline);
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":n:at:f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_dev_id(optarg, &id))
				return EXIT_USAGE;
			have_id = true;
			break;
		case 'a':
			all = true;
			break;
		case 't':
			if (!ublk_find_target(optarg))
				return usage_error("unknown target '%s' (null, loop or nbd)", optarg);
			snprintf(cmdline.target, sizeof(cmdline.target), "%s", optarg);
			break;
		case 'f':
			if (strlen(optarg) >= sizeof(cmdline.file))
				return usage_error("bad backing file '%s'", optarg);
			strcpy(cmdline.file, optarg);
			break;
		default:
			ret = common_option(ch, usage, argv);
			if (ret != OPTION_OK)
				return ret;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (have_id == all)
		return usage_error("give one of -n ID or -a");
	/* one file served by every waiting device would mix their data */
	if (all && (cmdline.target[0] || cmdline.file[0]))
		return usage_error("-t and -f describe one device: use them with -n ID");
	if (cmdline.file[0] && !cmdline.target[0])
		snprintf(cmdline.target, sizeof(cmdline.target), "loop");
	/* a loop file is served by its real name; an nbd URI as it is */
	if (!strcmp(cmdline.target, "loop") && cmdline.file[0]) {
		char real[PATH_MAX];

		if (!realpath(cmdline.file, real) || strlen(real) >= sizeof(cmdline.file))
			return usage_error("bad backing file '%s'", cmdline.file);
		strcpy(cmdline.file, real);
	}
	if (open_ctrl(&c))
		return EXIT_FAIL;
	if (!all) {
		rc = recover_one(&c, id, &cmdline, false);
	} else {
		n = ublk_list_ids(&ids);
		for (i = 0; i < n; i++)
			if (recover_one(&c, ids[i], &cmdline, true))
				rc = EXIT_FAIL;
		free(ids);
	}
	ublk_ctrl_close(&c);
	return finish(rc);
}
