/*
 * peer: the C side of `make bench`. One small program, several modes, each
 * the fastest plain-socket version of what a bench case needs:
 *
 *   peer send HOST PORT BYTES LINELEN  connect (retrying while refused, up
 *                                      to 10 s), send BYTES as lines of
 *                                      LINELEN bytes, close
 *   peer recv PORT                     listen, take one client, read to end
 *                                      of file; print the byte count
 *   peer echo PORT [BACKPORT]          listen, take one client, send back
 *                                      what it sends (on the same
 *                                      connection, or on a connection to
 *                                      127.0.0.1:BACKPORT) until it closes
 *   peer rtt HOST PORT COUNT           connect, COUNT times send one short
 *                                      line and read it back; print seconds
 *   peer waitlisten PORT MS            exit 0 once a TCP socket listens on
 *                                      PORT (read from /proc/net/tcp*,
 *                                      without connecting), 1 after MS
 *   peer cycle PORT COUNT CMD...       COUNT times: start CMD, connect to
 *                                      127.0.0.1:PORT until it accepts,
 *                                      close, wait for CMD to exit; print
 *                                      seconds per cycle
 *   peer freeports START COUNT         print COUNT ports >= START that
 *                                      nothing is bound to
 *
 * Not linked into bashsock.so; bench/run.sh builds it with cc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long
num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "peer: %s: not a number\n", s);
		exit(2);
	}
	return v;
}

/* A connected socket to host:port, retrying while refused for up to
 * wait_s seconds; -1 with errno otherwise. */
static int
dial(const char *host, const char *port, double wait_s)
{
	struct addrinfo hints, *res, *ai;
	double until = now() + wait_s;
	int fd = -1, e, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "peer: %s: %s\n", host, gai_strerror(e));
		exit(1);
	}
	for (;;) {
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd == -1)
				continue;
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				goto done;
			e = errno;
			close(fd);
			fd = -1;
			errno = e;
		}
		if (errno != ECONNREFUSED || now() > until)
			break;
		usleep(200);
	}
done:
	freeaddrinfo(res);
	if (fd != -1)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* A socket listening on every address (IPv6 and IPv4) at port. */
static int
listen_on(const char *port)
{
	struct sockaddr_in6 sa;
	int fd, one = 1, zero = 0;

	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons((uint16_t)num(port));
	sa.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("bind");
	if (listen(fd, 16) == -1)
		die("listen");
	return fd;
}

static int
accept_one(int lfd)
{
	int fd, one = 1;

	while ((fd = accept(lfd, NULL, NULL)) == -1)
		if (errno != EINTR)
			die("accept");
	close(lfd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Writes all n bytes; 0, or -1 with errno. */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
do_send(char **av)
{
	long long total = num(av[2]), len = num(av[3]), chunk, n;
	static char buf[CHUNK];
	long long i;
	int fd;

	if (len < 1 || len > CHUNK || total % len != 0) {
		fprintf(stderr, "peer: send: BYTES must be lines of LINELEN\n");
		return 2;
	}
	chunk = CHUNK / len * len;
	for (i = 0; i < chunk; i++)
		buf[i] = (i + 1) % len == 0 ? '\n' : (char)('a' + i % 26);
	if ((fd = dial(av[0], av[1], 10)) == -1)
		die("connect");
	for (; total > 0; total -= n) {
		n = total < chunk ? total : chunk;
		if (write_all(fd, buf, (size_t)n) == -1)
			die("write");
	}
	close(fd);
	return 0;
}

static int
do_recv(char **av)
{
	static char buf[CHUNK];
	long long got = 0;
	ssize_t n;
	int fd = accept_one(listen_on(av[0]));

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		got += n;
	}
	printf("%lld\n", got);
	return 0;
}

static int
do_echo(char **av, int ac)
{
	static char buf[CHUNK];
	int fd = accept_one(listen_on(av[0])), out = fd;
	ssize_t n;

	if (ac > 1 && (out = dial("127.0.0.1", av[1], 10)) == -1)
		die("connect back");
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (write_all(out, buf, (size_t)n) == -1)
			die("write");
	}
	return 0;
}

static int
do_rtt(char **av)
{
	static const char msg[] = "ping 0123456789 0123456789 012\n";
	long long count = num(av[2]), i;
	char buf[256];
	size_t got;
	ssize_t n;
	double t0;
	int fd;

	if ((fd = dial(av[0], av[1], 10)) == -1)
		die("connect");
	t0 = now();
	for (i = 0; i < count; i++) {
		if (write_all(fd, msg, sizeof(msg) - 1) == -1)
			die("write");
		for (got = 0; got == 0 || buf[got - 1] != '\n';
		     got += (size_t)n)
			if ((n = read(fd, buf + got, sizeof(buf) - got)) <= 0)
				die("read");
	}
	printf("%.9f\n", now() - t0);
	close(fd);
	return 0;
}

/* 1 when /proc/net/FILE lists a socket in state LISTEN (0A) on port. */
static int
listening_in(const char *file, unsigned port)
{
	char line[512];
	unsigned lport, st;
	int found = 0;
	FILE *f;

	if ((f = fopen(file, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
			&lport, &st) == 2)
			found = lport == port && st == 0x0A;
	fclose(f);
	return found;
}

static int
do_waitlisten(char **av)
{
	unsigned port = (unsigned)num(av[0]);
	double until = now() + (double)num(av[1]) / 1000;

	do {
		if (listening_in("/proc/net/tcp6", port) ||
		    listening_in("/proc/net/tcp", port))
			return 0;
		usleep(500);
	} while (now() < until);
	return 1;
}

/* Starts argv with stdio on /dev/null; its PID. */
static pid_t
spawn(char **argv)
{
	pid_t pid;
	int dn;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		if ((dn = open("/dev/null", O_RDWR)) != -1) {
			dup2(dn, 0);
			dup2(dn, 1);
			dup2(dn, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* One cycle: start, connect once it listens, wait for the exit. A program
 * that exits before it listens (port briefly busy) is started again, up to
 * three times; its time counts. */
static void
cycle_once(const char *port, char **argv)
{
	int tries, fd = -1;
	pid_t pid;

	for (tries = 0; tries < 3 && fd == -1; tries++) {
		pid = spawn(argv);
		while ((fd = dial("127.0.0.1", port, 0.05)) == -1) {
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break; /* it gave up: start it again */
		}
	}
	if (fd == -1) {
		fprintf(stderr, "peer: cycle: %s never listened\n", argv[0]);
		exit(1);
	}
	close(fd);
	if (waitpid(pid, NULL, 0) == -1)
		die("waitpid");
}

static int
do_cycle(char **av)
{
	long long count = num(av[1]), i;
	double t0 = now();

	for (i = 0; i < count; i++)
		cycle_once(av[0], av + 2);
	printf("%.9f\n", (now() - t0) / (double)count);
	return 0;
}

/* 1 when port can be bound on every address right now. */
static int
port_free(unsigned port)
{
	struct sockaddr_in6 sa;
	int fd, zero = 0, ok;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons((uint16_t)port);
	sa.sin6_addr = in6addr_any;
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int
do_freeports(char **av)
{
	long long port = num(av[0]), count = num(av[1]);

	for (; count > 0 && port <= 49151; port++) {
		if (port_free((unsigned)port)) {
			printf("%lld\n", port);
			count--;
		}
	}
	return count == 0 ? 0 : 1;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: peer send HOST PORT BYTES LINELEN | recv PORT |\n"
	    "       echo PORT [BACKPORT] | rtt HOST PORT COUNT |\n"
	    "       waitlisten PORT MS | cycle PORT COUNT CMD... |\n"
	    "       freeports START COUNT\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	char **av = argv + 2;
	int ac = argc - 2;

	signal(SIGPIPE, SIG_IGN);
	if (strcmp(m, "send") == 0 && ac == 4)
		return do_send(av);
	if (strcmp(m, "recv") == 0 && ac == 1)
		return do_recv(av);
	if (strcmp(m, "echo") == 0 && (ac == 1 || ac == 2))
		return do_echo(av, ac);
	if (strcmp(m, "rtt") == 0 && ac == 3)
		return do_rtt(av);
	if (strcmp(m, "waitlisten") == 0 && ac == 2)
		return do_waitlisten(av);
	if (strcmp(m, "cycle") == 0 && ac >= 3)
		return do_cycle(av);
	if (strcmp(m, "freeports") == 0 && ac == 2)
		return do_freeports(av);
	return usage();
}
