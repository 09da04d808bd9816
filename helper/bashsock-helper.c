/*
 * bashsock-helper: the input and output helpers as a program of their own.
 *
 * bashsock.so starts this program (found next to the shared object) rather
 * than run the helper in a forked copy of the shell: an idle helper then
 * holds a fraction of the private memory a copy of bash does. It starts it
 * in the state a forked helper gets (helper_spawn: /dev/null on 0-2, the
 * report pipe on 3, no other descriptor, every signal at its default and
 * none blocked, a session of its own); the command line is in
 * lib/helper_argv.h:
 *
 *   bashsock-helper in  NS ID PORT CAP ONE MAX ACL [ADDR]
 *   bashsock-helper out NS ID HOST PORT CAP TIMEOUT_NS RECONNECT
 *
 * (argv[0] is bashsock-in or bashsock-out, its name in ps, which it also
 * takes as its process name.)
 *
 * It is not meant to be run by hand: without the report pipe on 3 it only
 * says so. No bash header here, and no libcrypto: it links the lib/ objects
 * the two helpers need and nothing else.
 */
#include "auth.h"
#include "helper.h"
#include "helper_argv.h"
#include "input.h"
#include "output.h"
#ifdef BASHSOCK_TLS
#include "tls.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORT_FD 3

int
main(int argc, char **argv)
{
	struct input_opts in;
	struct output_opts out;
	struct stat st;
	static char proof[AUTH_HEX + 1];

	if (fstat(REPORT_FD, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		fprintf(stderr,
		    "%s: run by bashsock.so only (its report pipe on fd %d)\n",
		    HELPER_PROGRAM, REPORT_FD);
		return 2;
	}
#ifdef BASHSOCK_TLS
	/* bashsock-helper-tls: the same program with the TLS layer. */
	tls_register();
#endif
	/* Nothing this process may start gets the pipe. */
	fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
	if (helper_argv_parse_input(argc, argv, &in) == 0) {
		prctl(PR_SET_NAME, "bashsock-in", 0, 0, 0);
		if (helper_argv_proof_take(&in, proof, sizeof(proof)) == -1) {
			helper_fail(REPORT_FD, 2, EINVAL,
			    "%s: pool binding without its proof",
			    HELPER_PROGRAM);
			return 2;
		}
		return input_main(&in, REPORT_FD);
	}
	if (helper_argv_parse_output(argc, argv, &out) == 0) {
		prctl(PR_SET_NAME, "bashsock-out", 0, 0, 0);
		return output_main(&out, REPORT_FD);
	}
	helper_fail(
	    REPORT_FD, 2, EINVAL, "%s: invalid arguments", HELPER_PROGRAM);
	return 2;
}
