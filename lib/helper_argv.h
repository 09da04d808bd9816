/*
 * helper_argv: the command line of the helper program (bashsock-helper),
 * both ways. The builtins and the pool format it in the shell before the
 * fork (no allocation: the child only executes it); the program parses it
 * strictly: only bashsock.so runs it, and whatever it does not expect is
 * refused.
 *
 *   bashsock-in  in  NS ID PORT CAP ONE [ADDR]
 *   bashsock-out out NS ID HOST PORT CAP TIMEOUT_NS RECONNECT
 *
 * argv[0] is the process name (as ps shows it), argv[1] the helper. NS and
 * ID are valid IDs; numbers are canonical decimal (no sign, no leading
 * zero): PORT 1024-49151 (input: or 0, any free port), CAP in bytes
 * (1k-1024M), TIMEOUT_NS 1 ns to a year, ONE and RECONNECT 0 or 1. HOST is
 * not empty; ADDR is there when the input helper listens on that address
 * only (any string: the helper reports what it cannot listen on, as the
 * in-process helper does).
 */
#ifndef BASHSOCK_HELPER_ARGV_H
#define BASHSOCK_HELPER_ARGV_H

#include "input.h"
#include "output.h"

#define HELPER_ARGC_MAX 9

struct helper_argv {
	char *argv[HELPER_ARGC_MAX + 1]; /* NULL-terminated */
	char num[4][24];		 /* the numbers, formatted */
};

/* Formats the command line of o into a; a->argv points into o's strings
 * and a->num, so o must outlive it. */
void input_argv(const struct input_opts *o, struct helper_argv *a);
void output_argv(const struct output_opts *o, struct helper_argv *a);

/* Parses a command line (argc, argv as main gets them) into o, whose
 * strings then point into argv. 0, or -1 with EINVAL. */
int input_args_parse(int argc, char *const *argv, struct input_opts *o);
int output_args_parse(int argc, char *const *argv, struct output_opts *o);

#endif
