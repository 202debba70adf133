// cr.c: the rules of CR0 and CR4 that the CR-access exit handler (hv/exit.c)
// and the command line's cr0_owned=/cr4_owned= checks apply. Pure: unit-tested.
// The three rules on the hot path of every intercepted MOV to CR0 (cr0_check,
// cr0_normalize, cr_visible) are inline functions in hv.h.
//
// Ownership (SDM 3C 25.6.6): a bit set in the CR0 guest/host mask is owned by
// the host. A guest MOV to CR0 exits when it would change a host-owned bit away
// from the read shadow; a guest read of CR0 returns the shadow for host-owned
// bits and the real CR0 for guest-owned ones (cr_visible). A bit that
// IA32_VMX_CR0_FIXED0 forces to 1 (PE, NE, PG without unrestricted guest), or
// IA32_VMX_CR0_FIXED1 forces to 0, cannot be guest-owned: the guest could then
// write a value VMX does not allow (SDM 3C 24.8, 25.3).
#include "../boot/x86.h"
#include "hv.h"

const char *cr0_error_name(enum cr0_error e)
{
    static const char *const names[] = {
        [CR0_OK] = "valid",
        [CR0_RESERVED_HIGH] = "bits 63:32 set",
        [CR0_PG_WITHOUT_PE] = "PG without PE",
        [CR0_NW_WITHOUT_CD] = "NW without CD",
        [CR0_PG_OFF_IN_LONG_MODE] = "PG cleared in 64-bit mode",
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
                       unsigned *bit, const char **why)
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
            *why = "VMX fixes it to 1 (IA32_VMX_CR_FIXED0)";
            return -1;
        }
        if (!(fixed1 & BIT(b))) {
            *why = "VMX fixes it to 0 (IA32_VMX_CR_FIXED1)";
            return -1;
        }
    }
    return 0;
}

int cr0_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why)
{
    return owned_check(owned, CR0_DEFINED, fixed0, fixed1, bit, why);
}

// CR4's defined bits are those IA32_VMX_CR4_FIXED1 allows; VMXE is fixed to 1.
int cr4_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why)
{
    return owned_check(owned, fixed1, fixed0, fixed1, bit, why);
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
