// SPDX-License-Identifier: MIT
/*
 * add: create a ublk device and fork the server that serves it.
 * loop and null (loop.c, null.c) are this with the target fixed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "applets.h"
#include "nbd.h"

static const char usage[] =
"usage: ublkctl add -t null|loop|nbd [options]\n"
"\n"
"Create a ublk device, start its server in the background and print the\n"
"block device's path once it is usable.\n"
"\n"
"Options:\n"
" -t, --type TYPE          target: null or loop\n"
" -s, --size SIZE          null: device size, K/M/G/T suffixes (default 250G)\n"
" -f, --file FILE          loop: backing file or block device (size from it);\n"
"                          nbd: the server's URI (see ublkctl nbd --help)\n"
"     --direct-io          loop: open FILE with O_DIRECT (no page cache)\n"
"     --zero-copy[=MODE]   loop: file IO straight into the request's pages\n"
"                          (experimental; see zero-copy-experimental --help)\n"
"     --auto-buf-reg       loop: zero copy with the buffer registered by the\n"
"                          kernel (--zero-copy=auto-buf-reg)\n"
"     --need-get-data      the server is handed each WRITE before its data\n"
"                          (UBLK_F_NEED_GET_DATA; `ublk add -g 1`)\n"
ADD_COMMON_OPTIONS
"\n"
"Exit status: 0 when the device is ready, 1 on failure (nothing is left\n"
"behind), 2 on a usage error.\n";

enum { OPT_DIRECT_IO = 256, OPT_FOREGROUND, OPT_RECOVERY, OPT_ZERO_COPY, OPT_AUTO_BUF_REG,
       OPT_ROOT_DAEMON, OPT_NEED_GET_DATA, OPT_RECONNECT_TIMEOUT, OPT_WAIT };

static const struct option longopts[] = {
	{ "type",	required_argument, NULL, 't' },
	{ "number",	required_argument, NULL, 'n' },
	{ "queues",	required_argument, NULL, 'q' },
	{ "depth",	required_argument, NULL, 'd' },
	{ "size",	required_argument, NULL, 's' },
	{ "file",	required_argument, NULL, 'f' },
	{ "block-size",	required_argument, NULL, 'b' },
	{ "read-only",	no_argument,	   NULL, 'r' },
	{ "direct-io",	no_argument,	   NULL, OPT_DIRECT_IO },
	{ "foreground",	no_argument,	   NULL, OPT_FOREGROUND },
	{ "root-daemon", no_argument,	   NULL, OPT_ROOT_DAEMON },
	{ "recovery",	optional_argument, NULL, OPT_RECOVERY },
	{ "zero-copy",	optional_argument, NULL, OPT_ZERO_COPY },
	{ "auto-buf-reg", no_argument,	   NULL, OPT_AUTO_BUF_REG },
	{ "need-get-data", no_argument,	   NULL, OPT_NEED_GET_DATA },
	{ "reconnect-timeout", required_argument, NULL, OPT_RECONNECT_TIMEOUT },
	{ "wait",	required_argument, NULL, OPT_WAIT },
	TIMEOUT_OPTION,
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int number_error(const char *what, const char *arg, int err)
{
	return usage_error("invalid %s '%s'%s", what, arg,
			   err == -ERANGE ? ": out of range" : "");
}

/* nbd: the URI is checked here, the server reached by the target. */
static int check_nbd_opts(struct ublk_dev_opts *o)
{
	char err[NBD_ERR_LEN];
	struct nbd_uri u;

	if (!o->file[0])
		return usage_error("the nbd target needs the server's URI (ublkctl nbd URI)");
	if (o->flags & UBLK_ZERO_COPY_FLAGS)
		return usage_error("zero copy is for the loop target");
	if (o->direct_io)
		return usage_error("--direct-io is for the loop target");
	if (nbd_uri_parse(o->file, &u, err, sizeof(err)))
		return usage_error("%s: %s", o->file, err);
	return EXIT_OK;
}

/* Checks that make sense before anything is created. */
static int check_opts(struct ublk_dev_opts *o, bool size_given)
{
	char real[PATH_MAX];
	struct stat st;

	if (!o->target[0])
		return usage_error("no target given (-t null|loop|nbd)");
	if (!ublk_find_target(o->target))
		return usage_error("unknown target '%s' (null, loop or nbd)", o->target);
	if (o->block_size & (o->block_size - 1))
		return usage_error("block size %u is not a power of 2", o->block_size);
	if (!strcmp(o->target, "null")) {
		if (o->flags & UBLK_ZERO_COPY_FLAGS)
			return usage_error("zero copy is for the loop target");
		if (o->file[0])
			return usage_error("--file is for the loop target");
		if (o->direct_io)
			return usage_error("--direct-io is for the loop target");
		if (o->connect_wait)
			return usage_error("--wait is for the nbd target");
		if (!size_given)
			o->size = UBLK_DEF_NULL_SIZE;
		if (o->size < o->block_size)
			return usage_error("size is smaller than one block");
		return EXIT_OK;
	}
	if (size_given)
		return usage_error("--size is for the null target; loop and nbd take their backing's");
	if (o->connect_wait && strcmp(o->target, "nbd"))
		return usage_error("--wait is for the nbd target");
	if (!strcmp(o->target, "nbd"))
		return check_nbd_opts(o);
	if (!o->file[0])
		return usage_error("the loop target needs a backing file (-f FILE)");
	if (stat(o->file, &st) < 0) {
		error_msg("%s: %s", o->file, strerror(errno));
		return EXIT_FAIL;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		error_msg("%s: not a regular file or block device", o->file);
		return EXIT_FAIL;
	}
	if (!realpath(o->file, real) || strlen(real) >= sizeof(o->file)) {
		error_msg("%s: %s", o->file, strerror(errno));
		return EXIT_FAIL;
	}
	/* the name served is the real one: list prints it, one line a device */
	if (strchr(real, '\n'))
		return usage_error("file names with a newline are not supported "
				   "(symlinks resolved)");
	strcpy(o->file, real);
	return EXIT_OK;
}

/* --recovery[=requeue|reissue|fail-io] as UBLK_F_* flags. */
static int parse_recovery(const char *mode, uint64_t *flags)
{
	*flags &= ~UBLK_RECOVERY_FLAGS;
	if (!mode || !strcmp(mode, "requeue"))
		*flags |= UBLK_F_USER_RECOVERY;
	else if (!strcmp(mode, "reissue"))
		*flags |= UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE;
	else if (!strcmp(mode, "fail-io"))
		*flags |= UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_FAIL_IO;
	else
		return -1;
	return 0;
}

static pid_t fg_server;

static void forward_signal(int sig)
{
	if (fg_server > 0)
		kill(fg_server, sig);
}

/*
 * Once the server is told that add succeeded, a SIGINT, SIGTERM or SIGHUP
 * must not make add exit as killed while its device stays: they wait
 * (and are dropped at exit). Returns the mask to restore.
 */
static sigset_t hold_exit_signals(void)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	return old;
}

/* --foreground: stay until the server ends, passing it our signals. */
static int wait_foreground(pid_t pid, const sigset_t *mask)
{
	int status;

	fg_server = pid;
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	sigprocmask(SIG_SETMASK, mask, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_FAIL;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? EXIT_OK : EXIT_FAIL;
}

/* One option into o: OPTION_OK, or the exit code to end with. */
static int add_option(int c, struct ublk_dev_opts *o, bool *size_given,
		      const char *help, char **argv)
{
	unsigned int v;
	int ret;

	switch (c) {
	case 't':
		if (strlen(optarg) >= sizeof(o->target))
			return usage_error("unknown target '%s' (null, loop or nbd)", optarg);
		strcpy(o->target, optarg);
		break;
	case 'n':
		if (parse_dev_id(optarg, &v))
			return EXIT_USAGE;
		o->dev_id = v;
		break;
	case 'q':
		ret = ublk_parse_uint(optarg, 1, UBLK_MAX_QUEUES, &o->nr_queues);
		if (ret)
			return number_error("queue count", optarg, ret);
		break;
	case 'd':
		ret = ublk_parse_uint(optarg, 1, UBLK_MAX_QUEUE_DEPTH, &o->depth);
		if (ret)
			return number_error("queue depth", optarg, ret);
		break;
	case 's':
		ret = ublk_parse_size(optarg, &o->size);
		if (ret)
			return number_error("size", optarg, ret);
		*size_given = true;
		break;
	case 'f':
		if (strlen(optarg) >= sizeof(o->file))
			return usage_error("file name too long");
		strcpy(o->file, optarg);
		break;
	case 'b':
		ret = ublk_parse_uint(optarg, 512, 4096, &o->block_size);
		if (ret)
			return number_error("block size", optarg, ret);
		o->block_size_set = true;
		break;
	case 'r':
		o->read_only = true;
		break;
	case OPT_DIRECT_IO:
		o->direct_io = true;
		break;
	case OPT_FOREGROUND:
		o->foreground = true;
		break;
	case OPT_ROOT_DAEMON:
		o->root_daemon = true;
		break;
	case OPT_ZERO_COPY:
		o->flags &= ~UBLK_ZERO_COPY_FLAGS;
		if (!optarg)	/* the server picks the best the driver has */
			o->flags |= UBLK_ZERO_COPY_FLAGS;
		else if (!strcmp(optarg, "register"))
			o->flags |= UBLK_F_SUPPORT_ZERO_COPY;
		else if (!strcmp(optarg, "auto-buf-reg"))
			o->flags |= UBLK_F_AUTO_BUF_REG;
		else
			return usage_error("unknown zero copy mode '%s' (register or "
					   "auto-buf-reg)", optarg);
		break;
	case OPT_AUTO_BUF_REG:
		o->flags = (o->flags & ~UBLK_ZERO_COPY_FLAGS) | UBLK_F_AUTO_BUF_REG;
		break;
	case OPT_RECONNECT_TIMEOUT:
		if (!strcmp(optarg, "inf"))
			o->reconnect_timeout = UINT_MAX;
		else if (ublk_parse_uint(optarg, 0, 1000000, &o->reconnect_timeout))
			return usage_error("invalid reconnect timeout '%s' (seconds, or inf)", optarg);
		break;
	case OPT_WAIT:
		if (ublk_parse_uint(optarg, 0, UBLK_MAX_CONNECT_WAIT, &o->connect_wait))
			return usage_error("invalid wait '%s' (seconds, 0-%u)", optarg,
					   UBLK_MAX_CONNECT_WAIT);
		break;
	case OPT_NEED_GET_DATA:
		o->flags |= UBLK_F_NEED_GET_DATA;
		break;
	case OPT_RECOVERY:
		if (parse_recovery(optarg, &o->flags))
			return usage_error("unknown recovery mode '%s' (requeue, reissue "
					   "or fail-io)", optarg);
		break;
	default:
		return common_option(c, help, argv);
	}
	return OPTION_OK;
}

/*
 * loop FILE and null SIZE take their main argument bare, too: the number
 * of arguments taken (0 or 1), or -1 after a usage error.
 */
static int bare_argument(const char *fixed_target, const char *arg,
			 struct ublk_dev_opts *o, bool *size_given)
{
	int ret;

	if ((!strcmp(fixed_target, "loop") || !strcmp(fixed_target, "nbd")) &&
	    !o->file[0] && strlen(arg) < sizeof(o->file)) {
		strcpy(o->file, arg);
		return 1;
	}
	if (!strcmp(fixed_target, "null") && !*size_given) {
		ret = ublk_parse_size(arg, &o->size);
		if (ret) {
			number_error("size", arg, ret);
			return -1;
		}
		*size_given = true;
		return 1;
	}
	return 0;
}

/*
 * Start the server and tell the user; until the server hears that it was
 * told, a killed add makes the server remove the device again.
 */
static int add_start(const struct ublk_dev_opts *o, int *dev_id)
{
	struct ublk_spawn_result res;
	sigset_t mask;
	char err[512];

	fflush(stdout);
	if (ublk_server_spawn(o, &res, err, sizeof(err))) {
		error_msg("%s", err);
		return EXIT_FAIL;
	}
	if (dev_id)
		*dev_id = res.dev_id;
	else
		printf("/dev/ublkb%d\n", res.dev_id);
	fflush(stdout);
	mask = hold_exit_signals();
	ublk_server_confirm(&res);
	if (o->foreground)
		return wait_foreground(res.pid, &mask);
	return EXIT_OK;
}

int add_run(int argc, char **argv, const char *fixed_target,
	    const char *help, int *dev_id)
{
	struct ublk_dev_opts o;
	bool size_given = false;
	int c, ret;

	ublk_dev_opts_init(&o);
	if (fixed_target)
		snprintf(o.target, sizeof(o.target), "%s", fixed_target);
	optind = 1;
	while ((c = getopt_long(argc, argv, fixed_target ? ":n:q:d:s:f:b:rh" :
				":t:n:q:d:s:f:b:rh", longopts, NULL)) != -1) {
		ret = add_option(c, &o, &size_given, help, argv);
		if (ret != OPTION_OK)
			return ret;
	}
	if (fixed_target && optind < argc) {
		ret = bare_argument(fixed_target, argv[optind], &o, &size_given);
		if (ret < 0)
			return EXIT_USAGE;
		optind += ret;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	ret = check_opts(&o, size_given);
	if (ret)
		return ret;
	return add_start(&o, dev_id);
}

int add_main(int argc, char **argv)
{
	return add_run(argc, argv, NULL, usage, NULL);
}
