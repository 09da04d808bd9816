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

struct output {
	struct binding b;
	struct ring *r;
	const struct output_opts *o;
	int fd;		   /* the connection, -1 while down */
	int64_t checked;   /* when the peer was last checked for a close */
	int64_t backoff;   /* delay before the next reconnect attempt */
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
 * the connection stands, -1 once the peer has closed or reset it.
 */
static int
output_discard(int fd)
{
	char buf[16384];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		if ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			continue;
		if (n == 0)
			return -1; /* end of the peer's stream: it closed */
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
	return 0; /* a chatty peer: the rest at the next check */
}

/*
 * Sends from the ring until it is empty or the socket is full. Returns 0
 * when the ring is empty, 1 when the socket is full (wait for POLLOUT), -1
 * when the connection is lost.
 */
static int
output_send(struct output *out)
{
	struct iovec iov[2];
	struct msghdr mh;
	char *p1, *p2;
	ssize_t n;
	int cnt;

	for (;;) {
		cnt = ring_peek(
		    out->r, &p1, &iov[0].iov_len, &p2, &iov[1].iov_len);
		if (cnt == 0)
			return 0;
		iov[0].iov_base = p1;
		iov[1].iov_base = p2;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)cnt;
		n = sendmsg(out->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			ring_consume(out->r, (size_t)n);
			out->sent = 1;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		else if (n == -1 && errno != EINTR)
			return -1;
	}
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

/* Drops everything queued (the connection is gone for good). */
static void
output_drop(struct output *out)
{
	char *p1, *p2;
	size_t n1, n2;

	if (ring_peek(out->r, &p1, &n1, &p2, &n2) > 0)
		ring_consume(out->r, n1 + n2);
}

/* The peer closed or reset the connection. */
static void
output_lost(struct output *out)
{
	close(out->fd);
	out->fd = -1;
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

static void
output_loop(struct output *out)
{
	uint32_t seq;
	int64_t now;
	int rc, rev;

	while (!output_stop) {
		if (out->fd == -1) {
			if (out->o->reconnect)
				output_reconnect(out, 0);
			else
				output_idle(out);
			continue;
		}
		/* A peer close shows only as readable: look every slice. */
		if ((now = helper_now()) - out->checked >= OUT_SLICE) {
			out->checked = now;
			if (output_discard(out->fd) == -1) {
				output_lost(out);
				continue;
			}
		}
		seq = ring_wseq(out->r);
		if ((rc = output_send(out)) == -1) {
			output_lost(out);
		} else if (rc == 1) {
			rev = output_poll(out, POLLOUT | POLLIN, OUT_SLICE);
			if ((rev & (POLLIN | POLLERR | POLLHUP)) &&
			    output_discard(out->fd) == -1)
				output_lost(out);
		} else if (out->sent) {
			output_linger(out, seq);
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
 * Half-closes and waits until the peer has acknowledged everything (or has
 * closed too, or the deadline passed), so that close() cannot turn into a
 * reset that loses what is still in flight.
 */
static void
output_finish(struct output *out, int64_t deadline)
{
	int q;

	shutdown(out->fd, SHUT_WR);
	while (helper_now() < deadline) {
		if (output_discard(out->fd) == -1)
			break;
		if (ioctl(out->fd, SIOCOUTQ, &q) == 0 && q == 0)
			break;
		output_poll(out, POLLIN, OUT_STEP / 2);
	}
	output_discard(out->fd);
	close(out->fd);
	out->fd = -1;
}

/*
 * Closing: new writes are refused (the binding reads as closed), then what
 * is queued, and what a writer in the middle of a message still adds, is
 * sent until done or OUTPUT_DRAIN has passed.
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
				return;
			output_reconnect(out, deadline);
			continue;
		}
		seq = ring_wseq(out->r);
		if ((rc = output_send(out)) == -1) {
			close(out->fd);
			out->fd = -1;
		} else if (rc == 1) {
			output_poll(out, POLLOUT, OUT_STEP);
		} else if (output_writer_busy(out->r)) {
			ring_wait_data(out->r, seq, OUT_STEP);
		} else {
			break;
		}
	}
	if (out->fd != -1)
		output_finish(out, deadline + OUT_FINISH);
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
		    e == EEXIST ? "in use by a live binding" : rt_strerror(e));
		return 1;
	}
	out.r = &out.b.ring;
	output_where(&out);
	output_conn(&out, RING_CONNECTED);
	out.checked = helper_now();
	out.backoff = OUT_BACKOFF_MIN;
	snprintf(err, sizeof(err), "%s %d", out.r->h->addr, o->port);
	helper_ready(reportfd, err);

	output_loop(&out);
	output_drain(&out);
	bind_remove(&out.b);
	return 0;
}
