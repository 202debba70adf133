// cr.c: the rules of CR0 and CR4 that the CR-access exit handler (hv/exit/exit_cr.c)
// and the command line's cr0_owned=/cr4_owned= checks (hv/run/experiment.c)
// apply. Pure: unit-tested (tests/unit/test_cr.c).
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
    };
    return (unsigned)e < ARRAY_SIZE(names) ? names[e] : "invalid";
}

// MOV to CR4 in IA-32e mode (the only mode vmxlab's guests run in), SDM 2
// "MOV - Move to/from Control Registers" (#GP conditions) and SDM 3A 2.5:
// reserved bits, PAE must stay 1, LA57 cannot change, PCIDE may only be set
// with CR3[11:0] = 0, CET needs CR0.WP. The first rule broken is returned.
enum cr4_error cr4_check(uint64_t val, uint64_t old, uint64_t cr3, uint64_t valid, bool cr0_wp)
{
    if (val & ~valid)
        return CR4_RESERVED;
    if (!(val & CR4_PAE))
        return CR4_PAE_OFF_IN_LONG_MODE;
    if ((val ^ old) & CR4_LA57)
        return CR4_LA57_CHANGED;
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) && (cr3 & 0xfff))
        return CR4_PCIDE_WITH_CR3_LOW_BITS;
    if ((val & CR4_CET) && !cr0_wp)
        return CR4_CET_WITHOUT_WP;
    return CR4_OK;
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
