/*
 * read: bash's read, plus the socket form
 *   read [-l] [-b COUNT] [-w SECS] [-v VAR] ID
 * Every call that is not the socket form goes to bash's own read_builtin
 * unchanged; deciding that costs no syscall.
 */
#include "bs.h"
#include "nsview.h"
#include "parse.h"

/* bash's own read, exported by the shell. */
extern int read_builtin(WORD_LIST *);

/* Our synopsis of read, and bash's own for its usage errors (saved by
 * read_builtin_load). */
static const char rd_short_doc[] =
    "read [-ers] [-a array] [-d delim] [-i text] [-n nchars] [-N nchars] "
    "[-p prompt] [-t timeout] [-u fd] [name ...] | "
    "read [-l] [-b COUNT] [-w SECS] [-v VAR] ID";
static const char *rd_bash_usage;

/* The take buffer, kept across calls (a line read must not malloc). */
static char *rd_buf;
static size_t rd_bufsz;

/* An option letter: RD_OPT_SOCKET (-l -b -w -v), RD_OPT_ARG (one of bash's
 * read options that take an argument), or 0. A switch, not strchr: it runs
 * on every plain read. */
enum { RD_OPT_SOCKET = 1, RD_OPT_ARG };

static int
rd_opt_kind(char c)
{
	switch (c) {
	case 'l':
	case 'b':
	case 'w':
	case 'v':
		return RD_OPT_SOCKET;
	case 'a':
	case 'd':
	case 'i':
	case 'n':
	case 'N':
	case 'p':
	case 't':
	case 'u':
		return RD_OPT_ARG;
	default:
		return 0;
	}
}

/*
 * 1 when the call names a socket option (-l -b -w -v) before its first
 * operand; bash's options that take an argument are skipped with it.
 */
static int
rd_has_socket_opt(WORD_LIST *l)
{
	const char *p;
	int k;

	for (; l != NULL; l = l->next) {
		p = l->word->word;
		if (p[0] != '-' || p[1] == '\0' ||
		    (p[1] == '-' && p[2] == '\0'))
			return 0;
		for (p++; *p != '\0'; p++) {
			if ((k = rd_opt_kind(*p)) == RD_OPT_SOCKET)
				return 1;
			if (k == RD_OPT_ARG) {
				if (p[1] == '\0' && l->next != NULL)
					l = l->next;
				break;
			}
		}
	}
	return 0;
}

static int
rd_grow(size_t n)
{
	char *b;

	if (n <= rd_bufsz)
		return 0;
	if ((b = malloc(n)) == NULL)
		return -1;
	free(rd_buf);
	rd_buf = b;
	rd_bufsz = n;
	return 0;
}

struct rd_opts {
	int line;
	size_t max;
	int64_t wait;
	char *var;
	const char *id;
};

static int
rd_parse(WORD_LIST *list, struct rd_opts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->max = (size_t)-1;
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "lb:w:v:")) != -1) {
		switch (opt) {
		case 'l':
			o->line = 1;
			break;
		case 'b':
			if (parse_count(list_optarg, &o->max) == -1) {
				builtin_error(
				    "-b: %s: invalid count", list_optarg);
				return -1;
			}
			break;
		case 'w':
			if (bs_secs(list_optarg, 'w', &o->wait) == -1)
				return -1;
			break;
		case 'v':
			o->var = list_optarg;
			if (bs_var_ok(o->var) == -1) {
				sh_invalidid(o->var);
				return -1;
			}
			break;
		case GETOPT_HELP:
			/* CASE_HELPOPT would return EX_USAGE, not our -1. */
			builtin_help();
			return -1;
		default:
			return -1; /* internal_getopt said why */
		}
	}
	if (loptend == NULL || loptend->next != NULL) {
		builtin_usage();
		return -1;
	}
	o->id = loptend->word->word;
	return 0;
}

/* Delivers n taken bytes (a line loses its newline). */
static int
rd_deliver(const struct rd_opts *o, size_t n)
{
	if (o->line && n > 0 && rd_buf[n - 1] == '\n')
		n--;
	return bs_emit(o->var, rd_buf, n);
}

/* Nothing within the wait: status 1, VAR set to empty. */
static int
rd_nothing(const struct rd_opts *o, int status)
{
	if (o->var != NULL)
		bs_setvar(o->var, "");
	return status;
}

/* The binding's header breaks the ring's invariant: one line, status 1
 * (VAR set to empty), as for nothing read. */
static int
rd_corrupt(const struct rd_opts *o)
{
	builtin_error("%s: binding corrupt", o->id);
	return rd_nothing(o, EXECUTION_FAILURE);
}

static int
rd_socket(struct ring *r, const struct rd_opts *o)
{
	int64_t deadline = helper_now() + o->wait, left;
	int flags = o->line ? RING_TAKE_LINE : 0;
	uint32_t seq, state;
	size_t want, n;

	for (;;) {
		seq = ring_wseq(r);
		state = __atomic_load_n(&r->h->state, __ATOMIC_ACQUIRE);
		if (state != RING_LIVE || !ring_alive(r))
			flags |= RING_TAKE_PARTIAL; /* nothing more will come */
		if ((want = ring_used(r)) > 0) {
			/* A header written by someone else (the file is the
			 * user's own) must not make us spin, deaf to Ctrl-C. */
			if (want > r->cap && ring_corrupt(r))
				return rd_corrupt(o);
			/* One more than is buffered, unless -b says less: with
			 * -l, ring_take reads "max bytes without a newline" as
			 * a -b cut and would take a line not yet whole. */
			want = want < o->max ? want + 1 : o->max;
			if (rd_grow(want) == -1) {
				builtin_error("%s: out of memory", o->id);
				return EXECUTION_FAILURE;
			}
			if ((n = ring_take(r, rd_buf, want, flags)) ==
			    RING_TAKE_CORRUPT)
				return rd_corrupt(o);
			if (n > 0)
				return rd_deliver(o, n);
		}
		if (flags & RING_TAKE_PARTIAL) {
			if (ring_used(r) > 0)
				continue; /* the producer's last bytes */
			if (state == RING_ENDED) {
				__atomic_store_n(
				    &r->h->end_seen, 1, __ATOMIC_RELEASE);
				ring_futex_wake(&r->h->end_seen, 1);
			}
			return rd_nothing(o, BS_ENDED);
		}
		if ((left = bs_left(deadline)) == 0)
			return rd_nothing(o, EXECUTION_FAILURE);
		ring_wait_data(r, seq, left < BS_SLICE ? left : BS_SLICE);
		bs_check_signals();
	}
}

static int
rd_socket_form(WORD_LIST *list)
{
	struct rd_opts o;
	struct nsview *v;
	struct ring *r;
	int rc;

	if (rd_parse(list, &o) == -1)
		return BS_USAGE;
	if ((v = nsv_get(bs_ns(), 1)) == NULL) {
		builtin_error(
		    "%s: namespace %s: %s", o.id, bs_ns(), strerror(errno));
		return BS_USAGE;
	}
	if ((r = nsv_find(v, o.id, RING_IN)) == NULL) {
		builtin_error("%s: no live input binding", o.id);
		return BS_USAGE;
	}
	/* Keep r mapped even if a trap run while waiting refreshes the view;
	 * the unwind frame restores the count after a longjmp (Ctrl-C). */
	begin_unwind_frame("bashsock-read");
	unwind_protect_int(nsv_busy);
	nsv_busy++;
	rc = rd_socket(r, &o);
	run_unwind_frame("bashsock-read");
	if (rd_bufsz > 4 * 1024 * 1024) {
		free(rd_buf);
		rd_buf = NULL;
		rd_bufsz = 0;
	}
	return rc;
}

static int
bs_read_builtin(WORD_LIST *list)
{
	struct nsview *v;
	struct builtin *cur;
	sh_builtin_func_t *saved;
	int rc;

	if (list != NULL) {
		if (rd_has_socket_opt(list))
			return rd_socket_form(list);
		/* Exactly `read ID' with ID a live input binding. */
		if (list->next == NULL && list->word->word[0] != '-' &&
		    (v = nsv_get(bs_ns(), 0)) != NULL &&
		    nsv_find(v, list->word->word, RING_IN) != NULL)
			return rd_socket_form(list);
	}
	/* bash's own read; this_shell_builtin tells it who runs (read -s
	 * restores the terminal on SIGTERM only when it matches). */
	saved = this_shell_builtin;
	this_shell_builtin = read_builtin;
	/* builtin_usage() prints current_builtin->short_doc: bash's own
	 * line for bash's read (after a longjmp it stays until the next
	 * call; only `help -s read' would show it). */
	if ((cur = current_builtin) != NULL && cur->function != bs_read_builtin)
		cur = NULL;
	if (cur != NULL && rd_bash_usage != NULL)
		cur->short_doc = rd_bash_usage;
	rc = read_builtin(list);
	if (cur != NULL)
		cur->short_doc = rd_short_doc;
	this_shell_builtin = saved;
	return rc;
}

static char *read_socket_doc[] = {
    "Read from a bashsock input binding, or from a file descriptor.",
    "",
    "Socket form: read [-l] [-b COUNT] [-w SECS] [-v VAR] ID",
    "It applies when one of -l -b -w -v is given, or the call is exactly",
    "`read ID' and ID names a live input binding. Without -l, returns",
    "everything buffered now and removes it from the buffer.",
    "",
    "  -l        one line, without its newline",
    "  -b COUNT  at most COUNT bytes",
    "  -w SECS   wait up to SECS (fractions allowed) for data, or for a",
    "            whole line with -l; default 0, do not wait",
    "  -v VAR    assign to VAR instead of writing to standard output",
    "",
    "Socket form exit status: 0 data returned; 1 nothing within the wait;",
    "3 the stream has ended; 2 usage error; >128 interrupted by a signal;",
    "1 with a message when the binding's file is corrupt.",
    "",
    "Every other call is bash's own read:",
    "",
    NULL,
};

static char **read_doc = read_socket_doc;

BS_EXPORT struct builtin read_struct = {
    "read",
    bs_read_builtin,
    BUILTIN_ENABLED,
    read_socket_doc,
    rd_short_doc,
    0,
};

BS_EXPORT int read_builtin_load(char *name);

/* Appends bash's own documentation of read to ours (the load hook runs
 * before bash copies this struct over the original entry). */
BS_EXPORT int
read_builtin_load(char *name)
{
	char *const *orig = NULL;
	size_t n0, n1 = 0, i;
	char **doc;
	int b;

	(void)name;
	for (b = 0; b < num_shell_builtins; b++) {
		if (strcmp(shell_builtins[b].name, "read") == 0) {
			orig = shell_builtins[b].long_doc;
			if (shell_builtins[b].short_doc != rd_short_doc)
				rd_bash_usage = shell_builtins[b].short_doc;
			break;
		}
	}
	if (orig == NULL || orig == read_struct.long_doc ||
	    orig[0] == read_socket_doc[0])
		return 1;
	for (n0 = 0; read_socket_doc[n0] != NULL; n0++)
		;
	while (orig[n1] != NULL)
		n1++;
	if ((doc = malloc((n0 + n1 + 1) * sizeof(*doc))) == NULL)
		return 1;
	for (i = 0; i < n0; i++)
		doc[i] = read_socket_doc[i];
	for (i = 0; i < n1; i++)
		doc[n0 + i] = orig[i];
	doc[n0 + n1] = NULL;
	read_doc = doc;
	read_struct.long_doc = read_doc;
	return 1;
}
