/* auth: challenge-response over HMAC-SHA256 (the line I/O: line.c). */
#include "auth.h"
#include "clock.h"
#include "helper.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define AUTH_VERSION "BASHSOCK/1"
#define AUTH_BYTES 32 /* nonce and MAC size (SHA-256) */

/* Puts what into err when the caller gave one. */
static void
auth_seterr(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", what);
}

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
static void
auth_hex(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Value of one lowercase hex digit, or -1. */
static int
auth_xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes s, which must be exactly 2n lowercase hex digits, into n bytes
 * at out. 0, or -1 when s is anything else. */
static int
auth_unhex(unsigned char *out, const char *s, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = auth_xdigit(s[2 * i])) == -1 ||
		    (lo = auth_xdigit(s[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Splits line in place at single spaces into at most max tokens. Returns
 * their number, or -1 for an empty token or more than max. */
static int
auth_split(char *line, char **tok, int max)
{
	int n = 0;
	char *sp;

	for (;;) {
		if (n == max || *line == '\0' || *line == ' ')
			return -1;
		tok[n++] = line;
		if ((sp = strchr(line, ' ')) == NULL)
			return n;
		*sp = '\0';
		line = sp + 1;
	}
}

/* 1 when p is a purpose token: 1-32 characters of [A-Za-z0-9_.-]. */
static int
auth_purpose_ok(const char *p)
{
	size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "abcdefghijklmnopqrstuvwxyz0123456789_.-");

	return n > 0 && n <= AUTH_PURPOSE_MAX && p[n] == '\0';
}

/* 0 when key and purpose are usable, else -1 with EINVAL. */
static int
auth_args_ok(const char *key, size_t keylen, const char *purpose)
{
	if (key == NULL || keylen == 0 || keylen > AUTH_KEY_MAX ||
	    purpose == NULL || !auth_purpose_ok(purpose)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * HMAC-SHA256(key, "bashsock/1 <role> <purpose> <chal> <nonce>") into out
 * (AUTH_BYTES). role "client" for the proof, "server" for the OK: neither
 * side ever computes what it would accept from the other. 0, or -1/EIO.
 */
static int
auth_mac(unsigned char *out, const char *role, const char *key, size_t keylen,
    const char *purpose, const char *chal, const char *nonce)
{
	char msg[256]; /* "bashsock/1 client " + 32 + 1 + 64 + 1 + 64 */
	unsigned int outlen = 0;
	int m;

	m = snprintf(msg, sizeof(msg), "bashsock/1 %s %s %s %s", role, purpose,
	    chal, nonce);
	if (m < 0 || (size_t)m >= sizeof(msg) ||
	    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
		(size_t)m, out, &outlen) == NULL ||
	    outlen != AUTH_BYTES) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Challenges and nonces come from the kernel's generator (getrandom), which
 * is what libcrypto's own generator seeds from: it needs no set-up, where
 * libcrypto's first RAND_bytes in a process costs a millisecond or more of
 * provider and DRBG initialisation that a waiting peer would feel. 0, or
 * -1 with EIO.
 */
static int
auth_random(unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(buf + got, n - got, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

void
auth_warm(void)
{
	unsigned char r[AUTH_BYTES];
	unsigned char out[AUTH_BYTES];
	unsigned int outlen = 0;

	memset(r, 0x5c, sizeof(r));
	(void)HMAC(EVP_sha256(), r, (int)sizeof(r), r, sizeof(r), out, &outlen);
	OPENSSL_cleanse(out, sizeof(out));
}

int
auth_challenge_new(
    struct auth_challenge *ch, const char *purpose, char *line, size_t len)
{
	unsigned char r[AUTH_BYTES];

	if (purpose == NULL || !auth_purpose_ok(purpose) ||
	    len < AUTH_LINE_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (auth_random(r, sizeof(r)) == -1) {
		return -1;
	}
	snprintf(ch->purpose, sizeof(ch->purpose), "%s", purpose);
	auth_hex(ch->hex, r, sizeof(r));
	snprintf(line, len, AUTH_VERSION " CHALLENGE %s %s", purpose, ch->hex);
	return 0;
}

int
auth_challenge_check(const struct auth_challenge *ch, const char *key,
    size_t keylen, const char *line, char *reply, size_t replylen)
{
	unsigned char got[AUTH_BYTES], want[AUTH_BYTES];
	char copy[AUTH_LINE_MAX], hex[AUTH_HEX + 1], *tok[4];
	int rc = -1, e = EPROTO;

	if (reply != NULL && replylen > 0)
		reply[0] = '\0';
	if (reply == NULL || replylen < AUTH_LINE_MAX ||
	    auth_args_ok(key, keylen, ch->purpose) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(copy, sizeof(copy), "%s", line) >= (int)sizeof(copy) ||
	    auth_split(copy, tok, 4) != 4 ||
	    strcmp(tok[0], AUTH_VERSION) != 0 || strcmp(tok[1], "PROOF") != 0 ||
	    auth_unhex(got, tok[2], sizeof(got)) == -1 ||
	    auth_unhex(want, tok[3], sizeof(want)) == -1) /* nonce syntax */
		goto out; /* EPROTO: a stranger, not a wrong key */
	e = EIO;
	if (auth_mac(want, "client", key, keylen, ch->purpose, ch->hex,
		tok[3]) == -1)
		goto out;
	if (CRYPTO_memcmp(got, want, sizeof(got)) != 0) {
		snprintf(reply, replylen, AUTH_VERSION " DENIED");
		e = EACCES;
		goto out;
	}
	/* Proved: prove the key back, over the client's own nonce. */
	if (auth_mac(want, "server", key, keylen, ch->purpose, ch->hex,
		tok[3]) == -1)
		goto out;
	auth_hex(hex, want, sizeof(want));
	snprintf(reply, replylen, AUTH_VERSION " OK %s", hex);
	rc = 0;
out:
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(hex, sizeof(hex));
	if (rc == -1)
		errno = e;
	return rc;
}

/* Reads one protocol line into line (AUTH_LINE_MAX): as line_read,
 * but an over-long line or one holding a NUL byte is EPROTO. */
static int
auth_getline(int fd, char *line, int64_t deadline)
{
	ssize_t n;

	if ((n = line_read(fd, line, AUTH_LINE_MAX, deadline)) == -1) {
		if (errno == EMSGSIZE)
			errno = EPROTO;
		return -1;
	}
	if (strlen(line) != (size_t)n) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int
auth_server(int fd, const char *key, size_t keylen, const char *purpose,
    int64_t deadline, char *err, size_t errlen)
{
	struct auth_challenge ch;
	char line[AUTH_LINE_MAX], reply[AUTH_LINE_MAX];
	const char *what;
	int e;

	what = "bad arguments";
	if (auth_args_ok(key, keylen, purpose) == -1)
		goto fail;
	what = "drawing a challenge";
	if (auth_challenge_new(&ch, purpose, line, sizeof(line)) == -1)
		goto fail;
	what = "sending the challenge";
	if (line_write(fd, line, deadline) == -1)
		goto fail;
	what = "reading the proof";
	if (auth_getline(fd, line, deadline) == -1)
		goto fail;
	if (auth_challenge_check(
		&ch, key, keylen, line, reply, sizeof(reply)) == -1) {
		e = errno;
		what = "checking the proof";
		if (e == EACCES)
			what = "wrong key";
		else if (e == EPROTO)
			what = "malformed proof";
		if (reply[0] != '\0')
			(void)line_write(fd, reply, deadline);
		errno = e;
		goto fail;
	}
	what = "sending the answer";
	if (line_write(fd, reply, deadline) == -1)
		goto fail;
	OPENSSL_cleanse(reply, sizeof(reply));
	return 0;
fail:
	e = errno;
	OPENSSL_cleanse(reply, sizeof(reply));
	auth_seterr(err, errlen, what);
	errno = e;
	return -1;
}

/* Client: parses the server's first line (modified in place) for purpose,
 * putting its challenge into chal (AUTH_HEX + 1). 0, or -1 with EACCES
 * (refused up front) or EPROTO, and *what set. */
static int
auth_client_challenge(
    char *line, const char *purpose, char *chal, const char **what)
{
	unsigned char raw[AUTH_BYTES];
	char *tok[4];
	int n;

	n = auth_split(line, tok, 4);
	if (n == 2 && strcmp(tok[0], AUTH_VERSION) == 0 &&
	    strcmp(tok[1], "DENIED") == 0) {
		*what = "refused";
		errno = EACCES;
		return -1;
	}
	*what = "malformed challenge";
	if (n != 4 || strcmp(tok[0], AUTH_VERSION) != 0 ||
	    strcmp(tok[1], "CHALLENGE") != 0 ||
	    auth_unhex(raw, tok[3], sizeof(raw)) == -1) {
		errno = EPROTO;
		return -1;
	}
	if (strcmp(tok[2], purpose) != 0) {
		*what = "challenge for another purpose";
		errno = EPROTO;
		return -1;
	}
	memcpy(chal, tok[3], AUTH_HEX + 1);
	return 0;
}

/* Client: parses the server's answer (modified in place) and checks the
 * server's MAC in it against want. 0, or -1 with EACCES or EPROTO and
 * *what set. */
static int
auth_client_answer(char *line, const unsigned char *want, const char **what)
{
	unsigned char got[AUTH_BYTES];
	char *tok[3];
	int n;

	n = auth_split(line, tok, 3);
	if (n == 2 && strcmp(tok[0], AUTH_VERSION) == 0 &&
	    strcmp(tok[1], "DENIED") == 0) {
		*what = "key refused";
		errno = EACCES;
		return -1;
	}
	if (n != 3 || strcmp(tok[0], AUTH_VERSION) != 0 ||
	    strcmp(tok[1], "OK") != 0 ||
	    auth_unhex(got, tok[2], sizeof(got)) == -1) {
		*what = "malformed answer";
		errno = EPROTO;
		return -1;
	}
	if (CRYPTO_memcmp(got, want, AUTH_BYTES) != 0) {
		*what = "peer does not know the key";
		errno = EACCES;
		return -1;
	}
	return 0;
}

int
auth_proof_new(struct auth_proof *p, const char *key, size_t keylen,
    const char *purpose, const char *challenge, char *line, size_t len,
    char *err, size_t errlen)
{
	unsigned char nonce[AUTH_BYTES], mac[AUTH_BYTES];
	char copy[AUTH_LINE_MAX], chal[AUTH_HEX + 1], nhex[AUTH_HEX + 1];
	char mhex[AUTH_HEX + 1];
	const char *what = "bad arguments";
	int rc = -1, e;

	memset(p, 0, sizeof(*p));
	mhex[0] = '\0';
	if (auth_args_ok(key, keylen, purpose) == -1 || challenge == NULL ||
	    line == NULL || len < AUTH_LINE_MAX) {
		errno = EINVAL;
		goto out;
	}
	what = "malformed challenge";
	if (snprintf(copy, sizeof(copy), "%s", challenge) >=
	    (int)sizeof(copy)) {
		errno = EPROTO;
		goto out;
	}
	if (auth_client_challenge(copy, purpose, chal, &what) == -1)
		goto out;
	what = "drawing a nonce";
	if (auth_random(nonce, sizeof(nonce)) == -1) {
		errno = EIO;
		goto out;
	}
	auth_hex(nhex, nonce, sizeof(nonce));
	what = "computing the proof";
	if (auth_mac(mac, "client", key, keylen, purpose, chal, nhex) == -1)
		goto out;
	auth_hex(mhex, mac, sizeof(mac));
	what = "computing the answer";
	if (auth_mac(p->answer, "server", key, keylen, purpose, chal, nhex) ==
	    -1)
		goto out;
	snprintf(line, len, AUTH_VERSION " PROOF %s %s", mhex, nhex);
	memcpy(p->challenge, chal, sizeof(p->challenge));
	rc = 0;
out:
	e = errno;
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(mhex, sizeof(mhex));
	if (rc == -1) {
		OPENSSL_cleanse(p, sizeof(*p));
		auth_seterr(err, errlen, what);
		errno = e;
	}
	return rc;
}

int
auth_proof_check(
    struct auth_proof *p, const char *answer, char *err, size_t errlen)
{
	char copy[AUTH_LINE_MAX];
	const char *what = "malformed answer";
	int rc = -1, e = EPROTO;

	if (answer != NULL &&
	    snprintf(copy, sizeof(copy), "%s", answer) < (int)sizeof(copy)) {
		rc = auth_client_answer(copy, p->answer, &what);
		e = errno;
	}
	OPENSSL_cleanse(p, sizeof(*p));
	if (rc == -1) {
		auth_seterr(err, errlen, what);
		errno = e;
	}
	return rc;
}

int
auth_client(int fd, const char *key, size_t keylen, const char *purpose,
    int64_t deadline, char *err, size_t errlen)
{
	return auth_client_session(
	    fd, key, keylen, purpose, deadline, NULL, err, errlen);
}

int
auth_client_session(int fd, const char *key, size_t keylen, const char *purpose,
    int64_t deadline, char *chal, char *err, size_t errlen)
{
	struct auth_proof p;
	char line[AUTH_LINE_MAX], proof[AUTH_LINE_MAX];
	char seen[AUTH_HEX + 1];
	int rc = -1, e;

	if (auth_args_ok(key, keylen, purpose) == -1) {
		auth_seterr(err, errlen, "bad arguments");
		return -1;
	}
	memset(&p, 0, sizeof(p));
	proof[0] = '\0';
	if (auth_getline(fd, line, deadline) == -1) {
		auth_seterr(err, errlen, "reading the challenge");
		goto out;
	}
	if (auth_proof_new(&p, key, keylen, purpose, line, proof, sizeof(proof),
		err, errlen) == -1)
		goto out;
	memcpy(seen, p.challenge, sizeof(seen));
	if (line_write(fd, proof, deadline) == -1) {
		auth_seterr(err, errlen, "sending the proof");
		goto out;
	}
	if (auth_getline(fd, line, deadline) == -1) {
		auth_seterr(err, errlen, "reading the answer");
		goto out;
	}
	rc = auth_proof_check(&p, line, err, errlen);
	if (rc == 0 && chal != NULL)
		memcpy(chal, seen, sizeof(seen));
out:
	e = errno;
	OPENSSL_cleanse(&p, sizeof(p));
	OPENSSL_cleanse(proof, sizeof(proof));
	errno = e;
	return rc;
}

int
auth_attach_mac(const char *key, size_t keylen, const char *chal, unsigned seq,
    const char *name, char *hex)
{
	unsigned char mac[AUTH_BYTES];
	unsigned char raw[AUTH_BYTES];
	char msg[AUTH_LINE_MAX + AUTH_HEX]; /* label, chal, seq, a name */
	unsigned int outlen = 0;
	int m;

	if (key == NULL || keylen == 0 || keylen > AUTH_KEY_MAX ||
	    chal == NULL || auth_unhex(raw, chal, sizeof(raw)) == -1 ||
	    name == NULL || hex == NULL) {
		errno = EINVAL;
		return -1;
	}
	m = snprintf(
	    msg, sizeof(msg), "bashsock/1 attach %s %u %s", chal, seq, name);
	if (m < 0 || (size_t)m >= sizeof(msg)) {
		errno = EINVAL;
		return -1;
	}
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
		(size_t)m, mac, &outlen) == NULL ||
	    outlen != AUTH_BYTES) {
		OPENSSL_cleanse(mac, sizeof(mac));
		errno = EIO;
		return -1;
	}
	auth_hex(hex, mac, sizeof(mac));
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}
