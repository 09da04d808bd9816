/* input: the bind-input helper's event loop. */
#include "input.h"
#include "clock.h"
#include "bind.h"
#include "conn.h"
#include "conv.h"
#include "direct.h"
#include "helper.h"
#include "net.h"
#include "waker.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Why a client is not read from. */
enum park { PARK_NONE = 0, PARK_OWNER, PARK_SPACE };

struct client {
	struct conn cn;
	int parked; /* enum park */
	uint32_t n; /* its name in the client table */
	struct conv_client *slot;
	char *stash; /* its partial line, not yet published */
	size_t slen;
	char *q; /* replies for it, not yet in its socket: [qoff, qlen) */
	size_t qoff, qlen, qcap;
	int qblocked;	 /* its socket is full: waiting for EPOLLOUT */
	int closing;	 /* close it once q is sent (unbind -c) */
	int offered;	 /* -1: its socket is offered to shells (direct.h) */
	int rwanted;	 /* waiting for a shell to let go of rlock */
	uint32_t events; /* what epoll watches for it now */
	struct client *next;
};

struct input {
	struct binding b;
	struct ring *r; /* rx: what clients send */
	struct ring tx; /* replies to clients, as conv.h records */
	struct conv *cv;
	struct waker wk;
	void *ctx; /* -T: the TLS server context, or NULL */
	int ep, lfd, one, accepted;
	int lwatched;	   /* the listener is under epoll */
	int64_t accept_at; /* accept failed for want of descriptors: not
			      before this time (0: no pause) */
	size_t stash_max;
	uint32_t next_n;
	unsigned nclients;
	unsigned npark[3]; /* clients parked, by enum park */
	struct client *clients, *owner;
	struct client *dead; /* dropped this round, freed at its end */
	int64_t owner_moved; /* the owner last moved the stream (or could) */
	int64_t space_look;  /* parked for room: look again at this time */
	sigset_t waitmask;   /* the mask to wait with: stop signals open */

	pid_t self; /* our PID, the holder's in the direct locks */

	/* bind-input -m and -A: clients at once, and who gets in. */
	unsigned max;
	const struct acl *acl;
};

static volatile int input_stop;
static char input_wake_tag; /* epoll data of the waker's eventfd */

/*
 * TLS bindings: a connection is held apart the same way until its
 * handshake is done, done step by step as epoll says the socket is ready
 * (at most INPUT_PROVE_MAX at once, each for INPUT_TLS_WAIT); one that
 * fails or takes too long is dropped before it becomes a client.
 *
 * Pool bindings (pool.h, data connections): a connection is held apart,
 * out of the client list and the client count, until its first line is
 * the ATTACH line carrying the expected MAC; anything else is dropped
 * before a byte of it reaches the ring. At most INPUT_PROVE_MAX at once
 * (more wait in the listen backlog, in order), each for POOL_PROVE_WAIT.
 */
#define INPUT_PROVE_MAX 32

struct prover {
	struct conn cn; /* fd -1: free */
	int64_t deadline;
	size_t len;
	char line[POOL_ATTACH_LINE];
};

static struct {
	const char *want; /* the expected MAC, or NULL: no proof asked */
	int tls;	  /* held for the TLS handshake instead */
	unsigned n;
	struct prover p[INPUT_PROVE_MAX];
} input_pv;

static void
input_count(struct input *in)
{
	__atomic_store_n(&in->r->h->clients, in->nclients, __ATOMIC_RELEASE);
}

static void
input_watch(struct input *in, int fd, void *ptr, int on)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = ptr;
	epoll_ctl(in->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

/* Makes epoll watch what c waits for now: its bytes unless it is parked,
 * room in its socket while replies wait for it. A client that waits for
 * neither is out of epoll altogether (a reset would still be reported). */
/* 1 while a shell receives from c itself (direct.h): its bytes are the
 * shell's, its end ours. */
static int
input_shell_receives(const struct input *in, const struct client *c)
{
	return c->offered && direct_shell_receives(in->r->h);
}

static void
input_events(struct input *in, struct client *c)
{
	struct epoll_event ev;
	uint32_t want =
	    (c->parked || c->rwanted
		    ? 0
		    : (input_shell_receives(in, c) ? EPOLLRDHUP : EPOLLIN)) |
	    (c->qblocked ? EPOLLOUT : 0);
	int op;

	if (want == c->events)
		return;
	if (want == 0)
		op = EPOLL_CTL_DEL;
	else
		op = c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	epoll_ctl(in->ep, op, c->cn.fd, &ev);
	c->events = want;
}

/*
 * Watches the listener exactly when a new client could be taken: it is
 * open, the client limit is not reached, and accept is not paused for
 * want of descriptors (EMFILE and the like leave the listener readable:
 * watching it then would spin).
 */
static void
input_listen(struct input *in, int64_t now)
{
	int want = in->lfd != -1 && in->nclients < in->max &&
		   input_pv.n < INPUT_PROVE_MAX &&
		   (in->accept_at == 0 || now >= in->accept_at);

	if (want && in->accept_at != 0)
		in->accept_at = 0;
	if (want != in->lwatched) {
		input_watch(in, in->lfd, NULL, want);
		in->lwatched = want;
	}
}

static void
input_park(struct input *in, struct client *c, int why)
{
	if (c->parked)
		return;
	c->parked = why;
	in->npark[why]++;
	input_events(in, c);
	if (why == PARK_SPACE) {
		waker_want(&in->wk, 1, 1);
		if (in->npark[why] == 1)
			in->space_look = clock_now() + INPUT_SPACE_WAIT;
	}
}

/* Reads from the clients parked for the reason why again. */
static void
input_unpark(struct input *in, int why)
{
	struct client *c;

	for (c = in->clients; c != NULL && in->npark[why] > 0; c = c->next) {
		if (c->parked == why) {
			in->npark[why]--;
			c->parked = PARK_NONE;
			input_events(in, c);
		}
	}
	if (why == PARK_SPACE)
		waker_want(&in->wk, 1, 0);
}

/* c takes the stream (NULL: nobody holds it); waiters for it go again. */
static void
input_set_owner(struct input *in, struct client *c)
{
	in->owner = c;
	in->owner_moved = clock_now();
	if (c == NULL)
		input_unpark(in, PARK_OWNER);
}

/* Publishes n bytes of client c at rx's head, its mark first. */
static void
input_publish(struct input *in, struct client *c, size_t n)
{
	if (n == 0)
		return;
	conv_mark(in->cv, in->r, c->n);
	ring_publish(in->r, n);
}

/*
 * c is gone: out of the list, its descriptor closed, its slot told. The
 * struct itself waits in the graveyard until the loop's round ends, since
 * later events of the same epoll batch may still point at it (a reply
 * record can close any client).
 */
static void
input_drop(struct input *in, struct client *c)
{
	struct client **pp;

	for (pp = &in->clients; *pp != NULL && *pp != c; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return; /* not ours: dropped already */
	*pp = c->next;
	if (c->parked)
		in->npark[c->parked]--;
	c->parked = PARK_NONE;
	if (c->events != 0)
		epoll_ctl(in->ep, EPOLL_CTL_DEL, c->cn.fd, NULL);
	if (c->offered)
		direct_offer(in->r->h, -1);
	conn_close(&c->cn);
	conv_detach(c->slot);
	c->next = in->dead;
	in->dead = c;
	in->nclients--;
	input_count(in);
	/* A descriptor is free again: accept may work now. */
	in->accept_at = 0;
	if (in->owner == c)
		input_set_owner(in, NULL);
	if (in->npark[PARK_SPACE] == 0)
		waker_want(&in->wk, 1, 0);
	input_listen(in, clock_now());
}

/* Frees the clients dropped during the round. */
static void
input_bury(struct input *in)
{
	struct client *c;

	while ((c = in->dead) != NULL) {
		in->dead = c->next;
		free(c->stash);
		free(c->q);
		free(c);
	}
}

/*
 * cn becomes client N: named in the client table with its address, read
 * from. On a -1 binding nobody else gets in: the listener closes. 0, or -1
 * when it could not be taken (closed).
 */
static int
input_admit(struct input *in, struct conn *cn)
{
	struct client *c;
	char where[NET_ERR], *sp;
	int fd = cn->fd;

	if (in->nclients >= in->max || (c = calloc(1, sizeof(*c))) == NULL) {
		conn_close(cn);
		return -1;
	}
	net_addr_str(fd, 1, where, sizeof(where));
	sp = strrchr(where, ' ');
	if (sp != NULL)
		*sp++ = '\0';
	c->cn = *cn;
	c->n = ++in->next_n;
	c->slot = conv_attach(
	    in->cv, c->n, where, sp != NULL ? (uint32_t)atoi(sp) : 0);
	if (c->slot == NULL) { /* cannot be: fewer live than slots */
		conn_close(&c->cn);
		free(c);
		return -1;
	}
	c->next = in->clients;
	in->clients = c;
	in->nclients++;
	in->accepted++;
	input_count(in);
	input_watch(in, fd, c, 1);
	c->events = EPOLLIN;
	if (in->one) {
		__atomic_store_n(&in->cv->one, c->n, __ATOMIC_RELEASE);
		/* A plain one client is offered to the shells, its mark set
		 * first: what they receive is its run. */
		if (in->ctx == NULL && input_pv.want == NULL &&
		    conv_mark(in->cv, in->r, c->n) == 0) {
			c->offered = 1;
			direct_offer(in->r->h, fd);
		}
		if (in->lwatched)
			input_watch(in, in->lfd, NULL, 0);
		in->lwatched = 0;
		close(in->lfd);
		in->lfd = -1;
	}
	return 0;
}

/*
 * bind-input -A: 1 when the peer of fd, just accepted, may come in. One
 * that may not is closed here, before a byte of it is read (the kernel
 * resets it when it sent some), and is never a client or a prover.
 */
static int
input_let_in(struct input *in, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (in->acl->n == 0)
		return 1;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    acl_allows(in->acl, (struct sockaddr *)&ss, sl))
		return 1;
	close(fd);
	return 0;
}

static void
input_prove_init(const char *want, int tls)
{
	int k;

	memset(&input_pv, 0, sizeof(input_pv));
	input_pv.want = want;
	input_pv.tls = tls;
	for (k = 0; k < INPUT_PROVE_MAX; k++)
		input_pv.p[k].cn.fd = -1;
}

/* 1 when an epoll pointer is a prover's. */
static int
input_prover_is(const void *ptr)
{
	uintptr_t a = (uintptr_t)ptr, lo = (uintptr_t)&input_pv.p[0];

	return a >= lo && a < lo + sizeof(input_pv.p);
}

static void
input_prove_drop(struct input *in, struct prover *pv)
{
	if (pv->cn.fd == -1)
		return;
	input_watch(in, pv->cn.fd, pv, 0);
	conn_close(&pv->cn);
	pv->len = 0;
	input_pv.n--;
	input_listen(in, clock_now()); /* room again */
}

static void
input_prove_accept(struct input *in)
{
	struct prover *pv;
	int fd, k;

	while (input_pv.n < INPUT_PROVE_MAX) {
		if ((fd = net_accept(in->lfd)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				in->accept_at =
				    clock_now() + INPUT_ACCEPT_PAUSE;
			break;
		}
		if (!input_let_in(in, fd))
			continue;
		for (k = 0; input_pv.p[k].cn.fd != -1; k++)
			;
		pv = &input_pv.p[k];
		conn_init(&pv->cn, fd);
		if (input_pv.tls && conn_tls->start(&pv->cn, in->ctx, NULL)) {
			close(fd);
			pv->cn.fd = -1;
			continue;
		}
		pv->len = 0;
		pv->deadline = clock_now() + (input_pv.tls ? INPUT_TLS_WAIT
							   : POOL_PROVE_WAIT);
		input_pv.n++;
		input_watch(in, fd, pv, 1);
	}
	input_listen(in, clock_now());
}

/* pv proved the session: it becomes a client, as input_accept makes
 * them; for -1 the listener and every other prover go. */
static void
input_prove_admit(struct input *in, struct prover *pv)
{
	struct conn cn = pv->cn;
	int k;

	input_watch(in, cn.fd, pv, 0);
	pv->cn.fd = -1;
	pv->cn.tls = NULL;
	pv->len = 0;
	input_pv.n--;
	if (input_admit(in, &cn) == 0 && in->one)
		for (k = 0; k < INPUT_PROVE_MAX; k++)
			input_prove_drop(in, &input_pv.p[k]);
	input_listen(in, clock_now());
}

/* One step of pv's TLS handshake: done, it becomes a client; failed, it
 * is dropped; else epoll waits for what the handshake waits for. */
static void
input_handshake(struct input *in, struct prover *pv)
{
	struct epoll_event ev;
	char err[NET_ERR];

	switch (conn_tls->handshake(&pv->cn, err, sizeof(err))) {
	case 1:
		input_prove_admit(in, pv);
		break;
	case 0:
		memset(&ev, 0, sizeof(ev));
		ev.events = pv->cn.want == POLLOUT ? EPOLLOUT : EPOLLIN;
		ev.data.ptr = pv;
		epoll_ctl(in->ep, EPOLL_CTL_MOD, pv->cn.fd, &ev);
		break;
	default:
		input_prove_drop(in, pv);
	}
}

/*
 * Reads pv's first line, never a byte past its newline (what follows is
 * the daemon's, for the ring): a peek finds the newline, a recv takes up
 * to it. Then admits or drops it.
 */
static void
input_prove_read(struct input *in, struct prover *pv)
{
	char peek[POOL_ATTACH_LINE];
	size_t take;
	ssize_t n;
	char *nl;

	if (pv->cn.fd == -1)
		return; /* dropped earlier in this round */
	if (input_pv.tls) {
		input_handshake(in, pv);
		return;
	}
	n = recv(pv->cn.fd, peek, sizeof(pv->line) - pv->len,
	    MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		input_prove_drop(in, pv);
		return;
	}
	nl = memchr(peek, '\n', (size_t)n);
	take = nl != NULL ? (size_t)(nl - peek) + 1 : (size_t)n;
	if (recv(pv->cn.fd, pv->line + pv->len, take, MSG_DONTWAIT) !=
	    (ssize_t)take) {
		input_prove_drop(in, pv);
		return;
	}
	pv->len += take;
	if (nl == NULL) {
		if (pv->len >= sizeof(pv->line))
			input_prove_drop(in, pv); /* no line of ours */
		return;
	}
	if (pool_proof_check(pv->line, pv->len - 1, input_pv.want) == 0)
		input_prove_admit(in, pv);
	else
		input_prove_drop(in, pv);
}

/* Before each wait: drops the provers whose time is up, and returns the
 * epoll timeout (ms, -1: none) cut to the next one's deadline. */
static int
input_prove_tick(struct input *in, int timeout)
{
	int64_t now, first = INT64_MAX, ms;
	int k;

	if (input_pv.n == 0)
		return timeout;
	now = clock_now();
	for (k = 0; k < INPUT_PROVE_MAX; k++) {
		if (input_pv.p[k].cn.fd == -1)
			continue;
		if (now >= input_pv.p[k].deadline)
			input_prove_drop(in, &input_pv.p[k]);
		else if (input_pv.p[k].deadline < first)
			first = input_pv.p[k].deadline;
	}
	if (first == INT64_MAX)
		return timeout;
	ms = clock_ms(first - now);
	return timeout >= 0 && timeout < ms ? timeout : (int)ms;
}

static void
input_accept(struct input *in)
{
	struct conn cn;
	int fd;

	if (input_pv.want != NULL || input_pv.tls) {
		input_prove_accept(in);
		return;
	}
	while (in->nclients < in->max) {
		if ((fd = net_accept(in->lfd)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				in->accept_at =
				    clock_now() + INPUT_ACCEPT_PAUSE;
			break; /* EAGAIN: none left; else the next event */
		}
		if (!input_let_in(in, fd))
			continue;
		conn_init(&cn, fd);
		if (input_admit(in, &cn) == 0 && in->one)
			return;
	}
	input_listen(in, clock_now());
}

/*
 * The client's stream ended (or was reset): its last partial line goes out
 * ended by a newline where another client may follow, so that line and the
 * next client's first never merge. The caller checked there is room:
 * free > slen.
 */
static void
input_hangup(struct input *in, struct client *c)
{
	struct ring *r = in->r;
	size_t total = c->slen;

	ring_put(r, 0, c->stash, c->slen);
	if (!in->one && (c->slen > 0 || in->owner == c)) {
		ring_put(r, total, "\n", 1);
		total++;
	}
	input_publish(in, c, total);
	c->slen = 0;
	input_drop(in, c);
}

/* 1 when c's bytes could be published now: room beyond its stash (so a
 * hangup can add its newline) and a segment mark for it. */
static int
input_room(struct input *in, struct client *c)
{
	return ring_free(in->r) > c->slen &&
	       conv_mark_room(in->cv, in->r, c->n);
}

/*
 * Moves what client c has into the ring. The stash goes first (copied to
 * the unpublished area), then recv appends straight into the ring. On a
 * -1 binding everything is published as it comes (one client: nothing to
 * keep apart). Otherwise only whole lines are, the partial rest goes back
 * to the stash, and a rest longer than the stash makes c the owner of the
 * stream: it is published as it comes, others wait, until c's newline.
 * A client with no room to move is parked until readers make room; one
 * that must wait for the owner, until the owner lets go. Returns 1 when
 * c is gone (hung up), else 0.
 */
static int
input_service(struct input *in, struct client *c)
{
	struct ring *r = in->r;
	struct iovec iov[2];
	size_t fre, total, pub, rem;
	ssize_t n, k;
	int cnt;
	char *p1, *p2;

	if (in->owner != NULL && in->owner != c) {
		input_park(in, c, PARK_OWNER);
		return 0;
	}
	if (!input_room(in, c)) {
		input_park(in, c, PARK_SPACE);
		return 0;
	}
	if (c->closing == 2) {
		input_hangup(in, c); /* unbind -c, its replies sent */
		return 1;
	}
	fre = ring_free(r);
	ring_put(r, 0, c->stash, c->slen);
	cnt = ring_spans(r, c->slen, fre - c->slen, &p1, &iov[0].iov_len, &p2,
	    &iov[1].iov_len);
	iov[0].iov_base = p1;
	iov[1].iov_base = p2;
	n = conn_readv(&c->cn, iov, cnt);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		input_hangup(in, c);
		return 1;
	}
	total = c->slen + (size_t)n;
	if (in->one) {
		input_publish(in, c, total);
		c->slen = 0;
		return 0;
	}
	/* Looked at before publishing: ring_last_nl is relative to head,
	 * which the publish moves past these bytes. */
	k = ring_last_nl(r, total);
	if (in->owner == c) {
		input_publish(in, c, total);
		c->slen = 0;
		in->owner_moved = clock_now();
		if (k == (ssize_t)total - 1)
			input_set_owner(in, NULL);
		return 0;
	}
	pub = k >= 0 ? (size_t)k + 1 : 0;
	rem = total - pub;
	if (rem > in->stash_max) {
		/* A line longer than the stash: it takes the stream. */
		input_publish(in, c, total);
		c->slen = 0;
		input_set_owner(in, c);
		return 0;
	}
	if (rem > 0 && c->stash == NULL &&
	    (c->stash = malloc(in->stash_max)) == NULL) {
		input_publish(in, c, total); /* no memory: mixed, not lost */
		c->slen = 0;
		return 0;
	}
	ring_get_unpublished(r, pub, c->stash, rem);
	c->slen = rem;
	input_publish(in, c, pub);
	return 0;
}

/*
 * The owner holds the stream with an unfinished line while others wait
 * for it, and has not moved it for INPUT_OWNER_IDLE although it could (it
 * is not parked for room): its partial line is ended with a newline, as
 * if it had disconnected, and the others go on. Its later bytes start a
 * new line. Returns the ms until the owner's time is up (-1: no limit).
 */
static int
input_owner_check(struct input *in, int64_t now)
{
	struct client *o = in->owner;
	int64_t left;

	if (o == NULL || in->npark[PARK_OWNER] == 0)
		return -1;
	if (o->parked == PARK_SPACE) {
		in->owner_moved = now; /* held back by readers, not by o */
		return -1;
	}
	left = in->owner_moved + INPUT_OWNER_IDLE - now;
	if (left > 0)
		return clock_ms(left);
	if (!input_room(in, o))
		return -1; /* room comes with a take; o is parked then */
	ring_put(in->r, 0, "\n", 1);
	input_publish(in, o, 1);
	input_set_owner(in, NULL);
	return -1;
}

/*
 * Sends what waits in c's queue. A socket that fails drops the queue; the
 * client itself goes through its read side, which sees the same end, so
 * that its last bytes still reach rx. Once the queue is sent, a client to
 * close (unbind -c) is hung up like one that left. Returns -1 when c is
 * gone, else 0.
 */
static int
input_flush(struct input *in, struct client *c)
{
	struct iovec iov;
	ssize_t k;

	while (c->qoff < c->qlen) {
		iov.iov_base = c->q + c->qoff;
		iov.iov_len = c->qlen - c->qoff;
		k = conn_send(&c->cn, &iov, 1);
		if (k > 0) {
			c->qoff += (size_t)k;
			conv_sent(c->slot, (uint64_t)k);
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->qblocked = 1;
			input_events(in, c);
			return 0;
		}
		conv_sent(c->slot, c->qlen - c->qoff);
		break;
	}
	c->qoff = c->qlen = 0;
	if (c->qblocked) {
		c->qblocked = 0;
		input_events(in, c);
	}
	if (c->closing == 1) {
		c->closing = 2;
		if (!c->parked)
			return input_service(in, c) ? -1 : 0;
	}
	return 0;
}

static struct client *
input_client(struct input *in, uint32_t n)
{
	struct client *c;

	for (c = in->clients; c != NULL; c = c->next)
		if (c->n == n)
			return c;
	return NULL;
}

/* Appends len bytes at tx's tail+off to c's queue (at most CONV_QMAX plus
 * one record: writers keep it so). 0, or -1 when out of memory. */
static int
input_enqueue(struct input *in, struct client *c, size_t off, size_t len)
{
	size_t need = c->qlen + len;
	char *q;

	if (c->qoff > 0 && c->qoff == c->qlen)
		c->qoff = c->qlen = 0;
	if (need > c->qcap) {
		if (c->qoff > 0) {
			memmove(c->q, c->q + c->qoff, c->qlen - c->qoff);
			c->qlen -= c->qoff;
			c->qoff = 0;
			need = c->qlen + len;
		}
		if (need > c->qcap) {
			if ((q = realloc(c->q, need)) == NULL)
				return -1;
			c->q = q;
			c->qcap = need;
		}
	}
	ring_get_at(&in->tx, off, c->q + c->qlen, len);
	c->qlen += len;
	return 0;
}

/*
 * Takes every reply record off tx into its client's own queue (so a slow
 * client holds back nobody: its writers wait on its queue, not on tx),
 * then sends what it can. Records for clients that are gone are dropped.
 */
static void
input_replies(struct input *in)
{
	struct conv_rec rec;
	struct client *c;
	size_t used, len;

	while ((used = ring_used(&in->tx)) >= sizeof(rec)) {
		ring_get_at(&in->tx, 0, &rec, sizeof(rec));
		len = rec.len == CONV_CLOSE ? 0 : rec.len;
		if (used < sizeof(rec) + len)
			break; /* cannot be: a record is published whole */
		c = input_client(in, rec.n);
		if (c != NULL && rec.len == CONV_CLOSE)
			c->closing = 1;
		else if (c != NULL && input_enqueue(in, c, sizeof(rec), len))
			conv_sent(c->slot, len); /* no memory: dropped */
		ring_consume(&in->tx, sizeof(rec) + len);
		if (c != NULL && !c->qblocked)
			input_flush(in, c);
	}
}

/*
 * Serves c's event: an offered client's bytes are taken under the
 * receiver's lock (direct.h), so rx keeps one producer. Input while a
 * shell receives is the shell's (we only stop watching for it); the end
 * or a loss is ours, and when a shell holds the lock it rings us as it
 * lets go (input_rewant).
 */
static void
input_serve(struct input *in, struct client *c, uint32_t events)
{
	struct ring_hdr *h = in->r->h;
	int need = (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0, gone;

	if (!c->offered) {
		input_service(in, c);
		return;
	}
	if (!need && input_shell_receives(in, c)) {
		input_events(in, c); /* watch for its end only */
		return;
	}
	if (direct_receive_turn(h, in->self, need) == -1) {
		c->rwanted = need;
		input_events(in, c);
		return;
	}
	c->rwanted = 0;
	gone = input_service(in, c) == 1;
	direct_give(&h->direct.rlock, in->self);
	if (!gone)
		input_events(in, c);
}

/* A shell let go of the receiver's lock: the clients waiting for it are
 * watched again (their end is still there to see). */
static void
input_rewant(struct input *in)
{
	struct client *c;

	for (c = in->clients; c != NULL; c = c->next) {
		if (c->rwanted) {
			c->rwanted = 0;
			input_events(in, c);
		}
	}
}

/* The epoll timeout in ms: the earliest of the owner's time and an accept
 * pause. */
static int
input_timeout(struct input *in, int64_t now)
{
	int t = input_owner_check(in, now), a;

	if (in->npark[PARK_SPACE] > 0) {
		a = clock_ms_left(in->space_look, now);
		if (t == -1 || a < t)
			t = a;
	}
	if (in->accept_at != 0) {
		a = clock_ms_left(in->accept_at, now);
		if (t == -1 || a < t)
			t = a;
	}
	return t;
}

/* TLS: bytes a session already decrypted raise no epoll event; the
 * clients holding some are served before each wait (each either empties
 * its session or fills the ring and is parked). */
static void
input_pending(struct input *in)
{
	struct client *c, *next;

	if (in->ctx == NULL)
		return;
	for (c = in->clients; c != NULL; c = next) {
		next = c->next;
		if (!c->parked && conn_pending(&c->cn) > 0)
			input_service(in, c);
	}
}

/*
 * The helper's loop: waits for events (clients' bytes, room in their
 * sockets, the listener, replies and rx room through the waker, the
 * owner's time, an accept pause) and serves them, until a stop signal or
 * the end of a -1 binding.
 */
static void
input_loop(struct input *in)
{
	struct epoll_event ev[64];
	struct client *c;
	int n, i;

	while (!input_stop) {
		if (in->one && in->accepted && in->nclients == 0)
			return; /* the one client is gone and flushed */
		/* Room: the waker says when a reader took the ring below
		 * half; smaller holes are filled at the next look. */
		if (in->npark[PARK_SPACE] > 0 &&
		    (ring_free(in->r) > in->stash_max ||
			clock_now() >= in->space_look))
			input_unpark(in, PARK_SPACE);
		input_pending(in);
		n = epoll_pwait(in->ep, ev, 64,
		    input_prove_tick(in, input_timeout(in, clock_now())),
		    &in->waitmask);
		input_listen(in, clock_now());
		for (i = 0; i < n && !input_stop; i++) {
			c = ev[i].data.ptr;
			if (c == NULL) {
				input_accept(in);
			} else if (input_prover_is(ev[i].data.ptr)) {
				input_prove_read(in, ev[i].data.ptr);
			} else if (ev[i].data.ptr == &input_wake_tag) {
				waker_drain(&in->wk);
				input_replies(in);
				input_rewant(in);
			} else if (c->cn.fd == -1) {
				continue; /* dropped earlier in this round */
			} else {
				if ((ev[i].events & EPOLLOUT) && c->qblocked &&
				    input_flush(in, c) == -1)
					continue; /* c is gone */
				if ((ev[i].events & (EPOLLIN | EPOLLRDHUP |
							EPOLLERR | EPOLLHUP)) &&
				    !c->parked)
					input_serve(in, c, ev[i].events);
			}
		}
		input_bury(in);
	}
}

/* -1: the stream is over; wait until a reader has seen the end. */
static void
input_linger(struct input *in)
{
	sigset_t old;

	/* The state first: a reader that sees the end acknowledges it only
	 * for an ENDED binding. */
	ring_set_state(in->r, RING_ENDED);
	ring_set_end(in->r);
	sigprocmask(SIG_SETMASK, &in->waitmask, &old);
	while (!input_stop &&
	       __atomic_load_n(&in->r->h->end_seen, __ATOMIC_ACQUIRE) == 0)
		ring_futex_wait(&in->r->h->end_seen, 0, 500000000);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The helper's set-up after the binding exists: the reply ring, the waker
 * and epoll. 0, or -1 with errno. */
static int
input_setup(struct input *in)
{
	struct epoll_event ev;

	in->r = &in->b.ring;
	ring_view(in->r, RING_TX, &in->tx);
	in->cv = conv_of(in->r);
	in->cv->qmax = CONV_QMAX;
	if ((in->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (waker_start(&in->wk, &in->tx.d->wseq, &in->tx.d->rwait,
		&in->r->d->rseq, &in->r->d->wwait) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &input_wake_tag;
	return epoll_ctl(in->ep, EPOLL_CTL_ADD, in->wk.efd, &ev);
}

int
input_main(void *arg, int reportfd)
{
	const struct input_opts *o = arg;
	struct input in;
	struct client *c;
	char err[NET_ERR], where[NET_ERR];
	int e;

	memset(&in, 0, sizeof(in));
	in.self = getpid();
	in.one = o->one;
	in.max = o->max != 0 && o->max < INPUT_MAX_CLIENTS ? o->max
							   : INPUT_MAX_CLIENTS;
	in.acl = &o->acl;
	in.ep = -1;
	input_prove_init(o->proof, o->cert != NULL);
	if (o->cert != NULL && conn_tls == NULL) {
		helper_fail(reportfd, 1, ENOTSUP,
		    "%s: TLS needs %s next to bashsock.so", o->id,
		    HELPER_PROGRAM_TLS);
		return 1;
	}
	if (o->cert != NULL && (in.ctx = conn_tls->server_ctx(o->cert, o->key,
				    err, sizeof(err))) == NULL) {
		helper_fail(reportfd, 1, EINVAL, "%s: %s", o->id, err);
		return 1;
	}
	helper_on_stop(&input_stop);
	clock_stop_block(&in.waitmask);

	in.lfd = net_listen(o->addr, o->port, 128, err, sizeof(err));
	if (in.lfd == -1) {
		if (o->addr != NULL)
			helper_fail(reportfd, 1, errno, "%s port %d: %s",
			    o->addr, o->port, err);
		else
			helper_fail(
			    reportfd, 1, errno, "port %d: %s", o->port, err);
		return 1;
	}
	if (bind_create(&in.b, o->ns, o->id, o->cap, RING_IN,
		(o->one ? RING_F_ONE : 0) |
		    (o->cert != NULL ? RING_F_TLS : 0)) == -1) {
		e = errno;
		close(in.lfd);
		helper_fail(reportfd, e == EINVAL ? 2 : 1, e, "%s: %s", o->id,
		    e == EEXIST ? "in use by a live binding" : rt_strerror(e));
		return 1;
	}
	in.stash_max =
	    o->cap / 2 < INPUT_STASH_MAX ? o->cap / 2 : INPUT_STASH_MAX;
	if (input_setup(&in) == -1) {
		e = errno;
		waker_stop(&in.wk);
		bind_remove(&in.b);
		close(in.lfd);
		helper_fail(reportfd, 1, e, "%s: %s", o->id, strerror(e));
		return 1;
	}
	net_addr_str(in.lfd, 0, where, sizeof(where));
	snprintf(in.r->h->addr, sizeof(in.r->h->addr), "%.*s",
	    (int)strcspn(where, " "), where);
	in.r->h->port = (uint32_t)atoi(strrchr(where, ' ') + 1);
	input_listen(&in, clock_now());
	snprintf(where, sizeof(where), "%u", in.r->h->port);
	helper_ready(reportfd, where);

	input_loop(&in);
	if (!input_stop && in.one)
		input_linger(&in);
	while ((c = in.clients) != NULL)
		input_drop(&in, c);
	input_bury(&in);
	for (e = 0; e < INPUT_PROVE_MAX; e++)
		input_prove_drop(&in, &input_pv.p[e]);
	if (in.lfd != -1)
		close(in.lfd);
	waker_stop(&in.wk);
	bind_remove(&in.b);
	return 0;
}
