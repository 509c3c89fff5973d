// SPDX-License-Identifier: MIT
/*
 * Description: features names the driver's bits (GET_FEATURES, faked by
 * fake_ctrl.c) by their UAPI names, says which ublkctl uses, shows bits it
 * has no name for, says why each known bit the driver lacks is missing
 * (our module's reason, or the Linux release that added it), and refuses a
 * driver without GET_FEATURES. features.c is included for its static
 * missing_reason() (tests/unit/run does not link it again).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../applets/applets.h"
#include "fake_ctrl.h"
#include "../../applets/features.c"


/* features' exit code for argv, its stdout into out */
static int run_features(char **argv, int argc, char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(1), ret;
	size_t n;

	assert_non_null(tmp);
	fflush(stdout);
	dup2(fileno(tmp), 1);
	optind = 1;
	ret = features_main(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = 0;
	fclose(tmp);
	return ret;
}

static void table__bits_named_and_used(void **state)
{
	char *argv[] = { "features", NULL }, out[8192];

	/* SUPPORT_ZERO_COPY, USER_RECOVERY, CMD_IOCTL_ENCODE, UPDATE_SIZE, and bit 40 */
	fake_features = 1ULL << 0 | 1ULL << 3 | 1ULL << 6 | 1ULL << 10 | 1ULL << 40;
	assert_int_equal(run_features(argv, 1, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\nBIT FEATURE                  DRIVER UBLKCTL\n"));
	assert_non_null(strstr(out, "\n  0 SUPPORT_ZERO_COPY        yes    zero copy: "));
	assert_non_null(strstr(out, "\n  3 USER_RECOVERY            yes    --recovery, recover\n"));
	assert_non_null(strstr(out, "\n  4 USER_RECOVERY_REISSUE    no     --recovery=reissue\n"));
	assert_non_null(strstr(out, "\n 10 UPDATE_SIZE              yes    resize\n"));
	assert_non_null(strstr(out, "\n 40 BIT_40                   yes    -\n"));
	assert_null(strstr(out, "BIT_41"));
	assert_non_null(strstr(out, "features 0x10000000449\n"));
	/* after the table: the known bits the driver lacks, none it has */
	assert_non_null(strstr(out, " 40 BIT_40                   yes    -\n\nMissing:\n"));
	assert_non_null(strstr(out, "\n  URING_CMD_COMP_IN_TASK  not in this kernel's driver\n"));
	assert_non_null(strstr(out, "\n  ZONED                   "));
	assert_non_null(strstr(out, "\n  SHMEM_ZC                not in this kernel's driver\n"));
	assert_null(strstr(out, "\n  USER_RECOVERY "));
	assert_null(strstr(out, "\n  SUPPORT_ZERO_COPY "));
	assert_null(strstr(out, "\n  BIT_40"));
}

static void table__nothing_missing_no_section(void **state)
{
	char *argv[] = { "features", NULL }, out[8192];

	fake_features = (1ULL << ARRAY_SIZE(features)) - 1;
	assert_int_equal(run_features(argv, 1, out, sizeof(out)), 0);
	assert_null(strstr(out, "Missing"));
	/* the table's last line ends the output */
	assert_string_equal(strstr(out, "\n 19 SHMEM_ZC "), "\n 19 SHMEM_ZC                 yes    -\n");
}

/* missing_reason(): our module's reason, or the release that added the bit */
static void reason__module_or_release(void **state)
{
	static const struct {
		unsigned int bit;
		uint64_t have;
		bool kmod;
		const char *kernel, *want;	/* want NULL: not missing */
	} cases[] = {
		{ 0, 0, true, "6.1.0-50-amd64",
		  "not in our module: lending a request's pages to io_uring needs 6.15" },
		{ 15, 0, true, "6.1.0", "not in our module: needs multishot uring_cmd (7.0)" },
		{ 13, 0, true, "6.12.9", "not implemented in our module" },
		/* one it implements, missing: an older module */
		{ 12, 0, true, "6.12.9", "not in this version of our module" },
		{ 0, 1, true, "6.1.0", NULL },
		{ 40, 0, true, "6.1.0", NULL },
		{ 0, 0, false, "6.12.9+deb13-amd64", "added in Linux 6.15" },
		{ 15, 0, false, "6.19.2", "added in Linux 7.0" },
		/* a release that has it and a driver that does not: configured out */
		{ 15, 0, false, "7.2.13", "not in this kernel's driver (added in Linux 7.0)" },
		{ 17, 0, false, "6.12.9", "not in this kernel's driver" },
		{ 9, 0, false, "unknown", "added in Linux 6.13" },
		{ 9, 1ULL << 9, false, "6.1.0", NULL },
	};
	const char *why;
	unsigned int i;
	char buf[80];

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = missing_reason(cases[i].bit, cases[i].have, cases[i].kmod,
				     cases[i].kernel, buf, sizeof(buf));
		if (cases[i].want)
			assert_string_equal(why, cases[i].want);
		else
			assert_null(why);
	}
}

static void reason__every_bit_short(void **state)
{
	const char *kernels[] = { "6.1.0", "99.0" }, *why;
	unsigned int bit, k;
	char buf[80];

	for (bit = 0; bit < ARRAY_SIZE(features); bit++)
		for (k = 0; k < 4; k++) {
			why = missing_reason(bit, 0, k & 1, kernels[k / 2], buf, sizeof(buf));
			assert_non_null(why);
			assert_in_range(strlen(why), 1, 70);
		}
}

static void json__one_object_per_bit(void **state)
{
	char *argv[] = { "features", "-J", NULL }, out[8192];

	fake_features = 1ULL << 2 | 1ULL << 6;
	assert_int_equal(run_features(argv, 2, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"flags\":68,\"features\":[{\"bit\":0,"
			       "\"name\":\"SUPPORT_ZERO_COPY\",\"driver\":false,"));
	assert_non_null(strstr(out, "{\"bit\":2,\"name\":\"NEED_GET_DATA\",\"driver\":true,"
			       "\"used_for\":\"--need-get-data\",\"missing\":null}"));
	assert_non_null(strstr(out, "{\"bit\":1,\"name\":\"URING_CMD_COMP_IN_TASK\","
			       "\"driver\":false,\"used_for\":null,"
			       "\"missing\":\"not in this kernel's driver\"}"));
	assert_string_equal(out + strlen(out) - 3, "]}\n");
}

static void no_get_features__exit_1(void **state)
{
	char *argv[] = { "features", NULL }, out[256];

	fake_features = 0;
	assert_int_equal(run_features(argv, 1, out, sizeof(out)), 1);
	assert_string_equal(out, "");
}

static void usage__exit_2(void **state)
{
	char *argv[] = { "features", "extra", NULL }, out[256];

	fake_features = 1;
	assert_int_equal(run_features(argv, 2, out, sizeof(out)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table__bits_named_and_used),
		cmocka_unit_test(table__nothing_missing_no_section),
		cmocka_unit_test(reason__module_or_release),
		cmocka_unit_test(reason__every_bit_short),
		cmocka_unit_test(json__one_object_per_bit),
		cmocka_unit_test(no_get_features__exit_1),
		cmocka_unit_test(usage__exit_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
