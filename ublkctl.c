// SPDX-License-Identifier: MIT
/*
 * ublkctl: a multicall binary for ublk devices. It dispatches on the name
 * it was called by (ublkctl, ublk-<applet>, or ublk for ublksrv's command
 * line), then on its first argument.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets/applets.h"

#ifndef UBLKCTL_VERSION
#define UBLKCTL_VERSION "0.1"
#endif

struct applet {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *desc;
};

static const struct applet applets[] = {
#define APPLET(name, entry, desc) { #name, entry, desc },
#include "applets/applets.h"
#undef APPLET
};

static const struct applet *find_applet(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(applets); i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

static int list_applets(FILE *out)
{
	int width = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(applets); i++)
		if ((int)strlen(applets[i].name) > width)
			width = strlen(applets[i].name);
	fprintf(out, "usage: ublkctl APPLET [options]   (or ublk-APPLET [options])\n\n"
		"ublk userspace block devices: create, serve, list and delete.\n\n"
		"Applets:\n");
	for (i = 0; i < ARRAY_SIZE(applets); i++)
		fprintf(out, "  %-*s  %s\n", width, applets[i].name, applets[i].desc);
	fprintf(out, "\nOptions:\n"
		"  --install DIR   create ublk-APPLET and ublk symlinks in DIR\n"
		"  --help          this text; 'ublkctl APPLET --help' for one applet\n"
		"  --version       print the version\n\n"
		"Exit status: 0 success, 1 failure, 2 usage error or unsupported,\n"
		"127 unknown applet.\n");
	return EXIT_OK;
}

/*
 * Symlinks ublk-<applet> and ublk in dir: to "ublkctl" when dir holds a
 * copy of us (an initramfs being built), else to this binary.
 */
static int install_links(const char *dir)
{
	char self[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	size_t i;
	int ret = EXIT_OK;

	snprintf(link, sizeof(link), "%s/ublkctl", dir);
	if (access(link, X_OK) == 0) {
		strcpy(self, "ublkctl");
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			error_msg("/proc/self/exe: %s", strerror(errno));
			return EXIT_FAIL;
		}
		self[n] = 0;
	}
	for (i = 0; i <= ARRAY_SIZE(applets); i++) {
		if (i < ARRAY_SIZE(applets))
			snprintf(link, sizeof(link), "%s/ublk-%s", dir, applets[i].name);
		else
			snprintf(link, sizeof(link), "%s/ublk", dir);
		unlink(link);
		if (symlink(self, link) < 0) {
			error_msg("%s: %s", link, strerror(errno));
			ret = EXIT_FAIL;
		}
	}
	return ret;
}

static int run_applet(const struct applet *a, int argc, char **argv)
{
	static char name[64];

	snprintf(name, sizeof(name), "ublkctl %s", a->name);
	applet_name = name;
	return finish(a->main(argc, argv));
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const struct applet *a;

	base = base ? base + 1 : argv[0];
	ublk_argv0 = argv[0];
	if (!strcmp(base, "ublk")) {
		applet_name = "ublk";
		return finish(ublk_compat_main(argc, argv));
	}
	if (!strncmp(base, "ublk-", 5) && (a = find_applet(base + 5)))
		return run_applet(a, argc, argv);

	if (argc < 2)
		return finish(list_applets(stdout));
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2 && (a = find_applet(argv[2]))) {
			char *help[] = { argv[2], "--help", NULL };

			return run_applet(a, 2, help);
		}
		return finish(list_applets(stdout));
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ublkctl %s\n", UBLKCTL_VERSION);
		return finish(EXIT_OK);
	}
	if (!strcmp(argv[1], "--install")) {
		if (argc != 3)
			return usage_error("--install needs one directory");
		return install_links(argv[2]);
	}
	a = find_applet(argv[1]);
	if (!a) {
		error_msg("unknown applet '%s' (see ublkctl --help)", argv[1]);
		return EXIT_NOAPPLET;
	}
	return run_applet(a, argc - 1, argv + 1);
}
