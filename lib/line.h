/*
 * line: the bounded line I/O of the handshakes (trigger-wait/-send,
 * pool/master): a non-blocking reader and writer over a fixed buffer, and
 * blocking wrappers with a deadline (absolute, on clock_now()'s clock;
 * LINE_NO_DEADLINE waits for ever). A line is at most LINE_BYTES bytes,
 * newline included.
 */
#ifndef BASHSOCK_LINE_H
#define BASHSOCK_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LINE_BYTES 512 /* one line, newline included */
#define LINE_NO_DEADLINE INT64_MAX

/* A line coming in. Invariant: buf[0..len) holds what was read of the
 * current line, no newline among it, and len < sizeof(buf) until a whole
 * line (newline replaced by NUL) is in. Zeroed: empty. */
struct line_in {
	char buf[LINE_BYTES];
	size_t len;
};

/* A line going out: buf[off..len) is still to go. */
struct line_out {
	char buf[LINE_BYTES];
	size_t len, off;
};

/*
 * Reads what socket fd has into l, without blocking. 1 when l holds a
 * whole line (its newline replaced by NUL); 0 when more must come; -1
 * with errno: ECONNRESET (end of file), EPROTO (longer than LINE_BYTES, a
 * NUL byte, or bytes after the newline: a peer that does not wait for its
 * turn), or a read error.
 */
int line_in_fill(int fd, struct line_in *l);

/* Queues line and a newline in o. 0, or -1 with EINVAL (a newline in
 * line) or EMSGSIZE (longer than LINE_BYTES - 1), o then empty. */
int line_out_set(struct line_out *o, const char *line);

/* Sends what is left of o on socket fd, without blocking or SIGPIPE. 1
 * when all is sent, 0 when the socket is full, -1 with errno. */
int line_out_flush(int fd, struct line_out *o);

/* For buffers that hold several lines at once (the pool's connections,
 * a helper's message pipe): the next whole line in buf[*off..len), its
 * newline replaced by NUL and its length in *n (it may hold NUL bytes);
 * *off moves past it. NULL when no newline follows *off. */
char *line_take(char *buf, size_t len, size_t *off, size_t *n);

/* Drops buf[0..off) of buf[0..*len) (the lines taken): what is left moves
 * to the front. */
void line_drop(char *buf, size_t *len, size_t off);

/* Waits until fd is ready for events or the deadline passes. 0 when ready
 * (or in error: the next call says which), -1 with ETIMEDOUT or EINTR. */
int line_wait(int fd, short events, int64_t deadline);

/*
 * Reads one line from fd (blocking or not, a socket or a pipe) into buf,
 * without its newline, NUL-terminated, never reading past the newline.
 * Returns its length (it may contain NUL bytes), or -1 with EMSGSIZE when
 * more than len - 1 bytes come before the newline, ECONNRESET at end of
 * file before a newline (even with nothing read), ETIMEDOUT, EINTR or a
 * read error.
 */
ssize_t line_read(int fd, char *buf, size_t len, int64_t deadline);

/*
 * Writes line and a newline to socket fd (blocking or not) without
 * SIGPIPE, in one send when it can (no tiny second segment). Returns 0
 * once all is queued, or -1 with EINVAL (newline in line), EMSGSIZE
 * (longer than LINE_BYTES - 1), ETIMEDOUT, EINTR, EPIPE... The copy it
 * sent from is wiped (a proof may be in it).
 */
int line_write(int fd, const char *line, int64_t deadline);

#endif
