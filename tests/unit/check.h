/* CHECK for the unit tests: a failed condition is counted and reported
 * with where it was and errno, and the test goes on; main returns
 * failures != 0. */
#ifndef BASHSOCK_UNIT_CHECK_H
#define BASHSOCK_UNIT_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
			    "%s:%d: %s: CHECK(%s) failed (errno: %s)\n",       \
			    __FILE__, __LINE__, __func__, #cond,               \
			    strerror(errno));                                  \
			failures++;                                            \
		}                                                              \
	} while (0)

#endif
