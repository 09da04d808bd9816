/* trigger-wait's side: the listener and the handshakes it answers
 * (trigger.h). */
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

#define TRIGGER_BACKLOG 128
#define TRIGGER_PAUSE_NS 100000000LL /* listener rest after EMFILE */

enum tconn_state {
	TC_FREE,  /* slot unused, fd -1 */
	TC_PROOF, /* challenge sent (or going): reading the proof */
	TC_OK,	  /* proof good: sending OK, then the trigger has fired */
};

struct tconn {
	int fd;
	enum tconn_state state;
	int64_t deadline; /* clock_now() clock */
	struct auth_challenge ch;
	struct line_in in;
	struct line_out out;
};

struct trigger_waiter {
	int lfd;
	int64_t paused_until; /* listener not polled before (EMFILE) */
	char *key;
	size_t keylen;
	/* The next connection's challenge, drawn while nobody waits for it:
	 * unknown to anyone until sent, and sent once. */
	int have_next;
	struct auth_challenge next;
	char next_line[AUTH_LINE_MAX];
	struct tconn c[TRIGGER_MAX_PENDING];
};

/* Ends c's handshake and frees its slot. */
static void
tw_drop(struct tconn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = TC_FREE;
}

/* Draws the next connection's challenge ahead of it; a failed draw is
 * tried again when a connection needs it. */
static void
tw_draw(struct trigger_waiter *w)
{
	w->have_next = auth_challenge_new(&w->next, TRIGGER_PURPOSE,
			   w->next_line, sizeof(w->next_line)) == 0;
}

struct trigger_waiter *
trigger_wait_open(const char *addr, int port, const char *key, size_t keylen,
    char *err, size_t errlen)
{
	struct trigger_waiter *w;
	int i, e;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->key = trigger_keydup(key, keylen)) == NULL) {
		e = errno;
		trigger_seterr(
		    err, errlen, NULL, e == EINVAL ? "bad key" : strerror(e));
		free(w);
		errno = e;
		return NULL;
	}
	w->keylen = keylen;
	for (i = 0; i < TRIGGER_MAX_PENDING; i++)
		w->c[i].fd = -1;
	/* Before listening: a sender that connects must not wait for it. */
	auth_warm();
	tw_draw(w);
	if ((w->lfd = net_listen(addr, port, TRIGGER_BACKLOG, err,
		 err != NULL ? errlen : 0)) == -1) {
		e = errno;
		w->lfd = -1;
		trigger_wait_close(w);
		errno = e;
		return NULL;
	}
	return w;
}

/* A free slot, or the slot of the oldest handshake, ended. */
static struct tconn *
tw_slot(struct trigger_waiter *w)
{
	struct tconn *old = &w->c[0];
	int i;

	for (i = 0; i < TRIGGER_MAX_PENDING; i++) {
		if (w->c[i].state == TC_FREE)
			return &w->c[i];
		if (w->c[i].deadline < old->deadline)
			old = &w->c[i];
	}
	tw_drop(old);
	return old;
}

/* Starts a handshake on accepted socket fd: sends a fresh challenge. */
static void
tw_start(struct trigger_waiter *w, int fd, int64_t now)
{
	struct tconn *c = tw_slot(w);

	c->fd = fd;
	if (!w->have_next)
		tw_draw(w);
	if (!w->have_next) {
		tw_drop(c);
		return;
	}
	c->ch = w->next;
	(void)line_out_set(&c->out, w->next_line);
	w->have_next = 0;
	trigger_nodelay(fd);
	c->state = TC_PROOF;
	c->deadline = now + TRIGGER_HANDSHAKE_NS;
	c->in.len = 0;
	if (line_out_flush(fd, &c->out) == -1)
		tw_drop(c);
	/* While the sender computes its proof: the next challenge drawn,
	 * and the check's code warmed so that it runs hot. */
	tw_draw(w);
	auth_warm();
}

/* Accepts what is waiting, at most a table's worth per step so that the
 * handshakes in progress are served in between. */
static void
tw_accept(struct trigger_waiter *w, int64_t now)
{
	int n, fd;

	for (n = 0; n < TRIGGER_MAX_PENDING; n++) {
		if ((fd = net_accept(w->lfd)) != -1) {
			tw_start(w, fd, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* Out of descriptors: the connection stays queued and the
		 * listener stays readable; rest it instead of spinning. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			w->paused_until = now + TRIGGER_PAUSE_NS;
		return; /* EAGAIN: all taken; else a peer's error */
	}
}

/* c's proof line is in: answers it. 1 when OK went out whole. */
static int
tw_proof(struct trigger_waiter *w, struct tconn *c)
{
	char reply[AUTH_LINE_MAX];
	int r;

	if (auth_challenge_check(&c->ch, w->key, w->keylen, c->in.buf, reply,
		sizeof(reply)) == -1) {
		/* DENIED for a wrong key, best effort; silence for junk. */
		if (reply[0] != '\0') {
			(void)line_out_set(&c->out, reply);
			(void)line_out_flush(c->fd, &c->out);
		}
		tw_drop(c);
		return 0;
	}
	c->state = TC_OK;
	(void)line_out_set(&c->out, reply);
	if ((r = line_out_flush(c->fd, &c->out)) == -1)
		tw_drop(c);
	return r == 1;
}

/* c's socket is ready: 1 when the trigger has fired. */
static int
tw_event(struct trigger_waiter *w, struct tconn *c)
{
	int r;

	if (c->out.off < c->out.len) {
		if ((r = line_out_flush(c->fd, &c->out)) == -1) {
			tw_drop(c);
			return 0;
		}
		if (r == 0)
			return 0;
		if (c->state == TC_OK)
			return 1;
		/* The challenge is out: the proof may be in already. */
	}
	if (c->state != TC_PROOF)
		return 0;
	if ((r = line_in_fill(c->fd, &c->in)) == -1) {
		tw_drop(c);
		return 0;
	}
	return r == 1 ? tw_proof(w, c) : 0;
}

int
trigger_wait_step(
    struct trigger_waiter *w, int64_t timeout_ns, trigger_pending_fn pending)
{
	struct pollfd pfd[1 + TRIGGER_MAX_PENDING];
	struct tconn *slot[1 + TRIGGER_MAX_PENDING], *c;
	int64_t now = clock_now(), wait = timeout_ns, left;
	nfds_t n = 0, i;
	int k;

	/* Listener in slot 0 (NULL) unless resting; the wait ends at the
	 * earliest handshake deadline: no periodic wake-up. */
	if (w->paused_until <= now) {
		pfd[n].fd = w->lfd;
		pfd[n].events = POLLIN;
		slot[n++] = NULL;
	} else if (wait < 0 || w->paused_until - now < wait) {
		wait = w->paused_until - now;
	}
	for (k = 0; k < TRIGGER_MAX_PENDING; k++) {
		if ((c = &w->c[k])->state == TC_FREE)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = c->out.off < c->out.len ? POLLOUT : POLLIN;
		slot[n++] = c;
		left = c->deadline > now ? c->deadline - now : 0;
		if (wait < 0 || left < wait)
			wait = left;
	}
	if (trigger_poll(pfd, n, wait, pending) == -1)
		return -1;
	now = clock_now();
	/* Handshakes first: accepting may take the slot of the oldest. */
	for (i = 0; i < n; i++) {
		if (slot[i] == NULL || pfd[i].revents == 0)
			continue;
		if (tw_event(w, slot[i]) == 1)
			return 1;
	}
	for (k = 0; k < TRIGGER_MAX_PENDING; k++)
		if (w->c[k].state != TC_FREE && w->c[k].deadline <= now)
			tw_drop(&w->c[k]);
	if (n > 0 && slot[0] == NULL && pfd[0].revents != 0)
		tw_accept(w, now);
	return 0;
}

int
trigger_wait_pending(const struct trigger_waiter *w)
{
	int k, n = 0;

	for (k = 0; k < TRIGGER_MAX_PENDING; k++)
		n += w->c[k].state != TC_FREE;
	return n;
}

int
trigger_wait_port(const struct trigger_waiter *w)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss)); /* the analyzer cannot see getsockname */
	if (getsockname(w->lfd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void
trigger_wait_close(struct trigger_waiter *w)
{
	int k, e = errno;

	if (w == NULL)
		return;
	for (k = 0; k < TRIGGER_MAX_PENDING; k++)
		tw_drop(&w->c[k]);
	if (w->lfd != -1)
		close(w->lfd);
	if (w->key != NULL) {
		explicit_bzero(w->key, w->keylen);
		free(w->key);
	}
	explicit_bzero(w, sizeof(*w));
	free(w);
	errno = e;
}
