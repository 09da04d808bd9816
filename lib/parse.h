/*
 * parse: the arguments users type (IDs, ports, sizes, durations, counts).
 * Every function returns 0 on success and -1 on a malformed or out-of-range
 * value; none allocates, prints or reads beyond the terminating NUL.
 */
#ifndef BASHSOCK_PARSE_H
#define BASHSOCK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_ID_MAX 64 /* [A-Za-z_][A-Za-z0-9_.-]{0,63} */
#define PARSE_PORT_MIN 1024
#define PARSE_PORT_MAX 49151
#define PARSE_SIZE_MIN 1024
#define PARSE_SIZE_MAX (1024UL * 1024 * 1024)
#define PARSE_SECS_MAX 31536000 /* one year */

int parse_id(const char *s);
int parse_port(const char *s, int *port);
int parse_size(const char *s, size_t *size);
int parse_secs(const char *s, int64_t *ns);
int parse_count(const char *s, size_t *count);

#endif
