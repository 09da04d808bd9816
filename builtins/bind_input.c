/* bind-input: listen on a port and collect what clients send. */
#include "bs.h"
#include "helper_argv.h"
#include "input.h"
#include "parse.h"

/* -A PREFIX: adds it to a, or says why not (-1). */
static int
bind_input_acl(struct acl *a, const char *prefix)
{
	if (acl_add(a, prefix) == 0)
		return 0;
	if (errno == ENOSPC)
		builtin_error("-A: %s: more than %d prefixes", prefix, ACL_MAX);
	else
		builtin_error("-A: %s: invalid address or prefix", prefix);
	return -1;
}

static int
bind_input_builtin(WORD_LIST *list)
{
	struct input_opts o;
	struct helper_argv a;
	char *var = NULL;
	size_t max;
	int opt;

	memset(&o, 0, sizeof(o));
	o.cap = 1024 * 1024;
	reset_internal_getopt();
	while ((opt = internal_getopt(list, "1A:a:K:m:s:T:v:")) != -1) {
		switch (opt) {
		case '1':
			o.one = 1;
			break;
		case 'A':
			if (bind_input_acl(&o.acl, list_optarg) == -1)
				return BS_USAGE;
			break;
		case 'a':
			o.addr = list_optarg;
			break;
		case 'K':
			o.key = list_optarg;
			break;
		case 'T':
			o.cert = list_optarg;
			break;
		case 'm':
			if (parse_count(list_optarg, &max) == -1 ||
			    max > INPUT_MAX_CLIENTS) {
				builtin_error("-m: %s: invalid count (1 to %d)",
				    list_optarg, INPUT_MAX_CLIENTS);
				return BS_USAGE;
			}
			o.max = (unsigned)max;
			break;
		case 's':
			if (parse_size(list_optarg, &o.cap) == -1) {
				builtin_error(
				    "-s: %s: invalid size (1k to 1024M)",
				    list_optarg);
				return BS_USAGE;
			}
			break;
		case 'v':
			var = list_optarg;
			break;
			CASE_HELPOPT;
		default:
			return BS_USAGE; /* internal_getopt said why */
		}
	}
	list = loptend;
	if (o.key != NULL && o.cert == NULL) {
		builtin_error("-K: only with -T");
		return BS_USAGE;
	}
	if ((o.cert != NULL && *o.cert == '\0') ||
	    (o.key != NULL && *o.key == '\0')) {
		builtin_error("-%c: empty file name", *o.cert ? 'K' : 'T');
		return BS_USAGE;
	}
	if (list == NULL || list->next == NULL || list->next->next != NULL) {
		builtin_usage();
		return BS_USAGE;
	}
	o.id = list->word->word;
	if (parse_id(o.id) == -1) {
		builtin_error("%s: invalid ID", o.id);
		return BS_USAGE;
	}
	if (bs_port(list->next->word->word, &o.port) == -1)
		return BS_USAGE;
	if (var != NULL && bs_var_ok(var) == -1) {
		sh_invalidid(var);
		return BS_USAGE;
	}
	if ((o.ns = bs_ns_checked()) == NULL)
		return BS_USAGE;
	helper_argv_input(&o, &a);
	return bs_bind(input_main, &o, a.argv, "bashsock-in", o.id, var);
}

static char *bind_input_doc[] = {
    "Listen on a TCP port and collect what clients send.",
    "",
    "Starts a helper process that listens on PORT (1024-49151) and appends",
    "everything its clients send to the buffer named ID, which `read ID'",
    "returns. Lines of different clients never interleave. When the",
    "buffer is full the helper stops reading, so nothing is dropped.",
    "Prints the helper's PID; kill -INT, -HUP or -TERM (or unbind ID)",
    "closes the binding.",
    "",
    "Options:",
    "  -1        one client only; the binding ends once it has gone and",
    "            its data has been read to the end",
    "  -A PREFIX only clients from PREFIX get in (an address or a CIDR",
    "            prefix, IPv4 or IPv6: 127.0.0.2, 10.0.0.0/8, ::1, fd00::/8;",
    "            an IPv4 prefix matches IPv4 clients, ::/0 every client).",
    "            Repeat it for several, at most 64. Any other client is",
    "            closed at once, before a byte of it reaches the buffer",
    "  -a ADDR   listen on ADDR only (default: all IPv6 and IPv4)",
    "  -K KEY    with -T: the PEM private key (default: the one in CERT)",
    "  -m MAX    at most MAX clients at once, 1 to 1024 (default 1024);",
    "            more wait in the listen backlog until one leaves",
    "  -s SIZE   buffer size, suffixes k and M (default 1M)",
    "  -T CERT   TLS (1.2 or newer): CERT is the PEM certificate chain;",
    "            a client whose handshake fails (or takes over 10 s) is",
    "            dropped before a byte of it counts",
    "  -v VAR    store the PID in VAR instead of printing it",
    "",
    "Exit Status:",
    "0 once listening; 1 if the port or ID is in use, CERT or KEY cannot",
    "be used, or another error occurs; 2 for a usage error.",
    NULL,
};

struct builtin bind_input_struct = {"bind-input", bind_input_builtin,
    BUILTIN_ENABLED, bind_input_doc,
    "bind-input [-1] [-A PREFIX] [-a ADDR] [-K KEY] [-m MAX] [-s SIZE] "
    "[-T CERT] [-v VAR] ID PORT",
    0};
BS_BUILTIN_ALIAS(bind_input_struct, "bind-input");
