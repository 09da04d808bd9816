/*
 * Unit test of lib/trigger: a waiter and senders driven step by step in one
 * thread over loopback, with raw sockets playing junk, silent and replaying
 * peers. Prints each failure on stderr; exits non-zero when any.
 */
#include "auth.h"
#include "clock.h"
#include "check.h"
#include "helper.h"
#include "trigger.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS 1000000LL

static struct trigger_waiter *
waiter(const char *key)
{
	char err[TRIGGER_ERR];
	struct trigger_waiter *w;

	w = trigger_wait_open(
	    "127.0.0.1", 0, key, strlen(key), err, sizeof(err));
	if (w == NULL) {
		fprintf(stderr, "trigger_wait_open: %s\n", err);
		exit(2);
	}
	return w;
}

static struct trigger_sender *
sender(struct trigger_waiter *w, const char *key)
{
	char err[TRIGGER_ERR];
	struct trigger_sender *s;

	s = trigger_send_open("127.0.0.1", trigger_wait_port(w), key,
	    strlen(key), err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "trigger_send_open: %s\n", err);
		exit(2);
	}
	return s;
}

/* A raw blocking client socket connected to the waiter. */
static int
raw(struct trigger_waiter *w)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)trigger_wait_port(w));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		perror("connect");
		exit(2);
	}
	return fd;
}

/* Steps the waiter (and the sender, when s) with short waits until the
 * waiter fires, the sender finishes, or ms pass. Returns the waiter's last
 * step result; *sr gets the sender's (0 when none). */
static int
pump(struct trigger_waiter *w, struct trigger_sender *s, int *sr, int ms)
{
	int64_t end = clock_now() + ms * MS;
	char err[TRIGGER_ERR];
	int wr = 0;

	*sr = 0;
	while (clock_now() < end) {
		if (wr != 1)
			wr = trigger_wait_step(w, 2 * MS, NULL);
		if (s != NULL && *sr == 0)
			*sr = trigger_send_step(
			    s, 2 * MS, NULL, err, sizeof(err));
		if (wr == -1 || (s != NULL ? *sr != 0 : wr == 1))
			break;
	}
	return wr;
}

/* Steps the waiter for ms; 1 if it fired. */
static int
idle(struct trigger_waiter *w, int ms)
{
	int sr;

	return pump(w, NULL, &sr, ms);
}

/* Reads one line from blocking fd into buf (len), without its newline. */
static int
rawline(int fd, char *buf, size_t len)
{
	return (int)line_read(fd, buf, len, clock_now() + 2000 * MS);
}

static void
test_right_key(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct trigger_sender *s = sender(w, "sesame");
	int sr, wr;

	wr = pump(w, s, &sr, 2000);
	if (wr != 1)
		wr = pump(w, NULL, &sr, 500) == 1 ? 1 : wr;
	CHECK(wr == 1);
	CHECK(sr == 1);
	trigger_send_close(s);
	trigger_wait_close(w);
}

static void
test_wrong_key(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct trigger_sender *s = sender(w, "guess");
	char err[TRIGGER_ERR];
	int64_t end = clock_now() + 2000 * MS;
	int sr = 0, wr = 0;

	while (sr == 0 && clock_now() < end) {
		wr = trigger_wait_step(w, 2 * MS, NULL);
		sr = trigger_send_step(s, 2 * MS, NULL, err, sizeof(err));
	}
	CHECK(sr == -1 && errno == EACCES);
	CHECK(strstr(err, "key refused") != NULL);
	CHECK(wr == 0);
	CHECK(idle(w, 50) == 0);
	CHECK(trigger_wait_pending(w) == 0);
	trigger_send_close(s);
	/* Still waiting: the right key wakes it now. */
	s = sender(w, "sesame");
	CHECK(pump(w, s, &sr, 2000) == 1 || idle(w, 200) == 1);
	CHECK(sr == 1);
	trigger_send_close(s);
	trigger_wait_close(w);
}

static void
test_junk(void)
{
	struct trigger_waiter *w = waiter("sesame");
	static const char *junk[] = {
	    "GET / HTTP/1.0\r\n\r\n",
	    "BASHSOCK/1 PROOF 00 11\n",
	    "BASHSOCK/2 PROOF x y\n",
	    "\n",
	    "no newline at all",
	};
	char big[2000], line[AUTH_LINE_MAX];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		fd = raw(w);
		CHECK(idle(w, 5) == 0);
		CHECK(rawline(fd, line, sizeof(line)) > 0);
		CHECK(strncmp(line, "BASHSOCK/1 CHALLENGE trigger ", 29) == 0);
		CHECK(write(fd, junk[i], strlen(junk[i])) > 0);
		if (i + 1 < sizeof(junk) / sizeof(junk[0])) {
			/* A malformed line is dropped at once, unanswered. */
			CHECK(idle(w, 20) == 0);
			CHECK(rawline(fd, line, sizeof(line)) == -1);
			CHECK(errno == ECONNRESET);
		}
		close(fd);
	}
	/* Over-long line: dropped as soon as it passes the limit. */
	fd = raw(w);
	memset(big, 'A', sizeof(big));
	CHECK(idle(w, 5) == 0);
	CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
	CHECK(idle(w, 20) == 0);
	CHECK(trigger_wait_pending(w) == 0);
	close(fd);
	/* NUL byte inside a line. */
	fd = raw(w);
	CHECK(idle(w, 5) == 0);
	CHECK(write(fd, "BASHSOCK/1\0PROOF\n", 17) == 17);
	CHECK(idle(w, 20) == 0);
	CHECK(trigger_wait_pending(w) == 0);
	close(fd);
	trigger_wait_close(w);
}

/* Silent peers hold slots but never delay a valid sender, even when they
 * fill the table (the oldest gives way). */
static void
test_silent(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct trigger_sender *s;
	int fds[TRIGGER_MAX_PENDING + 8], i, sr;

	fds[0] = raw(w);
	CHECK(idle(w, 10) == 0);
	CHECK(trigger_wait_pending(w) == 1);
	s = sender(w, "sesame");
	CHECK(pump(w, s, &sr, 2000) == 1 || idle(w, 200) == 1);
	CHECK(sr == 1);
	trigger_send_close(s);
	trigger_wait_close(w);
	close(fds[0]);

	w = waiter("sesame");
	for (i = 0; i < TRIGGER_MAX_PENDING + 8; i++)
		fds[i] = raw(w);
	CHECK(idle(w, 50) == 0);
	CHECK(trigger_wait_pending(w) == TRIGGER_MAX_PENDING);
	s = sender(w, "sesame");
	CHECK(pump(w, s, &sr, 2000) == 1 || idle(w, 200) == 1);
	CHECK(sr == 1);
	trigger_send_close(s);
	trigger_wait_close(w);
	for (i = 0; i < TRIGGER_MAX_PENDING + 8; i++)
		close(fds[i]);
}

/* The proof of a recorded exchange fails against a fresh challenge. */
static void
test_replay(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct auth_proof p;
	char chal[AUTH_LINE_MAX], proof[AUTH_LINE_MAX], ans[AUTH_LINE_MAX];
	int fd;

	fd = raw(w);
	CHECK(idle(w, 5) == 0);
	CHECK(rawline(fd, chal, sizeof(chal)) > 0);
	CHECK(auth_proof_new(&p, "sesame", 6, "trigger", chal, proof,
		  sizeof(proof), NULL, 0) == 0);
	CHECK(strstr(proof, "sesame") == NULL);
	CHECK(write(fd, proof, strlen(proof)) > 0 && write(fd, "\n", 1) == 1);
	CHECK(idle(w, 50) == 1); /* the live exchange fires */
	CHECK(rawline(fd, ans, sizeof(ans)) > 0);
	CHECK(auth_proof_check(&p, ans, NULL, 0) == 0);
	close(fd);
	trigger_wait_close(w);

	w = waiter("sesame");
	fd = raw(w);
	CHECK(idle(w, 5) == 0);
	CHECK(rawline(fd, chal, sizeof(chal)) > 0);
	CHECK(write(fd, proof, strlen(proof)) > 0 && write(fd, "\n", 1) == 1);
	CHECK(idle(w, 50) == 0); /* the replay does not */
	CHECK(rawline(fd, ans, sizeof(ans)) > 0);
	CHECK(strcmp(ans, "BASHSOCK/1 DENIED") == 0);
	close(fd);
	trigger_wait_close(w);
}

/* A handshake that says nothing is dropped at its deadline. */
static void
test_deadline(void)
{
	struct trigger_waiter *w = waiter("sesame");
	int64_t t0;
	int fd;

	fd = raw(w);
	t0 = clock_now();
	CHECK(idle(w, 10) == 0);
	CHECK(trigger_wait_pending(w) == 1);
	/* One step sleeps until the deadline, not in slices. */
	while (trigger_wait_pending(w) == 1 &&
	       clock_now() - t0 < TRIGGER_HANDSHAKE_NS + 1000 * MS)
		CHECK(trigger_wait_step(w, -1, NULL) == 0);
	CHECK(trigger_wait_pending(w) == 0);
	CHECK(clock_now() - t0 >= TRIGGER_HANDSHAKE_NS);
	CHECK(clock_now() - t0 < TRIGGER_HANDSHAKE_NS + 500 * MS);
	close(fd);
	trigger_wait_close(w);
}

static volatile sig_atomic_t got_usr1;
static int pending_calls;

static void
on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int
pending_flag(void)
{
	pending_calls++;
	return got_usr1;
}

/* Raises SIGUSR1 while every signal is blocked, then says "nothing
 * pending": the signal lands in the window before the wait. */
static int
pending_raise(void)
{
	raise(SIGUSR1);
	return got_usr1;
}

/* A signal that arrived before the wait interrupts it; a pending flag
 * makes the step return at once. */
/* Challenges are drawn ahead of their connections: each connection still
 * gets its own, and a proof made for one connection's challenge, sent on
 * another that is open at the same time, is refused. */
static void
test_challenge_per_connection(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct auth_proof p;
	char c1[AUTH_LINE_MAX], c2[AUTH_LINE_MAX], c3[AUTH_LINE_MAX];
	char proof[AUTH_LINE_MAX], ans[AUTH_LINE_MAX];
	int fd1, fd2, fd3;

	fd1 = raw(w);
	fd2 = raw(w);
	CHECK(idle(w, 5) == 0);
	CHECK(rawline(fd1, c1, sizeof(c1)) > 0);
	CHECK(rawline(fd2, c2, sizeof(c2)) > 0);
	CHECK(strcmp(c1, c2) != 0);
	CHECK(trigger_wait_pending(w) == 2);
	/* fd2 goes away unanswered: its challenge is not handed on. */
	close(fd2);
	fd3 = raw(w);
	CHECK(idle(w, 5) == 0);
	CHECK(rawline(fd3, c3, sizeof(c3)) > 0);
	CHECK(strcmp(c3, c1) != 0 && strcmp(c3, c2) != 0);
	/* A right proof for fd1's challenge, on fd3: DENIED, no trigger. */
	CHECK(auth_proof_new(&p, "sesame", 6, "trigger", c1, proof,
		  sizeof(proof), NULL, 0) == 0);
	CHECK(write(fd3, proof, strlen(proof)) > 0 && write(fd3, "\n", 1) == 1);
	CHECK(idle(w, 50) == 0);
	CHECK(rawline(fd3, ans, sizeof(ans)) > 0);
	CHECK(strcmp(ans, "BASHSOCK/1 DENIED") == 0);
	/* The same proof on fd1, whose challenge it answers, fires. */
	CHECK(write(fd1, proof, strlen(proof)) > 0 && write(fd1, "\n", 1) == 1);
	CHECK(idle(w, 50) == 1);
	CHECK(rawline(fd1, ans, sizeof(ans)) > 0);
	CHECK(auth_proof_check(&p, ans, NULL, 0) == 0);
	close(fd1);
	close(fd3);
	trigger_wait_close(w);
}

static void
test_signals(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct sigaction sa;
	sigset_t set, old;
	int64_t t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR1); /* pending, not delivered: the flag is still 0 */
	CHECK(got_usr1 == 0);
	sigprocmask(SIG_SETMASK, &old, NULL); /* delivered now */
	CHECK(got_usr1 == 1);
	t0 = clock_now();
	CHECK(trigger_wait_step(w, -1, pending_flag) == 0);
	CHECK(pending_calls == 1);
	CHECK(clock_now() - t0 < 100 * MS);

	/* The race: a signal lands after the caller last looked but before
	 * the wait sleeps; the wait lets it in and returns at once. */
	got_usr1 = 0;
	t0 = clock_now();
	CHECK(trigger_wait_step(w, -1, pending_raise) == 0);
	CHECK(got_usr1 == 1);
	CHECK(clock_now() - t0 < 100 * MS);
	CHECK(trigger_wait_step(w, 0, NULL) == 0);
	trigger_wait_close(w);
}

static void
test_sender_errors(void)
{
	struct trigger_waiter *w = waiter("sesame");
	struct trigger_sender *s;
	char err[TRIGGER_ERR], buf[64];
	int port = trigger_wait_port(w), lfd, fd, r;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	trigger_wait_close(w); /* nothing listens there now */
	s = trigger_send_open("127.0.0.1", port, "k", 1, err, sizeof(err));
	CHECK(s != NULL);
	while (
	    (r = trigger_send_step(s, 100 * MS, NULL, err, sizeof(err))) == 0)
		;
	CHECK(r == -1 && errno == ECONNREFUSED);
	CHECK(strncmp(err, "connecting: ", 12) == 0);
	trigger_send_close(s);

	CHECK(trigger_send_open("no.such.host.invalid", 2000, "k", 1, err,
		  sizeof(err)) == NULL);
	CHECK(errno == ENOENT);
	CHECK(trigger_send_open("127.0.0.1", 2000, "", 0, err, sizeof(err)) ==
	      NULL);
	CHECK(errno == EINVAL);

	/* A server that is no trigger-wait. */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(lfd, 4) == 0);
	CHECK(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
	s = trigger_send_open(
	    "127.0.0.1", ntohs(sa.sin_port), "k", 1, err, sizeof(err));
	CHECK(s != NULL);
	CHECK(trigger_send_step(s, 100 * MS, NULL, err, sizeof(err)) == 0);
	fd = accept(lfd, NULL, NULL);
	snprintf(buf, sizeof(buf), "SSH-2.0-OpenSSH_9.2\r\n");
	CHECK(write(fd, buf, strlen(buf)) > 0);
	while (
	    (r = trigger_send_step(s, 100 * MS, NULL, err, sizeof(err))) == 0)
		;
	CHECK(r == -1 && errno == EPROTO);
	CHECK(strcmp(trigger_send_phase(s), "waiting for the challenge") == 0);
	trigger_send_close(s);
	close(fd);
	close(lfd);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_right_key();
	test_wrong_key();
	test_junk();
	test_silent();
	test_replay();
	test_challenge_per_connection();
	test_signals();
	test_sender_errors();
	test_deadline();
	if (failures > 0) {
		fprintf(stderr, "test_trigger: %d failures\n", failures);
		return 1;
	}
	fprintf(stderr, "test_trigger: all passed\n");
	return 0;
}
