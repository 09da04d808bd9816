/* unbind: close bindings and return once they are gone. */
#include "bs.h"
#include "bind.h"

#include <signal.h>
#include <time.h>

#define UNBIND_WAIT 15000000000LL /* outputs drain for up to 10 s */

struct ub_ids {
	char (*id)[PARSE_ID_MAX + 1];
	size_t n, cap;
};

/* Signals the helper of ns/id and waits until its lock is released.
 * 0 when gone, 1 when there was no live binding. */
static int
ub_one(const char *ns, const char *id)
{
	struct binding b;
	struct timespec ts = {0, 2000000};
	int64_t deadline;
	pid_t pid;

	if (bind_open(&b, ns, id) == -1) {
		if (errno == ENOENT)
			builtin_error("%s: no live binding", id);
		else
			builtin_error("%s: %s", id, rt_strerror(errno));
		return 1;
	}
	pid = b.ring.h->pid;
	bind_close(&b);
	if (kill(pid, SIGTERM) == -1 && errno == ESRCH)
		return 0;
	deadline = helper_now() + UNBIND_WAIT;
	while (bind_locked(b.nsdir, id) == 1 && bs_left(deadline) > 0) {
		nanosleep(&ts, NULL);
		bs_check_signals();
	}
	return 0;
}

static void
ub_collect(struct binding *b, void *arg)
{
	struct ub_ids *ids = arg;
	void *n;

	if (ids->n == ids->cap) {
		n = realloc(ids->id, (ids->cap * 2 + 16) * sizeof(*ids->id));
		if (n == NULL)
			return;
		ids->id = n;
		ids->cap = ids->cap * 2 + 16;
	}
	strcpy(ids->id[ids->n++], b->id);
}

static int
unbind_builtin(WORD_LIST *list)
{
	struct ub_ids ids = {NULL, 0, 0};
	const char *ns = bs_ns();
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
	list = loptend;
	if ((all && list != NULL) || (!all && list == NULL)) {
		builtin_usage();
		return BS_USAGE;
	}
	if (parse_id(ns) == -1) {
		builtin_error("BASHSOCK_NS: %s: invalid namespace", ns);
		return BS_USAGE;
	}
	for (; list != NULL; list = list->next) {
		if (parse_id(list->word->word) == -1) {
			builtin_error("%s: invalid ID", list->word->word);
			return BS_USAGE;
		}
	}
	if (all) {
		if (bind_each(ns, ub_collect, &ids) == -1) {
			builtin_error("%s", rt_strerror(errno));
			free(ids.id);
			return EXECUTION_FAILURE;
		}
		for (i = 0; i < ids.n; i++)
			ub_one(ns, ids.id[i]);
		free(ids.id);
		return EXECUTION_SUCCESS;
	}
	for (list = loptend; list != NULL; list = list->next)
		if (ub_one(ns, list->word->word) != 0)
			rc = EXECUTION_FAILURE;
	return rc;
}

static char *unbind_doc[] = {
    "Close bashsock bindings.",
    "",
    "Closes each binding ID of the namespace ($BASHSOCK_NS) as",
    "kill -TERM of its helper does, and returns once they are gone: an",
    "input stops listening and drops unread data; an output first sends",
    "what is queued (up to 10 seconds).",
    "",
    "Options:",
    "  -a   close every binding of the namespace",
    "",
    "Exit Status:",
    "0 on success; 1 if an ID names no live binding or the runtime",
    "directory cannot be used (one line says which); 2 for a usage error.",
    NULL,
};

BS_EXPORT struct builtin unbind_struct = {
    "unbind",
    unbind_builtin,
    BUILTIN_ENABLED,
    unbind_doc,
    "unbind [-a] [ID ...]",
    0,
};
