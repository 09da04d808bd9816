/*
 * escape: backslash escapes as bash 5.2's `echo -e` interprets them
 * (ansicstr() with the echo flag), for `write ID MESSAGE...`.
 *
 *   \a \b \e \E \f \n \r \t \v \\   the usual control bytes, backslash
 *   \0nnn       byte from 0 to 3 octal digits after the 0, modulo 256
 *   \xHH        byte from 1 or 2 hex digits; `\x` with none stays as is
 *   \uHHHH      1 to 4 hex digits, \UHHHHHHHH 1 to 8: the code point in
 *               UTF-8 (up to 6 bytes, surrogates and values past 0x10FFFF
 *               encoded as they come, nothing at all from 0x80000000 up);
 *               with no digit the escape stays as is
 *   \c          stops everything, the caller's trailing newline included
 *   anything else (\1..\7, \q, \', a backslash at the end) stays as is
 *
 * Differences from bash, all deliberate: code points always become UTF-8,
 * as in bash under a UTF-8 locale (under the C locale bash prints them as
 * the text \u00E9 instead); NUL bytes in the input are ordinary bytes (a
 * bash word cannot hold one); bytes are not grouped into characters of a
 * non-UTF-8 multibyte locale.
 */
#ifndef BASHSOCK_ESCAPE_H
#define BASHSOCK_ESCAPE_H

#include <stddef.h>

/* Expands the escapes of in[0..inlen) into out and returns the number of
 * bytes written (NULs included). out needs room for inlen bytes: no escape
 * yields more bytes than it spans. out may be in itself (in place), but
 * must not overlap it otherwise. *stop (when stop is not NULL) is set to 1
 * when \c cut the output there, else to 0. Never fails. */
size_t escape_expand(const char *in, size_t inlen, char *out, int *stop);

#endif
