// SPDX-License-Identifier: MIT
/* up: create the devices of /etc/ublktab that are not there yet. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "ublktab.h"

static const char usage[] =
"usage: ublkctl up -a | ID... [--early] [--root-daemon] [--tab FILE]\n"
"\n"
"Create the devices that /etc/ublktab lists (every one with -a, or those\n"
"of the IDs given) and that are not there yet, each as\n"
"`ublkctl add -n ID -t TARGET -f FILE|URI (-s SIZE) OPTIONS...` would,\n"
"printing its /dev/ublkbN. A device that is there is left as it is.\n"
"\n"
"/etc/ublktab: one device a line, '#' starts a comment:\n"
"  ID  TARGET  FILE, URI or SIZE  [OPTION...] [early]\n"
"  0   loop    /srv/root.img      --recovery=reissue early\n"
"  1   nbd     nbd://server/data  --recovery --queues 2\n"
"OPTIONs are add's (see ublkctl add --help); \"early\" marks a device the\n"
"initramfs starts.\n"
"\n"
"Options:\n"
" -a, --all         every device of the file\n"
"     --early       only the lines marked early\n"
"     --root-daemon add's --root-daemon for every device (the initramfs)\n"
"     --tab FILE    read FILE instead of /etc/ublktab\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Exit status: 0 when every device asked for is there; 1 when a line is bad\n"
"(one message with its number), an ID is not in the file, or a device did\n"
"not start (the others start all the same); 2 on a usage error.\n";

#define UBLKTAB_MAX_BYTES	(1 << 20)

struct bad_lines {
	const char *path;
	unsigned int n;
};

static void report_bad(unsigned int line, const char *msg, void *arg)
{
	struct bad_lines *b = arg;

	error_msg("%s:%u: %s", b->path, line, msg);
	b->n++;
}

static int load(const char *path, struct ublktab *t)
{
	struct bad_lines bad = { path, 0 };
	char *text;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = ublk_read_text(path, UBLKTAB_MAX_BYTES, &text);
	if (ret) {
		error_msg("%s: %s", path, text_strerror(ret, UBLKTAB_MAX_BYTES));
		return EXIT_FAIL;
	}
	ret = ublktab_parse(text, t, report_bad, &bad);
	free(text);
	if (ret) {
		error_msg("out of memory");
		return EXIT_FAIL;
	}
	return bad.n ? EXIT_FAIL : EXIT_OK;
}

/* the entries of t for the nr_ids ids (all when 0) into out; their number, or -1 */
static int select_entries(const struct ublktab *t, const char *path, char **ids, int nr_ids,
			  const struct ublktab_entry **out, int *status)
{
	unsigned int id, i;
	int n = 0, k;

	if (!nr_ids) {
		for (i = 0; i < t->nr; i++)
			out[n++] = &t->entries[i];
		return n;
	}
	for (k = 0; k < nr_ids; k++) {
		if (parse_dev_id(ids[k], &id))
			return -1;
		out[n] = ublktab_find(t, id);
		if (out[n]) {
			n++;
		} else {
			error_msg("device %u is not in %s", id, path);
			*status = EXIT_FAIL;
		}
	}
	return n;
}

int ublktab_open(const char *path, char **ids, int nr_ids, struct ublktab *t,
		 const struct ublktab_entry ***sel, int *status)
{
	int n;

	*sel = NULL;
	*status = load(path, t);
	if (!t->text)
		return -1;
	*sel = calloc(t->nr + nr_ids + 1, sizeof(**sel));
	if (!*sel) {
		error_msg("out of memory");
		*status = EXIT_FAIL;
		return -1;
	}
	n = select_entries(t, path, ids, nr_ids, *sel, status);
	if (n < 0)
		*status = EXIT_USAGE;
	return n;
}

static bool dev_exists(unsigned int id)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_ctrl c;
	int ret;

	if (ublk_ctrl_open(&c))
		return false;
	ret = ublk_ctrl_get_info(&c, id, &info);
	ublk_ctrl_close(&c);
	return ret == 0;
}

/* add, for the line e */
static int up_one(const struct ublktab_entry *e, const char *path, bool root_daemon)
{
	char *argv[9 + UBLKTAB_MAX_OPTS], id[12];
	unsigned int i;
	int argc = 0, ret;

	snprintf(id, sizeof(id), "%u", e->id);
	argv[argc++] = "add";
	argv[argc++] = "-n";
	argv[argc++] = id;
	argv[argc++] = "-t";
	argv[argc++] = (char *)e->target;
	argv[argc++] = !strcmp(e->target, "null") ? "-s" : "-f";
	argv[argc++] = (char *)e->source;
	if (root_daemon)
		argv[argc++] = "--root-daemon";
	for (i = 0; i < e->nr_opts; i++)
		argv[argc++] = e->opts[i];
	argv[argc] = NULL;
	ret = add_run(argc, argv, NULL, usage, NULL);
	if (ret)
		error_msg("%s:%u: device %u did not start", path, e->line, e->id);
	return ret;
}

int up_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "early", no_argument, NULL, 'E' },
		{ "root-daemon", no_argument, NULL, 'R' },
		{ "tab", required_argument, NULL, 'T' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct ublktab_entry **sel;
	const char *path = UBLKTAB_PATH;
	bool all = false, early = false, root_daemon = false;
	unsigned int timeout_ms;
	int opt, ret, n, i, status;
	struct ublktab t;

	while ((opt = getopt_long(argc, argv, ":ah", longopts, NULL)) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt == 'E')
			early = true;
		else if (opt == 'R')
			root_daemon = true;
		else if (opt == 'T')
			path = optarg;
		else if ((ret = common_option(opt, usage, argv)) != OPTION_OK)
			return ret;
	}
	if (all == (optind < argc))
		return usage_error("give either -a or device ids");
	n = ublktab_open(path, argv + optind, argc - optind, &t, &sel, &status);
	/* each add may set its own --timeout: every one starts from ours */
	timeout_ms = ublk_ctrl_timeout_ms;
	for (i = 0; i < n; i++) {
		if ((early && !sel[i]->early) || dev_exists(sel[i]->id))
			continue;
		ublk_ctrl_timeout_ms = timeout_ms;
		if (up_one(sel[i], path, root_daemon))
			status = EXIT_FAIL;
	}
	free(sel);
	ublktab_free(&t);
	return finish(status);
}
