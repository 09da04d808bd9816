/*
 * waker: a helper's second thread, which turns changes of futex words in
 * the shared mapping (a writer published on tx, a reader made room on rx)
 * into an eventfd that the helper's one loop polls beside its sockets.
 *
 * The thread waits on up to WAKER_WORDS words at once (futex_waitv),
 * announcing itself in each word's waiter count only while it sleeps, so a
 * publish that finds nobody announced makes no syscall. After a signal it
 * looks again a few times without announcing itself (a burst of writes
 * follows one write), then sleeps. It never touches anything else of the
 * helper, blocks every signal, and ends with waker_stop.
 */
#ifndef BASHSOCK_WAKER_H
#define BASHSOCK_WAKER_H

#include <pthread.h>
#include <stdint.h>

#define WAKER_WORDS 2

struct waker {
	int efd; /* readable while a word changed since the last drain */
	uint32_t *word[WAKER_WORDS];
	uint32_t *hint[WAKER_WORDS]; /* waiter count announced on word i */
	int want[WAKER_WORDS];	     /* watch word i (set by the loop) */
	uint32_t start[WAKER_WORDS]; /* the words' values at waker_start */
	int quit;
	int started;
	pthread_t t;
};

/* Starts the thread on words w0 (with waiter count h0, always watched)
 * and w1/h1 (watched while waker_want(w, 1, 1)). 0 or -1 with errno. */
int waker_start(
    struct waker *w, uint32_t *w0, uint32_t *h0, uint32_t *w1, uint32_t *h1);
/* Watch word i or not (the loop wants rx room, say). */
void waker_want(struct waker *w, int i, int on);
/* Empties the eventfd after the loop saw it readable. */
void waker_drain(struct waker *w);
/* Ends the thread and closes the eventfd. */
void waker_stop(struct waker *w);

#endif
