/*
 * direct: the shell's own path to a binding's one connection.
 *
 * A request and its answer through the helper cost four process switches
 * (shell, helper, peer, helper, shell); a shell that sends and receives on
 * the socket itself pays two, as /dev/tcp does. The helper offers the
 * descriptor of its connection in the header (ring.h's struct
 * ring_direct) when it has exactly one plain TCP connection: an output
 * binding's, or a -1 input binding's client. A process of the same user
 * takes a copy of it for the length of one call (pidfd_getfd(2)) and
 * closes it before it returns or runs the shell's traps, so the shell
 * keeps no descriptor and its children inherit none.
 *
 * Everything stays in the rings: what a shell receives goes into rx (other
 * readers of the binding read it as ever), what it sends comes out of tx
 * and, for an output binding, stays there until the peer acknowledged it,
 * exactly as when the helper sends (a lost connection loses nothing). The
 * locks of ring.h's struct ring_direct decide who may send and receive;
 * the helper keeps what only it can do: accepting, reconnecting, the end
 * of the stream, a loss, and draining at close. Whenever a shell cannot
 * take the path (no descriptor offered, a lock held, TLS, another user's
 * process, BASHSOCK_DIRECT=0 in its environment) it leaves the work to
 * the helper, as before.
 */
#ifndef BASHSOCK_DIRECT_H
#define BASHSOCK_DIRECT_H

#include "ring.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* --- shell side --- */

/* A copy of the connection's descriptor (O_CLOEXEC) and its generation
 * (*gen), or -1 when the path is not open to this process now. Close it
 * with direct_put. */
int direct_get(const struct ring *r, uint32_t *gen);
void direct_put(int fd);
/* 1 while the connection of generation gen is still the binding's. */
int direct_current(const struct ring *r, uint32_t gen);

/* Takes the receiver's lock for pid (rx then has one producer: pid) and
 * sets mode. 0, or -1 when another process holds it. */
int direct_rlock(struct ring *rx, pid_t pid);
/* Lets the receiver's lock go. When readers still wait on rx (they wait
 * for the helper), or the shell met the end or a loss (handback), the
 * helper takes the input back; when it waits for the lock, it is rung. */
void direct_runlock(struct ring *rx, pid_t pid, int handback);
/* Receives what the socket holds into rx's room, published at once.
 * The count, 0 when nothing is there (or rx is full), -1 at the peer's
 * end or on an error: hand back. */
ssize_t direct_recv(struct ring *rx, int fd);
/* Waits up to ns for fd to become readable (or to end). 1 readable, 0
 * timed out, -1 interrupted (a signal: run the shell's handling). */
int direct_wait(int fd, int64_t ns);
/* A process that waits for rx without a copy: the helper receives again
 * (mode cleared, the helper rung) unless another process holds rlock. */
void direct_handback(struct ring *rx);

/* Output bindings: sends what tx holds past sent (pid takes slock), then
 * lets go of what the peer acknowledged. 0 when nothing is left unsent,
 * -1 otherwise: poke the helper (ring_poke on tx). */
int direct_flush(struct ring *tx, pid_t pid);
/* 1 when tx holds bytes no one has sent yet. */
int direct_unsent(const struct ring *tx);

/* Input bindings: sends buf to the offered client itself, when its
 * writer holds the client's lock and nothing waits for it (no record in
 * tx, nothing queued): the count sent (0: none), the rest for records. */
size_t direct_send(const struct ring *tx, const char *buf, size_t n);

/* --- both sides --- */

/* With slock held: of the inflight bytes at tail, unacked are not yet
 * acknowledged (SIOCOUTQ); lets go of the rest (with lines, -r: up to the
 * last acknowledged newline, or all once half the ring waits). Returns the
 * count let go. */
size_t direct_release(struct ring *tx, size_t unacked, int lines);
/* tx's bytes from sent to head (not sent yet) as up to two spans; the
 * span count, 0 when there are none. With slock held. */
int direct_unsent_spans(const struct ring *tx, struct iovec *iov);
/* Bytes at tx's tail handed to the socket and not let go of. */
size_t direct_inflight(const struct ring *tx);

/* --- helper side --- */

/* Offers fd (-1: withdraws it); the helper holds slock. */
void direct_offer(struct ring_hdr *h, int fd);
/* Takes slock or rlock (word) for the helper, whose PID is self; when a
 * shell holds it, sets want so that the shell rings the helper as it lets
 * go. 0 or -1. */
int direct_take(struct ring_hdr *h, uint32_t *word, pid_t self);
void direct_give(uint32_t *word, pid_t self);
/* 1 while a shell receives on the connection itself (mode). */
int direct_shell_receives(const struct ring_hdr *h);
/* The helper's turn to receive (rlock taken for self; direct_give it
 * after). need: the end or a loss is to be seen, so the lock is waited for
 * (want: its holder rings the helper) and the input taken back (mode
 * cleared); otherwise only a free lock while no shell receives. 0, or -1
 * when it is not the helper's turn. */
int direct_receive_turn(struct ring_hdr *h, pid_t self, int need);

#endif
