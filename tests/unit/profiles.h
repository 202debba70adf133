// profiles.h: capability profiles of real Intel CPUs and of nested KVM, as vmxlab's
// caps_read() would read them (tests/unit/profiles.c, one row each with its source),
// and what vmxlab must decide on each. tests/unit/test_profiles.c checks them all;
// docs/10-results.md lists them. Data only.
#pragma once
#include "../../hv/vmx/internal.h"

struct profile {
    const char *name;
    const char *source;  // where the values come from; "inferred" where they are
    struct caps_raw raw; // the TRUE_ control MSRs where IA32_VMX_BASIC[55] is set
    bool nested_kvm;     // KVM's VMWRITE: every vmcs12 field exists, whatever L1 may use
    struct {
        const char *refused; // NULL: vmxlab runs; else a phrase its UNSUPPORTED message has
        enum mmu mmu;        // paging=auto: MMU_EPT, or MMU_SHADOW_ROLES without usable EPT
        bool vpid, preemption_timer, ept_2m;
        unsigned timer_shift;  // IA32_VMX_MISC[4:0]
        unsigned invept, invvpid; // the INVEPT and INVVPID types vmxlab issues (0: none)
    } expect;
};
extern const struct profile profiles[];
extern const size_t nprofiles;
