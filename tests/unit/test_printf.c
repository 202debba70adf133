// test_printf.c: host unit tests (cmocka) for lib/printf.c, the formatter
// behind every line the kernel prints. lib.h renames our functions to
// lib_snprintf & co. under HOST_TEST, so these calls reach our code, not libc.
// console_write() here captures what kprintf sends to the console.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/boot.h"

static char captured[1024];
static size_t captured_len;
static int console_calls;

void console_write(const char *s, size_t n)
{
    assert_true(captured_len + n < sizeof(captured));
    memcpy(captured + captured_len, s, n);
    captured_len += n;
    captured[captured_len] = '\0';
    console_calls++;
}

// Formats into a fresh buffer and checks both the text and the return value.
#define CHECK(want, ...)                                            \
    do {                                                            \
        char buf[128];                                              \
        memset(buf, 'X', sizeof(buf));                              \
        int n = snprintf(buf, sizeof(buf), __VA_ARGS__);            \
        assert_string_equal(buf, want);                             \
        assert_int_equal(n, strlen(want));                          \
    } while (0)

static void test_decimal(void **state)
{
    (void)state;
    CHECK("0", "%d", 0);
    CHECK("42", "%d", 42);
    CHECK("-42", "%d", -42);
    CHECK("-2147483648", "%d", INT32_MIN);
    CHECK("2147483647", "%d", INT32_MAX);
    CHECK("-9223372036854775808", "%lld", (long long)INT64_MIN);
    CHECK("9223372036854775807", "%ld", (long)INT64_MAX);
    CHECK("4294967295", "%u", UINT32_MAX);
    CHECK("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
    CHECK("123", "%zu", (size_t)123);
}

static void test_hex(void **state)
{
    (void)state;
    CHECK("0", "%x", 0u);
    CHECK("deadbeef", "%x", 0xdeadbeefu);
    CHECK("ffffffff", "%x", -1); // %x reads an unsigned int: no sign extension
    CHECK("123456789abcdef0", "%lx", 0x123456789abcdef0ul);
    CHECK("ffffffffffffffff", "%llx", ~0ull);
    CHECK("00000000000000ff", "%016llx", 0xffull);
    CHECK("0x1000", "%p", (void *)0x1000);
}

static void test_width_and_flags(void **state)
{
    (void)state;
    CHECK("   42", "%5d", 42);
    CHECK("00042", "%05d", 42);
    CHECK("-0042", "%05d", -42); // sign before the zeros
    CHECK("  -42", "%5d", -42);
    CHECK("42   |", "%-5d|", 42);
    CHECK("123456", "%3d", 123456); // width is a minimum, never a cut
    CHECK("ab      |", "%-8s|", "ab");
    CHECK("      ab", "%8s", "ab");
    CHECK("  ff", "%4x", 0xffu);
}

static void test_chars_strings_percent(void **state)
{
    (void)state;
    const char *volatile none = NULL; // volatile: gcc must not see the NULL
    CHECK("a", "%c", 'a');
    CHECK("[hello]", "[%s]", "hello");
    CHECK("(null)", "%s", none);
    CHECK("100%", "%d%%", 100);
    CHECK("", "%s", "");
    CHECK("x=1 y=two z=3", "x=%d y=%s z=%c", 1, "two", '3');
}

static void test_truncation(void **state)
{
    (void)state;
    char buf[8];
    memset(buf, 'X', sizeof(buf));
    // C99: the return value is the length it wanted, the text is cut and ended.
    assert_int_equal(snprintf(buf, 5, "hello world"), 11);
    assert_string_equal(buf, "hell");
    assert_int_equal(buf[5], 'X'); // nothing written past size

    memset(buf, 'X', sizeof(buf));
    assert_int_equal(snprintf(buf, 1, "%d", 12345), 5);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'X');

    // Exactly fitting: 7 characters and the NUL in 8 bytes.
    assert_int_equal(snprintf(buf, sizeof(buf), "%s", "1234567"), 7);
    assert_string_equal(buf, "1234567");
    assert_int_equal(snprintf(buf, sizeof(buf), "%s", "12345678"), 8);
    assert_string_equal(buf, "1234567");
}

static void test_size_zero(void **state)
{
    (void)state;
    char buf[4] = { 'X', 'X', 'X', 'X' };
    assert_int_equal(snprintf(buf, 0, "%s", "abc"), 3);
    assert_int_equal(buf[0], 'X'); // size 0 writes nothing, not even the NUL
    assert_int_equal(snprintf(NULL, 0, "%d-%d", 10, 20), 5);
}

static void test_kprintf_reaches_console(void **state)
{
    (void)state;
    captured_len = 0;
    console_calls = 0;
    kprintf("vmxon %s: %d\n", "ok", 7);
    assert_int_equal(console_calls, 1);
    assert_int_equal(captured_len, 12); // the NUL is not sent
    assert_string_equal(captured, "vmxon ok: 7\n");
}

static void test_kprintf_long_line_is_cut(void **state)
{
    (void)state;
    char line[700];
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    captured_len = 0;
    console_calls = 0;
    kprintf("%s", line);
    // kprintf formats into a 512-byte buffer: 511 characters reach the
    // console, the last four "...\n", so that the cut line still ends.
    assert_int_equal(console_calls, 1);
    assert_int_equal(captured_len, 511);
    assert_memory_equal(captured, line, 507);
    assert_memory_equal(captured + 507, "...\n", 4);
}

// appendf(): one piece after another; a short buffer keeps what fits, NUL-terminated,
// and the count goes on as snprintf's does.
static void test_appendf(void **state)
{
    (void)state;
    char buf[8];
    int n = appendf(buf, sizeof(buf), 0, "%s", "abc");
    n = appendf(buf, sizeof(buf), n, "-%d", 42);
    assert_int_equal(n, 6);
    assert_string_equal(buf, "abc-42");
    n = appendf(buf, sizeof(buf), n, "%s", "xyz");
    assert_int_equal(n, 9);
    assert_string_equal(buf, "abc-42x");
    n = appendf(buf, sizeof(buf), n, "more");
    assert_int_equal(n, 13);
    assert_string_equal(buf, "abc-42x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_width_and_flags),
        cmocka_unit_test(test_chars_strings_percent),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_size_zero),
        cmocka_unit_test(test_kprintf_reaches_console),
        cmocka_unit_test(test_kprintf_long_line_is_cut),
        cmocka_unit_test(test_appendf),
    };
    return cmocka_run_group_tests_name("printf", tests, NULL, NULL);
}
