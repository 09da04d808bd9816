/* line: bounded line I/O, non-blocking and with a deadline: see line.h. */
#include "line.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
line_in_fill(int fd, struct line_in *l)
{
	ssize_t r;
	char *nl;

	for (;;) {
		if (l->len == sizeof(l->buf)) {
			errno = EPROTO;
			return -1;
		}
		r = recv(
		    fd, l->buf + l->len, sizeof(l->buf) - l->len, MSG_DONTWAIT);
		if (r == -1) {
			if (errno == EINTR)
				continue; /* MSG_DONTWAIT: nothing waited */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		l->len += (size_t)r;
		if ((nl = memchr(l->buf, '\n', l->len)) == NULL)
			continue;
		if (nl != l->buf + l->len - 1 ||
		    memchr(l->buf, '\0', (size_t)(nl - l->buf)) != NULL) {
			errno = EPROTO;
			return -1;
		}
		*nl = '\0';
		return 1;
	}
}

int
line_out_set(struct line_out *o, const char *line)
{
	size_t len = strlen(line);

	o->len = o->off = 0;
	if (memchr(line, '\n', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (len > sizeof(o->buf) - 1) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(o->buf, line, len);
	o->buf[len++] = '\n';
	o->len = len;
	return 0;
}

int
line_out_flush(int fd, struct line_out *o)
{
	ssize_t w;

	while (o->off < o->len) {
		w = send(fd, o->buf + o->off, o->len - o->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w >= 0) {
			o->off += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue; /* MSG_DONTWAIT: nothing waited */
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
	return 1;
}

char *
line_take(char *buf, size_t len, size_t *off, size_t *n)
{
	char *line = buf + *off, *nl;

	if ((nl = memchr(line, '\n', len - *off)) == NULL)
		return NULL;
	*nl = '\0';
	*n = (size_t)(nl - line);
	*off += *n + 1;
	return line;
}

void
line_drop(char *buf, size_t *len, size_t off)
{
	*len -= off;
	memmove(buf, buf + off, *len);
}

int
line_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int ms, n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		ms = clock_ms_left(deadline, clock_now());
		if ((n = poll(&pfd, 1, ms)) > 0)
			return 0;
		if (n == -1)
			return -1;
		if (ms == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

ssize_t
line_read(int fd, char *buf, size_t len, int64_t deadline)
{
	size_t n = 0;
	ssize_t r;
	char c;

	if (buf == NULL || len == 0) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		if (line_wait(fd, POLLIN, deadline) == -1)
			break;
		/* One byte at a time: what follows the newline is not ours. */
		if ((r = read(fd, &c, 1)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				continue; /* poll said ready: nothing waits */
			break;
		}
		if (r == 0) {
			errno = ECONNRESET;
			break;
		}
		if (c == '\n') {
			buf[n] = '\0';
			return (ssize_t)n;
		}
		if (n == len - 1) {
			errno = EMSGSIZE;
			break;
		}
		buf[n++] = c;
	}
	buf[0] = '\0';
	return -1;
}

int
line_write(int fd, const char *line, int64_t deadline)
{
	struct line_out o;
	int r;

	if (line_out_set(&o, line) == -1)
		return -1;
	while ((r = line_out_flush(fd, &o)) == 0)
		if (line_wait(fd, POLLOUT, deadline) == -1)
			break;
	explicit_bzero(o.buf, sizeof(o.buf));
	return r == 1 ? 0 : -1;
}
