/* waker: futex words to an eventfd, in a thread; see waker.h. */
#include "waker.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAKER_NAP 100000L /* one look without announcing, ns */
#define WAKER_NAPS 20

#ifndef FUTEX_32
#define FUTEX_32 2
#endif

static uint32_t
waker_load(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void
waker_signal(struct waker *w)
{
	uint64_t one = 1;

	while (write(w->efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

/* Sleeps until a watched word differs from seen[], announced in the
 * hints. Falls back to a 10 ms nap where futex_waitv is missing. */
static void
waker_sleep(struct waker *w, const uint32_t *seen)
{
	struct futex_waitv fw[WAKER_WORDS];
	struct timespec nap = {0, 10000000};
	int i, k = 0, changed = 0, on[WAKER_WORDS];

	for (i = 0; i < WAKER_WORDS; i++) {
		on[i] = __atomic_load_n(&w->want[i], __ATOMIC_ACQUIRE);
		if (!on[i])
			continue;
		__atomic_add_fetch(w->hint[i], 1, __ATOMIC_SEQ_CST);
		memset(&fw[k], 0, sizeof(fw[k]));
		fw[k].uaddr = (uintptr_t)w->word[i];
		fw[k].val = seen[i];
		fw[k].flags = FUTEX_32;
		k++;
		if (waker_load(w->word[i]) != seen[i])
			changed = 1;
	}
	if (!changed && !__atomic_load_n(&w->quit, __ATOMIC_ACQUIRE) &&
	    syscall(SYS_futex_waitv, fw, k, 0, NULL, CLOCK_MONOTONIC) == -1 &&
	    errno == ENOSYS)
		nanosleep(&nap, NULL);
	for (i = 0; i < WAKER_WORDS; i++)
		if (on[i])
			__atomic_sub_fetch(w->hint[i], 1, __ATOMIC_SEQ_CST);
}

static void *
waker_main(void *arg)
{
	struct waker *w = arg;
	struct timespec nap = {0, WAKER_NAP};
	uint32_t seen[WAKER_WORDS];
	int i, naps = WAKER_NAPS, moved;

	/* Taken by waker_start, before it returned: a change made after
	 * that, however soon, is one this thread sees. */
	for (i = 0; i < WAKER_WORDS; i++)
		seen[i] = w->start[i];
	while (!__atomic_load_n(&w->quit, __ATOMIC_ACQUIRE)) {
		moved = 0;
		for (i = 0; i < WAKER_WORDS; i++) {
			uint32_t v = waker_load(w->word[i]);

			if (v != seen[i]) {
				seen[i] = v;
				if (__atomic_load_n(
					&w->want[i], __ATOMIC_ACQUIRE))
					moved = 1;
			}
		}
		if (moved) {
			waker_signal(w);
			naps = 0;
		} else if (naps < WAKER_NAPS) {
			naps++;
			nanosleep(&nap, NULL);
		} else {
			waker_sleep(w, seen);
		}
	}
	return NULL;
}

int
waker_start(
    struct waker *w, uint32_t *w0, uint32_t *h0, uint32_t *w1, uint32_t *h1)
{
	pthread_attr_t at;
	sigset_t all, old;
	int e;

	memset(w, 0, sizeof(*w));
	w->word[0] = w0;
	w->hint[0] = h0;
	w->want[0] = 1;
	w->word[1] = w1;
	w->hint[1] = h1;
	w->start[0] = waker_load(w0);
	w->start[1] = w1 != NULL ? waker_load(w1) : 0;
	if ((w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return -1;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&w->t, &at, waker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (e != 0) {
		close(w->efd);
		w->efd = -1;
		errno = e;
		return -1;
	}
	w->started = 1;
	return 0;
}

void
waker_want(struct waker *w, int i, int on)
{
	if (__atomic_load_n(&w->want[i], __ATOMIC_ACQUIRE) == on)
		return;
	__atomic_store_n(&w->want[i], on, __ATOMIC_RELEASE);
	if (on) {
		/* The thread may sleep on the other word only: wake it so
		 * that it watches this one too. */
		__atomic_add_fetch(w->word[0], 0, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, w->word[0], FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

void
waker_drain(struct waker *w)
{
	uint64_t v;

	while (read(w->efd, &v, sizeof(v)) == -1 && errno == EINTR)
		;
}

void
waker_stop(struct waker *w)
{
	if (!w->started)
		return;
	__atomic_store_n(&w->quit, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, w->word[0], FUTEX_WAKE, 1, NULL, NULL, 0);
	if (w->word[1] != NULL)
		syscall(SYS_futex, w->word[1], FUTEX_WAKE, 1, NULL, NULL, 0);
	pthread_join(w->t, NULL);
	close(w->efd);
	w->efd = -1;
	w->started = 0;
}
