/*
 * read: bash's read, plus the socket form
 *   read [-l] [-b COUNT] [-w SECS] [-v VAR] ID
 * Every call that is not the socket form goes to bash's own read_builtin
 * unchanged; deciding that costs no syscall.
 */
#include "bs.h"
#include "chan.h"
#include "nsview.h"
#include "parse.h"
#include "rt.h"

/* bash's own read, exported by the shell. */
extern int read_builtin(WORD_LIST *);

/* Our synopsis of read, and bash's own for its usage errors (saved by
 * read_builtin_load). */
static const char rd_short_doc[] =
    "read [-ers] [-a array] [-d delim] [-i text] [-n nchars] [-N nchars] "
    "[-p prompt] [-t timeout] [-u fd] [name ...] | "
    "read [-l] [-b COUNT] [-w SECS] [-v VAR] [-c VAR] ID";
static const char *rd_bash_usage;

/* The take buffer, kept across calls (a line read must not malloc). */
static struct chan_buf rd_buf;

/* An option letter: RD_OPT_SOCKET (-l -b -w -v -c), RD_OPT_ARG (one of bash's
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
	case 'c':
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

/* What the option scan found: bash's read, the socket form, or --help. */
enum { RD_BASH = 0, RD_SOCKET, RD_HELP };

/*
 * RD_SOCKET when the call names a socket option (-l -b -w -v -c) before its
 * first operand; bash's options that take an argument are skipped with it.
 * RD_HELP for --help in an option's place, where bash's read prints its
 * help (`read -r --help' too). Any other word starting with "--" is "--"
 * or an option bash's read rejects with its own usage line: bash's.
 */
static int
rd_scan(WORD_LIST *l)
{
	const char *p;
	int k;

	for (; l != NULL; l = l->next) {
		p = l->word->word;
		if (p[0] != '-' || p[1] == '\0')
			return RD_BASH;
		if (p[1] == '-')
			return strcmp(p, "--help") == 0 ? RD_HELP : RD_BASH;
		for (p++; *p != '\0'; p++) {
			if ((k = rd_opt_kind(*p)) == RD_OPT_SOCKET)
				return RD_SOCKET;
			if (k == RD_OPT_ARG) {
				if (p[1] == '\0' && l->next != NULL)
					l = l->next;
				break;
			}
		}
	}
	return RD_BASH;
}

struct rd_opts {
	int line;
	size_t max;
	int64_t wait;
	char *var;
	char *cvar; /* -c: one client's data, (N ADDR PORT) into cvar */
	const char *id;
};

static int
rd_parse(WORD_LIST *list, struct rd_opts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->max = (size_t)-1;
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "lb:w:v:c:")) != -1) {
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
		case 'c':
			o->cvar = list_optarg;
			if (!legal_identifier(o->cvar)) {
				sh_invalidid(o->cvar);
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
	if (o->line && n > 0 && rd_buf.p[n - 1] == '\n')
		n--;
	return bs_emit(o->var, rd_buf.p, n);
}

/* Nothing within the wait: status 1, VAR set to empty. */
static int
rd_nothing(const struct rd_opts *o, int status)
{
	if (o->var != NULL)
		bs_setvar(o->var, "");
	return status;
}

/* -c: (N ADDR PORT) of the client the bytes came from, into cvar. */
static int
rd_client(const struct rd_opts *o, struct ring *r, uint32_t n)
{
	char num[16], port[16], addr[CONV_ADDR];
	char *val[3] = {num, addr, port};
	uint32_t p = 0;

	addr[0] = '\0';
	chan_client(r, n, addr, &p);
	snprintf(num, sizeof(num), "%u", n);
	snprintf(port, sizeof(port), "%u", p);
	return bs_setarray(o->cvar, val, 3);
}

static int
rd_socket(struct ring *r, const struct rd_opts *o)
{
	struct chan_rd rq;
	uint32_t client = 0;
	size_t n = 0;

	rq.max = o->max;
	rq.line = o->line;
	rq.by_client = o->cvar != NULL;
	rq.deadline = helper_now() + o->wait;
	rq.tick = bs_check_signals;
	switch (chan_read(r, &rq, &rd_buf, &n, &client)) {
	case CHAN_OK:
		if (o->cvar != NULL && rd_client(o, r, client) == -1)
			return EXECUTION_FAILURE;
		return rd_deliver(o, n);
	case CHAN_EMPTY:
		return rd_nothing(o, EXECUTION_FAILURE);
	case CHAN_ENDED:
		return rd_nothing(o, BS_ENDED);
	case CHAN_NOMEM:
		builtin_error("%s: out of memory", o->id);
		return EXECUTION_FAILURE;
	default:
		builtin_error("%s: binding corrupt", o->id);
		return EXECUTION_FAILURE;
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
		    "%s: namespace %s: %s", o.id, bs_ns(), rt_strerror(errno));
		return BS_USAGE;
	}
	if ((r = nsv_find(v, o.id, 0)) == NULL) {
		builtin_error("%s: no live binding", o.id);
		return BS_USAGE;
	}
	if (o.cvar != NULL && conv_of(r) == NULL) {
		builtin_error("%s: -c: not an input binding", o.id);
		return BS_USAGE;
	}
	/* Keep r mapped even if a trap run while waiting refreshes the view;
	 * the unwind frame restores the count after a longjmp (Ctrl-C). */
	begin_unwind_frame("bashsock-read");
	nsv_hold();
	add_unwind_protect(nsv_release, NULL);
	rc = rd_socket(r, &o);
	run_unwind_frame("bashsock-read");
	if (rd_buf.cap > 4 * 1024 * 1024) {
		free(rd_buf.p);
		rd_buf.p = NULL;
		rd_buf.cap = 0;
	}
	return rc;
}

static int bs_read_builtin(WORD_LIST *);

/* The builtin table entry of bash's own read, saved by read_builtin_load
 * when it replaces it and put back by read_builtin_unload. */
static struct builtin rd_orig;

/*
 * `enable -d read' puts bash's own read back. bash looks the entry up,
 * calls the unload hook, then deletes that entry; the hook cannot keep it,
 * but it can insert bash's own entry right after it, which needs a free
 * slot in the table (bash sizes it exactly). So read runs from a copy of
 * the table with one spare slot: made on the first call after any change
 * of the table (bash reallocates it for every enable -f of a new builtin
 * and every enable -d), which costs a pointer compare per call.
 */
static struct builtin *rd_table;
static int rd_table_cap; /* entries rd_table has room for */

static void
rd_spare_slot(void)
{
	struct builtin *t, *old = shell_builtins;
	int n = num_shell_builtins;

	/* n entries, bash's NULL terminator, the spare. */
	if ((t = malloc((size_t)(n + 2) * sizeof(*t))) == NULL)
		return;
	memcpy(t, old, (size_t)(n + 1) * sizeof(*t));
	memset(&t[n + 1], 0, sizeof(*t));
	if (current_builtin >= old && current_builtin < old + n)
		current_builtin = t + (current_builtin - old);
	shell_builtins = t;
	if (old != static_shell_builtins)
		free(old);
	rd_table = t;
	rd_table_cap = n + 2;
}

#if defined(HISTORY) && defined(READLINE)
static void
rd_pop_scope(void *arg)
{
	(void)arg;
	pop_scope(0);
}
#endif

/*
 * bash's own read. As bash's execute_builtin() does for read_builtin (it
 * compares the function pointer, which here is the override's): the
 * command's temporary environment (`x=pre' in `x=pre read x') becomes a
 * scope of its own, dropped afterwards, so what read assigns to such a
 * variable goes with it. Unwound on a longjmp (Ctrl-C) as bash's is.
 */
static int
rd_bash_read(WORD_LIST *list)
{
	struct builtin *cur;
	sh_builtin_func_t *saved;
	int rc, scoped = 0;

#if defined(HISTORY) && defined(READLINE)
	if (temporary_env != NULL) {
		begin_unwind_frame("bashsock-read-env");
		push_scope(VC_BLTNENV, temporary_env);
		temporary_env = NULL;
		add_unwind_protect(rd_pop_scope, NULL);
		scoped = 1;
	}
#endif
	/* this_shell_builtin tells it who runs (read -s restores the
	 * terminal on SIGTERM only when it matches). */
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
	if (scoped)
		run_unwind_frame("bashsock-read-env");
	return rc;
}

/* A bare `read NAME' may be the socket form, unless BASHSOCK_BARE_READ=0
 * (a hash lookup in bash's variables, temporary environment included). */
static int
rd_bare_allowed(void)
{
	const char *s = get_string_value("BASHSOCK_BARE_READ");

	return s == NULL || strcmp(s, "0") != 0;
}

static int
bs_read_builtin(WORD_LIST *list)
{
	struct nsview *v;

	if (shell_builtins != rd_table)
		rd_spare_slot();
	switch (rd_scan(list)) {
	case RD_SOCKET:
		return rd_socket_form(list);
	case RD_HELP:
		builtin_help();
		return BS_USAGE;
	default:
		break;
	}
	/* Exactly `read ID' with ID a live input binding (the variable is
	 * looked at only then: a plain `read line' does not pay for it). */
	if (list != NULL && list->next == NULL && list->word->word[0] != '-' &&
	    (v = nsv_get(bs_ns(), 0)) != NULL &&
	    nsv_find(v, list->word->word, 0) != NULL && rd_bare_allowed())
		return rd_socket_form(list);
	return rd_bash_read(list);
}

/* One string, as bash's own documentation is: `help -d read' prints its
 * first line, newline included, and `help read' indents each line. */
static char rd_socket_doc[] =
    "Read from a bashsock binding, or from a file descriptor.\n"
    "    \n"
    "    Socket form: read [-l] [-b COUNT] [-w SECS] [-v VAR] [-c VAR] ID\n"
    "    It applies when one of -l -b -w -v -c is given, or the call is\n"
    "    exactly `read ID' and ID names a live binding (never with\n"
    "    BASHSOCK_BARE_READ=0). An input binding returns what its clients\n"
    "    sent, an output binding what its peer sent. Without -l, returns\n"
    "    everything buffered now and removes it from the buffer.\n"
    "    \n"
    "      -l        one line, without its newline\n"
    "      -b COUNT  at most COUNT bytes\n"
    "      -w SECS   wait up to SECS (fractions allowed) for data, or for\n"
    "                a whole line with -l; default 0, do not wait\n"
    "      -v VAR    assign to VAR instead of writing to standard output\n"
    "      -c VAR    input bindings: data of one client only; VAR is set\n"
    "                to the array (N ADDR PORT), N naming the client for\n"
    "                `write -c N' and `unbind -c N'\n"
    "    \n"
    "    Socket form exit status: 0 data returned; 1 nothing within the\n"
    "    wait; 3 the stream has ended (a -1 binding's client is gone, an\n"
    "    output binding's peer ended its side, or the binding closed) and\n"
    "    all was read; 2 usage error; >128 interrupted by a signal.\n"
    "    \n"
    "    Every other call is bash's own read:\n"
    "    ";

static char *read_socket_doc[] = {
    rd_socket_doc,
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
BS_EXPORT void read_builtin_unload(char *name);

/*
 * The load hook runs before bash copies this struct over the original
 * entry, which it can still read: it keeps that entry for unloading,
 * carries its flags (ARRAYREF_BUILTIN: `read A[$k]' under
 * assoc_expand_once; the rest as bash set them) and appends bash's own
 * documentation of read to ours.
 */
BS_EXPORT int
read_builtin_load(char *name)
{
	const struct builtin *o = NULL;
	char *const *orig;
	size_t n0, n1 = 0, i;
	char **doc;
	int b;

	(void)name;
	for (b = 0; b < num_shell_builtins; b++) {
		if (strcmp(shell_builtins[b].name, "read") == 0) {
			o = &shell_builtins[b];
			break;
		}
	}
	if (o == NULL || o->function == bs_read_builtin)
		return 1; /* loaded again: nothing to take over */
	if (o->function == read_builtin)
		rd_orig = *o; /* bash's own, for enable -d */
	read_struct.flags = BUILTIN_ENABLED |
			    (o->flags & ~(BUILTIN_ENABLED | BUILTIN_DELETED |
					    STATIC_BUILTIN | SPECIAL_BUILTIN));
	if (o->short_doc != rd_short_doc)
		rd_bash_usage = o->short_doc;
	if ((orig = o->long_doc) == NULL || orig[0] == rd_socket_doc)
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

/*
 * enable -d read: bash's own read goes in right after the entry bash is
 * about to delete (see rd_spare_slot), so `read' is bash's again. When the
 * table has no spare slot (read has not run since the last enable), say
 * so: the entry is deleted as bash always does.
 */
BS_EXPORT void
read_builtin_unload(char *name)
{
	struct builtin *b = builtin_address_internal("read", 1);
	const char *why = NULL;
	int i;

	(void)name;
	if (b == NULL || b->function != bs_read_builtin)
		return;
	if (rd_orig.function == NULL)
		why = "bash's read was not what it replaced";
	else if (shell_builtins != rd_table ||
		 num_shell_builtins + 2 > rd_table_cap)
		why = "no read ran since the last enable";
	if (why != NULL) {
		builtin_error("read: deleted, and bash's own read could not be "
			      "put back (%s): a new shell has it",
		    why);
		return;
	}
	i = (int)(b - shell_builtins);
	memmove(&shell_builtins[i + 2], &shell_builtins[i + 1],
	    (size_t)(num_shell_builtins - i) * sizeof(*b));
	shell_builtins[i + 1] = rd_orig;
	num_shell_builtins++;
	rd_table = NULL; /* bash frees it as it deletes our entry */
}
