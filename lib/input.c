/* input: the bind-input helper's event loop. */
#include "input.h"
#include "bind.h"
#include "helper.h"
#include "net.h"
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct client {
	int fd;
	int parked; /* out of epoll until the owner or free space changes */
	char *stash;
	size_t slen;
	struct client *next;
};

struct input {
	struct binding b;
	struct ring *r;
	int ep, lfd, one, accepted;
	size_t stash_max;
	unsigned nclients, nparked;
	struct client *clients, *owner;
	sigset_t waitmask; /* the mask to wait with: stop signals open */
};

static volatile int input_stop;

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

static void
input_park(struct input *in, struct client *c)
{
	if (c->parked)
		return;
	input_watch(in, c->fd, c, 0);
	c->parked = 1;
	in->nparked++;
}

/* Puts every parked client back under epoll: owner or space changed. */
static void
input_unpark(struct input *in)
{
	struct client *c;

	for (c = in->clients; c != NULL && in->nparked > 0; c = c->next) {
		if (c->parked) {
			c->parked = 0;
			in->nparked--;
			input_watch(in, c->fd, c, 1);
		}
	}
}

static void
input_drop(struct input *in, struct client *c)
{
	struct client **pp;

	for (pp = &in->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	if (c->parked)
		in->nparked--;
	close(c->fd);
	free(c->stash);
	free(c);
	in->nclients--;
	input_count(in);
	if (in->owner == c) {
		in->owner = NULL;
		input_unpark(in);
	}
	/* Room for one more client again. */
	if (!in->one && in->lfd != -1 && in->nclients == INPUT_MAX_CLIENTS - 1)
		input_watch(in, in->lfd, NULL, 1);
}

/*
 * Pool bindings (pool.h, data connections): a connection is held apart,
 * out of the client list and the client count, until its first line is
 * the ATTACH line carrying the expected MAC; anything else is dropped
 * before a byte of it reaches the ring. At most INPUT_PROVE_MAX at once
 * (more wait in the listen backlog, in order), each for POOL_PROVE_WAIT.
 */
#define INPUT_PROVE_MAX 32

struct prover {
	int fd; /* -1: free */
	int64_t deadline;
	size_t len;
	char line[POOL_ATTACH_LINE];
};

static struct {
	const char *want; /* the expected MAC, or NULL: no proof asked */
	unsigned n;
	struct prover p[INPUT_PROVE_MAX];
} input_pv;

static void
input_prove_init(const char *want)
{
	int k;

	memset(&input_pv, 0, sizeof(input_pv));
	input_pv.want = want;
	for (k = 0; k < INPUT_PROVE_MAX; k++)
		input_pv.p[k].fd = -1;
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
	if (pv->fd == -1)
		return;
	input_watch(in, pv->fd, pv, 0);
	close(pv->fd);
	pv->fd = -1;
	pv->len = 0;
	if (input_pv.n-- == INPUT_PROVE_MAX && in->lfd != -1)
		input_watch(in, in->lfd, NULL, 1); /* room again */
}

static void
input_prove_accept(struct input *in)
{
	struct prover *pv;
	int fd, k;

	while (
	    input_pv.n < INPUT_PROVE_MAX && (fd = net_accept(in->lfd)) != -1) {
		for (k = 0; input_pv.p[k].fd != -1; k++)
			;
		pv = &input_pv.p[k];
		pv->fd = fd;
		pv->len = 0;
		pv->deadline = helper_now() + POOL_PROVE_WAIT;
		input_pv.n++;
		input_watch(in, fd, pv, 1);
	}
	if (input_pv.n >= INPUT_PROVE_MAX)
		input_watch(in, in->lfd, NULL, 0);
}

/* pv proved the session: it becomes a client, as input_accept makes
 * them; for -1 the listener and every other prover go. */
static void
input_prove_admit(struct input *in, struct prover *pv)
{
	struct client *c;
	int fd = pv->fd, k;

	input_watch(in, fd, pv, 0);
	pv->fd = -1;
	pv->len = 0;
	input_pv.n--;
	if (in->nclients >= INPUT_MAX_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->next = in->clients;
	in->clients = c;
	in->nclients++;
	in->accepted++;
	input_count(in);
	input_watch(in, fd, c, 1);
	if (in->one) {
		for (k = 0; k < INPUT_PROVE_MAX; k++)
			input_prove_drop(in, &input_pv.p[k]);
		input_watch(in, in->lfd, NULL, 0);
		close(in->lfd);
		in->lfd = -1;
	} else if (input_pv.n == INPUT_PROVE_MAX - 1 && in->lfd != -1) {
		input_watch(in, in->lfd, NULL, 1);
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

	if (pv->fd == -1)
		return; /* dropped earlier in this round */
	n = recv(
	    pv->fd, peek, sizeof(pv->line) - pv->len, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		input_prove_drop(in, pv);
		return;
	}
	nl = memchr(peek, '\n', (size_t)n);
	take = nl != NULL ? (size_t)(nl - peek) + 1 : (size_t)n;
	if (recv(pv->fd, pv->line + pv->len, take, MSG_DONTWAIT) !=
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
	now = helper_now();
	for (k = 0; k < INPUT_PROVE_MAX; k++) {
		if (input_pv.p[k].fd == -1)
			continue;
		if (now >= input_pv.p[k].deadline)
			input_prove_drop(in, &input_pv.p[k]);
		else if (input_pv.p[k].deadline < first)
			first = input_pv.p[k].deadline;
	}
	if (first == INT64_MAX)
		return timeout;
	ms = (first - now + 999999) / 1000000;
	return timeout >= 0 && timeout < ms ? timeout : (int)ms;
}

static void
input_accept(struct input *in)
{
	struct client *c;
	int fd;

	if (input_pv.want != NULL) {
		input_prove_accept(in);
		return;
	}

	while (in->nclients < INPUT_MAX_CLIENTS &&
	       (fd = net_accept(in->lfd)) != -1) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->next = in->clients;
		in->clients = c;
		in->nclients++;
		in->accepted++;
		input_count(in);
		input_watch(in, fd, c, 1);
		if (in->one) {
			/* One client only: nobody else gets in. */
			input_watch(in, in->lfd, NULL, 0);
			close(in->lfd);
			in->lfd = -1;
			return;
		}
	}
	if (in->nclients >= INPUT_MAX_CLIENTS)
		input_watch(in, in->lfd, NULL, 0);
}

/*
 * Moves what client c has into the ring. The stash goes first (copied to
 * the unpublished area), then recv appends straight into the ring; only
 * whole lines are published, the partial rest goes back to the stash.
 * Returns 1 when the ring or the client set changed.
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
		input_park(in, c);
		return 0;
	}
	fre = ring_free(r);
	if (fre <= c->slen) {
		input_park(in, c);
		return 0;
	}
	ring_put(r, 0, c->stash, c->slen);
	cnt = ring_spans(r, c->slen, fre - c->slen, &p1, &iov[0].iov_len, &p2,
	    &iov[1].iov_len);
	iov[0].iov_base = p1;
	iov[1].iov_base = p2;
	n = readv(c->fd, iov, cnt);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* Disconnect (or reset): its last partial line goes out, ended
		 * by a newline where another client may follow, so that line
		 * and the next client's first never merge. There is room:
		 * fre > slen. */
		total = c->slen;
		if (!in->one && (c->slen > 0 || in->owner == c)) {
			ring_put(r, total, "\n", 1);
			total++;
		}
		ring_publish(r, total);
		c->slen = 0;
		input_drop(in, c);
		return 1;
	}
	total = c->slen + (size_t)n;
	if (in->owner == c) {
		/* Looked at before publishing: ring_last_nl is relative to
		 * head, which the publish moves past these bytes. */
		k = ring_last_nl(r, total);
		ring_publish(r, total);
		c->slen = 0;
		if (k == (ssize_t)total - 1) {
			in->owner = NULL;
			input_unpark(in);
		}
		return 1;
	}
	k = ring_last_nl(r, total);
	pub = k >= 0 ? (size_t)k + 1 : 0;
	rem = total - pub;
	if (rem > in->stash_max) {
		/* A line longer than the stash: it takes the stream. */
		ring_publish(r, total);
		c->slen = 0;
		in->owner = c;
		return 1;
	}
	if (rem > 0 && c->stash == NULL &&
	    (c->stash = malloc(in->stash_max)) == NULL) {
		ring_publish(r, total); /* no memory: better mixed than lost */
		c->slen = 0;
		return 1;
	}
	ring_get_unpublished(r, pub, c->stash, rem);
	c->slen = rem;
	if (pub > 0)
		ring_publish(r, pub);
	return pub > 0;
}

/*
 * Waits for readers to free space while every client is parked for it:
 * until more than stash_max bytes are free (ring_take wakes this only once
 * less than half the ring is used, which leaves more than that), for at
 * most 100 ms. A take that races the check just moves rseq, so the futex
 * wait returns at once and the loop checks again.
 */
static void
input_wait_space(struct input *in)
{
	int64_t deadline, left;
	uint32_t seq;
	sigset_t old;

	if (in->nparked == 0 || in->owner != NULL ||
	    ring_free(in->r) > INPUT_STASH_MAX)
		return;
	deadline = helper_now() + 100000000;
	sigprocmask(SIG_SETMASK, &in->waitmask, &old);
	while (!input_stop && (left = deadline - helper_now()) > 0) {
		seq = ring_rseq(in->r);
		if (ring_free(in->r) > in->stash_max)
			break;
		ring_wait_space(in->r, seq, left);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	input_unpark(in);
}

static void
input_loop(struct input *in)
{
	struct epoll_event ev[64];
	int n, i, timeout;

	while (!input_stop) {
		if (in->one && in->accepted && in->nclients == 0)
			return; /* the one client is gone and flushed */
		input_wait_space(in);
		timeout = in->nparked > 0 && in->owner == NULL ? 100 : -1;
		timeout = input_prove_tick(in, timeout);
		n = epoll_pwait(in->ep, ev, 64, timeout, &in->waitmask);
		if (n == 0 && in->nparked > 0)
			input_unpark(in);
		for (i = 0; i < n && !input_stop; i++) {
			if (ev[i].data.ptr == NULL)
				input_accept(in);
			else if (input_prover_is(ev[i].data.ptr))
				input_prove_read(in, ev[i].data.ptr);
			else if (input_service(in, ev[i].data.ptr) &&
				 in->nparked > 0 && in->owner == NULL)
				input_unpark(in);
		}
	}
}

/* -1: the stream is over; wait until a reader has seen the end. */
static void
input_linger(struct input *in)
{
	sigset_t old;

	ring_set_state(in->r, RING_ENDED);
	sigprocmask(SIG_SETMASK, &in->waitmask, &old);
	while (!input_stop &&
	       __atomic_load_n(&in->r->h->end_seen, __ATOMIC_ACQUIRE) == 0)
		ring_futex_wait(&in->r->h->end_seen, 0, 500000000);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
input_main(void *arg, int reportfd)
{
	const struct input_opts *o = arg;
	struct input in;
	struct client *c;
	char err[NET_ERR], where[NET_ERR];
	sigset_t stops;
	int e;

	memset(&in, 0, sizeof(in));
	in.one = o->one;
	input_prove_init(o->proof);
	helper_on_stop(&input_stop);
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &in.waitmask);
	sigdelset(&in.waitmask, SIGINT);
	sigdelset(&in.waitmask, SIGHUP);
	sigdelset(&in.waitmask, SIGTERM);

	in.lfd = net_listen(o->addr, o->port, 128, err, sizeof(err));
	if (in.lfd == -1) {
		helper_fail(reportfd, 1, errno, "%s port %d: %s",
		    o->addr ? o->addr : "*", o->port, err);
		return 1;
	}
	if (bind_create(&in.b, o->ns, o->id, o->cap, RING_IN,
		o->one ? RING_F_ONE : 0) == -1) {
		e = errno;
		close(in.lfd);
		helper_fail(reportfd, e == EINVAL ? 2 : 1, e, "%s: %s", o->id,
		    e == EEXIST ? "in use by a live binding" : rt_strerror(e));
		return 1;
	}
	in.r = &in.b.ring;
	in.stash_max =
	    o->cap / 2 < INPUT_STASH_MAX ? o->cap / 2 : INPUT_STASH_MAX;
	net_addr_str(in.lfd, 0, where, sizeof(where));
	snprintf(in.r->h->addr, sizeof(in.r->h->addr), "%.*s",
	    (int)strcspn(where, " "), where);
	in.r->h->port = (uint32_t)atoi(strrchr(where, ' ') + 1);
	if ((in.ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		e = errno;
		bind_remove(&in.b);
		close(in.lfd);
		helper_fail(
		    reportfd, 1, e, "%s: epoll: %s", o->id, strerror(e));
		return 1;
	}
	input_watch(&in, in.lfd, NULL, 1);
	snprintf(where, sizeof(where), "%u", in.r->h->port);
	helper_ready(reportfd, where);

	input_loop(&in);
	if (!input_stop && in.one)
		input_linger(&in);
	while ((c = in.clients) != NULL)
		input_drop(&in, c);
	for (e = 0; e < INPUT_PROVE_MAX; e++)
		input_prove_drop(&in, &input_pv.p[e]);
	if (in.lfd != -1)
		close(in.lfd);
	bind_remove(&in.b);
	return 0;
}
