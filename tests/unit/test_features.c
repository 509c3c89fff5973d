// SPDX-License-Identifier: MIT
/*
 * Description: features names the driver's bits (GET_FEATURES, faked by
 * fake_ctrl.c) by their UAPI names, says which ublkctl uses, shows bits it
 * has no name for, and refuses a driver without GET_FEATURES.
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
}

static void json__one_object_per_bit(void **state)
{
	char *argv[] = { "features", "-J", NULL }, out[8192];

	fake_features = 1ULL << 2 | 1ULL << 6;
	assert_int_equal(run_features(argv, 2, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"flags\":68,\"features\":[{\"bit\":0,"
			       "\"name\":\"SUPPORT_ZERO_COPY\",\"driver\":false,"));
	assert_non_null(strstr(out, "{\"bit\":2,\"name\":\"NEED_GET_DATA\",\"driver\":true,"
			       "\"used_for\":\"--need-get-data\"}"));
	assert_non_null(strstr(out, "{\"bit\":1,\"name\":\"URING_CMD_COMP_IN_TASK\","
			       "\"driver\":false,\"used_for\":null}"));
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
		cmocka_unit_test(json__one_object_per_bit),
		cmocka_unit_test(no_get_features__exit_1),
		cmocka_unit_test(usage__exit_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
