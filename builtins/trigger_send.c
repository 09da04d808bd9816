/* trigger-send: wake a trigger-wait, proving the key without sending it. */
#include "bs.h"
#include "clock.h"

#include "trigger.h"

#define TS_DEFAULT_NS (10 * 1000000000LL) /* -t default: 10 s */

/* The unwind-protect: closes the connection however the wait ends. */
static void
ts_cleanup(void *s)
{
	trigger_send_close(s);
}

/* Runs the exchange until accepted (0) or failed or past deadline (1). */
static int
ts_run(struct trigger_sender *s, const char *host, int port, int64_t deadline)
{
	char err[TRIGGER_ERR];
	int r;

	for (;;) {
		err[0] = '\0';
		r = trigger_send_step(
		    s, bs_left(deadline), bs_signal_pending, err, sizeof(err));
		if (r == 1)
			return EXECUTION_SUCCESS;
		if (r == -1) {
			builtin_error("%s port %d: %s", host, port, err);
			return EXECUTION_FAILURE;
		}
		bs_check_signals(); /* may run traps, or never return */
		if (bs_left(deadline) == 0) {
			builtin_error("%s port %d: timed out %s", host, port,
			    trigger_send_phase(s));
			return EXECUTION_FAILURE;
		}
	}
}

static int
trigger_send_builtin(WORD_LIST *list)
{
	struct trigger_sender *s;
	char *key, *host, err[TRIGGER_ERR];
	int64_t secs = TS_DEFAULT_NS, deadline;
	int opt, port, rc;

	reset_internal_getopt();
	while ((opt = internal_getopt(list, "t:")) != -1) {
		switch (opt) {
		case 't':
			if (bs_secs(list_optarg, 't', &secs) == -1)
				return BS_USAGE;
			break;
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	list = loptend;
	if (list == NULL || list->next == NULL || list->next->next == NULL ||
	    list->next->next->next != NULL) {
		builtin_usage();
		return BS_USAGE;
	}
	key = list->word->word;
	host = list->next->word->word;
	if (bs_key(key) == -1)
		return BS_USAGE;
	if (*host == '\0') {
		builtin_error("HOST must not be empty");
		return BS_USAGE;
	}
	if (bs_port(list->next->next->word->word, &port) == -1)
		return BS_USAGE;
	deadline = clock_now() + secs;
	err[0] = '\0';
	s = trigger_send_open(host, port, key, strlen(key), err, sizeof(err));
	if (s == NULL) {
		builtin_error("%s port %d: %s", host, port, err);
		return EXECUTION_FAILURE;
	}
	begin_unwind_frame("trigger-send");
	add_unwind_protect(ts_cleanup, s);
	rc = ts_run(s, host, port, deadline);
	run_unwind_frame("trigger-send");
	return rc;
}

static char *trigger_send_doc[] = {
    "Wake a trigger-wait, proving the key without sending it.",
    "",
    "Connects to HOST:PORT, answers the waiter's fresh random challenge",
    "with an HMAC-SHA256 of it under KEY, and checks the waiter's proof",
    "of KEY in return. The key never crosses the network.",
    "",
    "Options:",
    "  -t SECS   give up after SECS seconds, connecting included",
    "            (fractions allowed; default 10)",
    "",
    "Exit Status:",
    "0 once the waiter accepted the key; 1 when it was refused, the host",
    "is unknown or unreachable, or the time ran out (one line on stderr);",
    "2 for a usage error.",
    NULL,
};

struct builtin trigger_send_struct = {"trigger-send", trigger_send_builtin,
    BUILTIN_ENABLED, trigger_send_doc, "trigger-send [-t SECS] KEY HOST PORT",
    0};
BS_BUILTIN_ALIAS(trigger_send_struct, "trigger-send");
