// controls.c: choosing VM-execution, VM-exit and VM-entry controls.
// vmcs_setup() (hv/vmcs.c) calls ctl_adjust() once per control field with the
// bits vmxlab needs (required) and would like (optional). Pure: unit-tested.
//
// The rule, SDM 3D A.3-A.5: each capability MSR's low 32 bits are the
// "allowed-0" settings (a 1 there means the control must be 1: default-1 bits
// we cannot clear) and its high 32 bits the "allowed-1" settings (a 0 there
// means the control must be 0: a feature this CPU lacks). So the value to use
// is (wanted & allowed1) | allowed0, and a required bit outside allowed1 is a
// hard stop. When IA32_VMX_BASIC bit 55 is set, the TRUE_* MSRs give the real
// allowed-0 bits (e.g. CR3-load/store exiting can then be cleared): caps_read()
// already picked those.
#include "hv.h"

static const char *const pin_names[32] = {
    [0] = "external-interrupt exiting", [3] = "NMI exiting", [5] = "virtual NMIs",
    [6] = "activate VMX-preemption timer", [7] = "process posted interrupts",
};
static const char *const proc_names[32] = {
    [2] = "interrupt-window exiting", [3] = "use TSC offsetting", [7] = "HLT exiting",
    [9] = "INVLPG exiting", [10] = "MWAIT exiting", [11] = "RDPMC exiting",
    [12] = "RDTSC exiting", [15] = "CR3-load exiting", [16] = "CR3-store exiting",
    [17] = "activate tertiary controls", [19] = "CR8-load exiting",
    [20] = "CR8-store exiting", [21] = "use TPR shadow", [22] = "NMI-window exiting",
    [23] = "MOV-DR exiting", [24] = "unconditional I/O exiting", [25] = "use I/O bitmaps",
    [27] = "monitor trap flag", [28] = "use MSR bitmaps", [29] = "MONITOR exiting",
    [30] = "PAUSE exiting", [31] = "activate secondary controls",
};
static const char *const proc2_names[32] = {
    [0] = "virtualize APIC accesses", [1] = "enable EPT", [2] = "descriptor-table exiting",
    [3] = "enable RDTSCP", [4] = "virtualize x2APIC mode", [5] = "enable VPID",
    [6] = "WBINVD exiting", [7] = "unrestricted guest", [8] = "APIC-register virtualization",
    [9] = "virtual-interrupt delivery", [10] = "PAUSE-loop exiting", [11] = "RDRAND exiting",
    [12] = "enable INVPCID", [13] = "enable VM functions", [14] = "VMCS shadowing",
    [15] = "enable ENCLS exiting", [16] = "RDSEED exiting", [17] = "enable PML",
    [18] = "EPT-violation #VE", [20] = "enable XSAVES/XRSTORS",
    [22] = "mode-based execute control for EPT", [25] = "use TSC scaling",
};
static const char *const exit_names[32] = {
    [2] = "save debug controls", [9] = "host address-space size",
    [12] = "load IA32_PERF_GLOBAL_CTRL", [15] = "acknowledge interrupt on exit",
    [18] = "save IA32_PAT", [19] = "load IA32_PAT", [20] = "save IA32_EFER",
    [21] = "load IA32_EFER", [22] = "save VMX-preemption timer value",
};
static const char *const entry_names[32] = {
    [2] = "load debug controls", [9] = "IA-32e mode guest", [10] = "entry to SMM",
    [11] = "deactivate dual-monitor treatment", [13] = "load IA32_PERF_GLOBAL_CTRL",
    [14] = "load IA32_PAT", [15] = "load IA32_EFER",
};
static const struct {
    const char *name;
    const char *const *bits;
} kinds[CTL_KINDS] = {
    [CTL_PIN] = { "pin-based VM-execution control", pin_names },
    [CTL_PROC] = { "primary processor-based VM-execution control", proc_names },
    [CTL_PROC2] = { "secondary processor-based VM-execution control", proc2_names },
    [CTL_EXIT] = { "VM-exit control", exit_names },
    [CTL_ENTRY] = { "VM-entry control", entry_names },
};

const char *ctl_kind_name(enum ctl_kind kind)
{
    return (unsigned)kind < CTL_KINDS ? kinds[kind].name : "control";
}

const char *ctl_bit_name(enum ctl_kind kind, unsigned bit)
{
    if ((unsigned)kind >= CTL_KINDS || bit >= 32 || !kinds[kind].bits[bit])
        return "reserved";
    return kinds[kind].bits[bit];
}

int ctl_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out,
               unsigned *missing)
{
    uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);
    uint32_t lacking = required & ~allowed1;
    if (lacking) {
        *missing = (unsigned)__builtin_ctz(lacking);
        return -1;
    }
    *out = ((required | optional) & allowed1) | allowed0;
    return 0;
}
