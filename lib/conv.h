/*
 * conv: what an input binding needs to hold conversations with several
 * clients, shared between its helper and the shell. It lives between the
 * header page and the rings (ring_extra):
 *
 * - The client table: one slot per client the helper holds (at most
 *   CONV_SLOTS at once), naming it N (1, 2, ... for the binding's life)
 *   with its address, the bytes queued for it and a futex word writers wait
 *   on. A slot whose client is gone keeps its name and address until the
 *   slot is taken again (its bytes may still be in rx).
 * - Segment marks on rx: the helper appends a mark (position, N) before it
 *   publishes bytes of a client other than the last mark's. Bytes [mark i,
 *   mark i+1) are client N's. A plain `read' ignores them; `read -c' stops
 *   at a mark. The helper retires marks that readers have passed (only it
 *   writes them: mtail moves first, then a slot is reused, so a reader that
 *   read mark i and then sees mtail <= i read a live mark).
 * - Reply records on tx: {N, len} then len bytes for client N; len
 *   CONV_CLOSE (no bytes) asks the helper to close N once its queue is
 *   sent. A writer holds client N's lock (the slot's wlock) for a whole
 *   message, so replies to N never interleave, and the tx lock only while
 *   it appends one record. It waits for N's queue (at most qmax bytes)
 *   holding N's lock alone, so a slow client holds back no writer to
 *   another: the helper always takes records off tx into N's own queue.
 *
 * Output bindings have none of these: their tx is the plain byte stream.
 */
#ifndef BASHSOCK_CONV_H
#define BASHSOCK_CONV_H

#include "ring.h"

#include <stddef.h>
#include <stdint.h>

#define CONV_SLOTS 1024
#define CONV_MARKS 4096
#define CONV_ADDR 48		 /* an IPv6 address as text, NUL included */
#define CONV_CLOSE 0xffffffffU	 /* a record that closes its client */
#define CONV_QMAX (256 * 1024)	 /* a client's queue, at most */
#define CONV_REC_MAX (64 * 1024) /* payload of one record, at most */

enum conv_state { CONV_FREE = 0, CONV_LIVE = 1, CONV_GONE = 2 };

struct conv_client {
	uint32_t n;	 /* the client's name; 0 in a slot never used */
	uint32_t state;	 /* enum conv_state */
	uint32_t qseq;	 /* futex: bumped when queued shrinks or state moves */
	uint32_t qwait;	 /* writers waiting on qseq (hint) */
	uint64_t queued; /* reply bytes accepted for it, not yet sent */
	uint32_t port;
	uint32_t wlock; /* PID of the writer of a message to it (futex) */
	uint32_t lwait; /* writers waiting for wlock (hint) */
	uint32_t spare;
	char addr[CONV_ADDR];
};

struct conv_mark {
	uint64_t pos; /* rx position where client n's bytes start */
	uint32_t n;
	uint32_t spare;
};

struct conv_rec {
	uint32_t n;
	uint32_t len; /* payload bytes that follow, or CONV_CLOSE */
};

// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): shared layout
struct conv {
	uint64_t mhead; /* marks written (helper) */
	uint64_t mtail; /* first mark that may still cover unread bytes */
	uint32_t qmax;	/* a client's queue limit */
	uint32_t one;	/* the N of a -1 binding's client, 0 before it came */
	uint64_t spare[5];
	struct conv_client slot[CONV_SLOTS];
	struct conv_mark mark[CONV_MARKS];
};

/* The conversation tables of r's binding, or NULL (output bindings). */
struct conv *conv_of(const struct ring *r);

/* --- helper side --- */
/* A slot for the new client n (a free one, else the one gone longest ago
 * by name): filled in and live. NULL when every slot is live. */
struct conv_client *conv_attach(
    struct conv *cv, uint32_t n, const char *addr, uint32_t port);
/* The client left: its writers are told, its queue is dropped. */
void conv_detach(struct conv_client *c);
/* k queued bytes went to the client's socket (or were dropped). */
void conv_sent(struct conv_client *c, uint64_t k);
/*
 * Before publishing bytes of client n on rx at position pos: appends a
 * mark when n is not the last mark's client. Returns 0, or -1 when the
 * marks are full with unread segments (park the client until readers
 * move: rx space wakes it).
 */
int conv_mark(struct conv *cv, const struct ring *rx, uint32_t n);
/* 1 when conv_mark for n would succeed now. */
int conv_mark_room(struct conv *cv, const struct ring *rx, uint32_t n);
/* The bytes the tables take in a binding file (page-rounded). */
#define CONV_SIZE ((sizeof(struct conv) + 4095) / 4096 * 4096)

/* --- shell side --- */
/* The slot of live-or-gone client n, or NULL when it is unknown. */
struct conv_client *conv_find(struct conv *cv, uint32_t n);
/*
 * The client whose bytes start at rx's tail, that tail (*at), and how many
 * of its bytes follow in one run (*seg, up to head): what `read -c' may
 * take with ring_take_at(rx, *at, head, ...). 0 when rx is empty.
 */
uint32_t conv_segment(
    struct conv *cv, const struct ring *rx, uint64_t *at, size_t *seg);

#endif
