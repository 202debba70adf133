// test_controls.c: ctl_adjust() (hv/vmx/controls.c) against the capability MSR
// values Bochs' corei7_skylake_x reports, and the control names that the
// "required control missing" message prints. SDM 3D A.3-A.5.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../hv/vmx/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

// IA32_VMX_TRUE_PROCBASED_CTLS: allowed-0 (must be 1) in the low half,
// allowed-1 (may be 1) in the high half. allowed-1 lacks bits 0, 17 and 18.
#define PROC_CAP 0xfff9fffe04006172ull
#define PROC_ALLOWED0 0x04006172u
// IA32_VMX_TRUE_PINBASED_CTLS: bits 1, 2, 4 default to 1; bits 0-6 may be 1.
#define PIN_CAP 0x0000007f00000016ull

static void required_bits_kept_and_allowed0_forced(void **state)
{
    (void)state;
    uint32_t out = 0;
    unsigned missing = 99;
    // HLT exiting (7), use MSR bitmaps (28), activate secondary controls (31)
    uint32_t required = BIT(7) | BIT(28) | BIT(31);
    assert_int_equal(ctl_adjust(PROC_CAP, required, 0, &out, &missing), 0);
    assert_int_equal(out, 0x940061f2u);
    assert_int_equal(out & PROC_ALLOWED0, PROC_ALLOWED0);
    assert_int_equal(missing, 99); // untouched on success
}

static void allowed0_forced_even_when_not_wanted(void **state)
{
    (void)state;
    uint32_t out = 0;
    unsigned missing = 0;
    assert_int_equal(ctl_adjust(PROC_CAP, 0, 0, &out, &missing), 0);
    assert_int_equal(out, PROC_ALLOWED0);
    assert_int_equal(ctl_adjust(PIN_CAP, 0, 0, &out, &missing), 0);
    assert_int_equal(out, 0x16u);
}

static void optional_bits_dropped_where_not_allowed(void **state)
{
    (void)state;
    uint32_t out = 0;
    unsigned missing = 0;
    // bits 0, 17 and 18 are not in allowed-1; RDTSC exiting (12) is
    uint32_t optional = BIT(0) | BIT(12) | BIT(17) | BIT(18);
    assert_int_equal(ctl_adjust(PROC_CAP, 0, optional, &out, &missing), 0);
    assert_int_equal(out, 0x04007172u);
    // pin-based: external-interrupt (0) and NMI exiting (3) required, the
    // preemption timer (6) and posted interrupts (7) optional: 7 is dropped
    assert_int_equal(ctl_adjust(PIN_CAP, BIT(0) | BIT(3), BIT(6) | BIT(7), &out, &missing), 0);
    assert_int_equal(out, 0x5fu);
}

static void required_bit_missing_fails_with_lowest(void **state)
{
    (void)state;
    uint32_t out = 0;
    unsigned missing = 0;
    assert_int_equal(ctl_adjust(PROC_CAP, BIT(7) | BIT(18) | BIT(17), 0, &out, &missing), -1);
    assert_int_equal(missing, 17);
    assert_int_equal(ctl_adjust(PROC_CAP, BIT(18) | BIT(0), 0, &out, &missing), -1);
    assert_int_equal(missing, 0);
    assert_int_equal(ctl_adjust(PIN_CAP, BIT(7), 0, &out, &missing), -1);
    assert_int_equal(missing, 7);
    // Penryn-like: no secondary controls, and vmxlab requires them
    uint64_t penryn = PROC_CAP & ~(1ull << 63);
    assert_int_equal(ctl_adjust(penryn, BIT(7) | BIT(31), 0, &out, &missing), -1);
    assert_int_equal(missing, 31);
    assert_string_equal(ctl_bit_name(CTL_PROC, missing), "activate secondary controls");
}

static void bit_names(void **state)
{
    (void)state;
    assert_string_equal(ctl_bit_name(CTL_PIN, 0), "external-interrupt exiting");
    assert_string_equal(ctl_bit_name(CTL_PIN, 6), "activate VMX-preemption timer");
    assert_string_equal(ctl_bit_name(CTL_PROC, 7), "HLT exiting");
    assert_string_equal(ctl_bit_name(CTL_PROC, 28), "use MSR bitmaps");
    assert_string_equal(ctl_bit_name(CTL_PROC, 31), "activate secondary controls");
    assert_string_equal(ctl_bit_name(CTL_PROC2, 1), "enable EPT");
    assert_string_equal(ctl_bit_name(CTL_PROC2, 7), "unrestricted guest");
    assert_string_equal(ctl_bit_name(CTL_EXIT, 9), "host address-space size");
    assert_string_equal(ctl_bit_name(CTL_EXIT, 15), "acknowledge interrupt on exit");
    assert_string_equal(ctl_bit_name(CTL_ENTRY, 9), "IA-32e mode guest");
    assert_string_equal(ctl_bit_name(CTL_ENTRY, 15), "load IA32_EFER");
}

static void unnamed_and_out_of_range_bits_are_reserved(void **state)
{
    (void)state;
    assert_string_equal(ctl_bit_name(CTL_PIN, 1), "reserved");
    assert_string_equal(ctl_bit_name(CTL_PROC, 0), "reserved");
    assert_string_equal(ctl_bit_name(CTL_PROC2, 31), "reserved");
    assert_string_equal(ctl_bit_name(CTL_ENTRY, 0), "reserved");
    assert_string_equal(ctl_bit_name(CTL_PROC, 32), "reserved");
    assert_string_equal(ctl_bit_name(CTL_PROC, ~0u), "reserved");
    assert_string_equal(ctl_bit_name(CTL_KINDS, 1), "reserved");
    assert_string_equal(ctl_bit_name((enum ctl_kind)-1, 1), "reserved");
}

static void kind_names(void **state)
{
    (void)state;
    assert_string_equal(ctl_kind_name(CTL_PIN), "pin-based VM-execution control");
    assert_string_equal(ctl_kind_name(CTL_PROC), "primary processor-based VM-execution control");
    assert_string_equal(ctl_kind_name(CTL_PROC2),
                        "secondary processor-based VM-execution control");
    assert_string_equal(ctl_kind_name(CTL_EXIT), "VM-exit control");
    assert_string_equal(ctl_kind_name(CTL_ENTRY), "VM-entry control");
    assert_string_equal(ctl_kind_name(CTL_KINDS), "control");
    assert_string_equal(ctl_kind_name((enum ctl_kind)-1), "control");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_bits_kept_and_allowed0_forced),
        cmocka_unit_test(allowed0_forced_even_when_not_wanted),
        cmocka_unit_test(optional_bits_dropped_where_not_allowed),
        cmocka_unit_test(required_bit_missing_fails_with_lowest),
        cmocka_unit_test(bit_names),
        cmocka_unit_test(unnamed_and_out_of_range_bits_are_reserved),
        cmocka_unit_test(kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
