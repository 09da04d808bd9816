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
#include "escape.h"
#include "nsview.h"

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
	int nonl; /* -n: no trailing newline */
	int raw;  /* -E: no escapes */
	const char *id;
	WORD_LIST *words; /* MESSAGE, or NULL: standard input */
};

/*
 * This process's PID without a syscall on the hot path: cached in a page
 * the kernel zeroes in a child at fork (MADV_WIPEONFORK), so a subshell
 * never takes its parent's PID for its own.
 */
static pid_t *wr_pidpage;
static int wr_pidmode; /* 0 untried, 1 page, -1 unsupported */

static pid_t
wr_self(void)
{
	void *p;

	if (wr_pidmode == 0) {
		wr_pidmode = -1;
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED && madvise(p, 4096, MADV_WIPEONFORK) == 0) {
			wr_pidpage = p;
			wr_pidmode = 1;
		} else if (p != MAP_FAILED) {
			munmap(p, 4096);
		}
	}
	if (wr_pidmode == -1)
		return getpid();
	if (*wr_pidpage == 0)
		*wr_pidpage = getpid();
	return *wr_pidpage;
}

/* 0 while r takes writes; else -1 after one line on stderr. */
static int
wr_check(const struct ring *r, const char *id)
{
	if (!ring_alive(r)) {
		builtin_error("%s: binding closed", id);
		return -1;
	}
	if (__atomic_load_n(&r->h->state, __ATOMIC_SEQ_CST) == RING_ENDED) {
		builtin_error("%s: connection closed", id);
		return -1;
	}
	return 0;
}

/*
 * Takes the writer lock of r, waiting while another live writer holds it.
 * 0, or -1 after a message: the binding closed meanwhile, or this very
 * process holds it (a trap writing to the binding its interrupted write
 * holds).
 */
static int
wr_lock(struct ring *r, const char *id)
{
	for (;;) {
		if (wr_check(r, id) == -1)
			return -1;
		if (ring_wlock_try(r, wr_self()) == 0) {
			/* Pairs with the helper's store of RING_CLOSED. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			return 0;
		}
		if (errno == EDEADLK) {
			builtin_error("%s: a write to it is in progress", id);
			return -1;
		}
		ring_wlock_wait(r, BS_SLICE);
		bs_check_signals();
	}
}

static void
wr_unlock(void *r)
{
	ring_wunlock(r, wr_self());
}

static void
wr_free(void *p)
{
	free(p);
}

/* Free space in r, waiting while it is full; 0 after a message when the
 * binding closed or its connection did, or its header is corrupt. */
static size_t
wr_room(struct ring *r, const char *id)
{
	uint32_t seq;
	size_t fre;

	for (;;) {
		if (wr_check(r, id) == -1)
			return 0;
		seq = ring_rseq(r);
		/* With the writer lock held head stands still and tail
		 * only grows: more free than cap means a header written by
		 * someone else, and copying that much would overrun. */
		if ((fre = ring_free(r)) > r->cap) {
			builtin_error("%s: binding corrupt", id);
			return 0;
		}
		if (fre > 0)
			return fre;
		ring_wait_space(r, seq, BS_SLICE);
		bs_check_signals();
	}
}

/* Appends n bytes, publishing as room appears. 0, or -1 after a message. */
static int
wr_put(struct ring *r, const char *id, const char *buf, size_t n)
{
	size_t k;

	while (n > 0) {
		if ((k = wr_room(r, id)) == 0)
			return -1;
		if (k > n)
			k = n;
		ring_put(r, 0, buf, k);
		ring_publish(r, k);
		buf += k;
		n -= k;
	}
	return 0;
}

/* Copies standard input into r until end of file, reading straight into
 * the ring's free space. 0, or -1 after a message. */
static int
wr_stdin(struct ring *r, const char *id)
{
	struct iovec iov[2];
	char *p1, *p2;
	size_t fre;
	ssize_t n;
	int cnt;

	for (;;) {
		if ((fre = wr_room(r, id)) == 0)
			return -1;
		cnt = ring_spans(
		    r, 0, fre, &p1, &iov[0].iov_len, &p2, &iov[1].iov_len);
		iov[0].iov_base = p1;
		iov[1].iov_base = p2;
		if ((n = readv(STDIN_FILENO, iov, cnt)) > 0) {
			ring_publish(r, (size_t)n);
		} else if (n == 0) {
			return 0;
		} else if (errno == EINTR) {
			bs_check_signals();
		} else {
			builtin_error(
			    "%s: standard input: %s", id, strerror(errno));
			return -1;
		}
	}
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

static int
wr_socket(struct ring *r, const struct wr_opts *o)
{
	char stackbuf[WR_STACK], *buf = stackbuf;
	size_t len = 0, n = 0;
	int rc = EXECUTION_FAILURE, stop = 0;
	WORD_LIST *w;

	if (o->words != NULL) {
		for (w = o->words; w != NULL; w = w->next)
			len += strlen(w->word->word) + 1;
		if (len > sizeof(stackbuf) && (buf = malloc(len)) == NULL) {
			builtin_error("%s: out of memory", o->id);
			return EXECUTION_FAILURE;
		}
		n = wr_join(o->words, buf);
		if (!o->raw)
			n = escape_expand(buf, n, buf, &stop);
		if (!o->nonl && !stop)
			buf[n++] = '\n';
	}
	/* Ctrl-C may longjmp out of any wait: the unwind frame releases the
	 * lock and the buffer, and keeps r mapped meanwhile (a trap run while
	 * waiting may refresh the namespace view). */
	begin_unwind_frame("bashsock-write");
	unwind_protect_int(nsv_busy);
	nsv_busy++;
	if (buf != stackbuf)
		add_unwind_protect(wr_free, buf);
	if (wr_lock(r, o->id) == 0) {
		add_unwind_protect(wr_unlock, r);
		if ((o->words != NULL ? wr_put(r, o->id, buf, n)
				      : wr_stdin(r, o->id)) == 0)
			rc = EXECUTION_SUCCESS;
	}
	/* Frees buf too (wr_free above), which the analyzer cannot see. */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	run_unwind_frame("bashsock-write");
	return rc;
}

/* 1 for a word of socket-form options only: -n, -E, -nE, ... */
static int
wr_is_opt(const char *p)
{
	if (p[0] != '-' || p[1] == '\0')
		return 0;
	for (p++; *p != '\0'; p++)
		if (*p != 'n' && *p != 'E')
			return 0;
	return 1;
}

/* What the call's ID names. */
enum wr_kind {
	WR_NONE, /* no binding at all (or no ID) */
	WR_OUT,	 /* a live output binding: the socket form */
	WR_IN,	 /* a live input binding */
	WR_DEAD	 /* a binding closed, closing or stale */
};

/* Finds the call's ID (*id, NULL when there is none) and what it names;
 * *r is set for WR_OUT. No syscall while the namespace is unchanged. */
static enum wr_kind
wr_target(WORD_LIST *list, const char **id, struct ring **r)
{
	struct nsview *v;

	*id = NULL;
	while (list != NULL && wr_is_opt(list->word->word))
		list = list->next;
	if (list != NULL && strcmp(list->word->word, "--") == 0)
		list = list->next;
	if (list == NULL)
		return WR_NONE;
	*id = list->word->word;
	if ((v = nsv_get(bs_ns(), 0)) == NULL)
		return WR_NONE;
	if ((*r = nsv_find(v, *id, 0)) != NULL)
		return (*r)->h->kind == RING_OUT ? WR_OUT : WR_IN;
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
	int opt;

	memset(o, 0, sizeof(*o));
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "nE")) != -1) {
		switch (opt) {
		case 'n':
			o->nonl = 1;
			break;
		case 'E':
			o->raw = 1;
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
	int e, n;

	restore_original_signals();
	if (job_control)
		default_tty_job_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, export_env);
	if ((e = errno) == ENOEXEC) {
		/* No #! line: a shell script, as bash runs one. */
		for (n = 0; argv[n] != NULL; n++)
			;
		if ((shv = malloc((size_t)(n + 2) * sizeof(*shv))) != NULL) {
			shv[0] = "sh";
			shv[1] = path;
			memcpy(shv + 2, argv + 1, (size_t)n * sizeof(*shv));
			execve("/bin/sh", shv, export_env);
		}
	}
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
	sigset_t all, waiting, old;
	pid_t pid, got;
	int st = 0, e;

	maybe_make_export_env();
	fflush(stdout);
	fflush(stderr);
	sigfillset(&all);
	/* No handler of the shell may run in the child before the reset. */
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0)
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
		if (wr_parse(list, &o) == -1)
			return BS_USAGE;
		return wr_socket(r, &o);
	case WR_IN:
		builtin_error("%s: not an output binding", id);
		return EXECUTION_FAILURE;
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
    "Send a message through a bashsock output binding.",
    "",
    "Socket form: write [-n] [-E] ID [MESSAGE ...]",
    "It applies when ID names a live output binding (see bind-output).",
    "Queues the MESSAGE words, joined by single spaces, with backslash",
    "escapes interpreted as `echo -e' does, and a newline. With no",
    "MESSAGE, copies standard input until end of file, byte for byte.",
    "Returns once the bytes are queued; waits while the buffer is full.",
    "Messages of concurrent writers never interleave.",
    "",
    "Options:",
    "  -n   no trailing newline",
    "  -E   no escape interpretation",
    "",
    "When ID names an input binding, or one that is closed or stale:",
    "exit 1 with one line. When it names no binding at all but a user",
    "logged in on this machine, the system's write command, found in",
    "PATH, runs with the same arguments; otherwise exit 1 with",
    "`ID: no live output binding'.",
    "",
    "Exit Status:",
    "Socket form: 0 once queued; 1 if the connection or the binding is",
    "closed, or its file is corrupt; 2 for a usage error; >128 interrupted",
    "by a signal. For a logged-in user, the status of the write command.",
    NULL,
};

BS_EXPORT struct builtin write_struct = {
    "write",
    bs_write_builtin,
    BUILTIN_ENABLED,
    write_doc,
    "write [-n] [-E] ID [MESSAGE ...]",
    0,
};
