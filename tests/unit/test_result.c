// test_result.c: the "vmxlab-result {json}" line of hv/result.c, which the
// boot tests and `make bench` parse, and fmt_ratio()'s two-decimal ratios.
// The JSON is compared byte for byte, then read back by a small JSON reader
// below to check its syntax and its keys.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/boot.h"
#include "../../hv/hv.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

// hv/exit.c comes along for exit_reason_name(); the rest of it refers to these
// kernel-only functions, which no test here may reach.
__attribute__((noreturn)) void vmx_fail(const char *insn, uint64_t arg)
{
    fail_msg("vmx_fail(%s, 0x%llx) called", insn, (unsigned long long)arg);
    abort(); // fail_msg() does not return; cmocka does not say so
}

void vmcs_dump(void)
{
    fail_msg("vmcs_dump() called");
}

void report(bool ok, const char *fmt, ...)
{
    fail_msg("report(%d, \"%s\") called", ok, fmt);
}

static const char *ratio(uint64_t num, uint64_t den)
{
    static char buf[32];
    memset(buf, 'x', sizeof(buf));
    fmt_ratio(buf, sizeof(buf), num, den);
    return buf;
}

static void ratio_two_decimals(void **state)
{
    (void)state;
    assert_string_equal(ratio(7152, 100), "71.52");
    assert_string_equal(ratio(715200, 10000), "71.52");
    assert_string_equal(ratio(42, 1), "42.00");
    assert_string_equal(ratio(0, 7), "0.00");
    assert_string_equal(ratio(3, 20), "0.15");
    assert_string_equal(ratio(1, 100), "0.01"); // leading zero kept
}

static void ratio_rounds_half_up(void **state)
{
    (void)state;
    assert_string_equal(ratio(1, 3), "0.33");
    assert_string_equal(ratio(2, 3), "0.67");
    assert_string_equal(ratio(1, 200), "0.01");  // 0.005
    assert_string_equal(ratio(1, 201), "0.00");  // 0.004975...
    assert_string_equal(ratio(41234, 10000), "4.12");
    assert_string_equal(ratio(41235, 10000), "4.12"); // 4.1235: only the third decimal counts
    assert_string_equal(ratio(4125, 1000), "4.13");
    assert_string_equal(ratio(199999, 100000), "2.00"); // 1.99999 carries into the whole part
    assert_string_equal(ratio(995, 1000), "1.00");
}

static void ratio_zero_denominator(void **state)
{
    (void)state;
    assert_string_equal(ratio(5, 0), "0.00");
    assert_string_equal(ratio(0, 0), "0.00");
    assert_string_equal(ratio(UINT64_MAX, 0), "0.00");
}

// Tick counts are 64-bit: num * 100 must not wrap.
static void ratio_large_values(void **state)
{
    (void)state;
    assert_string_equal(ratio(123456789012345ull, 10000), "12345678901.23");
    assert_string_equal(ratio(1000000000000000000ull, 3), "333333333333333333.33");
    assert_string_equal(ratio(1000000000000000002ull, 3), "333333333333333334.00");
    assert_string_equal(ratio(UINT64_MAX, 1), "18446744073709551615.00");
    assert_string_equal(ratio(UINT64_MAX, 100), "184467440737095516.15");
    assert_string_equal(ratio(UINT64_MAX, 3), "6148914691236517205.00");
    assert_string_equal(ratio(UINT64_MAX, 1ull << 32), "4294967296.00"); // ...295.99999...
    assert_string_equal(ratio(1000000, 1000000000000000ull), "0.00");
}

static void ratio_truncates_to_buffer(void **state)
{
    (void)state;
    char buf[4] = "zzz";
    fmt_ratio(buf, 3, 7152, 100);
    assert_string_equal(buf, "71");
    assert_int_equal(buf[3], 0); // untouched
}

// A JSON reader just big enough for result_json's output (objects, strings
// without escapes, unsigned numbers with an optional fraction). It writes the
// document's shape to r->shape: keys in order, nested objects in braces.
struct reader {
    const char *p;
    char shape[512];
};

static void shape_add(struct reader *r, const char *s, size_t n)
{
    size_t len = strlen(r->shape);
    assert_true(len + n + 1 < sizeof(r->shape));
    memcpy(r->shape + len, s, n);
    r->shape[len + n] = '\0';
}

static bool read_string(struct reader *r, bool key)
{
    if (*r->p != '"')
        return false;
    const char *start = ++r->p;
    while (*r->p && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
        r->p++;
    if (*r->p != '"')
        return false;
    if (key) {
        if (r->shape[0] && r->shape[strlen(r->shape) - 1] != '{')
            shape_add(r, " ", 1);
        shape_add(r, start, (size_t)(r->p - start));
    }
    r->p++;
    return true;
}

static bool read_digits(struct reader *r)
{
    const char *start = r->p;
    while (*r->p >= '0' && *r->p <= '9')
        r->p++;
    return r->p > start;
}

static bool read_number(struct reader *r)
{
    if (r->p[0] == '0' && r->p[1] >= '0' && r->p[1] <= '9')
        return false; // JSON has no leading zeros
    if (!read_digits(r))
        return false;
    if (*r->p == '.') {
        r->p++;
        return read_digits(r);
    }
    return true;
}

static bool read_value(struct reader *r, int depth);

static bool read_object(struct reader *r, int depth)
{
    if (*r->p++ != '{')
        return false;
    if (depth)
        shape_add(r, "{", 1);
    if (*r->p != '}') {
        for (;;) {
            if (!read_string(r, true) || *r->p++ != ':' || !read_value(r, depth + 1))
                return false;
            if (*r->p != ',')
                break;
            r->p++;
        }
    }
    if (*r->p++ != '}')
        return false;
    if (depth)
        shape_add(r, "}", 1);
    return true;
}

static bool read_value(struct reader *r, int depth)
{
    if (*r->p == '{')
        return read_object(r, depth);
    if (*r->p == '"')
        return read_string(r, false);
    return read_number(r);
}

static const char *json_shape(const char *json)
{
    static struct reader r;
    memset(&r, 0, sizeof(r));
    r.p = json;
    if (!read_object(&r, 0) || *r.p)
        fail_msg("not JSON at offset %d: %s", (int)(r.p - json), json);
    return r.shape;
}

static void reader_rejects_bad_json(void **state)
{
    (void)state;
    // The reader must be able to say no, or the shape checks prove nothing.
    struct reader r;
    const char *bad[] = { "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":1}x", "{\"a\" 1}",
                          "{\"a\":{}", "{a:1}", "{\"a\":\"b}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.p = bad[i];
        bool ok = read_object(&r, 0) && !*r.p;
        if (ok)
            fail_msg("accepted %s", bad[i]);
    }
    assert_string_equal(json_shape("{\"a\":{\"b\":1,\"c\":\"d\"},\"e\":{},\"f\":2.50}"),
                        "a{b c} e{} f");
}

#define INTERCEPT_JSON                                                                   \
    "{\"policy\":\"intercept\",\"toggles\":10000,\"exits\":10000,"                       \
    "\"exits_by_reason\":{\"CR_ACCESS\":10000},\"cr_exits\":10000,"                      \
    "\"cr_detail\":{\"mov_to_cr0\":10000,\"clts\":0,\"lmsw\":0,\"mov_to_cr4\":0},"       \
    "\"ticks\":715200,\"ticks_per_toggle\":71.52,\"cr0_guest_owned\":0}"

static struct run_result intercept(void)
{
    struct run_result r = { 0 };
    r.policy = "intercept";
    r.toggles = 10000;
    r.ticks = 715200;
    r.window.by_reason[EXIT_REASON_CR_ACCESS] = 10000;
    r.window.total = 10000;
    r.window.cr_mov_to_cr0 = 10000;
    r.cr0_guest_owned = 0;
    return r;
}

static void json_intercept_exact(void **state)
{
    (void)state;
    struct run_result r = intercept();
    char buf[1024];
    memset(buf, 'x', sizeof(buf));
    int n = result_json(&r, buf, sizeof(buf));
    assert_string_equal(buf, INTERCEPT_JSON);
    assert_int_equal(n, strlen(INTERCEPT_JSON));
    assert_string_equal(json_shape(buf), "policy toggles exits exits_by_reason{CR_ACCESS} "
                                         "cr_exits cr_detail{mov_to_cr0 clts lmsw mov_to_cr4} "
                                         "ticks ticks_per_toggle cr0_guest_owned");
}

static void json_passthrough_has_no_exits(void **state)
{
    (void)state;
    struct run_result r = { 0 };
    r.policy = "passthrough";
    r.toggles = 10000;
    r.ticks = 41234;
    r.cr0_guest_owned = 0x10000; // WP
    char buf[1024];
    int n = result_json(&r, buf, sizeof(buf));
    const char *want = "{\"policy\":\"passthrough\",\"toggles\":10000,\"exits\":0,"
                       "\"exits_by_reason\":{},\"cr_exits\":0,"
                       "\"cr_detail\":{\"mov_to_cr0\":0,\"clts\":0,\"lmsw\":0,\"mov_to_cr4\":0},"
                       "\"ticks\":41234,\"ticks_per_toggle\":4.12,\"cr0_guest_owned\":65536}";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_string_equal(json_shape(buf), "policy toggles exits exits_by_reason{} cr_exits "
                                         "cr_detail{mov_to_cr0 clts lmsw mov_to_cr4} ticks "
                                         "ticks_per_toggle cr0_guest_owned");
}

// Reasons appear in numeric order, up to the last one counted (64, XRSTORS).
static void json_several_reasons_in_order(void **state)
{
    (void)state;
    struct run_result r = { 0 };
    r.policy = "mixed";
    r.ticks = 999;
    r.window.by_reason[EXIT_REASON_XRSTORS] = 5;
    r.window.by_reason[EXIT_REASON_CR_ACCESS] = 3;
    r.window.by_reason[EXIT_REASON_VMCALL] = 2;
    r.window.by_reason[EXIT_REASON_HLT] = 1;
    r.window.total = 11;
    r.window.cr_mov_to_cr0 = 1;
    r.window.cr_clts = 1;
    r.window.cr_lmsw = 0;
    r.window.cr_mov_to_cr4 = 1;
    r.window.cr_other = 7; // not part of the line
    r.cr0_guest_owned = 0x8;
    char buf[1024];
    result_json(&r, buf, sizeof(buf));
    assert_string_equal(buf, "{\"policy\":\"mixed\",\"toggles\":0,\"exits\":11,"
                             "\"exits_by_reason\":{\"HLT\":1,\"VMCALL\":2,\"CR_ACCESS\":3,"
                             "\"XRSTORS\":5},\"cr_exits\":3,"
                             "\"cr_detail\":{\"mov_to_cr0\":1,\"clts\":1,\"lmsw\":0,"
                             "\"mov_to_cr4\":1},\"ticks\":999,\"ticks_per_toggle\":0.00,"
                             "\"cr0_guest_owned\":8}");
    assert_string_equal(json_shape(buf), "policy toggles exits "
                                         "exits_by_reason{HLT VMCALL CR_ACCESS XRSTORS} "
                                         "cr_exits cr_detail{mov_to_cr0 clts lmsw mov_to_cr4} "
                                         "ticks ticks_per_toggle cr0_guest_owned");
}

static void json_large_counts(void **state)
{
    (void)state;
    struct run_result r = intercept();
    r.ticks = UINT64_MAX;
    r.toggles = 1;
    r.window.by_reason[EXIT_REASON_CR_ACCESS] = UINT64_MAX;
    char buf[1024];
    result_json(&r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"exits_by_reason\":{\"CR_ACCESS\":18446744073709551615},"
                                "\"cr_exits\":18446744073709551615,"));
    assert_non_null(strstr(buf, "\"ticks\":18446744073709551615,"
                                "\"ticks_per_toggle\":18446744073709551615.00,"));
}

// Like snprintf: never writes past size, always NUL-terminates (size > 0), and
// returns the length it wanted. Each size gets an exact-size heap buffer, so
// AddressSanitizer catches a single byte written past its end.
static void json_truncates_like_snprintf(void **state)
{
    (void)state;
    struct run_result r = intercept();
    const size_t full = strlen(INTERCEPT_JSON);
    for (size_t size = 1; size <= full + 1; size++) {
        char *buf = malloc(size);
        assert_non_null(buf);
        memset(buf, 'x', size);
        int n = result_json(&r, buf, size);
        assert_int_equal(n, full);
        assert_int_equal(buf[size - 1], '\0');
        assert_int_equal(strlen(buf), size - 1);
        assert_memory_equal(buf, INTERCEPT_JSON, size - 1);
        free(buf);
    }
    char one = 'x';
    assert_int_equal(result_json(&r, &one, 0), full);
    assert_int_equal(one, 'x');
    char tiny[8];
    assert_int_equal(result_json(&r, tiny, sizeof(tiny)), full);
    assert_string_equal(tiny, "{\"polic");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ratio_two_decimals),
        cmocka_unit_test(ratio_rounds_half_up),
        cmocka_unit_test(ratio_zero_denominator),
        cmocka_unit_test(ratio_large_values),
        cmocka_unit_test(ratio_truncates_to_buffer),
        cmocka_unit_test(reader_rejects_bad_json),
        cmocka_unit_test(json_intercept_exact),
        cmocka_unit_test(json_passthrough_has_no_exits),
        cmocka_unit_test(json_several_reasons_in_order),
        cmocka_unit_test(json_large_counts),
        cmocka_unit_test(json_truncates_like_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
