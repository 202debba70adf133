// test_caps.c: decoding of the VMX capability MSRs (hv/vmx/caps.c) with the
// values Bochs' CPU models report, and the UNSUPPORTED messages.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../hv/vmx/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

// Bochs corei7_skylake_x, read off the MSRs (../shared/FACTS.md).
static struct caps_raw skylake(void)
{
    struct caps_raw r = { 0 };
    r.cpuid0[1] = 0x756e6547; // "Genu"
    r.cpuid0[3] = 0x49656e69; // "ineI"
    r.cpuid0[2] = 0x6c65746e; // "ntel"
    r.cpuid1[0] = 0x00050654; // family 6, model 0x55, stepping 4
    r.cpuid1[2] = 1u << 5;    // VMX
    r.feature_control = 0x5;
    r.basic = 0x00d810000000002bull;
    r.pinbased = 0x0000007f00000016ull;
    r.procbased = 0xfff9fffe04006172ull;
    r.procbased2 = 0x000000ff00000000ull | (1ull << (32 + 7));
    r.ept_vpid = (1ull << 6) | (1ull << 14) | (1ull << 16) | (1ull << 20) | (1ull << 21) |
                 (1ull << 25) | (1ull << 26) | (1ull << 32);
    r.cr0_fixed0 = 0x80000021;
    r.cr0_fixed1 = 0xffffffff;
    r.cr4_fixed0 = 0x2000;
    r.cr4_fixed1 = 0x3727ff;
    return r;
}

static void decodes_skylake(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_string_equal(c.vendor, "GenuineIntel");
    assert_true(c.intel);
    assert_int_equal(c.family, 6);
    assert_int_equal(c.model, 0x55);
    assert_int_equal(c.stepping, 4);
    assert_true(c.vmx && c.fc_locked && c.fc_vmx_outside_smx);
    assert_int_equal(c.revision, 0x2b);
    assert_int_equal(c.vmcs_size, 4096);
    assert_int_equal(c.memtype, 6);
    assert_true(c.true_ctls && c.secondary && c.ept && c.vpid && c.unrestricted_guest);
    assert_true(c.ept_4level && c.ept_wb && c.ept_2m && c.ept_ad && c.invept);
    assert_false(c.ept_1g);
    assert_true(c.invvpid);
    assert_null(caps_unsupported(&c));
}

static void revision_4_and_no_true_controls(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    r.basic = 0x0058100000000004ull; // bit 55 clear
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_int_equal(c.revision, 4);
    assert_false(c.true_ctls);
}

static void no_secondary_means_no_ept(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    r.procbased &= ~(1ull << 63); // Penryn-like: no "activate secondary controls"
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_false(c.secondary);
    assert_false(c.ept);
    assert_false(c.vpid);
    assert_false(c.unrestricted_guest);
    assert_false(c.ept_wb); // EPT details are not decoded without EPT
}

static void no_vmx_is_unsupported(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    r.cpuid1[2] = 0;
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_false(c.vmx);
    assert_int_equal(c.revision, 0); // nothing decoded from MSRs not read
    const char *why = caps_unsupported(&c);
    assert_non_null(why);
    assert_non_null(strstr(why, "CPUID.1:ECX.VMX = 0"));
    assert_non_null(strstr(why, "ENGINE=bochs"));
}

static void vmx_locked_off_by_firmware(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    r.feature_control = 0x1; // locked, VMX outside SMX off
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_non_null(strstr(caps_unsupported(&c), "disabled by the firmware"));
    r.feature_control = 0x0; // unlocked: vmxlab may enable it itself
    caps_decode(&r, &c);
    assert_null(caps_unsupported(&c));
}

static void json_has_exact_values(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    struct vmx_caps c;
    caps_decode(&r, &c);
    char buf[700];
    int n = caps_json(&c, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    assert_non_null(strstr(buf, "\"revision\":43,"));
    assert_non_null(strstr(buf, "\"cr0_fixed0\":2147483681,"));
    assert_non_null(strstr(buf, "\"unrestricted_guest\":1,"));
    assert_int_equal(buf[0], '{');
    assert_int_equal(buf[n - 1], '}');
}

// Under KVM (nested): CPUID.1:ECX[31] and "KVMKVMKVM" in leaf 0x40000000;
// the caveat that goes next to the results says what the numbers then mean.
static void under_a_hypervisor(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_false(c.hypervisor);
    assert_null(caps_nested_caveat(&c)); // bare metal, or Bochs: nothing to say
    r.cpuid1[2] |= 1u << 31;
    memcpy(&r.hv_leaf[1], "KVMK", 4);
    memcpy(&r.hv_leaf[2], "VMKV", 4);
    memcpy(&r.hv_leaf[3], "M\0\0\0", 4);
    caps_decode(&r, &c);
    assert_true(c.hypervisor);
    assert_string_equal(c.hv_signature, "KVMKVMKVM");
    const char *caveat = caps_nested_caveat(&c);
    assert_non_null(caveat);
    assert_non_null(strstr(caveat, "exit counts are those vmxlab (L1) sees"));
    assert_non_null(strstr(caveat, "outer hypervisor"));
    assert_non_null(strstr(caveat, "watchdog counts only while the guest runs"));
    // A signature with unprintable bytes is made printable, not trusted.
    memcpy(&r.hv_leaf[1], "\x1b[2J", 4);
    caps_decode(&r, &c);
    assert_string_equal(c.hv_signature, "?[2JVMKVM");
}

// The TSC: invariant (CPUID.80000007H:EDX[8]) and its frequency from leaf
// 0x15 (crystal * EBX / EAX), else leaf 0x16's base MHz, else unknown.
static void tsc_frequency(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    struct vmx_caps c;
    caps_decode(&r, &c);
    assert_false(c.invariant_tsc);
    assert_int_equal(c.tsc_hz, 0);
    r.cpuid_ext7[3] = 1u << 8;
    r.cpuid15[0] = 2;
    r.cpuid15[1] = 176;
    r.cpuid15[2] = 24000000; // 24 MHz crystal * 88 = 2112 MHz
    caps_decode(&r, &c);
    assert_true(c.invariant_tsc);
    assert_int_equal(c.tsc_hz, 2112000000ull);
    r.cpuid15[2] = 0; // no crystal frequency: leaf 0x16
    r.cpuid16[0] = 2400;
    caps_decode(&r, &c);
    assert_int_equal(c.tsc_hz, 2400000000ull);
    // MAXPHYADDR: 36 when the CPU does not say.
    assert_int_equal(c.maxphyaddr, 36);
    r.cpuid_ext8[0] = 46;
    caps_decode(&r, &c);
    assert_int_equal(c.maxphyaddr, 46);
}

// Found by fuzzing (tests/fuzz, caps): values no CPU reports, which a
// hypervisor below vmxlab could. A physical-address width of 77 bits (the
// kernel shifts by it: undefined past 63), and capability MSRs that make a
// bit both required and forbidden, are refused with the value named.
static void impossible_values_are_unsupported(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    struct vmx_caps c;
    r.cpuid_ext8[0] = 77;
    caps_decode(&r, &c);
    assert_string_equal(caps_unsupported(&c), "CPUID.80000008H:EAX[7:0] gives a "
                        "physical-address width of 77 bits, where the SDM allows at most 52 "
                        "and vmxlab needs 32. No CPU reports that: check the hypervisor "
                        "vmxlab runs under");
    r.cpuid_ext8[0] = 31;
    caps_decode(&r, &c);
    assert_non_null(strstr(caps_unsupported(&c), "width of 31 bits"));
    r.cpuid_ext8[0] = 52; // the limits themselves are fine
    caps_decode(&r, &c);
    assert_null(caps_unsupported(&c));
    r.cpuid_ext8[0] = 32;
    caps_decode(&r, &c);
    assert_null(caps_unsupported(&c));

    r = skylake();
    r.cr4_fixed1 = 0x3727ff & ~(uint64_t)(1u << 13); // VMXE fixed to 1, and to 0
    caps_decode(&r, &c);
    assert_string_equal(caps_unsupported(&c), "IA32_VMX_CR4_FIXED0 (0x2000) sets bit 13, "
                        "which IA32_VMX_CR4_FIXED1 (0x3707ff) clears: no CR4 value is allowed "
                        "in VMX operation. No CPU reports that: check the hypervisor vmxlab "
                        "runs under");
    r = skylake();
    r.cr0_fixed1 = 0x7fffffff; // PG required and forbidden
    caps_decode(&r, &c);
    assert_non_null(strstr(caps_unsupported(&c), "IA32_VMX_CR0_FIXED0 (0x80000021) sets "
                                                 "bit 31"));

    // ctl_adjust() would force such a bit on (allowed-0), whatever allowed-1 says.
    r = skylake();
    r.pinbased = 0x0400010868000000ull; // bits 27, 29, 30 must be 1, may not be
    caps_decode(&r, &c);
    assert_string_equal(caps_unsupported(&c), "the capability MSR of the pin-based "
                        "VM-execution controls (0x400010868000000) says bit 27 ('reserved') "
                        "must be 1, and may not be 1: no VMCS can be entered. No CPU reports "
                        "that: check the hypervisor vmxlab runs under");
    r = skylake();
    r.entry = 0x0000020000000200ull | (1ull << 2); // load debug controls: allowed-0 only
    caps_decode(&r, &c);
    assert_non_null(strstr(caps_unsupported(&c), "VM-entry controls (0x20000000204) says bit 2 "
                                                 "('load debug controls')"));
}

// Found by fuzzing (tests/fuzz, caps): the vendor string went to the console
// and into the JSON line as the CPU (or a hypervisor below) spelled it; a
// newline broke the table, a quote the JSON. Now only printable ASCII.
static void vendor_printed_safely(void **state)
{
    (void)state;
    struct caps_raw r = skylake();
    struct vmx_caps c;
    memcpy(&r.cpuid0[1], "Ge\xe3n", 4);
    memcpy(&r.cpuid0[3], "u\n\"\\", 4);
    memcpy(&r.cpuid0[2], "ntel", 4);
    caps_decode(&r, &c);
    assert_string_equal(c.vendor, "Ge?nu???ntel");
    assert_false(c.intel);
    char buf[700];
    caps_json(&c, buf, sizeof(buf));
    assert_non_null(strstr(buf, "{\"vendor\":\"Ge?nu???ntel\","));
    memcpy(&r.cpuid0[1], "Genu", 4); // the real one is unchanged
    memcpy(&r.cpuid0[3], "ineI", 4);
    caps_decode(&r, &c);
    assert_string_equal(c.vendor, "GenuineIntel");
    assert_true(c.intel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_skylake),
        cmocka_unit_test(revision_4_and_no_true_controls),
        cmocka_unit_test(no_secondary_means_no_ept),
        cmocka_unit_test(no_vmx_is_unsupported),
        cmocka_unit_test(vmx_locked_off_by_firmware),
        cmocka_unit_test(json_has_exact_values),
        cmocka_unit_test(under_a_hypervisor),
        cmocka_unit_test(tsc_frequency),
        cmocka_unit_test(impossible_values_are_unsupported),
        cmocka_unit_test(vendor_printed_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
