/* Unit tests of lib/nsview.c: run under ASan and UBSan by `make test`. */
#include "bind.h"
#include "check.h"
#include "nsview.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
	int i, k, st = 0, misses = 0, lookups = 0, done;
	struct timespec t0, t1;

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
	/* Bounded by time, 60 s: the child makes 2,000 changes, and each
	 * creation sweeps the namespace (a flock test per file), so how many
	 * lookups fit meanwhile depends on the machine's load. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; (done = waitpid(pid, &st, WNOHANG)) == 0; i++) {
		lookups++;
		if (nsv_find(v, "old", RING_IN) == NULL)
			misses++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 60)
			break;
	}
	if (done == 0) {
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

/* 1 when the namespace directory of NS exists. */
static int
ns_exists(const char *ns)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/bashsock/%s",
	    getenv("XDG_RUNTIME_DIR"), ns);
	return stat(path, &st) == 0;
}

/* The last binding takes the namespace directory along; a view that had
 * the old counter mapped still sees a binding made afterwards, at once. */
static void
test_ns_removed(void)
{
	struct binding a, b;
	struct nsview *v;

	CHECK(bind_create(&a, "unitgone", "one", 4096, RING_IN, 0) == 0);
	CHECK((v = nsv_get("unitgone", 1)) != NULL);
	if (v == NULL)
		return;
	CHECK(nsv_find(v, "one", RING_IN) != NULL);
	bind_remove(&a);
	CHECK(!ns_exists("unitgone"));
	/* Made again by someone else, as a new bind-input would. */
	CHECK(bind_create(&b, "unitgone", "two", 4096, RING_IN, 0) == 0);
	CHECK(nsv_find(v, "two", RING_IN) != NULL);
	CHECK(nsv_find(v, "one", 0) == NULL);
	bind_remove(&b);
	CHECK(!ns_exists("unitgone"));
	/* A lookup in between makes the directory again (as a first use
	 * does); the next creation still bumps the counter the view has. */
	CHECK(nsv_find(v, "two", 0) == NULL);
	CHECK(bind_create(&b, "unitgone", "three", 4096, RING_IN, 0) == 0);
	CHECK(nsv_find(v, "three", RING_IN) != NULL);
	bind_remove(&b);
	CHECK(bind_sweep("unitgone") == 0);
	CHECK(!ns_exists("unitgone"));
}

/* A stale file (its owner died without removing it) is swept with its
 * buffer, and the namespace with it when nothing else is left. */
static void
test_sweep(void)
{
	struct binding a;
	pid_t pid;
	int st;

	if ((pid = fork()) == 0) {
		if (bind_create(&a, "unitsweep", "dead", 1 << 20, RING_IN, 0))
			_exit(2);
		_exit(0); /* dies holding it: the file stays, stale */
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0);
	CHECK(ns_exists("unitsweep"));
	CHECK(bind_open(&a, "unitsweep", "dead") == -1 && errno == ENOENT);
	CHECK(bind_sweep("unitsweep") == 1);
	CHECK(!ns_exists("unitsweep"));
	CHECK(bind_sweep("unitsweep") == 0);
	CHECK(!ns_exists("unitsweep"));
}

/* Two processes create and remove bindings in one namespace, so that its
 * directory comes and goes under them: every creation succeeds, and each
 * binding is found by path and by the process's view right after. */
static void
test_ns_churn(void)
{
	pid_t pid[2];
	int c, k, st, bad;

	for (c = 0; c < 2; c++) {
		if ((pid[c] = fork()) == 0) {
			struct binding b;
			struct binding o;
			struct nsview *v;
			char id[32];

			alarm(60); /* bounded: a hang is a failure */
			bad = 0;
			for (k = 0; k < 300; k++) {
				snprintf(id, sizeof(id), "c%d_%d", c, k);
				if (bind_create(&b, "unitchurn", id, 4096,
					RING_IN, 0) == -1) {
					perror(id);
					_exit(2);
				}
				if (bind_open(&o, "unitchurn", id) == 0)
					bind_close(&o);
				else
					bad++;
				if ((v = nsv_get("unitchurn", 1)) == NULL ||
				    nsv_find(v, id, RING_IN) == NULL)
					bad++;
				bind_remove(&b);
			}
			_exit(bad == 0 ? 0 : 3);
		}
	}
	for (c = 0; c < 2; c++)
		CHECK(pid[c] > 0 && waitpid(pid[c], &st, 0) == pid[c] &&
		      WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(bind_sweep("unitchurn") == 0);
	CHECK(!ns_exists("unitchurn"));
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
	test_ns_removed();
	test_sweep();
	test_ns_churn();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	if (failures > 0) {
		fprintf(stderr, "test_nsview: %d failures\n", failures);
		return 1;
	}
	fprintf(stderr, "test_nsview: all passed\n");
	return 0;
}
