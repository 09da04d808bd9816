/* Unit tests of lib/nsview.c: run under ASan and UBSan by `make test`. */
#include "bind.h"
#include "check.h"
#include "nsview.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS "unitnsv"

/* Names come and go; the view sees each at once and loses none. */
static void
test_lookup(void)
{
	struct binding a;
	struct nsview *v;

	CHECK((v = nsv_get(NS, 1)) != NULL);
	if (v == NULL)
		return;
	CHECK(nsv_find(v, "one", 0) == NULL);
	CHECK(bind_create(&a, NS, "one", 4096, RING_IN, 0) == 0);
	CHECK(nsv_find(v, "one", RING_IN) != NULL);
	CHECK(nsv_find(v, "one", RING_OUT) == NULL);
	CHECK(nsv_find(v, "two", 0) == NULL);
	bind_remove(&a);
	CHECK(nsv_find(v, "one", 0) == NULL);
}

/* A binding that lives all along is found on every lookup while another
 * process creates and removes hundreds of others: a refresh that reads
 * the directory while names are added must not drop the old ones. */
static void
test_churn(void)
{
	struct binding old, b[200];
	struct nsview *v;
	char id[32];
	pid_t pid;
	int i, k, st, misses = 0, lookups = 0;

	CHECK(bind_create(&old, NS, "old", 4096, RING_IN, 0) == 0);
	CHECK((v = nsv_get(NS, 1)) != NULL);
	if (v == NULL)
		return;
	if ((pid = fork()) == 0) {
		for (k = 0; k < 5; k++) {
			for (i = 0; i < 200; i++) {
				snprintf(id, sizeof(id), "n%d", i);
				if (bind_create(
					&b[i], NS, id, 4096, RING_IN, 0) == -1)
					_exit(2);
			}
			for (i = 0; i < 200; i++)
				bind_remove(&b[i]);
		}
		_exit(0);
	}
	CHECK(pid > 0);
	/* Bounded: the child makes 2,000 changes; a lookup is microseconds. */
	for (i = 0; i < 2000000 && waitpid(pid, &st, WNOHANG) == 0; i++) {
		lookups++;
		if (nsv_find(v, "old", RING_IN) == NULL)
			misses++;
	}
	if (i == 2000000) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (misses > 0)
		fprintf(stderr, "test_churn: %d of %d lookups missed\n", misses,
		    lookups);
	CHECK(misses == 0);
	CHECK(lookups > 100);
	bind_remove(&old);
}

int
main(void)
{
	char dir[] = "/dev/shm/test_nsview.XXXXXX", cmd[64];

	if (mkdtemp(dir) == NULL || setenv("XDG_RUNTIME_DIR", dir, 1) == -1) {
		perror("test_nsview: setup");
		return 2;
	}
	test_lookup();
	test_churn();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	if (failures > 0) {
		fprintf(stderr, "test_nsview: %d failures\n", failures);
		return 1;
	}
	fprintf(stderr, "test_nsview: all passed\n");
	return 0;
}
