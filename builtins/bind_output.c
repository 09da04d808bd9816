/* bind-output: connect to a host and send what `write' queues. */
#include "bs.h"
#include "helper_argv.h"
#include "output.h"
#include "parse.h"

static int
bind_output_opts(WORD_LIST *list, struct output_opts *o, char **var)
{
	int opt;

	reset_internal_getopt();
	while ((opt = internal_getopt(list, "C:krs:t:Tv:")) != -1) {
		switch (opt) {
		case 'C':
			o->ca = list_optarg;
			break;
		case 'k':
			o->verify = 0;
			break;
		case 'r':
			o->reconnect = 1;
			break;
		case 'T':
			o->tls = 1;
			break;
		case 's':
			if (parse_size(list_optarg, &o->cap) == -1) {
				builtin_error(
				    "-s: %s: invalid size (1k to 1024M)",
				    list_optarg);
				return -1;
			}
			break;
		case 't':
			if (bs_secs(list_optarg, 't', &o->timeout) == -1)
				return -1;
			if (o->timeout == 0) {
				builtin_error(
				    "-t: %s: invalid number of seconds",
				    list_optarg);
				return -1;
			}
			break;
		case 'v':
			*var = list_optarg;
			break;
		case GETOPT_HELP:
			/* CASE_HELPOPT would return EX_USAGE, not our -1. */
			builtin_help();
			return -1;
		default:
			return -1; /* internal_getopt said why */
		}
	}
	if (!o->tls && (o->ca != NULL || !o->verify)) {
		builtin_error("-%c: only with -T", o->ca != NULL ? 'C' : 'k');
		return -1;
	}
	if (o->ca != NULL && *o->ca == '\0') {
		builtin_error("-C: empty file name");
		return -1;
	}
	return 0;
}

static int
bind_output_builtin(WORD_LIST *list)
{
	struct output_opts o;
	struct helper_argv a;
	char *var = NULL;

	memset(&o, 0, sizeof(o));
	o.cap = 1024 * 1024;
	o.timeout = 10000000000LL;
	o.verify = 1;
	if (bind_output_opts(list, &o, &var) == -1)
		return BS_USAGE;
	list = loptend;
	if (list == NULL || list->next == NULL || list->next->next == NULL ||
	    list->next->next->next != NULL) {
		builtin_usage();
		return BS_USAGE;
	}
	o.id = list->word->word;
	o.host = list->next->word->word;
	if (parse_id(o.id) == -1) {
		builtin_error("%s: invalid ID", o.id);
		return BS_USAGE;
	}
	if (*o.host == '\0') {
		builtin_error("%s: empty host", o.id);
		return BS_USAGE;
	}
	if (bs_port(list->next->next->word->word, &o.port) == -1)
		return BS_USAGE;
	if (var != NULL && bs_var_ok(var) == -1) {
		sh_invalidid(var);
		return BS_USAGE;
	}
	if ((o.ns = bs_ns_checked()) == NULL)
		return BS_USAGE;
	helper_argv_output(&o, &a);
	return bs_bind(output_main, &o, a.argv, "bashsock-out", o.id, var);
}

static char *bind_output_doc[] = {
    "Connect to a TCP port and send what `write' queues.",
    "",
    "Starts a helper process that connects to HOST (a name, an IPv4 or an",
    "IPv6 address) on PORT (1024-49151) and sends everything",
    "`write ID ...' queues in the buffer named ID. Returns once",
    "connected and prints the helper's PID; kill -INT, -HUP or -TERM (or",
    "unbind ID) closes the binding after sending what is queued (for up",
    "to 10 seconds). When the peer closes, the binding stays, listed as",
    "down, and `write ID' fails until it is closed.",
    "",
    "Options:",
    "  -C FILE   with -T: trust the CAs in FILE (PEM) instead of the",
    "            system's store",
    "  -k        with -T: do not verify the server's certificate (it is",
    "            then not authenticated: anyone on the path can pose as it)",
    "  -r        reconnect when the connection drops, with backoff, and",
    "            send what was written meanwhile",
    "  -s SIZE   buffer size, suffixes k and M (default 1M)",
    "  -t SECS   connect timeout, fractions allowed (default 10); with -T",
    "            the TLS handshake must be done within it too",
    "  -T        TLS (1.2 or newer): the server's certificate is verified",
    "            against the trust store and HOST (each reconnect again)",
    "  -v VAR    store the PID in VAR instead of printing it",
    "",
    "Exit Status:",
    "0 once connected; 1 if the host is unknown, the connection is refused",
    "or times out, the TLS handshake or the verification fails (one line",
    "says why), the ID is in use or another error occurs; 2 for a usage",
    "error.",
    NULL,
};

struct builtin bind_output_struct = {
    "bind-output",
    bind_output_builtin,
    BUILTIN_ENABLED,
    bind_output_doc,
    "bind-output [-k] [-r] [-C CAFILE] [-s SIZE] [-t SECS] [-T] [-v VAR] ID "
    "HOST PORT",
    0,
};
BS_BUILTIN_ALIAS(bind_output_struct, "bind-output");
