/* conn: plain or TLS I/O behind one set of calls. */
#include "conn.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

const struct conn_tls_ops *conn_tls;

ssize_t
conn_readv(struct conn *c, const struct iovec *iov, int cnt)
{
	ssize_t n;

	if (c->tls != NULL)
		return conn_tls->readv(c, iov, cnt);
	n = readv(c->fd, iov, cnt);
	if (n == -1)
		c->want = POLLIN;
	return n;
}

ssize_t
conn_send(struct conn *c, const struct iovec *iov, int cnt)
{
	struct msghdr mh;
	ssize_t n;

	if (c->tls != NULL)
		return conn_tls->send(c, iov[0].iov_base, iov[0].iov_len);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = (struct iovec *)iov;
	mh.msg_iovlen = (size_t)cnt;
	n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1)
		c->want = POLLOUT;
	return n;
}

int
conn_shutdown(struct conn *c)
{
	int k;

	if (c->tls != NULL && (k = conn_tls->shutdown(c)) != 1)
		return k == 0 ? 1 : -1;
	return shutdown(c->fd, SHUT_WR) == -1 ? -1 : 0;
}

size_t
conn_pending(const struct conn *c)
{
	return c->tls != NULL ? conn_tls->pending(c) : 0;
}

int
conn_outq(const struct conn *c)
{
	int q;

	if (ioctl(c->fd, SIOCOUTQ, &q) == -1 || q < 0)
		return -1;
	return q;
}

ssize_t
conn_unacked(struct conn *c, size_t inflight)
{
	int q = conn_outq(c);
	size_t u;

	if (q == -1)
		return -1;
	u = c->tls != NULL ? conn_tls->unacked(c, (size_t)q) : (size_t)q;
	return (ssize_t)(u < inflight ? u : inflight);
}

void
conn_close(struct conn *c)
{
	if (c->fd == -1)
		return;
	if (c->tls != NULL) {
		conn_tls->shutdown(c);
		conn_tls->free(c);
		c->tls = NULL;
	}
	close(c->fd);
	c->fd = -1;
}
