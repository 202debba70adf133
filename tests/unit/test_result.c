// test_result.c: the "vmxlab-result {json}" line of hv/run/result.c, which the
// boot tests and `make bench` parse, fmt_ratio()'s two-decimal ratios and the
// fastest and median of a run's windows.
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
#include "../../boot/x86.h"
#include "../../hv/exit/internal.h"
#include "../../hv/run/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

// hv/exit/exit.c (and exit_cr.c, which its table names) come along for
// exit_reason_name() and the counters; the rest of them refers to these
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

void report_guest(bool ok, const char *label, const char *text)
{
    fail_msg("report_guest(%d, %s, %s) called", ok, label, text);
}

void guest_print(const char *label, const char *text, size_t n)
{
    fail_msg("guest_print(%s, %.*s) called", label, (int)n, text);
}

uint64_t smi_count(void) { return 0; }
volatile unsigned fixup_vector; // boot/cpu.c: for wrmsr_safe(), xsetbv_safe()
void arm_watchdog(uint64_t ticks) { fail_msg("arm_watchdog(%llu) called", (unsigned long long)ticks); }
void invvpid_context(uint64_t vpid, bool keep_global)
{
    fail_msg("invvpid_context(%llu, %d) called", (unsigned long long)vpid, keep_global);
}
bool ctl_on(enum ctl_kind kind, uint32_t bit)
{
    fail_msg("ctl_on(%d, 0x%x) called", kind, bit);
    return false;
}
void interrupt_eoi(unsigned vector) { fail_msg("interrupt_eoi(%u) called", vector); }
void invept_context(uint64_t eptp) { fail_msg("invept_context(0x%llx) called", (unsigned long long)eptp); }
void end_run(enum verdict v)
{
    fail_msg("end_run(%d) called", v);
    __builtin_unreachable();
}
void guest_text(const char *text, size_t len) { guest_print("", text, len); }
void vmx_set_ia32e_guest(bool on) { fail_msg("vmx_set_ia32e_guest(%d) called", on); }
bool vmx_unrestricted_guest(void) { fail_msg("vmx_unrestricted_guest() called"); return false; }
void entry_explain(const struct entry_verdict *cpu, bool launch)
{
    fail_msg("entry_explain(%u, %d) called", cpu->number, launch);
}
volatile struct events events;
struct config cfg;

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

static const char *sratio(int64_t num, uint64_t den)
{
    static char buf[32];
    memset(buf, 'x', sizeof(buf));
    fmt_signed_ratio(buf, sizeof(buf), num, den);
    return buf;
}

// Differences of costs may be negative: they are printed with their sign.
static void signed_ratio(void **state)
{
    (void)state;
    assert_string_equal(sratio(4000, 200), "20.00");
    assert_string_equal(sratio(-100, 200), "-0.50");
    assert_string_equal(sratio(-1, 1000), "0.00"); // -0.001 rounds to zero: no "-0.00"
    assert_string_equal(sratio(-5, 1000), "-0.01");
    assert_string_equal(sratio(INT64_MIN, 1), "-9223372036854775808.00");
    assert_string_equal(sratio(INT64_MAX, 1), "9223372036854775807.00");
    assert_string_equal(sratio(-7, 0), "0.00");
}

static struct run_record windows3(uint64_t t0, uint64_t t1, uint64_t t2)
{
    struct run_record r = { 0 };
    r.windows = 3;
    uint64_t t[3] = { t0, t1, t2 };
    for (int i = 0; i < 3; i++) {
        r.win[i].iterations = 100;
        r.win[i].ticks = t[i];
        r.win[i].exits.by_reason[EXIT_REASON_CR_ACCESS] = 100;
        r.win[i].exits.cr[CR_MOV_TO_CR0] = 100;
        r.win[i].smis = (uint64_t)i;
    }
    return r;
}

static void windows_min_and_median(void **state)
{
    (void)state;
    struct window_summary w;
    struct run_record r = windows3(900, 700, 800);
    windows_summarize(&r, &w);
    assert_int_equal(w.iterations, 100);
    assert_int_equal(w.min_ticks, 700);
    assert_int_equal(w.median_ticks, 800);
    assert_int_equal(w.exits.by_reason[EXIT_REASON_CR_ACCESS], 300);
    assert_int_equal(w.exits.cr[CR_MOV_TO_CR0], 300);
    assert_int_equal(w.smis, 3);
    // An even count: the median is the mean of the middle two.
    r.windows = 2;
    windows_summarize(&r, &w);
    assert_int_equal(w.min_ticks, 700);
    assert_int_equal(w.median_ticks, 800);
    // Windows of different sizes have no common iteration count.
    r = windows3(1, 2, 3);
    r.win[2].iterations = 99;
    windows_summarize(&r, &w);
    assert_int_equal(w.iterations, 0);
    // None at all.
    r.windows = 0;
    windows_summarize(&r, &w);
    assert_int_equal(w.min_ticks, 0);
    assert_int_equal(w.iterations, 0);
    // More MARK_ENDs than kept: the kept ones count.
    r = windows3(5, 6, 7);
    r.windows = MAX_WINDOWS + 5;
    for (int i = 3; i < MAX_WINDOWS; i++)
        r.win[i] = r.win[0];
    windows_summarize(&r, &w);
    assert_int_equal(w.exits.by_reason[EXIT_REASON_CR_ACCESS], 100 * MAX_WINDOWS);
}

// Ticks are what the guest claims, up to 2^64 - 1: the mean of the middle two
// windows must not wrap (their sum did, and gave 2^63 - 1 for two of 2^64 - 1).
static void windows_median_of_huge_claims(void **state)
{
    (void)state;
    struct window_summary w;
    struct run_record r = windows3(UINT64_MAX, UINT64_MAX, 0);
    r.windows = 2;
    windows_summarize(&r, &w);
    assert_true(w.median_ticks == UINT64_MAX);
    r = windows3(UINT64_MAX, UINT64_MAX - 3, 0);
    r.windows = 2;
    windows_summarize(&r, &w);
    assert_true(w.median_ticks == UINT64_MAX - 2); // the mean, rounded down as before
    r = windows3(7, 4, 0);
    r.windows = 2;
    windows_summarize(&r, &w);
    assert_int_equal(w.median_ticks, 5);
}

// A JSON reader just big enough for result_json's and mb_result_json's output
// (objects, arrays of numbers or strings, strings without escapes, unsigned numbers
// with an optional fraction, true, false and null). It writes the document's shape to r->shape: keys in order,
// nested objects in braces, arrays as [].
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

static bool read_array(struct reader *r)
{
    if (*r->p++ != '[')
        return false;
    shape_add(r, "[]", 2);
    if (*r->p == ']') {
        r->p++;
        return true;
    }
    for (;;) {
        if (*r->p == '"' ? !read_string(r, false) : !read_number(r))
            return false;
        if (*r->p != ',')
            break;
        r->p++;
    }
    return *r->p++ == ']';
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
    if (*r->p == '[')
        return read_array(r);
    if (*r->p == '"')
        return read_string(r, false);
    for (const char *const *word = (const char *const[]){ "true", "false", "null", NULL }; *word; word++)
        if (!strncmp(r->p, *word, strlen(*word))) {
            r->p += strlen(*word);
            return true;
        }
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
                          "{\"a\":{}", "{a:1}", "{\"a\":\"b}", "{\"a\":[1,]}", "{\"a\":[1}",
                          "{\"a\":tru}", "{\"a\":[true]}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.p = bad[i];
        bool ok = read_object(&r, 0) && !*r.p;
        if (ok)
            fail_msg("accepted %s", bad[i]);
    }
    assert_string_equal(json_shape("{\"a\":{\"b\":1,\"c\":\"d\"},\"e\":{},\"f\":2.50,\"g\":[1,2]}"),
                        "a{b c} e{} f g[]");
}

#define SHAPE "experiment policy paging iterations windows exits exits_by_reason{%s} " \
              "cr_exits{%s} pf_exits{} shadow_flushes ticks[] ticks_min ticks_median "         \
              "per_iter_min per_iter_median smis nmis extints "                                  \
              "cr0_guest_owned cr4_guest_owned guest_claim"

#define INTERCEPT_JSON                                                                   \
    "{\"experiment\":\"wp-toggle\",\"policy\":\"intercept\",\"paging\":\"ept\","            \
    "\"iterations\":10000,"                                                              \
    "\"windows\":3,\"exits\":30000,\"exits_by_reason\":{\"CR_ACCESS\":30000},"           \
    "\"cr_exits\":{\"mov_to_cr0\":30000},\"pf_exits\":{},\"shadow_flushes\":0,"            \
    "\"ticks\":[715300,715200,715250],"                                                  \
    "\"ticks_min\":715200,\"ticks_median\":715250,\"per_iter_min\":71.52,"               \
    "\"per_iter_median\":71.53,\"smis\":0,\"nmis\":0,\"extints\":0,"                     \
    "\"cr0_guest_owned\":\"0x0\",\"cr4_guest_owned\":\"0x0\",\"guest_claim\":false}"

static struct run_record intercept(void)
{
    struct run_record r = { 0 };
    r.windows = 3;
    uint64_t t[3] = { 715300, 715200, 715250 };
    for (int i = 0; i < 3; i++) {
        r.win[i].iterations = 10000;
        r.win[i].ticks = t[i];
        r.win[i].exits.by_reason[EXIT_REASON_CR_ACCESS] = 10000;
        r.win[i].exits.cr[CR_MOV_TO_CR0] = 10000;
    }
    return r;
}

// Exactly, for a built-in guest and for one from guest=, whose windows are
// its own claim: the line says which.
static void json_intercept_exact(void **state)
{
    (void)state;
    struct run_record r = intercept();
    for (int claimed = 0; claimed < 2; claimed++) {
        char buf[1024], want[1024];
        snprintf(want, sizeof(want), "%s", INTERCEPT_JSON);
        if (claimed)
            strcpy(strstr(want, "\"guest_claim\":false}"), "\"guest_claim\":true}");
        memset(buf, 'x', sizeof(buf));
        int n = result_json("wp-toggle", "intercept", "ept", claimed, &r, buf, sizeof(buf));
        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
        char shape[512];
        snprintf(shape, sizeof(shape), SHAPE, "CR_ACCESS", "mov_to_cr0");
        assert_string_equal(json_shape(buf), shape);
    }
}

// Masks in hex, as people read them: WP|TS is 0x10008.
static void json_passthrough_has_no_exits(void **state)
{
    (void)state;
    struct run_record r = { 0 };
    r.windows = 1;
    r.win[0].iterations = 10000;
    r.win[0].ticks = 41234;
    r.cr0_owned_at_end = 0x10008;
    r.cr4_owned_at_end = 0x80;
    char buf[1024];
    result_json("wp-toggle", "passthrough", "ept", false, &r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"exits\":0,\"exits_by_reason\":{},\"cr_exits\":{},"
                                "\"pf_exits\":{},\"shadow_flushes\":0,\"ticks\":[41234],\"ticks_min\":41234,\"ticks_median\":41234,"
                                "\"per_iter_min\":4.12,\"per_iter_median\":4.12,"));
    assert_non_null(strstr(buf, "\"cr0_guest_owned\":\"0x10008\",\"cr4_guest_owned\":\"0x80\","));
    char shape[512];
    snprintf(shape, sizeof(shape), SHAPE, "", "");
    assert_string_equal(json_shape(buf), shape);
}

// Reasons appear in numeric order, CR kinds in enum order; zero counts are left out.
static void json_several_reasons_in_order(void **state)
{
    (void)state;
    struct run_record r = { 0 };
    r.windows = 1;
    r.win[0].iterations = 1;
    r.win[0].exits.by_reason[EXIT_REASON_XRSTORS] = 5;
    r.win[0].exits.by_reason[EXIT_REASON_CR_ACCESS] = 3;
    r.win[0].exits.by_reason[EXIT_REASON_VMCALL] = 2;
    r.win[0].exits.by_reason[EXIT_REASON_HLT] = 1;
    r.win[0].exits.cr[CR_LMSW] = 1;
    r.win[0].exits.cr[CR_MOV_TO_CR4] = 1;
    r.win[0].exits.cr[CR_CLTS] = 1;
    r.nmis = 2;
    r.extints = 7;
    char buf[1024];
    result_json("mixed", "", "ept", false, &r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"exits\":11,\"exits_by_reason\":{\"HLT\":1,\"VMCALL\":2,"
                                "\"CR_ACCESS\":3,\"XRSTORS\":5},\"cr_exits\":{\"mov_to_cr4\":1,"
                                "\"clts\":1,\"lmsw\":1},"));
    assert_non_null(strstr(buf, "\"smis\":0,\"nmis\":2,\"extints\":7,"));
    char shape[512];
    snprintf(shape, sizeof(shape), SHAPE, "HLT VMCALL CR_ACCESS XRSTORS", "mov_to_cr4 clts lmsw");
    assert_string_equal(json_shape(buf), shape);
}

// Under shadow paging: #PF exits by what came of them, and the flushes.
static void json_shadow_counters(void **state)
{
    (void)state;
    struct run_record r = intercept();
    for (int i = 0; i < 3; i++) {
        r.win[i].exits.by_reason[EXIT_REASON_EXCEPTION_NMI] = 10001;
        r.win[i].exits.pf[PF_FILLED] = 10000;
        r.win[i].exits.pf[PF_REFLECTED] = 1;
        r.win[i].exits.shadow_flushes = 10000;
    }
    char buf[1024];
    result_json("wp-toggle", "intercept", "shadow-flush", false, &r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"paging\":\"shadow-flush\","));
    assert_non_null(strstr(buf, "\"exits\":60003,\"exits_by_reason\":{\"EXCEPTION_NMI\":30003,"
                                "\"CR_ACCESS\":30000},"));
    assert_non_null(strstr(buf, "\"pf_exits\":{\"filled\":30000,\"reflected\":3},"
                                "\"shadow_flushes\":30000,"));
}

static void json_large_counts(void **state)
{
    (void)state;
    struct run_record r = intercept();
    r.windows = 1;
    r.win[0].ticks = UINT64_MAX;
    r.win[0].iterations = 1;
    r.win[0].exits.by_reason[EXIT_REASON_CR_ACCESS] = UINT64_MAX;
    char buf[1024];
    result_json("big", "intercept", "ept", false, &r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"exits_by_reason\":{\"CR_ACCESS\":18446744073709551615},"));
    assert_non_null(strstr(buf, "\"ticks\":[18446744073709551615],"
                                "\"ticks_min\":18446744073709551615,"));
    assert_non_null(strstr(buf, "\"per_iter_min\":18446744073709551615.00,"));
}

// Like snprintf: never writes past size, always NUL-terminates (size > 0), and
// returns the length it wanted. Each size gets an exact-size heap buffer, so
// AddressSanitizer catches a single byte written past its end.
static void json_truncates_like_snprintf(void **state)
{
    (void)state;
    struct run_record r = intercept();
    const size_t full = strlen(INTERCEPT_JSON);
    for (size_t size = 1; size <= full + 1; size++) {
        char *buf = malloc(size);
        assert_non_null(buf);
        memset(buf, 'x', size);
        int n = result_json("wp-toggle", "intercept", "ept", false, &r, buf, size);
        assert_int_equal(n, full);
        assert_int_equal(buf[size - 1], '\0');
        assert_int_equal(strlen(buf), size - 1);
        assert_memory_equal(buf, INTERCEPT_JSON, size - 1);
        free(buf);
    }
    char one = 'x';
    assert_int_equal(result_json("wp-toggle", "intercept", "ept", false, &r, &one, 0), full);
    assert_int_equal(one, 'x');
}

// A multiboot kernel's run: its ending and exit code, its exits, the devices it reached
// and what nobody claimed, its ticks and its text against the reference's.
static struct run_text mb_ref, mb_text;

static void json_multiboot_exact(void **state)
{
    (void)state;
    struct run_record r = { .end = RUN_EXITED, .status = 0, .ticks = 99057 };
    r.all.by_reason[EXIT_REASON_CR_ACCESS] = 2;
    r.all.by_reason[EXIT_REASON_IO_INSTRUCTION] = 308;
    r.all.cr[CR_MOV_TO_CR0] = 1;
    r.all.cr[CR_MOV_TO_CR4] = 1;
    const char *d = "\"devices\":{\"isa-debug-exit\":[0,1],\"COM1\":[150,157]},"
                    "\"unclaimed\":[1,2],\"unclaimed_at\":[\"port 0x80\",\"page 0xfec00000\"]";
    text_init(&mb_ref, NULL);
    text_line(&mb_ref, "spin: 1000 iterations", 21);
    text_finish(&mb_ref);
    char buf[1024];
    int n = mb_result_json("spin.elf", "intercept", "ept", &r, &mb_ref, d, buf, sizeof(buf));
    const char *want =
        "{\"experiment\":\"spin.elf\",\"policy\":\"intercept\",\"paging\":\"ept\","
        "\"kernel\":\"multiboot\",\"end\":\"exited\",\"exit_code\":0,\"exits\":310,"
        "\"exits_by_reason\":{\"CR_ACCESS\":2,\"IO_INSTRUCTION\":308},"
        "\"cr_exits\":{\"mov_to_cr0\":1,\"mov_to_cr4\":1},\"pf_exits\":{},"
        "\"shadow_flushes\":0,\"devices\":{\"isa-debug-exit\":[0,1],\"COM1\":[150,157]},"
        "\"unclaimed\":[1,2],\"unclaimed_at\":[\"port 0x80\",\"page 0xfec00000\"],"
        "\"ticks\":99057,\"text_lines\":1,"
        "\"text_hash\":\"0x%016lx\",\"text\":\"reference\"}";
    char w[1024];
    snprintf(w, sizeof(w), want, mb_ref.hash);
    assert_string_equal(buf, w);
    assert_int_equal(n, strlen(w));
    assert_string_equal(json_shape(buf), "experiment policy paging kernel end exit_code exits "
                        "exits_by_reason{CR_ACCESS IO_INSTRUCTION} cr_exits{mov_to_cr0 "
                        "mov_to_cr4} pf_exits{} shadow_flushes devices{isa-debug-exit[] "
                        "COM1[]} unclaimed[] unclaimed_at[] ticks "
                        "text_lines text_hash text");
    // A later run whose text differs at its first line, and which ended without a code.
    text_init(&mb_text, &mb_ref);
    text_line(&mb_text, "spin: 999 iterations", 20);
    text_finish(&mb_text);
    r.end = RUN_TIMED_OUT;
    mb_result_json("spin.elf", "intercept", "shadow-roles", &r, &mb_text, d, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"end\":\"timed out\",\"exit_code\":null,"));
    assert_non_null(strstr(buf, "\"text\":\"differs\",\"text_differs_at\":1}"));
    json_shape(buf);
    r.end = RUN_EXITED;
    r.status = 7;
    mb_result_json("spin.elf", "intercept", "ept", &r, &mb_ref, d, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"exit_code\":7,"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ratio_two_decimals),
        cmocka_unit_test(json_shadow_counters),
        cmocka_unit_test(ratio_rounds_half_up),
        cmocka_unit_test(ratio_zero_denominator),
        cmocka_unit_test(ratio_large_values),
        cmocka_unit_test(ratio_truncates_to_buffer),
        cmocka_unit_test(signed_ratio),
        cmocka_unit_test(windows_min_and_median),
        cmocka_unit_test(windows_median_of_huge_claims),
        cmocka_unit_test(reader_rejects_bad_json),
        cmocka_unit_test(json_intercept_exact),
        cmocka_unit_test(json_multiboot_exact),
        cmocka_unit_test(json_passthrough_has_no_exits),
        cmocka_unit_test(json_several_reasons_in_order),
        cmocka_unit_test(json_large_counts),
        cmocka_unit_test(json_truncates_like_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
