// SPDX-License-Identifier: MIT
/* features: what the ublk driver can do (GET_FEATURES), and what of it ublkctl uses. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl features [-J]\n"
"\n"
"Show the ublk driver (the kernel's own, or ublkctl's module with its\n"
"version) and its feature bits by their UAPI names (UBLK_F_*), with what\n"
"ublkctl uses each for; '-' for the bits it does not use.\n"
"\n"
"Options:\n"
" -J, --json        JSON output: {\"driver\":...,\"features\":[{...}]}\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Columns: BIT FEATURE DRIVER UBLKCTL. Bits the driver sets that this\n"
"ublkctl has no name for show as BIT_N.\n"
"Exit status: 0; 1 when the driver is not loaded or does not answer\n"
"GET_FEATURES (before Linux 6.5).\n";

/* ublkctl's module says its version here; the kernel's ublk_drv does not */
#define KMOD_VERSION_PATH	"/sys/module/ublk_drv/version"
#define NR_BITS			64

struct feature {
	const char *name;
	const char *use;	/* what ublkctl uses it for; NULL: nothing */
};

static const struct feature features[] = {
	[0] = { "SUPPORT_ZERO_COPY", "zero copy: --zero-copy=register" },
	[1] = { "URING_CMD_COMP_IN_TASK", NULL },
	[2] = { "NEED_GET_DATA", "--need-get-data" },
	[3] = { "USER_RECOVERY", "--recovery, recover" },
	[4] = { "USER_RECOVERY_REISSUE", "--recovery=reissue" },
	[5] = { "UNPRIVILEGED_DEV", NULL },
	[6] = { "CMD_IOCTL_ENCODE", "every control command" },
	[7] = { "USER_COPY", "null and loop: data through /dev/ublkcN" },
	[8] = { "ZONED", NULL },
	[9] = { "USER_RECOVERY_FAIL_IO", "--recovery=fail-io" },
	[10] = { "UPDATE_SIZE", "resize" },
	[11] = { "AUTO_BUF_REG", "zero copy: --zero-copy=auto-buf-reg" },
	[12] = { "QUIESCE", "upgrade: the old server answers what it holds" },
	[13] = { "PER_IO_DAEMON", NULL },
	[14] = { "BUF_REG_OFF_DAEMON", NULL },
	[15] = { "BATCH_IO", "batched queue commands" },
	[16] = { "INTEGRITY", NULL },
	[17] = { "SAFE_STOP_DEV", NULL },
	[18] = { "NO_AUTO_PART_SCAN", NULL },
	[19] = { "SHMEM_ZC", NULL },
};

static const char *bit_name(unsigned int bit, char *buf, size_t len)
{
	if (bit < ARRAY_SIZE(features) && features[bit].name)
		return features[bit].name;
	snprintf(buf, len, "BIT_%u", bit);
	return buf;
}

static const char *bit_use(unsigned int bit)
{
	return bit < ARRAY_SIZE(features) ? features[bit].use : NULL;
}

/* What a kernel string may hold in our output: the rest becomes '?'. */
static void keep_plain(char *s)
{
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_~",
			    *s))
			*s = '?';
}

/* "ublkctl" (our module, its version into version) or "in-tree" */
static const char *driver_name(char *version, size_t len)
{
	FILE *f = fopen(KMOD_VERSION_PATH, "r");

	version[0] = 0;
	if (!f)
		return "in-tree";
	if (!fgets(version, len, f))
		version[0] = 0;
	fclose(f);
	version[strcspn(version, "\n")] = 0;
	keep_plain(version);
	return "ublkctl";
}

static void print_table(uint64_t have, const char *driver, const char *version,
			const char *kernel)
{
	unsigned int bit;
	char buf[16];

	printf("driver: %s%s%s, Linux %s, features 0x%llx\n", driver,
	       version[0] ? " " : "", version, kernel, (unsigned long long)have);
	printf("%3s %-24s %-6s %s\n", "BIT", "FEATURE", "DRIVER", "UBLKCTL");
	for (bit = 0; bit < NR_BITS; bit++) {
		if (bit >= ARRAY_SIZE(features) && !(have & (1ULL << bit)))
			continue;
		printf("%3u %-24s %-6s %s\n", bit, bit_name(bit, buf, sizeof(buf)),
		       have & (1ULL << bit) ? "yes" : "no", bit_use(bit) ? bit_use(bit) : "-");
	}
}

static void print_json(uint64_t have, const char *driver, const char *version,
		       const char *kernel)
{
	const char *sep = "";
	unsigned int bit;
	char buf[16];

	/* every string is ours, or kept plain (keep_plain) */
	printf("{\"driver\":\"%s\",\"version\":\"%s\",\"kernel\":\"%s\",\"flags\":%llu,"
	       "\"features\":[", driver, version, kernel, (unsigned long long)have);
	for (bit = 0; bit < NR_BITS; bit++) {
		if (bit >= ARRAY_SIZE(features) && !(have & (1ULL << bit)))
			continue;
		printf("%s{\"bit\":%u,\"name\":\"%s\",\"driver\":%s,\"used_for\":", sep, bit,
		       bit_name(bit, buf, sizeof(buf)), have & (1ULL << bit) ? "true" : "false");
		printf(bit_use(bit) ? "\"%s\"}" : "null}", bit_use(bit));
		sep = ",";
	}
	printf("]}\n");
}

int features_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char version[64], kernel[sizeof(((struct utsname *)0)->release)];
	struct ublk_ctrl c;
	struct utsname u;
	bool json = false;
	const char *driver;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":Jh", longopts, NULL)) != -1) {
		if (opt == 'J') {
			json = true;
			continue;
		}
		ret = common_option(opt, usage, argv);
		if (ret != OPTION_OK)
			return ret;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (open_ctrl(&c))
		return EXIT_FAIL;
	ublk_ctrl_close(&c);
	if (!c.features) {
		error_msg("the ublk driver does not answer GET_FEATURES (Linux 6.5 or later has it)");
		return EXIT_FAIL;
	}
	snprintf(kernel, sizeof(kernel), "%s", uname(&u) ? "unknown" : u.release);
	keep_plain(kernel);
	driver = driver_name(version, sizeof(version));
	if (json)
		print_json(c.features, driver, version, kernel);
	else
		print_table(c.features, driver, version, kernel);
	return finish(EXIT_OK);
}
