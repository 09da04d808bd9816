/* bindings: list the live bindings of the namespace (or of all). */
#include "bs.h"
#include "bind.h"

#include <dirent.h>

struct bl_lines {
	char **line;
	size_t n, cap;
	const char *ns; /* prefix with the namespace (-a) */
};

static const char *
bl_state(const struct ring_hdr *h, char *buf, size_t len)
{
	static const char *conn[] = {"connecting", "connected", "down"};

	if (h->kind == RING_IN) {
		if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == RING_ENDED)
			return "ended";
		snprintf(buf, len, "%u",
		    __atomic_load_n(&h->clients, __ATOMIC_ACQUIRE));
		return buf;
	}
	return h->conn <= RING_DOWN ? conn[h->conn] : "?";
}

static void
bl_add(struct binding *b, void *arg)
{
	struct bl_lines *l = arg;
	const struct ring_hdr *h = b->ring.h;
	struct ring tx;
	char st[16], *s;
	void *n;

	if (l->n == l->cap) {
		n = realloc(l->line, (l->cap * 2 + 16) * sizeof(*l->line));
		if (n == NULL)
			return;
		l->line = n;
		l->cap = l->cap * 2 + 16;
	}
	ring_view(&b->ring, RING_TX, &tx);
	if (asprintf(&s, "%s%s%s %s %.*s %u %d %zu %s%s", l->ns ? l->ns : "",
		l->ns ? " " : "", b->id, h->kind == RING_IN ? "in" : "out",
		(int)sizeof(h->addr), h->addr, h->port, h->pid,
		ring_used(h->kind == RING_IN ? &b->ring : &tx),
		bl_state(h, st, sizeof(st)),
		(h->flags & RING_F_TLS) ? " tls" : "") != -1)
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
		bind_each(de->d_name, bl_add, l);
	}
	closedir(d);
	return 0;
}

static int
bindings_builtin(WORD_LIST *list)
{
	struct bl_lines l = {NULL, 0, 0, NULL};
	int opt, all = 0, rc = EXECUTION_SUCCESS;
	size_t i;

	reset_internal_getopt();
	while ((opt = internal_getopt(list, "a")) != -1) {
		switch (opt) {
		case 'a':
			all = 1;
			break;
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	if (loptend != NULL) {
		builtin_usage();
		return BS_USAGE;
	}
	if (all) {
		if (bl_all(&l) == -1)
			rc = EXECUTION_FAILURE;
	} else if (parse_id(bs_ns()) == -1) {
		builtin_error("BASHSOCK_NS: %s: invalid namespace", bs_ns());
		return BS_USAGE;
	} else if (bind_each(bs_ns(), bl_add, &l) == -1) {
		builtin_error("%s", rt_strerror(errno));
		rc = EXECUTION_FAILURE;
	}
	if (l.n > 0) /* l.line is NULL when there is none */
		qsort(l.line, l.n, sizeof(*l.line), bl_cmp);
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
    "One line a binding of the namespace ($BASHSOCK_NS):",
    "  ID in ADDR PORT PID BUFFERED CLIENTS|ended",
    "  ID out HOST PORT PID BUFFERED connecting|connected|down",
    "",
    "Options:",
    "  -a   every namespace of this user; each line starts with the",
    "       namespace",
    "",
    "Exit Status:",
    "0; 1 when the runtime directory is unusable (one line says which",
    "and what to do); 2 for a usage error.",
    NULL,
};

BS_EXPORT struct builtin bindings_struct = {
    "bindings",
    bindings_builtin,
    BUILTIN_ENABLED,
    bindings_doc,
    "bindings [-a]",
    0,
};
