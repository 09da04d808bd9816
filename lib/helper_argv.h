/*
 * helper_argv: the command line of the helper program (bashsock-helper),
 * both ways. The builtins and the pool format it in the shell before the
 * fork (no allocation: the child only executes it); the program parses it
 * strictly: only bashsock.so runs it, and whatever it does not expect is
 * refused.
 *
 *   bashsock-in  in  NS ID PORT CAP ONE MAX ACL [ADDR]
 *   bashsock-out out NS ID HOST PORT CAP TIMEOUT_NS RECONNECT
 *   bashsock-in  tls-in  NS ID PORT CAP ONE MAX ACL CERT KEY [ADDR]
 *   bashsock-out tls-out NS ID HOST PORT CAP TIMEOUT_NS RECONNECT VERIFY CA
 *
 * The tls- forms are TLS bindings (-T), which only bashsock-helper-tls
 * serves (helper_spawn picks it for them): CERT is not empty, KEY and CA
 * are empty when not given, VERIFY is 0 (-k) or 1.
 *
 * argv[0] is the process name (as ps shows it), argv[1] the helper. NS and
 * ID are valid IDs; numbers are canonical decimal (no sign, no leading
 * zero): PORT 1024-49151 (input: or 0, any free port), CAP in bytes
 * (1k-1024M), TIMEOUT_NS 1 ns to a year, ONE and RECONNECT 0 or 1, MAX
 * (clients at once) 1-1024. ACL is "any" (no -A), or the -A prefixes
 * exactly as acl_format writes them (lib/acl.h: ADDR/LEN, IPv4-mapped ones
 * as IPv4, separated by commas; 1 to 64 of them). HOST is
 * not empty; ADDR is there when the input helper listens on that address
 * only (any string: the helper reports what it cannot listen on, as the
 * in-process helper does).
 *
 * A pool binding (PORT 0) must also hold its connections to a proof
 * (pool.h, data connections): the MAC they must carry is not on the
 * command line, which every user on the host reads in ps (/proc/PID/cmdline
 * is world-readable), but in the environment variable POOL_PROOF_ENV,
 * which only the same user (and root) can read (/proc/PID/environ is 0400
 * and needs ptrace read access). It is not the key either: a MAC good for
 * one request of one session, useless after its connection came. The
 * program wipes it from its environment as it starts. (A pipe on a
 * descriptor of its own would do as well, but the spawn closes every
 * descriptor above the report pipe, and a pipe's content must be written
 * after the spawn, where the environment is set in the same call.)
 */
#ifndef BASHSOCK_HELPER_ARGV_H
#define BASHSOCK_HELPER_ARGV_H

#include "acl.h"
#include "input.h"
#include "output.h"

#define HELPER_ARGC_MAX 12

struct helper_argv {
	char *argv[HELPER_ARGC_MAX + 1]; /* NULL-terminated */
	char num[4][24];		 /* the numbers, formatted */
	char acl[ACL_TEXT_MAX];		 /* ACL, formatted */
};

/* Formats the command line of o into a; a->argv points into o's strings
 * and a->num, so o must outlive it. */
void helper_argv_input(const struct input_opts *o, struct helper_argv *a);
void helper_argv_output(const struct output_opts *o, struct helper_argv *a);

/* Parses a command line (argc, argv as main gets them) into o, whose
 * strings then point into argv. 0, or -1 with EINVAL. */
int helper_argv_parse_input(int argc, char *const *argv, struct input_opts *o);
int helper_argv_parse_output(
    int argc, char *const *argv, struct output_opts *o);

/* The helper program, after helper_argv_parse_input: for a pool binding (PORT
 * 0) takes the expected MAC from the environment (POOL_PROOF_ENV) into buf
 * (AUTH_HEX + 1 bytes), sets o->proof to it, and wipes the variable's
 * bytes in place (so /proc/PID/environ no longer shows them) before
 * removing it. 0; -1 with EINVAL when a pool binding has no valid MAC
 * there (it would let anybody in). Other bindings: o->proof stays NULL. */
int helper_argv_proof_take(struct input_opts *o, char *buf, size_t len);

#endif
