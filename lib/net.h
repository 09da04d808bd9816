/*
 * net: small socket helpers. Each returns a descriptor or 0, or -1 with
 * errno; where errno cannot say enough (name resolution) it fills err.
 * Every descriptor is close-on-exec; listeners and accepted sockets are
 * non-blocking.
 */
#ifndef BASHSOCK_NET_H
#define BASHSOCK_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_ERR 128

/* Listens on addr:port (addr NULL: every IPv6 and IPv4 address). */
int net_listen(
    const char *addr, int port, int backlog, char *err, size_t errlen);
/* Accepts one client (non-blocking); -1/EAGAIN when none is waiting. */
int net_accept(int lfd);
struct addrinfo;
/* Resolves host:port for a TCP connection (an address literal without
 * asking for the interfaces first) into *res, for freeaddrinfo. -1 with
 * errno ENOENT and the resolver's reason in err. */
int net_resolve(const char *host, int port, struct addrinfo **res, char *err,
    size_t errlen);
/* Resolves host and connects to host:port within timeout_ns, trying every
 * address. Returns a blocking socket. ETIMEDOUT, ECONNREFUSED, or
 * EHOSTUNREACH/ENOENT with err set for resolution errors. */
int net_connect(
    const char *host, int port, int64_t timeout_ns, char *err, size_t errlen);
/* Starts a non-blocking connect to ai: the socket (close-on-exec,
 * non-blocking), connected or connecting (poll it for POLLOUT, then
 * net_connect_result), or -1 with errno. */
int net_connect_start(const struct addrinfo *ai);
/* The outcome of fd's connect once poll says it is done: 0, or -1 with
 * errno the connect's error. */
int net_connect_result(int fd);
/* "addr port" text of a socket's local or peer address. */
void net_addr_str(int fd, int peer, char *buf, size_t len);
int net_nonblock(int fd, int on);

#endif
