// cpuid.c: what CPUID answers a guest, and which XCR0 values its XSETBV may
// set. CPUID always exits (SDM 3C 26.1.2); handle_cpuid() asks the real CPU,
// then cpuid_filter() (pure, unit-tested) hides what a guest cannot use here,
// from one table, and adds what a guest should know: the hypervisor bit,
// vmxlab's signature at leaf 0x40000000, and OSXSAVE/OSPKE as the guest's own
// CR4 has them. xcr0_rule_broken() (pure, unit-tested) holds an XCR0 value
// against SDM 1 13.3 for handle_xsetbv() (hv/exit.c). docs/guest-abi.md lists
// it all. SDM 2 CPUID (the leaves), 3C 26.1.2.
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

// XCR0's state components (SDM 1 13.1, Table 13-1): the ones with rules of
// their own, and the supervisor components, which only IA32_XSS may enable:
// PT 8, PASID 10, CET_U 11, CET_S 12, HDC 13, UINTR 14, LBR 15, HWP 16.
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_MPX (BIT(3) | BIT(4))                // BNDREGS, BNDCSR
#define XCR0_AVX512 (BIT(5) | BIT(6) | BIT(7))    // opmask, ZMM_Hi256, Hi16_ZMM
#define XCR0_AMX (BIT(17) | BIT(18))              // TILECFG, TILEDATA
#define XCR0_SUPERVISOR (BIT(8) | (0x7full << 10)) // bits 8, 10-16
#define XCR0_RESERVED BIT(63)                      // "reserved for future expansion"

uint64_t xcr0_user_components(const uint32_t leaf_d0[4], const uint32_t leaf_d1[4])
{
    uint64_t offered = (uint64_t)leaf_d0[EDX] << 32 | leaf_d0[EAX];
    uint64_t xss = (uint64_t)leaf_d1[EDX] << 32 | leaf_d1[ECX];
    return offered & ~xss & ~XCR0_SUPERVISOR & ~XCR0_RESERVED;
}

// SDM 1 13.3 (Enabling the XSAVE Feature Set and XSAVE-Enabled Features) and
// SDM 2 XSETBV, as KVM's __kvm_set_xcr() checks them: x87 always; no bit the
// CPU does not offer as a user component; AVX only with SSE; MPX's two
// together; AVX-512's three together and only with AVX and SSE; AMX's two
// together. A CPU with AMX #GPs on TILECFG without TILEDATA: a hypervisor that
// passed it on would take the host down.
const char *xcr0_rule_broken(uint64_t v, uint64_t user)
{
    if (!(v & XCR0_X87))
        return "x87 (bit 0) clear";
    if (v & ~user)
        return "a bit that is not a user state component CPUID.(0DH,0) offers";
    if ((v & XCR0_AVX) && !(v & XCR0_SSE))
        return "AVX (bit 2) without SSE (bit 1)";
    if ((v & XCR0_MPX) && (v & XCR0_MPX) != XCR0_MPX)
        return "BNDREGS and BNDCSR (bits 4:3) not both set or both clear";
    if ((v & XCR0_AVX512) && (v & XCR0_AVX512) != XCR0_AVX512)
        return "opmask, ZMM_Hi256, Hi16_ZMM (bits 7:5) not all set or all clear";
    if ((v & XCR0_AVX512) && (v & (XCR0_AVX | XCR0_SSE)) != (XCR0_AVX | XCR0_SSE))
        return "AVX-512 (bits 7:5) without AVX and SSE (bits 2:1)";
    if ((v & XCR0_AMX) && (v & XCR0_AMX) != XCR0_AMX)
        return "TILECFG and TILEDATA (bits 18:17) not both set or both clear";
    return NULL;
}

// What decides the answers besides the CPU: the guest's CR4 as it reads it,
// and the controls that make instructions run or raise #UD.
static struct cpuid_view guest_view(void)
{
    uint64_t cr4 = cr_visible(vmread(GUEST_CR4), vcpu.cr4_shadow, vcpu.cr4_owned);
    return (struct cpuid_view){
        .osxsave = cr4 & CR4_OSXSAVE, .ospke = cr4 & CR4_PKE,
        .rdtscp = ctl_on(CTL_PROC2, CTL_PROC2_RDTSCP),
        .rdrand = !ctl_on(CTL_PROC2, CTL_PROC2_RDRAND_EXITING),
        .rdseed = !ctl_on(CTL_PROC2, CTL_PROC2_RDSEED_EXITING),
    };
}

// CPUID: EAX the leaf, ECX the subleaf; EAX, EBX, ECX, EDX the answer, their
// upper halves cleared (SDM 2 CPUID). RBX is callee-saved in C: the stub must
// reload it (EXIT_RESUME_RELOAD).
int handle_cpuid(struct guest_regs *r)
{
    uint32_t leaf = (uint32_t)r->rax, sub = (uint32_t)r->rcx, out[4];
    cpuid(leaf, sub, out);
    struct cpuid_view v = guest_view();
    cpuid_filter(&v, leaf, sub, out);
    r->rax = out[EAX];
    r->rbx = out[EBX];
    r->rcx = out[ECX];
    r->rdx = out[EDX];
    TRACE("EAX 0x%x EBX 0x%x ECX 0x%x EDX 0x%x", out[EAX], out[EBX], out[ECX], out[EDX]);
    complete_instruction();
    return EXIT_RESUME_RELOAD;
}

// The XCR0 components a guest may enable: those its own CPUID offers.
uint64_t guest_xcr0_components(void)
{
    uint32_t d0[4], d1[4];
    struct cpuid_view v = guest_view();
    cpuid(0xd, 0, d0);
    cpuid(0xd, 1, d1); // the CPU's own IA32_XSS bits, before the filter drops them
    cpuid_filter(&v, 0xd, 0, d0);
    return xcr0_user_components(d0, d1);
}
