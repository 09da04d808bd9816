/*
 * ring: byte rings in a shared file mapping, used across processes.
 *
 * A binding's file holds one header page, then (input bindings only) the
 * conversation tables of conv.h, then two rings of cap bytes each: rx, the
 * bytes that come from the network (what `read' returns), and tx, the bytes
 * that go to it (what `write' queues). struct ring is one direction's view
 * of the mapping: the common header, that direction's cursors and data.
 *
 * Invariant of each direction: tail <= head <= tail + cap; bytes [tail,
 * head) are readable and live at data[pos % cap]. head only grows, by the
 * producer side; tail only grows, by the consumer side with
 * compare-and-swap (copy first, then CAS, so a consumer that dies mid-copy
 * takes nothing). Every cursor lives in the mapping; waiter counters are
 * hints that only decide whether to wake.
 *
 * rx: one producer at a time, the holder of the direct receiver lock (the
 * helper, or a shell on the direct path: struct ring_direct below); any
 * number of consumers (readers).
 * tx: producers serialised by ring_wlock; one consumer at a time, the
 * holder of the direct sender lock (the helper, or a shell sending what it
 * queued itself).
 * A direction's end flag says its producer will add nothing more: rx, the
 * peer ended its stream (or a -1 binding's client is gone); tx, the
 * sending side was shut (`write -d') or the connection is gone.
 */
#ifndef BASHSOCK_RING_H
#define BASHSOCK_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RING_MAGIC 0x6b636f7368736162ULL /* "bashsock" */
#define RING_VERSION 4
#define RING_HDR 4096 /* the header page; tables or data follow */

enum ring_kind { RING_IN = 1, RING_OUT = 2 };
enum ring_dirn { RING_RX = 0, RING_TX = 1 };

enum ring_state {
	RING_LIVE = 0,	/* helper running */
	RING_ENDED = 1, /* a -1 binding whose client is gone (listed ended) */
	RING_CLOSED = 2 /* helper closing or gone: binding over */
};

/* Flags set at creation. */
#define RING_F_ONE 0x1	     /* bind-input -1 */
#define RING_F_RECONNECT 0x2 /* bind-output -r */
#define RING_F_TLS 0x4	     /* -T: the connections are TLS */

/* Output connection states (ring_hdr.conn). */
enum ring_conn { RING_CONNECTING = 0, RING_CONNECTED = 1, RING_DOWN = 2 };

/* Robust-futex bit the kernel sets when the helper dies (futex(2)). */
#define RING_OWNER_DIED 0x40000000U

/*
 * One direction's cursors. head and tail each start their own cache line
 * so that the producer and the consumers do not share one; the padding
 * that costs is deliberate.
 */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): layout above
struct ring_dir {
	uint64_t head __attribute__((aligned(64)));
	uint32_t wseq;	/* futex: bumped when bytes or state arrive */
	uint32_t rwait; /* consumers waiting (hint) */
	uint32_t end;	/* the producer side ended (see above) */

	uint64_t tail __attribute__((aligned(64)));
	uint32_t rseq;	/* futex: bumped when bytes are consumed */
	uint32_t wwait; /* producer waiting for space (hint) */
	uint32_t lwait; /* writers waiting for wlock (hint) */
	uint32_t wlock; /* tx: PID of the writer holding the lock */
};

/*
 * The direct path (direct.h): a binding with one plain TCP connection (an
 * output binding, a -1 input binding's client) offers its descriptor, so
 * that a shell sends and receives on it itself instead of through the
 * helper. See direct.h for the rules; in short:
 * - fd and gen change together, gen first and fd -1 before the helper
 *   closes, under slock: a process that read gen, fetched fd and read the
 *   same gen again holds the connection (or its last, dead socket).
 * - slock: the PID that sends on the connection; for an output binding
 *   also the only one that moves sent and tx's tail (tail <= sent <= head:
 *   [tail, sent) was handed to the socket and waits for its ack, [sent,
 *   head) is not sent yet).
 * - rlock: the PID that receives from the connection into rx: rx has one
 *   producer at a time, so bytes keep their order. Only the helper marks
 *   the peer's end or a loss; a shell that meets one hands rx back.
 * - mode: a shell receives (set by one under rlock): the helper leaves the
 *   connection's input alone, watching only for its end or loss. Cleared
 *   under rlock by the helper, or by a shell that leaves readers behind.
 * - want: the helper waits for a lock; its holder rings it (tx's wseq) as
 *   it lets go.
 */
struct ring_direct {
	int32_t fd;	/* the helper's descriptor of the connection, or -1 */
	uint32_t gen;	/* bumped whenever fd changes */
	uint32_t slock; /* PID of the sender */
	uint32_t rlock; /* PID of the receiver */
	uint32_t mode;	/* a shell receives; the helper watches only */
	uint32_t want;	/* the helper waits for slock or rlock */
	uint64_t sent;	/* outputs: tx bytes handed to the socket */
};

/*
 * The shared header, mapped by every process of the binding (and by other
 * builds of the .so, checked by RING_VERSION): its order is the layout.
 */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding): layout above
struct ring_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t kind;
	uint64_t cap; /* of each direction */
	uint32_t flags;
	int32_t pid;
	uint32_t port;
	char addr[72]; /* listen or peer address, for `bindings' */

	/* Helper's robust-list node and the word the kernel marks on death. */
	uint64_t robust_next;
	uint32_t owner; /* helper TID; RING_OWNER_DIED once it died */

	uint32_t state;	   /* enum ring_state */
	uint32_t end_seen; /* a reader reported the end (futex) */
	uint32_t clients;  /* inputs: clients connected */
	uint32_t conn;	   /* outputs: enum ring_conn */
	uint32_t spare;
	/* outputs: bytes written but never acknowledged by the peer when the
	 * helper gave up at close (after OUTPUT_DRAIN) or lost them with the
	 * connection; read by `unbind' from its mapping. */
	uint64_t undelivered;
	uint64_t data_off; /* where rx data starts; tx follows at +cap */

	struct ring_dir rx __attribute__((aligned(64)));
	struct ring_dir tx;
	struct ring_direct direct; /* the shell's own path (direct.h) */
};

/* One direction's view of a mapped binding file. The rx view made by
 * ring_create or ring_map owns the mapping (ring_unmap); views made from
 * it with ring_view share it. */
struct ring {
	struct ring_hdr *h;
	struct ring_dir *d;
	char *data;
	size_t cap;
	size_t maplen;
};

/* Sizes fd for the header, extra bytes of tables and two directions of cap
 * bytes (posix_fallocate: ENOSPC, never SIGBUS), maps it and initialises
 * the header; r is the rx view. 0, or -1 with errno. */
int ring_create(struct ring *r, int fd, size_t cap, size_t extra, uint32_t kind,
    uint32_t flags);
/* Maps an existing ring file, checking magic, version and size; r is the
 * rx view. 0 or -1. */
int ring_map(struct ring *r, int fd);
void ring_unmap(struct ring *r);
/* The view of direction dirn (RING_RX, RING_TX) of r's mapping. */
void ring_view(const struct ring *r, int dirn, struct ring *v);
/* The tables between the header page and the data (NULL when none). */
void *ring_extra(const struct ring *r);

static inline uint64_t
ring_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline size_t
ring_used(const struct ring *r)
{
	uint64_t t = ring_load(&r->d->tail);
	return (size_t)(ring_load(&r->d->head) - t);
}

/* 1 while the helper lives and the binding is not closed. No syscall. */
int ring_alive(const struct ring *r);
/* Sets state and wakes every waiter of both directions. */
void ring_set_state(struct ring *r, uint32_t state);
/* Marks r's direction ended (see above) and wakes its waiters. */
void ring_set_end(struct ring *r);
static inline int
ring_ended(const struct ring *r)
{
	return __atomic_load_n(&r->d->end, __ATOMIC_ACQUIRE) != 0;
}

/* --- producer side --- */
/* Room at head: 0 when full, or when the header breaks the invariant. */
size_t ring_free(const struct ring *r);
/* Copies n bytes to data at head+off (unpublished). n <= free - off. */
void ring_put(struct ring *r, size_t off, const void *src, size_t n);
/* Copies n bytes at head+off out (unpublished region). */
void ring_get_unpublished(
    const struct ring *r, size_t off, void *dst, size_t n);
/* The free region at head+off as up to two spans; returns span count. */
int ring_spans(struct ring *r, size_t off, size_t n, char **p1, size_t *n1,
    char **p2, size_t *n2);
/* Publishes n bytes at head and wakes consumers if any wait. */
void ring_publish(struct ring *r, size_t n);
/* Publishes n bytes at head without a wake (wseq stays): for a producer
 * that sends them itself or pokes the consumer later. */
void ring_publish_quiet(struct ring *r, size_t n);
/* Bumps wseq and wakes the consumers that wait, publishing nothing. */
void ring_poke(struct ring *r);
/* Index (relative to head) of the last '\n' in [head, head+n), or -1. */
ssize_t ring_last_nl(const struct ring *r, size_t n);

/* --- consumer side --- */
#define RING_TAKE_LINE 0x1    /* stop after the first '\n' (included) */
#define RING_TAKE_PARTIAL 0x2 /* with LINE: take an unterminated rest */
/*
 * Takes up to max bytes from tail into dst. With RING_TAKE_LINE, takes one
 * line including its '\n', or returns 0 when no whole line is buffered
 * (unless the ring is full, or RING_TAKE_PARTIAL, or max bytes have no '\n':
 * then it takes what there is, up to max). Returns the count taken, or
 * RING_TAKE_CORRUPT when the header breaks the invariant (head behind tail
 * or beyond tail + cap: the file was written to by someone else).
 */
#define RING_TAKE_CORRUPT ((size_t)-1)
size_t ring_take(struct ring *r, char *dst, size_t max, int flags);
/* One try of ring_take at tail t over the bytes up to head h, as the caller
 * saw them (a producer may publish more meanwhile: max, sized on what the
 * caller saw, must not then read as a cut): the count taken, 0 as
 * ring_take's 0, or -1 when tail is no longer t (or h and t disagree): try
 * again. */
ssize_t ring_take_at(
    struct ring *r, uint64_t t, uint64_t h, char *dst, size_t max, int flags);
/* 1 when the header breaks tail <= head <= tail + cap, seen in a consistent
 * snapshot (tail did not move while head was read); 0 otherwise. Bounded:
 * no spinning on a header someone keeps rewriting. */
int ring_corrupt(const struct ring *r);

/* Waits until wseq differs from seq, at most timeout_ns (-1: forever).
 * 0 on a wake or change, -1 with errno ETIMEDOUT or EINTR. */
int ring_wait_data(struct ring *r, uint32_t seq, int64_t timeout_ns);
static inline uint32_t
ring_wseq(const struct ring *r)
{
	return __atomic_load_n(&r->d->wseq, __ATOMIC_ACQUIRE);
}
/* Producer: waits until a consumer bumps rseq from seq. As above. */
int ring_wait_space(struct ring *r, uint32_t seq, int64_t timeout_ns);
static inline uint32_t
ring_rseq(const struct ring *r)
{
	return __atomic_load_n(&r->d->rseq, __ATOMIC_ACQUIRE);
}

/* --- PID locks: a word holding its holder's PID, 0 when free --- */
/* Takes the lock at w for pid; steals it from a holder that died. 0, or -1
 * with errno EBUSY (a live process holds it) or EDEADLK (pid does). */
int ring_pidlock_try(uint32_t *w, pid_t pid);
/* Frees it if pid holds it: 0, else -1. Wakes nobody. */
int ring_pidunlock(uint32_t *w, pid_t pid);

/* --- tx: writers serialised by a PID lock --- */
/* Tries to take the writer lock for pid; steals it from a dead holder.
 * 0 when taken, -1 (EBUSY) when a live process holds it. */
int ring_wlock_try(struct ring *r, pid_t pid);
/* Releases the lock; wakes a waiter only when one announced itself in
 * lwait, so an uncontended unlock makes no syscall. */
void ring_wunlock(struct ring *r, pid_t pid);
/* Waits for the lock word to change, at most timeout_ns (counted in lwait
 * while it waits). */
int ring_wlock_wait(struct ring *r, int64_t timeout_ns);

/* Helper side: registers the header's owner word with the kernel's robust
 * list, so it is marked RING_OWNER_DIED when this process dies, however. */
int ring_own(struct ring *r);

/* futex wrappers on words of the mapping (shared, never PRIVATE). */
int ring_futex_wait(uint32_t *w, uint32_t val, int64_t timeout_ns);
void ring_futex_wake(uint32_t *w, int n);

/* --- tx: one consumer at a time (the holder of the sender lock) --- */
/* The readable bytes at tail as up to two spans, without copying; returns
 * the span count, 0 when the ring is empty (or its header breaks the
 * invariant). The consumer only. */
int ring_peek(
    const struct ring *r, char **p1, size_t *n1, char **p2, size_t *n2);
/* Copies n readable bytes at tail+off out, without taking them. The
 * consumer only. */
void ring_get_at(const struct ring *r, size_t off, void *dst, size_t n);
/* Drops n peeked bytes at tail and wakes producers waiting for space.
 * The consumer only. */
void ring_consume(struct ring *r, size_t n);

#endif
