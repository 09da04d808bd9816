/* check.h: the fuzz targets' one assertion: CHECK(c) names the target's
 * file, line and the condition on stderr and aborts, which libFuzzer
 * reports as a crash with the input that made it. */
#ifndef BASHSOCK_FUZZ_CHECK_H
#define BASHSOCK_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(                                               \
			    stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
