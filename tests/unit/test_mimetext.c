/*
 * test_mimetext.c - the body text that `body` and `rawbody` rules see:
 * quoted-printable and base64 (RFC 2045), RFC 2047 encoded words,
 * charsets to UTF-8, HTML rendering, MIME structure, and SpamAssassin's
 * paragraph lines
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "score/mimetext.h"

/* qp - decode a quoted-printable string into a static buffer */
static const char *
qp(const char *in)
{
	static char out[512];
	size_t n = mimetext_qp_decode(in, strlen(in), out);

	out[n] = '\0';
	return out;
}

static void
test_quoted_printable(void **state)
{
	(void)state;
	/* RFC 2045 6.7: =XX, soft line breaks (also with CRLF and blanks) */
	assert_string_equal(qp("caf=C3=A9"), "caf\xc3\xa9");
	assert_string_equal(qp("soft=\nbreak"), "softbreak");
	assert_string_equal(qp("soft=\r\nbreak"), "softbreak");
	assert_string_equal(qp("blank=  \nafter"), "blankafter");
	assert_string_equal(qp("lower=e9"), "lower\xe9");
	/* a broken escape stays as written; a final '=' is a soft break */
	assert_string_equal(qp("a=ZZb"), "a=ZZb");
	assert_string_equal(qp("end="), "end");
	assert_string_equal(qp("=3D=3d"), "==");
}

static void
test_base64(void **state)
{
	char out[64];
	size_t n;

	(void)state;
	n = mimetext_b64_decode("SGVsbG8sIHdvcmxkIQ==", 20, out);
	assert_int_equal(n, 13);
	assert_memory_equal(out, "Hello, world!", 13);
	/* line breaks and junk outside the alphabet are skipped */
	n = mimetext_b64_decode("SGVs\r\nbG8*", 10, out);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "Hello", 5);
	assert_int_equal(mimetext_b64_decode("", 0, out), 0);
}

static void
test_charsets(void **state)
{
	size_t n;
	char *s;

	(void)state;
	/* ISO-8859-1 0xE9 is U+00E9 */
	s = mimetext_to_utf8("iso-8859-1", "caf\xe9", 4, &n);
	assert_string_equal(s, "caf\xc3\xa9");
	assert_int_equal(n, 5);
	free(s);
	/* windows-1252 0x93/0x94 are curly quotes, 0x80 the euro sign */
	s = mimetext_to_utf8("windows-1252", "\x93hi\x94 \x80", 6, &n);
	assert_string_equal(s, "\xe2\x80\x9chi\xe2\x80\x9d \xe2\x82\xac");
	free(s);
	/* invalid UTF-8 becomes U+FFFD; unknown charsets pass bytes on */
	s = mimetext_to_utf8("utf-16le", "a", 1, &n);
	assert_non_null(s);
	free(s);
	s = mimetext_to_utf8("x-no-such-charset", "ab\xff", 3, &n);
	assert_memory_equal(s, "ab\xff", 3);
	free(s);
	s = mimetext_to_utf8(NULL, "plain", 5, &n);
	assert_string_equal(s, "plain");
	free(s);
}

static void
test_encoded_words(void **state)
{
	char *s;

	(void)state;
	/* RFC 2047: B and Q, '_' is a space, blanks between words vanish */
	s = mimetext_header(" =?UTF-8?B?RnJlZSBtb25leQ==?= =?UTF-8?Q?_today?=");
	assert_string_equal(s, "Free money today");
	free(s);
	s = mimetext_header("=?iso-8859-1?q?caf=E9?= au lait");
	assert_string_equal(s, "caf\xc3\xa9 au lait");
	free(s);
	/* a fold (line end and its blanks) becomes one space, as in
	 * SpamAssassin; blanks before the fold stay; the ends are trimmed */
	s = mimetext_header(" first\r\n\tsecond \n  third  ");
	assert_string_equal(s, "first second  third");
	free(s);
	/* not encoded words: kept as written */
	s = mimetext_header("=?broken =?x?Z?abc?= 50% =?");
	assert_string_equal(s, "=?broken =?x?Z?abc?= 50% =?");
	free(s);
}

static void
test_html(void **state)
{
	const char *html =
	    "<html><head><title>T</title><style>p{}</style></head><body>"
	    "<p><b>fr<i>ee</i></b> &amp; clear&nbsp;&#233;&#x20AC;</p>"
	    "<script>alert('x')</script><!-- hidden -->line<br>next"
	    "<p>a &lt;tag&gt; &unknown; 1 < 2</body></html>";
	size_t n;
	char *s = mimetext_html_text(html, strlen(html), &n);

	(void)state;
	assert_non_null(s);
	assert_non_null(strstr(s, "free & clear\xc2\xa0\xc3\xa9\xe2\x82\xac"));
	assert_non_null(strstr(s, "line\nnext"));
	assert_non_null(strstr(s, "a <tag> &unknown; 1 < 2"));
	assert_null(strstr(s, "alert"));
	assert_null(strstr(s, "hidden"));
	assert_null(strstr(s, "p{}"));
	assert_null(strstr(s, "T"));
	free(s);
}

/* build - mimetext_build over a Subject, a Content-Type and a body */
static void
build(const char *ctype, const char *cte, const char *body, struct mimetext *mt)
{
	const char *names[] = {"Subject", "Content-Type",
			       "Content-Transfer-Encoding"};
	const char *values[] = {" Hello there", ctype, cte};

	assert_int_equal(mimetext_build(names, values, cte ? 3 : 2,
					(const unsigned char *)body,
					strlen(body), mt),
			 0);
}

static void
test_body_lines(void **state)
{
	struct mimetext mt;

	(void)state;
	/* Subject first; a paragraph is one line; runs of space are one */
	build(" text/plain", NULL,
	      "line one\nline   two\r\n\r\n\r\nsecond\tparagraph\n", &mt);
	assert_int_equal(mt.nbody, 3);
	assert_string_equal(mt.body[0], "Hello there\n");
	assert_string_equal(mt.body[1], "line one line two\n");
	assert_string_equal(mt.body[2], "second paragraph ");
	/* rawbody keeps the lines, LF only */
	assert_int_equal(mt.nraw, 1);
	assert_string_equal(mt.raw[0],
			    "line one\nline   two\n\n\nsecond\tparagraph\n");
	mimetext_free(&mt);
}

static void
test_long_line_split(void **state)
{
	char *body = malloc(6001);
	struct mimetext mt;

	(void)state;
	/* 6000 bytes in words of 9: body lines are cut at a space under
	 * 2 KiB, rawbody chunks are 2-4 KiB */
	for (int i = 0; i < 6000; i++)
		body[i] = i % 10 == 9 ? ' ' : 'x';
	body[6000] = '\0';
	build(" text/plain", NULL, body, &mt);
	assert_true(mt.nbody >= 4);
	for (size_t i = 1; i < mt.nbody; i++)
		assert_true(strlen(mt.body[i]) <= 2048);
	assert_true(mt.nraw >= 2);
	for (size_t i = 0; i < mt.nraw; i++)
		assert_true(strlen(mt.raw[i]) <= 4096);
	mimetext_free(&mt);
	free(body);
}

static void
test_multipart(void **state)
{
	const char *body = "preamble\r\n"
			   "--XX\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n"
			   "YnV5IGNoZWFwIG1lZHM=\r\n"
			   "--XX\r\n"
			   "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
			   "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			   "<b>caf=E9</b>\r\n"
			   "--XX\r\n"
			   "Content-Type: image/png\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\n"
			   "iVBORw0KGgo=\r\n"
			   "--XX\r\n"
			   "Content-Type: message/rfc822\r\n\r\n"
			   "Subject: inner\r\n"
			   "Content-Type: text/plain\r\n\r\n"
			   "inner text\r\n"
			   "--XX--\r\n"
			   "epilogue\r\n";
	struct mimetext mt;

	(void)state;
	build(" multipart/mixed;\r\n\tboundary=XX", NULL, body, &mt);
	/* text parts only, decoded, HTML rendered, Latin-1 to UTF-8; as in
	 * SpamAssassin every part adds a line break, so the image between
	 * two text parts makes a paragraph break */
	assert_int_equal(mt.nbody, 3);
	assert_string_equal(mt.body[1], "buy cheap meds caf\xc3\xa9\n");
	assert_string_equal(mt.body[2], "inner text");
	/* rawbody: decoded but HTML kept, charset as sent */
	assert_int_equal(mt.nraw, 3);
	assert_string_equal(mt.raw[0], "buy cheap meds");
	assert_string_equal(mt.raw[1], "<b>caf\xe9</b>");
	assert_string_equal(mt.raw[2], "inner text");
	mimetext_free(&mt);
}

static void
test_bad_input(void **state)
{
	struct mimetext mt;

	(void)state;
	/* a multipart without its boundary lines, and one nested past the
	 * limit, still give defined text and no crash */
	build(" multipart/mixed; boundary=NOPE", NULL, "just text\n", &mt);
	assert_int_equal(mt.nbody, 1);
	mimetext_free(&mt);
	build(" multipart/mixed; boundary=\"\"", " base64", "@@@", &mt);
	mimetext_free(&mt);
	build(" text/plain", " base64", "!!!!", &mt);
	assert_int_equal(mt.nbody, 1);
	mimetext_free(&mt);
	assert_int_equal(mimetext_build(NULL, NULL, 0, NULL, 0, &mt), 0);
	assert_int_equal(mt.nbody, 1);
	assert_string_equal(mt.body[0], "\n");
	mimetext_free(&mt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quoted_printable),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_charsets),
	    cmocka_unit_test(test_encoded_words),
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_body_lines),
	    cmocka_unit_test(test_long_line_split),
	    cmocka_unit_test(test_multipart),
	    cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
