// test_text.c: hv/run/text.c, the console text of a multiboot kernel's runs: which lines
// are kept (the first and the last, as many as the constants say), that the first line
// that differs from the reference run is found, with its text, whether this run's text
// is longer, shorter or changed in the middle, and past the lines whose hashes are kept.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../hv/run/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

static struct run_text ref, run; // 1 MiB of line hashes each: not on the stack

// Lines "line 1" ... "line n", but line `changed` reads "other" (0: none).
static void feed(struct run_text *t, const struct run_text *r, uint64_t n, uint64_t changed)
{
    text_init(t, r);
    char s[32];
    for (uint64_t i = 1; i <= n; i++) {
        int len = i == changed ? snprintf(s, sizeof(s), "other") : snprintf(s, sizeof(s),
                                                                             "line %lu", i);
        text_line(t, s, (size_t)len);
    }
    text_finish(t);
}

static void same_text_is_same(void **state)
{
    (void)state;
    feed(&ref, NULL, 62, 0);
    assert_false(text_same(&ref)); // the reference has nothing to be the same as
    feed(&run, &ref, 62, 0);
    assert_true(text_same(&run));
    assert_int_equal(run.differs_at, 0);
    assert_int_equal(run.lines, 62);
}

static void first_difference_named(void **state)
{
    (void)state;
    feed(&ref, NULL, 62, 0);
    feed(&run, &ref, 62, 30);
    assert_false(text_same(&run));
    assert_int_equal(run.differs_at, 30);
    assert_int_equal(run.differing.number, 30);
    assert_memory_equal(run.differing.s, "other", 5);
    assert_int_equal(run.differing.len, 5);
    const struct text_line *k = text_kept(&ref, 30); // the reference's line, kept
    assert_non_null(k);
    assert_memory_equal(k->s, "line 30", 7);
}

static void shorter_and_longer(void **state)
{
    (void)state;
    feed(&ref, NULL, 62, 0);
    feed(&run, &ref, 40, 0); // a crash at line 41
    assert_int_equal(run.differs_at, 41);
    assert_int_equal(run.differing.len, 0);
    assert_false(text_same(&run));
    feed(&run, &ref, 63, 0); // one line more
    assert_int_equal(run.differs_at, 63);
    assert_memory_equal(run.differing.s, "line 63", 7);
    feed(&run, &ref, 0, 0);
    assert_int_equal(run.differs_at, 1);
}

// 300000 lines, as a failing test suite prints: the first TEXT_FIRST and the last
// TEXT_LAST kept, the middle counted; a change at line 200000 is found by its hash, one
// past TEXT_HASHED lines only as "somewhere past them".
static void long_text(void **state)
{
    (void)state;
    const uint64_t n = 300000;
    feed(&ref, NULL, n, 0);
    assert_int_equal(ref.lines, n);
    assert_non_null(text_kept(&ref, 1));
    assert_non_null(text_kept(&ref, TEXT_FIRST));
    assert_null(text_kept(&ref, TEXT_FIRST + 1));
    assert_null(text_kept(&ref, n - TEXT_LAST));
    for (uint64_t i = n - TEXT_LAST + 1; i <= n; i++) {
        const struct text_line *k = text_kept(&ref, i);
        char s[32];
        assert_non_null(k);
        assert_int_equal(k->len, (unsigned)snprintf(s, sizeof(s), "line %lu", i));
        assert_memory_equal(k->s, s, k->len);
    }
    assert_null(text_kept(&ref, n + 1));
    assert_null(text_kept(&ref, 0));
    feed(&run, &ref, n, 200000);
    assert_int_equal(run.differs_at, 200000);
    feed(&run, &ref, n, TEXT_HASHED + 5);
    assert_int_equal(run.differs_at, 0);
    assert_true(run.differs_past);
    assert_false(text_same(&run));
    feed(&run, &ref, n, 0);
    assert_true(text_same(&run));
}

// A line longer than what is kept: kept cut, hashed whole.
static void long_line(void **state)
{
    (void)state;
    char s[400];
    memset(s, 'x', sizeof(s));
    text_init(&ref, NULL);
    text_line(&ref, s, sizeof(s));
    text_finish(&ref);
    assert_int_equal(text_kept(&ref, 1)->len, TEXT_LINE);
    s[399] = 'y';
    text_init(&run, &ref);
    text_line(&run, s, sizeof(s));
    text_finish(&run);
    assert_int_equal(run.differs_at, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_text_is_same),    cmocka_unit_test(first_difference_named),
        cmocka_unit_test(shorter_and_longer),   cmocka_unit_test(long_text),
        cmocka_unit_test(long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
