/*
 * libFuzzer target for lib/escape.c: expands random input into a buffer of
 * exactly inlen bytes, so ASan reports any write past the length bound, then
 * checks that expanding in place gives the same bytes.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *       tests/fuzz/fuzz_escape.c lib/escape.c -o fuzz_escape
 *   ./fuzz_escape -max_total_time=30 CORPUS_COPY tests/fuzz/corpus/escape
 */
#include "escape.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Expands data both ways; traps on any disagreement or overlong result. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out, *inplace;
	size_t n, m;
	int stop, stop2;

	out = malloc(size ? size : 1);
	inplace = malloc(size ? size : 1);
	if (out == NULL || inplace == NULL) {
		free(out);
		free(inplace);
		return 0;
	}
	n = escape_expand((const char *)data, size, out, &stop);
	memcpy(inplace, data, size);
	m = escape_expand(inplace, size, inplace, &stop2);
	if (n > size || m != n || stop2 != stop || memcmp(out, inplace, n) != 0)
		__builtin_trap();
	if (stop != 0 && stop != 1)
		__builtin_trap();
	free(out);
	free(inplace);
	return 0;
}
