/*
 * pool: the daemon pool. A master pushes daemons to a pool: for each one
 * the pool opens a one-client input binding on a free port, and the master
 * starts the daemon with its stdout connected straight to that port.
 * lib/pool.c has the protocol lines, lib/pool_link.c the helper both commands
 * run in and its message pipe,
 * lib/pool_server.c the pool side, lib/pool_master.c the master side.
 *
 * Control connection, after the auth handshake (auth.h, purpose "pool"):
 *
 *   master: POOL/1 DAEMON <name>       pool: POOL/1 PORT <port>
 *                                         or POOL/1 REFUSED <reason>
 *   master: POOL/1 END                 pool: POOL/1 BYE
 *
 * Lines as auth.h's (at most AUTH_LINE_MAX bytes, newline included). A
 * name is any bytes but NUL and newline, 1 to POOL_NAME_MAX of them; the
 * pool refuses those that are not IDs (parse.h) before anything touches
 * the file system. Reasons: invalid, taken, full, error. Answers come in
 * the order of the requests; a master may send several ahead.
 *
 * Data connections (contract v2, Security): the master connects to the
 * port of each PORT answer and, before any byte of the daemon, sends
 *
 *   master: BASHSOCK/1 ATTACH <64 hex: auth_attach_mac(key, challenge of
 *           this control session, number of the DAEMON request in the
 *           session from 0, daemon name)>
 *
 * then hands the socket to the daemon as its stdout. The key stays in the
 * master: the daemon gets a socket already proved. The binding's helper
 * (lib/input.c) holds every connection apart until its first line is that
 * one, read without a byte past its newline; anything else (another line,
 * a line of another session or request, silence for POOL_PROVE_WAIT, more
 * than POOL_ATTACH_LINE bytes) is dropped before a byte reaches the
 * buffer, and the binding goes on waiting for its daemon (POOL_ATTACH_WAIT
 * in all). The helper links no libcrypto: the pool computes the expected
 * MAC and hands it over, not the key, in the helper's environment
 * (POOL_PROOF_ENV, helper_argv.h says why there).
 *
 * Both commands run in a helper process forked from the shell
 * (pool_spawn): the shell may die at any instruction (a non-interactive
 * script killed by TERM runs no cleanup), and the helper, which holds
 * every socket, binding and daemon, notices the shell's end of its message
 * pipe closing and tears down what it opened. The helper talks to the
 * builtin over that pipe in lines: "O text" for stdout, "E text" for
 * stderr, "X status" last.
 */
#ifndef BASHSOCK_POOL_H
#define BASHSOCK_POOL_H

#include "auth.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POOL_VERSION "POOL/1"
#define POOL_PURPOSE "pool"
#define POOL_NAME_MAX 255    /* longest name on the wire */
#define POOL_REASON_MAX 32   /* longest refusal reason */
#define POOL_MAX_DEFAULT 256 /* daemons per pool (-m) */
#define POOL_MAX_LIMIT 4096  /* highest -m */
#define POOL_CONN_MAX 16     /* connections at once on the pool port */
#define POOL_MSG_MAX 1024    /* one helper-to-builtin message */
#define POOL_SEC 1000000000LL
#define POOL_AUTH_WAIT (10 * POOL_SEC)	 /* whole handshake */
#define POOL_LINE_WAIT (10 * POOL_SEC)	 /* master: each answer */
#define POOL_IDLE_WAIT (30 * POOL_SEC)	 /* pool: between requests */
#define POOL_ATTACH_WAIT (30 * POOL_SEC) /* pool: a daemon connects */
#define POOL_CONNECT_WAIT (10 * POOL_SEC)
#define POOL_STOP_WAIT (5 * POOL_SEC)  /* TERM, then KILL */
#define POOL_RING_SIZE (1024 * 1024)   /* each daemon binding's buffer */
#define POOL_PROVE_WAIT (5 * POOL_SEC) /* a data connection's proof line */
#define POOL_ATTACH_LINE 128 /* longest proof line, newline included */
#define POOL_PROOF_ENV "BASHSOCK_POOL_PROOF"

/* --- protocol --- */

enum pool_verb { POOL_DAEMON = 1, POOL_PORT, POOL_REFUSED, POOL_END, POOL_BYE };

struct pool_msg {
	enum pool_verb verb;
	int port;		     /* PORT */
	char arg[POOL_NAME_MAX + 1]; /* DAEMON: name; REFUSED: reason */
};

/* Formats a line (no newline) into buf (AUTH_LINE_MAX bytes). arg is the
 * name (DAEMON) or reason (REFUSED), port for PORT; others take neither.
 * 0, or -1 with EINVAL (bad name, reason, port or verb). */
int pool_encode(
    char *buf, size_t len, enum pool_verb verb, const char *arg, int port);
/* Parses a line (no newline). 0, or -1 with EPROTO. */
int pool_decode(const char *line, struct pool_msg *m);
/* Copies s into buf (len >= 1), printable ASCII kept, the rest as '?'. */
void pool_printable(char *buf, size_t len, const char *s);

/* --- data connections (lib/pool_attach.c: no libcrypto) --- */

/* Formats the ATTACH line (no newline) for mac (AUTH_HEX hex digits) into
 * buf (POOL_ATTACH_LINE bytes). 0, or -1 with EINVAL. */
int pool_proof_line(char *buf, size_t len, const char *mac);
/* 1 when s is exactly AUTH_HEX lowercase hex digits (an expected MAC). */
int pool_proof_mac_ok(const char *s);
/*
 * Checks a data connection's first line (len bytes, no newline; it may
 * hold NUL bytes) against the expected MAC want (AUTH_HEX lowercase hex
 * digits), in time independent of where they differ. 0 when it is the
 * ATTACH line carrying want; -1 with EPROTO (not an ATTACH line) or
 * EACCES (an ATTACH line with another MAC), or EINVAL (want malformed).
 */
int pool_proof_check(const char *line, size_t len, const char *want);

/* --- the helper and its message pipe --- */

/* Helper body: runs in the forked helper with the message pipe's write
 * end; returns the helper's exit status (also sent as "X status"). */
typedef int (*pool_fn)(void *arg, int msgfd);

struct pool_link {
	int fd;	   /* read end of the message pipe, -1 once closed */
	int pidfd; /* the helper, for signals free of PID reuse */
	pid_t pid;
	int status; /* from "X status" */
	size_t len;
	char buf[2 * POOL_MSG_MAX];
};

/*
 * Forks a helper running fn(arg, msgfd), named name in ps. The child has
 * every signal at its default except INT/HUP/TERM (stop), CHLD (caught)
 * and PIPE (ignored), /dev/null on 0 and 1, on 2 too unless keep_stderr,
 * no other descriptor of the shell, and its own session. Returns the PID
 * with *l ready, or -1 with errno.
 */
pid_t pool_spawn(pool_fn fn, void *arg, const char *name, int keep_stderr,
    struct pool_link *l);
/*
 * Waits up to timeout_ns for the next message. Returns its kind ('O', 'E'
 * or 'X', with the text in line), 0 when nothing came (timeout or EINTR),
 * or -1 when the pipe closed without an "X" (the helper died).
 */
int pool_link_next(
    struct pool_link *l, char *line, size_t len, int64_t timeout_ns);
/* Sends SIGTERM to the helper and waits up to wait_ns for it to finish,
 * discarding its messages; then closes the link. Safe to call twice. */
void pool_link_stop(struct pool_link *l, int64_t wait_ns);
/* Closes the link without waiting. */
void pool_link_close(struct pool_link *l);

/* Inside a helper (lib/pool*.c): its INT/HUP/TERM and CHLD are blocked
 * but while it waits (ppoll with them open), and their handlers set: */
extern volatile sig_atomic_t pool_stop;	 /* the stop signal once one came */
extern volatile sig_atomic_t pool_child; /* a child changed state */
/* Sends "kind text\n" to the builtin (a newline in text becomes '?').
 * Blocks while the pipe is full; gives up when the shell is gone. */
void pool_say(int fd, char kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 when the shell closed its end of the message pipe. */
int pool_shell_gone(int msgfd);

/* --- the pool --- */

struct pool_opts {
	const char *ns;
	const char *addr; /* NULL: every address */
	int port;
	const char *key;
	size_t keylen;
	unsigned max;
	char *const *envp; /* the bindings' helpers' environment (NULL: ours) */
};

/* pool_fn: listens, serves masters, binds daemons; returns 0 after END
 * once every binding has ended, 1 on a setup failure, 128+signal when
 * stopped. */
int pool_server_main(void *arg, int msgfd);

/* --- the master --- */

enum pool_kind { POOL_RUN, POOL_NOTEXEC, POOL_NOTREG };

struct pool_entry {
	char *name;
	enum pool_kind kind;
};

struct pool_dir {
	struct pool_entry *e;
	size_t n;
};

/* Lists dir (".", ".." aside) in strcmp order, sorting each entry as
 * executable regular file (symbolic links followed), not executable, or
 * not a regular file. 0, or -1 with errno. */
int pool_scan(const char *dir, struct pool_dir *d);
void pool_scan_free(struct pool_dir *d);

struct master_opts {
	const char *key;
	size_t keylen;
	const char *host;
	int port;
	const char *ddir;
	const struct pool_dir *dir;
	char *const *envp; /* the daemons' environment */
};

/* pool_fn: connects, asks for every POOL_RUN entry, starts the daemons,
 * waits for them; 0 when all ran and ended, 1 when any was refused or
 * failed to start (or the connection failed), 128+signal when stopped. */
int pool_master_main(void *arg, int msgfd);

#endif
