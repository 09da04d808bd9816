/* output: the bind-output helper's send loop. */
#include "output.h"
#include "clock.h"
#include "bind.h"
#include "conn.h"
#include "direct.h"
#include "helper.h"
#include "net.h"
#include "waker.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_SLICE 100000000LL	/* a down binding looks this often */
#define OUTPUT_STEP 10000000LL		/* wait step while draining at close */
#define OUTPUT_BACKOFF_MIN 100000000LL	/* first reconnect delay */
#define OUTPUT_BACKOFF_MAX 5000000000LL /* longest reconnect delay */
#define OUTPUT_FINISH 1000000000LL   /* for the peer to ack, past the drain */
#define OUTPUT_ACKNAP_MIN 1000000LL  /* first wait for acks, writers blocked */
#define OUTPUT_ACKNAP_MAX 20000000LL /* longest one */
#define OUTPUT_SLOCK_WAIT 100	     /* naps of 1 ms for a shell's send */

struct output {
	struct binding b;
	struct ring *r;	 /* rx: what the peer sends (the mapping's view) */
	struct ring tx;	 /* what writers queue for the peer */
	struct waker wk; /* tx publishes and rx room, as an eventfd */
	const struct output_opts *o;
	struct conn c;	   /* the connection, fd -1 while down */
	void *ctx;	   /* -T: the TLS client context */
	int peer_eof;	   /* the peer ended its sending side (half-close) */
	int shut;	   /* our sending side is shut (write -d) */
	pid_t self;	   /* our PID, the holder's in the direct locks */
	int slocked;	   /* we hold the sender's lock (direct.h) */
	int rwanted;	   /* we wait for a shell to let go of rlock */
	int64_t backoff;   /* delay before the next reconnect attempt */
	int64_t acknap;	   /* the next wait for acknowledgements */
	sigset_t waitmask; /* the mask to wait with: stop signals open */
};

static volatile int output_stop;

static void
output_conn(struct output *out, uint32_t conn)
{
	__atomic_store_n(&out->r->h->conn, conn, __ATOMIC_RELEASE);
}

/* The connection is non-blocking (rx is read as far as it has room) and
 * its address is recorded for `bindings'. */
static void
output_up(struct output *out)
{
	int fl = fcntl(out->c.fd, F_GETFL);

	if (fl != -1)
		fcntl(out->c.fd, F_SETFL, fl | O_NONBLOCK);
}

/* Records the peer's numeric address for `bindings'. */
static void
output_where(struct output *out)
{
	char where[NET_ERR];

	net_addr_str(out->c.fd, 1, where, sizeof(where));
	snprintf(out->r->h->addr, sizeof(out->r->h->addr), "%.*s",
	    (int)strcspn(where, " "), where);
	out->r->h->port = (uint32_t)out->o->port;
}

/*
 * Receives what the peer sent into rx, as far as rx has room. Returns 0
 * while the connection stands, -1 once it is lost (reset). The end of the
 * peer's stream is a half-close, not a loss: the peer may still read; rx
 * ends (a reader gets the end once it has read everything).
 */
static int
output_recv(struct output *out)
{
	struct iovec iov[2];
	char *p1, *p2;
	size_t fre;
	ssize_t n;
	int cnt, i;

	for (i = 0; i < 16 && !out->peer_eof; i++) {
		if ((fre = ring_free(out->r)) == 0)
			return 0; /* full: TCP holds the peer back */
		cnt = ring_spans(
		    out->r, 0, fre, &p1, &iov[0].iov_len, &p2, &iov[1].iov_len);
		iov[0].iov_base = p1;
		iov[1].iov_base = p2;
		n = conn_readv(&out->c, iov, cnt);
		if (n > 0) {
			ring_publish(out->r, (size_t)n);
			continue;
		}
		if (n == 0) {
			out->peer_eof = 1;
			ring_set_end(out->r);
			return 0;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
	return 0;
}

/* 1 while a shell receives on the connection itself. */
static int
output_shell_receives(const struct output *out)
{
	return direct_shell_receives(out->r->h);
}

/*
 * Receives under the receiver's lock (direct.h), so that rx keeps one
 * producer. need: the helper must look (the end, a loss): when a shell
 * holds the lock, it rings us as it lets go; otherwise (plain input while
 * a shell receives) the shell takes the bytes and we leave them.
 */
static int
output_recv_locked(struct output *out, int need)
{
	struct ring_hdr *h = out->r->h;
	int rc;

	if (direct_receive_turn(h, out->self, need) == -1) {
		out->rwanted = need;
		return 0;
	}
	out->rwanted = 0;
	rc = output_recv(out);
	direct_give(&h->direct.rlock, out->self);
	return rc;
}

/* Holds the sender's lock (a shell may send on the connection while we
 * sleep): 1 once held; 0 when a shell holds it, which rings us as it lets
 * go. */
static int
output_slock(struct output *out)
{
	if (!out->slocked)
		out->slocked = direct_take(out->r->h, &out->r->h->direct.slock,
				   out->self) == 0;
	return out->slocked;
}

/*
 * Bytes leave the ring only once the peer has acknowledged them: what the
 * socket still holds (SIOCOUTQ: sent but unacknowledged, or unsent) is
 * kept, so that a lost connection loses nothing. With -r the ring lets go
 * only of whole lines (up to the last acknowledged newline), so that after
 * a loss every line not wholly acknowledged is sent again, whole, on the
 * next connection; a line longer than half the ring is let go of as it is
 * acknowledged (a stream without newlines must not fill the ring). Called
 * only while the connection stands: after an error the count is not
 * trusted, and what was not let go of is sent again.
 */
static void
output_acked(struct output *out)
{
	size_t inflight = direct_inflight(&out->tx);
	ssize_t q;

	if (inflight == 0 || !output_slock(out) ||
	    (q = conn_unacked(&out->c, inflight)) < 0)
		return;
	if (direct_release(&out->tx, (size_t)q, out->o->reconnect) > 0)
		out->acknap = OUTPUT_ACKNAP_MIN;
}

/*
 * Sends what the ring holds past the bytes in flight, until all is in the
 * socket or the socket is full, then lets go of what was acknowledged.
 * Returns 0 when everything is in the socket, 1 when the socket is full
 * (wait for POLLOUT), -1 when the connection is lost.
 */
static int
output_send(struct output *out)
{
	struct iovec iov[2];
	ssize_t n;
	int cnt, rc = 0;

	if (!output_slock(out))
		return 0; /* a shell sends; it rings us as it lets go */
	for (;;) {
		if ((cnt = direct_unsent_spans(&out->tx, iov)) == 0)
			break;
		n = conn_send(&out->c, iov, cnt);
		if (n > 0) {
			__atomic_add_fetch(&out->r->h->direct.sent, (uint64_t)n,
			    __ATOMIC_SEQ_CST);
		} else if (n == -1 &&
			   (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = 1;
			break;
		} else if (n == -1 && errno != EINTR) {
			return -1;
		}
	}
	output_acked(out);
	return rc;
}

/* Waits up to ns (-1: no limit) for events on the connection (events;
 * none while down) and on the waker, stop signals open. Returns the
 * connection's revents; the waker is drained when it fired. */
static int
output_poll(struct output *out, short events, int64_t ns)
{
	struct pollfd pfd[2];
	struct timespec ts = clock_ts(ns < 0 ? 0 : ns);
	nfds_t n = 0;
	int k;

	pfd[0].fd = out->wk.efd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	/* Waiting for a shell to let go of rlock: the socket's end or loss,
	 * which it reports as long as it lasts, waits for that too. */
	if (out->c.fd != -1 && !out->rwanted) {
		pfd[1].fd = out->c.fd;
		pfd[1].events = events;
		pfd[1].revents = 0;
		n = 1;
	}
	/* While we sleep, a shell may send on the connection itself. */
	if (out->slocked) {
		direct_give(&out->r->h->direct.slock, out->self);
		out->slocked = 0;
	}
	k = ppoll(pfd, 1 + n, ns < 0 ? NULL : &ts, &out->waitmask);
	output_slock(out);
	if (k <= 0)
		return 0;
	if (pfd[0].revents & POLLIN)
		waker_drain(&out->wk);
	return n > 0 ? pfd[1].revents : 0;
}

/*
 * Takes the sender's lock for what only we do (a loss, a drop): a shell
 * holds it for one send, so we wait up to OUTPUT_SLOCK_WAIT for it, then
 * take it over (a shell stopped mid-send sees the connection changed).
 */
static void
output_slock_hard(struct output *out)
{
	struct timespec ts = clock_ts(OUTPUT_STEP / 10);
	int i;

	for (i = 0; i < OUTPUT_SLOCK_WAIT && !output_slock(out); i++)
		ppoll(NULL, 0, &ts, &out->waitmask);
	if (!out->slocked) {
		__atomic_store_n(&out->r->h->direct.slock, (uint32_t)out->self,
		    __ATOMIC_SEQ_CST);
		out->slocked = 1;
	}
}

/* Forgets what was in flight: it is sent again (on the next connection). */
static void
output_unsend(struct output *out)
{
	output_slock_hard(out);
	__atomic_store_n(&out->r->h->direct.sent, ring_load(&out->tx.d->tail),
	    __ATOMIC_SEQ_CST);
}

/* Drops everything queued (the connection is gone for good), counting it
 * as undelivered. */
static void
output_drop(struct output *out)
{
	char *p1, *p2;
	size_t n1, n2;

	output_slock_hard(out);
	if (ring_peek(&out->tx, &p1, &n1, &p2, &n2) > 0) {
		__atomic_add_fetch(
		    &out->r->h->undelivered, n1 + n2, __ATOMIC_RELEASE);
		ring_consume(&out->tx, n1 + n2);
	}
	output_unsend(out);
}

/* Closes the connection, withdrawn from the shells first; what was in
 * flight is sent again on the next. */
static void
output_disconnect(struct output *out)
{
	output_slock_hard(out);
	direct_offer(out->r->h, -1);
	conn_close(&out->c);
	output_unsend(out);
	out->peer_eof = 0;
	out->rwanted = 0;
}

/* A plain connection is offered to the shells (direct.h); TLS is ours. */
static void
output_offer(struct output *out)
{
	output_slock_hard(out);
	output_unsend(out);
	if (!out->o->tls)
		direct_offer(out->r->h, out->c.fd);
}

/* The peer reset the connection, or went away. */
static void
output_lost(struct output *out)
{
	output_disconnect(out);
	output_conn(out, RING_DOWN);
	if (out->o->reconnect) {
		out->backoff = OUTPUT_BACKOFF_MIN;
		return;
	}
	/* Writers now fail with "connection closed", readers get the end
	 * once they have read what came; the binding stays. */
	ring_set_end(&out->tx);
	ring_set_end(out->r);
	ring_set_state(out->r, RING_ENDED);
	output_drop(out);
}

/*
 * -T: the TLS handshake on the connection just made, verifying the server
 * (unless -k), within deadline. 0, or -1 with one line in err (the
 * connection is then closed).
 */
static int
output_tls(struct output *out, int64_t deadline, char *err, size_t len)
{
	struct pollfd pfd;
	struct timespec ts;
	int64_t left;
	int k;

	if (!out->o->tls)
		return 0;
	output_up(out); /* the handshake waits in ppoll, never in a call */
	if (conn_tls->start(&out->c, out->ctx, out->o->host) == -1) {
		snprintf(err, len, "TLS: %s", strerror(ENOMEM));
		conn_close(&out->c);
		return -1;
	}
	while ((k = conn_tls->handshake(&out->c, err, len)) == 0) {
		if ((left = deadline - clock_now()) <= 0) {
			snprintf(err, len, "TLS handshake: timed out");
			k = -1;
			break;
		}
		pfd.fd = out->c.fd;
		pfd.events = out->c.want;
		ts = clock_ts(left);
		ppoll(&pfd, 1, &ts, &out->waitmask);
	}
	if (k == -1)
		conn_close(&out->c);
	return k == 1 ? 0 : -1;
}

/*
 * One reconnect attempt after the backoff delay, each attempt bounded by
 * the connect timeout, OUTPUT_RETRY_MAX and deadline (0: none). Returns 0
 * once connected again, -1 otherwise (the delay doubles, up to 5 s).
 */
static int
output_reconnect(struct output *out, int64_t deadline)
{
	char err[NET_ERR];
	int64_t t = out->o->timeout, left, until;

	if (t > OUTPUT_RETRY_MAX)
		t = OUTPUT_RETRY_MAX;
	if (deadline != 0 && (left = deadline - clock_now()) < out->backoff)
		out->backoff = left > 0 ? left : 0;
	until = clock_now() + out->backoff;
	while (!output_stop && (left = until - clock_now()) > 0)
		output_poll(out, 0, left); /* the waker may fire meanwhile */
	if (output_stop && deadline == 0)
		return -1; /* closing: the drain decides whether to go on */
	if (deadline != 0 && (left = deadline - clock_now()) < t)
		t = left;
	if (t <= 0)
		return -1;
	out->c.fd =
	    net_connect(out->o->host, out->o->port, t, err, sizeof(err));
	if (out->c.fd != -1 &&
	    output_tls(out, clock_now() + t, err, sizeof(err)) == -1)
		out->c.fd = -1;
	if (out->c.fd == -1) {
		out->backoff *= 2;
		if (out->backoff < OUTPUT_BACKOFF_MIN)
			out->backoff = OUTPUT_BACKOFF_MIN;
		if (out->backoff > OUTPUT_BACKOFF_MAX)
			out->backoff = OUTPUT_BACKOFF_MAX;
		return -1;
	}
	out->peer_eof = 0;
	out->shut = 0;
	__atomic_store_n(&out->r->d->end, 0, __ATOMIC_RELEASE);
	output_up(out);
	output_where(out);
	output_offer(out);
	output_conn(out, RING_CONNECTED);
	out->backoff = OUTPUT_BACKOFF_MIN;
	return 0;
}

/* Down without -r: writers are refused; drop what slipped in meanwhile. */
static void
output_idle(struct output *out)
{
	output_drop(out);
	output_poll(out, 0, OUTPUT_SLICE);
}

/* write -d asked to end our sending side: once everything queued is in
 * the socket, shut it (the FIN follows the bytes). */
static void
output_shut(struct output *out)
{
	if (out->shut || !ring_ended(&out->tx) || direct_unsent(&out->tx))
		return;
	if (conn_shutdown(&out->c) != 1) /* 1: TLS, the socket full */
		out->shut = 1;
}

/*
 * One round with the connection up: receive what came, send what was
 * queued, then wait for the socket (readable while rx has room, writable
 * while it is full), for the waker (a publish on tx, room on rx, a shell
 * letting go of a lock), or for acknowledgements of what is in flight.
 * While a shell receives on the connection itself (direct.h), we watch
 * only for its end or loss. Returns -1 when the connection is lost (a
 * reset or a hang-up; the end of the peer's stream is not one).
 */
static int
output_round(struct output *out)
{
	short ev = 0;
	int rc, rev, rxfull, shell;

	if (out->rwanted && output_recv_locked(out, 1) == -1)
		return -1;
	shell = output_shell_receives(out);
	if ((!shell && output_recv_locked(out, 0) == -1) ||
	    (rc = output_send(out)) == -1)
		return -1;
	output_shut(out);
	rxfull = !out->peer_eof && ring_free(out->r) == 0;
	waker_want(&out->wk, 1, rxfull);
	if (rxfull && ring_free(out->r) > 0)
		return 0; /* a reader made room before the waker looked */
	if (!out->peer_eof && !rxfull)
		ev |= shell ? POLLRDHUP : POLLIN;
	if (rc == 1)
		ev |= out->c.want; /* POLLOUT; TLS may want to read first */
	rev = output_poll(
	    out, ev, direct_inflight(&out->tx) > 0 ? out->acknap : -1);
	if (direct_inflight(&out->tx) > 0) {
		out->acknap *= 2;
		if (out->acknap > OUTPUT_ACKNAP_MAX)
			out->acknap = OUTPUT_ACKNAP_MAX;
	}
	/* Input while a shell receives is the shell's; its end is ours. */
	if (rev & (POLLRDHUP | POLLHUP | POLLERR)) {
		if (output_recv_locked(out, 1) == -1)
			return -1;
	} else if ((rev & POLLIN) && !output_shell_receives(out) &&
		   output_recv_locked(out, 0) == -1) {
		return -1;
	}
	if (out->rwanted)
		return 0; /* the shell reports the rest; it rings us */
	if (rev & POLLERR)
		return -1;
	/* A hang-up: both directions ended (after our -d the peer closed
	 * too) or the connection is gone. What came last is taken first;
	 * polling on would only see the hang-up again. */
	if (rev & POLLHUP)
		return -1;
	return 0;
}

/*
 * Serves the binding until a stop signal: receives into rx, sends what
 * writers publish on tx and keeps what the peer has not acknowledged,
 * and reconnects (-r) or turns the binding down when the connection is
 * lost.
 */
static void
output_loop(struct output *out)
{
	while (!output_stop) {
		if (out->c.fd == -1) {
			if (out->o->reconnect)
				output_reconnect(out, 0);
			else
				output_idle(out);
			continue;
		}
		if (output_round(out) == -1)
			output_lost(out);
	}
}

/* 1 while a live writer holds the ring's writer lock. */
static int
output_writer_busy(struct ring *r)
{
	uint32_t w = __atomic_load_n(&r->d->wlock, __ATOMIC_SEQ_CST);

	return w != 0 && (kill((pid_t)w, 0) == 0 || errno == EPERM);
}

/*
 * Half-closes and waits until the peer has acknowledged everything (or
 * the connection is lost, or the deadline passed). What is still not
 * acknowledged then is counted as undelivered and the connection reset,
 * so that no more of it goes out behind the count's back.
 */
static void
output_finish(struct output *out, int64_t deadline)
{
	struct linger lg = {1, 0};
	size_t used;
	ssize_t q;
	int rev, sh;

	/* TLS: close_notify goes first, when the socket takes it. */
	sh = conn_shutdown(&out->c);
	while (clock_now() < deadline) {
		output_acked(out);
		if (sh == 1)
			sh = conn_shutdown(&out->c);
		if (sh != 1 && conn_outq(&out->c) == 0)
			break;
		rev = output_poll(out,
		    (out->peer_eof ? 0 : POLLIN) | (sh == 1 ? POLLOUT : 0),
		    OUTPUT_STEP / 2);
		if (rev & POLLERR)
			break;
		if ((rev & POLLIN) && output_recv_locked(out, 1) == -1)
			break;
	}
	output_acked(out);
	used = ring_used(&out->tx);
	if ((q = conn_unacked(&out->c, direct_inflight(&out->tx))) >= 0)
		used -= direct_inflight(&out->tx) - (size_t)q; /* acked, part of
								  a line */
	if (used > 0) {
		__atomic_add_fetch(
		    &out->r->h->undelivered, used, __ATOMIC_RELEASE);
		setsockopt(out->c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	output_disconnect(out);
}

/*
 * Closing: new writes are refused (the binding reads as closed), then what
 * is queued, and what a writer in the middle of a message still adds, is
 * sent until done or OUTPUT_DRAIN has passed; the peer then has
 * OUTPUT_FINISH more to acknowledge it. What it never got is counted in the
 * header's undelivered, which `unbind' reports.
 */
static void
output_drain(struct output *out)
{
	int64_t deadline = clock_now() + OUTPUT_DRAIN;
	int rc;

	ring_set_state(out->r, RING_CLOSED);
	while (clock_now() < deadline) {
		if (out->c.fd == -1) {
			if (!out->o->reconnect ||
			    (ring_used(&out->tx) == 0 &&
				!output_writer_busy(&out->tx)))
				break;
			output_reconnect(out, deadline);
			continue;
		}
		if ((rc = output_send(out)) == -1) {
			output_disconnect(out);
		} else if (rc == 1) {
			if (output_poll(out, out->c.want, OUTPUT_STEP) &
			    POLLERR)
				output_disconnect(out);
		} else if (output_writer_busy(&out->tx)) {
			output_poll(out, 0, OUTPUT_STEP);
		} else {
			break;
		}
	}
	if (out->c.fd != -1)
		output_finish(out, deadline + OUTPUT_FINISH);
	else
		output_drop(out);
}

int
output_main(void *arg, int reportfd)
{
	const struct output_opts *o = arg;
	struct output out;
	char err[NET_ERR], dir[RT_PATH_MAX];
	int e;

	memset(&out, 0, sizeof(out));
	out.o = o;
	out.self = getpid();
	/* Spare the peer a connection when the ID is taken anyway. */
	if (rt_nsdir(o->ns, dir, sizeof(dir)) == 0 &&
	    bind_locked(dir, o->id) == 1) {
		helper_fail(
		    reportfd, 1, EEXIST, "%s: in use by a live binding", o->id);
		return 1;
	}
	conn_init(&out.c, -1);
	if (o->tls && conn_tls == NULL) {
		helper_fail(reportfd, 1, ENOTSUP,
		    "%s: TLS needs %s next to bashsock.so", o->id,
		    HELPER_PROGRAM_TLS);
		return 1;
	}
	if (o->tls && (out.ctx = conn_tls->client_ctx(
			   o->ca, o->verify, err, sizeof(err))) == NULL) {
		helper_fail(reportfd, 1, EINVAL, "%s: %s", o->id, err);
		return 1;
	}
	/* Signals are still at their defaults: a stop now just ends us. */
	out.c.fd = net_connect(o->host, o->port, o->timeout, err, sizeof(err));
	if (out.c.fd == -1) {
		helper_fail(reportfd, 1, errno, "%s: connect to %s port %d: %s",
		    o->id, o->host, o->port, err);
		return 1;
	}
	if (output_tls(&out, clock_now() + o->timeout, err, sizeof(err)) ==
	    -1) {
		helper_fail(reportfd, 1, EPROTO, "%s: %s port %d: %s", o->id,
		    o->host, o->port, err);
		return 1;
	}
	helper_on_stop(&output_stop);
	clock_stop_block(&out.waitmask);

	if (bind_create(&out.b, o->ns, o->id, o->cap, RING_OUT,
		(o->reconnect ? RING_F_RECONNECT : 0) |
		    (o->tls ? RING_F_TLS : 0)) == -1) {
		e = errno;
		conn_close(&out.c);
		helper_fail(reportfd, e == EINVAL ? 2 : 1, e, "%s: %s", o->id,
		    e == EEXIST ? "in use by a live binding" : rt_strerror(e));
		return 1;
	}
	out.r = &out.b.ring;
	ring_view(out.r, RING_TX, &out.tx);
	if (waker_start(&out.wk, &out.tx.d->wseq, &out.tx.d->rwait,
		&out.r->d->rseq, &out.r->d->wwait) == -1) {
		e = errno;
		bind_remove(&out.b);
		conn_close(&out.c);
		helper_fail(reportfd, 1, e, "%s: %s", o->id, strerror(e));
		return 1;
	}
	output_up(&out);
	output_where(&out);
	output_offer(&out);
	output_conn(&out, RING_CONNECTED);
	out.backoff = OUTPUT_BACKOFF_MIN;
	out.acknap = OUTPUT_ACKNAP_MIN;
	snprintf(err, sizeof(err), "%s %d", out.r->h->addr, o->port);
	helper_ready(reportfd, err);

	output_loop(&out);
	output_drain(&out);
	waker_stop(&out.wk);
	bind_remove(&out.b);
	return 0;
}
