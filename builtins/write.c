/*
 * write: the socket form
 *   write [-n] [-E] ID [MESSAGE ...]
 * when ID names a live output binding (decided without a syscall). When ID
 * names another binding (an input, or one closed or stale): exit 1 with
 * one line. When it names no binding at all but a user logged in here
 * (utmp), the system's write command found in PATH runs, as bash would
 * have run it without this builtin; else exit 1 with one line.
 */
#include "bs.h"
#include "chan.h"
#include "escape.h"
#include "nsview.h"
#include "parse.h"
#include "rt.h"

#include "jobs.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <utmpx.h>

/* Exported by bash; declared in findcmd.h, which is not installed. */
extern char *search_for_command(const char *, int);
extern int executable_file(const char *);
#define WR_CMDSRCH_HASH 0x1
/* Exported by bash (trap.c, jobs.c); trap.h is not installed. What bash's
 * own child does before it runs a command. */
extern void restore_original_signals(void);
extern void default_tty_job_signals(void);

#define WR_STACK 4096 /* messages up to this size need no malloc */

struct wr_opts {
	int nonl;	 /* -n: no trailing newline */
	int raw;	 /* -E: no escapes */
	int shut;	 /* -d: end our sending side after the message */
	uint32_t client; /* -c N: to client N of an input binding */
	const char *id;
	WORD_LIST *words; /* MESSAGE, or NULL: standard input */
};

/* What a write holds, for its unwind: the binding's lock, and client N's
 * for a reply (a Ctrl-C may come while a record holds both). */
struct wr_locked {
	struct ring *tx;
	uint32_t client;
};
static struct wr_locked wr_locked;

static void
wr_unlock(void *arg)
{
	struct wr_locked *l = arg;

	chan_unlock(l->tx, rt_self());
	if (l->client != 0)
		chan_unlock_client(l->tx, l->client, rt_self());
}

static void
wr_free(void *p)
{
	free(p);
}

/* One line on stderr for what a chan call came to; the exit status. */
static int
wr_status(const struct wr_opts *o, int rc)
{
	switch (rc) {
	case CHAN_OK:
		return EXECUTION_SUCCESS;
	case CHAN_CLOSED:
		builtin_error("%s: binding closed", o->id);
		break;
	case CHAN_CONN:
		builtin_error("%s: connection closed", o->id);
		break;
	case CHAN_SHUT:
		builtin_error("%s: sending side closed (write -d)", o->id);
		break;
	case CHAN_GONE:
		builtin_error("%s: client %u is gone", o->id, o->client);
		break;
	case CHAN_NOCLIENT:
		builtin_error("%s: no client connected", o->id);
		break;
	case CHAN_BUSY:
		builtin_error("%s: a write to it is in progress", o->id);
		break;
	case CHAN_CORRUPT:
		builtin_error("%s: binding corrupt", o->id);
		break;
	case CHAN_NOMEM:
		builtin_error("%s: out of memory", o->id);
		break;
	default:
		builtin_error("%s: standard input: %s", o->id, strerror(errno));
		break;
	}
	return EXECUTION_FAILURE;
}

/* The MESSAGE words joined by single spaces into buf; returns the length.
 * buf needs the sum of the words' lengths plus one per word. */
static size_t
wr_join(WORD_LIST *w, char *buf)
{
	size_t n = 0, k;

	for (; w != NULL; w = w->next) {
		k = strlen(w->word->word);
		memcpy(buf + n, w->word->word, k);
		n += k;
		if (w->next != NULL)
			buf[n++] = ' ';
	}
	return n;
}

/*
 * Which peer the write goes to: an output binding's, or client N of an
 * input binding (-c N; a -1 binding's one client without it). Returns -1
 * when the call is refused (a message said why, *status set).
 */
static int
wr_whom(struct ring *tx, struct wr_opts *o, int *status)
{
	int rc;

	*status = BS_USAGE;
	if (conv_of(tx) == NULL) {
		if (o->client == 0)
			return 0;
		builtin_error("%s: -c: not an input binding", o->id);
		return -1;
	}
	if (o->shut) {
		builtin_error("%s: -d: not an output binding", o->id);
		return -1;
	}
	if (o->client == 0 && !chan_is_one(tx)) {
		builtin_error("%s: an input binding takes -c N", o->id);
		return -1;
	}
	rc = o->client == 0 ? chan_one(tx, &o->client)
			    : chan_client(tx, o->client, NULL, NULL);
	if (rc == CHAN_OK)
		return 0;
	*status = wr_status(o, rc);
	return -1;
}

/*
 * write to the binding whose rx ring is rx: the words (escapes expanded
 * unless -E, newline unless -n or \c) or stdin, to the peer wr_whom picks,
 * under the tx writer lock (one writer at a time, released on Ctrl-C by
 * the unwind frame); -d then shuts the sending side. The status of
 * wr_status: 0 once all is queued in tx, else one line on stderr.
 */
static int
wr_socket(struct ring *rx, struct wr_opts *o)
{
	struct ring tx;
	char stackbuf[WR_STACK], *buf = stackbuf;
	size_t len = 0, n = 0;
	int rc, stop = 0;
	WORD_LIST *w;

	ring_view(rx, RING_TX, &tx);
	if (wr_whom(&tx, o, &rc) == -1)
		return rc;
	if (o->words != NULL) {
		for (w = o->words; w != NULL; w = w->next)
			len += strlen(w->word->word) + 1;
		if (len > sizeof(stackbuf) && (buf = malloc(len)) == NULL)
			return wr_status(o, CHAN_NOMEM);
		n = wr_join(o->words, buf);
		if (!o->raw)
			n = escape_expand(buf, n, buf, &stop);
		if (!o->nonl && !stop)
			buf[n++] = '\n';
	}
	/* Ctrl-C may longjmp out of any wait: the unwind frame releases the
	 * lock and the buffer, and keeps the binding mapped meanwhile (a trap
	 * run while waiting may refresh the namespace view). */
	begin_unwind_frame("bashsock-write");
	nsv_hold();
	add_unwind_protect(nsv_release, NULL);
	if (buf != stackbuf)
		add_unwind_protect(wr_free, buf);
	/* A reply to client N holds N's lock for the whole message and the
	 * binding's only per record; a write to a peer, the binding's. */
	wr_locked.tx = &tx;
	wr_locked.client = o->client;
	rc = o->client != 0
		 ? chan_lock_client(&tx, o->client, rt_self(), bs_check_signals)
		 : chan_lock(&tx, rt_self(), bs_check_signals);
	if (rc == CHAN_OK) {
		add_unwind_protect(wr_unlock, &wr_locked);
		if (o->words != NULL)
			rc = chan_write(&tx, o->client, buf, n, rt_self(),
			    bs_check_signals);
		else if (!o->shut)
			rc = chan_write_fd(&tx, o->client, STDIN_FILENO,
			    rt_self(), bs_check_signals);
		if (rc == CHAN_OK && o->shut)
			chan_shut(&tx);
	}
	/* Frees buf too (wr_free above), which the analyzer cannot see. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	run_unwind_frame("bashsock-write");
	return wr_status(o, rc);
}

/* 1 for a word of socket-form options only: -n, -E, -d, -nE, ...; with
 * -c last and no number after it, *arg says the next word is its N. */
static int
wr_is_opt(const char *p, int *arg)
{
	*arg = 0;
	if (p[0] != '-' || p[1] == '\0')
		return 0;
	for (p++; *p != '\0'; p++) {
		if (*p == 'c') {
			*arg = p[1] == '\0';
			return 1;
		}
		if (*p != 'n' && *p != 'E' && *p != 'd')
			return 0;
	}
	return 1;
}

/* What the call's ID names. */
enum wr_kind {
	WR_NONE, /* no binding at all (or no ID) */
	WR_OUT,	 /* a live output binding: the socket form */
	WR_IN,	 /* a live input binding: the socket form (-c N, or -1) */
	WR_DEAD	 /* a binding closed, closing or stale */
};

/* Finds the call's ID (*id, NULL when there is none) and what it names;
 * *r is set for WR_OUT. No syscall while the namespace is unchanged. */
static enum wr_kind
wr_target(WORD_LIST *list, const char **id, struct ring **r)
{
	struct nsview *v;
	int arg;

	*id = NULL;
	while (list != NULL && wr_is_opt(list->word->word, &arg)) {
		list = list->next;
		if (arg && list != NULL)
			list = list->next;
	}
	if (list != NULL && strcmp(list->word->word, "--") == 0)
		list = list->next;
	if (list == NULL)
		return WR_NONE;
	*id = list->word->word;
	if ((v = nsv_get(bs_ns(), 0)) == NULL)
		return WR_NONE;
	if ((*r = nsv_find(v, *id, 0)) != NULL)
		return conv_of(*r) == NULL ? WR_OUT : WR_IN;
	return nsv_has(v, *id) ? WR_DEAD : WR_NONE;
}

/* 1 when name is a user logged in on this machine (utmp). */
static int
wr_logged_in(const char *name)
{
	struct utmpx *u;
	int found = 0;

	if (strlen(name) > sizeof(u->ut_user))
		return 0;
	setutxent();
	while (!found && (u = getutxent()) != NULL)
		found = u->ut_type == USER_PROCESS &&
			strncmp(u->ut_user, name, sizeof(u->ut_user)) == 0;
	endutxent();
	return found;
}

static int
wr_parse(WORD_LIST *list, struct wr_opts *o)
{
	size_t n;
	int opt;

	memset(o, 0, sizeof(*o));
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "nEdc:")) != -1) {
		switch (opt) {
		case 'n':
			o->nonl = 1;
			break;
		case 'E':
			o->raw = 1;
			break;
		case 'd':
			o->shut = 1;
			break;
		case 'c':
			if (parse_count(list_optarg, &n) == -1 || n == 0 ||
			    n > UINT32_MAX) {
				builtin_error("-c: %s: invalid client number",
				    list_optarg);
				return -1;
			}
			o->client = (uint32_t)n;
			break;
		case GETOPT_HELP:
			/* CASE_HELPOPT would return EX_USAGE, not our -1. */
			builtin_help();
			return -1;
		default:
			return -1; /* internal_getopt said why */
		}
	}
	if (loptend == NULL) {
		builtin_usage();
		return -1;
	}
	o->id = loptend->word->word;
	o->words = loptend->next;
	return 0;
}

/* In the child: the signals as bash's own child sets them (what the shell
 * was started with, so ignored signals and `trap ''' stay ignored; traps
 * and the shell's own handlers go; job-control stops at their defaults),
 * none blocked, then the command with the shell's exported environment.
 * Never returns. */
static void
wr_exec(char *path, char **argv)
{
	sigset_t none;
	char **shv;
	int e;

	restore_original_signals();
	if (job_control)
		default_tty_job_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, export_env);
	/* No #! line: a shell script, as bash runs one. */
	if ((e = errno) == ENOEXEC &&
	    (shv = helper_sh_argv(path, argv)) != NULL)
		execve("/bin/sh", shv, export_env);
	builtin_error("%s: %s", path, strerror(e));
	fflush(stderr);
	_exit(e == ENOENT ? 127 : 126);
}

/* argv for the system's write: "write" and the words as given. */
static char **
wr_argv(WORD_LIST *list)
{
	WORD_LIST *w;
	char **argv;
	size_t n = 1;

	for (w = list; w != NULL; w = w->next)
		n++;
	if ((argv = malloc((n + 1) * sizeof(*argv))) == NULL)
		return NULL;
	argv[0] = "write";
	for (n = 1, w = list; w != NULL; w = w->next)
		argv[n++] = w->word->word;
	argv[n] = NULL;
	return argv;
}

/*
 * Forks and waits for the command. SIGCHLD stays blocked from before the
 * fork until the child is reaped, or bash's handler would reap it first.
 * Returns the exit status as bash reports it (128+N for a signal).
 */
static int
wr_run(char *path, char **argv)
{
	sigset_t waiting, old;
	pid_t pid, got;
	int st = 0, e;

	maybe_make_export_env();
	/* No handler of the shell may run in the child before the reset. */
	if ((pid = helper_fork(&old)) == 0)
		wr_exec(path, argv);
	e = errno;
	waiting = old;
	sigaddset(&waiting, SIGCHLD);
	sigprocmask(SIG_SETMASK, &waiting, NULL);
	if (pid == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		builtin_error("%s: cannot fork: %s", path, strerror(e));
		return EXECUTION_FAILURE;
	}
	/* A Ctrl-C reached the child too: wait for it before bash acts. */
	while ((got = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (got == -1) {
		builtin_error("%s: wait: %s", path, strerror(e));
		return EXECUTION_FAILURE;
	}
	if (WIFSIGNALED(st)) {
		if (WTERMSIG(st) != SIGINT)
			CLRINTERRUPT;
		return 128 + WTERMSIG(st);
	}
	CLRINTERRUPT; /* the child handled the interrupt: so do we */
	return WEXITSTATUS(st);
}

/* ID names no binding: the system's write with the same arguments when
 * ID is a user logged in here and there is one in PATH; else exit 1. */
static int
wr_system(WORD_LIST *list, const char *id)
{
	char *path = NULL, **argv;
	int rc;

	if (!wr_logged_in(id) ||
	    (path = search_for_command("write", WR_CMDSRCH_HASH)) == NULL ||
	    !executable_file(path)) {
		free(path);
		builtin_error("%s: no live output binding", id);
		return EXECUTION_FAILURE;
	}
	if ((argv = wr_argv(list)) == NULL) {
		free(path);
		builtin_error("out of memory");
		return EXECUTION_FAILURE;
	}
	rc = wr_run(path, argv);
	free(argv);
	free(path);
	bs_check_signals();
	return rc;
}

static int
bs_write_builtin(WORD_LIST *list)
{
	struct wr_opts o;
	struct ring *r = NULL;
	const char *id;

	if (list != NULL && strcmp(list->word->word, "--help") == 0) {
		builtin_help();
		return EX_USAGE;
	}
	/* One line and status 1 for every binding that takes no write, so a
	 * script's loop of writes to a dead binding fails visibly, and never
	 * turns into the system's write. */
	switch (wr_target(list, &id, &r)) {
	case WR_OUT:
	case WR_IN:
		if (wr_parse(list, &o) == -1)
			return BS_USAGE;
		return wr_socket(r, &o);
	case WR_DEAD:
		builtin_error("%s: binding closed", id);
		return EXECUTION_FAILURE;
	default:
		if (id == NULL) {
			builtin_usage();
			return BS_USAGE;
		}
		return wr_system(list, id);
	}
}

static char *write_doc[] = {
    "Send a message through a bashsock binding.\n    ",
    "Socket form: write [-n] [-E] [-d] [-c N] ID [MESSAGE ...]",
    "It applies when ID names a live binding. To an output binding, the",
    "bytes go to its peer; to an input binding, to client N (-c N, as",
    "`read -c' names it), or to the one client of a -1 binding.",
    "Queues the MESSAGE words, joined by single spaces, with backslash",
    "escapes interpreted as `echo -e' does, and a newline. With no",
    "MESSAGE, copies standard input until end of file, byte for byte.",
    "Returns once the bytes are queued; waits while the buffer (or client",
    "N's queue) is full. Messages of concurrent writers never interleave.",
    "",
    "Options:",
    "  -n    no trailing newline",
    "  -E    no escape interpretation",
    "  -d    output bindings: after the message (if any; standard input is",
    "        not read then), end our sending side once everything queued",
    "        is sent (TCP half-close); the binding stays readable",
    "  -c N  input bindings: to client N",
    "",
    "When ID names a binding that is closed or stale: exit 1 with one",
    "line. When it names no binding at all but a user",
    "logged in on this machine, the system's write command, found in",
    "PATH, runs with the same arguments; otherwise exit 1 with",
    "`ID: no live output binding'.",
    "",
    "Exit Status:",
    "Socket form: 0 once queued; 1 if the connection, the sending side,",
    "client N or the binding is closed, or its file is corrupt; 2 for a",
    "usage error; >128 interrupted by a signal.",
    "When ID names no binding: for a user logged in on this machine, the",
    "status of the write command; else 1 with one line.",
    NULL,
};

BS_EXPORT struct builtin write_struct = {
    "write",
    bs_write_builtin,
    BUILTIN_ENABLED,
    write_doc,
    "write [-n] [-E] [-d] [-c N] ID [MESSAGE ...]",
    0,
};
