/*
 * output: the helper behind bind-output. It connects first, then creates
 * the binding, and from then on is the only consumer of the binding's ring:
 * whatever `write' appends is sent to the peer, straight from the ring.
 *
 * The peer closing (or resetting) ends the binding's stream: without
 * reconnect the ring turns RING_ENDED (writers get "connection closed") and
 * the binding stays, listed as down, until it is closed; with reconnect the
 * helper connects again with backoff (100 ms doubling to 5 s) and sends what
 * was written meanwhile. INT, HUP and TERM close it: new writes are refused,
 * what is queued is sent for up to OUTPUT_DRAIN, then the connection is shut
 * down cleanly and the binding removed.
 */
#ifndef BASHSOCK_OUTPUT_H
#define BASHSOCK_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#define OUTPUT_DRAIN 10000000000LL    /* sending what is queued at close */
#define OUTPUT_RETRY_MAX 3000000000LL /* one reconnect attempt, at most */

struct output_opts {
	const char *ns;
	const char *id;
	const char *host;
	int port;
	size_t cap;
	int64_t timeout; /* connect timeout, ns */
	int reconnect;	 /* -r */
	int tls;	 /* -T: TLS, the server verified unless -k */
	int verify;	 /* 0: -k */
	const char *ca;	 /* -C: the CA file (NULL: the system's store) */
};

/* helper_fn for helper_spawn: connects, creates the binding and reports
 * readiness (or the failure: status 1, message "ID: what: why"); serves until
 * INT/HUP/TERM, drains, removes the binding and returns 0. */
int output_main(void *arg, int reportfd);

#endif
