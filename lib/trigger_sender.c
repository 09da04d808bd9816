/* trigger-send's side: the connect and the handshake it proves
 * (trigger.h). */
#include "trigger.h"
#include "trigger_int.h"
#include "clock.h"
#include "auth.h"
#include "helper.h"
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum tsend_state {
	TS_CONNECT,   /* connect in progress (or next address to try) */
	TS_CHALLENGE, /* reading the challenge */
	TS_ANSWER,    /* proof sent (or going): reading the answer */
	TS_DONE,
};

struct trigger_sender {
	int fd;
	enum tsend_state state;
	struct addrinfo *res, *ai; /* ai: the address tried now */
	int lasterr;		   /* of the last address that failed */
	char *key;
	size_t keylen;
	struct auth_proof proof;
	struct line_in in;
	struct line_out out;
};

struct trigger_sender *
trigger_send_open(const char *host, int port, const char *key, size_t keylen,
    char *err, size_t errlen)
{
	struct trigger_sender *s;
	char why[NET_ERR];
	int e;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->key = trigger_keydup(key, keylen)) == NULL) {
		e = errno;
		trigger_seterr(
		    err, errlen, NULL, e == EINVAL ? "bad key" : strerror(e));
		free(s);
		errno = e;
		return NULL;
	}
	s->fd = -1;
	s->keylen = keylen;
	s->lasterr = ECONNREFUSED;
	if (net_resolve(host, port, &s->res, why, sizeof(why)) == -1) {
		trigger_seterr(err, errlen, "unknown host", why);
		trigger_send_close(s);
		errno = ENOENT;
		return NULL;
	}
	s->ai = s->res;
	return s;
}

/* Starts connecting to the next address that takes it. 0, or -1 with the
 * errno of the last failure when none is left. */
static int
ts_connect_next(struct trigger_sender *s)
{
	struct addrinfo *ai;
	int fd;

	for (; (ai = s->ai) != NULL; s->ai = ai->ai_next) {
		if ((fd = net_connect_start(ai)) == -1) {
			s->lasterr = errno;
			continue;
		}
		trigger_nodelay(fd);
		s->fd = fd;
		s->state = TS_CONNECT;
		/* While the waiter wakes and sends its challenge. */
		auth_warm();
		return 0;
	}
	errno = s->lasterr;
	return -1;
}

/* The connect in progress finished: 0 connected, or 0 with fd -1 and the
 * next address to try; -1 with errno when the last address failed. */
static int
ts_connected(struct trigger_sender *s)
{
	int soerr = 0;

	if (net_connect_result(s->fd) == -1)
		soerr = errno;
	if (soerr == 0) {
		s->state = TS_CHALLENGE;
		s->in.len = 0;
		return 0;
	}
	close(s->fd);
	s->fd = -1;
	s->lasterr = soerr;
	s->ai = s->ai->ai_next;
	if (s->ai != NULL)
		return 0;
	errno = soerr;
	return -1;
}

/* A line from the waiter is in: the challenge (answered with the proof)
 * or the answer. 1 when accepted, 0 to go on, -1 with errno and err. */
static int
ts_line(struct trigger_sender *s, char *err, size_t errlen)
{
	char line[AUTH_LINE_MAX];

	if (s->state == TS_ANSWER) {
		if (auth_proof_check(&s->proof, s->in.buf, err, errlen) == -1)
			return -1;
		s->state = TS_DONE;
		return 1;
	}
	if (auth_proof_new(&s->proof, s->key, s->keylen, TRIGGER_PURPOSE,
		s->in.buf, line, sizeof(line), err, errlen) == -1)
		return -1;
	s->state = TS_ANSWER;
	s->in.len = 0;
	(void)line_out_set(&s->out, line);
	explicit_bzero(line, sizeof(line));
	if (line_out_flush(s->fd, &s->out) == -1) {
		trigger_seterr(
		    err, errlen, "sending the proof", strerror(errno));
		return -1;
	}
	return 0;
}

/* The socket is ready in the handshake: as trigger_send_step. */
static int
ts_io(struct trigger_sender *s, char *err, size_t errlen)
{
	const char *what;
	int r, e;

	if (s->out.off < s->out.len) {
		if (line_out_flush(s->fd, &s->out) == -1) {
			what = "sending the proof";
			goto fail;
		}
		return 0;
	}
	what = s->state == TS_CHALLENGE ? "reading the challenge"
					: "reading the answer";
	if ((r = line_in_fill(s->fd, &s->in)) == -1)
		goto fail;
	return r == 1 ? ts_line(s, err, errlen) : 0;
fail:
	e = errno;
	trigger_seterr(err, errlen, what,
	    e == ECONNRESET ? "connection closed"
	    : e == EPROTO   ? "not a trigger-wait"
			    : strerror(e));
	errno = e;
	return -1;
}

int
trigger_send_step(struct trigger_sender *s, int64_t timeout_ns,
    trigger_pending_fn pending, char *err, size_t errlen)
{
	struct pollfd pfd;
	int e;

	if (s->state == TS_DONE)
		return 1;
	if (s->fd == -1 && ts_connect_next(s) == -1)
		goto connfail;
	pfd.fd = s->fd;
	pfd.events = (s->state == TS_CONNECT || s->out.off < s->out.len)
			 ? POLLOUT
			 : POLLIN;
	if (trigger_poll(&pfd, 1, timeout_ns, pending) == -1) {
		e = errno;
		trigger_seterr(err, errlen, "waiting", strerror(e));
		errno = e;
		return -1;
	}
	if (pfd.revents == 0)
		return 0;
	if (s->state != TS_CONNECT)
		return ts_io(s, err, errlen);
	if (ts_connected(s) == -1)
		goto connfail;
	return 0;
connfail:
	e = errno;
	trigger_seterr(err, errlen, "connecting", strerror(e));
	errno = e;
	return -1;
}

const char *
trigger_send_phase(const struct trigger_sender *s)
{
	switch (s->state) {
	case TS_CONNECT:
		return "connecting";
	case TS_CHALLENGE:
		return "waiting for the challenge";
	case TS_ANSWER:
		return "waiting for the answer";
	default:
		return "done";
	}
}

void
trigger_send_close(struct trigger_sender *s)
{
	int e = errno;

	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	if (s->res != NULL)
		freeaddrinfo(s->res);
	if (s->key != NULL) {
		explicit_bzero(s->key, s->keylen);
		free(s->key);
	}
	explicit_bzero(s, sizeof(*s));
	free(s);
	errno = e;
}
