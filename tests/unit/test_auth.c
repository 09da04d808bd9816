/*
 * Unit test of lib/auth: both sides of the handshake over socketpairs, one
 * side in a thread, the other in main (or played by hand from main).
 * Prints each failure on stderr; exits non-zero when any.
 */
#include "auth.h"
#include "clock.h"
#include "check.h"
#include "helper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MS 1000000LL

/* One side of the handshake, run in a thread. */
struct peer {
	int fd;
	int server; /* 1: auth_server, 0: auth_client */
	const char *key;
	size_t keylen;
	const char *purpose;
	int64_t deadline;
	const char *after; /* line to write on success, or NULL */
	int rc;
	int err;
	char msg[AUTH_ERR];
	pthread_t thread;
};

static void *
peer_run(void *arg)
{
	struct peer *p = arg;

	if (p->server)
		p->rc = auth_server(p->fd, p->key, p->keylen, p->purpose,
		    p->deadline, p->msg, sizeof(p->msg));
	else
		p->rc = auth_client(p->fd, p->key, p->keylen, p->purpose,
		    p->deadline, p->msg, sizeof(p->msg));
	p->err = p->rc == -1 ? errno : 0;
	if (p->rc == 0 && p->after != NULL)
		line_write(p->fd, p->after, p->deadline);
	return NULL;
}

/* Sets up a peer on fd with a deadline of ms milliseconds from now. */
static void
peer_init(struct peer *p, int fd, int server, const char *key,
    const char *purpose, int ms)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->server = server;
	p->key = key;
	p->keylen = strlen(key);
	p->purpose = purpose;
	p->deadline = clock_now() + ms * MS;
}

static void
peer_go(struct peer *p)
{
	if (pthread_create(&p->thread, NULL, peer_run, p) != 0) {
		perror("pthread_create");
		exit(2);
	}
}

static void
peer_start(struct peer *p, int fd, int server, const char *key,
    const char *purpose, int ms)
{
	peer_init(p, fd, server, key, purpose, ms);
	peer_go(p);
}

static void
peer_join(struct peer *p)
{
	pthread_join(p->thread, NULL);
}

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("socketpair");
		exit(2);
	}
}

static void
unpair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static int64_t
in_ms(int ms)
{
	return clock_now() + ms * MS;
}

/* Lowercase hex of HMAC-SHA256(key, msg) into out (65 bytes). */
static void
hmac_hex(char *out, const char *key, const char *msg)
{
	unsigned char mac[32];
	unsigned int n = 0;
	int i;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg,
	    strlen(msg), mac, &n);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", mac[i]);
}

static void
test_right_key(int nonblock)
{
	struct peer s;
	char buf[AUTH_LINE_MAX], msg[AUTH_ERR] = "";
	int sv[2], rc;

	pair(sv);
	if (nonblock) {
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		fcntl(sv[1], F_SETFL, O_NONBLOCK);
	}
	peer_start(&s, sv[0], 1, "sesame", "trigger", 2000);
	rc = auth_client(
	    sv[1], "sesame", 6, "trigger", in_ms(2000), msg, sizeof(msg));
	CHECK(rc == 0);
	peer_join(&s);
	CHECK(s.rc == 0);
	/* The line I/O carries on where the handshake stopped. */
	CHECK(line_write(sv[0], "SERVER FIRST", in_ms(500)) == 0);
	CHECK(line_write(sv[1], "CLIENT LINE", in_ms(500)) == 0);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(500)) == 12);
	CHECK(strcmp(buf, "SERVER FIRST") == 0);
	CHECK(line_read(sv[0], buf, sizeof(buf), in_ms(500)) == 11);
	CHECK(strcmp(buf, "CLIENT LINE") == 0);
	unpair(sv);
}

/* auth_client_session in a thread: the challenge it reports. */
struct sess {
	int fd, rc;
	const char *key;
	char chal[AUTH_HEX + 1];
	pthread_t thread;
};

static void *
sess_run(void *arg)
{
	struct sess *c = arg;

	c->rc = auth_client_session(c->fd, c->key, strlen(c->key), "pool",
	    in_ms(2000), c->chal, NULL, 0);
	return NULL;
}

/* The client learns the session's challenge (what pool proofs bind),
 * and only once the server proved the key. */
static void
test_session_challenge(void)
{
	struct auth_challenge ch;
	struct sess c;
	char line[AUTH_LINE_MAX], reply[AUTH_LINE_MAX];
	int sv[2], k;

	for (k = 0; k < 2; k++) {
		pair(sv);
		memset(&c, 0, sizeof(c));
		c.fd = sv[1];
		c.key = k == 0 ? "sesame" : "other";
		strcpy(c.chal, "untouched");
		if (pthread_create(&c.thread, NULL, sess_run, &c) != 0)
			exit(2);
		CHECK(auth_challenge_new(&ch, "pool", line, sizeof(line)) == 0);
		CHECK(line_write(sv[0], line, in_ms(2000)) == 0);
		CHECK(line_read(sv[0], line, sizeof(line), in_ms(2000)) > 0);
		auth_challenge_check(
		    &ch, "sesame", 6, line, reply, sizeof(reply));
		CHECK(line_write(sv[0], reply, in_ms(2000)) == 0);
		pthread_join(c.thread, NULL);
		if (k == 0)
			CHECK(c.rc == 0 && strcmp(c.chal, ch.hex) == 0);
		else
			CHECK(c.rc == -1 && strcmp(c.chal, "untouched") == 0);
		unpair(sv);
	}
}

/* The server's first line after OK must not be eaten by auth_client. */
static void
test_no_overread(void)
{
	struct peer s;
	char buf[AUTH_LINE_MAX];
	int sv[2];

	pair(sv);
	peer_init(&s, sv[0], 1, "k", "pool", 2000);
	s.after = "PORT 4242"; /* written by the thread right after OK */
	peer_go(&s);
	CHECK(auth_client(sv[1], "k", 1, "pool", in_ms(2000), NULL, 0) == 0);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(2000)) == 9);
	CHECK(strcmp(buf, "PORT 4242") == 0);
	peer_join(&s);
	CHECK(s.rc == 0);
	unpair(sv);
}

static void
test_wrong_key(void)
{
	struct peer s;
	char msg[AUTH_ERR] = "";
	int sv[2], rc, e;

	pair(sv);
	peer_start(&s, sv[0], 1, "right", "trigger", 2000);
	rc = auth_client(
	    sv[1], "wrong", 5, "trigger", in_ms(2000), msg, sizeof(msg));
	e = errno;
	peer_join(&s);
	CHECK(rc == -1 && e == EACCES);
	CHECK(strcmp(msg, "key refused") == 0);
	CHECK(s.rc == -1 && s.err == EACCES);
	CHECK(strcmp(s.msg, "wrong key") == 0);
	unpair(sv);
}

/* A 4096-byte binary key (NUL bytes included) works; one byte more is
 * refused, and so are an empty key and bad purposes. */
static void
test_keys_and_args(void)
{
	static char big[AUTH_KEY_MAX + 1];
	struct peer s;
	int sv[2], rc, i;

	for (i = 0; i < AUTH_KEY_MAX + 1; i++)
		big[i] = (char)(i * 7);
	pair(sv);
	peer_init(&s, sv[0], 1, "", "pool", 2000);
	s.key = big;
	s.keylen = AUTH_KEY_MAX;
	peer_go(&s);
	rc =
	    auth_client(sv[1], big, AUTH_KEY_MAX, "pool", in_ms(2000), NULL, 0);
	CHECK(rc == 0);
	peer_join(&s);
	CHECK(s.rc == 0);
	unpair(sv);

	pair(sv);
	errno = 0;
	CHECK(auth_server(sv[0], big, AUTH_KEY_MAX + 1, "pool", in_ms(100),
		  NULL, 0) == -1 &&
	      errno == EINVAL);
	CHECK(auth_client(sv[1], "", 0, "pool", in_ms(100), NULL, 0) == -1 &&
	      errno == EINVAL);
	CHECK(auth_server(sv[0], "k", 1, "two words", in_ms(100), NULL, 0) ==
		  -1 &&
	      errno == EINVAL);
	CHECK(auth_server(sv[0], "k", 1, "", in_ms(100), NULL, 0) == -1 &&
	      errno == EINVAL);
	CHECK(auth_client(sv[1], "k", 1, "abcdefghijklmnopqrstuvwxyz0123456",
		  in_ms(100), NULL, 0) == -1 &&
	      errno == EINVAL);
	unpair(sv);
}

/* A silent or slow peer gets ETIMEDOUT at the deadline, not later. */
static void
test_timeouts(void)
{
	char msg[AUTH_ERR] = "", buf[AUTH_LINE_MAX];
	int64_t t0, dt;
	int sv[2], rc, e;

	/* Server, silent client. */
	pair(sv);
	t0 = clock_now();
	rc = auth_server(
	    sv[0], "k", 1, "trigger", t0 + 200 * MS, msg, sizeof(msg));
	e = errno;
	dt = (clock_now() - t0) / MS;
	CHECK(rc == -1 && e == ETIMEDOUT);
	CHECK(strcmp(msg, "reading the proof") == 0);
	CHECK(dt >= 199 && dt < 450);
	unpair(sv);

	/* Client, silent server. */
	pair(sv);
	t0 = clock_now();
	rc = auth_client(
	    sv[1], "k", 1, "trigger", t0 + 200 * MS, msg, sizeof(msg));
	e = errno;
	dt = (clock_now() - t0) / MS;
	CHECK(rc == -1 && e == ETIMEDOUT);
	CHECK(strcmp(msg, "reading the challenge") == 0);
	CHECK(dt >= 199 && dt < 450);
	unpair(sv);

	/* Server, client that stops mid-line. */
	pair(sv);
	CHECK(write(sv[1], "BASHSOCK/1 PRO", 14) == 14);
	t0 = clock_now();
	rc = auth_server(sv[0], "k", 1, "trigger", t0 + 200 * MS, NULL, 0);
	e = errno;
	dt = (clock_now() - t0) / MS;
	CHECK(rc == -1 && e == ETIMEDOUT);
	CHECK(dt >= 199 && dt < 450);
	unpair(sv);

	/* A deadline already past still returns a line that is there. */
	pair(sv);
	CHECK(write(sv[1], "ready\n", 6) == 6);
	CHECK(line_read(sv[0], buf, sizeof(buf), clock_now() - MS) == 5);
	CHECK(line_read(sv[0], buf, sizeof(buf), clock_now() - MS) == -1 &&
	      errno == ETIMEDOUT);
	unpair(sv);
}

static void
test_long_lines(void)
{
	char line[700], buf[AUTH_LINE_MAX];
	struct peer s;
	int sv[2];

	/* 511 bytes and a newline fit; 512 do not. */
	pair(sv);
	memset(line, 'a', sizeof(line));
	line[AUTH_LINE_MAX - 1] = '\0';
	CHECK(line_write(sv[1], line, in_ms(500)) == 0);
	CHECK(line_read(sv[0], buf, sizeof(buf), in_ms(500)) ==
	      AUTH_LINE_MAX - 1);
	line[AUTH_LINE_MAX - 1] = 'a';
	line[AUTH_LINE_MAX] = '\0';
	CHECK(line_write(sv[1], line, in_ms(500)) == -1 && errno == EMSGSIZE);
	line[AUTH_LINE_MAX] = '\n';
	CHECK(write(sv[1], line, 600) == 600);
	CHECK(line_read(sv[0], buf, sizeof(buf), in_ms(500)) == -1 &&
	      errno == EMSGSIZE);
	CHECK(line_write(sv[1], "a\nb", in_ms(500)) == -1 && errno == EINVAL);
	unpair(sv);

	/* In the handshake an over-long line is a protocol error. */
	pair(sv);
	peer_start(&s, sv[0], 1, "k", "trigger", 2000);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(2000)) > 0);
	memset(line, 'f', 600);
	line[600] = '\n';
	CHECK(write(sv[1], line, 601) == 601);
	peer_join(&s);
	CHECK(s.rc == -1 && s.err == EPROTO);
	unpair(sv);

	pair(sv);
	memset(line, 'f', 600);
	line[600] = '\n';
	CHECK(write(sv[0], line, 601) == 601);
	CHECK(
	    auth_client(sv[1], "k", 1, "trigger", in_ms(500), NULL, 0) == -1 &&
	    errno == EPROTO);
	unpair(sv);
}

/* Sends bad as the client's answer to a real server: EPROTO, no reply. */
static void
junk_proof(const char *bad, size_t len)
{
	char buf[AUTH_LINE_MAX];
	struct peer s;
	int sv[2];

	pair(sv);
	peer_start(&s, sv[0], 1, "k", "trigger", 2000);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(2000)) > 0);
	CHECK(write(sv[1], bad, len) == (ssize_t)len);
	peer_join(&s);
	CHECK(s.rc == -1 && s.err == EPROTO);
	if (s.err != EPROTO)
		fprintf(stderr, "  with %.*s", (int)len, bad);
	shutdown(sv[0], SHUT_WR);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(500)) == -1 &&
	      errno == ECONNRESET);
	unpair(sv);
}

/* Sends bad as the server's challenge to a real client: EPROTO. */
static void
junk_challenge(const char *bad)
{
	int sv[2];

	pair(sv);
	CHECK(line_write(sv[0], bad, in_ms(500)) == 0);
	CHECK(
	    auth_client(sv[1], "k", 1, "trigger", in_ms(500), NULL, 0) == -1 &&
	    errno == EPROTO);
	unpair(sv);
}

static void
test_junk(void)
{
	static const char h64[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char H64[] =
	    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
	char line[AUTH_LINE_MAX];

	junk_proof("GET / HTTP/1.0\n", 15);
	junk_proof("\n", 1);
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s %s\n", H64, h64);
	junk_proof(line, strlen(line));
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s  %s\n", h64, h64);
	junk_proof(line, strlen(line));
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s %s \n", h64, h64);
	junk_proof(line, strlen(line));
	snprintf(line, sizeof(line), "BASHSOCK/2 PROOF %s %s\n", h64, h64);
	junk_proof(line, strlen(line));
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s %.62s\n", h64, h64);
	junk_proof(line, strlen(line));
	/* A NUL byte inside the line. */
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s %sX\n", h64, h64);
	line[strlen(line) - 2] = '\0';
	junk_proof(line, 17 + 64 + 1 + 64 + 2);

	junk_challenge("SSH-2.0-OpenSSH_9.2");
	junk_challenge("BASHSOCK/1 CHALLENGE trigger");
	snprintf(line, sizeof(line), "BASHSOCK/1 CHALLENGE trigger %s", H64);
	junk_challenge(line);
	snprintf(line, sizeof(line), "BASHSOCK/1 OK %s", h64);
	junk_challenge(line);
}

/* A client pointed at a waiter of another purpose stops with EPROTO. */
static void
test_purpose(void)
{
	char msg[AUTH_ERR] = "";
	struct peer s;
	int sv[2], rc, e;

	pair(sv);
	peer_start(&s, sv[0], 1, "k", "trigger", 2000);
	rc = auth_client(sv[1], "k", 1, "pool", in_ms(2000), msg, sizeof(msg));
	e = errno;
	CHECK(rc == -1 && e == EPROTO);
	CHECK(strcmp(msg, "challenge for another purpose") == 0);
	close(sv[1]);
	peer_join(&s);
	CHECK(s.rc == -1 && s.err == ECONNRESET);
	close(sv[0]);
}

/* A refusal before any challenge (a full pool, say) is EACCES. */
static void
test_denied_upfront(void)
{
	int sv[2];

	pair(sv);
	CHECK(line_write(sv[0], "BASHSOCK/1 DENIED", in_ms(500)) == 0);
	CHECK(auth_client(sv[1], "k", 1, "pool", in_ms(500), NULL, 0) == -1 &&
	      errno == EACCES);
	unpair(sv);
}

static int
contains(const char *hay, size_t n, const char *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

/*
 * Relays a real client and a real server through main, recording every
 * line; then replays the recording against a new server and, as a fake
 * server, against a new client: both must refuse.
 */
static void
test_replay(void)
{
	static const char key[] = "correct horse battery staple";
	static const char keyhex[] = "636f727265637420686f727365";
	char chal[AUTH_LINE_MAX], proof[AUTH_LINE_MAX], ok[AUTH_LINE_MAX];
	char buf[AUTH_LINE_MAX], sent[3 * AUTH_LINE_MAX];
	struct peer s, c;
	int a[2], b[2];
	size_t n;

	pair(a);
	pair(b);
	peer_start(&s, a[0], 1, key, "trigger", 2000);
	peer_start(&c, b[1], 0, key, "trigger", 2000);
	CHECK(line_read(a[1], chal, sizeof(chal), in_ms(2000)) > 0);
	CHECK(line_write(b[0], chal, in_ms(2000)) == 0);
	CHECK(line_read(b[0], proof, sizeof(proof), in_ms(2000)) > 0);
	CHECK(line_write(a[1], proof, in_ms(2000)) == 0);
	CHECK(line_read(a[1], ok, sizeof(ok), in_ms(2000)) > 0);
	CHECK(line_write(b[0], ok, in_ms(2000)) == 0);
	peer_join(&s);
	peer_join(&c);
	CHECK(s.rc == 0 && c.rc == 0);
	CHECK(strncmp(chal, "BASHSOCK/1 CHALLENGE trigger ", 29) == 0);
	CHECK(strncmp(proof, "BASHSOCK/1 PROOF ", 17) == 0);
	CHECK(strncmp(ok, "BASHSOCK/1 OK ", 14) == 0);

	/* Nothing either side sent holds the key, raw or in hex. */
	n = (size_t)snprintf(
	    sent, sizeof(sent), "%s\n%s\n%s\n", chal, proof, ok);
	CHECK(!contains(sent, n, key, strlen(key)));
	CHECK(!contains(sent, n, "horse", 5));
	CHECK(!contains(sent, n, keyhex, strlen(keyhex)));
	unpair(a);
	unpair(b);

	/* The recorded proof against a fresh challenge: DENIED. */
	pair(a);
	peer_start(&s, a[0], 1, key, "trigger", 2000);
	CHECK(line_read(a[1], buf, sizeof(buf), in_ms(2000)) > 0);
	CHECK(strcmp(buf, chal) != 0);
	CHECK(line_write(a[1], proof, in_ms(2000)) == 0);
	CHECK(line_read(a[1], buf, sizeof(buf), in_ms(2000)) > 0);
	CHECK(strcmp(buf, "BASHSOCK/1 DENIED") == 0);
	peer_join(&s);
	CHECK(s.rc == -1 && s.err == EACCES);
	unpair(a);

	/* A fake server replaying challenge and OK: the client's fresh nonce
	 * makes the old OK worthless. */
	pair(b);
	peer_start(&c, b[1], 0, key, "trigger", 2000);
	CHECK(line_write(b[0], chal, in_ms(2000)) == 0);
	CHECK(line_read(b[0], buf, sizeof(buf), in_ms(2000)) > 0);
	CHECK(strcmp(buf, proof) != 0);
	CHECK(line_write(b[0], ok, in_ms(2000)) == 0);
	peer_join(&c);
	CHECK(c.rc == -1 && c.err == EACCES);
	CHECK(strcmp(c.msg, "peer does not know the key") == 0);
	unpair(b);
}

/* The MACs are exactly as documented: computed here with OpenSSL alone. */
static void
test_wire_format(void)
{
	static const char nonce[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char buf[AUTH_LINE_MAX], msg[256], mac[65], line[AUTH_LINE_MAX];
	const char *chal;
	struct peer s;
	int sv[2];

	pair(sv);
	peer_start(&s, sv[0], 1, "doc-key", "pool", 2000);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(2000)) ==
	      (ssize_t)strlen("BASHSOCK/1 CHALLENGE pool ") + 64);
	chal = buf + strlen("BASHSOCK/1 CHALLENGE pool ");
	snprintf(
	    msg, sizeof(msg), "bashsock/1 client pool %.64s %s", chal, nonce);
	hmac_hex(mac, "doc-key", msg);
	snprintf(line, sizeof(line), "BASHSOCK/1 PROOF %s %s", mac, nonce);
	CHECK(line_write(sv[1], line, in_ms(2000)) == 0);
	snprintf(
	    msg, sizeof(msg), "bashsock/1 server pool %.64s %s", chal, nonce);
	hmac_hex(mac, "doc-key", msg);
	snprintf(line, sizeof(line), "BASHSOCK/1 OK %s", mac);
	CHECK(line_read(sv[1], buf, sizeof(buf), in_ms(2000)) > 0);
	CHECK(strcmp(buf, line) == 0);
	peer_join(&s);
	CHECK(s.rc == 0);
	unpair(sv);
}

/* The I/O-free server steps, as a multiplexing caller uses them. */
static void
test_challenge_api(void)
{
	struct auth_challenge ch;
	char line[AUTH_LINE_MAX], reply[AUTH_LINE_MAX];
	int sv[2];

	pair(sv);
	CHECK(auth_challenge_new(&ch, "trigger", line, sizeof(line)) == 0);
	CHECK(line_write(sv[0], line, in_ms(500)) == 0);
	CHECK(
	    auth_challenge_new(&ch, "bad purpose", line, sizeof(line)) == -1 &&
	    errno == EINVAL);
	unpair(sv);

	CHECK(auth_challenge_new(&ch, "trigger", line, sizeof(line)) == 0);
	CHECK(auth_challenge_check(&ch, "k", 1, "junk", reply, sizeof(reply)) ==
		  -1 &&
	      errno == EPROTO);
	CHECK(reply[0] == '\0');
}

static volatile sig_atomic_t got_sig;

static void
on_sig(int sig)
{
	got_sig = sig;
}

static void *
poke(void *arg)
{
	usleep(50000);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

/* A signal ends a wait with EINTR at once, whatever the deadline. */
static void
test_eintr(void)
{
	struct sigaction sa;
	pthread_t self = pthread_self(), t;
	char buf[AUTH_LINE_MAX];
	int64_t t0, dt;
	int sv[2], rc, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig; /* no SA_RESTART, like a stopping helper */
	sigaction(SIGUSR1, &sa, NULL);
	pair(sv);
	pthread_create(&t, NULL, poke, &self);
	t0 = clock_now();
	rc = (int)line_read(sv[0], buf, sizeof(buf), t0 + 5000 * MS);
	e = errno;
	dt = (clock_now() - t0) / MS;
	pthread_join(t, NULL);
	CHECK(rc == -1 && e == EINTR && got_sig == SIGUSR1);
	CHECK(dt < 1000);
	unpair(sv);
	signal(SIGUSR1, SIG_DFL);
}

static void
test_eof_and_full(void)
{
	char buf[AUTH_LINE_MAX], line[400];
	int sv[2], i, rc = 0, small = 4096;
	int64_t t0, dt;

	pair(sv);
	CHECK(write(sv[1], "half", 4) == 4);
	close(sv[1]);
	CHECK(line_read(sv[0], buf, sizeof(buf), in_ms(500)) == -1 &&
	      errno == ECONNRESET);
	CHECK(line_read(sv[0], buf, sizeof(buf), in_ms(500)) == -1 &&
	      errno == ECONNRESET);
	close(sv[0]);

	/* A peer that reads nothing: writes time out, no SIGPIPE later. */
	pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	t0 = clock_now();
	for (i = 0; i < 100000 && rc == 0; i++)
		rc = line_write(sv[0], line, clock_now() + 100 * MS);
	dt = (clock_now() - t0) / MS;
	CHECK(rc == -1 && errno == ETIMEDOUT);
	CHECK(dt < 1000);
	close(sv[1]);
	CHECK(line_write(sv[0], "x", in_ms(100)) == -1 &&
	      (errno == EPIPE || errno == ECONNRESET));
	close(sv[0]);
}

int
main(void)
{
	test_right_key(0);
	test_right_key(1);
	test_no_overread();
	test_session_challenge();
	test_wrong_key();
	test_keys_and_args();
	test_timeouts();
	test_long_lines();
	test_junk();
	test_purpose();
	test_denied_upfront();
	test_replay();
	test_wire_format();
	test_challenge_api();
	test_eintr();
	test_eof_and_full();
	if (failures != 0) {
		fprintf(stderr, "test_auth: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_auth: all passed\n");
	return 0;
}
