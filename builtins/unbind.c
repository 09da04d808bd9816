/* unbind: close bindings and return once they are gone. */
#include "bs.h"
#include "bind.h"
#include "chan.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>

/* An output helper sends what is queued for up to 10 s (OUTPUT_DRAIN) and
 * then gives up; one that has not gone 5 s after that is hung. A stopped
 * helper cannot drain at all: it gets 5 s. Then SIGKILL, and the kernel's
 * own cleanup is waited for (bounded too). */
#define UB_DRAIN 10000000000LL
#define UB_GRACE 5000000000LL
#define UB_KILLED 5000000000LL
#define UB_STEP 5000000L /* ns between looks */

struct ub_ids {
	char (*id)[PARSE_ID_MAX + 1];
	size_t n, cap;
};

/* The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z'...), or 0 when
 * the process is gone. */
static char
ub_state(pid_t pid)
{
	char path[48], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	/* "PID (comm) S ...": comm may hold ')', so the last one counts. */
	if (n <= 0 || (p = memrchr(buf, ')', (size_t)n)) == NULL ||
	    p + 2 >= buf + n)
		return 0;
	return p[2];
}

/* The helper has exited: it closed the binding on its way out (or the
 * kernel marked the header's owner word, its robust futex, after a KILL),
 * and the process is gone or a zombie (its descriptors, the lock and the
 * port with them, are closed by then). */
static int
ub_gone(const struct ring *r, pid_t pid)
{
	char st;

	if (ring_alive(r) && !chan_helper_died(r))
		return 0;
	st = ub_state(pid);
	return st == 0 || st == 'Z' || st == 'X';
}

static void
ub_unmap(void *b)
{
	bind_close(b);
}

/*
 * Signals the helper of ns/id and waits until it is gone; a helper that is
 * stopped for 5 s, or still there 15 s after TERM, is killed. 0 when it
 * went with everything delivered, 1 when there was no live binding or an
 * output could not deliver everything (one line on stderr each).
 */
static int
ub_one(const char *ns, const char *id)
{
	struct timespec ts = {0, UB_STEP};
	int64_t start, stopped = -1, now;
	struct binding b;
	uint64_t lost;
	int killed = 0, rc = 0;
	pid_t pid;
	char st;

	if (bind_open(&b, ns, id) == -1) {
		if (errno == ENOENT) {
			builtin_error("%s: no live binding", id);
			bind_sweep(ns); /* a stale one's buffer goes now */
		} else {
			builtin_error("%s: %s", id, rt_strerror(errno));
		}
		return 1;
	}
	/* The mapping stays valid after the helper unlinks the file: the
	 * header is read once the helper is gone. A Ctrl-C unmaps it. */
	begin_unwind_frame("bashsock-unbind");
	add_unwind_protect(ub_unmap, &b);
	pid = b.ring.h->pid;
	kill(pid, SIGTERM);
	start = helper_now();
	while (!ub_gone(&b.ring, pid)) {
		now = helper_now();
		if (killed) {
			if (now - start > UB_KILLED)
				break; /* the kernel's business now */
		} else {
			st = ub_state(pid);
			if (st == 'T' || st == 't') {
				if (stopped < 0)
					stopped = now;
			} else {
				stopped = -1;
			}
			if ((stopped >= 0 && now - stopped >= UB_GRACE) ||
			    now - start >= UB_DRAIN + UB_GRACE) {
				kill(pid, SIGCONT);
				kill(pid, SIGKILL);
				killed = 1;
				start = now;
			}
		}
		nanosleep(&ts, NULL);
		bs_check_signals();
	}
	/* Killed, its file is stale: freed now rather than at the next
	 * binding of the namespace. */
	if (killed)
		bind_sweep(ns);
	lost = chan_undelivered(&b.ring, killed);
	if (lost > 0) {
		builtin_error("%s: %llu bytes not delivered", id,
		    (unsigned long long)lost);
		rc = 1;
	}
	run_unwind_frame("bashsock-unbind");
	return rc;
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

/*
 * unbind -c N ID: client N of input binding ID is closed once what was
 * queued for it is sent; returns when it is (bounded as an output's close
 * is: UB_DRAIN + UB_GRACE). 0, 1
 * with a message when N or ID is not there.
 */
static int
ub_client(const char *ns, uint32_t n, const char *id)
{
	struct binding b;
	struct ring tx;
	int rc;

	if (bind_open(&b, ns, id) == -1) {
		builtin_error("%s: no live binding", id);
		return EXECUTION_FAILURE;
	}
	if (conv_of(&b.ring) == NULL) {
		bind_close(&b);
		builtin_error("%s: -c: not an input binding", id);
		return BS_USAGE;
	}
	ring_view(&b.ring, RING_TX, &tx);
	/* Ctrl-C may longjmp out of the waits: the mapping goes with it. */
	begin_unwind_frame("bashsock-unbind");
	add_unwind_protect(ub_unmap, &b);
	if ((rc = chan_lock(&tx, getpid(), bs_check_signals)) == CHAN_OK) {
		rc = chan_close_client(&tx, n, bs_check_signals);
		chan_unlock(&tx, getpid());
	}
	if (rc == CHAN_OK)
		rc = chan_client_wait(&b.ring, n,
		    helper_now() + UB_DRAIN + UB_GRACE, bs_check_signals);
	run_unwind_frame("bashsock-unbind");
	if (rc == CHAN_GONE) {
		builtin_error("%s: client %u is gone", id, n);
		return EXECUTION_FAILURE;
	}
	if (rc != CHAN_OK) {
		builtin_error("%s: %s", id,
		    rc == CHAN_EMPTY ? "client did not close"
				     : "binding closed");
		return EXECUTION_FAILURE;
	}
	return EXECUTION_SUCCESS;
}

static int
unbind_builtin(WORD_LIST *list)
{
	struct ub_ids ids = {NULL, 0, 0};
	const char *ns = bs_ns();
	int opt, all = 0, rc = EXECUTION_SUCCESS;
	size_t i, client = 0;

	reset_internal_getopt();
	while ((opt = internal_getopt(list, "ac:")) != -1) {
		switch (opt) {
		case 'a':
			all = 1;
			break;
		case 'c':
			if (parse_count(list_optarg, &client) == -1 ||
			    client == 0 || client > UINT32_MAX) {
				builtin_error("-c: %s: invalid client number",
				    list_optarg);
				return BS_USAGE;
			}
			break;
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	list = loptend;
	if ((all && list != NULL) || (!all && list == NULL) ||
	    (client != 0 && (all || list->next != NULL))) {
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
	if (client != 0)
		return ub_client(ns, (uint32_t)client, loptend->word->word);
	if (all) {
		if (bind_each(ns, ub_collect, &ids) == -1) {
			builtin_error("%s", rt_strerror(errno));
			free(ids.id);
			return EXECUTION_FAILURE;
		}
		for (i = 0; i < ids.n; i++)
			if (ub_one(ns, ids.id[i]) != 0)
				rc =
				    EXECUTION_FAILURE; /* bytes not delivered */
		free(ids.id);
		/* Stale bindings too: their buffers and, with nothing left,
		 * the namespace directory. */
		bind_sweep(ns);
		return rc;
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
    "what is queued (up to 10 seconds). A helper that does not stop is",
    "killed (SIGKILL): after 5 seconds stopped, or 15 seconds after TERM.",
    "",
    "With -c N, closes only client N of input binding ID, once what was",
    "queued for it (write -c N) is sent, and returns when it is closed.",
    "",
    "Options:",
    "  -a    close every binding of the namespace, and free the buffers",
    "        of its stale ones",
    "  -c N  close client N of input binding ID",
    "",
    "Exit Status:",
    "0 on success; 1 if an ID names no live binding (or client N is",
    "gone), the runtime",
    "directory cannot be used (one line says which), or an output could",
    "not deliver everything (`ID: N bytes not delivered' on stderr);",
    "2 for a usage error.",
    NULL,
};

BS_EXPORT struct builtin unbind_struct = {
    "unbind",
    unbind_builtin,
    BUILTIN_ENABLED,
    unbind_doc,
    "unbind [-a] [-c N] [ID ...]",
    0,
};
