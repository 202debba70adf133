// caps.c: VMX capability discovery. kmain() calls caps_read() once at boot,
// then caps_decode() turns the raw CPUID/MSR values into struct vmx_caps,
// which caps_print() shows as a table and caps_json() as one line for the
// tests. Only MSRs the CPU says exist are read: the rest would raise #GP.
// SDM 3C 24.6 (discovering VMX), 3D appendix A (the capability MSRs).
#include "../../boot/x86.h"
#include "internal.h"

struct vmx_caps caps;

void caps_read(struct caps_raw *r)
{
    memset(r, 0, sizeof(*r));
    cpuid(0, 0, r->cpuid0);
    cpuid(1, 0, r->cpuid1);
    if (r->cpuid0[0] >= 7)
        cpuid(7, 0, r->cpuid7);
    if (r->cpuid0[0] >= 0x15)
        cpuid(0x15, 0, r->cpuid15);
    if (r->cpuid0[0] >= 0x16)
        cpuid(0x16, 0, r->cpuid16);
    uint32_t ext[4];
    cpuid(0x80000000, 0, ext);
    if (ext[0] >= 0x80000001)
        cpuid(0x80000001, 0, r->cpuid_ext1);
    if (ext[0] >= 0x80000007)
        cpuid(0x80000007, 0, r->cpuid_ext7);
    if (ext[0] >= 0x80000008)
        cpuid(0x80000008, 0, r->cpuid_ext8);
    if (r->cpuid1[2] & CPUID1_ECX_HYPERVISOR)
        cpuid(0x40000000, 0, r->hv_leaf);
    if (!(r->cpuid1[2] & CPUID1_ECX_VMX))
        return; // no VMX MSRs at all; on AMD even 0x3a would #GP
    r->feature_control = rdmsr(MSR_FEATURE_CONTROL);
    r->basic = rdmsr(MSR_VMX_BASIC);
    bool true_ctls = r->basic & BIT(55);
    r->pinbased = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED_CTLS : MSR_VMX_PINBASED_CTLS);
    r->procbased = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
    r->exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT_CTLS : MSR_VMX_EXIT_CTLS);
    r->entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY_CTLS : MSR_VMX_ENTRY_CTLS);
    r->misc = rdmsr(MSR_VMX_MISC);
    r->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    r->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    r->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    r->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    if (r->procbased & BIT(63)) // allowed-1: "activate secondary controls"
        r->procbased2 = rdmsr(MSR_VMX_PROCBASED_CTLS2);
    if (r->procbased2 & (BIT(32 + 1) | BIT(32 + 5))) // EPT or VPID allowed
        r->ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
}

// The 12 bytes of a CPUID name are whatever the CPU, or a hypervisor below
// us, put there: they are printed on the console and inside the JSON line,
// so any byte that is not printable ASCII, a quote or a backslash becomes '?'.
static void printable_name(char name[13])
{
    for (int i = 0; i < 12; i++)
        if (name[i] && (name[i] < ' ' || name[i] > '~' || name[i] == '"' || name[i] == '\\'))
            name[i] = '?';
}

void caps_decode(const struct caps_raw *r, struct vmx_caps *c)
{
    memset(c, 0, sizeof(*c));
    c->raw = *r;
    memcpy(c->vendor + 0, &r->cpuid0[1], 4); // EBX, EDX, ECX spell the vendor
    memcpy(c->vendor + 4, &r->cpuid0[3], 4);
    memcpy(c->vendor + 8, &r->cpuid0[2], 4);
    c->intel = !memcmp(c->vendor, "GenuineIntel", 12);
    printable_name(c->vendor); // tests/fuzz found it printed raw
    uint32_t eax = r->cpuid1[0];
    c->family = (eax >> 8) & 0xf;
    c->model = (eax >> 4) & 0xf;
    if (c->family == 6 || c->family == 15)
        c->model |= ((eax >> 16) & 0xf) << 4;
    if (c->family == 15)
        c->family += (eax >> 20) & 0xff;
    c->stepping = eax & 0xf;

    // A hypervisor below us says so in CPUID.1:ECX[31] and names itself in
    // leaf 0x40000000 (EBX, ECX, EDX), as KVM, Hyper-V and VMware do.
    c->hypervisor = r->cpuid1[2] & CPUID1_ECX_HYPERVISOR;
    if (c->hypervisor) {
        memcpy(c->hv_signature + 0, &r->hv_leaf[1], 4);
        memcpy(c->hv_signature + 4, &r->hv_leaf[2], 4);
        memcpy(c->hv_signature + 8, &r->hv_leaf[3], 4);
        printable_name(c->hv_signature);
    }
    c->invariant_tsc = r->cpuid_ext7[3] & BIT(8);
    c->nx = r->cpuid_ext1[3] & BIT(20);
    c->maxphyaddr = r->cpuid_ext8[0] & 0xff ? r->cpuid_ext8[0] & 0xff : 36;
    // TSC frequency (SDM 3B 19.7.3): crystal Hz * EBX / EAX from leaf 0x15,
    // or leaf 0x16's base frequency in MHz where the crystal is not given.
    if (r->cpuid15[0] && r->cpuid15[1] && r->cpuid15[2])
        c->tsc_hz = (uint64_t)r->cpuid15[2] * r->cpuid15[1] / r->cpuid15[0];
    else if (r->cpuid16[0] & 0xffff)
        c->tsc_hz = (uint64_t)(r->cpuid16[0] & 0xffff) * 1000000;

    c->vmx = r->cpuid1[2] & CPUID1_ECX_VMX;
    if (!c->vmx)
        return;
    c->fc_locked = r->feature_control & FC_LOCKED;
    c->fc_vmx_outside_smx = r->feature_control & FC_VMX_OUTSIDE_SMX;
    c->revision = r->basic & 0x7fffffff;
    c->vmcs_size = (r->basic >> 32) & 0x1fff;
    c->memtype = (r->basic >> 50) & 0xf;
    c->true_ctls = r->basic & BIT(55);
    c->preemption_timer = r->pinbased & BIT(32 + 6);
    c->secondary = r->procbased & BIT(32 + 31);
    // Secondary controls' allowed-1 half: EPT bit 1, VPID bit 5, UG bit 7.
    c->ept = c->secondary && (r->procbased2 & BIT(32 + 1));
    c->vpid = c->secondary && (r->procbased2 & BIT(32 + 5));
    c->unrestricted_guest = c->secondary && (r->procbased2 & BIT(32 + 7));
    if (c->ept) { // SDM 3D A.10
        c->ept_4level = r->ept_vpid & BIT(6);
        c->ept_wb = r->ept_vpid & BIT(14);
        c->ept_2m = r->ept_vpid & BIT(16);
        c->ept_1g = r->ept_vpid & BIT(17);
        c->invept = r->ept_vpid & BIT(20);
        c->ept_ad = r->ept_vpid & BIT(21);
        c->invept_single = r->ept_vpid & BIT(25);
        c->invept_all = r->ept_vpid & BIT(26);
    }
    c->invvpid = c->vpid && (r->ept_vpid & BIT(32));
    c->invvpid_single = c->invvpid && (r->ept_vpid & BIT(41));
    c->invvpid_all = c->invvpid && (r->ept_vpid & BIT(42));
    c->invvpid_single_globals = c->invvpid && (r->ept_vpid & BIT(43));
    c->timer_shift = r->misc & 0x1f; // SDM 3D A.6
}

// Numbers measured inside a VM mean something else; said once, next to them.
const char *caps_nested_caveat(const struct vmx_caps *c)
{
    if (!c->hypervisor)
        return NULL;
    return "vmxlab runs under a hypervisor (CPUID.1:ECX[31] set): the exit counts are "
           "those vmxlab (L1) sees; ticks include the exits the outer hypervisor takes "
           "on our behalf (in passthrough too); the preemption-timer watchdog counts "
           "only while the guest runs";
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

void caps_print(const struct vmx_caps *c)
{
    kprintf("VMX capabilities\n");
    kprintf("  %-26s %s family %u model 0x%x stepping %u\n", "CPU", c->vendor,
            c->family, c->model, c->stepping);
    kprintf("  %-26s %s\n", "CPUID.1:ECX.VMX", yes_no(c->vmx));
    if (c->hypervisor)
        kprintf("  %-26s yes, signature '%s'\n", "under a hypervisor", c->hv_signature);
    if (!c->vmx)
        return;
    kprintf("  %-26s 0x%lx (%s, VMX outside SMX %s)\n", "IA32_FEATURE_CONTROL",
            c->raw.feature_control, c->fc_locked ? "locked" : "unlocked",
            c->fc_vmx_outside_smx ? "allowed" : "off");
    kprintf("  %-26s 0x%lx\n", "IA32_VMX_BASIC", c->raw.basic);
    kprintf("  %-26s 0x%x\n", "  VMCS revision id", c->revision);
    kprintf("  %-26s %u bytes, memory type %u%s\n", "  VMCS region", c->vmcs_size,
            c->memtype, c->memtype == 6 ? " (write-back)" : "");
    kprintf("  %-26s %s\n", "  TRUE_* control MSRs", yes_no(c->true_ctls));
    kprintf("  %-26s %s\n", "secondary controls", yes_no(c->secondary));
    kprintf("  %-26s %s\n", "EPT", yes_no(c->ept));
    if (c->ept)
        kprintf("  %-26s 4-level %s, WB %s, 2M %s, 1G %s, A/D %s, INVEPT %s\n", "",
                yes_no(c->ept_4level), yes_no(c->ept_wb), yes_no(c->ept_2m), yes_no(c->ept_1g),
                yes_no(c->ept_ad), yes_no(c->invept));
    kprintf("  %-26s %s%s\n", "VPID", yes_no(c->vpid),
            c->vpid && !c->invvpid ? " (no INVVPID)" : "");
    kprintf("  %-26s %s\n", "unrestricted guest", yes_no(c->unrestricted_guest));
    kprintf("  %-26s %s\n", "VMX-preemption timer", yes_no(c->preemption_timer));
    kprintf("  %-26s 0x%lx / 0x%lx\n", "CR0 fixed0 / fixed1", c->raw.cr0_fixed0,
            c->raw.cr0_fixed1);
    kprintf("  %-26s 0x%lx / 0x%lx\n", "CR4 fixed0 / fixed1", c->raw.cr4_fixed0,
            c->raw.cr4_fixed1);
}

// One JSON object for the boot tests, so they compare numbers, not layout.
int caps_json(const struct vmx_caps *c, char *buf, size_t size)
{
    return snprintf(buf, size,
        "{\"vendor\":\"%s\",\"family\":%u,\"model\":%u,\"vmx\":%u,"
        "\"feature_control\":%lu,\"revision\":%u,\"vmcs_size\":%u,\"memtype\":%u,"
        "\"true_ctls\":%u,\"secondary\":%u,\"ept\":%u,\"vpid\":%u,"
        "\"unrestricted_guest\":%u,\"ept_4level\":%u,\"ept_wb\":%u,\"ept_2m\":%u,"
        "\"ept_1g\":%u,\"ept_ad\":%u,\"cr0_fixed0\":%lu,\"cr0_fixed1\":%lu,"
        "\"cr4_fixed0\":%lu,\"cr4_fixed1\":%lu}",
        c->vendor, c->family, c->model, c->vmx, c->raw.feature_control, c->revision,
        c->vmcs_size, c->memtype, c->true_ctls, c->secondary, c->ept, c->vpid,
        c->unrestricted_guest, c->ept_4level, c->ept_wb, c->ept_2m, c->ept_1g,
        c->ept_ad, c->raw.cr0_fixed0, c->raw.cr0_fixed1, c->raw.cr4_fixed0,
        c->raw.cr4_fixed1);
}

// NULL when vmxlab can run here; otherwise the one message that says why not
// and what the user can do about it. Past VMX itself, it refuses values no
// CPU reports but a hypervisor below vmxlab might (found by tests/fuzz): a
// physical-address width vmxlab cannot shift by, and capability MSRs that
// ask for a bit to be both 1 and 0, with which no VM entry can succeed.
const char *caps_unsupported(const struct vmx_caps *c)
{
    static char why[512]; // for the messages that name a value
    if (!c->vmx) {
        // Under a hypervisor the CPU is its: VMX is missing because it hides it
        // (KVM without nested=1 or without +vmx, QEMU's TCG, most clouds).
        char hv[112] = "";
        if (c->hypervisor)
            snprintf(hv, sizeof(hv), "; it is a virtual CPU (hypervisor '%s'), and that "
                     "hypervisor does not pass VMX on to its guests", c->hv_signature);
        snprintf(why, sizeof(why), "this CPU does not offer Intel VMX (CPUID.1:ECX.VMX = 0)%s. "
                 "Run vmxlab where it does: on an Intel machine with VT-x enabled in "
                 "the firmware setup; in QEMU with KVM on an Intel host "
                 "(make run ENGINE=qemu-kvm: -enable-kvm -cpu host, kvm_intel nested=1); "
                 "or in Bochs, which emulates VMX on any host (make run ENGINE=bochs)", hv);
        return why;
    }
    // SDM 3C 24.7 (Enabling and Entering VMX Operation): bit 1 allows VMXON
    // inside SMX (after GETSEC[SENTER], Intel TXT), bit 2 outside; vmxlab runs
    // outside. Firmware that offers only the first has VT-x "with TXT" alone.
    if (c->fc_locked && !c->fc_vmx_outside_smx && (c->raw.feature_control & FC_VMX_INSIDE_SMX))
        return "VMX is enabled by the firmware only inside SMX (IA32_FEATURE_CONTROL is "
               "locked with 'VMX inside SMX' on and 'VMX outside SMX' off: VT-x for an "
               "Intel TXT measured launch alone). vmxlab runs outside SMX: enable Intel "
               "Virtualization Technology (VT-x) itself in the firmware setup and boot again";
    if (c->fc_locked && !c->fc_vmx_outside_smx)
        return "VMX is disabled by the firmware (IA32_FEATURE_CONTROL is locked "
               "with 'VMX outside SMX' off). Enable Intel Virtualization Technology "
               "(VT-x) in the firmware setup and boot again";
    // SDM 3A 4.1.4: at most 52 bits; the kernel's identity map needs 32.
    if (c->maxphyaddr < 32 || c->maxphyaddr > 52) {
        snprintf(why, sizeof(why), "CPUID.80000008H:EAX[7:0] gives a physical-address "
                 "width of %u bits, where the SDM allows at most 52 and vmxlab needs 32. "
                 "No CPU reports that: check the hypervisor vmxlab runs under",
                 c->maxphyaddr);
        return why;
    }
    // SDM 3D A.7-A.8: a bit FIXED0 sets must be one FIXED1 allows.
    const uint64_t fixed[2][2] = { { c->raw.cr0_fixed0, c->raw.cr0_fixed1 },
                                   { c->raw.cr4_fixed0, c->raw.cr4_fixed1 } };
    for (int i = 0; i < 2; i++) {
        uint64_t both = fixed[i][0] & ~fixed[i][1];
        if (both) {
            snprintf(why, sizeof(why), "IA32_VMX_CR%d_FIXED0 (0x%lx) sets bit %u, which "
                     "IA32_VMX_CR%d_FIXED1 (0x%lx) clears: no CR%d value is allowed in VMX "
                     "operation. No CPU reports that: check the hypervisor vmxlab runs under",
                     i * 4, fixed[i][0], (unsigned)__builtin_ctzll(both), i * 4, fixed[i][1],
                     i * 4);
            return why;
        }
    }
    // SDM 3D A.3-A.5: a control that must be 1 (allowed-0) must be allowed-1.
    for (int k = 0; k < CTL_KINDS; k++) {
        uint64_t cap = ctl_cap(c, k);
        uint32_t both = (uint32_t)cap & ~(uint32_t)(cap >> 32);
        if (both) {
            unsigned bit = (unsigned)__builtin_ctz(both);
            snprintf(why, sizeof(why), "the capability MSR of the %ss (0x%lx) says bit %u "
                     "('%s') must be 1, and may not be 1: no VMCS can be entered. No CPU "
                     "reports that: check the hypervisor vmxlab runs under",
                     ctl_kind_name(k), cap, bit, ctl_bit_name(k, bit));
            return why;
        }
    }
    return NULL;
}
