/*
 * libFuzzer target for lib/parse.c. The input is one argument as a user
 * types it (a NUL-terminated copy, so a parser reading past the end trips
 * ASan). Every parser gets it; each one is checked against an independent
 * reading of its documented grammar and range, and every accepted value
 * must come back unchanged when printed and parsed again.
 *
 *   make fuzz-build && build/fuzz/fuzz_parse tests/fuzz/corpus/parse
 */
#include "parse.h"
#include "check.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The ID grammar, read from the contract: [A-Za-z_][A-Za-z0-9_.-]{0,63}. */
static int
ref_id(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > PARSE_ID_MAX)
		return -1;
	if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_",
		s[0]) == NULL)
		return -1;
	for (i = 1; i < n; i++)
		if (strchr(
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789_.-",
			s[i]) == NULL)
			return -1;
	return 0;
}

/* A run of decimal digits as a value, saturated at UINT64_MAX / 10. */
static uint64_t
ref_digits(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v > UINT64_MAX / 100)
			return UINT64_MAX / 10;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static size_t
digit_run(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n;
}

static void
check_id(const char *s)
{
	CHECK(parse_id(s) == ref_id(s));
	/* Nothing accepted can name a path or hide a control byte. */
	if (parse_id(s) == 0)
		CHECK(strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
		      strcmp(s, "..") != 0 && s[0] != '.' && s[0] != '-');
}

static void
check_port(const char *s)
{
	size_t n = digit_run(s);
	int port = -1, again = -1, want;
	uint64_t v;
	char buf[32];

	want = n > 0 && s[n] == '\0' ? 0 : -1;
	v = want == 0 ? ref_digits(s, n) : 0;
	if (want == 0 && (v < PARSE_PORT_MIN || v > PARSE_PORT_MAX))
		want = -1;
	if (s[0] == '0') /* no leading zero */
		want = -1;
	CHECK(parse_port(s, &port) == want);
	if (want == -1)
		return;
	CHECK((uint64_t)port == v);
	snprintf(buf, sizeof(buf), "%d", port);
	CHECK(parse_port(buf, &again) == 0 && again == port);
}

static void
check_size(const char *s)
{
	size_t n = digit_run(s), size = 0, again = 0;
	uint64_t v, mul = 1;
	char buf[48];
	int want = n > 0 ? 0 : -1;

	if (want == 0) {
		if (s[n] == 'k' || s[n] == 'K')
			mul = 1024, n++;
		else if (s[n] == 'M')
			mul = 1024 * 1024, n++;
		if (s[n] != '\0')
			want = -1;
	}
	if (want == 0) {
		v = ref_digits(s, digit_run(s));
		if (v > PARSE_SIZE_MAX / mul)
			want = -1;
		else if (v * mul < PARSE_SIZE_MIN || v * mul > PARSE_SIZE_MAX)
			want = -1;
	}
	CHECK(parse_size(s, &size) == want);
	if (want == -1)
		return;
	CHECK(size >= PARSE_SIZE_MIN && size <= PARSE_SIZE_MAX);
	CHECK((uint64_t)size == ref_digits(s, digit_run(s)) * mul);
	snprintf(buf, sizeof(buf), "%zu", size);
	CHECK(parse_size(buf, &again) == 0 && again == size);
	if (size % 1024 == 0) {
		snprintf(buf, sizeof(buf), "%zuk", size / 1024);
		CHECK(parse_size(buf, &again) == 0 && again == size);
	}
	if (size % (1024 * 1024) == 0) {
		snprintf(buf, sizeof(buf), "%zuM", size / (1024 * 1024));
		CHECK(parse_size(buf, &again) == 0 && again == size);
	}
}

static void
check_secs(const char *s)
{
	size_t w = digit_run(s), f = 0, i;
	int64_t ns = -1, again = -1;
	uint64_t whole, frac = 0, scale = 100000000;
	int want;
	char buf[64];

	if (s[w] == '.')
		f = digit_run(s + w + 1);
	/* SECS: digits, or digits '.' digits with either side empty but not
	 * both; at most one year. */
	want = (w + f > 0 &&
		   (s[w] == '\0' || (s[w] == '.' && s[w + 1 + f] == '\0')))
		   ? 0
		   : -1;
	whole = ref_digits(s, w);
	if (want == 0) {
		for (i = 0; i < f && i < 9; i++, scale /= 10)
			frac += (uint64_t)(s[w + 1 + i] - '0') * scale;
		if (whole > PARSE_SECS_MAX ||
		    whole * 1000000000 + frac >
			(uint64_t)PARSE_SECS_MAX * 1000000000)
			want = -1;
	}
	CHECK(parse_secs(s, &ns) == want);
	if (want == -1)
		return;
	CHECK(ns >= 0 && ns <= (int64_t)PARSE_SECS_MAX * 1000000000);
	CHECK((uint64_t)ns == whole * 1000000000 + frac);
	snprintf(buf, sizeof(buf), "%" PRId64 ".%09" PRId64, ns / 1000000000,
	    ns % 1000000000);
	CHECK(parse_secs(buf, &again) == 0 && again == ns);
}

static void
check_count(const char *s)
{
	size_t n = digit_run(s), count = 0, again = 0;
	int want = n > 0 && s[n] == '\0' ? 0 : -1;
	uint64_t v = want == 0 ? ref_digits(s, n) : 0;
	char buf[32];

	if (want == 0 && (v == 0 || v > PARSE_SIZE_MAX))
		want = -1;
	CHECK(parse_count(s, &count) == want);
	if (want == -1)
		return;
	CHECK(count == v && count >= 1 && count <= PARSE_SIZE_MAX);
	snprintf(buf, sizeof(buf), "%zu", count);
	CHECK(parse_count(buf, &again) == 0 && again == count);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_id(s);
	check_port(s);
	check_size(s);
	check_secs(s);
	check_count(s);
	free(s);
	return 0;
}
