// SPDX-License-Identifier: MIT
/* Description: number and size parsing refuses garbage and out-of-range. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ublk.h"

static void parse_uint__in_range__accepted(void **state)
{
	unsigned int v = 0;

	assert_int_equal(ublk_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ublk_parse_uint("4096", 1, 4096, &v), 0);
	assert_int_equal(v, 4096);
}

static void parse_uint__garbage__einval(void **state)
{
	unsigned int v = 7;

	assert_int_equal(ublk_parse_uint("", 0, 10, &v), -EINVAL);
	assert_int_equal(ublk_parse_uint("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(ublk_parse_uint("3x", 0, 10, &v), -EINVAL);
	assert_int_equal(ublk_parse_uint(" 3", 0, 10, &v), -EINVAL);
	assert_int_equal(ublk_parse_uint(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void parse_uint__out_of_range__erange(void **state)
{
	unsigned int v;

	assert_int_equal(ublk_parse_uint("0", 1, 10, &v), -ERANGE);
	assert_int_equal(ublk_parse_uint("11", 1, 10, &v), -ERANGE);
	assert_int_equal(ublk_parse_uint("99999999999999999999999", 1, 10, &v), -ERANGE);
}

static void parse_size__suffixes__powers_of_1024(void **state)
{
	uint64_t v;

	assert_int_equal(ublk_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(ublk_parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(ublk_parse_size("256m", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(ublk_parse_size("250G", &v), 0);
	assert_int_equal(v, 250ULL << 30);
	assert_int_equal(ublk_parse_size("2TiB", &v), 0);
	assert_int_equal(v, 2ULL << 40);
	assert_int_equal(ublk_parse_size("1MB", &v), 0);
	assert_int_equal(v, 1ULL << 20);
}

static void parse_size__bad__rejected(void **state)
{
	uint64_t v;

	assert_int_equal(ublk_parse_size("0", &v), -ERANGE);
	assert_int_equal(ublk_parse_size("", &v), -EINVAL);
	assert_int_equal(ublk_parse_size("G", &v), -EINVAL);
	assert_int_equal(ublk_parse_size("1Q", &v), -EINVAL);
	assert_int_equal(ublk_parse_size("1Gx", &v), -EINVAL);
	assert_int_equal(ublk_parse_size("-5M", &v), -EINVAL);
	assert_int_equal(ublk_parse_size("20000000P", &v), -ERANGE);
}

/* The kernel's sizes are loff_t: 2^63 bytes and more once got through. */
static void parse_size__beyond_signed_64_bits__erange(void **state)
{
	uint64_t v;

	assert_int_equal(ublk_parse_size("9223372036854775807", &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(ublk_parse_size("8191P", &v), 0);
	assert_int_equal(ublk_parse_size("9223372036854775808", &v), -ERANGE);
	assert_int_equal(ublk_parse_size("18446744073709551615", &v), -ERANGE);
	assert_int_equal(ublk_parse_size("8192P", &v), -ERANGE);
	assert_int_equal(ublk_parse_size("16383P", &v), -ERANGE);
	assert_int_equal(ublk_parse_size("8388608T", &v), -ERANGE);
}

static void format_size__units(void **state)
{
	char buf[16];

	assert_int_equal(ublk_format_size(250ULL << 30, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "250G");
	assert_int_equal(ublk_format_size(1536ULL << 10, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1.5M");
	assert_int_equal(ublk_format_size(512, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "512B");
	assert_int_equal(ublk_format_size(1ULL << 40, buf, 2), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_uint__in_range__accepted),
		cmocka_unit_test(parse_uint__garbage__einval),
		cmocka_unit_test(parse_uint__out_of_range__erange),
		cmocka_unit_test(parse_size__suffixes__powers_of_1024),
		cmocka_unit_test(parse_size__bad__rejected),
		cmocka_unit_test(parse_size__beyond_signed_64_bits__erange),
		cmocka_unit_test(format_size__units),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
