/*
 * input: the helper behind bind-input. It owns the listener and every
 * client, receives into the binding's ring, and never lets lines of two
 * clients interleave: a client's partial line waits in its stash until its
 * newline or its disconnect. A line longer than half the ring (or 64 KiB) is
 * published as it comes, and that client keeps the stream to itself until
 * its newline, or until it has not moved it for INPUT_OWNER_IDLE while
 * others wait (its partial line is then ended by a newline, as on a
 * disconnect). A -1 binding publishes every byte as it comes. When the ring
 * is full the helper stops reading, so TCP holds the senders back; a
 * client held back by the ring is never held by anything else.
 */
#ifndef BASHSOCK_INPUT_H
#define BASHSOCK_INPUT_H

#include "acl.h"

#include <stddef.h>

#define INPUT_MAX_CLIENTS 1024
#define INPUT_STASH_MAX (64 * 1024)
/* An owner that does not move its line for this long while others wait
 * for the stream gives it up (its partial line ended by a newline). */
#define INPUT_OWNER_IDLE 2000000000LL
/* Clients held back for room are tried again this often even when
 * readers made only a little (a half-empty ring wakes them at once). */
#define INPUT_SPACE_WAIT 100000000LL
/* accept failed for want of descriptors: try again after this long, or
 * as soon as a client of ours goes. */
#define INPUT_ACCEPT_PAUSE 100000000LL
/* A TLS client's handshake must be done within this long. */
#define INPUT_TLS_WAIT 10000000000LL

struct input_opts {
	const char *ns;
	const char *id;
	const char *addr; /* NULL: all addresses */
	int port;	  /* 0: any free port (pool) */
	size_t cap;
	int one; /* -1: one client, then the binding ends */
	/* Pool bindings: the MAC (AUTH_HEX hex digits) a client's first
	 * line must carry (pool.h, data connections) before a byte of it
	 * counts; the listener stays open until one did. NULL: none. */
	const char *proof;
	/* bind-input -A: only peers this lets in (no prefix: everybody); the
	 * others are closed as they are accepted, before a byte of theirs is
	 * read. */
	struct acl acl;
	/* bind-input -m: clients at once, 1 to INPUT_MAX_CLIENTS (0: that
	 * many); more wait in the listen backlog. */
	unsigned max;
	/* -T: a TLS server with the PEM chain cert and its key (key NULL:
	 * the key inside cert). NULL: plain TCP. */
	const char *cert, *key;
};

/* helper_fn for helper_spawn: reports readiness (or the failure: status 1,
 * message "what: why"), serves until INT/HUP/TERM or the -1 end, removes the
 * binding and returns 0. */
int input_main(void *arg, int reportfd);

#endif
