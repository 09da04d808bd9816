/* bs: shared bash-side helpers of the bashsock builtins. */
#include "bs.h"

#include "arrayfunc.h"
#include "execute_cmd.h"

#include "auth.h"
#include "parse.h"
#include "pool.h"

#include <signal.h>
#include <sys/wait.h>

const char *
bs_ns(void)
{
	const char *ns = get_string_value("BASHSOCK_NS");

	return (ns == NULL || *ns == '\0') ? "default" : ns;
}

int
bs_var_ok(const char *name)
{
	if (legal_identifier(name) || valid_array_reference(name, 0))
		return 0;
	return -1;
}

int
bs_setvar(const char *name, const char *value)
{
	SHELL_VAR *v = builtin_bind_variable((char *)name, (char *)value, 0);

	if (v == NULL || readonly_p(v) || noassign_p(v))
		return -1;
	return 0;
}

int
bs_setarray(const char *name, char *const *val, size_t n)
{
	WORD_LIST *list = NULL;
	SHELL_VAR *v;
	size_t i;

	/* As bash's read -a: an existing array is emptied, a scalar turned
	 * into one; a readonly one is refused (bash says why). */
	if ((v = find_or_make_array_variable((char *)name, 1)) == NULL)
		return -1;
	if (readonly_p(v) || noassign_p(v))
		return -1;
	array_flush(array_cell(v));
	for (i = n; i > 0; i--)
		list = make_word_list(make_word(val[i - 1]), list);
	assign_array_var_from_word_list(v, list, 0);
	dispose_words(list);
	return 0;
}

int
bs_emit(const char *var, const char *buf, size_t n)
{
	char *s, *d;
	size_t i;
	int rc;

	if (var == NULL) {
		if (n > 0 && fwrite(buf, 1, n, stdout) != n)
			return sh_chkwrite(EXECUTION_FAILURE);
		return sh_chkwrite(EXECUTION_SUCCESS);
	}
	/* A shell variable cannot hold NUL: drop them, as bash's read does. */
	if ((s = malloc(n + 1)) == NULL) {
		builtin_error("%s: out of memory", var);
		return EXECUTION_FAILURE;
	}
	for (i = 0, d = s; i < n; i++)
		if (buf[i] != '\0')
			*d++ = buf[i];
	*d = '\0';
	rc = bs_setvar(var, s) == 0 ? EXECUTION_SUCCESS : EXECUTION_FAILURE;
	free(s);
	return rc;
}

int
bs_secs(const char *s, int opt, int64_t *ns)
{
	if (parse_secs(s, ns) == -1) {
		builtin_error("-%c: %s: invalid number of seconds", opt, s);
		return -1;
	}
	return 0;
}

int
bs_port(const char *s, int *port)
{
	if (parse_port(s, port) == -1) {
		builtin_error("%s: invalid port (1024 to 49151)", s);
		return -1;
	}
	return 0;
}

int
bs_key(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > AUTH_KEY_MAX) {
		builtin_error("invalid key (1 to %d bytes)", AUTH_KEY_MAX);
		return -1;
	}
	return 0;
}

const char *
bs_ns_checked(void)
{
	const char *ns = bs_ns();

	if (parse_id(ns) == -1) {
		builtin_error("BASHSOCK_NS: %s: invalid namespace", ns);
		return NULL;
	}
	return ns;
}

void
bs_check_signals(void)
{
	char *name = this_command_name;

	CHECK_TERMSIG;
	check_signals_and_traps();
	this_command_name = name;
}

int
bs_signal_pending(void)
{
	return interrupt_state || terminating_signal ||
	       (trapped_signal_received && running_trap == 0);
}

int64_t
bs_left(int64_t deadline)
{
	int64_t left = deadline - helper_now();

	return left > 0 ? left : 0;
}

/* The helper program is looked for as the object is loaded: a relative
 * path it was loaded by (enable -f ./bashsock.so) is relative to the
 * directory of that moment. */
__attribute__((constructor)) static void
bs_locate(void)
{
	helper_locate();
}

pid_t
bs_spawn(helper_fn fn, void *arg, char *const *argv, const char *procname,
    const char *subject, struct helper_report *rep, int *status)
{
	pid_t pid;
	int fd;

	/* What a command started now would get: bash keeps environ as it
	 * was at start-up (unset or newly exported variables are not in it). */
	maybe_make_export_env();
	if ((pid = helper_spawn(fn, arg, procname, argv, export_env, &fd)) ==
	    -1) {
		builtin_error(
		    "%s: cannot start helper: %s", subject, strerror(errno));
		*status = EXECUTION_FAILURE;
		return -1;
	}
	while (helper_report_read(fd, rep) == -1) {
		if (errno == EINTR) {
			if (interrupt_state || terminating_signal) {
				/* The helper goes before bash's handling,
				 * which does not return here. */
				kill(pid, SIGTERM);
				close(fd);
				bs_check_signals();
				*status = 128 + SIGINT;
				return -1;
			}
			bs_check_signals();
			continue;
		}
		close(fd);
		waitpid(pid, NULL, WNOHANG);
		builtin_error("%s: helper died before it was ready", subject);
		*status = EXECUTION_FAILURE;
		return -1;
	}
	close(fd);
	if (rep->status != 0) {
		waitpid(pid, NULL, 0);
		builtin_error("%s", rep->msg);
		*status = rep->status;
		return -1;
	}
	*status = EXECUTION_SUCCESS;
	return pid;
}

int
bs_bind(helper_fn fn, void *arg, char *const *argv, const char *procname,
    const char *id, const char *var)
{
	struct helper_report rep;
	char pidbuf[32];
	int status;
	pid_t pid;

	if ((pid = bs_spawn(fn, arg, argv, procname, id, &rep, &status)) == -1)
		return status;
	if (var != NULL) {
		snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)pid);
		return bs_setvar(var, pidbuf) == 0 ? EXECUTION_SUCCESS
						   : EXECUTION_FAILURE;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)pid);
	return bs_emit(NULL, pidbuf, strlen(pidbuf));
}

int
bs_relay(struct pool_link *l, int64_t stop_ns)
{
	char line[POOL_MSG_MAX];
	int k;

	for (;;) {
		k = pool_link_next(l, line, sizeof(line), BS_SLICE);
		if (k == 'O') {
			printf("%s\n", line);
			fflush(stdout);
		} else if (k == 'E') {
			builtin_error("%s", line);
		} else if (k == 'X') {
			pool_link_close(l);
			return l->status;
		} else if (k == -1) {
			builtin_error("helper died");
			return EXECUTION_FAILURE;
		} else {
			if (interrupt_state || terminating_signal)
				pool_link_stop(l, stop_ns);
			bs_check_signals();
			if (l->fd == -1)
				return 128 + SIGINT;
		}
	}
}
