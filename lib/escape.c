/*
 * escape: `echo -e` backslash escapes; see escape.h for the list.
 *
 * Length bound (s = input bytes an escape spans, k = digits it takes):
 *
 *   plain byte, lone trailing backslash        s = 1      -> 1 byte
 *   \n, \\ and the other one-letter escapes    s = 2      -> 1
 *   \q, \1..\7, and \x \u \U with no digit     s = 2      -> 2
 *   \0 + k octal (k <= 3), \x + k hex (k <= 2) s = 2 + k  -> 1
 *   \u or \U + k hex, k >= 1: the value v < 16^k, so
 *     v < 0x80                                 s >= 3     -> 1
 *     v < 0x800        needs k >= 2            s >= 4     -> 2
 *     v < 0x10000      needs k >= 3            s >= 5     -> 3
 *     v < 0x200000     needs k >= 5 (\U only)  s >= 7     -> 4
 *     v < 0x4000000    needs k >= 6            s >= 8     -> 5
 *     v < 0x80000000   needs k >= 7            s >= 9     -> 6
 *     otherwise (k = 8)                        s = 10     -> 0
 *   \c                                         stops
 *
 * No escape writes more bytes than it spans, so after every step the output
 * length o is at most the input offset i: out never needs more than inlen
 * bytes, and since each escape is read whole before its bytes are written,
 * expanding in place (out == in) is safe.
 */
#include "escape.h"

#include <stdint.h>

/* Returns the value of hex digit c, or -1 when c is none. */
static int
escape_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads up to max digits of base (8 or 16) from in[*i..inlen) into *v,
 * advancing *i past them. Returns how many digits it took (0: *v is 0). */
static int
escape_digits(
    const char *in, size_t inlen, size_t *i, int base, int max, uint32_t *v)
{
	int k, d;

	*v = 0;
	for (k = 0; k < max && *i < inlen; k++, (*i)++) {
		d = escape_hexval((unsigned char)in[*i]);
		if (d == -1 || d >= base)
			break;
		*v = *v * (uint32_t)base + (uint32_t)d;
	}
	return k;
}

/* Writes code point v to o as bash's u32toutf8() does: 1 to 6 bytes,
 * surrogates and values past 0x10FFFF included, nothing from 0x80000000
 * up. Returns the byte count. */
static size_t
escape_utf8(uint32_t v, char *o)
{
	size_t n, j;
	unsigned char lead;

	if (v < 0x80) {
		o[0] = (char)v;
		return 1;
	}
	if (v < 0x800)
		n = 2, lead = 0xc0;
	else if (v < 0x10000)
		n = 3, lead = 0xe0;
	else if (v < 0x200000)
		n = 4, lead = 0xf0;
	else if (v < 0x4000000)
		n = 5, lead = 0xf8;
	else if (v < 0x80000000)
		n = 6, lead = 0xfc;
	else
		return 0;
	for (j = n - 1; j > 0; j--, v >>= 6)
		o[j] = (char)(0x80 | (v & 0x3f));
	o[0] = (char)(lead | v);
	return n;
}

/* Returns the byte one-letter escape \c stands for, or -1 when c is none
 * of them. */
static int
escape_letter(int c)
{
	switch (c) {
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	case 'e':
	case 'E':
		return 0x1b;
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	case '\\':
		return '\\';
	default:
		return -1;
	}
}

/* See escape.h. o <= i holds after every step (the bound above). */
size_t
escape_expand(const char *in, size_t inlen, char *out, int *stop)
{
	size_t i = 0, o = 0;
	uint32_t v;
	int c, b;

	if (stop != NULL)
		*stop = 0;
	while (i < inlen) {
		c = (unsigned char)in[i++];
		/* A plain byte, or a lone backslash at the end: as is. */
		if (c != '\\' || i == inlen) {
			out[o++] = (char)c;
			continue;
		}
		c = (unsigned char)in[i++];
		if ((b = escape_letter(c)) != -1) {
			out[o++] = (char)b;
		} else if (c == '0') {
			escape_digits(in, inlen, &i, 8, 3, &v);
			out[o++] = (char)(v & 0xff); /* \0777 is 0xff */
		} else if (c == 'x' &&
			   escape_digits(in, inlen, &i, 16, 2, &v)) {
			out[o++] = (char)v;
		} else if ((c == 'u' || c == 'U') &&
			   escape_digits(
			       in, inlen, &i, 16, c == 'u' ? 4 : 8, &v)) {
			o += escape_utf8(v, out + o);
		} else if (c == 'c') {
			if (stop != NULL)
				*stop = 1;
			break;
		} else {
			out[o++] = '\\'; /* unknown: kept, \1..\7 included */
			out[o++] = (char)c;
		}
	}
	return o;
}
