// test_cpuid.c: what CPUID answers a guest (hv/exit/cpuid.c's cpuid_filter()),
// from the leaves Bochs' corei7_skylake_x reports and from answers with every
// bit set: VMX and the features vmxlab does not give hidden (the speculation
// controls, XSAVES, XFD, RDPID without RDTSCP, x2APIC, LA57, PKU under shadow
// paging), the hypervisor bit and signature present and the rest of the
// hypervisor range zero, OSXSAVE, OSPKE and APIC following the guest's own CR4
// and IA32_APIC_BASE, the TSC's nominal rate, and the leaves of absent hardware zero.
// Then the XCR0 values XSETBV takes (xcr0_rule_broken()), on a CPU with AMX.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../hv/exit/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }
// handle_cpuid() comes along in hv/exit/cpuid.c; nothing here may reach it.
struct vcpu vcpu;
void trace_note(const char *fmt, ...) { (void)fmt; fail(); }
bool ctl_on(enum ctl_kind kind, uint32_t bit)
{
    (void)kind;
    (void)bit;
    fail();
    return false;
}
uint64_t apic_base_read(void)
{
    fail();
    return 0;
}
__attribute__((noreturn)) void vmx_fail(const char *insn, uint64_t arg)
{
    (void)insn;
    (void)arg;
    fail();
    __builtin_unreachable();
}

enum { EAX, EBX, ECX, EDX };
static const struct cpuid_view plain = { .rdtscp = true, .rdrand = true, .rdseed = true };
#define ONES { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }

static void leaf1_hides_vmx_and_shows_a_hypervisor(void **state)
{
    (void)state;
    uint32_t r[4] = { 0x50654, 0x10800, 0x77faf3bf, 0xbfebfbff }; // skylake
    cpuid_filter(&plain, 1, 0, r);
    assert_false(r[ECX] & (1u << 5));  // VMX
    assert_false(r[ECX] & (1u << 3));  // MONITOR
    assert_false(r[ECX] & (1u << 21)); // x2APIC
    assert_false(r[EDX] & (1u << 9));  // APIC: IA32_APIC_BASE.EN is clear in this view
    assert_true(r[EDX] & (1u << 14));  // MCA: IA32_MCG_CAP is there, with no banks
    assert_false(r[EDX] & (1u << 12)); // MTRR
    assert_true(r[ECX] & (1u << 31));  // hypervisor
    assert_true(r[ECX] & (1u << 30));  // RDRAND: it runs here (no exiting)
    assert_true(r[EDX] & (1u << 25));  // SSE stays
    assert_true(r[EDX] & (1u << 7));   // MCE stays: the guest has CR4.MCE
    assert_false(r[ECX] & (1u << 27)); // OSXSAVE: the guest's CR4 has it clear
    assert_int_equal(r[EAX], 0x50654);
    assert_int_equal(r[EBX], 0x10800);
    struct cpuid_view v = plain;
    v.osxsave = true;
    v.rdrand = false; // RDRAND exits, and raises #UD: hidden
    uint32_t s[4] = { 0x50654, 0x10800, 0x77faf3bf, 0xbfebfbff };
    cpuid_filter(&v, 1, 0, s);
    assert_true(s[ECX] & (1u << 27));
    assert_false(s[ECX] & (1u << 30));
}

static void leaf7_and_extended(void **state)
{
    (void)state;
    uint32_t r[4] = { 0, (1u << 0) | (1u << 2) | (1u << 10) | (1u << 18) | (1u << 7), 0x18, 0 };
    struct cpuid_view v = plain;
    v.rdseed = false;
    v.ospke = true;
    cpuid_filter(&v, 7, 0, r);
    assert_int_equal(r[EBX], (1u << 0) | (1u << 7)); // FSGSBASE, SMEP kept
    assert_int_equal(r[ECX], 0x18);                  // PKU kept, OSPKE set by CR4.PKE
    uint32_t sub1[4] = { 1, 1u << 2, 1u << 5, 0 };
    cpuid_filter(&v, 7, 1, sub1); // subleaf 1: not the table's
    assert_int_equal(sub1[EBX], 1u << 2);
    assert_int_equal(sub1[ECX], 1u << 5);
    uint32_t e[4] = { 0, 0, 0, (1u << 27) | (1u << 20) };
    v.rdtscp = false;
    cpuid_filter(&v, 0x80000001, 0, e);
    assert_int_equal(e[EDX], 1u << 20); // NX stays, RDTSCP hidden
}

static void hypervisor_leaves(void **state)
{
    (void)state;
    uint32_t r[4] = { 1, 2, 3, 4 };
    cpuid_filter(&plain, 0x40000000, 0, r);
    assert_int_equal(r[EAX], 0x40000001);
    char sig[13] = { 0 };
    memcpy(sig, &r[EBX], 4);
    memcpy(sig + 4, &r[ECX], 4);
    memcpy(sig + 8, &r[EDX], 4);
    assert_string_equal(sig, "vmxlab");
    uint32_t z[4] = { 5, 6, 7, 8 };
    cpuid_filter(&plain, 0x40000001, 0, z);
    assert_int_equal(z[EAX] | z[EBX] | z[ECX] | z[EDX], 0);
}

static void absent_hardware_reads_zero(void **state)
{
    (void)state;
    static const uint32_t leaves[] = { 5, 6, 0xa, 0x12, 0x14, 0x40000010 };
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        uint32_t r[4] = { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff };
        cpuid_filter(&plain, leaves[i], 0, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    }
    uint32_t d[4] = { 7, 0x240, 0x340, 0 }; // leaf 0xd: as the CPU says
    cpuid_filter(&plain, 0xd, 0, d);
    assert_int_equal(d[EAX], 7);
    assert_int_equal(d[EBX], 0x240);
}

// A host answer with every bit set: each promise vmxlab cannot keep is gone.
static void leaf7_every_bit_set(void **state)
{
    (void)state;
    uint32_t r[4] = ONES;
    cpuid_filter(&plain, 7, 0, r);
    assert_int_equal(r[EDX], 0xffffffffu & ~(1u << 13) & ~(0x3fu << 26)); // spec controls
    assert_true(r[ECX] & (1u << 22));   // RDPID: it runs, with "enable RDTSCP"
    assert_false(r[ECX] & (1u << 4));   // OSPKE: the guest's CR4.PKE is clear
    assert_false(r[ECX] & (1u << 16));  // LA57: not offered
    assert_true(r[ECX] & (1u << 3));    // PKU under EPT
    struct cpuid_view v = plain;
    v.rdtscp = false; // RDPID raises #UD then
    uint32_t s[4] = ONES;
    cpuid_filter(&v, 7, 0, s);
    assert_false(s[ECX] & (1u << 22));
    uint32_t sub2[4] = ONES;
    cpuid_filter(&plain, 7, 2, sub2); // PSFD, IPRED, RRSBA, DDPD_U, BHI; UC-lock disable
    assert_int_equal(sub2[EDX], 0xffffffffu & ~0x5fu);
    uint32_t e[4] = ONES;
    cpuid_filter(&plain, 0x80000008, 0, e); // AMD's IBPB, IBRS, STIBP and modes, SSBDs
    assert_int_equal(e[EBX], 0xffffffffu & ~((1u << 12) | (0xfu << 14) | (1u << 18) |
                                             (1u << 19) | (3u << 24)));
    assert_int_equal(e[EAX], 0xffffffffu);
}

static void leaf_d_every_bit_set(void **state)
{
    (void)state;
    uint32_t r[4] = ONES;
    cpuid_filter(&plain, 0xd, 1, r); // XSAVES and XFD gone, no IA32_XSS bits
    assert_int_equal(r[EAX], 0xffffffffu & ~(3u << 3));
    assert_int_equal(r[EBX], 0xffffffffu);
    assert_int_equal(r[ECX] | r[EDX], 0);
    struct cpuid_view v = plain;
    v.xsaves = true; // "enable XSAVES/XRSTORS" on: XSAVES stays, XFD does not
    uint32_t s[4] = ONES;
    cpuid_filter(&v, 0xd, 1, s);
    assert_int_equal(s[EAX], 0xffffffffu & ~(1u << 4));
    uint32_t sup[4] = { 0x80, 0, 1, 0 }; // a supervisor component (ECX[0]): PT's, say
    cpuid_filter(&plain, 0xd, 8, sup);
    assert_int_equal(sup[EAX] | sup[EBX] | sup[ECX] | sup[EDX], 0);
    uint32_t pkru[4] = { 8, 0xa80, 0, 0 }; // a user component: as the CPU says
    cpuid_filter(&plain, 0xd, 9, pkru);
    assert_int_equal(pkru[EAX], 8);
    assert_int_equal(pkru[EBX], 0xa80);
    uint32_t mpx[4] = { 0x40, 0x3c0, 0, 0 };
    cpuid_filter(&plain, 0xd, 3, mpx);
    assert_int_equal(mpx[EAX] | mpx[EBX], 0);
}

// Nothing of a hypervisor vmxlab runs under shows (KVM, Hyper-V: 0x40000000
// and 0x40000100), nor the CPU's answer for leaves past its last.
// The APIC bit follows IA32_APIC_BASE.EN; protection keys go under shadow paging.
static void apic_and_protection_keys_follow_the_guest(void **state)
{
    (void)state;
    struct cpuid_view v = plain;
    v.apic = true;
    uint32_t r[4] = ONES;
    cpuid_filter(&v, 1, 0, r);
    assert_true(r[EDX] & (1u << 9));
    assert_false(r[ECX] & (1u << 21)); // still no x2APIC
    assert_false(r[ECX] & (1u << 24)); // nor TSC-deadline mode
    v.shadow = true;
    v.ospke = true;
    uint32_t s[4] = ONES;
    cpuid_filter(&v, 7, 0, s);
    assert_false(s[ECX] & (1u << 3));
    assert_true(s[ECX] & (1u << 4)); // OSPKE is CR4.PKE's, which the guest cannot set there
}

// Leaves 0x15 and 0x16 give the TSC's nominal rate, where the CPU has them.
static void tsc_rate_is_nominal(void **state)
{
    (void)state;
    struct cpuid_view v = plain;
    v.max_leaf = 0x16;
    uint32_t r[4] = { 2, 200, 24000000, 7 };
    cpuid_filter(&v, 0x15, 0, r);
    assert_int_equal((uint64_t)r[ECX] * r[EBX] / r[EAX], 1000000000);
    assert_int_equal(r[EDX], 0);
    uint32_t f[4] = { 2200, 3900, 100, 0 };
    cpuid_filter(&v, 0x16, 0, f);
    assert_int_equal(f[EAX], 1000);
    assert_int_equal(f[EBX], 1000);
    assert_int_equal(f[ECX], 0);
    v.max_leaf = 0xd; // past the last leaf the CPU repeats its last: left as it is
    uint32_t past[4] = { 1, 2, 3, 4 };
    cpuid_filter(&v, 0x15, 0, past);
    assert_int_equal(past[ECX], 3);
}

static void hypervisor_range_is_vmxlabs(void **state)
{
    (void)state;
    static const uint32_t leaves[] = { 0x40000001, 0x400000ff, 0x40000100, 0x40000101,
                                       0x40010000, 0x4fffffff };
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        uint32_t r[4] = ONES;
        cpuid_filter(&plain, leaves[i], 0, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    }
    uint32_t beyond[4] = ONES; // 0x50000000: not the hypervisors' range
    cpuid_filter(&plain, 0x50000000, 0, beyond);
    assert_int_equal(beyond[EAX] & beyond[EBX] & beyond[ECX] & beyond[EDX], 0xffffffffu);
}

// XCR0 on a CPU with AMX: CPUID.(0DH,0) offers x87, SSE, AVX, AVX-512, PKRU,
// TILECFG and TILEDATA (0x602e7); (0DH,1) offers PT, CET_U and CET_S to IA32_XSS.
static const uint32_t amx_d0[4] = { 0x602e7, 0xa80, 0x2b00, 0 };
static const uint32_t amx_d1[4] = { 0x1f, 0x2b00, 0x1900, 0 };

static void xcr0_amx(void **state)
{
    (void)state;
    uint64_t user = xcr0_user_components(amx_d0, amx_d1);
    assert_int_equal(user, 0x602e7);
    assert_null(xcr0_rule_broken(0x602e7, user)); // everything
    assert_null(xcr0_rule_broken(0x60003, user)); // AMX needs no AVX
    assert_null(xcr0_rule_broken(0x3, user));
    const char *cfg_only = xcr0_rule_broken(0x202e7, user);
    const char *data_only = xcr0_rule_broken(0x402e7, user);
    assert_non_null(cfg_only);
    assert_non_null(data_only);
    assert_non_null(strstr(cfg_only, "TILECFG and TILEDATA"));
    assert_string_equal(cfg_only, data_only);
    assert_non_null(xcr0_rule_broken(0x20003, user));
    assert_non_null(xcr0_rule_broken(0x40003, user));
}

static void xcr0_every_rule(void **state)
{
    (void)state;
    uint64_t user = xcr0_user_components(amx_d0, amx_d1);
    static const struct {
        uint64_t v;
        const char *rule;
    } bad[] = {
        { 0, "x87" }, { 2, "x87" }, { 0x602e6, "x87" },
        { 0x5, "AVX (bit 2) without SSE" },
        { 0x27, "bits 7:5) not all" }, { 0xc7, "bits 7:5) not all" },
        { 0xe3, "AVX-512 (bits 7:5) without AVX" }, { 0xe1, "AVX-512 (bits 7:5) without" },
        { 0x1 | 1ull << 8, "not a user state" },  // PT: a supervisor component
        { 0x1 | 1ull << 11, "not a user state" }, // CET_U
        { 0x1 | 1ull << 12, "not a user state" }, // CET_S
        { 0x1 | 1ull << 63, "not a user state" }, // reserved
        { 0x1 | 1ull << 19, "not a user state" }, // not offered
        { 0x19, "not a user state" },             // MPX: not offered here
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = xcr0_rule_broken(bad[i].v, user);
        if (!why || !strstr(why, bad[i].rule))
            fail_msg("XCR0 0x%llx: got '%s', expected a rule with '%s'",
                     (unsigned long long)bad[i].v, why ? why : "(valid)", bad[i].rule);
    }
    // MPX where the CPU offers it: both bits or neither.
    const uint32_t mpx_d0[4] = { 0x1f, 0, 0, 0 }, no_xss[4] = { 0 };
    uint64_t with_mpx = xcr0_user_components(mpx_d0, no_xss);
    assert_int_equal(with_mpx, 0x1f);
    assert_null(xcr0_rule_broken(0x1b, with_mpx));
    assert_non_null(strstr(xcr0_rule_broken(0x0b, with_mpx), "BNDREGS and BNDCSR"));
    assert_non_null(strstr(xcr0_rule_broken(0x13, with_mpx), "BNDREGS and BNDCSR"));
}

// A host (or an outer hypervisor) that claims every component: the supervisor
// ones, and bit 63, never reach XCR0; what IA32_XSS may enable never does.
static void xcr0_every_bit_offered(void **state)
{
    (void)state;
    const uint32_t all[4] = ONES, no_xss[4] = { 0 };
    uint64_t user = xcr0_user_components(all, no_xss);
    assert_int_equal(user, ~(1ull << 8 | 0x7full << 10 | 1ull << 63));
    assert_null(xcr0_rule_broken(user, user));
    const uint32_t xss_all[4] = ONES;
    assert_int_equal(xcr0_user_components(all, xss_all), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaf1_hides_vmx_and_shows_a_hypervisor),
        cmocka_unit_test(leaf7_and_extended),
        cmocka_unit_test(hypervisor_leaves),
        cmocka_unit_test(absent_hardware_reads_zero),
        cmocka_unit_test(leaf7_every_bit_set),
        cmocka_unit_test(leaf_d_every_bit_set),
        cmocka_unit_test(hypervisor_range_is_vmxlabs),
        cmocka_unit_test(apic_and_protection_keys_follow_the_guest),
        cmocka_unit_test(tsc_rate_is_nominal),
        cmocka_unit_test(xcr0_amx),
        cmocka_unit_test(xcr0_every_rule),
        cmocka_unit_test(xcr0_every_bit_offered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
