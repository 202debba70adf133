// cpuid.c: what CPUID answers a guest, and which XCR0 values its XSETBV may
// set. CPUID always exits (SDM 3C 26.1.2); handle_cpuid() asks the real CPU,
// then cpuid_filter() (pure, unit-tested) hides what a guest cannot use here,
// from one table, and adds what a guest should know: the hypervisor bit,
// vmxlab's signature at leaf 0x40000000, and OSXSAVE/OSPKE as the guest's own
// CR4 has them. xcr0_rule_broken() (pure, unit-tested) holds an XCR0 value
// against SDM 1 13.3 for handle_xsetbv() (hv/exit/exit.c). docs/guest-abi.md lists
// it all. SDM 2 CPUID (the leaves), 3C 26.1.2.
#include "../../boot/x86.h"
#include "../dev/dev.h"
#include "internal.h"

enum { EAX, EBX, ECX, EDX };

// Feature bits hidden from guests: each names what it would promise that
// vmxlab does not give. Most promise an MSR that raises #GP here (guest/abi.h
// GUEST_MSRS lists the MSRs a guest has). The speculation controls are hidden,
// not passed through: VMX does not switch IA32_SPEC_CTRL, so passing it would
// mean saving and loading it around every VM entry and exit (as KVM does), and
// vmxlab's guests have no use for it; IA32_ARCH_CAPABILITIES would have to be
// answered truthfully. The subleaf counts for leaves 7 and 0xd only. Sorted by
// leaf: the scan stops past the leaf asked for (CPUID is a hot exit).
static const struct {
    uint32_t leaf, sub;
    uint8_t reg, bit;
    const char *why;
} hidden[] = {
    { 1, 0, ECX, 2, "DTES64: no debug store" },
    { 1, 0, ECX, 3, "MONITOR/MWAIT: they raise #UD" },
    { 1, 0, ECX, 4, "DS-CPL: no debug store" },
    { 1, 0, ECX, 5, "VMX: no nested VMX" },
    { 1, 0, ECX, 6, "SMX: no GETSEC" },
    { 1, 0, ECX, 7, "EIST: no power management MSRs" },
    { 1, 0, ECX, 8, "TM2: no thermal monitor" },
    { 1, 0, ECX, 14, "xTPR: no TPR messages" },
    { 1, 0, ECX, 15, "PDCM: no IA32_PERF_CAPABILITIES" },
    { 1, 0, ECX, 21, "x2APIC: the local APIC has xAPIC mode only" },
    { 1, 0, ECX, 24, "TSC-deadline: the APIC timer has no TSC-deadline mode" },
    { 1, 0, EDX, 12, "MTRR: no MTRR MSRs" },
    { 1, 0, EDX, 21, "DS: no debug store" },
    { 1, 0, EDX, 22, "ACPI: no thermal MSRs" },
    { 1, 0, EDX, 29, "TM: no thermal monitor" },
    { 1, 0, EDX, 31, "PBE: no pending break" },
    { 7, 0, EBX, 2, "SGX: no enclaves" },
    { 7, 0, EBX, 4, "HLE: no transactions promised" },
    { 7, 0, EBX, 10, "INVPCID: not enabled, #UD" },
    { 7, 0, EBX, 11, "RTM: no transactions promised" },
    { 7, 0, EBX, 12, "RDT-M: no resource monitoring MSRs" },
    { 7, 0, EBX, 14, "MPX: no bound registers" },
    { 7, 0, EBX, 15, "RDT-A: no resource allocation MSRs" },
    { 7, 0, EBX, 25, "Processor Trace: no trace MSRs" },
    { 7, 0, ECX, 5, "WAITPKG: UMWAIT and TPAUSE not offered" },
    { 7, 0, ECX, 16, "LA57: 5-level paging is neither shadowed nor tested" },
    { 7, 0, ECX, 30, "SGX_LC: no enclaves" },
    { 7, 0, EDX, 13, "TSX_FORCE_ABORT: no MSR_TSX_FORCE_ABORT" },
    { 7, 0, EDX, 26, "IBRS/IBPB: no IA32_SPEC_CTRL, no IA32_PRED_CMD" },
    { 7, 0, EDX, 27, "STIBP: no IA32_SPEC_CTRL" },
    { 7, 0, EDX, 28, "L1D_FLUSH: no IA32_FLUSH_CMD" },
    { 7, 0, EDX, 29, "ARCH_CAPABILITIES: no IA32_ARCH_CAPABILITIES" },
    { 7, 0, EDX, 30, "CORE_CAPABILITIES: no IA32_CORE_CAPABILITIES" },
    { 7, 0, EDX, 31, "SSBD: no IA32_SPEC_CTRL" },
    { 7, 2, EDX, 0, "PSFD: no IA32_SPEC_CTRL" },
    { 7, 2, EDX, 1, "IPRED_CTRL: no IA32_SPEC_CTRL" },
    { 7, 2, EDX, 2, "RRSBA_CTRL: no IA32_SPEC_CTRL" },
    { 7, 2, EDX, 3, "DDPD_U: no IA32_SPEC_CTRL" },
    { 7, 2, EDX, 4, "BHI_CTRL: no IA32_SPEC_CTRL" },
    { 7, 2, EDX, 6, "UC-lock disable: no MSR_MEMORY_CTRL" },
    { 0xd, 1, EAX, 4, "XFD: no IA32_XFD, no IA32_XFD_ERR" },
    { 0x80000008, 0, EBX, 12, "IBPB (AMD's bit): no IA32_PRED_CMD" },
    { 0x80000008, 0, EBX, 14, "IBRS (AMD's bit): no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 15, "STIBP (AMD's bit): no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 16, "IBRS always on: no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 17, "STIBP always on: no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 18, "IBRS preferred: no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 19, "IBRS same mode: no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 24, "SSBD (AMD's bit): no IA32_SPEC_CTRL" },
    { 0x80000008, 0, EBX, 25, "VIRT_SSBD: no VIRT_SPEC_CTRL" },
};

// Leaves answered with zeros: what they describe is not there for guests.
// 0x40000000 up to 0x4fffffff is the hypervisors' range: vmxlab's own leaf
// (below) and nothing else, never the leaves of a hypervisor vmxlab runs
// under (KVM and Hyper-V answer at 0x40000000 and 0x40000100).
static bool zeroed(uint32_t leaf)
{
    return leaf == 5 || leaf == 6 || leaf == 0xa || leaf == 0x12 || leaf == 0x14 ||
           (leaf >= 0x40000001 && leaf <= 0x4fffffff);
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
    bool by_sub = leaf == 7 || leaf == 0xd;
    for (size_t i = 0; i < ARRAY_SIZE(hidden) && hidden[i].leaf <= leaf; i++)
        if (hidden[i].leaf == leaf && (!by_sub || hidden[i].sub == sub))
            r[hidden[i].reg] &= ~(1u << hidden[i].bit);
    if (leaf == 1) {
        r[ECX] |= 1u << 31; // a hypervisor is present
        if (!v->rdrand)
            r[ECX] &= ~(1u << 30);
        r[ECX] = (r[ECX] & ~(1u << 27)) | (v->osxsave ? 1u << 27 : 0);
        // APIC follows IA32_APIC_BASE.EN (SDM 3A 11.4.3, Enabling or Disabling the
        // Local APIC): the guest's local APIC is hv/dev/lapic.c's.
        r[EDX] = (r[EDX] & ~(1u << 9)) | (v->apic ? 1u << 9 : 0);
    }
    if (leaf == 7 && sub == 0) {
        if (!v->rdseed)
            r[EBX] &= ~(1u << 18);
        // Protection keys under shadow paging: the shadow entries do not carry the
        // guest's keys (hv/mmu/paging.c shadow_leaf()), so PKRU would not be applied
        // as the guest's tables say. Hidden there (and CR4.PKE refused).
        if (v->shadow)
            r[ECX] &= ~(1u << 3);
        r[ECX] = (r[ECX] & ~(1u << 4)) | (v->ospke ? 1u << 4 : 0);
        // RDPID raises #UD while "enable RDTSCP" is 0 (SDM 3C 26.3, Changes to
        // Instruction Behavior in VMX Non-Root Operation).
        if (!v->rdtscp)
            r[ECX] &= ~(1u << 22);
    }
    if (leaf == 0xd && sub == 0) // MPX is hidden (leaf 7): so are its XCR0 components
        r[EAX] &= ~(3u << 3);
    if (leaf == 0xd && sub == 1) {
        // XSAVES/XRSTORS raise #UD while "enable XSAVES/XRSTORS" is 0 (SDM 3C
        // 26.3); and with no IA32_XSS for guests, no supervisor component is
        // offered (ECX, EDX: the bits IA32_XSS may set, SDM 1 13.2).
        if (!v->xsaves)
            r[EAX] &= ~(1u << 3);
        r[ECX] = r[EDX] = 0;
    }
    // A component's own subleaf: zero for MPX's (hidden) and for supervisor
    // components (ECX[0] = 1, SDM 1 13.2), which only IA32_XSS enables.
    if (leaf == 0xd && sub >= 2 && (sub == 3 || sub == 4 || (r[ECX] & 1)))
        r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
    if (leaf == 0x80000001 && !v->rdtscp)
        r[EDX] &= ~(1u << 27);
    // The guest's TSC runs at a nominal DEV_TSC_HZ in the devices' time (hv/exit/io.c):
    // leaf 0x15 says so, as TSC = crystal (ECX) x EBX / EAX, and leaf 0x16 gives the
    // same rate in MHz as base and maximum frequency, no bus frequency. Only where the
    // CPU has the leaf: past the last basic leaf a CPU answers with that leaf's data.
    if (leaf == 0x15 && leaf <= v->max_leaf) {
        r[EAX] = r[EBX] = 1;
        r[ECX] = (uint32_t)DEV_TSC_HZ;
        r[EDX] = 0;
    }
    if (leaf == 0x16 && leaf <= v->max_leaf) {
        r[EAX] = r[EBX] = (uint32_t)(DEV_TSC_HZ / 1000000);
        r[ECX] = r[EDX] = 0;
    }
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
        .xsaves = ctl_on(CTL_PROC2, CTL_PROC2_XSAVES),
        .apic = apic_base_read() & APIC_BASE_EN, .shadow = vcpu.shadow,
        .max_leaf = caps.raw.cpuid0[0],
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

// The CR4 bits a guest may set (hv/exit/cr.c cr4_guest_valid()) by its own CPUID,
// leaf 7 filtered: no LA57; no PKE under shadow paging.
uint64_t guest_cr4_valid(bool shadow)
{
    uint32_t l7[4];
    memcpy(l7, caps.raw.cpuid7, sizeof(l7));
    struct cpuid_view v = { .shadow = shadow, .rdtscp = true, .rdseed = true };
    cpuid_filter(&v, 7, 0, l7);
    return cr4_guest_valid(caps.raw.cr4_fixed1, caps.raw.cpuid1, l7);
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
