// cr.c: the rules of CR0 and CR4 that the CR-access exit handler (hv/exit/exit_cr.c)
// and the command line's cr0_owned=/cr4_owned= checks (hv/run/experiment.c)
// apply, and what a MOV to CR0 does to the guest's paging mode (cr0_mode_change(),
// for multiboot kernels, which start without paging and switch modes themselves),
// and what a WRMSR to IA32_EFER may change (efer_write()).
// Pure: unit-tested (tests/unit/test_cr.c).
// The three rules on the hot path of every intercepted MOV to CR0 (cr0_check,
// cr0_normalize, cr_visible) are inline functions in internal.h and exit.h.
//
// Ownership (SDM 3C 25.6.6): a bit set in the CR0 guest/host mask is owned by
// the host. A guest MOV to CR0 exits when it would change a host-owned bit away
// from the read shadow; a guest read of CR0 returns the shadow for host-owned
// bits and the real CR0 for guest-owned ones (cr_visible). A bit that
// IA32_VMX_CR0_FIXED0 forces to 1 (PE, NE, PG without unrestricted guest), or
// IA32_VMX_CR0_FIXED1 forces to 0, cannot be guest-owned: the guest could then
// write a value VMX does not allow (SDM 3C 24.8, 25.3).
#include "../../boot/x86.h"
#include "internal.h"

const char *cr0_error_name(enum cr0_error e)
{
    static const char *const names[] = {
        [CR0_OK] = "valid",
        [CR0_RESERVED_HIGH] = "bits 63:32 set",
        [CR0_PG_WITHOUT_PE] = "PG without PE",
        [CR0_NW_WITHOUT_CD] = "NW without CD",
        [CR0_PG_OFF_IN_64BIT_MODE] = "PG cleared in 64-bit mode",
        [CR0_PG_OFF_WITH_PCIDE] = "PG cleared while CR4.PCIDE is 1",
        [CR0_PG_LME_WITHOUT_PAE] = "PG set with EFER.LME 1 and CR4.PAE 0",
        [CR0_PG_LME_WITH_CS_L] = "PG set with EFER.LME 1 while CS.L is 1",
    };
    return (unsigned)e < ARRAY_SIZE(names) ? names[e] : "invalid";
}

const char *cr0_bit_name(unsigned bit)
{
    static const char *const names[32] = {
        [0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS", [4] = "ET", [5] = "NE",
        [16] = "WP", [18] = "AM", [29] = "NW", [30] = "CD", [31] = "PG",
    };
    return bit < 32 && names[bit] ? names[bit] : "reserved";
}

static int owned_check(uint64_t owned, uint64_t defined, uint64_t fixed0, uint64_t fixed1,
                       unsigned *bit, const char **why, const char *const fixed_why[2])
{
    for (unsigned b = 0; b < 64; b++) {
        if (!(owned & BIT(b)))
            continue;
        *bit = b;
        if (!(defined & BIT(b))) {
            *why = "it is reserved";
            return -1;
        }
        if (fixed0 & BIT(b)) {
            *why = fixed_why[0];
            return -1;
        }
        if (!(fixed1 & BIT(b))) {
            *why = fixed_why[1];
            return -1;
        }
    }
    return 0;
}

int cr0_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why)
{
    static const char *const fixed[2] = { "VMX fixes it to 1 (IA32_VMX_CR0_FIXED0)",
                                           "VMX fixes it to 0 (IA32_VMX_CR0_FIXED1)" };
    return owned_check(owned, CR0_DEFINED, fixed0, fixed1, bit, why, fixed);
}

// CR4's defined bits are those IA32_VMX_CR4_FIXED1 allows; VMXE is fixed to 1.
int cr4_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why)
{
    static const char *const fixed[2] = { "VMX fixes it to 1 (IA32_VMX_CR4_FIXED0)",
                                           "VMX fixes it to 0 (IA32_VMX_CR4_FIXED1)" };
    return owned_check(owned, fixed1, fixed0, fixed1, bit, why, fixed);
}

const char *cr4_bit_name(unsigned bit)
{
    static const char *const names[32] = {
        [0] = "VME", [1] = "PVI", [2] = "TSD", [3] = "DE", [4] = "PSE", [5] = "PAE",
        [6] = "MCE", [7] = "PGE", [8] = "PCE", [9] = "OSFXSR", [10] = "OSXMMEXCPT",
        [11] = "UMIP", [12] = "LA57", [13] = "VMXE", [14] = "SMXE", [16] = "FSGSBASE",
        [17] = "PCIDE", [18] = "OSXSAVE", [19] = "KL", [20] = "SMEP", [21] = "SMAP",
        [22] = "PKE", [23] = "CET", [24] = "PKS",
    };
    return bit < 32 && names[bit] ? names[bit] : "reserved";
}

// Which CR4 bits a guest may set: those IA32_VMX_CR4_FIXED1 allows (SDM 3D
// A.8) and the CPU's CPUID offers (SDM 3A 2.5 names the feature behind each
// bit, SDM 2 CPUID lists where it is). VMXE and SMXE never: vmxlab offers its
// guests neither VMX nor SMX. leaf1 and leaf7 are CPUID.1 and CPUID.(7,0) as
// {EAX, EBX, ECX, EDX}.
uint64_t cr4_guest_valid(uint64_t fixed1, const uint32_t leaf1[4], const uint32_t leaf7[4])
{
    static const struct {
        uint32_t bit;
        uint8_t leaf, reg, feature; // leaf 1 or 7; reg 1 EBX, 2 ECX, 3 EDX
    } needs[] = {
        { CR4_UMIP, 7, 2, 2 },      { CR4_LA57, 7, 2, 16 },     { CR4_FSGSBASE, 7, 1, 0 },
        { CR4_PCIDE, 1, 2, 17 },    { CR4_OSXSAVE, 1, 2, 26 },  { CR4_KL, 7, 2, 23 },
        { CR4_SMEP, 7, 1, 7 },      { CR4_SMAP, 7, 1, 20 },     { CR4_PKE, 7, 2, 3 },
        { CR4_PKS, 7, 2, 31 },
    };
    const uint64_t always = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
                            CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    uint64_t ok = always;
    for (size_t i = 0; i < ARRAY_SIZE(needs); i++) {
        const uint32_t *leaf = needs[i].leaf == 1 ? leaf1 : leaf7;
        if (leaf[needs[i].reg] & BIT(needs[i].feature))
            ok |= needs[i].bit;
    }
    if (leaf7[2] & BIT(7) || leaf7[3] & BIT(20)) // CET shadow stacks or IBT
        ok |= CR4_CET;
    return ok & fixed1 & ~(uint64_t)(CR4_VMXE | CR4_SMXE);
}

const char *cr4_error_name(enum cr4_error e)
{
    static const char *const names[] = {
        [CR4_OK] = "valid",
        [CR4_RESERVED] = "a reserved or unsupported bit set",
        [CR4_PAE_OFF_IN_LONG_MODE] = "PAE cleared in IA-32e mode",
        [CR4_LA57_CHANGED] = "LA57 changed in IA-32e mode",
        [CR4_PCIDE_WITH_CR3_LOW_BITS] = "PCIDE set while CR3[11:0] is not 0",
        [CR4_CET_WITHOUT_WP] = "CET set while CR0.WP is 0",
        [CR4_PCIDE_OUTSIDE_IA32E] = "PCIDE set outside IA-32e mode",
    };
    return (unsigned)e < ARRAY_SIZE(names) ? names[e] : "invalid";
}

// MOV to CR4, SDM 2 "MOV - Move to/from Control Registers" (#GP conditions)
// and SDM 3A 2.5: reserved bits; in IA-32e mode (ia32e: EFER.LMA) PAE must
// stay 1 and LA57 cannot change; PCIDE may only be set in IA-32e mode (SDM 3A
// 4.10.1) and with CR3[11:0] = 0; CET needs CR0.WP. The first rule broken is
// returned. Outside IA-32e mode (a multiboot kernel before its switch) PAE
// and LA57 are the guest's to change.
enum cr4_error cr4_check(uint64_t val, uint64_t old, uint64_t cr3, uint64_t valid, bool cr0_wp,
                         bool ia32e)
{
    if (val & ~valid)
        return CR4_RESERVED;
    if (ia32e && !(val & CR4_PAE))
        return CR4_PAE_OFF_IN_LONG_MODE;
    if (ia32e && ((val ^ old) & CR4_LA57))
        return CR4_LA57_CHANGED;
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && !ia32e)
        return CR4_PCIDE_OUTSIDE_IA32E;
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && (cr3 & 0xfff))
        return CR4_PCIDE_WITH_CR3_LOW_BITS;
    if ((val & CR4_CET) && !cr0_wp)
        return CR4_CET_WITHOUT_WP;
    return CR4_OK;
}

// A valid MOV to CR0 (cr0_check() passed) from old to val, with the guest's
// EFER, CR4 and CS.L as they are: how the paging mode changes, or #GP. SDM 3A
// 10.8.5 (Initializing IA-32e Mode: PAE, then EFER.LME, then CR0.PG, which sets
// EFER.LMA), 10.8.5.4 (Leaving IA-32e Mode: PG cleared in compatibility mode
// clears LMA), 4.1.2 (Paging-Mode Enabling: #GP(0) for PG set with LME and PAE
// clear). KVM's kvm_set_cr0() adds #GP for PG set with LME while
// CS.L is 1, a state no CPU can enter IA-32e mode from.
enum cr0_error cr0_mode_change(uint64_t old, uint64_t val, uint64_t efer, uint64_t cr4,
                               bool cs_l, enum cr0_change *change)
{
    bool was = old & CR0_PG, is = val & CR0_PG;
    *change = CR0_SAME_MODE;
    if (!was && is && (efer & EFER_LME)) {
        if (!(cr4 & CR4_PAE))
            return CR0_PG_LME_WITHOUT_PAE;
        if (cs_l)
            return CR0_PG_LME_WITH_CS_L;
        *change = CR0_ENTER_IA32E;
    } else if (!was && is) {
        *change = CR0_PAGING_ON;
    } else if (was && !is) {
        *change = efer & EFER_LMA ? CR0_LEAVE_IA32E : CR0_PAGING_OFF;
    } else if ((old & CR0_PE) && !(val & CR0_PE)) {
        *change = CR0_REAL_MODE;
    }
    return CR0_OK;
}

const char *cr0_change_name(enum cr0_change c)
{
    static const char *const names[] = {
        [CR0_SAME_MODE] = "the same paging mode",
        [CR0_ENTER_IA32E] = "IA-32e mode entered (EFER.LMA 1)",
        [CR0_LEAVE_IA32E] = "IA-32e mode left (EFER.LMA 0), paging off",
        [CR0_PAGING_ON] = "paging on, outside IA-32e mode",
        [CR0_PAGING_OFF] = "paging off",
        [CR0_REAL_MODE] = "PE cleared: real mode",
    };
    return (unsigned)c < ARRAY_SIZE(names) ? names[c] : "unknown";
}

// PAE paging outside IA-32e mode takes its four PDPTEs from memory when CR3 is
// loaded, and when a MOV to CR0 or CR4 that leaves PAE paging in use changes
// CR0.CD, NW or PG, or CR4.PAE, PGE, PSE or SMEP (SDM 3A 4.4.1, PDPTE
// Registers). A present PDPTE with a reserved bit (boot/x86.h PDPTE_RESERVED())
// makes that instruction #GP(0).
bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

bool pdptes_reload(uint64_t old_cr0, uint64_t cr0, uint64_t old_cr4, uint64_t cr4)
{
    return ((old_cr0 ^ cr0) & (CR0_CD | CR0_NW | CR0_PG)) ||
           ((old_cr4 ^ cr4) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP));
}

int pdptes_check(const uint64_t pdpte[4], unsigned maxphyaddr)
{
    for (int i = 0; i < 4; i++)
        if ((pdpte[i] & PTE_P) && (pdpte[i] & PDPTE_RESERVED(maxphyaddr)))
            return i;
    return -1;
}

// WRMSR to IA32_EFER (SDM 3A 2.2.1, Table 2-1; SDM 4, IA32_EFER; KVM's set_efer()
// and kvm_valid_efer()): SCE, LME and NXE (where CPUID says the CPU has NX) are
// writable, every other bit is reserved; LMA is read-only, the CPU's (it follows
// CR0.PG with LME, hv/exit/exit_cr.c), so the written bit is ignored; LME may
// change only while paging is off (SDM 3A 4.1.2, Paging-Mode Enabling). The rest
// is #GP(0).
int efer_write(uint64_t old, uint64_t val, bool paging, bool nx, uint64_t *out)
{
    uint64_t writable = EFER_SCE | EFER_LME | (nx ? EFER_NXE : 0);
    if (val & ~(writable | EFER_LMA))
        return -1;
    if (paging && ((old ^ val) & EFER_LME))
        return -1;
    *out = (val & writable) | (old & EFER_LMA);
    return 0;
}

// Does this MOV to CR4 invalidate the TLB on the CPU? It does when it changes
// PGE, PAE, PSE, SMEP or LA57, or clears PCIDE (SDM 3A 4.10.4.1, Operations
// that Invalidate TLBs and Paging-Structure Caches; KVM's kvm_post_set_cr4()).
bool cr4_write_flushes(uint64_t old, uint64_t val)
{
    const uint64_t any_change = CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_LA57;
    return ((old ^ val) & any_change) || (old & ~val & CR4_PCIDE);
}

// MOV to CR3 in IA-32e mode (SDM 2 MOV CR, #GP for a reserved bit; SDM 3A
// 4.5, Table 4-12, Use of CR3 with 4-Level Paging): with CR4.PCIDE = 1, bit
// 63 of the source asks for no TLB flush and is not written to CR3 (SDM 3A
// 4.10.4.1); with PCIDE = 0 it is reserved. Bits 62:MAXPHYADDR are reserved
// either way (vmxlab offers no LAM, whose CR3 bits are 62:61). KVM's
// kvm_set_cr3() applies the same two rules.
int cr3_write(uint64_t val, bool pcide, unsigned maxphyaddr, uint64_t *load, bool *noflush)
{
    bool keep = pcide && (val >> 63);
    if (keep)
        val &= ~BIT(63);
    if (val >> maxphyaddr)
        return -1;
    *load = val;
    *noflush = keep;
    return 0;
}
