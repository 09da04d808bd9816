/* input: the bind-input helper's event loop. */
#include "input.h"
#include "bind.h"
#include "helper.h"
#include "net.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

/* Why a client is out of epoll. */
enum park { PARK_NONE = 0, PARK_OWNER, PARK_SPACE };

struct client {
	int fd;
	int parked; /* enum park */
	char *stash;
	size_t slen;
	struct client *next;
};

struct input {
	struct binding b;
	struct ring *r;
	int ep, lfd, one, accepted;
	int lwatched;	   /* the listener is under epoll */
	int64_t accept_at; /* accept failed for want of descriptors: not
			      before this time (0: no pause) */
	size_t stash_max;
	unsigned nclients;
	unsigned npark[3]; /* clients parked, by enum park */
	struct client *clients, *owner;
	int64_t owner_moved; /* the owner last moved the stream (or could) */
	sigset_t waitmask;   /* the mask to wait with: stop signals open */
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

/*
 * Watches the listener exactly when a new client could be taken: it is
 * open, the client limit is not reached, and accept is not paused for
 * want of descriptors (EMFILE and the like leave the listener readable:
 * watching it then would spin).
 */
static void
input_listen(struct input *in, int64_t now)
{
	int want = in->lfd != -1 && in->nclients < INPUT_MAX_CLIENTS &&
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
	input_watch(in, c->fd, c, 0);
	c->parked = why;
	in->npark[why]++;
}

/* Puts the clients parked for the reason why back under epoll. */
static void
input_unpark(struct input *in, int why)
{
	struct client *c;

	for (c = in->clients; c != NULL && in->npark[why] > 0; c = c->next) {
		if (c->parked == why) {
			in->npark[why]--;
			c->parked = PARK_NONE;
			input_watch(in, c->fd, c, 1);
		}
	}
}

/* c takes the stream (NULL: nobody holds it); waiters for it go again. */
static void
input_set_owner(struct input *in, struct client *c)
{
	in->owner = c;
	in->owner_moved = helper_now();
	if (c == NULL)
		input_unpark(in, PARK_OWNER);
}

static void
input_drop(struct input *in, struct client *c)
{
	struct client **pp;

	for (pp = &in->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	if (c->parked)
		in->npark[c->parked]--;
	else
		input_watch(in, c->fd, c, 0);
	close(c->fd);
	free(c->stash);
	free(c);
	in->nclients--;
	input_count(in);
	/* A descriptor is free again: accept may work now. */
	in->accept_at = 0;
	if (in->owner == c)
		input_set_owner(in, NULL);
	input_listen(in, helper_now());
}

static void
input_accept(struct input *in)
{
	struct client *c;
	int fd;

	while (in->nclients < INPUT_MAX_CLIENTS) {
		if ((fd = net_accept(in->lfd)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				in->accept_at =
				    helper_now() + INPUT_ACCEPT_PAUSE;
			break; /* EAGAIN: none left; else the next event */
		}
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
			if (in->lwatched)
				input_watch(in, in->lfd, NULL, 0);
			in->lwatched = 0;
			close(in->lfd);
			in->lfd = -1;
			return;
		}
	}
	input_listen(in, helper_now());
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
	if (total > 0)
		ring_publish(r, total);
	c->slen = 0;
	input_drop(in, c);
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
 * the ring or the client set changed.
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
	fre = ring_free(r);
	if (fre <= c->slen) {
		input_park(in, c, PARK_SPACE);
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
		input_hangup(in, c);
		return 1;
	}
	total = c->slen + (size_t)n;
	if (in->one) {
		ring_publish(r, total);
		c->slen = 0;
		return 1;
	}
	/* Looked at before publishing: ring_last_nl is relative to head,
	 * which the publish moves past these bytes. */
	k = ring_last_nl(r, total);
	if (in->owner == c) {
		ring_publish(r, total);
		c->slen = 0;
		in->owner_moved = helper_now();
		if (k == (ssize_t)total - 1)
			input_set_owner(in, NULL);
		return 1;
	}
	pub = k >= 0 ? (size_t)k + 1 : 0;
	rem = total - pub;
	if (rem > in->stash_max) {
		/* A line longer than the stash: it takes the stream. */
		ring_publish(r, total);
		c->slen = 0;
		input_set_owner(in, c);
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
		return (int)((left + 999999) / 1000000);
	if (ring_free(in->r) == 0)
		return -1; /* room comes with a take; o is parked then */
	ring_put(in->r, 0, "\n", 1);
	ring_publish(in->r, 1);
	input_set_owner(in, NULL);
	return -1;
}

/*
 * Waits for readers to free space while clients are parked for it: until
 * more than stash_max bytes are free (ring_take wakes this only once less
 * than half the ring is used, which leaves more than that), for at most
 * INPUT_SPACE_WAIT; then they go back under epoll. A take that races the
 * check just moves rseq, so the futex wait returns at once and the loop
 * checks again.
 */
static void
input_wait_space(struct input *in)
{
	int64_t deadline, left;
	uint32_t seq;
	sigset_t old;

	if (in->npark[PARK_SPACE] == 0)
		return;
	deadline = helper_now() + INPUT_SPACE_WAIT;
	sigprocmask(SIG_SETMASK, &in->waitmask, &old);
	while (!input_stop && (left = deadline - helper_now()) > 0) {
		seq = ring_rseq(in->r);
		if (ring_free(in->r) > in->stash_max)
			break;
		ring_wait_space(in->r, seq, left);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	input_unpark(in, PARK_SPACE);
}

/* The epoll timeout in ms: the earliest of the owner's time, an accept
 * pause, and a look at space for parked clients. */
static int
input_timeout(struct input *in, int64_t now)
{
	int t = input_owner_check(in, now), a;

	if (in->npark[PARK_SPACE] > 0 && (t == -1 || t > 100))
		t = 100;
	if (in->accept_at != 0) {
		a = in->accept_at > now
			? (int)((in->accept_at - now + 999999) / 1000000)
			: 0;
		if (t == -1 || a < t)
			t = a;
	}
	return t;
}

/*
 * The helper's loop: wait for room when clients are parked for it, then
 * for events (clients, the listener, the owner's time, an accept pause),
 * and serve them, until a stop signal or the end of a -1 binding.
 */
static void
input_loop(struct input *in)
{
	struct epoll_event ev[64];
	int n, i;

	while (!input_stop) {
		if (in->one && in->accepted && in->nclients == 0)
			return; /* the one client is gone and flushed */
		input_wait_space(in);
		n = epoll_pwait(in->ep, ev, 64, input_timeout(in, helper_now()),
		    &in->waitmask);
		input_listen(in, helper_now());
		for (i = 0; i < n && !input_stop; i++) {
			if (ev[i].data.ptr == NULL)
				input_accept(in);
			else
				input_service(in, ev[i].data.ptr);
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
		if (o->addr != NULL)
			helper_fail(reportfd, 1, errno, "%s port %d: %s",
			    o->addr, o->port, err);
		else
			helper_fail(
			    reportfd, 1, errno, "port %d: %s", o->port, err);
		return 1;
	}
	if (bind_create(&in.b, o->ns, o->id, o->cap, RING_IN,
		o->one ? RING_F_ONE : 0) == -1) {
		e = errno;
		close(in.lfd);
		helper_fail(reportfd, e == EINVAL ? 2 : 1, e, "%s: %s", o->id,
		    e == EEXIST ? "in use by a live binding" : strerror(e));
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
	input_listen(&in, helper_now());
	snprintf(where, sizeof(where), "%u", in.r->h->port);
	helper_ready(reportfd, where);

	input_loop(&in);
	if (!input_stop && in.one)
		input_linger(&in);
	while ((c = in.clients) != NULL)
		input_drop(&in, c);
	if (in.lfd != -1)
		close(in.lfd);
	bind_remove(&in.b);
	return 0;
}
