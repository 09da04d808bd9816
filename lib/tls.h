/*
 * tls: the TLS layer behind conn.h, on OpenSSL's libssl (TLS 1.2 or
 * newer). Only bashsock-helper-tls links it: tls_register() makes it
 * conn_tls there, and nothing else in lib/ names a libssl symbol, so the
 * plain helper and bashsock.so stay without libssl.
 */
#ifndef BASHSOCK_TLS_H
#define BASHSOCK_TLS_H

void tls_register(void);

#endif
