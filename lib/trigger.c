/* trigger: what the waiter (trigger_waiter.c) and the sender
 * (trigger_sender.c) share. */
#include "trigger.h"
#include "trigger_int.h"
#include "clock.h"
#include "auth.h"
#include "helper.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Puts "what: why" (or why alone) into err when there is one. */
void
trigger_seterr(char *err, size_t errlen, const char *what, const char *why)
{
	if (err == NULL || errlen == 0)
		return;
	if (what != NULL)
		snprintf(err, errlen, "%s: %s", what, why);
	else
		snprintf(err, errlen, "%s", why);
}

/* A copy of key, or NULL with errno (EINVAL for a bad length). */
char *
trigger_keydup(const char *key, size_t keylen)
{
	char *k;

	if (key == NULL || keylen == 0 || keylen > AUTH_KEY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((k = malloc(keylen)) != NULL)
		memcpy(k, key, keylen);
	return k;
}

/*
 * ppoll on pfd for at most ns (-1: no limit) as described in trigger.h.
 * Returns the number of ready descriptors; 0 on timeout, interruption or a
 * pending signal (every revents then 0); -1 with errno.
 */
int
trigger_poll(
    struct pollfd *pfd, nfds_t n, int64_t ns, trigger_pending_fn pending)
{
	struct timespec ts, *tsp = NULL;
	sigset_t all, old;
	nfds_t i;
	int r, e;

	if (ns >= 0) {
		ts = clock_ts(ns);
		tsp = &ts;
	}
	if (pending == NULL) {
		r = ppoll(pfd, n, tsp, NULL);
	} else {
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, &old);
		if (pending()) {
			r = 0;
		} else {
			/* The only place signals are let in: atomically. */
			r = ppoll(pfd, n, tsp, &old);
		}
		e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	if (r > 0)
		return r;
	for (i = 0; i < n; i++)
		pfd[i].revents = 0;
	return (r == -1 && errno != EINTR) ? -1 : 0;
}

void
trigger_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
