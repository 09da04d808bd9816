/* tls: OpenSSL sessions for conn.h (bashsock-helper-tls only). */
#include "tls.h"
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/*
 * What the peer acknowledged, in plaintext: SIOCOUTQ counts the socket's
 * ciphertext. After each SSL_write the session notes how many plaintext
 * bytes it accepted so far and how many ciphertext bytes its socket BIO
 * had taken by then (the record is wholly in the socket when SSL_write
 * returns); ciphertext taken minus SIOCOUTQ is what left the queue, and
 * every mark at or below it is plaintext the peer acknowledged. When the
 * marks are full the newest one is moved forward (coarser, never early).
 */
#define TLS_MARKS 256

struct tls_mark {
	uint64_t plain, cipher;
};

struct tls {
	SSL *ssl;
	uint64_t plain, acked;
	unsigned first, n;
	struct tls_mark m[TLS_MARKS];
};

static void
tls_errstr(char *err, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(err, len, "%s%s%s", what, r != NULL ? ": " : "",
	    r != NULL ? r : "");
	ERR_clear_error();
}

static void *
tls_server_ctx(const char *cert, const char *key, char *err, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_errstr(err, len, "TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A peer's FIN without close_notify ends its stream, as a FIN does
	 * on a plain binding (a half-close, not a loss): many peers (ncat,
	 * socat at EOF) send none. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_errstr(err, len, cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(
		ctx, key != NULL ? key : cert, SSL_FILETYPE_PEM) != 1) {
		tls_errstr(err, len, key != NULL ? key : cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_errstr(err, len, key != NULL ? key : cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static void *
tls_client_ctx(const char *ca, int verify, char *err, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		tls_errstr(err, len, "TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* A peer's FIN without close_notify ends its stream, as a FIN does
	 * on a plain binding (a half-close, not a loss): many peers (ncat,
	 * socat at EOF) send none. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((ca != NULL ? SSL_CTX_load_verify_locations(ctx, ca, NULL)
			: SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		tls_errstr(err, len, ca != NULL ? ca : "system trust store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
tls_start(struct conn *c, void *ctx, const char *host)
{
	struct tls *t = calloc(1, sizeof(*t));
	unsigned char a[16];

	if (t == NULL || (t->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(t->ssl, c->fd) != 1)
		goto fail;
	if (host == NULL) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (inet_pton(AF_INET, host, a) == 1 ||
		    inet_pton(AF_INET6, host, a) == 1) {
			if (X509_VERIFY_PARAM_set1_ip_asc(
				SSL_get0_param(t->ssl), host) != 1)
				goto fail;
		} else if (SSL_set1_host(t->ssl, host) != 1 ||
			   SSL_set_tlsext_host_name(t->ssl, host) != 1) {
			goto fail;
		}
	}
	c->tls = t;
	return 0;
fail:
	if (t != NULL)
		SSL_free(t->ssl);
	free(t);
	ERR_clear_error();
	return -1;
}

/* After a call that returned r <= 0: -1 with errno EAGAIN and c->want
 * set when it only has to wait, else -1 with errno (0 for the peer's
 * close_notify, which the callers turn into an end). */
static int
tls_wait(struct conn *c, int r)
{
	struct tls *t = c->tls;

	switch (SSL_get_error(t->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->want = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == EAGAIN)
			errno = ECONNRESET;
		ERR_clear_error();
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static int
tls_handshake(struct conn *c, char *err, size_t len)
{
	struct tls *t = c->tls;
	long v;
	int r = SSL_do_handshake(t->ssl), k;

	if (r == 1)
		return 1;
	k = SSL_get_error(t->ssl, r);
	if (k == SSL_ERROR_WANT_READ || k == SSL_ERROR_WANT_WRITE) {
		c->want = k == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	v = SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK)
		snprintf(err, len, "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
	else if (k == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
		snprintf(err, len, "TLS handshake: %s",
		    errno != 0 ? strerror(errno) : "connection closed");
	else
		tls_errstr(err, len, "TLS handshake");
	ERR_clear_error();
	return -1;
}

static ssize_t
tls_readv(struct conn *c, const struct iovec *iov, int cnt)
{
	struct tls *t = c->tls;
	size_t got = 0, off, n;
	int i, r = 0;

	/* Fills the spans as far as the session has bytes: what it keeps
	 * back raises no poll event (conn_pending tells). */
	for (i = 0; i < cnt; i++) {
		for (off = 0; off < iov[i].iov_len; off += n) {
			r = SSL_read_ex(t->ssl, (char *)iov[i].iov_base + off,
			    iov[i].iov_len - off, &n);
			if (r != 1)
				break;
			got += n;
		}
		if (off < iov[i].iov_len)
			break;
	}
	if (got > 0) {
		ERR_clear_error();
		return (ssize_t)got;
	}
	return tls_wait(c, r);
}

static void
tls_mark(struct tls *t)
{
	struct tls_mark *m;
	uint64_t w = BIO_number_written(SSL_get_wbio(t->ssl));

	if (t->n == TLS_MARKS) {
		m = &t->m[(t->first + t->n - 1) % TLS_MARKS];
	} else {
		m = &t->m[(t->first + t->n) % TLS_MARKS];
		t->n++;
	}
	m->plain = t->plain;
	m->cipher = w;
}

static ssize_t
tls_send(struct conn *c, const void *buf, size_t len)
{
	struct tls *t = c->tls;
	size_t n = 0;
	int r;

	if (len == 0)
		return 0;
	r = SSL_write_ex(t->ssl, buf, len, &n);
	if (r == 1) {
		t->plain += n;
		tls_mark(t);
		return (ssize_t)n;
	}
	r = tls_wait(c, r);
	if (r == 0)
		errno = EPIPE;
	return -1;
}

static size_t
tls_unacked(struct conn *c, size_t outq)
{
	struct tls *t = c->tls;
	uint64_t w = BIO_number_written(SSL_get_wbio(t->ssl)), left;

	left = w > outq ? w - outq : 0; /* ciphertext out of the queue */
	while (t->n > 0 && t->m[t->first].cipher <= left) {
		t->acked = t->m[t->first].plain;
		t->first = (t->first + 1) % TLS_MARKS;
		t->n--;
	}
	return (size_t)(t->plain - t->acked);
}

static int
tls_shutdown(struct conn *c)
{
	struct tls *t = c->tls;
	int r;

	if (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)
		return 1;
	r = SSL_shutdown(t->ssl);
	if (r >= 0 && (SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
		return 1;
	if (tls_wait(c, r) == -1 && errno == EAGAIN)
		return 0;
	return -1;
}

static size_t
tls_pending(const struct conn *c)
{
	const struct tls *t = c->tls;

	return (size_t)SSL_pending(t->ssl);
}

static void
tls_free(struct conn *c)
{
	struct tls *t = c->tls;

	SSL_free(t->ssl);
	free(t);
	ERR_clear_error();
}

static const struct conn_tls_ops tls_ops = {
    .server_ctx = tls_server_ctx,
    .client_ctx = tls_client_ctx,
    .start = tls_start,
    .handshake = tls_handshake,
    .readv = tls_readv,
    .send = tls_send,
    .shutdown = tls_shutdown,
    .pending = tls_pending,
    .unacked = tls_unacked,
    .free = tls_free,
};

void
tls_register(void)
{
	/* A write to a peer that left is an error here, never a signal (the
	 * handshake runs before helper_on_stop ignores SIGPIPE). */
	signal(SIGPIPE, SIG_IGN);
	conn_tls = &tls_ops;
}
