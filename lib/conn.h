/*
 * conn: one connection as the helpers' loops see it, plain TCP or TLS.
 *
 * input.c and output.c do their I/O through these calls only, so that a
 * TLS binding differs from a plain one in where its bytes go, not in the
 * loops. A conn holds the socket and, for TLS, an opaque session of the
 * TLS layer (lib/tls.c). That layer is linked into bashsock-helper-tls
 * alone, which registers it (conn_tls) as it starts: the plain helper and
 * bashsock.so never load libssl, and a TLS binding asked of them fails
 * with one line (conn_tls is NULL there).
 *
 * The calls keep the socket calls' conventions: a count, 0 for the peer's
 * end, or -1 with errno (EAGAIN: try again once c->want's poll events
 * came; TLS may need the socket writable to read, or readable to write).
 */
#ifndef BASHSOCK_CONN_H
#define BASHSOCK_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct conn {
	int fd;	    /* -1: none */
	void *tls;  /* the TLS session, or NULL: plain */
	short want; /* after EAGAIN: the poll events to wait for */
};

/* The TLS layer's calls (lib/tls.c); see there. */
struct conn_tls_ops {
	/* A context: a server's (cert, key: key NULL means inside cert) or
	 * a client's (ca NULL: the system's store; verify 0: -k). NULL
	 * with one line in err. */
	void *(*server_ctx)(
	    const char *cert, const char *key, char *err, size_t len);
	void *(*client_ctx)(const char *ca, int verify, char *err, size_t len);
	/* Starts a session on c->fd; host: the name or address the client
	 * verifies (NULL: a server). 0, or -1. */
	int (*start)(struct conn *c, void *ctx, const char *host);
	/* One handshake step: 1 done, 0 again after c->want, -1 failed
	 * (err says why). */
	int (*handshake)(struct conn *c, char *err, size_t len);
	ssize_t (*readv)(struct conn *c, const struct iovec *iov, int cnt);
	ssize_t (*send)(struct conn *c, const void *buf, size_t len);
	/* Sends close_notify: 1 sent, 0 again after c->want, -1 failed. */
	int (*shutdown)(struct conn *c);
	size_t (*pending)(const struct conn *c);
	/* Of the plaintext bytes accepted so far, how many have not yet
	 * left the socket's queue (outq: what SIOCOUTQ says). */
	size_t (*unacked)(struct conn *c, size_t outq);
	void (*free)(struct conn *c);
};

extern const struct conn_tls_ops *conn_tls;

static inline void
conn_init(struct conn *c, int fd)
{
	c->fd = fd;
	c->tls = NULL;
	c->want = 0;
}

/* readv (EAGAIN: c->want says what to wait for). */
ssize_t conn_readv(struct conn *c, const struct iovec *iov, int cnt);
/* sendmsg of the spans, non-blocking, no SIGPIPE; TLS sends the first
 * span only (the caller loops). */
ssize_t conn_send(struct conn *c, const struct iovec *iov, int cnt);
/* Ends our sending side (TLS: close_notify first). 0 done, 1 again after
 * c->want (the socket is full), -1 failed. */
int conn_shutdown(struct conn *c);
/* Bytes already received and decrypted, waiting in the TLS session (no
 * poll event will say they are there). */
size_t conn_pending(const struct conn *c);
/* Of the inflight bytes last sent, how many are not acknowledged by the
 * peer yet (plain: SIOCOUTQ; TLS: see lib/tls.c). -1 when unknown. */
ssize_t conn_unacked(struct conn *c, size_t inflight);
/* What the socket still holds (SIOCOUTQ), ciphertext included; -1. */
int conn_outq(const struct conn *c);
/* Frees the session (a close_notify is attempted, never waited for) and
 * closes the socket. */
void conn_close(struct conn *c);

#endif
