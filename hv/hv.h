// hv.h: everything hv/ offers, grouped by file as xv6's defs.h does.
// hv/ is the hypervisor proper: capability discovery, VMX on/off, the VMCS,
// EPT, VM-exit dispatch and the CR0/CR4 ownership policies.
#pragma once
#include "../lib/lib.h"

// VMX capability MSRs, SDM 3D appendix A
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED_CTLS2 0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490

#define CPUID1_ECX_VMX (1u << 5)

// caps.c: what the CPU offers for VMX, read once and decoded by pure code
struct caps_raw { // straight from CPUID and the MSRs; zero where not readable
    uint32_t cpuid0[4], cpuid1[4];
    uint64_t feature_control, basic, misc;
    uint64_t pinbased, procbased, exit, entry; // TRUE_ variants when basic says so
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t procbased2, ept_vpid;
};
struct vmx_caps {
    struct caps_raw raw;
    char vendor[13];
    unsigned family, model, stepping;
    bool intel, vmx, fc_locked, fc_vmx_outside_smx;
    uint32_t revision, vmcs_size, memtype;
    bool true_ctls, secondary, ept, vpid, unrestricted_guest, preemption_timer;
    bool ept_4level, ept_wb, ept_2m, ept_1g, ept_ad, invept, invept_single,
        invept_all, invvpid;
};
void caps_read(struct caps_raw *raw);
void caps_decode(const struct caps_raw *raw, struct vmx_caps *c);
void caps_print(const struct vmx_caps *c);
int caps_json(const struct vmx_caps *c, char *buf, size_t size);
const char *caps_unsupported(const struct vmx_caps *c);
extern struct vmx_caps caps;
