/* master: push the daemons of a directory to a pool. */
#include "bs.h"
#include "pool.h"

#include <signal.h>

/* What the wait holds, released by the unwind frame. */
struct master_ctx {
	struct pool_link l;
	struct pool_dir dir;
};

static void
master_unwind(void *arg)
{
	struct master_ctx *c = arg;

	pool_link_stop(&c->l, 0);
	pool_scan_free(&c->dir);
}

/* Lists ddir into c->dir with a warning for every file not run. 0, or
 * -1 after one line on stderr. */
static int
master_scan(struct master_ctx *c, const char *ddir)
{
	size_t i;

	if (pool_scan(ddir, &c->dir) == -1) {
		builtin_error("%s: %s", ddir, strerror(errno));
		return -1;
	}
	for (i = 0; i < c->dir.n; i++) {
		if (c->dir.e[i].kind == POOL_NOTEXEC)
			builtin_error("%s/%s: not executable, skipped", ddir,
			    c->dir.e[i].name);
		else if (c->dir.e[i].kind == POOL_NOTREG)
			builtin_error("%s/%s: not a regular file, skipped",
			    ddir, c->dir.e[i].name);
	}
	return 0;
}

static int
master_builtin(WORD_LIST *list)
{
	struct master_opts o;
	struct master_ctx c;
	WORD_LIST *w;
	int n, rc, opt;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "")) != -1) {
		switch (opt) {
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	list = loptend;
	for (n = 0, w = list; w != NULL; w = w->next)
		n++;
	if (n != 4) {
		builtin_usage();
		return BS_USAGE;
	}
	o.key = list->word->word;
	o.keylen = strlen(o.key);
	o.host = list->next->word->word;
	o.ddir = list->next->next->next->word->word;
	if (bs_key(o.key) == -1 ||
	    bs_port(list->next->next->word->word, &o.port) == -1)
		return BS_USAGE;
	if (*o.host == '\0' || *o.ddir == '\0') {
		builtin_usage();
		return BS_USAGE;
	}
	if (master_scan(&c, o.ddir) == -1)
		return EXECUTION_FAILURE;
	o.dir = &c.dir;
	/* The daemons get the shell's exported variables, as commands do. */
	maybe_make_export_env();
	o.envp = export_env;
	if (pool_spawn(pool_master_main, &o, "bashsock-master", 1, &c.l) ==
	    -1) {
		builtin_error("cannot start helper: %s", strerror(errno));
		pool_scan_free(&c.dir);
		return EXECUTION_FAILURE;
	}
	begin_unwind_frame("bashsock-master");
	add_unwind_protect(master_unwind, &c);
	rc = bs_relay(&c.l, POOL_STOP_WAIT + 2 * POOL_SEC);
	run_unwind_frame("bashsock-master");
	return rc;
}

static char *master_doc[] = {
    "Push the daemons of a directory to a pool.",
    "",
    "Connects to the `pool' listening on HOST PORT with KEY, and for every",
    "executable regular file of DDIR, in name order, asks the pool for a",
    "port and starts that file with its standard output connected to",
    "HOST at that port (standard input /dev/null, standard error the",
    "master's, in a process group of its own); the master proves that",
    "connection to the pool with the key first, and the daemon never sees",
    "the key. Other files are skipped with a warning. Then tells the",
    "pool END and waits for every daemon to end. The key never crosses",
    "the network. INT, HUP or TERM stop",
    "every daemon (their whole process groups).",
    "",
    "Exit Status:",
    "0 when every daemon ran and ended; 1 when any was refused or failed",
    "to start, or the pool could not be reached or refused the key; 2",
    "for a usage error; 128+N when stopped by signal N.",
    NULL,
};

BS_EXPORT struct builtin master_struct = {"master", master_builtin,
    BUILTIN_ENABLED, master_doc, "master KEY HOST PORT DDIR", 0};
