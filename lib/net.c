/* net: listen, accept, connect with a deadline. */
#include "net.h"
#include "clock.h"
#include "helper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
net_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

static int
net_listen_ai(const struct addrinfo *ai, int backlog)
{
	int fd, one = 1, zero = 0, e;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
net_listen(const char *addr, int port, int backlog, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char ports[8];
	int fd = -1, rc, e = EADDRNOTAVAIL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	hints.ai_family = addr == NULL ? AF_INET6 : AF_UNSPEC;
	snprintf(ports, sizeof(ports), "%d", port);
	rc = getaddrinfo(addr, ports, &hints, &res);
	if (rc != 0 && addr == NULL) {
		hints.ai_family = AF_INET; /* no IPv6 on this host */
		rc = getaddrinfo(NULL, ports, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		errno = EADDRNOTAVAIL;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = net_listen_ai(ai, backlog)) != -1)
			break;
		e = errno;
		/* The wildcard IPv6 socket failing for lack of IPv6 only. */
		if (addr == NULL && e == EAFNOSUPPORT) {
			hints.ai_family = AF_INET;
			freeaddrinfo(res);
			return net_listen(
			    "0.0.0.0", port, backlog, err, errlen);
		}
		if (e == EADDRINUSE)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "%s", strerror(e));
		errno = e;
	}
	return fd;
}

int
net_accept(int lfd)
{
	int fd, one = 1;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd != -1)
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}

int
net_connect_start(const struct addrinfo *ai)
{
	int fd, e;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    errno == EINPROGRESS)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
net_connect_result(int fd)
{
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/* Connects to ai within the deadline (absolute, monotonic ns): a blocking
 * socket with TCP_NODELAY and SO_KEEPALIVE, or -1 with errno. */
static int
net_connect_ai(const struct addrinfo *ai, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int fd, e, one = 1;

	if ((fd = net_connect_start(ai)) == -1)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLOUT; /* at once when connect was done already */
	for (;;) {
		left = deadline - clock_now();
		if (left <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if ((e = poll(&pfd, 1, clock_ms(left))) == 1)
			break;
		if (e == -1 && errno != EINTR)
			goto fail;
	}
	if (net_connect_result(fd) == -1)
		goto fail;
	net_nonblock(fd, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
net_resolve(
    const char *host, int port, struct addrinfo **res, char *err, size_t errlen)
{
	struct addrinfo hints;
	char ports[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	snprintf(ports, sizeof(ports), "%d", port);
	/* An address literal first: AI_ADDRCONFIG would ask the kernel for
	 * every interface address (a netlink dump) before it. */
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, ports, &hints, res) == 0)
		return 0;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, ports, &hints, res)) != 0) {
		hints.ai_flags = 0; /* loopback-only hosts have no "config" */
		rc = getaddrinfo(host, ports, &hints, res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s",
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		*res = NULL;
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
net_connect(
    const char *host, int port, int64_t timeout_ns, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int64_t deadline = clock_now() + timeout_ns;
	int fd = -1, e = ECONNREFUSED;

	if (net_resolve(host, port, &res, err, errlen) == -1)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = net_connect_ai(ai, deadline)) != -1)
			break;
		e = errno;
		if (e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "%s",
		    e == ETIMEDOUT ? "connection timed out" : strerror(e));
		errno = e;
	}
	return fd;
}

void
net_addr_str(int fd, int peer, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0, rc;

	memset(&ss, 0, sizeof(ss)); /* ss_family 0 if the call fails */
	rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
		  : getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (rc == 0 && ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (rc == 0 && ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, len, "%s %d", host, port);
}
