// test_cpuid.c: what CPUID answers a guest (hv/cpuid.c's cpuid_filter()),
// from the leaves Bochs' corei7_skylake_x reports: VMX and the features vmxlab
// does not give hidden, the hypervisor bit and signature present, OSXSAVE and
// OSPKE following the guest's own CR4, and the leaves of absent hardware zero.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../hv/hv.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }
// handle_cpuid() comes along in hv/cpuid.c; nothing here may reach it.
struct vcpu vcpu;
void trace_note(const char *fmt, ...) { (void)fmt; fail(); }
bool ctl_on(enum ctl_kind kind, uint32_t bit)
{
    (void)kind;
    (void)bit;
    fail();
    return false;
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

static void leaf1_hides_vmx_and_shows_a_hypervisor(void **state)
{
    (void)state;
    uint32_t r[4] = { 0x50654, 0x10800, 0x77faf3bf, 0xbfebfbff }; // skylake
    cpuid_filter(&plain, 1, 0, r);
    assert_false(r[ECX] & (1u << 5));  // VMX
    assert_false(r[ECX] & (1u << 3));  // MONITOR
    assert_false(r[ECX] & (1u << 21)); // x2APIC
    assert_false(r[EDX] & (1u << 9));  // APIC
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaf1_hides_vmx_and_shows_a_hypervisor),
        cmocka_unit_test(leaf7_and_extended),
        cmocka_unit_test(hypervisor_leaves),
        cmocka_unit_test(absent_hardware_reads_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
