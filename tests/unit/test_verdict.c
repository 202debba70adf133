// test_verdict.c: verdict names and the codes end_run() writes to QEMU's
// isa-debug-exit; scripts/run.py and the README's table use the same numbers.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../boot/boot.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

static void names(void **state)
{
    (void)state;
    assert_string_equal(verdict_name(VERDICT_PASS), "PASS");
    assert_string_equal(verdict_name(VERDICT_FAIL), "FAIL");
    assert_string_equal(verdict_name(VERDICT_CRASH), "CRASH");
    assert_string_equal(verdict_name(VERDICT_TIMEOUT), "TIMEOUT");
    assert_string_equal(verdict_name(VERDICT_UNSUPPORTED), "UNSUPPORTED");
    assert_string_equal(verdict_name((enum verdict)99), "CRASH");
}

static void runner_status_numbers(void **state)
{
    (void)state;
    // README: 0 PASS, 1 FAIL, 2 CRASH, 3 TIMEOUT, 4 UNSUPPORTED
    assert_int_equal(VERDICT_PASS, 0);
    assert_int_equal(VERDICT_FAIL, 1);
    assert_int_equal(VERDICT_CRASH, 2);
    assert_int_equal(VERDICT_TIMEOUT, 3);
    assert_int_equal(VERDICT_UNSUPPORTED, 4);
}

static void qemu_codes(void **state)
{
    (void)state;
    // QEMU exits with (code << 1) | 1: PASS 1, FAIL 3, UNSUPPORTED 9
    assert_int_equal((verdict_qemu_code(VERDICT_PASS) << 1) | 1, 1);
    assert_int_equal((verdict_qemu_code(VERDICT_FAIL) << 1) | 1, 3);
    assert_int_equal((verdict_qemu_code(VERDICT_UNSUPPORTED) << 1) | 1, 9);
    assert_int_equal(verdict_qemu_code((enum verdict)42), VERDICT_CRASH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(runner_status_numbers),
        cmocka_unit_test(qemu_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
