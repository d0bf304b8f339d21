/*
 * test_milterproto.c - unit tests of milter/proto.c, the milter codec
 *
 * The frames are written out by hand from the protocol's layout (length,
 * command, data) as Postfix sends them; the expected replies are the
 * bytes an MTA reads. Covers framing (split, oversized, empty), each
 * command's decoding and its malformed forms, macro lists with and
 * without braces, the order rules (a header then a body ends the
 * message and is ignored; QUIT ends anything; an unknown command is
 * refused) and every reply encoder.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "strbuf.h"

/* F - a frame literal: the 4-byte length, the command, the data */
#define F(lit) ((const unsigned char *)(lit)), (sizeof(lit) - 1)

/* frame lengths: need 4 bytes, then length + 4; 0 and > 1 MB refused */
static void
test_frame_len(void **state)
{
	(void)state;
	assert_int_equal(mproto_frame_len((const unsigned char *)"\0\0", 2), 0);
	assert_int_equal(
	    mproto_frame_len((const unsigned char *)"\0\0\0\x01N", 5), 5);
	assert_int_equal(
	    mproto_frame_len((const unsigned char *)"\0\0\x01\x00", 4), 260);
	assert_int_equal(
	    mproto_frame_len((const unsigned char *)"\0\0\0\0", 4), -1);
	/* 1 MB + 1 */
	assert_int_equal(
	    mproto_frame_len((const unsigned char *)"\0\x10\0\x01", 4), -1);
	assert_int_equal(
	    mproto_frame_len((const unsigned char *)"\0\x10\0\0", 4),
	    1048576 + 4);
}

/* option negotiation: version 6, actions 0x1ff, steps 0x1fffff */
static void
test_optneg(void **state)
{
	struct mproto_cmd c;

	(void)state;
	assert_int_equal(
	    mproto_decode(F("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xff\xff"),
			  &c),
	    0);
	assert_int_equal(c.code, 'O');
	assert_int_equal(c.u.optneg.version, 6);
	assert_int_equal(c.u.optneg.actions, 0x1ff);
	assert_int_equal(c.u.optneg.steps, 0x1fffff);
	/* 8 bytes of options instead of 12 */
	assert_int_equal(mproto_decode(F("\0\0\0\x09O\0\0\0\x06\0\0\x01\xff"),
				       &c),
			 -1);
	/* a frame whose length field disagrees with its size */
	assert_int_equal(mproto_decode(F("\0\0\0\x09N"), &c), -1);
}

/* connect: host, family, port, address; 'U' has neither */
static void
test_connect(void **state)
{
	struct mproto_cmd c;

	(void)state;
	assert_int_equal(
	    mproto_decode(F("\0\0\0\x1d"
			    "Cmx.example.net\0"
			    "4\x61\xa8"
			    "192.0.2.1\0"),
			  &c),
	    0);
	assert_string_equal(c.u.connect.host, "mx.example.net");
	assert_int_equal(c.u.connect.family, '4');
	assert_int_equal(c.u.connect.port, 25000);
	assert_string_equal(c.u.connect.addr, "192.0.2.1");
	assert_int_equal(mproto_decode(F("\0\0\0\x06"
					 "Cx.y\0U"),
				       &c),
			 0);
	assert_int_equal(c.u.connect.family, 'U');
	assert_string_equal(c.u.connect.addr, "");
	/* an address without its terminator, a family missing */
	assert_int_equal(mproto_decode(F("\0\0\0\x08"
					 "Cx\0"
					 "4\0\x19"
					 "1."),
				       &c),
			 -1);
	assert_int_equal(mproto_decode(F("\0\0\0\x03"
					 "Cx\0"),
				       &c),
			 -1);
}

/* MAIL with ESMTP arguments, a header, a header without its value */
static void
test_strings(void **state)
{
	struct mproto_cmd c;

	(void)state;
	assert_int_equal(mproto_decode(F("\0\0\0\x18"
					 "M<a@example.com>\0SIZE=1\0"),
				       &c),
			 0);
	assert_string_equal(c.u.str.arg, "<a@example.com>");
	assert_int_equal(mproto_decode(F("\0\0\0\x0b"
					 "LFrom\0 a@b\0"),
				       &c),
			 0);
	assert_string_equal(c.u.header.name, "From");
	assert_string_equal(c.u.header.value, " a@b");
	assert_int_equal(mproto_decode(F("\0\0\0\x06"
					 "LFrom\0"),
				       &c),
			 -1);
	assert_int_equal(mproto_decode(F("\0\0\0\x05"
					 "Rnone"),
				       &c),
			 -1);
	/* a body is bytes, NULs included */
	assert_int_equal(mproto_decode(F("\0\0\0\x04"
					 "Ba\0b"),
				       &c),
			 0);
	assert_int_equal(c.len, 3);
	assert_memory_equal(c.data, "a\0b", 3);
}

/* macros: for which command, names with braces taken off */
static void
test_macros(void **state)
{
	struct mproto_cmd c;
	const char *n, *v;
	size_t pos = 0, nl;

	(void)state;
	assert_int_equal(mproto_decode(F("\0\0\0\x19"
					 "DMi\0ABC\0{auth_authen}\0al\0"),
				       &c),
			 0);
	assert_int_equal(c.u.macro.for_cmd, 'M');
	assert_int_equal(mproto_macro_stage(c.u.macro.for_cmd), MPM_ENVFROM);
	assert_true(mproto_macro_next(c.u.macro.pairs, c.u.macro.len, &pos,
				      &n, &nl, &v));
	assert_int_equal(nl, 1);
	assert_memory_equal(n, "i", 1);
	assert_string_equal(v, "ABC");
	assert_true(mproto_macro_next(c.u.macro.pairs, c.u.macro.len, &pos,
				      &n, &nl, &v));
	assert_int_equal(nl, 11);
	assert_memory_equal(n, "auth_authen", 11);
	assert_string_equal(v, "al");
	assert_false(mproto_macro_next(c.u.macro.pairs, c.u.macro.len, &pos,
				       &n, &nl, &v));
	assert_int_equal(mproto_macro_stage('E'), MPM_EOM);
	assert_int_equal(mproto_macro_stage('L'), -1);
}

/* the order rules of a session */
static void
test_states(void **state)
{
	enum mproto_state st = MPS_INIT;
	struct mproto_step s;
	const char ok[] = "OCHMRRLLNBBE" "MRE" "MRLA";

	(void)state;
	for (const char *p = ok; *p != '\0'; p++) {
		s = mproto_transition(&st, *p, 0);
		assert_true(s.known && s.run && !s.abort && !s.end);
	}
	/* after ABORT a new message */
	s = mproto_transition(&st, 'M', 0);
	assert_true(s.run && !s.abort);
	s = mproto_transition(&st, 'R', 0);
	s = mproto_transition(&st, 'L', 0);
	/* a body after a header without end-of-header: the message is
	 * over and the body ignored, so is the end of message */
	s = mproto_transition(&st, 'B', 0);
	assert_true(s.abort && !s.run);
	s = mproto_transition(&st, 'E', 0);
	assert_true(!s.abort && !s.run);
	/* the next message runs */
	s = mproto_transition(&st, 'M', 0);
	assert_true(s.run && !s.abort);
	/* macros change no state */
	s = mproto_transition(&st, 'D', 0);
	assert_true(s.run);
	assert_int_equal(st, MPS_MAIL);
	/* a command nobody knows, inside a message */
	s = mproto_transition(&st, 'Z', 0);
	assert_true(!s.known && s.abort);
	/* QUIT ends the connection from any state */
	s = mproto_transition(&st, 'Q', 0);
	assert_true(s.end);
	st = MPS_CONN;
	s = mproto_transition(&st, 'Q', 0);
	assert_true(s.end);
	/* a filter that skips every step (SMFIP_NO*): the MTA sends only
	 * end of message, and each one runs; without the flags the same
	 * end of message is out of order and ignored */
	const uint32_t none = MPP_NOCONNECT | MPP_NOHELO | MPP_NOMAIL |
			      MPP_NORCPT | MPP_NOHDRS | MPP_NOEOH | MPP_NOBODY;

	st = MPS_OPTS;
	s = mproto_transition(&st, 'E', none);
	assert_true(s.run && !s.abort);
	mproto_after_verdict(&st, 'E');
	s = mproto_transition(&st, 'E', none);
	assert_true(s.run && !s.abort);
	st = MPS_OPTS;
	s = mproto_transition(&st, 'E', 0);
	assert_true(!s.run);
	/* only CONNECT skipped: HELO or MAIL may come first, a recipient
	 * may not */
	st = MPS_OPTS;
	s = mproto_transition(&st, 'M', MPP_NOCONNECT);
	assert_true(s.run);
	st = MPS_OPTS;
	s = mproto_transition(&st, 'R', MPP_NOCONNECT);
	assert_true(!s.run);
	/* MAIL and RCPT skipped: the headers start the message, and a
	 * second message after the first */
	st = MPS_CONN;
	s = mproto_transition(&st, 'L', MPP_NOMAIL | MPP_NORCPT);
	assert_true(s.run && !s.abort);
	s = mproto_transition(&st, 'N', MPP_NOMAIL | MPP_NORCPT);
	s = mproto_transition(&st, 'E', MPP_NOMAIL | MPP_NORCPT);
	assert_true(s.run);
	mproto_after_verdict(&st, 'E');
	s = mproto_transition(&st, 'L', MPP_NOMAIL | MPP_NORCPT);
	assert_true(s.run && !s.abort);
	/* a verdict ends the message; a rejected recipient only itself */
	st = MPS_RCPT;
	mproto_after_verdict(&st, 'R');
	assert_int_equal(st, MPS_RCPT);
	mproto_after_verdict(&st, 'M');
	assert_int_equal(st, MPS_HELO);
	assert_int_equal(mproto_nr_flag('L'), MPP_NR_HDR);
	assert_int_equal(mproto_nr_flag('E'), 0);
	assert_true(mproto_wants_reply('E') && !mproto_wants_reply('A') &&
		    !mproto_wants_reply('D') && !mproto_wants_reply('Q'));
}

/* replies, byte for byte */
static void
test_replies(void **state)
{
	struct strbuf b = STRBUF_INIT;
	static const char *const sym[MPM_COUNT] = {[MPM_EOH] = "i"};

	(void)state;
	mproto_put(&b, MPR_CONTINUE, NULL, 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.s, "\0\0\0\x01"
				 "c",
			    5);
	sb_truncate(&b, 0);
	mproto_put_header(&b, MPR_INSHEADER, 0, "A-R", " x; y");
	assert_int_equal(b.len, 4 + 1 + 4 + 4 + 6);
	assert_memory_equal(b.s, "\0\0\0\x0f"
				 "i\0\0\0\0A-R\0 x; y\0",
			    19);
	sb_truncate(&b, 0);
	mproto_put_header(&b, MPR_CHGHEADER, 3, "X", "");
	assert_memory_equal(b.s, "\0\0\0\x08m\0\0\0\x03X\0\0", 12);
	sb_truncate(&b, 0);
	mproto_put_str(&b, MPR_REPLYCODE, "550 5.7.1 no");
	assert_memory_equal(b.s, "\0\0\0\x0ey550 5.7.1 no\0", 18);
	sb_truncate(&b, 0);
	mproto_put_optneg(&b, 6, 0x131, 0x1c7300, sym);
	assert_int_equal(b.len, 4 + 1 + 12 + 4 + 2);
	assert_memory_equal(b.s,
			    "\0\0\0\x13O\0\0\0\x06\0\0\x01\x31\0\x1c\x73\0"
			    "\0\0\0\x06i\0",
			    23);
	sb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_len), cmocka_unit_test(test_optneg),
	    cmocka_unit_test(test_connect),   cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_macros),    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
