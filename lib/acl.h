/*
 * acl: the clients a bind-input helper lets in (bind-input -A PREFIX).
 *
 * A prefix is an address, IPv4 (dotted quad) or IPv6 (no zone index), with
 * an optional /LEN (canonical decimal: 0-32 for IPv4, 0-128 for IPv6; none
 * means the whole address). Bits past LEN are cleared, as ip(8) and
 * iptables do: 10.1.2.3/8 is 10.0.0.0/8.
 *
 * Every prefix is kept as IPv6: an IPv4 one as its IPv4-mapped form
 * (::ffff:a.b.c.d, LEN + 96), and a peer is compared the same way, so an
 * IPv4 prefix matches an IPv4 peer whether the listener sees it as
 * AF_INET (a listener on an IPv4 address) or as ::ffff:a.b.c.d (the
 * dual-stack default). ::/0 matches every peer, ::ffff:0:0/96 every IPv4
 * one.
 *
 * Text form (the helper's command line, lib/helper_argv.h): each prefix as
 * ADDR/LEN, an IPv4-mapped one (LEN >= 96) as IPv4, the address as
 * inet_ntop writes it, separated by commas. Parsing that text gives the
 * same list back.
 *
 * Nothing here allocates, prints or reads beyond a string's NUL.
 */
#ifndef BASHSOCK_ACL_H
#define BASHSOCK_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ACL_MAX 64 /* prefixes in a list */
/* The longest prefix text, its NUL included: an IPv6 address as inet_ntop
 * writes it (46 with its NUL) and "/128". */
#define ACL_PREFIX_TEXT 50
/* A whole list as text: every prefix and a comma or the NUL after it. */
#define ACL_TEXT_MAX (ACL_MAX * ACL_PREFIX_TEXT)

struct acl_prefix {
	uint8_t addr[16]; /* IPv6; IPv4 as ::ffff:a.b.c.d */
	uint8_t len;	  /* 0-128 */
};

struct acl {
	unsigned n; /* 0: everybody gets in */
	struct acl_prefix p[ACL_MAX];
};

/* Parses one prefix (an address, or ADDR/LEN). 0, or -1 with EINVAL. */
int acl_prefix_parse(const char *s, struct acl_prefix *p);

/* Writes p's text form into buf (len >= ACL_PREFIX_TEXT). */
void acl_prefix_text(const struct acl_prefix *p, char *buf, size_t len);

/* Adds the prefix s to a. 0, or -1 with EINVAL (not a prefix) or ENOSPC
 * (a holds ACL_MAX already). */
int acl_add(struct acl *a, const char *s);

/* Parses a list's text form (prefixes separated by single commas, at least
 * one, at most ACL_MAX) into a. 0, or -1 with EINVAL. */
int acl_parse_list(const char *s, struct acl *a);

/* Writes a's text form into buf (len >= ACL_TEXT_MAX; "" for no prefix). */
void acl_format(const struct acl *a, char *buf, size_t len);

/* 1 when a peer at sa (AF_INET or AF_INET6, salen bytes) may come in: a
 * has no prefix, or one of them holds its address. 0 otherwise (any other
 * family, a short address). */
int acl_allows(const struct acl *a, const struct sockaddr *sa, socklen_t salen);

#endif
