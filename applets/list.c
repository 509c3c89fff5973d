// SPDX-License-Identifier: MIT
/* list: the devices, as an aligned table for people or JSON for programs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl list [-n ID] [-J]\n"
"\n"
"Show ublk devices: the kernel's view (GET_DEV_INFO, GET_PARAMS) joined\n"
"with the server's state file in " UBLK_STATE_DIR ".\n"
"\n"
"Options:\n"
" -n, --number ID   only this device\n"
" -J, --json        JSON output: {\"ublkdevices\":[{...}]}\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Columns: ID STATE TARGET SIZE QUEUES DEPTH BS PID FILE. STATE is the\n"
"kernel's (LIVE, QUIESCED, FAIL_IO, DEAD), or RECONNECTING for a LIVE nbd\n"
"device whose server is out of reach; PID is '-' when no server runs. FILE\n"
"is an nbd device's URI; -J adds \"uri\", \"connection\" and \"reconnects\".\n"
"A zero-copy loop shows as loop+zc (register) or loop+abr (auto-buf-reg).\n"
"Exit status: 0, also when there is no device; 1 when -n names none.\n";

struct row {
	unsigned int id;
	const char *state;
	const char *target;
	uint64_t size;
	unsigned int queues, depth, bs;
	int pid;		/* -1: no server running */
	const char *file;
	char target_buf[UBLK_TARGET_LEN + 8];
	/* nbd: from the target's part of the state file */
	bool nbd;
	char connection[16];
	unsigned int reconnects;
};

/*
 * The nbd server's connection, as its server last wrote it: a LIVE device
 * whose queue reconnects shows as RECONNECTING.
 */
static void load_nbd(struct row *r, const char *tgt_json)
{
	const char *at = strstr(tgt_json, "\"connection\":\"");

	r->nbd = true;
	if (at)
		sscanf(at + 14, "%15[a-z]", r->connection);
	at = strstr(tgt_json, "\"reconnects\":");
	if (at)
		sscanf(at + 13, "%u", &r->reconnects);
	if (!strcmp(r->state, "LIVE") && r->connection[0] && strcmp(r->connection, "up"))
		r->state = "RECONNECTING";
}

static int load_row(struct ublk_ctrl *c, unsigned int id, struct row *r,
		    struct ublk_state *st)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params p;
	int ret;

	ret = ublk_ctrl_get_info(c, id, &info);
	if (ret < 0)
		return ret;
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->state = ublk_state_name(info.state);
	r->queues = info.nr_hw_queues;
	r->depth = info.queue_depth;
	r->pid = ublk_pid_alive(info.ublksrv_pid) ? info.ublksrv_pid : -1;
	r->target = "-";
	r->file = "";
	if (ublk_ctrl_get_params(c, id, &p) >= 0) {
		r->size = p.basic.dev_sectors << 9;
		r->bs = 1U << p.basic.logical_bs_shift;
	}
	if (ublk_state_read(id, st) == 0) {
		r->target = st->opts.target;
		r->file = st->opts.file;
		if (!r->size)
			r->size = st->opts.size;
		if (!r->bs)
			r->bs = st->opts.block_size;
		if (r->pid < 0 && ublk_pid_alive(st->pid))
			r->pid = st->pid;
		if (!strcmp(st->opts.target, "nbd"))
			load_nbd(r, st->tgt_json);
	}
	if (info.flags & UBLK_ZERO_COPY_FLAGS) {
		snprintf(r->target_buf, sizeof(r->target_buf), "%s+%s", r->target,
			 info.flags & UBLK_F_AUTO_BUF_REG ? "abr" : "zc");
		r->target = r->target_buf;
	}
	return 0;
}

static void print_header(void)
{
	printf("%-4s %-12s %-6s %7s %6s %5s %4s %7s %s\n", "ID", "STATE",
	       "TARGET", "SIZE", "QUEUES", "DEPTH", "BS", "PID", "FILE");
}

static void print_row(const struct row *r)
{
	char size[16], pid[16];

	ublk_format_size(r->size, size, sizeof(size));
	if (r->pid > 0)
		snprintf(pid, sizeof(pid), "%d", r->pid);
	else
		strcpy(pid, "-");
	printf("%-4u %-12s %-6s %7s %6u %5u %4u %7s %s\n", r->id, r->state,
	       r->target, size, r->queues, r->depth, r->bs, pid, r->file);
}

/* s as a JSON string; s is shorter than PATH_MAX, so the escape fits. */
static void print_json_string(const char *s)
{
	char buf[UBLK_JSON_ESCAPED_LEN(PATH_MAX)];

	ublk_json_escape(s, buf, sizeof(buf));
	printf("\"%s\"", buf);
}

/* The target and file come from the state file: escaped like any bytes. */
static void print_json(const struct row *r, bool first)
{
	printf("%s\n    {\"id\":%u,\"dev\":\"/dev/ublkb%u\",\"state\":\"%s\","
	       "\"target\":", first ? "" : ",", r->id, r->id, r->state);
	print_json_string(r->target);
	printf(",\"size\":%llu,\"queues\":%u,\"depth\":%u,\"block_size\":%u,\"pid\":",
	       (unsigned long long)r->size, r->queues, r->depth, r->bs);
	if (r->pid > 0)
		printf("%d", r->pid);
	else
		printf("null");
	printf(",\"file\":");
	if (r->file[0])
		print_json_string(r->file);
	else
		printf("null");
	if (r->nbd) {
		printf(",\"uri\":");
		print_json_string(r->file);
		printf(",\"connection\":");
		print_json_string(r->connection[0] ? r->connection : "unknown");
		printf(",\"reconnects\":%u", r->reconnects);
	}
	printf("}");
}

int list_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "number", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'J' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int id, *ids = &id;
	struct ublk_state st;
	struct ublk_ctrl c;
	struct row r;
	bool json = false, one = false;
	int n, i, c_, ret, shown = 0, status = EXIT_OK;

	while ((c_ = getopt_long(argc, argv, ":n:Jh", longopts, NULL)) != -1) {
		switch (c_) {
		case 'n':
			if (parse_dev_id(optarg, &id))
				return EXIT_USAGE;
			one = true;
			break;
		case 'J':
			json = true;
			break;
		default:
			ret = common_option(c_, usage, argv);
			if (ret != OPTION_OK)
				return ret;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (open_ctrl(&c))
		return EXIT_FAIL;
	if (one) {
		n = 1;
	} else {
		n = ublk_list_ids(&ids);
		if (n < 0)
			n = 0;
	}
	if (json)
		printf("{\"ublkdevices\":[");
	else if (!one)
		print_header();
	for (i = 0; i < n; i++) {
		ret = load_row(&c, ids[i], &r, &st);
		if (ret < 0) {
			if (!one && (ret == -ENODEV || ret == -ENOENT))
				continue;	/* deleted while we looked */
			error_msg("device %u: %s", ids[i], ctrl_strerror(ret));
			status = EXIT_FAIL;
			if (ret == -ETIMEDOUT)
				break;	/* the driver is stuck: the rest would be too */
			continue;
		}
		if (one && !json)
			print_header();
		if (json)
			print_json(&r, !shown);
		else
			print_row(&r);
		shown++;
	}
	if (json)
		printf("%s]}\n", shown ? "\n" : "");
	if (!one)
		free(ids);
	ublk_ctrl_close(&c);
	return status;
}
