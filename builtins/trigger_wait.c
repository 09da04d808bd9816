/*
 * trigger-wait: wait in the shell itself, at no CPU cost, until a
 * trigger-send with the same key arrives on a port.
 */
#include "bs.h"
#include "clock.h"

#include "trigger.h"

/* The unwind-protect: closes the listener and every handshake, on return
 * or when Ctrl-C or a trap's return/exit jumps out of the wait. */
static void
tw_cleanup(void *w)
{
	trigger_wait_close(w);
}

/* Waits until a valid trigger (0) or the deadline (1; -1: none). */
static int
tw_wait(struct trigger_waiter *w, int64_t deadline)
{
	int64_t left = -1;
	int r;

	for (;;) {
		if (deadline >= 0)
			left = bs_left(deadline);
		if ((r = trigger_wait_step(w, left, bs_signal_pending)) == 1)
			return EXECUTION_SUCCESS;
		if (r == -1) {
			builtin_error("waiting: %s", strerror(errno));
			return EXECUTION_FAILURE;
		}
		bs_check_signals(); /* may run traps, or never return */
		if (deadline >= 0 && bs_left(deadline) == 0)
			return EXECUTION_FAILURE;
	}
}

static int
trigger_wait_builtin(WORD_LIST *list)
{
	struct trigger_waiter *w;
	char *addr = NULL, *key, err[TRIGGER_ERR];
	int64_t secs = -1, deadline = -1;
	int opt, port, rc;

	reset_internal_getopt();
	while ((opt = internal_getopt(list, "a:t:")) != -1) {
		switch (opt) {
		case 'a':
			addr = list_optarg;
			break;
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
	if (list == NULL || list->next == NULL || list->next->next != NULL) {
		builtin_usage();
		return BS_USAGE;
	}
	key = list->word->word;
	if (bs_key(key) == -1 || bs_port(list->next->word->word, &port) == -1)
		return BS_USAGE;
	if (secs >= 0)
		deadline = clock_now() + secs;
	err[0] = '\0';
	w = trigger_wait_open(addr, port, key, strlen(key), err, sizeof(err));
	if (w == NULL) {
		builtin_error("port %d: cannot listen: %s", port, err);
		return EXECUTION_FAILURE;
	}
	begin_unwind_frame("trigger-wait");
	add_unwind_protect(tw_cleanup, w);
	rc = tw_wait(w, deadline);
	run_unwind_frame("trigger-wait");
	return rc;
}

static char *trigger_wait_doc[] = {
    "Wait for an authenticated trigger on a TCP port.",
    "",
    "Listens on PORT (1024-49151) and returns once a `trigger-send' with",
    "the same KEY has connected and proved it knows KEY, by answering a",
    "fresh random challenge with an HMAC-SHA256 of it: the key never",
    "crosses the network. Wrong keys, junk, port scans and silent peers",
    "are dropped (each handshake has 5 seconds) and never wake it, nor",
    "keep a valid sender out. The wait runs in the shell itself and uses",
    "no CPU; Ctrl-C and traps behave as with `read'.",
    "",
    "Options:",
    "  -a ADDR   listen on ADDR only (default: all IPv6 and IPv4)",
    "  -t SECS   give up after SECS seconds (fractions allowed)",
    "",
    "Exit Status:",
    "0 once a valid trigger arrived; 1 when -t ran out (nothing is",
    "printed) or on an error such as the port being in use (one line on",
    "stderr); 2 for a usage error; 128+N when signal N interrupted it.",
    NULL,
};

struct builtin trigger_wait_struct = {"trigger-wait", trigger_wait_builtin,
    BUILTIN_ENABLED, trigger_wait_doc,
    "trigger-wait [-a ADDR] [-t SECS] KEY PORT", 0};
BS_BUILTIN_ALIAS(trigger_wait_struct, "trigger-wait");
