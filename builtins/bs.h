/*
 * bs: what every bashsock builtin shares on the bash side: includes, option
 * and variable helpers, waiting with bash's signal and trap handling, and
 * spawning a helper with its readiness report.
 */
#ifndef BASHSOCK_BS_H
#define BASHSOCK_BS_H

#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "builtins.h"
#include "shell.h"
#include "bashgetopt.h"
#include "common.h"
#include "quit.h"
#include "unwind_prot.h"

#include "helper.h"

#define BS_EXPORT __attribute__((visibility("default")))
/*
 * A builtin whose name is no C identifier: `enable -f x.so bind-input` looks
 * up "bind-input_struct". The C struct stays hidden; a top-level assembler
 * alias beside it exports it under that name (it loads under gcc and clang,
 * with and without ASan; an asm label on the declaration breaks under ASan).
 */
#define BS_BUILTIN_ALIAS(cname, name)                                          \
	__asm__(".globl \"" name "_struct\"\n"                                 \
		".set \"" name "_struct\", " #cname)
#define BS_USAGE 2	   /* usage errors: bash's EX_BADUSAGE */
#define BS_ENDED 3	   /* read: the stream has ended */
#define BS_SLICE 100000000 /* longest uninterrupted wait: 100 ms */

/* Exported by bash but not declared in its installed headers. */
extern void check_signals_and_traps(void);
extern int trapped_signal_received, running_trap;

struct pool_link;

/* The namespace: the shell variable BASHSOCK_NS, or "default". */
const char *bs_ns(void);
/* 0 when name may be assigned with -v (identifier or array element). */
int bs_var_ok(const char *name);
/* Assigns value to name; 0, or -1 after bash printed why (readonly...). */
int bs_setvar(const char *name, const char *value);
/* Sets name to the indexed array of n values (as read -a); 0, or -1
 * after bash printed why. */
int bs_setarray(const char *name, char *const *val, size_t n);
/* Prints n bytes on stdout (or assigns them to var); the builtin status. */
int bs_emit(const char *var, const char *buf, size_t n);
/* Parses SECS for option opt; 0, or -1 after one line on stderr. */
int bs_secs(const char *s, int opt, int64_t *ns);
/* Parses the PORT operand; 0, or -1 after one line on stderr. */
int bs_port(const char *s, int *port);
/* Checks a KEY operand (1 to AUTH_KEY_MAX bytes); 0, or -1 after one line
 * on stderr. */
int bs_key(const char *key);
/* The namespace, checked; NULL after one line on stderr. */
const char *bs_ns_checked(void);

/* After a wait slice or EINTR: bash's own handling, as its read does it
 * (a terminating signal or an untrapped SIGINT does not return; traps run,
 * then the caller goes on waiting). The builtin's name for its messages
 * is kept, though a trap runs other commands. */
void bs_check_signals(void);
/* For a wait that sleeps with every signal blocked: a signal bash has yet
 * to act on (a trap that cannot run now, inside another trap, is left for
 * later rather than spun on). */
int bs_signal_pending(void);
/* Milliseconds-free deadline arithmetic: ns left until deadline (>= 0). */
int64_t bs_left(int64_t deadline);

/* Spawns a helper and waits for its report; on an interrupt the helper is
 * killed before bash's handling takes over. argv: the helper program's
 * command line (helper_argv.h), which it runs with the shell's exported
 * environment when it is installed; else fn(arg) runs in the forked copy.
 * Returns the PID with *rep filled (rep->status 0), or -1 after one line on
 * stderr with *status the builtin's exit status. */
pid_t bs_spawn(helper_fn fn, void *arg, char *const *argv, const char *procname,
    const char *subject, struct helper_report *rep, int *status);
/* bs_spawn for a binding's helper, then its PID printed (or assigned to
 * var when not NULL): the builtin's exit status. */
int bs_bind(helper_fn fn, void *arg, char *const *argv, const char *procname,
    const char *id, const char *var);

/* pool and master: relays the helper's messages ('O' lines to stdout, 'E'
 * lines to stderr) until it ends, and returns its status. On a signal the
 * helper gets SIGTERM and stop_ns to finish before bash's handling runs. */
int bs_relay(struct pool_link *l, int64_t stop_ns);

#endif
