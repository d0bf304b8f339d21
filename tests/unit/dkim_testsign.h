/*
 * dkim_testsign.h - sign test messages with a signer of the tests' own
 *
 * The tests sign their own messages so that every expectation comes from
 * what was signed and published, not from a verifier's output: a message
 * is built in CRLF form, signed with a key from dkim_testkeys.h, and its
 * public key record is derived from the same private key with OpenSSL.
 */
#ifndef AUTHTAG_TESTS_DKIM_TESTSIGN_H
#define AUTHTAG_TESTS_DKIM_TESTSIGN_H

#include <stdint.h>
#include <sys/types.h>

/* signing algorithms (the names the tests used with libopendkim) */
#define DKIM_SIGN_RSASHA1        0
#define DKIM_SIGN_RSASHA256      1
#define DKIM_SIGN_ED25519SHA256  2

struct dkim_test_signopts {
	const char *key_pem;  /* private key (PEM) */
	const char *selector; /* s= */
	const char *domain;   /* d= */
	const char *identity; /* i= (NULL: none, i.e. "@d") */
	int alg;            /* DKIM_SIGN_RSASHA256, _RSASHA1, _ED25519SHA256 */
	uint64_t sign_time; /* t= (0: now) */
	uint64_t ttl;       /* x= is t= + ttl (0: no x=) */
	ssize_t length;     /* l= (-1: none) */
};

/*
 * dkim_test_sign - sign a CRLF message; returns the message with the new
 * DKIM-Signature field on top (malloc'd), or NULL with a reason on stderr
 */
char *dkim_test_sign(const char *msg, const struct dkim_test_signopts *o);

/*
 * dkim_test_key_record - "v=DKIM1; k=rsa|ed25519; p=..." for the public
 * half of a PEM private key (malloc'd), or NULL
 */
char *dkim_test_key_record(const char *pem);

/* dkim_test_key_record_pkcs1 - the same for RSA with p= in PKCS#1 form */
char *dkim_test_key_record_pkcs1(const char *pem);

/* dkim_test_replace - copy of s with the first "from" replaced by "to" */
char *dkim_test_replace(const char *s, const char *from, const char *to);

#endif
