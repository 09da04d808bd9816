/*
 * chan: the shell's side of a binding's conversation, over the rings of
 * ring.h and the tables of conv.h. Builtins parse, call these and print;
 * every access to shared memory they need is here.
 *
 * Waits are cut into slices of at most CHAN_SLICE; after each, the
 * caller's tick runs (the shell's signal and trap handling, which may
 * longjmp: nothing here holds a resource across it that the caller did not
 * register, the writer lock being the caller's to release).
 */
#ifndef BASHSOCK_CHAN_H
#define BASHSOCK_CHAN_H

#include "conv.h"
#include "ring.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHAN_SLICE 100000000LL /* longest wait between ticks: 100 ms */

/* What a call came to (the builtins turn these into messages). */
enum chan_rc {
	CHAN_OK = 0,
	CHAN_EMPTY,    /* read: nothing within the wait */
	CHAN_ENDED,    /* read: the stream ended and all was read */
	CHAN_CLOSED,   /* the binding is closing or its helper is gone */
	CHAN_CONN,     /* write: the connection is closed */
	CHAN_SHUT,     /* write: our sending side was shut (write -d) */
	CHAN_GONE,     /* write -c, unbind -c: that client is gone */
	CHAN_NOCLIENT, /* write on a -1 binding: no client yet */
	CHAN_BUSY,     /* write: this process holds the lock (a trap) */
	CHAN_CORRUPT,  /* the shared header is not a ring's any more */
	CHAN_NOMEM,
	CHAN_IO /* write: reading the input failed (errno) */
};

/* A growing buffer for what read takes (kept across calls). */
struct chan_buf {
	char *p;
	size_t cap;
};

struct chan_rd {
	size_t max;	  /* at most this many bytes (SIZE_MAX: all) */
	int line;	  /* one line, newline included when it came */
	int by_client;	  /* input bindings: one client's bytes only */
	int64_t deadline; /* monotonic ns; 0 or past: do not wait */
	void (*tick)(void);
};

/*
 * Takes from rx (the binding's read side) into b: everything buffered, a
 * line, at most max bytes, one client's run. CHAN_OK with *n > 0 bytes
 * (and *client, the client's N, with by_client), CHAN_EMPTY, CHAN_ENDED
 * (a -1 binding's helper is told the end was seen), CHAN_CORRUPT, or
 * CHAN_NOMEM.
 */
int chan_read(struct ring *rx, const struct chan_rd *rq, struct chan_buf *b,
    size_t *n, uint32_t *client);

/* Why writes to tx are refused now (CHAN_OK: they are not). */
int chan_write_state(const struct ring *tx);
/* Takes the writer lock for pid, waiting while another live process holds
 * it. CHAN_OK, or why not (CHAN_BUSY: pid holds it already). */
int chan_lock(struct ring *tx, pid_t pid, void (*tick)(void));
void chan_unlock(struct ring *tx, pid_t pid);
/*
 * With the lock held: appends n bytes for the peer (client 0: an output
 * binding's stream) or for client N of an input binding (as reply
 * records, waiting while N's queue is full), waiting for room. CHAN_OK or
 * why not.
 */
int chan_write(struct ring *tx, uint32_t client, const char *buf, size_t n,
    void (*tick)(void));
/* As chan_write, from descriptor fd until its end of file. */
int chan_write_fd(struct ring *tx, uint32_t client, int fd, void (*tick)(void));
/* With the lock held: ends our sending side (write -d) once what is queued
 * is sent; later writes get CHAN_SHUT. */
void chan_shut(struct ring *tx);

/* 1 for a -1 input binding. */
int chan_is_one(const struct ring *r);
/* The client a plain write on an input binding goes to: a -1 binding's
 * one client (CHAN_NOCLIENT before it came). */
int chan_one(const struct ring *tx, uint32_t *client);
/* Client N of an input binding: CHAN_OK while it is connected, else
 * CHAN_GONE; its address into addr (CONV_ADDR) and port when not NULL. */
int chan_client(
    const struct ring *r, uint32_t client, char *addr, uint32_t *port);
/* With the lock held: asks the helper to close client N once its queue is
 * sent. Then (lock released) chan_client_wait waits until it is closed. */
int chan_close_client(struct ring *tx, uint32_t client, void (*tick)(void));
int chan_client_wait(const struct ring *r, uint32_t client, int64_t deadline,
    void (*tick)(void));
/* What `bindings' shows of a binding. */
struct chan_info {
	int input; /* an input binding (else an output) */
	int one;   /* bind-input -1 */
	pid_t pid; /* its helper */
	uint32_t port;
	char addr[72];
	size_t buffered;  /* an input's unread bytes, an output's unsent */
	int ended;	  /* a -1 binding whose client is gone */
	uint32_t clients; /* an input's clients connected */
	uint32_t conn;	  /* an output's enum ring_conn */
};
void chan_info(const struct ring *r, struct chan_info *i);
/* 1 once the kernel marked the binding's helper dead (robust futex). */
int chan_helper_died(const struct ring *r);
/* What an output's helper did not deliver when it ended; with killed (the
 * helper got SIGKILL), what was still queued counts too. */
uint64_t chan_undelivered(const struct ring *r, int killed);

/* Calls fn for every connected client of an input binding, in N order. */
void chan_clients(const struct ring *r,
    void (*fn)(uint32_t n, const char *addr, uint32_t port, void *arg),
    void *arg);

#endif
