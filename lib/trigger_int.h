/* Inside lib/trigger*.c only: what the waiter and the sender share. */
#ifndef BASHSOCK_TRIGGER_INT_H
#define BASHSOCK_TRIGGER_INT_H

#include "trigger.h"

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/* Puts "what: why" (or why alone) into err when there is one. */
void trigger_seterr(
    char *err, size_t errlen, const char *what, const char *why);
/* A copy of key, or NULL with errno (EINVAL for a bad length). */
char *trigger_keydup(const char *key, size_t keylen);
/* ppoll on pfd for at most ns (-1: no limit) as described in trigger.h:
 * the number of ready descriptors; 0 on timeout, interruption or a
 * pending signal (every revents then 0); -1 with errno. */
int trigger_poll(
    struct pollfd *pfd, nfds_t n, int64_t ns, trigger_pending_fn pending);
/* TCP_NODELAY on fd: a handshake line goes out at once. */
void trigger_nodelay(int fd);

#endif
