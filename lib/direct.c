/* direct: the shell's own path to a binding's connection; see direct.h. */
#include "direct.h"
#include "clock.h"
#include "rt.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define DIRECT_ROUNDS 16 /* recvs in one direct_recv, at most */

/* -1 untried; 1 when this process never takes the path: BASHSOCK_DIRECT=0
 * in its environment, or the kernel has no pidfd_getfd or refuses it. */
static int direct_off = -1;

static int
direct_allowed(void)
{
	const char *e;

	if (direct_off == -1) {
		e = getenv("BASHSOCK_DIRECT");
		direct_off = e != NULL && strcmp(e, "0") == 0;
	}
	return !direct_off;
}

int
direct_get(const struct ring *r, uint32_t *gen)
{
	struct ring_direct *d = &r->h->direct;
	uint32_t g;
	int32_t n;
	long pfd, fd;

	if (!direct_allowed())
		return -1;
	g = LOAD(&d->gen);
	if ((n = LOAD(&d->fd)) < 0)
		return -1;
	if ((pfd = syscall(SYS_pidfd_open, (pid_t)r->h->pid, 0)) == -1) {
		if (errno == ENOSYS)
			direct_off = 1;
		return -1;
	}
	fd = syscall(SYS_pidfd_getfd, (int)pfd, (int)n, 0);
	close((int)pfd);
	if (fd == -1) {
		if (errno == ENOSYS)
			direct_off = 1;
		return -1; /* EPERM: not ours to copy (another shell's) */
	}
	/* The helper bumps gen before it closes or reuses the number. */
	if (LOAD(&d->gen) != g) {
		close((int)fd);
		return -1;
	}
	*gen = g;
	return (int)fd;
}

void
direct_put(int fd)
{
	if (fd != -1)
		close(fd);
}

int
direct_current(const struct ring *r, uint32_t gen)
{
	return LOAD(&r->h->direct.gen) == gen && LOAD(&r->h->direct.fd) >= 0;
}

/* Rings the helper: its waker watches tx's wseq. */
static void
direct_ring(const struct ring *r)
{
	struct ring tx;

	ring_view(r, RING_TX, &tx);
	ring_poke(&tx);
}

/* Lets a shell's lock go, ringing the helper when it waits for it. */
static void
direct_unlock(const struct ring *r, uint32_t *word, pid_t pid, int ring)
{
	ring_pidunlock(word, pid);
	if (__atomic_exchange_n(&r->h->direct.want, 0, __ATOMIC_SEQ_CST) != 0)
		ring = 1;
	if (ring)
		direct_ring(r);
}

int
direct_rlock(struct ring *rx, pid_t pid)
{
	if (ring_pidlock_try(&rx->h->direct.rlock, pid) == -1)
		return -1;
	STORE(&rx->h->direct.mode, 1);
	return 0;
}

void
direct_runlock(struct ring *rx, pid_t pid, int handback)
{
	int ring = 0;

	/* Readers that wait on rx wait for the helper to receive. */
	if (handback || LOAD(&rx->d->rwait) != 0) {
		STORE(&rx->h->direct.mode, 0);
		ring = 1;
	}
	direct_unlock(rx, &rx->h->direct.rlock, pid, ring);
}

void
direct_handback(struct ring *rx)
{
	pid_t self = rt_self();

	if (LOAD(&rx->h->direct.mode) == 0 ||
	    ring_pidlock_try(&rx->h->direct.rlock, self) == -1)
		return; /* its holder sees the waiters as it lets go */
	direct_runlock(rx, self, 1);
}

ssize_t
direct_recv(struct ring *rx, int fd)
{
	struct iovec iov[2];
	struct msghdr m;
	char *p1, *p2;
	size_t fre, got = 0;
	ssize_t n;
	int i;

	for (i = 0; i < DIRECT_ROUNDS; i++) {
		if ((fre = ring_free(rx)) == 0)
			break;
		memset(&m, 0, sizeof(m));
		m.msg_iovlen = (size_t)ring_spans(
		    rx, 0, fre, &p1, &iov[0].iov_len, &p2, &iov[1].iov_len);
		iov[0].iov_base = p1;
		iov[1].iov_base = p2;
		m.msg_iov = iov;
		n = recvmsg(fd, &m, MSG_DONTWAIT);
		if (n > 0) {
			ring_publish(rx, (size_t)n);
			got += (size_t)n;
			if ((size_t)n < fre)
				break; /* the socket is empty for now */
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* The end, or an error: the helper's to see (after what came
		 * before it, which is published). */
		return got > 0 ? (ssize_t)got : -1;
	}
	return (ssize_t)got;
}

int
direct_wait(int fd, int64_t ns)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	struct timespec ts = clock_ts(ns);
	int k = ppoll(&p, 1, &ts, NULL);

	if (k == -1)
		return errno == EINTR ? -1 : 1; /* 1: let recv say what */
	return k > 0;
}

/* tx's cursors, when they keep tail <= sent <= head <= tail + cap: 1;
 * 0 for a header someone else wrote (nothing is sent or let go then). */
static int
direct_cursors(
    const struct ring *tx, uint64_t *tail, uint64_t *sent, uint64_t *head)
{
	*tail = LOAD(&tx->d->tail);
	*sent = LOAD(&tx->h->direct.sent);
	*head = LOAD(&tx->d->head);
	return *sent - *tail <= *head - *tail && *head - *tail <= tx->cap;
}

size_t
direct_inflight(const struct ring *tx)
{
	uint64_t t, s, h;

	return direct_cursors(tx, &t, &s, &h) ? (size_t)(s - t) : 0;
}

int
direct_unsent(const struct ring *tx)
{
	uint64_t t, s, h;

	return direct_cursors(tx, &t, &s, &h) && h != s;
}

/* Where the last '\n' of the first n bytes at tail ends (its index plus
 * one), or 0 when they hold none. */
static size_t
direct_line_end(const struct ring *tx, size_t n)
{
	char *p1, *p2;
	const char *p;
	size_t n1, n2;

	if (ring_peek(tx, &p1, &n1, &p2, &n2) == 0)
		return 0;
	if (n > n1 && (p = memrchr(p2, '\n', n - n1)) != NULL)
		return n1 + (size_t)(p - p2) + 1;
	if ((p = memrchr(p1, '\n', n < n1 ? n : n1)) != NULL)
		return (size_t)(p - p1) + 1;
	return 0;
}

size_t
direct_release(struct ring *tx, size_t unacked, int lines)
{
	size_t inflight = direct_inflight(tx), acked, n;

	if (unacked >= inflight)
		return 0;
	acked = inflight - unacked;
	n = lines ? direct_line_end(tx, acked) : acked;
	if (n == 0 && acked >= tx->cap / 2)
		n = acked;
	if (n > 0)
		ring_consume(tx, n);
	return n;
}

int
direct_unsent_spans(const struct ring *tx, struct iovec *iov)
{
	uint64_t tail, sent, head;
	size_t off, n, first;

	if (!direct_cursors(tx, &tail, &sent, &head) || head == sent)
		return 0;
	off = (size_t)(sent % tx->cap);
	n = (size_t)(head - sent);
	first = tx->cap - off;
	iov[0].iov_base = tx->data + off;
	iov[0].iov_len = n < first ? n : first;
	if (n <= first)
		return 1;
	iov[1].iov_base = tx->data;
	iov[1].iov_len = n - first;
	return 2;
}

int
direct_flush(struct ring *tx, pid_t pid)
{
	struct ring_direct *d = &tx->h->direct;
	struct iovec iov[2];
	struct msghdr m;
	uint32_t gen;
	ssize_t n;
	int fd, q, left;

	if (!direct_unsent(tx))
		return 0;
	if (tx->h->kind != RING_OUT || (fd = direct_get(tx, &gen)) == -1)
		return -1;
	if (ring_pidlock_try(&d->slock, pid) == -1) {
		direct_put(fd);
		return -1;
	}
	while (direct_current(tx, gen)) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		if ((m.msg_iovlen = (size_t)direct_unsent_spans(tx, iov)) == 0)
			break;
		n = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			__atomic_add_fetch(
			    &d->sent, (uint64_t)n, __ATOMIC_SEQ_CST);
		else if (n == -1 && errno != EINTR)
			break; /* full, or lost: the helper's to see */
	}
	if (direct_current(tx, gen) && ioctl(fd, SIOCOUTQ, &q) == 0 && q >= 0)
		direct_release(
		    tx, (size_t)q, (tx->h->flags & RING_F_RECONNECT) != 0);
	left = direct_unsent(tx);
	direct_unlock(tx, &d->slock, pid, 0);
	direct_put(fd);
	return left ? -1 : 0;
}

size_t
direct_send(const struct ring *tx, const char *buf, size_t n)
{
	uint32_t gen;
	ssize_t k;
	size_t done = 0;
	int fd;

	if ((fd = direct_get(tx, &gen)) == -1)
		return 0;
	while (done < n && direct_current(tx, gen)) {
		k = send(fd, buf + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k > 0)
			done += (size_t)k;
		else if (k == -1 && errno != EINTR)
			break; /* full, or lost: the helper's to see */
	}
	direct_put(fd);
	return done;
}

void
direct_offer(struct ring_hdr *h, int fd)
{
	if (fd == -1) {
		STORE(&h->direct.fd, -1);
		__atomic_add_fetch(&h->direct.gen, 1, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_add_fetch(&h->direct.gen, 1, __ATOMIC_SEQ_CST);
	STORE(&h->direct.fd, fd);
}

int
direct_take(struct ring_hdr *h, uint32_t *word, pid_t self)
{
	if (ring_pidlock_try(word, self) == 0)
		return 0;
	STORE(&h->direct.want, 1);
	/* The holder may have let go before it could see want. */
	return ring_pidlock_try(word, self);
}

int
direct_shell_receives(const struct ring_hdr *h)
{
	return LOAD(&h->direct.mode) != 0;
}

int
direct_receive_turn(struct ring_hdr *h, pid_t self, int need)
{
	if ((need ? direct_take(h, &h->direct.rlock, self)
		  : ring_pidlock_try(&h->direct.rlock, self)) == -1)
		return -1;
	if (need) {
		STORE(&h->direct.mode, 0);
	} else if (direct_shell_receives(h)) {
		/* A shell began to receive since the caller looked: the
		 * bytes are its. */
		ring_pidunlock(&h->direct.rlock, self);
		return -1;
	}
	return 0;
}

void
direct_give(uint32_t *word, pid_t self)
{
	ring_pidunlock(word, self);
}
