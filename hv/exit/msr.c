// msr.c: what RDMSR and WRMSR do in a guest. One table (msrs[] below) says,
// per MSR, whether the guest reaches the real register without an exit (the
// MSR bitmap's bit is clear), or the access exits and is answered here. An MSR
// the table does not name raises #GP(0), as on a CPU that lacks it; so do the
// VMX capability MSRs, since CPUID tells the guest there is no VMX. MSRs the
// guest reaches directly but VMX does not switch (KERNEL_GS_BASE, the SYSCALL
// MSRs, TSC_AUX) are reset before every run by msr_reset_for_run().
// vmcs_setup() (hv/vmx/vmcs.c) points the VMCS at msr_bitmap; hv/exit/exit.c
// dispatches MSR_READ/MSR_WRITE exits to handle_rdmsr()/handle_wrmsr().
// SDM 3C 25.6.9 (MSR bitmaps), 26.1.3 (RDMSR/WRMSR exits); SDM 4 (the MSRs).
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../dev/dev.h"
#include "../mmu/mmu.h"
#include "internal.h"

#define MSR_TSC 0x10
#define MSR_APIC_BASE 0x1b
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MISC_ENABLE 0x1a0
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX MSR_TSC_AUX_INDEX

enum msr_access {
    GP,       // #GP(0): an MSR this CPU (as the guest sees it) lacks
    DIRECT,   // no exit: the guest reads or writes the real register
    EMULATED, // exits, and msr_read()/msr_write() answer
};

// The table is guest/abi.h's GUEST_MSRS, the list the guests are promised.
static const struct {
    uint32_t index;
    const char *name;
    uint8_t read, write; // enum msr_access
} msrs[] = {
#define MSR_ROW(index, name, read, write) { index, #name, read, write },
    GUEST_MSRS(MSR_ROW)
#undef MSR_ROW
};

// The MSR bitmap (SDM 3C 25.6.9): four 1 KiB bit arrays, read-low
// (0..0x1fff), read-high (0xc0000000..0xc0001fff), write-low, write-high. A
// set bit makes the access exit.
uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));

static void bitmap_clear(uint32_t index, bool write)
{
    unsigned base = (write ? 2048 : 0) + (index >= 0xc0000000 ? 1024 : 0);
    unsigned bit = index & 0x1fff;
    msr_bitmap[base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static int rule_of(uint32_t index)
{
    for (size_t i = 0; i < ARRAY_SIZE(msrs); i++)
        if (msrs[i].index == index)
            return (int)i;
    return -1;
}

// TSC_AUX exists for the guest only with RDTSCP (hv/vmx/vmcs.c turns it on where
// the CPU has it); PAT goes through the VMCS only with both PAT controls.
static bool present(uint32_t index)
{
    if (index == MSR_TSC_AUX)
        return ctl_on(CTL_PROC2, CTL_PROC2_RDTSCP);
    return true;
}

void msr_bitmap_init(void)
{
    memset(msr_bitmap, 0xff, sizeof(msr_bitmap));
    for (size_t i = 0; i < ARRAY_SIZE(msrs); i++) {
        if (!present(msrs[i].index))
            continue;
        if (msrs[i].read == DIRECT)
            bitmap_clear(msrs[i].index, false);
        if (msrs[i].write == DIRECT)
            bitmap_clear(msrs[i].index, true);
    }
}

// The MSRs the guest reaches directly but VMX does not switch: every run
// starts with them at 0, whatever the run before left.
void msr_reset_for_run(void)
{
    static const uint32_t unswitched[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK,
                                           MSR_KERNEL_GS_BASE };
    for (size_t i = 0; i < ARRAY_SIZE(unswitched); i++)
        wrmsr(unswitched[i], 0);
    if (present(MSR_TSC_AUX))
        wrmsr(MSR_TSC_AUX, 0);
}

// IA32_PAT: eight memory types, each one of UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7;
// anything else is #GP (SDM 3A 12.12.2).
static bool pat_valid(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (v >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

uint64_t guest_efer(void)
{
    return vcpu.efer;
}

// The real IA32_EFER, for the guest's value vcpu.efer (set before each run,
// hv/run/guest.c, and by WRMSR). Under shadow paging NXE is always 1, as KVM sets
// it (its update_transition_efer() without EPT): the shadow entries may then
// carry XD whatever the guest's NXE, which the WP=0 copy of a user page needs
// under SMEP (shadow_leaf(), hv/mmu/paging.c); the guest's NXE is applied by the
// walk of its tables, and a guest read returns its own value. With the EFER
// controls the real value is the VMCS's; without, it is the host's register,
// which needs LME and LMA (the host runs in IA-32e mode): VM entry then sets both to
// the "IA-32e mode guest" entry control, LME where the guest's CR0.PG is 1 (SDM 3C
// 27.3.2.1, Loading Guest Control Registers, Debug Registers, and MSRs), and VM exit
// sets them again (SDM 3C 28.5.1).
void efer_load(void)
{
    uint64_t real = efer_real(vcpu.efer, vcpu.shadow, caps.nx);
    if (ctl_on(CTL_ENTRY, CTL_ENTRY_LOAD_EFER))
        vmwrite(GUEST_IA32_EFER, real);
    else
        wrmsr(MSR_EFER, real | EFER_LME | EFER_LMA);
}

// IA32_PAT reaches the real register only under EPT with both PAT controls;
// under shadow paging the real PAT stays at its reset value (hv/vmx/vmcs.c), so
// that the shadow entries, which select PAT entry 0, are write-back
// (shadow_leaf(), hv/mmu/paging.c). Elsewhere the guest's value is kept here.
static bool pat_is_real(void)
{
    return ctl_on(CTL_ENTRY, CTL_ENTRY_LOAD_PAT) && !vcpu.shadow;
}

static uint64_t guest_pat, mcg_status, misc_enable;

// IA32_MCG_CAP (SDM 3B 16.3.1.1, Machine-Check Architecture: IA32_MCG_CAP): 0, no
// error-reporting banks and no IA32_MCG_CTL, so no IA32_MCi_* MSR exists; it is
// read-only (a write is #GP, as KVM answers a guest). IA32_MCG_STATUS (16.3.1.2):
// RIPV, EIPV and MCIP (bits 2:0) are software's to set or clear; bits 63:3 are
// reserved (LMCE_S, bit 3, exists only with MCG_LMCE_P in IA32_MCG_CAP): #GP.
#define MCG_STATUS_BITS 0x7ull

// IA32_MISC_ENABLE (SDM 4 Table 2-2): fast strings (bit 0) enabled and the guest's to
// clear; BTS and PEBS unavailable (bits 11, 12, read-only), performance monitoring
// unavailable (bit 7, read-only: CPUID leaf 0xa says none). The bits of what CPUID does
// not offer (automatic thermal control 3, EIST 16, MONITOR 18, xTPR 23) and those
// vmxlab does not emulate (limit CPUID maxval 22, XD bit disable 34) are reserved
// here: setting one is #GP(0), as on a CPU without the feature. A write keeps bit 0
// and ignores the read-only bits, so that a read-modify-write goes through.
#define MISC_FAST_STRINGS (1ull << 0)
#define MISC_READ_ONLY ((1ull << 7) | (1ull << 11) | (1ull << 12))
#define MISC_RESET (MISC_FAST_STRINGS | (1ull << 11) | (1ull << 12))

// IA32_APIC_BASE's rules are the local APIC's (hv/dev/lapic.c apic_base_write()).
// A base other than 0xfee00000 is not emulated: the run stops, naming it.
static int apic_base_set(uint64_t val)
{
    switch (apic_base_write(val, caps.maxphyaddr)) {
    case APIC_BASE_GP:
        return -1;
    case APIC_BASE_MOVED: {
        char why[128];
        snprintf(why, sizeof(why), "WRMSR IA32_APIC_BASE 0x%lx moves the local APIC from "
                 "0xfee00000, which vmxlab does not emulate", val);
        stop_run(EXIT_REASON_MSR_WRITE, why);
        return 2;
    }
    case APIC_BASE_OK:
        break;
    }
    return 0;
}

// 0 and *val, or -1: #GP.
static int msr_read(uint32_t index, uint64_t *val)
{
    switch (index) {
    case MSR_FEATURE_CONTROL:
        *val = FC_LOCKED; // locked, VMX off: what a CPU without VMX reports
        return 0;
    case MSR_PAT:
        *val = pat_is_real() ? vmread(GUEST_IA32_PAT) : guest_pat;
        return 0;
    case MSR_EFER:
        *val = guest_efer();
        return 0;
    case MSR_APIC_BASE:
        *val = apic_base_read();
        return 0;
    case MSR_MCG_CAP:
        *val = 0;
        return 0;
    case MSR_MCG_STATUS:
        *val = mcg_status;
        return 0;
    case MSR_MISC_ENABLE:
        *val = misc_enable;
        return 0;
    }
    return -1;
}

// 0, -1: #GP, 1: the host's WRMSR faulted and its exception is injected, or 2: the
// run is stopped.
static int msr_write(uint32_t index, uint64_t val)
{
    switch (index) {
    case MSR_APIC_BASE: {
        uint64_t old = apic_base_read();
        int refused = apic_base_set(val);
        if (!refused)
            apic_base_changed(old);
        return refused;
    }
    case MSR_MCG_STATUS:
        if (val & ~MCG_STATUS_BITS)
            return -1;
        mcg_status = val;
        return 0;
    case MSR_MISC_ENABLE:
        if (val & ~(MISC_FAST_STRINGS | MISC_READ_ONLY))
            return -1;
        misc_enable = (misc_enable & ~MISC_FAST_STRINGS) | (val & MISC_FAST_STRINGS);
        return 0;
    case MSR_TSC: // the guest's TSC becomes val from now on: an offset from the host's
        if (!ctl_on(CTL_PROC, CTL_PROC_TSC_OFFSETTING))
            return -1;
        vmwrite(TSC_OFFSET, val - rdtsc());
        return 0;
    case MSR_PAT:
        if (!pat_valid(val))
            return -1;
        if (pat_is_real())
            vmwrite(GUEST_IA32_PAT, val);
        guest_pat = val; // elsewhere: kept, but the host's PAT rules
        return 0;
    case MSR_EFER: {
        uint64_t old = vcpu.efer;
        if (efer_write(old, val, read_shadowed_cr0() & CR0_PG, caps.nx, &val))
            return -1;
        vcpu.efer = val;
        efer_load();
        // The shadow entries were built by the old NXE's rules: XD meant
        // no-execute, or was a reserved bit. KVM keeps NXE in the role of its
        // shadow pages (mmu_role); vmxlab empties its tables.
        if (vcpu.shadow && ((old ^ val) & EFER_NXE))
            shadow_flush();
        return 0;
    }
    }
    return -1;
}

void msr_reset_emulated(void)
{
    guest_pat = 0x0007040600070406ull; // the reset value, as hv/vmx/vmcs.c loads it
    mcg_status = 0;
    misc_enable = MISC_RESET;
}

// RDMSR: ECX names the MSR, the value goes to EDX:EAX (SDM 2 RDMSR).
int handle_rdmsr(struct guest_regs *r)
{
    uint32_t index = (uint32_t)r->rcx;
    int rule = rule_of(index);
    uint64_t val;
    if (rule < 0 || !present(index) || msr_read(index, &val)) {
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    r->rax = (uint32_t)val;
    r->rdx = val >> 32;
    TRACE("EDX:EAX <- 0x%lx", val);
    complete_instruction();
    return EXIT_RESUME;
}

// WRMSR: EDX:EAX to the MSR ECX names (SDM 2 WRMSR).
int handle_wrmsr(struct guest_regs *r)
{
    uint32_t index = (uint32_t)r->rcx;
    uint64_t val = (r->rdx << 32) | (uint32_t)r->rax;
    int rule = rule_of(index);
    int refused = rule < 0 || !present(index) ? -1 : msr_write(index, val);
    if (refused == 2)
        return EXIT_STOP;
    if (refused) {
        if (refused < 0)
            inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    TRACE("%s <- 0x%lx", msr_name(index), val);
    complete_instruction();
    return EXIT_RESUME;
}

const char *msr_name(uint32_t index)
{
    int rule = rule_of(index);
    return rule < 0 ? "an MSR vmxlab does not offer" : msrs[rule].name;
}
