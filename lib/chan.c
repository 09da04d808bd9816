/* chan: the shell's side of a binding; see chan.h. */
#include "chan.h"
#include "clock.h"
#include "direct.h"
#include "helper.h"
#include "rt.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define CHAN_TRIES 1000 /* cursors that disagree this often: corrupt */

/*
 * The binding this process last wrote to, while it has read nothing since:
 * the writes that follow it are a burst, which the helper sends in a few
 * large pieces while the shell goes on writing. The first write after a
 * read (the request whose answer the shell will wait for) goes straight
 * out on the direct path.
 */
static const struct ring_hdr *chan_streak;

static int64_t
chan_left(int64_t deadline)
{
	int64_t left = deadline - clock_now();

	if (left <= 0)
		return 0;
	return left < CHAN_SLICE ? left : CHAN_SLICE;
}

static int
chan_grow(struct chan_buf *b, size_t n)
{
	char *p;

	if (n <= b->cap)
		return 0;
	if ((p = realloc(b->p, n)) == NULL)
		return -1;
	b->p = p;
	b->cap = n;
	return 0;
}

/* 1 when nothing more will come into rx. */
static int
chan_rx_over(const struct ring *rx)
{
	return LOAD(&rx->h->state) != RING_LIVE || !ring_alive(rx) ||
	       ring_ended(rx);
}

/* A -1 binding's helper waits for a reader to have seen the end. */
static void
chan_end_ack(struct ring *rx)
{
	if (LOAD(&rx->h->state) != RING_ENDED &&
	    !(rx->h->kind == RING_IN && ring_ended(rx)))
		return;
	__atomic_store_n(&rx->h->end_seen, 1, __ATOMIC_RELEASE);
	ring_futex_wake(&rx->h->end_seen, 1);
}

/*
 * One take: everything (or max), a line, or one client's run. Returns the
 * count (0: nothing by the rules now), -1 when the cursors moved (try
 * again), -2 when they make no sense, -3 out of memory.
 */
static ssize_t
chan_take(struct ring *rx, const struct chan_rd *rq, int flags,
    struct chan_buf *b, uint32_t *client)
{
	uint64_t t = ring_load(&rx->d->tail), h = ring_load(&rx->d->head);
	size_t used = (size_t)(h - t), want, seg;
	struct conv *cv;

	if (h < t || used > rx->cap)
		return -2;
	if (used == 0)
		return 0;
	/* One more than is buffered, unless max says less: with a line,
	 * "max bytes without a newline" reads as a cut, and a line not yet
	 * whole would be taken. */
	want = used < rq->max ? used + 1 : rq->max;
	if (rq->by_client && (cv = conv_of(rx)) != NULL) {
		if ((*client = conv_segment(cv, rx, &t, &seg)) == 0)
			return -1;
		if (seg < used) {
			/* The run is over: another client's follows. */
			flags |= RING_TAKE_PARTIAL;
			if (want > seg)
				want = seg;
		}
	}
	if (chan_grow(b, want) == -1)
		return -3;
	return ring_take_at(rx, t, h, b->p, want, flags);
}

/* The shell's own receiving (direct.h), held across one read's rounds:
 * the copy of the connection and the receiver's lock. */
struct chan_direct {
	int fd; /* -1: not taken */
	uint32_t gen;
	pid_t pid;
};

/* Lets the copy and the lock go; handback when the shell met the end or a
 * loss, which are the helper's to see. */
static void
chan_undirect(struct ring *rx, struct chan_direct *dc, int handback)
{
	if (dc->fd == -1)
		return;
	direct_runlock(rx, dc->pid, handback);
	direct_put(dc->fd);
	dc->fd = -1;
}

/*
 * One round of the shell's own receiving: takes the path if it is open
 * (the copy and the lock), receives what the socket holds, and when
 * nothing was there, waits up to left for it. 1 when bytes came (take
 * again), 0 when none came within left, -1 when the path is not open (or
 * was handed back): wait for the helper; -2 on a signal.
 */
static int
chan_direct_round(struct ring *rx, struct chan_direct *dc, int64_t left)
{
	ssize_t got;
	int w;

	if (dc->fd == -1) {
		/* Not waiting: only bytes that the helper leaves to the shells
		 * (while one converses) need a look at the socket. */
		if (left == 0 &&
		    __atomic_load_n(&rx->h->direct.mode, __ATOMIC_SEQ_CST) == 0)
			return -1;
		if ((dc->fd = direct_get(rx, &dc->gen)) == -1)
			return -1;
		dc->pid = rt_self();
		if (direct_rlock(rx, dc->pid) == -1) {
			direct_put(dc->fd);
			dc->fd = -1;
			return -1;
		}
	}
	if (!direct_current(rx, dc->gen)) {
		chan_undirect(rx, dc, 0);
		return -1;
	}
	/* The take before found too little: wait first (a poll that finds
	 * bytes returns at once), then receive. */
	if (left > 0 && (w = direct_wait(dc->fd, left)) <= 0)
		return w == 0 ? 0 : -2;
	if ((got = direct_recv(rx, dc->fd)) > 0)
		return 1;
	if (got == -1) {
		chan_undirect(rx, dc, 1);
		return -1;
	}
	return left > 0 ? 1 : 0; /* readable but nothing: look again */
}

int
chan_read(struct ring *rx, const struct chan_rd *rq, struct chan_buf *b,
    size_t *n, uint32_t *client)
{
	struct chan_direct dc = {.fd = -1};
	int flags = rq->line ? RING_TAKE_LINE : 0, bad = 0, over, d, rc;
	uint32_t seq;
	int64_t left;
	ssize_t k;

	chan_streak = NULL; /* the next write is an answer's request */
	for (;;) {
		seq = ring_wseq(rx);
		over = chan_rx_over(rx);
		if (over)
			flags |= RING_TAKE_PARTIAL;
		k = chan_take(rx, rq, flags, b, client);
		if (k > 0) {
			*n = (size_t)k;
			rc = CHAN_OK;
			break;
		}
		if (k == -3) {
			rc = CHAN_NOMEM;
			break;
		}
		if (k < 0) {
			if ((k == -2 && ring_corrupt(rx)) ||
			    ++bad >= CHAN_TRIES) {
				rc = CHAN_CORRUPT;
				break;
			}
			continue;
		}
		if (over) {
			if (ring_used(rx) > 0 && ++bad < CHAN_TRIES)
				continue; /* the producer's last bytes */
			chan_end_ack(rx);
			rc = CHAN_ENDED;
			break;
		}
		left = chan_left(rq->deadline);
		if ((d = chan_direct_round(rx, &dc, left)) == 1)
			continue;
		if (d == -1) {
			if (left == 0) {
				rc = CHAN_EMPTY;
				break;
			}
			/* The helper receives for the readers that wait. */
			direct_handback(rx);
			ring_wait_data(rx, seq, left);
		} else if (d == 0 && left == 0) {
			rc = CHAN_EMPTY;
			break;
		}
		/* No copy is held while the shell's traps run (they fork). */
		chan_undirect(rx, &dc, 0);
		rq->tick();
	}
	chan_undirect(rx, &dc, 0);
	return rc;
}

int
chan_write_state(const struct ring *tx)
{
	if (!ring_alive(tx))
		return CHAN_CLOSED;
	if (ring_ended(tx))
		return LOAD(&tx->h->conn) == RING_DOWN ? CHAN_CONN : CHAN_SHUT;
	if (LOAD(&tx->h->state) == RING_ENDED)
		return tx->h->kind == RING_OUT ? CHAN_CONN : CHAN_GONE;
	return CHAN_OK;
}

int
chan_lock(struct ring *tx, pid_t pid, void (*tick)(void))
{
	int rc;

	for (;;) {
		if ((rc = chan_write_state(tx)) != CHAN_OK)
			return rc;
		if (ring_wlock_try(tx, pid) == 0) {
			/* Pairs with the helper's store of RING_CLOSED. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if ((rc = chan_write_state(tx)) != CHAN_OK)
				ring_wunlock(tx, pid);
			return rc;
		}
		if (errno == EDEADLK)
			return CHAN_BUSY;
		ring_wlock_wait(tx, CHAN_SLICE);
		tick();
	}
}

/* Sends what this writer queued on an output binding itself (direct.h),
 * or has the helper send it. */
static void
chan_flush(struct ring *tx, pid_t pid)
{
	if (tx->h->kind != RING_OUT)
		return;
	if (chan_streak == tx->h || direct_flush(tx, pid) == -1)
		ring_poke(tx);
	chan_streak = tx->h;
}

void
chan_unlock(struct ring *tx, pid_t pid)
{
	chan_flush(tx, pid);
	ring_wunlock(tx, pid);
}

int
chan_lock_client(
    struct ring *tx, uint32_t client, pid_t pid, void (*tick)(void))
{
	struct conv_client *c;
	uint32_t cur;
	int rc;

	for (;;) {
		if ((rc = chan_write_state(tx)) != CHAN_OK)
			return rc;
		c = conv_find(conv_of(tx), client);
		if (c == NULL || LOAD(&c->state) != CONV_LIVE)
			return CHAN_GONE;
		cur = 0;
		if (__atomic_compare_exchange_n(&c->wlock, &cur, (uint32_t)pid,
			0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			return LOAD(&c->n) == client ? CHAN_OK : CHAN_GONE;
		if (cur == (uint32_t)pid)
			return CHAN_BUSY;
		/* A holder that died (SIGKILL) leaves it: taken over. */
		if (kill((pid_t)cur, 0) == -1 && errno == ESRCH) {
			__atomic_compare_exchange_n(&c->wlock, &cur, 0, 0,
			    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&c->lwait, 1, __ATOMIC_SEQ_CST);
		if (LOAD(&c->wlock) == cur)
			ring_futex_wait(&c->wlock, cur, CHAN_SLICE);
		__atomic_sub_fetch(&c->lwait, 1, __ATOMIC_SEQ_CST);
		tick();
	}
}

void
chan_unlock_client(struct ring *tx, uint32_t client, pid_t pid)
{
	struct conv_client *c = conv_find(conv_of(tx), client);
	uint32_t cur = (uint32_t)pid;

	if (c != NULL &&
	    __atomic_compare_exchange_n(
		&c->wlock, &cur, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED) &&
	    LOAD(&c->lwait) != 0)
		ring_futex_wake(&c->wlock, 1);
}

/* Free space in tx, at least need bytes, waiting while there is less.
 * CHAN_OK or why writes are refused now. */
static int
chan_room(
    struct ring *tx, size_t need, size_t *fre, pid_t pid, void (*tick)(void))
{
	uint32_t seq;
	int rc, bad = 0;

	for (;;) {
		if ((rc = chan_write_state(tx)) != CHAN_OK)
			return rc;
		seq = ring_rseq(tx);
		if (ring_used(tx) > tx->cap &&
		    (ring_corrupt(tx) || ++bad >= CHAN_TRIES))
			return CHAN_CORRUPT;
		if ((*fre = ring_free(tx)) >= need && *fre <= tx->cap)
			return CHAN_OK;
		/* What is queued must go, and be acknowledged, for room: the
		 * helper watches the acknowledgements while writers wait. */
		chan_flush(tx, pid);
		if (ring_free(tx) >= need)
			continue;
		ring_poke(tx);
		ring_wait_space(tx, seq, CHAN_SLICE);
		tick();
	}
}

/* Client N's queue may take more: waits while it holds qmax bytes. */
static int
chan_queue_room(struct ring *tx, struct conv *cv, uint32_t client,
    struct conv_client **slot, void (*tick)(void))
{
	struct conv_client *c;
	uint32_t seq;
	int rc;

	for (;;) {
		if ((rc = chan_write_state(tx)) != CHAN_OK)
			return rc;
		c = conv_find(cv, client);
		if (c == NULL || LOAD(&c->state) != CONV_LIVE)
			return CHAN_GONE;
		seq = LOAD(&c->qseq);
		if (LOAD(&c->queued) < LOAD(&cv->qmax)) {
			*slot = c;
			return CHAN_OK;
		}
		__atomic_add_fetch(&c->qwait, 1, __ATOMIC_SEQ_CST);
		if (LOAD(&c->queued) >= LOAD(&cv->qmax) &&
		    LOAD(&c->n) == client)
			ring_futex_wait(&c->qseq, seq, CHAN_SLICE);
		__atomic_sub_fetch(&c->qwait, 1, __ATOMIC_SEQ_CST);
		tick();
	}
}

/* One reply record for client N: its header and n <= CONV_REC_MAX bytes,
 * published at once, under the binding's lock taken for pid (N's own lock
 * is the caller's). */
static int
chan_record(struct ring *tx, uint32_t client, const char *buf, size_t n,
    pid_t pid, void (*tick)(void))
{
	struct conv *cv = conv_of(tx);
	struct conv_client *c;
	struct conv_rec rec;
	size_t fre;
	int rc;

	if ((rc = chan_queue_room(tx, cv, client, &c, tick)) != CHAN_OK)
		return rc;
	if ((rc = chan_lock(tx, pid, tick)) != CHAN_OK)
		return rc;
	if ((rc = chan_room(tx, sizeof(rec) + n, &fre, pid, tick)) == CHAN_OK) {
		rec.n = client;
		rec.len = (uint32_t)n;
		ring_put(tx, 0, &rec, sizeof(rec));
		ring_put(tx, sizeof(rec), buf, n);
		/* Counted before the helper can send (and uncount) it. */
		__atomic_add_fetch(&c->queued, n, __ATOMIC_SEQ_CST);
		ring_publish(tx, sizeof(rec) + n);
	}
	chan_unlock(tx, pid);
	return rc;
}

/* Publishes n bytes of an output binding's stream. While the helper offers
 * the connection, without waking it: the writer sends them itself as it
 * lets go of the lock (chan_flush), or pokes it then. */
static void
chan_publish(struct ring *tx, size_t n)
{
	if (__atomic_load_n(&tx->h->direct.fd, __ATOMIC_SEQ_CST) >= 0)
		ring_publish_quiet(tx, n);
	else
		ring_publish(tx, n);
}

/* The largest record that always fits: a full ring's half. */
static size_t
chan_rec_max(const struct ring *tx)
{
	size_t m = tx->cap / 2 - sizeof(struct conv_rec);

	return m < CONV_REC_MAX ? m : CONV_REC_MAX;
}

/* A reply to client N may go straight to its socket (direct.h): N is the
 * -1 binding's offered client, and nothing waits before it in tx or in its
 * queue (its writer, the caller, holds N's lock: nothing more comes). */
static int
chan_direct_ok(const struct ring *tx, uint32_t client)
{
	struct conv *cv = conv_of(tx);
	struct conv_client *c;

	if (cv == NULL || LOAD(&tx->h->direct.fd) < 0 ||
	    LOAD(&cv->one) != client || ring_used(tx) != 0 ||
	    (c = conv_find(cv, client)) == NULL)
		return 0;
	return LOAD(&c->state) == CONV_LIVE && LOAD(&c->queued) == 0;
}

int
chan_write(struct ring *tx, uint32_t client, const char *buf, size_t n,
    pid_t pid, void (*tick)(void))
{
	size_t k, fre;
	int rc;

	if (client != 0 && chan_streak != tx->h && chan_direct_ok(tx, client)) {
		k = direct_send(tx, buf, n);
		buf += k;
		n -= k;
	}
	if (client != 0)
		chan_streak = tx->h;
	while (n > 0) {
		if (client != 0) {
			k = n < chan_rec_max(tx) ? n : chan_rec_max(tx);
			rc = chan_record(tx, client, buf, k, pid, tick);
		} else if ((rc = chan_room(tx, 1, &fre, pid, tick)) ==
			   CHAN_OK) {
			k = fre < n ? fre : n;
			ring_put(tx, 0, buf, k);
			chan_publish(tx, k);
		}
		if (rc != CHAN_OK)
			return rc;
		buf += k;
		n -= k;
	}
	return CHAN_OK;
}

int
chan_write_fd(
    struct ring *tx, uint32_t client, int fd, pid_t pid, void (*tick)(void))
{
	static char *bounce; /* kept: a tick may longjmp out of this */
	struct iovec iov[2];
	char *p1, *p2;
	size_t fre;
	ssize_t n;
	int cnt, rc;

	if (client != 0 && bounce == NULL &&
	    (bounce = malloc(CONV_REC_MAX)) == NULL)
		return CHAN_NOMEM;
	for (;;) {
		if (client != 0) {
			n = read(fd, bounce, chan_rec_max(tx));
			if (n > 0 && (rc = chan_record(tx, client, bounce,
					  (size_t)n, pid, tick)) != CHAN_OK)
				return rc;
		} else {
			if ((rc = chan_room(tx, 1, &fre, pid, tick)) != CHAN_OK)
				return rc;
			cnt = ring_spans(tx, 0, fre, &p1, &iov[0].iov_len, &p2,
			    &iov[1].iov_len);
			iov[0].iov_base = p1;
			iov[1].iov_base = p2;
			if ((n = readv(fd, iov, cnt)) > 0)
				chan_publish(tx, (size_t)n);
		}
		if (n == 0)
			return CHAN_OK;
		if (n < 0 && errno == EINTR)
			tick();
		else if (n < 0)
			return CHAN_IO;
	}
}

void
chan_shut(struct ring *tx)
{
	ring_set_end(tx);
}

int
chan_is_one(const struct ring *r)
{
	return (r->h->flags & RING_F_ONE) != 0;
}

int
chan_one(const struct ring *tx, uint32_t *client)
{
	struct conv *cv = conv_of(tx);

	if (cv == NULL || (*client = LOAD(&cv->one)) == 0)
		return CHAN_NOCLIENT;
	return chan_client(tx, *client, NULL, NULL);
}

int
chan_client(const struct ring *r, uint32_t client, char *addr, uint32_t *port)
{
	struct conv *cv = conv_of(r);
	struct conv_client *c;

	if (cv == NULL || (c = conv_find(cv, client)) == NULL)
		return CHAN_GONE;
	if (addr != NULL)
		memcpy(addr, c->addr, CONV_ADDR);
	if (port != NULL)
		*port = c->port;
	if (addr != NULL)
		addr[CONV_ADDR - 1] = '\0';
	return LOAD(&c->state) == CONV_LIVE && LOAD(&c->n) == client
		   ? CHAN_OK
		   : CHAN_GONE;
}

int
chan_client_known(const struct ring *r, uint32_t client)
{
	struct conv *cv = conv_of(r);

	return cv != NULL && conv_find(cv, client) != NULL;
}

int
chan_close_client(
    struct ring *tx, uint32_t client, pid_t pid, void (*tick)(void))
{
	struct conv_rec rec = {client, CONV_CLOSE};
	size_t fre;
	int rc;

	if ((rc = chan_client(tx, client, NULL, NULL)) != CHAN_OK)
		return rc;
	if ((rc = chan_lock(tx, pid, tick)) != CHAN_OK)
		return rc;
	if ((rc = chan_room(tx, sizeof(rec), &fre, pid, tick)) == CHAN_OK) {
		ring_put(tx, 0, &rec, sizeof(rec));
		ring_publish(tx, sizeof(rec));
	}
	chan_unlock(tx, pid);
	return rc;
}

int
chan_client_wait(
    const struct ring *r, uint32_t client, int64_t deadline, void (*tick)(void))
{
	struct conv *cv = conv_of(r);
	struct conv_client *c;
	uint32_t seq;
	int64_t left;

	for (;;) {
		if (!ring_alive(r))
			return CHAN_CLOSED;
		if (cv == NULL || (c = conv_find(cv, client)) == NULL)
			return CHAN_OK;
		seq = LOAD(&c->qseq);
		if (LOAD(&c->state) != CONV_LIVE || LOAD(&c->n) != client)
			return CHAN_OK;
		if ((left = chan_left(deadline)) == 0)
			return CHAN_EMPTY;
		__atomic_add_fetch(&c->qwait, 1, __ATOMIC_SEQ_CST);
		ring_futex_wait(&c->qseq, seq, left);
		__atomic_sub_fetch(&c->qwait, 1, __ATOMIC_SEQ_CST);
		tick();
	}
}

struct chan_cl {
	uint32_t n, port;
	char addr[CONV_ADDR];
};

static int
chan_cl_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct chan_cl *)a)->n;
	uint32_t y = ((const struct chan_cl *)b)->n;

	return x < y ? -1 : x > y;
}

void
chan_clients(const struct ring *r,
    void (*fn)(uint32_t n, const char *addr, uint32_t port, void *arg),
    void *arg)
{
	struct conv *cv = conv_of(r);
	struct chan_cl *cl;
	size_t i, k = 0;

	if (cv == NULL || (cl = malloc(CONV_SLOTS * sizeof(*cl))) == NULL)
		return;
	for (i = 0; i < CONV_SLOTS; i++) {
		if (LOAD(&cv->slot[i].state) != CONV_LIVE)
			continue;
		cl[k].n = LOAD(&cv->slot[i].n);
		cl[k].port = cv->slot[i].port;
		memcpy(cl[k].addr, cv->slot[i].addr, CONV_ADDR);
		cl[k].addr[CONV_ADDR - 1] = '\0';
		k++;
	}
	qsort(cl, k, sizeof(*cl), chan_cl_cmp);
	for (i = 0; i < k; i++)
		fn(cl[i].n, cl[i].addr, cl[i].port, arg);
	free(cl);
}

void
chan_info(const struct ring *r, struct chan_info *i)
{
	struct ring tx;

	memset(i, 0, sizeof(*i));
	i->input = r->h->kind == RING_IN;
	i->one = (r->h->flags & RING_F_ONE) != 0;
	i->pid = r->h->pid;
	i->port = r->h->port;
	memcpy(i->addr, r->h->addr, sizeof(i->addr));
	i->addr[sizeof(i->addr) - 1] = '\0';
	ring_view(r, RING_TX, &tx);
	i->buffered = ring_used(i->input ? r : &tx);
	i->ended = LOAD(&r->h->state) == RING_ENDED;
	i->clients = LOAD(&r->h->clients);
	i->conn = LOAD(&r->h->conn);
}

int
chan_helper_died(const struct ring *r)
{
	return (LOAD(&r->h->owner) & RING_OWNER_DIED) != 0;
}

uint64_t
chan_undelivered(const struct ring *r, int killed)
{
	uint64_t lost = LOAD(&r->h->undelivered);
	struct ring tx;

	if (killed && r->h->kind == RING_OUT) {
		ring_view(r, RING_TX, &tx);
		if (lost < ring_used(&tx))
			lost = ring_used(&tx); /* queued, never even sent */
	}
	return lost;
}
