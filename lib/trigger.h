/*
 * trigger: the socket side of trigger-wait and trigger-send.
 *
 * The waiter listens and runs up to TRIGGER_MAX_PENDING handshakes at once
 * in one poll loop, each with its own non-blocking line buffer and its own
 * deadline (TRIGGER_HANDSHAKE_NS), so junk, port scans, wrong keys and
 * silent peers are dropped without ever delaying a valid sender. When every
 * slot is taken, a new connection takes the slot of the oldest handshake.
 * The sender connects and runs the client side of lib/auth's handshake.
 *
 * Both are driven one step at a time by the caller, which handles signals
 * between steps; every descriptor lives in the object and is released by
 * its *_close, which a caller may register to run when it is unwound.
 *
 * A step waits at most timeout_ns (-1: no limit) in ppoll(). pending, when
 * not NULL, is called with every signal blocked just before the wait; when
 * it returns non-zero the step returns 0 at once, and otherwise the wait
 * unblocks the signals atomically (the caller's mask is restored after it),
 * so a signal that arrives just before the wait interrupts it instead of
 * being slept through. A step returns 0 when it was interrupted, timed out
 * or made progress without finishing; the caller then checks its signals
 * and its own deadline and calls it again.
 */
#ifndef BASHSOCK_TRIGGER_H
#define BASHSOCK_TRIGGER_H

#include <stddef.h>
#include <stdint.h>

#define TRIGGER_PURPOSE "trigger"	  /* lib/auth purpose token */
#define TRIGGER_MAX_PENDING 64		  /* handshakes in progress at once */
#define TRIGGER_HANDSHAKE_NS 5000000000LL /* per handshake, from accept */
#define TRIGGER_ERR 160			  /* enough for any err text */

/* Called with every signal blocked: non-zero when a signal is waiting to be
 * handled, so the step must not sleep. */
typedef int (*trigger_pending_fn)(void);

struct trigger_waiter;
struct trigger_sender;

/*
 * Listens on addr:port (addr NULL: every IPv6 and IPv4 address; port 0: a
 * free one) for senders of key (1 to AUTH_KEY_MAX bytes, copied). Returns
 * the waiter, or NULL with errno (EINVAL, ENOMEM, EADDRINUSE...) and the
 * reason in err.
 */
struct trigger_waiter *trigger_wait_open(const char *addr, int port,
    const char *key, size_t keylen, char *err, size_t errlen);

/* One step: 1 once a sender proved the key and was sent OK; 0 (see above);
 * -1 with errno when waiting failed (the waiter is then unusable). */
int trigger_wait_step(
    struct trigger_waiter *w, int64_t timeout_ns, trigger_pending_fn pending);

/* Handshakes in progress, and the port listened on. */
int trigger_wait_pending(const struct trigger_waiter *w);
int trigger_wait_port(const struct trigger_waiter *w);

/* Closes every descriptor, wipes the key and frees w (NULL is a no-op). */
void trigger_wait_close(struct trigger_waiter *w);

/*
 * Resolves host (a blocking lookup) for a trigger to port with key (copied).
 * Returns the sender, which connects on its first step; or NULL with errno
 * (ENOENT: host unknown, EINVAL, ENOMEM) and the reason in err.
 */
struct trigger_sender *trigger_send_open(const char *host, int port,
    const char *key, size_t keylen, char *err, size_t errlen);

/* One step: 1 once the waiter accepted the key and proved it in turn; 0
 * (see above); -1 with errno and "what failed: why" in err: ECONNREFUSED or
 * another connect error (every address tried), EACCES (key refused, or a
 * peer that does not know the key), EPROTO (not a trigger-wait),
 * ECONNRESET (connection closed), or another socket error. */
int trigger_send_step(struct trigger_sender *s, int64_t timeout_ns,
    trigger_pending_fn pending, char *err, size_t errlen);

/* What the sender is waiting for now ("connecting", "waiting for the
 * challenge", ...), for a timeout message. */
const char *trigger_send_phase(const struct trigger_sender *s);

/* Closes the connection, wipes the key and frees s (NULL is a no-op). */
void trigger_send_close(struct trigger_sender *s);

#endif
