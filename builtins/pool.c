/* pool: receive a master's daemons into one-client input bindings. */
#include "bs.h"
#include "parse.h"
#include "pool.h"

#include <signal.h>

/* Unwind-protect: a longjmp out of the wait (Ctrl-C, a trap's return)
 * stops the helper, which closes everything it opened. */
static void
pool_unwind(void *arg)
{
	pool_link_stop(arg, 0);
}

static int
pool_builtin(WORD_LIST *list)
{
	struct pool_opts o;
	struct pool_link l;
	size_t max = POOL_MAX_DEFAULT;
	int opt, rc;

	memset(&o, 0, sizeof(o));
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "a:m:")) != -1) {
		switch (opt) {
		case 'a':
			o.addr = list_optarg;
			break;
		case 'm':
			if (parse_count(list_optarg, &max) == -1 ||
			    max > POOL_MAX_LIMIT) {
				builtin_error("-m: %s: invalid count (1 to %d)",
				    list_optarg, POOL_MAX_LIMIT);
				return BS_USAGE;
			}
			break;
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	list = loptend;
	if (list == NULL || list->next == NULL || list->next->next != NULL) {
		builtin_usage();
		return BS_USAGE;
	}
	o.key = list->word->word;
	o.keylen = strlen(o.key);
	o.max = (unsigned)max;
	if (bs_key(o.key) == -1 ||
	    bs_port(list->next->word->word, &o.port) == -1 ||
	    (o.ns = bs_ns_checked()) == NULL)
		return BS_USAGE;
	/* The helper programs get what a command started now would. */
	maybe_make_export_env();
	o.envp = export_env;
	if (pool_spawn(pool_server_main, &o, "bashsock-pool", 0, &l) == -1) {
		builtin_error("cannot start helper: %s", strerror(errno));
		return EXECUTION_FAILURE;
	}
	begin_unwind_frame("bashsock-pool");
	add_unwind_protect(pool_unwind, &l);
	rc = bs_relay(&l, POOL_STOP_WAIT + POOL_SEC);
	run_unwind_frame("bashsock-pool");
	return rc;
}

static char *pool_doc[] = {
    "Receive a master's daemons into input bindings.",
    "",
    "Listens on PORT (1024-49151) for a `master' that knows KEY. For each",
    "daemon it announces, opens a one-client input binding named after",
    "it (as bind-input -1) on a free port, answers with that port, and",
    "prints `NAME PORT PID'. Read each daemon's output with `read NAME'.",
    "When the master says END, stops listening and returns once every",
    "daemon binding has ended (its stream read to the end, or closed).",
    "The key never crosses the network: challenge-response as",
    "trigger-wait's. A daemon's binding admits only the connection that",
    "proves, under the key, this session and this daemon: anything else",
    "is dropped before a byte reaches it. Wrong keys, names that are not",
    "valid IDs or are taken, and daemons beyond MAX are refused; the pool",
    "goes on.",
    "INT, HUP or TERM close every binding it opened.",
    "",
    "Options:",
    "  -a ADDR   listen on ADDR only, for the pool and its bindings",
    "            (default: all IPv6 and IPv4 addresses)",
    "  -m MAX    accept at most MAX daemons (default 256, at most 4096)",
    "",
    "Exit Status:",
    "0 after END once every binding has ended; 1 if the port cannot be",
    "listened on or another error occurs; 2 for a usage error; 128+N",
    "when stopped by signal N.",
    NULL,
};

BS_EXPORT struct builtin pool_struct = {"pool", pool_builtin, BUILTIN_ENABLED,
    pool_doc, "pool [-a ADDR] [-m MAX] KEY PORT", 0};
