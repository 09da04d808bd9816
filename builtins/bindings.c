/* bindings: list the live bindings of the namespace (or of all). */
#include "bs.h"
#include "bind.h"
#include "chan.h"

#include <dirent.h>

struct bl_lines {
	char **line;
	size_t n, cap;
	const char *ns; /* prefix with the namespace (-a) */
};

static const char *
bl_state(const struct chan_info *i, char *buf, size_t len)
{
	static const char *conn[] = {"connecting", "connected", "down"};

	if (i->input) {
		if (i->ended)
			return "ended";
		snprintf(buf, len, "%u", i->clients);
		return buf;
	}
	return i->conn <= RING_DOWN ? conn[i->conn] : "?";
}

static void
bl_add(struct binding *b, void *arg)
{
	struct bl_lines *l = arg;
	struct chan_info i;
	char st[16], *s;
	void *n;

	if (l->n == l->cap) {
		n = realloc(l->line, (l->cap * 2 + 16) * sizeof(*l->line));
		if (n == NULL)
			return;
		l->line = n;
		l->cap = l->cap * 2 + 16;
	}
	chan_info(&b->ring, &i);
	if (asprintf(&s, "%s%s%s %s %s %u %d %zu %s%s", l->ns ? l->ns : "",
		l->ns ? " " : "", b->id, i.input ? "in" : "out", i.addr, i.port,
		(int)i.pid, i.buffered, bl_state(&i, st, sizeof(st)),
		(b->ring.h->flags & RING_F_TLS) ? " tls" : "") != -1)
		l->line[l->n++] = s;
}

static int
bl_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 0, or -1 after one line on stderr. */
static int
bl_all(struct bl_lines *l)
{
	char base[RT_PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (rt_base(base, sizeof(base)) == -1) {
		builtin_error("%s", rt_strerror(errno));
		return -1;
	}
	if ((d = opendir(base)) == NULL) {
		builtin_error("%s: %s", base, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (parse_id(de->d_name) == -1)
			continue;
		l->ns = de->d_name;
		bind_sweep(de->d_name);
		bind_each(de->d_name, bl_add, l);
	}
	closedir(d);
	return 0;
}

static void
bl_client(uint32_t n, const char *addr, uint32_t port, void *arg)
{
	(void)arg;
	printf("%u %s %u\n", n, addr, port);
}

/* bindings ID: the clients of input binding ID, one a line, by N. */
static int
bl_clients(const char *id, int header)
{
	struct binding b;

	if (parse_id(id) == -1) {
		builtin_error("%s: invalid ID", id);
		return BS_USAGE;
	}
	if (bind_open(&b, bs_ns(), id) == -1) {
		builtin_error("%s: no live binding", id);
		return EXECUTION_FAILURE;
	}
	if (conv_of(&b.ring) == NULL) {
		bind_close(&b);
		builtin_error("%s: not an input binding", id);
		return EXECUTION_FAILURE;
	}
	if (header)
		printf("N ADDR PORT\n");
	chan_clients(&b.ring, bl_client, NULL);
	bind_close(&b);
	return sh_chkwrite(EXECUTION_SUCCESS);
}

static int
bindings_builtin(WORD_LIST *list)
{
	struct bl_lines l = {NULL, 0, 0, NULL};
	int opt, all = 0, header = 0, rc = EXECUTION_SUCCESS;
	size_t i;

	reset_internal_getopt();
	while ((opt = internal_getopt(list, "aH")) != -1) {
		switch (opt) {
		case 'a':
			all = 1;
			break;
		case 'H':
			header = 1;
			break;
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	if (loptend != NULL && (all || loptend->next != NULL)) {
		builtin_usage();
		return BS_USAGE;
	}
	if (loptend != NULL)
		return bl_clients(loptend->word->word, header);
	if (all) {
		if (bl_all(&l) == -1)
			rc = EXECUTION_FAILURE;
	} else if (parse_id(bs_ns()) == -1) {
		builtin_error("BASHSOCK_NS: %s: invalid namespace", bs_ns());
		return BS_USAGE;
	} else {
		/* Stale bindings' buffers are freed by every listing. */
		bind_sweep(bs_ns());
		if (bind_each(bs_ns(), bl_add, &l) == -1) {
			builtin_error("%s", rt_strerror(errno));
			rc = EXECUTION_FAILURE;
		}
	}
	if (l.n > 0) /* l.line is NULL when there is none */
		qsort(l.line, l.n, sizeof(*l.line), bl_cmp);
	if (header)
		printf("%sID DIR ADDR PORT PID BUFFERED STATE\n",
		    all ? "NS " : "");
	for (i = 0; i < l.n; i++) {
		printf("%s\n", l.line[i]);
		free(l.line[i]);
	}
	free(l.line);
	return sh_chkwrite(rc);
}

static char *bindings_doc[] = {
    "List live bashsock bindings.",
    "",
    "Frees the buffers of stale bindings (their helper was killed) on the",
    "way, and removes a namespace directory with no binding left.",
    "",
    "One line a binding of the namespace ($BASHSOCK_NS):",
    "  ID in ADDR PORT PID BUFFERED CLIENTS|ended",
    "  ID out HOST PORT PID BUFFERED connecting|connected|down",
    "",
    "STATE is the number of clients connected to an input, or `ended'.",
    "BUFFERED is what an input holds unread, what an output holds unsent.",
    "",
    "With ID, the clients of input binding ID, one a line, by N:",
    "  N ADDR PORT",
    "N names the client for `read -c', `write -c N' and `unbind -c N'.",
    "",
    "Options:",
    "  -a   every namespace of this user; each line starts with the",
    "       namespace",
    "  -H   print a header line first: ID DIR ADDR PORT PID BUFFERED",
    "       STATE (NS first with -a)",
    "",
    "Exit Status:",
    "0; 1 when the runtime directory is unusable (one line says which",
    "and what to do) or ID is no live input binding; 2 for a usage",
    "error.",
    NULL,
};

BS_EXPORT struct builtin bindings_struct = {
    "bindings",
    bindings_builtin,
    BUILTIN_ENABLED,
    bindings_doc,
    "bindings [-a] [-H] [ID]",
    0,
};
