// cpuid.c: what CPUID answers a guest. CPUID always exits (SDM 3C 26.1.2);
// handle_cpuid() asks the real CPU, then cpuid_filter() (pure, unit-tested)
// hides what a guest cannot use here, from one table, and adds what a guest
// should know: the hypervisor bit, vmxlab's signature at leaf 0x40000000, and
// OSXSAVE/OSPKE as the guest's own CR4 has them. docs/guest-abi.md lists it.
// SDM 2 CPUID (the leaves), 3C 26.1.2.
#include "../boot/x86.h"
#include "hv.h"

enum { EAX, EBX, ECX, EDX };

// Feature bits hidden from guests: each names what it would promise that
// vmxlab does not give. Leaf 1 and leaf 7 subleaf 0.
static const struct {
    uint32_t leaf;
    uint8_t reg, bit;
    const char *why;
} hidden[] = {
    { 1, ECX, 2, "DTES64: no debug store" },
    { 1, ECX, 3, "MONITOR/MWAIT: they raise #UD" },
    { 1, ECX, 4, "DS-CPL: no debug store" },
    { 1, ECX, 5, "VMX: no nested VMX" },
    { 1, ECX, 6, "SMX: no GETSEC" },
    { 1, ECX, 7, "EIST: no power management MSRs" },
    { 1, ECX, 8, "TM2: no thermal monitor" },
    { 1, ECX, 14, "xTPR: no TPR messages" },
    { 1, ECX, 15, "PDCM: no IA32_PERF_CAPABILITIES" },
    { 1, ECX, 21, "x2APIC: no local APIC" },
    { 1, ECX, 24, "TSC-deadline: no local APIC timer" },
    { 1, EDX, 9, "APIC: no local APIC" },
    { 1, EDX, 12, "MTRR: no MTRR MSRs" },
    { 1, EDX, 14, "MCA: no machine-check MSRs" },
    { 1, EDX, 21, "DS: no debug store" },
    { 1, EDX, 22, "ACPI: no thermal MSRs" },
    { 1, EDX, 29, "TM: no thermal monitor" },
    { 1, EDX, 31, "PBE: no pending break" },
    { 7, EBX, 2, "SGX: no enclaves" },
    { 7, EBX, 4, "HLE: no transactions promised" },
    { 7, EBX, 10, "INVPCID: not enabled, #UD" },
    { 7, EBX, 11, "RTM: no transactions promised" },
    { 7, EBX, 12, "RDT-M: no resource monitoring MSRs" },
    { 7, EBX, 14, "MPX: no bound registers" },
    { 7, EBX, 15, "RDT-A: no resource allocation MSRs" },
    { 7, EBX, 25, "Processor Trace: no trace MSRs" },
    { 7, ECX, 5, "WAITPKG: UMWAIT and TPAUSE not offered" },
    { 7, ECX, 30, "SGX_LC: no enclaves" },
};

// Leaves answered with zeros: what they describe is not there for guests.
static bool zeroed(uint32_t leaf)
{
    return leaf == 5 || leaf == 6 || leaf == 0xa || leaf == 0x12 || leaf == 0x14 ||
           (leaf >= 0x40000001 && leaf <= 0x400000ff);
}

void cpuid_filter(const struct cpuid_view *v, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    if (zeroed(leaf)) {
        r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
        return;
    }
    if (leaf == 0x40000000) { // the hypervisor leaf: its highest leaf, its name
        r[EAX] = 0x40000001;
        memcpy(&r[EBX], "vmxl", 4);
        memcpy(&r[ECX], "ab\0\0", 4);
        r[EDX] = 0;
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(hidden); i++)
        if (hidden[i].leaf == leaf && (leaf != 7 || sub == 0))
            r[hidden[i].reg] &= ~(1u << hidden[i].bit);
    if (leaf == 1) {
        r[ECX] |= 1u << 31; // a hypervisor is present
        if (!v->rdrand)
            r[ECX] &= ~(1u << 30);
        r[ECX] = (r[ECX] & ~(1u << 27)) | (v->osxsave ? 1u << 27 : 0);
    }
    if (leaf == 7 && sub == 0) {
        if (!v->rdseed)
            r[EBX] &= ~(1u << 18);
        r[ECX] = (r[ECX] & ~(1u << 4)) | (v->ospke ? 1u << 4 : 0);
    }
    if (leaf == 0xd && sub == 0) // MPX is hidden (leaf 7): so are its XCR0 components
        r[EAX] &= ~(3u << 3);
    if (leaf == 0xd && (sub == 3 || sub == 4))
        r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
    if (leaf == 0x80000001 && !v->rdtscp)
        r[EDX] &= ~(1u << 27);
}

// CPUID: EAX the leaf, ECX the subleaf; EAX, EBX, ECX, EDX the answer, their
// upper halves cleared (SDM 2 CPUID). RBX is callee-saved in C: the stub must
// reload it (EXIT_RESUME_RELOAD).
int handle_cpuid(struct guest_regs *r)
{
    uint32_t leaf = (uint32_t)r->rax, sub = (uint32_t)r->rcx, out[4];
    cpuid(leaf, sub, out);
    uint64_t cr4 = cr_visible(vmread(GUEST_CR4), vcpu.cr4_shadow, vcpu.cr4_owned);
    struct cpuid_view v = {
        .osxsave = cr4 & CR4_OSXSAVE, .ospke = cr4 & CR4_PKE,
        .rdtscp = ctl_on(CTL_PROC2, CTL_PROC2_RDTSCP),
        .rdrand = !ctl_on(CTL_PROC2, CTL_PROC2_RDRAND_EXITING),
        .rdseed = !ctl_on(CTL_PROC2, CTL_PROC2_RDSEED_EXITING),
    };
    cpuid_filter(&v, leaf, sub, out);
    r->rax = out[EAX];
    r->rbx = out[EBX];
    r->rcx = out[ECX];
    r->rdx = out[EDX];
    TRACE("EAX 0x%x EBX 0x%x ECX 0x%x EDX 0x%x", out[EAX], out[EBX], out[ECX], out[EDX]);
    complete_instruction();
    return EXIT_RESUME_RELOAD;
}
