/* output: the bind-output helper's send loop. */
#include "output.h"
#include "bind.h"
#include "helper.h"
#include "net.h"

#include <errno.h>
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

#define OUT_SLICE 100000000LL	     /* longest wait; peer checked as often */
#define OUT_STEP 10000000LL	     /* wait step while draining at close */
#define OUT_BACKOFF_MIN 100000000LL  /* first reconnect delay */
#define OUT_BACKOFF_MAX 5000000000LL /* longest reconnect delay */
#define OUT_FINISH 1000000000LL	     /* for the peer to ack, past the drain */
#define OUT_NAP 100000LL	     /* one look while lingering after a send */
#define OUT_NAPS 20		     /* looks before announcing a real wait */
#define OUT_ACKNAP_MIN 1000000LL     /* first wait for acks, writers blocked */
#define OUT_ACKNAP_MAX 20000000LL    /* longest one */

struct output {
	struct binding b;
	struct ring *r;
	const struct output_opts *o;
	int fd;		   /* the connection, -1 while down */
	int peer_eof;	   /* the peer ended its sending side (half-close) */
	size_t inflight;   /* bytes past tail handed to the socket, not yet
			      acknowledged: they stay in the ring */
	int64_t checked;   /* when the peer was last checked for a close */
	int64_t backoff;   /* delay before the next reconnect attempt */
	int64_t acknap;	   /* the next wait for acknowledgements */
	int sent;	   /* bytes went out since the last wait */
	sigset_t waitmask; /* the mask to wait with: stop signals open */
};

static volatile int output_stop;

static struct timespec
output_ts(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	return ts;
}

static void
output_conn(struct output *out, uint32_t conn)
{
	__atomic_store_n(&out->r->h->conn, conn, __ATOMIC_RELEASE);
}

/* Records the peer's numeric address for `bindings'. */
static void
output_where(struct output *out)
{
	char where[NET_ERR];

	net_addr_str(out->fd, 1, where, sizeof(where));
	snprintf(out->r->h->addr, sizeof(out->r->h->addr), "%.*s",
	    (int)strcspn(where, " "), where);
	out->r->h->port = (uint32_t)out->o->port;
}

/*
 * Reads and drops whatever the peer sent (we only send). Returns 0 while
 * the connection stands, -1 once it is lost. The end of the peer's stream
 * is a half-close, not a loss: the peer may still read (it sets peer_eof,
 * and from then on only an error or a hang-up means the peer is gone).
 */
static int
output_discard(struct output *out)
{
	char buf[16384];
	struct pollfd pfd;
	ssize_t n;
	int i;

	if (out->peer_eof) {
		pfd.fd = out->fd;
		pfd.events = 0;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == 1 &&
		    (pfd.revents & (POLLERR | POLLHUP)))
			return -1;
		return 0;
	}
	for (i = 0; i < 16; i++) {
		if ((n = recv(out->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			continue;
		if (n == 0) {
			out->peer_eof = 1;
			return 0;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
	return 0; /* a chatty peer: the rest at the next check */
}

/*
 * The ring's readable bytes from tail+off to head as up to two spans
 * (ring_peek's, with the first off bytes skipped). Returns the count.
 */
static int
output_spans(struct output *out, size_t off, struct iovec *iov)
{
	char *p1, *p2;
	size_t n1, n2;

	if (ring_peek(out->r, &p1, &n1, &p2, &n2) == 0)
		return 0;
	if (off >= n1) {
		off -= n1;
		if (off >= n2)
			return 0;
		iov[0].iov_base = p2 + off;
		iov[0].iov_len = n2 - off;
		return 1;
	}
	iov[0].iov_base = p1 + off;
	iov[0].iov_len = n1 - off;
	iov[1].iov_base = p2;
	iov[1].iov_len = n2;
	return n2 > 0 ? 2 : 1;
}

/* Where the last '\n' of the first n ring bytes at tail ends (its index
 * plus one), or 0 when they hold none. */
static size_t
output_line_end(struct output *out, size_t n)
{
	struct iovec iov[2];
	const char *p;
	int cnt = output_spans(out, 0, iov);

	if (cnt == 2 && n > iov[0].iov_len &&
	    (p = memrchr(iov[1].iov_base, '\n', n - iov[0].iov_len)) != NULL)
		return iov[0].iov_len + (size_t)(p - (char *)iov[1].iov_base) +
		       1;
	if (cnt >= 1 && (p = memrchr(iov[0].iov_base, '\n',
			     n < iov[0].iov_len ? n : iov[0].iov_len)) != NULL)
		return (size_t)(p - (char *)iov[0].iov_base) + 1;
	return 0;
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
	size_t acked, n;
	int q;

	if (out->inflight == 0 || ioctl(out->fd, SIOCOUTQ, &q) == -1 || q < 0)
		return;
	if ((size_t)q >= out->inflight)
		return;
	acked = out->inflight - (size_t)q;
	n = acked;
	if (out->o->reconnect && (n = output_line_end(out, acked)) == 0 &&
	    acked >= out->r->cap / 2)
		n = acked;
	if (n == 0)
		return;
	out->inflight -= n;
	ring_consume(out->r, n);
	out->acknap = OUT_ACKNAP_MIN;
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
	struct msghdr mh;
	ssize_t n;
	int cnt, rc = 0;

	for (;;) {
		if ((cnt = output_spans(out, out->inflight, iov)) == 0)
			break;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)cnt;
		n = sendmsg(out->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			out->inflight += (size_t)n;
			out->sent = 1;
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

/* Waits up to ns for events on the connection (or just sleeps while down)
 * with the stop signals open. Returns the revents, 0 on timeout or signal. */
static int
output_poll(struct output *out, short events, int64_t ns)
{
	struct pollfd pfd;
	struct timespec ts = output_ts(ns);
	nfds_t n = out->fd == -1 ? 0 : 1;

	pfd.fd = out->fd;
	pfd.events = events;
	pfd.revents = 0;
	if (ppoll(&pfd, n, &ts, &out->waitmask) <= 0)
		return 0;
	return pfd.revents;
}

/* Waits up to ns for a writer to publish past seq, stop signals open. */
static void
output_wait_data(struct output *out, uint32_t seq, int64_t ns)
{
	sigset_t old;

	sigprocmask(SIG_SETMASK, &out->waitmask, &old);
	if (!output_stop)
		ring_wait_data(out->r, seq, ns);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * Right after a send more writes tend to follow (a loop of `write'): look
 * for them a few times without announcing a wait, so that their publishes
 * make no syscall (no wake-up needed). Costs at most OUT_NAPS short naps
 * at the end of a burst, and delays a message by at most one nap.
 */
static void
output_linger(struct output *out, uint32_t seq)
{
	int i;

	out->sent = 0;
	for (i = 0; i < OUT_NAPS && ring_wseq(out->r) == seq; i++)
		ring_futex_wait(&out->r->h->wseq, seq, OUT_NAP);
}

/* Drops everything queued (the connection is gone for good), counting it
 * as undelivered. */
static void
output_drop(struct output *out)
{
	char *p1, *p2;
	size_t n1, n2;

	if (ring_peek(out->r, &p1, &n1, &p2, &n2) > 0) {
		__atomic_add_fetch(
		    &out->r->h->undelivered, n1 + n2, __ATOMIC_RELEASE);
		ring_consume(out->r, n1 + n2);
	}
	out->inflight = 0;
}

/* Closes the connection; what was in flight is sent again on the next. */
static void
output_disconnect(struct output *out)
{
	close(out->fd);
	out->fd = -1;
	out->inflight = 0;
	out->peer_eof = 0;
}

/* The peer reset the connection, or went away. */
static void
output_lost(struct output *out)
{
	output_disconnect(out);
	output_conn(out, RING_DOWN);
	if (out->o->reconnect) {
		out->backoff = OUT_BACKOFF_MIN;
		return;
	}
	/* Writers now fail with "connection closed"; the binding stays. */
	ring_set_state(out->r, RING_ENDED);
	output_drop(out);
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
	int64_t t = out->o->timeout, left;

	if (t > OUTPUT_RETRY_MAX)
		t = OUTPUT_RETRY_MAX;
	if (deadline != 0 && (left = deadline - helper_now()) < out->backoff)
		out->backoff = left > 0 ? left : 0;
	output_poll(out, 0, out->backoff);
	if (output_stop && deadline == 0)
		return -1; /* closing: the drain decides whether to go on */
	if (deadline != 0 && (left = deadline - helper_now()) < t)
		t = left;
	if (t <= 0)
		return -1;
	out->fd = net_connect(out->o->host, out->o->port, t, err, sizeof(err));
	if (out->fd == -1) {
		out->backoff *= 2;
		if (out->backoff < OUT_BACKOFF_MIN)
			out->backoff = OUT_BACKOFF_MIN;
		if (out->backoff > OUT_BACKOFF_MAX)
			out->backoff = OUT_BACKOFF_MAX;
		return -1;
	}
	out->inflight = 0;
	out->peer_eof = 0;
	output_where(out);
	output_conn(out, RING_CONNECTED);
	out->checked = helper_now();
	out->backoff = OUT_BACKOFF_MIN;
	return 0;
}

/* Down without -r: writers are refused; drop what slipped in meanwhile. */
static void
output_idle(struct output *out)
{
	uint32_t seq = ring_wseq(out->r);

	output_drop(out);
	output_wait_data(out, seq, OUT_SLICE);
}

/* Bytes in flight wait for their acknowledgement: look again soon, then
 * less and less often (a peer that does not read acknowledges nothing). */
static void
output_wait_acks(struct output *out, uint32_t seq)
{
	output_wait_data(out, seq, out->acknap);
	out->acknap *= 2;
	if (out->acknap > OUT_ACKNAP_MAX)
		out->acknap = OUT_ACKNAP_MAX;
	output_acked(out);
}

/* Waits for the socket to take more (or for the peer), then checks the
 * connection. Returns -1 when it is lost. */
static int
output_wait_socket(struct output *out, int64_t ns)
{
	int rev =
	    output_poll(out, out->peer_eof ? POLLOUT : POLLOUT | POLLIN, ns);

	if ((rev & (POLLIN | POLLERR | POLLHUP)) && output_discard(out) == -1)
		return -1;
	return 0;
}

/*
 * Serves the binding until a stop signal: sends what writers publish,
 * keeps what the peer has not acknowledged, watches the connection (a
 * reset, or a hang-up, is a loss; the end of the peer's stream is not),
 * and reconnects (-r) or turns the binding down when it is lost.
 */
static void
output_loop(struct output *out)
{
	uint32_t seq;
	int64_t now;
	int rc;

	while (!output_stop) {
		if (out->fd == -1) {
			if (out->o->reconnect)
				output_reconnect(out, 0);
			else
				output_idle(out);
			continue;
		}
		/* A reset shows only when looked at: look every slice. */
		if ((now = helper_now()) - out->checked >= OUT_SLICE) {
			out->checked = now;
			if (output_discard(out) == -1) {
				output_lost(out);
				continue;
			}
		}
		seq = ring_wseq(out->r);
		if ((rc = output_send(out)) == -1) {
			output_lost(out);
		} else if (rc == 1) {
			if (output_wait_socket(out, OUT_SLICE) == -1)
				output_lost(out);
		} else if (out->sent) {
			output_linger(out, seq);
		} else if (out->inflight > 0) {
			output_wait_acks(out, seq);
		} else {
			output_wait_data(out, seq, OUT_SLICE);
		}
	}
}

/* 1 while a live writer holds the ring's writer lock. */
static int
output_writer_busy(struct ring *r)
{
	uint32_t w = __atomic_load_n(&r->h->wlock, __ATOMIC_SEQ_CST);

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
	int q = 0;

	shutdown(out->fd, SHUT_WR);
	while (helper_now() < deadline) {
		if (output_discard(out) == -1)
			break;
		output_acked(out);
		if (ioctl(out->fd, SIOCOUTQ, &q) == 0 && q == 0)
			break;
		output_wait_socket(out, OUT_STEP / 2);
	}
	output_acked(out);
	used = ring_used(out->r);
	if (ioctl(out->fd, SIOCOUTQ, &q) == 0 && q >= 0 &&
	    (size_t)q <= out->inflight)
		used -= out->inflight - (size_t)q; /* acked, part of a line */
	if (used > 0) {
		__atomic_add_fetch(
		    &out->r->h->undelivered, used, __ATOMIC_RELEASE);
		setsockopt(out->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	output_disconnect(out);
}

/*
 * Closing: new writes are refused (the binding reads as closed), then what
 * is queued, and what a writer in the middle of a message still adds, is
 * sent until done or OUTPUT_DRAIN has passed; the peer then has
 * OUT_FINISH more to acknowledge it. What it never got is counted in the
 * header's undelivered, which `unbind' reports.
 */
static void
output_drain(struct output *out)
{
	int64_t deadline = helper_now() + OUTPUT_DRAIN;
	uint32_t seq;
	int rc;

	ring_set_state(out->r, RING_CLOSED);
	while (helper_now() < deadline) {
		if (out->fd == -1) {
			if (!out->o->reconnect ||
			    (ring_used(out->r) == 0 &&
				!output_writer_busy(out->r)))
				break;
			output_reconnect(out, deadline);
			continue;
		}
		seq = ring_wseq(out->r);
		if ((rc = output_send(out)) == -1) {
			output_disconnect(out);
		} else if (rc == 1) {
			if (output_wait_socket(out, OUT_STEP) == -1)
				output_disconnect(out);
		} else if (output_writer_busy(out->r)) {
			ring_wait_data(out->r, seq, OUT_STEP);
		} else {
			break;
		}
	}
	if (out->fd != -1)
		output_finish(out, deadline + OUT_FINISH);
	else
		output_drop(out);
}

int
output_main(void *arg, int reportfd)
{
	const struct output_opts *o = arg;
	struct output out;
	char err[NET_ERR], dir[RT_PATH_MAX];
	sigset_t stops;
	int e;

	memset(&out, 0, sizeof(out));
	out.o = o;
	/* Spare the peer a connection when the ID is taken anyway. */
	if (rt_nsdir(o->ns, dir, sizeof(dir)) == 0 &&
	    bind_locked(dir, o->id) == 1) {
		helper_fail(
		    reportfd, 1, EEXIST, "%s: in use by a live binding", o->id);
		return 1;
	}
	/* Signals are still at their defaults: a stop now just ends us. */
	out.fd = net_connect(o->host, o->port, o->timeout, err, sizeof(err));
	if (out.fd == -1) {
		helper_fail(reportfd, 1, errno, "%s: connect to %s port %d: %s",
		    o->id, o->host, o->port, err);
		return 1;
	}
	helper_on_stop(&output_stop);
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &out.waitmask);
	sigdelset(&out.waitmask, SIGINT);
	sigdelset(&out.waitmask, SIGHUP);
	sigdelset(&out.waitmask, SIGTERM);

	if (bind_create(&out.b, o->ns, o->id, o->cap, RING_OUT,
		o->reconnect ? RING_F_RECONNECT : 0) == -1) {
		e = errno;
		close(out.fd);
		helper_fail(reportfd, e == EINVAL ? 2 : 1, e, "%s: %s", o->id,
		    e == EEXIST ? "in use by a live binding" : strerror(e));
		return 1;
	}
	out.r = &out.b.ring;
	output_where(&out);
	output_conn(&out, RING_CONNECTED);
	out.checked = helper_now();
	out.backoff = OUT_BACKOFF_MIN;
	out.acknap = OUT_ACKNAP_MIN;
	snprintf(err, sizeof(err), "%s %d", out.r->h->addr, o->port);
	helper_ready(reportfd, err);

	output_loop(&out);
	output_drain(&out);
	bind_remove(&out.b);
	return 0;
}
