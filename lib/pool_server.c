/* pool_server: the pool side, in the pool helper. */
#include "bind.h"
#include "clock.h"
#include "helper.h"
#include "helper_argv.h"
#include "input.h"
#include "line.h"
#include "net.h"
#include "parse.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_BATCH 32 /* requests whose helpers start together */

/* One daemon binding, a child of the pool helper. */
struct pool_bind {
	pid_t pid;
	int attached;	   /* its client came (or the wait is over) */
	int64_t attach_by; /* else it is closed then */
	struct binding b;  /* mapped until attached */
};

enum pool_cstate { PC_FREE = 0, PC_AUTH, PC_SESSION };

/* One connection on the pool port. */
struct pool_conn {
	int fd;
	enum pool_cstate state;
	int64_t deadline; /* whole handshake, then each request */
	unsigned nreq;	  /* DAEMON requests so far: the next one's number */
	size_t len;
	struct auth_challenge ch;
	char peer[NET_ERR];
	char buf[4 * AUTH_LINE_MAX]; /* lines may come several at once */
};

struct pool_server {
	const struct pool_opts *o;
	int msgfd, lfd, gone;
	unsigned bound; /* daemons bound so far, against o->max */
	unsigned nconn;
	struct pool_conn conn[POOL_CONN_MAX];
	struct pool_bind *bind; /* live daemon bindings */
	size_t nbind, capbind;
	sigset_t waitmask; /* the mask to wait with: our signals open */
};

/* Sends line without waiting (a peer that does not read our few short
 * lines misbehaves). 0 or -1. */
static int
pool_send(struct pool_conn *c, const char *line)
{
	return line_write(c->fd, line, clock_now());
}

static void
pool_conn_drop(struct pool_server *s, struct pool_conn *c)
{
	if (c->state == PC_FREE)
		return;
	close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->nconn--;
}

/* Stops listening: after END, or when stopping. Handshakes in progress
 * go; sessions already authenticated may finish. */
static void
pool_unlisten(struct pool_server *s)
{
	int i;

	if (s->lfd == -1)
		return;
	close(s->lfd);
	s->lfd = -1;
	for (i = 0; i < POOL_CONN_MAX; i++)
		if (s->conn[i].state == PC_AUTH)
			pool_conn_drop(s, &s->conn[i]);
}

static void
pool_accept(struct pool_server *s)
{
	char line[AUTH_LINE_MAX];
	struct pool_conn *c = NULL;
	int fd, i;

	while (s->nconn < POOL_CONN_MAX && (fd = net_accept(s->lfd)) != -1) {
		/* nconn < POOL_CONN_MAX: one slot is free. */
		for (i = 0; c == NULL || c->state != PC_FREE; i++)
			c = &s->conn[i];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->state = PC_AUTH;
		c->deadline = clock_now() + POOL_AUTH_WAIT;
		s->nconn++;
		net_addr_str(fd, 1, c->peer, sizeof(c->peer));
		if (auth_challenge_new(
			&c->ch, POOL_PURPOSE, line, sizeof(line)) == -1 ||
		    pool_send(c, line) == -1)
			pool_conn_drop(s, c);
	}
}

/* Room for n more bindings in s->bind. 0 or -1. */
static int
pool_bind_room(struct pool_server *s, size_t n)
{
	struct pool_bind *nb;
	size_t cap;

	if (s->nbind + n <= s->capbind)
		return 0;
	cap = s->capbind * 2 + n + 16;
	if ((nb = realloc(s->bind, cap * sizeof(*nb))) == NULL)
		return -1;
	s->bind = nb;
	s->capbind = cap;
	return 0;
}

/* One DAEMON request of a batch. */
struct pool_req {
	const char *name; /* in the connection's buffer */
	unsigned seq;	  /* its number in the session */
	int rfd;	  /* its helper's report pipe, or -1: reply is set */
	pid_t pid;
	char reply[AUTH_LINE_MAX];
};

/* Refuses r for reason. */
static void
pool_refuse(struct pool_req *r, const char *reason)
{
	pool_encode(r->reply, sizeof(r->reply), POOL_REFUSED, reason, 0);
}

/*
 * envp (NULL: environ) with "POOL_PROOF_ENV=mac" in place of any such
 * entry: the binding helper's environment. The array is malloc'd, its
 * last string is var (POOL_PROOF_ENV + AUTH_HEX + 2 bytes). NULL/ENOMEM.
 */
static char **
pool_proof_env(char *const *envp, const char *mac, char *var, size_t len)
{
	const size_t vlen = sizeof(POOL_PROOF_ENV) - 1;
	size_t n = 0, k = 0;
	char **e;

	if (envp == NULL)
		envp = environ;
	while (envp[n] != NULL)
		n++;
	if ((e = calloc(n + 2, sizeof(*e))) == NULL)
		return NULL;
	for (n = 0; envp[n] != NULL; n++)
		if (strncmp(envp[n], POOL_PROOF_ENV, vlen) != 0 ||
		    envp[n][vlen] != '=')
			e[k++] = envp[n];
	snprintf(var, len, "%s=%s", POOL_PROOF_ENV, mac);
	e[k] = var;
	return e;
}

/*
 * First half of a request: checks the name and the count, and forks the
 * binding's helper (a -1 input helper on a free port, holding its
 * connections to the request's proof) without waiting for it, so a batch
 * of helpers starts at once.
 */
static void
pool_req_start(struct pool_server *s, struct pool_conn *c, struct pool_req *r,
    size_t inflight)
{
	struct input_opts io;
	struct helper_argv a;
	char shown[80], mac[AUTH_HEX + 1];
	char var[sizeof(POOL_PROOF_ENV) + AUTH_HEX + 1];
	char **env;

	r->rfd = -1;
	if (parse_id(r->name) == -1) {
		pool_printable(shown, sizeof(shown), r->name);
		pool_say(s->msgfd, 'E', "%s: not a valid name, refused", shown);
		pool_refuse(r, "invalid");
		return;
	}
	if (s->bound >= s->o->max) {
		pool_say(s->msgfd, 'E', "%s: more than %u daemons, refused",
		    r->name, s->o->max);
		pool_refuse(r, "full");
		return;
	}
	if (pool_bind_room(s, inflight + 1) == -1) {
		pool_say(s->msgfd, 'E', "%s: out of memory, refused", r->name);
		pool_refuse(r, "error");
		return;
	}
	if (auth_attach_mac(s->o->key, s->o->keylen, c->ch.hex, r->seq, r->name,
		mac) == -1 ||
	    (env = pool_proof_env(s->o->envp, mac, var, sizeof(var))) == NULL) {
		pool_say(s->msgfd, 'E', "%s: cannot compute its proof, refused",
		    r->name);
		pool_refuse(r, "error");
		return;
	}
	memset(&io, 0, sizeof(io));
	io.ns = s->o->ns;
	io.id = r->name;
	io.addr = s->o->addr;
	io.port = 0;
	io.cap = POOL_RING_SIZE;
	io.one = 1;
	io.proof = mac;
	helper_argv_input(&io, &a);
	r->pid =
	    helper_spawn(input_main, &io, "bashsock-in", a.argv, env, &r->rfd);
	explicit_bzero(var, sizeof(var));
	free(env);
	if (r->pid == -1) {
		r->rfd = -1;
		pool_say(s->msgfd, 'E', "%s: cannot start helper: %s, refused",
		    r->name, strerror(errno));
		pool_refuse(r, "error");
		return;
	}
	s->bound++;
}

/* Second half: the helper's report, and the answer. */
static void
pool_req_finish(struct pool_server *s, struct pool_req *r)
{
	struct helper_report rep;
	struct pool_bind *pb;
	int port, rc;

	if (r->rfd == -1)
		return;
	/* Our signals are blocked here: no EINTR, the report comes fast. */
	rc = helper_report_read(r->rfd, &rep);
	close(r->rfd);
	r->rfd = -1;
	if (rc == -1 || rep.status != 0) {
		s->bound--;
		waitpid(r->pid, NULL, 0);
		if (rc == -1) {
			pool_say(s->msgfd, 'E',
			    "%s: helper died before it was ready, refused",
			    r->name);
			pool_refuse(r, "error");
		} else if (rep.err == EEXIST) {
			pool_say(s->msgfd, 'E',
			    "%s: name taken by a live binding, refused",
			    r->name);
			pool_refuse(r, "taken");
		} else {
			pool_say(s->msgfd, 'E', "%s, refused", rep.msg);
			pool_refuse(r, "error");
		}
		return;
	}
	port = atoi(rep.msg);
	pb = &s->bind[s->nbind++];
	memset(pb, 0, sizeof(*pb));
	pb->pid = r->pid;
	pb->attach_by = clock_now() + POOL_ATTACH_WAIT;
	if (bind_open(&pb->b, s->o->ns, r->name) == -1)
		pb->attached = 1; /* gone already: the reaper will see */
	pool_say(s->msgfd, 'O', "%s %d %ld", r->name, port, (long)r->pid);
	pool_encode(r->reply, sizeof(r->reply), POOL_PORT, NULL, port);
}

/* Finishes the batch and answers it, in order. 0, or -1 when c was
 * dropped. */
static int
pool_batch_flush(
    struct pool_server *s, struct pool_conn *c, struct pool_req *req, size_t *n)
{
	size_t i, k = *n;
	int rc = 0;

	if (k == 0)
		return 0;
	*n = 0;
	for (i = 0; i < k; i++)
		pool_req_finish(s, &req[i]);
	for (i = 0; i < k && rc == 0; i++)
		if (pool_send(c, req[i].reply) == -1)
			rc = -1;
	if (rc == -1) {
		pool_conn_drop(s, c);
		return -1;
	}
	c->deadline = clock_now() + POOL_IDLE_WAIT;
	return 0;
}

/* The proof line of a handshake. 0, or -1 when c was dropped. */
static int
pool_auth_line(struct pool_server *s, struct pool_conn *c, const char *line)
{
	char reply[AUTH_LINE_MAX];
	int rc, e;

	rc = auth_challenge_check(
	    &c->ch, s->o->key, s->o->keylen, line, reply, sizeof(reply));
	e = errno;
	if (reply[0] != '\0' && pool_send(c, reply) == -1)
		rc = -1;
	if (rc == -1) {
		if (e == EACCES)
			pool_say(s->msgfd, 'E',
			    "master at %s: wrong key, refused", c->peer);
		pool_conn_drop(s, c);
		return -1;
	}
	c->state = PC_SESSION;
	c->deadline = clock_now() + POOL_IDLE_WAIT;
	return 0;
}

/* END: BYE, and the pool stops listening. Always -1: c is dropped. */
static int
pool_end(struct pool_server *s, struct pool_conn *c)
{
	char reply[AUTH_LINE_MAX];

	pool_encode(reply, sizeof(reply), POOL_BYE, NULL, 0);
	pool_send(c, reply);
	pool_conn_drop(s, c);
	pool_unlisten(s);
	return -1;
}

/*
 * Handles c's whole lines from off on: the handshake's, then requests.
 * Consecutive DAEMON requests (a master may send several ahead) form a
 * batch whose helpers start together. Returns the offset past the last
 * line handled, or -1 when c was dropped.
 */
static ssize_t
pool_conn_lines(struct pool_server *s, struct pool_conn *c)
{
	struct pool_req req[POOL_BATCH];
	struct pool_msg m;
	size_t n = 0, off = 0, k;
	char *line;

	while ((line = line_take(c->buf, c->len, &off, &k)) != NULL) {
		/* Not a line of ours: too long, or a NUL byte in it. */
		if (k >= AUTH_LINE_MAX || strlen(line) != k)
			goto drop;
		if (c->state == PC_AUTH) {
			if (pool_auth_line(s, c, line) == -1)
				return -1;
			continue;
		}
		if (pool_decode(line, &m) == -1 ||
		    (m.verb != POOL_DAEMON && m.verb != POOL_END)) {
			pool_say(s->msgfd, 'E',
			    "master at %s: protocol error, dropped", c->peer);
			goto drop;
		}
		if (m.verb == POOL_END) {
			if (pool_batch_flush(s, c, req, &n) == -1)
				return -1;
			return pool_end(s, c);
		}
		req[n].name = line + (sizeof(POOL_VERSION " DAEMON ") - 1);
		req[n].seq = c->nreq++;
		pool_req_start(s, c, &req[n], n);
		n++;
		if (n == POOL_BATCH && pool_batch_flush(s, c, req, &n) == -1)
			return -1;
	}
	if (pool_batch_flush(s, c, req, &n) == -1)
		return -1;
	return (ssize_t)off;
drop:
	pool_batch_flush(s, c, req, &n);
	pool_conn_drop(s, c);
	return -1;
}

/* Reads what c sent and handles its whole lines. */
static void
pool_conn_read(struct pool_server *s, struct pool_conn *c)
{
	ssize_t n, off;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->state == PC_SESSION)
			pool_say(s->msgfd, 'E', "master at %s: gone before END",
			    c->peer);
		pool_conn_drop(s, c);
		return;
	}
	c->len += (size_t)n;
	if ((off = pool_conn_lines(s, c)) == -1)
		return;
	line_drop(c->buf, &c->len, (size_t)off);
	if (c->len >= AUTH_LINE_MAX)
		pool_conn_drop(s, c); /* longer than a line may be */
}

/* Reaps ended bindings. */
static void
pool_reap(struct pool_server *s)
{
	size_t i;
	pid_t pid;

	pool_child = 0;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (i = 0; i < s->nbind; i++) {
			if (s->bind[i].pid != pid)
				continue;
			if (!s->bind[i].attached)
				bind_close(&s->bind[i].b);
			s->bind[i] = s->bind[--s->nbind];
			break;
		}
	}
}

/* Closes a binding whose daemon never connected. */
static void
pool_attach_check(struct pool_server *s, int64_t now)
{
	struct pool_bind *pb;
	size_t i;

	for (i = 0; i < s->nbind; i++) {
		pb = &s->bind[i];
		if (pb->attached)
			continue;
		if (__atomic_load_n(&pb->b.ring.h->clients, __ATOMIC_ACQUIRE) >
			0 ||
		    __atomic_load_n(&pb->b.ring.h->state, __ATOMIC_ACQUIRE) !=
			RING_LIVE) {
			pb->attached = 1;
		} else if (now >= pb->attach_by) {
			pool_say(s->msgfd, 'E',
			    "%s: no daemon connected in time, closed",
			    pb->b.id);
			kill(pb->pid, SIGTERM);
			pb->attached = 1;
		} else {
			continue;
		}
		bind_close(&pb->b);
	}
}

/* Drops connections whose time is up. */
static void
pool_expire(struct pool_server *s, int64_t now)
{
	struct pool_conn *c;
	int i;

	for (i = 0; i < POOL_CONN_MAX; i++) {
		c = &s->conn[i];
		if (c->state == PC_FREE || now < c->deadline)
			continue;
		if (c->state == PC_SESSION)
			pool_say(s->msgfd, 'E',
			    "master at %s: silent too long, dropped", c->peer);
		pool_conn_drop(s, c);
	}
}

/* How long the next wait may last, in ms. */
static int
pool_timeout(const struct pool_server *s, int64_t now)
{
	int64_t t = POOL_SEC, left;
	size_t i;
	int k;

	for (k = 0; k < POOL_CONN_MAX; k++) {
		if (s->conn[k].state == PC_FREE)
			continue;
		left = s->conn[k].deadline - now;
		if (left < t)
			t = left;
	}
	for (i = 0; i < s->nbind; i++)
		if (!s->bind[i].attached && t > POOL_SEC / 5)
			t = POOL_SEC / 5;
	return clock_ms(t);
}

/* Waits for the next event and handles it. */
static void
pool_server_step(struct pool_server *s)
{
	struct pollfd pfd[2 + POOL_CONN_MAX];
	struct pool_conn *who[2 + POOL_CONN_MAX];
	struct timespec ts;
	nfds_t n = 0, i;
	int k;

	pfd[n].fd = s->msgfd;
	pfd[n].events = 0; /* POLLERR: the shell is gone */
	who[n++] = NULL;
	if (s->lfd != -1 && s->nconn < POOL_CONN_MAX) {
		pfd[n].fd = s->lfd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
	}
	for (k = 0; k < POOL_CONN_MAX; k++) {
		if (s->conn[k].state == PC_FREE)
			continue;
		pfd[n].fd = s->conn[k].fd;
		pfd[n].events = POLLIN;
		who[n++] = &s->conn[k];
	}
	ts = clock_ts(pool_timeout(s, clock_now()) * 1000000LL);
	if (pool_stop || pool_child || ppoll(pfd, n, &ts, &s->waitmask) <= 0)
		return;
	if (pfd[0].revents != 0) {
		s->gone = 1;
		return;
	}
	for (i = 1; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (who[i] == NULL)
			pool_accept(s);
		else if (who[i]->state != PC_FREE && who[i]->fd == pfd[i].fd)
			pool_conn_read(s, who[i]);
	}
}

/* Stopping: every binding gets TERM, then KILL after POOL_STOP_WAIT. */
static void
pool_server_close(struct pool_server *s)
{
	struct timespec ts = {0, 50000000};
	int64_t deadline;
	size_t i;
	int k;

	pool_unlisten(s);
	for (k = 0; k < POOL_CONN_MAX; k++)
		pool_conn_drop(s, &s->conn[k]);
	for (i = 0; i < s->nbind; i++)
		kill(s->bind[i].pid, SIGTERM);
	deadline = clock_now() + POOL_STOP_WAIT;
	while (pool_reap(s), s->nbind > 0 && clock_now() < deadline)
		if (!pool_child)
			ppoll(NULL, 0, &ts, &s->waitmask);
	for (i = 0; i < s->nbind; i++) {
		kill(s->bind[i].pid, SIGKILL);
		waitpid(s->bind[i].pid, NULL, 0);
		if (!s->bind[i].attached)
			bind_close(&s->bind[i].b);
	}
	s->nbind = 0;
}

int
pool_server_main(void *arg, int msgfd)
{
	const struct pool_opts *o = arg;
	struct pool_server s;
	char err[NET_ERR];
	int k;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.msgfd = msgfd;
	for (k = 0; k < POOL_CONN_MAX; k++)
		s.conn[k].fd = -1;
	clock_stop_block(&s.waitmask); /* blocked already (pool_sigset) */
	sigdelset(&s.waitmask, SIGCHLD);

	s.lfd = net_listen(o->addr, o->port, 64, err, sizeof(err));
	if (s.lfd == -1) {
		pool_say(msgfd, 'E', "%s port %d: %s",
		    o->addr != NULL ? o->addr : "*", o->port, err);
		return 1;
	}
	while (!pool_stop && !s.gone &&
	       (s.lfd != -1 || s.nconn > 0 || s.nbind > 0)) {
		pool_server_step(&s);
		pool_reap(&s);
		if (pool_stop || s.gone)
			break;
		pool_expire(&s, clock_now());
		pool_attach_check(&s, clock_now());
	}
	if (pool_stop || s.gone) {
		pool_server_close(&s);
		free(s.bind);
		return pool_stop ? 128 + pool_stop : 1;
	}
	free(s.bind);
	return 0;
}
