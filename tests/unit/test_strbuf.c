/*
 * test_strbuf.c - unit tests of lib/strbuf (the one growable buffer)
 *
 * Growth across many appends, embedded NUL bytes, printf that needs a
 * second pass, truncation, steal/free, and the sticky failure flag.
 */
#include "build.h" /* first: feature macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strbuf.h"

/* an empty buffer reads as "" and steals as "" */
static void
test_empty(void **state)
{
	struct strbuf b = STRBUF_INIT;
	char *s;

	(void)state;
	assert_string_equal(sb_str(&b), "");
	assert_int_equal(b.len, 0);
	s = sb_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

/* 100,000 one-byte appends: all kept, capacity grows geometrically */
static void
test_growth(void **state)
{
	struct strbuf b = STRBUF_INIT;
	size_t i, grows = 0, cap = 0;

	(void)state;
	for (i = 0; i < 100000; i++) {
		sb_putc(&b, (char)('a' + i % 26));
		if (b.cap != cap) {
			grows++;
			cap = b.cap;
		}
	}
	assert_int_equal(b.len, 100000);
	assert_int_equal(strlen(sb_str(&b)), 100000);
	assert_int_equal(b.s[25], 'z');
	assert_true(grows < 20);
	assert_false(sb_failed(&b));
	sb_free(&b);
	assert_null(b.s);
}

/* explicit lengths keep NUL bytes; the text stays terminated */
static void
test_binary(void **state)
{
	struct strbuf b = STRBUF_INIT;

	(void)state;
	sb_putn(&b, "a\0b", 3);
	sb_puts(&b, "cd");
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.s, "a\0bcd", 6);
	sb_free(&b);
}

/* printf output longer than the free room is formatted again, whole */
static void
test_printf(void **state)
{
	struct strbuf b = STRBUF_INIT;
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	sb_printf(&b, "n=%d ", 42);
	sb_printf(&b, "%s|%s", big, "end");
	assert_int_equal(b.len, 5 + 2999 + 4);
	assert_string_equal(b.s + b.len - 4, "|end");
	assert_memory_equal(b.s, "n=42 x", 6);
	sb_truncate(&b, 4);
	assert_string_equal(sb_str(&b), "n=42");
	sb_truncate(&b, 100);
	assert_string_equal(sb_str(&b), "n=42");
	sb_free(&b);
}

/* a failed allocation sticks: later appends do nothing, steal gives NULL */
static void
test_failure_sticks(void **state)
{
	struct strbuf b = STRBUF_INIT;
	/* volatile: a size known only at run time, as a caller's would be */
	volatile size_t huge = SIZE_MAX - 2;

	(void)state;
	sb_puts(&b, "kept");
	sb_putn(&b, "x", huge); /* cannot be allocated */
	assert_true(sb_failed(&b));
	sb_puts(&b, "more");
	assert_string_equal(sb_str(&b), "kept");
	assert_null(sb_steal(&b));
	assert_false(sb_failed(&b));
	sb_puts(&b, "again");
	assert_string_equal(sb_str(&b), "again");
	sb_free(&b);
}

/* an array grown one element at a time keeps every element */
static void
test_array_room(void **state)
{
	int *a = NULL;
	size_t n;

	(void)state;
	for (n = 0; n < 1000; n++) {
		assert_int_equal(sb_array_room(&a, n, sizeof(*a)), 0);
		a[n] = (int)n * 3;
	}
	for (n = 0; n < 1000; n++)
		assert_int_equal(a[n], (int)n * 3);
	free(a);
	/* a size that cannot be allocated: -1, the array untouched */
	a = NULL;
	assert_int_equal(sb_array_room(&a, (size_t)1 << 62, 8), -1);
	assert_null(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_printf),
	    cmocka_unit_test(test_failure_sticks),
	    cmocka_unit_test(test_array_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
