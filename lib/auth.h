/*
 * auth: the challenge-response handshake shared by trigger-wait/-send and
 * pool/master; the bounded line I/O on the connection is lib/line.c's.
 *
 *   server: BASHSOCK/1 CHALLENGE <purpose> <64 hex: 32 random bytes>
 *   client: BASHSOCK/1 PROOF <64 hex: HMAC-SHA256(key, "bashsock/1 client
 *           <purpose> <challenge hex> <nonce hex>")> <64 hex: client nonce>
 *   server: BASHSOCK/1 OK <64 hex: HMAC-SHA256(key, "bashsock/1 server
 *           <purpose> <challenge hex> <nonce hex>")>
 *       or: BASHSOCK/1 DENIED
 *
 * The key never crosses the wire; the proof covers the server's fresh
 * challenge, so a recorded exchange fails against a new one, and the OK
 * covers the client's fresh nonce, so a client knows it talked to a holder
 * of the key. This is authentication only: what follows is neither
 * encrypted nor integrity-protected.
 *
 * Every line is at most AUTH_LINE_MAX bytes, newline included. Deadlines
 * are absolute, on the clock of clock_now() (monotonic ns);
 * AUTH_NO_DEADLINE waits for ever. Functions return -1 with errno:
 * ETIMEDOUT (deadline passed), EPROTO (malformed or unexpected line),
 * EACCES (wrong key), ECONNRESET (end of file mid-exchange), EINTR (a signal
 * interrupted a wait: the connection is then in an unknown state, close it),
 * EINVAL (bad arguments), or a socket error. Where they take err, they also
 * put there what failed ("reading the proof"), for "subject: what: why"
 * messages; err may be NULL.
 */
#ifndef BASHSOCK_AUTH_H
#define BASHSOCK_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "line.h"

#define AUTH_LINE_MAX LINE_BYTES /* one line, newline included */
#define AUTH_KEY_MAX 4096	 /* longest key, in bytes */
#define AUTH_PURPOSE_MAX 32	 /* longest purpose token */
#define AUTH_HEX 64		 /* hex digits of a nonce or a MAC */
#define AUTH_ERR 64		 /* enough for any err text */
#define AUTH_NO_DEADLINE INT64_MAX

/*
 * Server side of the handshake on connected socket fd. purpose is a token
 * of 1-32 characters [A-Za-z0-9_.-] ("trigger", "pool") that both sides
 * must agree on. Returns 0 once the peer proved the key and was sent OK;
 * -1 with EACCES after sending DENIED to a wrong proof, or another errno.
 */
int auth_server(int fd, const char *key, size_t keylen, const char *purpose,
    int64_t deadline, char *err, size_t errlen);

/*
 * Client side. Returns 0 once the server accepted the proof and proved the
 * key in turn; -1 with EACCES when it answered DENIED or its OK was forged,
 * EPROTO when its challenge was for another purpose, or another errno.
 */
int auth_client(int fd, const char *key, size_t keylen, const char *purpose,
    int64_t deadline, char *err, size_t errlen);

/*
 * auth_client, and on success the server's challenge (AUTH_HEX hex digits
 * and a NUL) in chal: what a session's later proofs are bound to (pool.h's
 * data connections). chal may be NULL.
 */
int auth_client_session(int fd, const char *key, size_t keylen,
    const char *purpose, int64_t deadline, char *chal, char *err,
    size_t errlen);

/*
 * The MAC that binds a connection to one request of an authenticated
 * session: HMAC-SHA256(key, "bashsock/1 attach <chal> <seq> <name>"), as
 * AUTH_HEX lowercase hex digits and a NUL in hex (AUTH_HEX + 1 bytes).
 * chal is the session's challenge (hex), seq the request's number in the
 * session (0 first), name any bytes but NUL. The label differs from the
 * handshake's "client"/"server", so no handshake MAC is ever one of these.
 * 0, or -1 with EINVAL or EIO.
 */
int auth_attach_mac(const char *key, size_t keylen, const char *chal,
    unsigned seq, const char *name, char *hex);

/*
 * The server side as two steps without I/O, for a caller that multiplexes
 * several handshakes in one poll loop and reads the lines itself.
 */
struct auth_challenge {
	char purpose[AUTH_PURPOSE_MAX + 1];
	char hex[AUTH_HEX + 1];
};

/* Runs one HMAC-SHA256: the first of a process sets libcrypto up (3 ms
 * or more), and after an idle spell one brings its code back into the
 * caches (60-130 us cold against 2 us hot, measured here). Called where
 * the process would otherwise wait: before listening, between a connect
 * and the challenge, between a challenge and the proof. Failures are left
 * for the handshake to report. */
void auth_warm(void);

/* Draws a fresh challenge into ch and puts the line to send (no newline)
 * into line (AUTH_LINE_MAX bytes). 0, or -1 with EINVAL or EIO. */
int auth_challenge_new(
    struct auth_challenge *ch, const char *purpose, char *line, size_t len);

/* Checks the client's proof line (no newline) against ch. Returns 0 with
 * the OK line in reply; -1/EACCES with the DENIED line in reply; -1/EPROTO
 * (nothing to send: reply is empty), EINVAL or EIO. reply is AUTH_LINE_MAX
 * bytes. A challenge must be checked once only. */
int auth_challenge_check(const struct auth_challenge *ch, const char *key,
    size_t keylen, const char *line, char *reply, size_t replylen);

/*
 * The client side as two steps without I/O, for a caller that waits on the
 * socket itself (to stay interruptible) and reads the lines itself.
 */
struct auth_proof {
	unsigned char answer[AUTH_HEX / 2]; /* the server's expected OK MAC */
	char challenge[AUTH_HEX + 1];	    /* the server's challenge, hex */
};

/* Parses the server's first line (no newline) and puts the PROOF line to
 * send (no newline) into line (AUTH_LINE_MAX bytes). 0; -1 with EACCES (the
 * server said DENIED), EPROTO (malformed, or a challenge for another
 * purpose), EINVAL or EIO; err as for auth_client. */
int auth_proof_new(struct auth_proof *p, const char *key, size_t keylen,
    const char *purpose, const char *challenge, char *line, size_t len,
    char *err, size_t errlen);

/* Checks the server's answer line (no newline) against p: 0 when it is the
 * OK that proves the key; -1 with EACCES (DENIED, or an OK that does not
 * prove the key) or EPROTO, err set. p is wiped either way. */
int auth_proof_check(
    struct auth_proof *p, const char *answer, char *err, size_t errlen);

#endif
