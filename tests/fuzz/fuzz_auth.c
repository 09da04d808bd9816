/*
 * libFuzzer target for lib/auth.c, the decoders of what the network sends
 * during the trigger and pool handshakes. The first input byte picks a
 * mode; the rest is what a peer sends:
 *
 *   0  a PROOF line for auth_challenge_check: never accepted (the
 *      challenge is fresh), refused with EPROTO and no reply, or EACCES
 *      and exactly the DENIED line
 *   1  a key and a nonce from the input, the proof computed here from
 *      the README's "Authentication protocol" with OpenSSL, then maybe one byte
 * changed: the intact proof is accepted with exactly the OK line the document
 *      describes, a changed one never
 *   2  a server's whole side of the exchange, fed to auth_client over a
 *      socketpair: it fails cleanly (EPROTO, EACCES or ECONNRESET, with
 *      err set), never succeeds, never reads past what it was given
 *   3  a client's whole side, fed to auth_server the same way
 *   4  a byte stream and a buffer size for line_read over a pipe:
 *      what it returns is exactly the bytes before the first newline, and
 *      it leaves everything after that newline unread
 *   5  a server's first line for auth_proof_new, then its answer line for
 *      auth_proof_check (the client's I/O-free steps): the first is taken
 *      only when it is exactly a CHALLENGE for the purpose; the answer is
 *      never taken (it would need the key's MAC over a fresh nonce)
 *   6  a key (and maybe a second one, and a byte to change on the way):
 *      the whole exchange through the I/O-free steps of both sides works
 *      exactly when the keys match and nothing was changed
 *
 *   make fuzz-build && build/fuzz/fuzz_auth tests/fuzz/corpus/auth
 */
#include "auth.h"
#include "clock.h"
#include "helper.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PURPOSE "trigger"
#define DEADLINE (clock_now() + 10000000000LL)

/* A NUL-terminated copy of n bytes. */
static char *
dup0(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
hex(char *out, const unsigned char *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* HMAC-SHA256(key, "bashsock/1 ROLE PURPOSE CHAL NONCE") as hex. */
static void
mac_hex(char *out, const char *role, const uint8_t *key, size_t keylen,
    const char *chal, const char *nonce)
{
	unsigned char mac[32];
	unsigned int len = 0;
	char msg[256];
	int m;

	m = snprintf(msg, sizeof(msg), "bashsock/1 %s %s %s %s", role, PURPOSE,
	    chal, nonce);
	CHECK(HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)msg,
		  (size_t)m, mac, &len) != NULL &&
	      len == 32);
	hex(out, mac, 32);
}

static void
mode_check_line(const uint8_t *p, size_t n)
{
	struct auth_challenge ch;
	char line[AUTH_LINE_MAX], reply[AUTH_LINE_MAX];
	char *proof = dup0(p, n);
	int rc;

	CHECK(auth_challenge_new(&ch, PURPOSE, line, sizeof(line)) == 0);
	memset(reply, 'x', sizeof(reply));
	rc = auth_challenge_check(&ch, "k3y", 3, proof, reply, sizeof(reply));
	CHECK(rc == -1);
	CHECK(errno == EPROTO || errno == EACCES);
	if (errno == EPROTO)
		CHECK(reply[0] == '\0');
	else
		CHECK(strcmp(reply, "BASHSOCK/1 DENIED") == 0);
	free(proof);
}

static void
mode_valid_proof(const uint8_t *p, size_t n)
{
	struct auth_challenge ch;
	char line[AUTH_LINE_MAX], reply[AUTH_LINE_MAX], want[AUTH_LINE_MAX];
	char nonce[65], proof[65], ok[65];
	size_t keylen, flip;
	const uint8_t *key;
	int rc, changed = 0;

	if (n < 32 + 3)
		return;
	hex(nonce, p, 32); /* the client's nonce */
	flip = (size_t)p[32] << 8 | p[33];
	p += 34, n -= 34;
	keylen = n > AUTH_KEY_MAX ? AUTH_KEY_MAX : n;
	key = p;
	if (keylen == 0)
		return;
	CHECK(auth_challenge_new(&ch, PURPOSE, line, sizeof(line)) == 0);
	CHECK(strlen(ch.hex) == 64 &&
	      strncmp(line, "BASHSOCK/1 CHALLENGE " PURPOSE " ", 29) == 0 &&
	      strcmp(line + 29, ch.hex) == 0);
	mac_hex(proof, "client", key, keylen, ch.hex, nonce);
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s %s", proof, nonce);
	/* Some inputs change one byte of the line (flip's high bit set). */
	if (flip & 0x8000) {
		size_t at = (flip & 0x7fff) % strlen(line);
		char c = (char)(line[at] ^ (1 + (flip >> 8 & 0x3f)));

		if (c != '\0' && c != line[at]) {
			line[at] = c;
			changed = 1;
		}
	}
	rc = auth_challenge_check(
	    &ch, (const char *)key, keylen, line, reply, sizeof(reply));
	if (changed) {
		CHECK(rc == -1 && (errno == EPROTO || errno == EACCES));
		return;
	}
	CHECK(rc == 0);
	mac_hex(ok, "server", key, keylen, ch.hex, nonce);
	snprintf(want, sizeof(want), "BASHSOCK/1 OK %s", ok);
	CHECK(strcmp(reply, want) == 0);
}

/* Runs fn on one end of a socketpair whose other end holds p[0..n) and
 * then end of file. Returns fn's result with errno kept. */
static int
over_socket(const uint8_t *p, size_t n,
    int (*fn)(int fd, char *err, size_t errlen), char *err, size_t errlen)
{
	int sv[2], rc, e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	CHECK(n == 0 || write(sv[1], p, n) == (ssize_t)n);
	shutdown(sv[1], SHUT_WR);
	rc = fn(sv[0], err, errlen);
	e = errno;
	close(sv[0]);
	close(sv[1]);
	errno = e;
	return rc;
}

static int
run_client(int fd, char *err, size_t errlen)
{
	return auth_client(fd, "k3y", 3, PURPOSE, DEADLINE, err, errlen);
}

static int
run_server(int fd, char *err, size_t errlen)
{
	return auth_server(fd, "k3y", 3, PURPOSE, DEADLINE, err, errlen);
}

static void
mode_peer(const uint8_t *p, size_t n, int server)
{
	char err[AUTH_ERR];
	int rc;

	err[0] = '\0';
	rc = over_socket(
	    p, n, server ? run_server : run_client, err, sizeof(err));
	CHECK(rc == -1);
	CHECK(errno == EPROTO || errno == EACCES || errno == ECONNRESET);
	CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
}

static void
mode_readline(const uint8_t *p, size_t n)
{
	char *buf, rest[4096];
	const uint8_t *nl;
	size_t len, before;
	ssize_t got, r;
	int fd[2];

	if (n < 2 || n > 2048)
		return;
	len = 1 + p[0] % 64;
	p++, n--;
	if (pipe2(fd, O_CLOEXEC) == -1)
		abort();
	CHECK(write(fd[1], p, n) == (ssize_t)n);
	close(fd[1]);
	if ((buf = malloc(len)) == NULL)
		abort();
	got = line_read(fd[0], buf, len, DEADLINE);
	nl = memchr(p, '\n', n);
	before = nl != NULL ? (size_t)(nl - p) : n;
	if (nl != NULL && before <= len - 1) {
		CHECK(got == (ssize_t)before);
		CHECK(memcmp(buf, p, before) == 0 && buf[before] == '\0');
		/* Not a byte past the newline was read. */
		r = read(fd[0], rest, sizeof(rest));
		CHECK(r == (ssize_t)(n - before - 1));
		CHECK(r == 0 || memcmp(rest, nl + 1, (size_t)r) == 0);
	} else {
		CHECK(got == -1 && buf[0] == '\0');
		CHECK(errno == (before > len - 1 ? EMSGSIZE : ECONNRESET));
	}
	free(buf);
	close(fd[0]);
}

/* 1 when s is exactly "BASHSOCK/1 CHALLENGE <purpose> <64 lowercase hex>". */
static int
is_challenge(const char *s)
{
	const char *pre = "BASHSOCK/1 CHALLENGE " PURPOSE " ";
	size_t n = strlen(pre);

	return strncmp(s, pre, n) == 0 && strlen(s + n) == 64 &&
	       strspn(s + n, "0123456789abcdef") == 64;
}

static void
mode_client_steps(const uint8_t *p, size_t n)
{
	struct auth_proof pr;
	char line[AUTH_LINE_MAX], err[AUTH_ERR], *first, *answer;
	const uint8_t *nl = memchr(p, '\n', n);
	size_t k = nl != NULL ? (size_t)(nl - p) : n;
	int rc;

	first = dup0(p, k);
	answer = dup0(nl != NULL ? nl + 1 : p + n, nl != NULL ? n - k - 1 : 0);
	err[0] = '\0';
	rc = auth_proof_new(&pr, "k3y", 3, PURPOSE, first, line, sizeof(line),
	    err, sizeof(err));
	if (is_challenge(first)) { /* as a C string: NULs are the reader's */
		CHECK(rc == 0);
		CHECK(strncmp(line, "BASHSOCK/1 PROOF ", 17) == 0 &&
		      strlen(line) == 17 + 64 + 1 + 64);
		rc = auth_proof_check(&pr, answer, err, sizeof(err));
		CHECK(rc == -1 && (errno == EACCES || errno == EPROTO));
	} else {
		CHECK(rc == -1 && (errno == EACCES || errno == EPROTO));
	}
	CHECK(rc == 0 || err[0] != '\0');
	free(first);
	free(answer);
}

/* Changes byte at of line (a NUL-free string) when flip says so. 1 when
 * the line changed. */
static int
maybe_change(char *line, unsigned flip)
{
	size_t at;
	char c;

	if (!(flip & 0x80) || line[0] == '\0')
		return 0;
	at = (flip & 0x7f) * 7 % strlen(line);
	c = (char)(line[at] ^ (1 + (flip >> 8 & 0x3f)));
	if (c == '\0' || c == '\n' || c == line[at])
		return 0;
	line[at] = c;
	return 1;
}

static void both_steps(const char *k1, size_t klen, const char *k2,
    size_t k2len, int same, unsigned f1, unsigned f2, unsigned f3);

static void
mode_both_steps(const uint8_t *p, size_t n)
{
	unsigned f1, f2, f3;
	size_t klen, k2len, i;
	char *k1, *k2;
	int same;

	if (n < 8)
		return;
	f1 = p[0] | p[1] << 8;
	f2 = p[2] | p[3] << 8;
	f3 = p[4] | p[5] << 8;
	klen = 1 + p[6] % 64;
	p += 7, n -= 7;
	if (n < klen)
		return;
	/* The server's key: the same, or the rest of the input when there
	 * is one (which may be equal again). Keys hold no NUL (they come
	 * from a command line): HMAC pads a short key with zero bytes, so
	 * "k" and "k\0" would be one key. */
	k2len = n - klen > 0 ? n - klen : klen;
	if (k2len > AUTH_KEY_MAX)
		k2len = AUTH_KEY_MAX;
	k1 = dup0(p, klen);
	k2 = dup0(n - klen > 0 ? p + klen : p, k2len);
	for (i = 0; i < klen; i++)
		k1[i] = k1[i] == '\0' ? 'x' : k1[i];
	for (i = 0; i < k2len; i++)
		k2[i] = k2[i] == '\0' ? 'x' : k2[i];
	same = k2len == klen && memcmp(k1, k2, klen) == 0;
	both_steps(k1, klen, k2, k2len, same, f1, f2, f3);
	free(k1);
	free(k2);
}

static void
both_steps(const char *k1, size_t klen, const char *k2, size_t k2len, int same,
    unsigned f1, unsigned f2, unsigned f3)
{
	struct auth_challenge ch;
	struct auth_proof pr;
	char chal[AUTH_LINE_MAX], proof[AUTH_LINE_MAX], reply[AUTH_LINE_MAX];
	char err[AUTH_ERR];
	int changed = 0, rc;

	CHECK(auth_challenge_new(&ch, PURPOSE, chal, sizeof(chal)) == 0);
	changed |= maybe_change(chal, f1);
	rc = auth_proof_new(&pr, k1, klen, PURPOSE, chal, proof, sizeof(proof),
	    err, sizeof(err));
	if (rc == -1) {
		CHECK(changed && (errno == EPROTO || errno == EACCES));
		return;
	}
	changed |= maybe_change(proof, f2);
	rc = auth_challenge_check(&ch, k2, k2len, proof, reply, sizeof(reply));
	if (rc == -1) {
		CHECK(changed || !same);
		CHECK(errno == EPROTO || errno == EACCES);
		if (errno == EACCES)
			CHECK(strcmp(reply, "BASHSOCK/1 DENIED") == 0);
		if (reply[0] != '\0')
			CHECK(auth_proof_check(&pr, reply, err, sizeof(err)) ==
				  -1 &&
			      errno == EACCES);
		return;
	}
	CHECK(!changed && same);
	changed |= maybe_change(reply, f3);
	rc = auth_proof_check(&pr, reply, err, sizeof(err));
	CHECK(changed ? rc == -1 && (errno == EACCES || errno == EPROTO)
		      : rc == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	switch (data[0] % 7) {
	case 0:
		mode_check_line(data + 1, size - 1);
		break;
	case 1:
		mode_valid_proof(data + 1, size - 1);
		break;
	case 2:
		mode_peer(data + 1, size - 1, 0);
		break;
	case 3:
		mode_peer(data + 1, size - 1, 1);
		break;
	case 4:
		mode_readline(data + 1, size - 1);
		break;
	case 5:
		mode_client_steps(data + 1, size - 1);
		break;
	default:
		mode_both_steps(data + 1, size - 1);
		break;
	}
	return 0;
}
