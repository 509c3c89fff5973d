// SPDX-License-Identifier: MIT
/*
 * Called as `ublk`: ublksrv's command line for the subcommands we have, so
 * scripts written for it (blktests' UBLK_PROG, awk over `ublk list`) work
 * unchanged. Options and output follow ublksrv's `ublk` tool.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "nbd.h"

static const char usage[] =
"usage: ublk add -t {null|loop|nbd} [-n DEV_ID] [-q NR_HW_QUEUES] [-d QUEUE_DEPTH]\n"
"            [-u URING_COMP] [-g NEED_GET_DATA] [-r USER_RECOVERY]\n"
"            [-i USER_RECOVERY_REISSUE] [-e USER_RECOVERY_FAIL_IO]\n"
"            [--debug_mask=0x{DBG_MASK}] [--quiet]\n"
"            null: [-s SIZE]   loop: -f BACKING_FILE [--buffered_io]\n"
"            nbd: --host=HOST [--port=PORT] | --unix=SOCKET\n"
"                 [--export_name=NAME] [--read_only] [--send_zc]\n"
"       ublk del -n DEV_ID | -a\n"
"       ublk list [-n DEV_ID] [-v]\n"
"       ublk help\n"
"\n"
"ublksrv-compatible front end of ublkctl (docs/compat.md). Flags take 0\n"
"or 1. -r 1 is add --recovery (with -i 1: reissue, -e 1: fail-io). -g 1\n"
"asks the driver for UBLK_F_NEED_GET_DATA (writes reach the server before\n"
"their data; no batch IO then) and fails if it lacks it. -q N gives\n"
"min(N, CPUs) queues, as ublksrv: the driver caps them at the number of\n"
"possible CPUs; and at most 64. list prints ublksrv 1.6's layout: state\n"
"is field 9 of a device's second line, flags have a line of their own.\n";

static void print_cpus(unsigned int id, unsigned int q, struct ublk_ctrl *c)
{
	cpu_set_t set;
	int i;

	if (ublk_ctrl_get_affinity(c, id, q, &set) < 0)
		return;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			printf("%d ", i);
}

/* ublksrv's names, in its order, for the flags it names. */
static void print_flag_names(uint64_t flags)
{
	static const struct { uint64_t flag; const char *name; } names[] = {
		{ UBLK_F_SUPPORT_ZERO_COPY, "SUPPORT_ZERO_COPY" },
		{ UBLK_F_URING_CMD_COMP_IN_TASK, "URING_CMD_COMP_IN_TASK" },
		{ UBLK_F_NEED_GET_DATA, "NEED_GET_DATA" },
		{ UBLK_F_UNPRIVILEGED_DEV, "UNPRIVILEGED_DEV" },
		{ UBLK_F_USER_RECOVERY, "RECOVERY" },
		{ UBLK_F_USER_RECOVERY_REISSUE, "RECOVERY_REISSUE" },
		{ UBLK_F_CMD_IOCTL_ENCODE, "CMD_IOCTL_ENCODE" },
		{ UBLK_F_USER_COPY, "USER_COPY" },
		{ UBLK_F_ZONED, "ZONED" },
		{ UBLK_F_USER_RECOVERY_FAIL_IO, "RECOVERY_FAIL_IO" },
	};
	size_t i;

	printf("\tflags 0x%llx [", (unsigned long long)flags);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & names[i].flag)
			printf(" %s", names[i].name);
	printf(" ]\n");
}

/*
 * ublksrv 1.6's dump, line for line: the state ends the second line (field
 * 9, where scripts read it), the flags have the third. Queues and target
 * come from the server's state, as ublksrv's from its daemon's JSON.
 */
int print_ublksrv_dump(struct ublk_ctrl *c, unsigned int id)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params p;
	struct ublk_state st;
	unsigned int q;
	int ret;

	ret = ublk_ctrl_get_info(c, id, &info);
	if (ret < 0)
		return ret;
	ret = ublk_ctrl_get_params(c, id, &p);
	if (ret < 0)
		return ret;
	printf("dev id %u: nr_hw_queues %u queue_depth %u block size %u dev_capacity %llu\n",
	       id, info.nr_hw_queues, info.queue_depth,
	       1U << p.basic.logical_bs_shift,
	       (unsigned long long)p.basic.dev_sectors);
	printf("\tmax rq size %u daemon pid %d state %s\n",
	       info.max_io_buf_bytes, info.ublksrv_pid, ublk_state_name(info.state));
	print_flag_names(info.flags);
	printf("\tublkc: %u:%u ublkb: %u:%u owner: %u:%u\n",
	       p.devt.char_major, p.devt.char_minor, p.devt.disk_major,
	       p.devt.disk_minor, info.owner_uid, info.owner_gid);
	if (ublk_state_read(id, &st) == 0) {
		for (q = 0; q < info.nr_hw_queues; q++) {
			printf("\tqueue %u: tid %d affinity(", q,
			       q < UBLK_MAX_QUEUES ? (int)st.tids[q] : 0);
			print_cpus(id, q, c);
			printf(")\n");
		}
		printf("\ttarget %s\n", st.tgt_json);
	}
	return 0;
}

/* -q N: ublksrv takes any N, the driver gives min(N, CPUs); we serve 64 at most. */
static const char *queues_arg(const char *arg, char *buf, size_t len)
{
	unsigned int n;

	if (ublk_parse_uint(arg, UBLK_MAX_QUEUES + 1, UINT_MAX, &n))
		return arg;	/* add checks it as usual */
	snprintf(buf, len, "%u", UBLK_MAX_QUEUES);
	return buf;
}

/* A 0/1 flag. */
static int flag_arg(const char *opt, const char *arg, bool *on)
{
	unsigned int v;

	if (ublk_parse_uint(arg, 0, 1, &v))
		return usage_error("-%s takes 0 or 1", opt);
	*on = v;
	return 0;
}

/* ublksrv's nbd options: --host, --port, --unix, --export_name, into u. */
static int nbd_option(int opt, const char *arg, struct nbd_uri *u)
{
	unsigned int port;

	if (opt == 'P') {
		if (ublk_parse_uint(arg, 1, 65535, &port))
			return usage_error("invalid port '%s'", arg);
		u->port = port;
		return 0;
	}
	if (opt == 'U') {
		if (strlen(arg) >= sizeof(u->socket))
			return usage_error("unix socket path too long");
		u->transport = NBD_TRANSPORT_UNIX;
		strcpy(u->socket, arg);
		return 0;
	}
	if (strlen(arg) >= (opt == 'H' ? sizeof(u->host) : sizeof(u->export_name)))
		return usage_error("--%s too long", opt == 'H' ? "host" : "export_name");
	strcpy(opt == 'H' ? u->host : u->export_name, arg);
	if (!u->port)
		u->port = NBD_DEFAULT_PORT;
	return 0;
}

static int compat_add(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "number", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "uring_comp", required_argument, NULL, 'u' },
		{ "need_get_data", required_argument, NULL, 'g' },
		{ "user_recovery", required_argument, NULL, 'r' },
		{ "user_recovery_reissue", required_argument, NULL, 'i' },
		{ "user_recovery_fail_io", required_argument, NULL, 'e' },
		{ "debug_mask", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "buffered_io", no_argument, NULL, 'B' },
		{ "size", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "unix", required_argument, NULL, 'U' },
		{ "export_name", required_argument, NULL, 'X' },
		{ "read_only", no_argument, NULL, 'R' },
		{ "send_zc", no_argument, NULL, 'Z' },
		{ NULL, 0, NULL, 0 }
	};
	struct nbd_uri nbd = { .transport = NBD_TRANSPORT_TCP };
	char uri[NBD_URI_MAX];
	bool nbd_given = false;
	static char letters[32][3], queues[16];
	char *args[32];
	bool on, buffered = false, quiet = false, get_data = false;
	bool recovery = false, reissue = false, fail_io = false;
	const char *type = NULL;
	int n = 0, opt, ret, id;
	struct ublk_ctrl c;
	char out[64];

	args[n++] = "add";
	while ((opt = getopt_long(argc, argv, ":t:n:q:d:u:g:r:i:e:s:f:", longopts,
				  NULL)) != -1) {
		/* room for this option's two words, the five added below and NULL */
		if (n + 2 + 5 + 1 > (int)ARRAY_SIZE(args))
			return usage_error("too many options");
		switch (opt) {
		case 't':
			type = optarg;
			/* fall through */
		case 'n': case 'q': case 'd': case 's': case 'f':
			/* our add takes the same letters */
			snprintf(letters[n], sizeof(letters[n]), "-%c", opt);
			args[n] = letters[n];
			n++;
			args[n++] = opt == 'q' ? (char *)queues_arg(optarg, queues, sizeof(queues)) :
				    optarg;
			break;
		case 'u':
			if (flag_arg("u", optarg, &on))
				return EXIT_USAGE;
			break;	/* completion in task is the kernel's business */
		case 'g': case 'r': case 'i': case 'e':
			snprintf(out, sizeof(out), "%c", opt);
			if (flag_arg(out, optarg, &on))
				return EXIT_USAGE;
			if (opt == 'r')
				recovery = on;
			else if (opt == 'i')
				reissue = on;
			else if (opt == 'e')
				fail_io = on;
			else
				get_data = on;
			break;
		case 'B':
			buffered = true;
			break;
		case 'Q':
			quiet = true;
			break;
		case 'H': case 'P': case 'U': case 'X':
			if (nbd_option(opt, optarg, &nbd))
				return EXIT_USAGE;
			nbd_given = true;
			break;
		case 'R':
			args[n++] = "-r";
			break;
		case 'D': case 'Z':	/* debug mask; send zero copy: ours copies */
			break;
		default:
			return option_error(opt, argv);
		}
	}
	if ((reissue || fail_io) && !recovery)
		return usage_error("-i and -e need -r 1");
	if (recovery)
		args[n++] = reissue ? "--recovery=reissue" :
			    fail_io ? "--recovery=fail-io" : "--recovery";
	/* ublksrv's loop uses direct IO unless told --buffered_io */
	if (type && !strcmp(type, "loop") && !buffered)
		args[n++] = "--direct-io";
	if (get_data)
		args[n++] = "--need-get-data";
	if (nbd_given) {
		if (!nbd.host[0] && !nbd.socket[0])
			return usage_error("nbd needs --host HOST or --unix SOCKET");
		if (nbd_uri_format(&nbd, uri, sizeof(uri)) < 0)
			return usage_error("nbd: server name too long");
		args[n++] = "-f";
		args[n++] = uri;
	}
	args[n] = NULL;

	/* ublksrv prints the device's dump where we print its path */
	ret = add_run(n, args, NULL, usage, &id);
	if (ret || quiet)
		return ret;
	if (open_ctrl(&c))
		return EXIT_FAIL;
	ret = print_ublksrv_dump(&c, id);
	ublk_ctrl_close(&c);
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

static int compat_list(int argc, char **argv)
{
	unsigned int *ids, id;
	struct ublk_ctrl c;
	bool one = false;
	int n, i, opt, ret;

	while ((opt = getopt(argc, argv, ":n:v")) != -1) {
		if (opt == 'n') {
			if (parse_dev_id(optarg, &id))
				return EXIT_USAGE;
			one = true;
		} else if (opt != 'v') {
			return option_error(opt, argv);
		}
	}
	if (open_ctrl(&c))
		return EXIT_FAIL;
	if (one) {
		ret = print_ublksrv_dump(&c, id);
		if (ret < 0)
			error_msg("device %u: %s", id, ctrl_strerror(ret));
		ublk_ctrl_close(&c);
		return ret < 0 ? EXIT_FAIL : EXIT_OK;
	}
	n = ublk_list_ids(&ids);
	for (i = 0; i < n; i++)
		print_ublksrv_dump(&c, ids[i]);
	free(ids);
	ublk_ctrl_close(&c);
	return EXIT_OK;
}

int ublk_compat_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "--help"))
		return argc < 2 ? (fputs(usage, stderr), EXIT_USAGE) : show_usage(usage);
	optind = 1;
	if (!strcmp(argv[1], "add"))
		return compat_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return compat_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "del"))
		return del_main(argc - 1, argv + 1);	/* same options as ours */
	if (!strcmp(argv[1], "recover"))
		return recover_main(argc - 1, argv + 1);	/* same -n */
	error_msg("unknown command '%s'", argv[1]);
	return EXIT_USAGE;
}
