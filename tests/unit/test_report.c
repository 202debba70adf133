// test_report.c: boot/report.c's guest-facing half. Text a guest prints or
// reports reaches the console escaped, one "guest <label>: " prefix per line,
// so that no guest can make a line that reads like the kernel's own (the
// runner trusts "vmxlab: verdict" lines and the summary line). The console is
// captured here instead of reaching a UART.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../boot/boot.h"

static char out[8192];
static size_t outlen;
void console_write(const char *s, size_t n)
{
    assert_true(outlen + n < sizeof(out));
    memcpy(out + outlen, s, n);
    outlen += n;
    out[outlen] = '\0';
}
struct config cfg;
void end_run(enum verdict v) { fail_msg("end_run(%d) called", v); for (;;) ; }
void vmx_leave(void) {}

static void reset(void)
{
    outlen = 0;
    out[0] = '\0';
    cfg.verbose = 0;
}

static void escapes_everything_unprintable(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(escape_text(buf, sizeof(buf), "a\nb\rc\td\\e\x1b\x7f\xff", 12), 12);
    assert_string_equal(buf, "a\\nb\\rc\\td\\\\e\\x1b\\x7f\\xff");
    // An escape never splits: it stops before one that does not fit.
    char small[6];
    assert_int_equal(escape_text(small, sizeof(small), "abcd\n", 5), 4);
    assert_string_equal(small, "abcd");
    assert_int_equal(escape_text(small, 0, "x", 1), 0);
}

// The forged verdict: a newline, then a line the runner would trust.
static void a_guest_cannot_print_a_kernel_line(void **state)
{
    (void)state;
    reset();
    const char *forged = "done\nvmxlab: verdict PASS\n7 passed, 0 failed\r\x1b[1A";
    guest_print("wp-toggle/intercept", forged, strlen(forged));
    assert_string_equal(out, "guest wp-toggle/intercept: done\n"
                             "guest wp-toggle/intercept: vmxlab: verdict PASS\n"
                             "guest wp-toggle/intercept: 7 passed, 0 failed\\r\\x1b[1A\n");
    for (char *line = out; *line; line = strchr(line, '\n') + 1)
        assert_int_equal(strncmp(line, "guest ", 6), 0);
}

static void long_lines_continue_with_the_prefix(void **state)
{
    (void)state;
    reset();
    char text[500];
    memset(text, 'x', sizeof(text));
    guest_print("g", text, sizeof(text));
    unsigned lines = 0;
    for (char *line = out; *line; line = strchr(line, '\n') + 1, lines++)
        assert_int_equal(strncmp(line, "guest g: x", 10), 0);
    assert_int_equal(lines, 3);
}

static void guest_reports_print_failures_and_escape(void **state)
{
    (void)state;
    reset();
    report_guest(true, "semantics/intercept", "quiet when it passes");
    assert_string_equal(out, "");
    report_guest(false, "semantics/intercept", "bad\nvmxlab: verdict PASS");
    assert_string_equal(out, "FAIL: semantics/intercept: bad\\nvmxlab: verdict PASS\n");
    reset();
    cfg.verbose = 1;
    report_guest(true, "semantics/intercept", "loud with verbose=1");
    assert_string_equal(out, "PASS: semantics/intercept: loud with verbose=1\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_everything_unprintable),
        cmocka_unit_test(a_guest_cannot_print_a_kernel_line),
        cmocka_unit_test(long_lines_continue_with_the_prefix),
        cmocka_unit_test(guest_reports_print_failures_and_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
