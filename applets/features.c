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
"ublkctl uses each for; '-' for the bits it does not use. Then, under\n"
"\"Missing:\", each known bit the driver lacks and why: what ublkctl's\n"
"module does not implement, or the Linux release that added it.\n"
"\n"
"Options:\n"
" -J, --json        JSON output: {\"driver\":...,\"features\":[{...}]},\n"
"                   \"missing\": why the driver lacks a bit, or null\n"
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
	/* why our module lacks it; NULL: the module has it (an older version not) */
	const char *kmod_missing;
	/*
	 * the in-tree driver's first release with it, where ublkctl's own
	 * messages already name it; NULL: not certain, or older than
	 * GET_FEATURES (6.5), so age is not why it is missing
	 */
	const char *added_in;
};

#define KMOD_LEND	"not in our module: lending a request's pages to io_uring " \
			"needs 6.15"
#define KMOD_NOT	"not implemented in our module"

/* kmod_missing as docs/kmod-kernels.md's "Feature flags" says */
static const struct feature features[] = {
	[0] = { "SUPPORT_ZERO_COPY", "zero copy: --zero-copy=register", KMOD_LEND, "6.15" },
	[1] = { "URING_CMD_COMP_IN_TASK", NULL, NULL, NULL },
	[2] = { "NEED_GET_DATA", "--need-get-data", NULL, NULL },
	[3] = { "USER_RECOVERY", "--recovery, recover", NULL, NULL },
	[4] = { "USER_RECOVERY_REISSUE", "--recovery=reissue", NULL, NULL },
	[5] = { "UNPRIVILEGED_DEV", NULL, KMOD_NOT, NULL },
	[6] = { "CMD_IOCTL_ENCODE", "every control command", NULL, NULL },
	[7] = { "USER_COPY", "null and loop: data through /dev/ublkcN", NULL, NULL },
	[8] = { "ZONED", NULL, KMOD_NOT, "6.6" },
	[9] = { "USER_RECOVERY_FAIL_IO", "--recovery=fail-io", NULL, "6.13" },
	[10] = { "UPDATE_SIZE", "resize", NULL, NULL },
	[11] = { "AUTO_BUF_REG", "zero copy: --zero-copy=auto-buf-reg", KMOD_LEND, "6.16" },
	[12] = { "QUIESCE", "upgrade: the old server answers what it holds", NULL, NULL },
	[13] = { "PER_IO_DAEMON", NULL, KMOD_NOT, NULL },
	[14] = { "BUF_REG_OFF_DAEMON", NULL, KMOD_LEND, NULL },
	[15] = { "BATCH_IO", "batched queue commands",
		 "not in our module: needs multishot uring_cmd (7.0)", "7.0" },
	[16] = { "INTEGRITY", NULL, KMOD_NOT, NULL },
	[17] = { "SAFE_STOP_DEV", NULL, KMOD_NOT, NULL },
	[18] = { "NO_AUTO_PART_SCAN", NULL, KMOD_NOT, NULL },
	[19] = { "SHMEM_ZC", NULL, KMOD_LEND, NULL },
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

/* "6.15" and "6.15.0-1-amd64" as 615; 0 when it is neither */
static unsigned int release_number(const char *s)
{
	unsigned int major, minor;

	return sscanf(s, "%u.%u", &major, &minor) == 2 ? major * 100 + minor : 0;
}

/*
 * Why a known bit is missing from the driver (ours when kmod), on kernel
 * (uname's release); NULL when the driver has it or the bit has no name.
 */
static const char *missing_reason(unsigned int bit, uint64_t have, bool kmod,
				  const char *kernel, char *buf, size_t len)
{
	const struct feature *f;

	if (bit >= ARRAY_SIZE(features) || !features[bit].name || have & (1ULL << bit))
		return NULL;
	f = &features[bit];
	if (kmod)
		return f->kmod_missing ? f->kmod_missing : "not in this version of our module";
	if (!f->added_in)
		return "not in this kernel's driver";
	/* a release that has it and a driver that does not: configured out */
	if (release_number(kernel) >= release_number(f->added_in))
		snprintf(buf, len, "not in this kernel's driver (added in Linux %s)",
			 f->added_in);
	else
		snprintf(buf, len, "added in Linux %s", f->added_in);
	return buf;
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
			const char *kernel, bool kmod)
{
	char buf[16], why[80];
	unsigned int bit;
	int width = 0;

	printf("driver: %s%s%s, Linux %s, features 0x%llx\n", driver,
	       version[0] ? " " : "", version, kernel, (unsigned long long)have);
	printf("%3s %-24s %-6s %s\n", "BIT", "FEATURE", "DRIVER", "UBLKCTL");
	for (bit = 0; bit < NR_BITS; bit++) {
		if (bit >= ARRAY_SIZE(features) && !(have & (1ULL << bit)))
			continue;
		printf("%3u %-24s %-6s %s\n", bit, bit_name(bit, buf, sizeof(buf)),
		       have & (1ULL << bit) ? "yes" : "no", bit_use(bit) ? bit_use(bit) : "-");
	}
	for (bit = 0; bit < ARRAY_SIZE(features); bit++)
		if (missing_reason(bit, have, kmod, kernel, why, sizeof(why)) &&
		    (int)strlen(features[bit].name) > width)
			width = strlen(features[bit].name);
	if (width)
		printf("\nMissing:\n");
	for (bit = 0; bit < ARRAY_SIZE(features); bit++)
		if (missing_reason(bit, have, kmod, kernel, why, sizeof(why)))
			printf("  %-*s  %s\n", width, features[bit].name,
			       missing_reason(bit, have, kmod, kernel, why, sizeof(why)));
}

static void print_json(uint64_t have, const char *driver, const char *version,
		       const char *kernel, bool kmod)
{
	const char *sep = "", *missing;
	char buf[16], why[80];
	unsigned int bit;

	/* every string is ours, or kept plain (keep_plain) */
	printf("{\"driver\":\"%s\",\"version\":\"%s\",\"kernel\":\"%s\",\"flags\":%llu,"
	       "\"features\":[", driver, version, kernel, (unsigned long long)have);
	for (bit = 0; bit < NR_BITS; bit++) {
		if (bit >= ARRAY_SIZE(features) && !(have & (1ULL << bit)))
			continue;
		printf("%s{\"bit\":%u,\"name\":\"%s\",\"driver\":%s,\"used_for\":", sep, bit,
		       bit_name(bit, buf, sizeof(buf)), have & (1ULL << bit) ? "true" : "false");
		printf(bit_use(bit) ? "\"%s\"" : "null", bit_use(bit));
		missing = missing_reason(bit, have, kmod, kernel, why, sizeof(why));
		printf(missing ? ",\"missing\":\"%s\"}" : ",\"missing\":null}", missing);
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
	bool json = false, kmod;
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
	kmod = !strcmp(driver, "ublkctl");
	if (json)
		print_json(c.features, driver, version, kernel, kmod);
	else
		print_table(c.features, driver, version, kernel, kmod);
	return finish(EXIT_OK);
}
