// check.c: the VM-entry checker. One table, check_rules[], holds the checks a
// VM entry makes (SDM 3C 27.2: VMX controls and host state; 27.3: guest
// state; 27.4: the MSRs it loads), each with a name, its section and a
// predicate over the VMCS, read through an accessor and judged against the
// CPU's capability MSRs. Pure: hv/vmx/entry.c runs it on the current VMCS
// (VMREAD), tests/unit/test_check.c on VMCSs built in memory. It changes nothing.
#include "../../boot/x86.h"
#include "internal.h"

// MSR numbers the MSR-load checks name (SDM 4, and 3C 27.4).
#define MSR_SMM_MONITOR_CTL 0x9b
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101

#define RFLAGS_VM (1u << 17)       // virtual-8086 mode
#define RFLAGS_RESERVED ((uint64_t)0xffffffffffc08028) // bits 63:22, 15, 5, 3 (SDM 3C 27.3.1.4)
#define AR_S (1u << 4)             // access rights, SDM 3C 25.4.1 (Table 25-2)
#define AR_P (1u << 7)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)
#define AR_RESERVED 0xfffe0f00u    // bits 31:17 and 11:8
#define AR_TYPE(ar) ((ar) & 0xf)
#define AR_DPL(ar) (((ar) >> 5) & 3)
#define INTR_VALID (1u << 31)      // VM-entry interruption information, SDM 3C 25.8.3
#define INTR_DELIVER_CODE (1u << 11)
#define INTR_TYPE(i) (((i) >> 8) & 7)
#define INTR_VECTOR(i) ((i) & 0xff)
enum { T_EXTINT = 0, T_NMI = 2, T_HW_EXC = 3, T_SW_INT = 4, T_PRIV_SW_EXC = 5, T_SW_EXC = 6,
       T_OTHER = 7 };
enum { ACT_ACTIVE, ACT_HLT, ACT_SHUTDOWN, ACT_WAIT_SIPI };

const struct guest_seg_fields guest_segs[SEGS] = {
    [SEG_ES] = { "ES", GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES },
    [SEG_CS] = { "CS", GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES },
    [SEG_SS] = { "SS", GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES },
    [SEG_DS] = { "DS", GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES },
    [SEG_FS] = { "FS", GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES },
    [SEG_GS] = { "GS", GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES },
    [SEG_LDTR] = { "LDTR", GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT,
                   GUEST_LDTR_AR_BYTES },
    [SEG_TR] = { "TR", GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR_BYTES },
};
static const enum guest_seg data_segs[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };

struct seg {
    uint16_t sel;
    uint64_t base;
    uint32_t limit, ar;
};

// One run of the rules: the environment, where findings go, and the fields
// most rules need, read once.
struct check {
    const struct check_env *env;
    const struct vmx_caps *caps;
    const struct check_rule *rule; // the rule being checked
    check_found_fn *found;
    void *ctx;
    struct check_summary *sum;
    uint32_t pin, proc, proc2, exit, entry; // proc2 is 0 unless "activate secondary controls"
    bool ia32e, ug, ept, v86, pe, pg;
    uint64_t cr0, cr4, rflags;
    uint32_t intr, interruptibility, activity;
    struct seg s[SEGS];
    unsigned maxphy, linear; // physical- and linear-address widths
};

static uint64_t rd(struct check *c, uint32_t field)
{
    uint64_t v = 0;
    if (c->env->vmcs->read(c->env->vmcs->ctx, field, &v))
        return 0; // a field this CPU lacks: its control is off, and 0 is what it means
    return v;
}

// One failed rule: formatted with its values and handed to the caller.
__attribute__((format(printf, 4, 5)))
static void fail_q(struct check *c, uint32_t field, uint64_t qual, const char *fmt, ...)
{
    struct check_finding f = { .rule = c->rule, .field = field, .qual = qual };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.text, sizeof(f.text), fmt, ap);
    va_end(ap);
    struct check_summary *s = c->sum;
    enum check_kind k = c->rule->kind;
    if (!s->by_kind[k])
        s->qual[k] = qual;
    else if (s->qual[k] != qual)
        s->qual_mixed[k] = true;
    s->by_kind[k]++;
    s->findings++;
    if (c->found)
        c->found(c->ctx, &f);
}
#define fail(c, field, ...) fail_q(c, field, (c)->rule->qual, __VA_ARGS__)

// Canonical: bits 63:N-1 all equal, N the linear-address width (SDM 1 3.3.7.1).
static bool canonical(const struct check *c, uint64_t v)
{
    unsigned shift = 64 - c->linear;
    return (uint64_t)((int64_t)(v << shift) >> shift) == v;
}

static bool beyond_phys(const struct check *c, uint64_t pa)
{
    return c->maxphy < 64 && (pa >> c->maxphy) != 0;
}

static bool usable(const struct check *c, enum guest_seg s)
{
    return !(c->s[s].ar & AR_UNUSABLE);
}

static bool injecting(const struct check *c, unsigned type)
{
    return (c->intr & INTR_VALID) && INTR_TYPE(c->intr) == type;
}

// ---------------------------------------------------------------------------
// 27.2.1: VMX controls

// The allowed-0 and allowed-1 settings, SDM 3D A.3-A.5: each capability MSR's
// low half has a 1 for every control that must be 1, its high half a 0 for
// every control that must be 0. caps_read() took the TRUE_ MSRs where
// IA32_VMX_BASIC[55] offers them (they allow more default-1 bits to be 0).
static const struct {
    uint32_t field;
    const char *msr, *true_msr;
} ctl_info[CTL_KINDS] = {
    [CTL_PIN] = { PIN_BASED_VM_EXEC_CONTROL, "IA32_VMX_PINBASED_CTLS",
                  "IA32_VMX_TRUE_PINBASED_CTLS" },
    [CTL_PROC] = { CPU_BASED_VM_EXEC_CONTROL, "IA32_VMX_PROCBASED_CTLS",
                   "IA32_VMX_TRUE_PROCBASED_CTLS" },
    [CTL_PROC2] = { SECONDARY_VM_EXEC_CONTROL, "IA32_VMX_PROCBASED_CTLS2",
                    "IA32_VMX_PROCBASED_CTLS2" },
    [CTL_EXIT] = { VM_EXIT_CONTROLS, "IA32_VMX_EXIT_CTLS", "IA32_VMX_TRUE_EXIT_CTLS" },
    [CTL_ENTRY] = { VM_ENTRY_CONTROLS, "IA32_VMX_ENTRY_CTLS", "IA32_VMX_TRUE_ENTRY_CTLS" },
};

static void ctl_settings(struct check *c, enum ctl_kind k, bool ones)
{
    const struct caps_raw *r = &c->caps->raw;
    const uint64_t caps[CTL_KINDS] = { r->pinbased, r->procbased, r->procbased2, r->exit,
                                       r->entry };
    const uint32_t vals[CTL_KINDS] = { c->pin, c->proc, c->proc2, c->exit, c->entry };
    if (k == CTL_PROC2 && !(c->proc & CTL_PROC_SECONDARY_CONTROLS))
        return; // the field is ignored: no secondary controls at all
    uint32_t v = vals[k], allowed0 = (uint32_t)caps[k], allowed1 = (uint32_t)(caps[k] >> 32);
    uint32_t bad = ones ? v & ~allowed1 : allowed0 & ~v;
    const char *msr = c->caps->true_ctls ? ctl_info[k].true_msr : ctl_info[k].msr;
    if (!bad)
        return;
    unsigned bit = (unsigned)__builtin_ctz(bad);
    if (ones)
        fail(c, ctl_info[k].field, "bit %u (%s) is 1, which %s does not allow (control "
             "0x%x, allowed-1 settings 0x%x)", bit, ctl_bit_name(k, bit), msr, v, allowed1);
    else
        fail(c, ctl_info[k].field, "bit %u (%s) is 0, which %s does not allow (control "
             "0x%x, allowed-0 settings 0x%x)", bit, ctl_bit_name(k, bit), msr, v, allowed0);
}

static void ctl_pin_allowed0(struct check *c) { ctl_settings(c, CTL_PIN, false); }
static void ctl_pin_allowed1(struct check *c) { ctl_settings(c, CTL_PIN, true); }
static void ctl_proc_allowed0(struct check *c) { ctl_settings(c, CTL_PROC, false); }
static void ctl_proc_allowed1(struct check *c) { ctl_settings(c, CTL_PROC, true); }
static void ctl_proc2_allowed0(struct check *c) { ctl_settings(c, CTL_PROC2, false); }
static void ctl_proc2_allowed1(struct check *c) { ctl_settings(c, CTL_PROC2, true); }
static void ctl_exit_allowed0(struct check *c) { ctl_settings(c, CTL_EXIT, false); }
static void ctl_exit_allowed1(struct check *c) { ctl_settings(c, CTL_EXIT, true); }
static void ctl_entry_allowed0(struct check *c) { ctl_settings(c, CTL_ENTRY, false); }
static void ctl_entry_allowed1(struct check *c) { ctl_settings(c, CTL_ENTRY, true); }

static void ctl_cr3_target_count(struct check *c)
{
    uint64_t n = rd(c, CR3_TARGET_COUNT), max = (c->caps->raw.misc >> 16) & 0x1ff;
    if (n > max)
        fail(c, CR3_TARGET_COUNT, "%lu CR3 targets; IA32_VMX_MISC[24:16] allows %lu", n, max);
}

// A 4-KiB page the CPU will read: bits 11:0 zero, nothing beyond the
// physical-address width.
static bool page_addr(struct check *c, uint32_t field, const char *what)
{
    uint64_t pa = rd(c, field);
    if (pa & 0xfff)
        fail(c, field, "the %s at 0x%lx is not 4-KiB aligned", what, pa);
    else if (beyond_phys(c, pa))
        fail(c, field, "the %s at 0x%lx is beyond the %u-bit physical-address width", what, pa,
             c->maxphy);
    else
        return true;
    return false;
}

static void ctl_io_bitmaps(struct check *c)
{
    if (c->proc & CTL_PROC_IO_BITMAPS) {
        page_addr(c, IO_BITMAP_A, "I/O bitmap A");
        page_addr(c, IO_BITMAP_B, "I/O bitmap B");
    }
}

static void ctl_msr_bitmap(struct check *c)
{
    if (c->proc & CTL_PROC_MSR_BITMAPS)
        page_addr(c, MSR_BITMAP, "MSR bitmap");
}

static void ctl_tpr_shadow_addr(struct check *c)
{
    if (c->proc & CTL_PROC_TPR_SHADOW)
        page_addr(c, VIRTUAL_APIC_PAGE_ADDR, "virtual-APIC page");
}

static bool tpr_threshold_checked(const struct check *c)
{
    return (c->proc & CTL_PROC_TPR_SHADOW) && !(c->proc2 & CTL_PROC2_VIRT_INTR_DELIVERY);
}

static void ctl_tpr_threshold(struct check *c)
{
    uint64_t t = rd(c, TPR_THRESHOLD);
    if (tpr_threshold_checked(c) && (t & ~0xfull))
        fail(c, TPR_THRESHOLD, "TPR threshold 0x%lx has bits 31:4 set", t);
}

// The virtual TPR is byte 0x80 of the virtual-APIC page (SDM 3C 30.1.1).
static void ctl_tpr_threshold_vtpr(struct check *c)
{
    if (!tpr_threshold_checked(c) || (c->proc2 & CTL_PROC2_VIRT_APIC_ACCESSES))
        return;
    uint64_t page = rd(c, VIRTUAL_APIC_PAGE_ADDR), t = rd(c, TPR_THRESHOLD) & 0xf;
    uint8_t vtpr;
    if ((page & 0xfff) || beyond_phys(c, page) || !c->env->read_phys ||
        c->env->read_phys(c->env->phys_ctx, page + 0x80, &vtpr, 1))
        return; // a bad address is ctl-tpr-shadow-addr's; unreadable memory: cannot judge
    if (t > (unsigned)(vtpr >> 4))
        fail(c, TPR_THRESHOLD, "TPR threshold %lu is above VTPR[7:4] = %u (the virtual-APIC "
             "page's byte 0x80 is 0x%x)", t, vtpr >> 4, vtpr);
}

static void ctl_no_tpr_shadow(struct check *c)
{
    uint32_t need = CTL_PROC2_VIRT_X2APIC | CTL_PROC2_APIC_REGISTER_VIRT |
                    CTL_PROC2_VIRT_INTR_DELIVERY;
    if (!(c->proc & CTL_PROC_TPR_SHADOW) && (c->proc2 & need))
        fail(c, SECONDARY_VM_EXEC_CONTROL, "secondary controls 0x%x virtualize the x2APIC, "
             "APIC registers or interrupt delivery without \"use TPR shadow\"", c->proc2);
}

static void ctl_virtual_nmis(struct check *c)
{
    if (!(c->pin & CTL_PIN_NMI_EXITING) && (c->pin & CTL_PIN_VIRTUAL_NMIS))
        fail(c, PIN_BASED_VM_EXEC_CONTROL, "\"virtual NMIs\" is 1 but \"NMI exiting\" is 0 "
             "(pin-based controls 0x%x)", c->pin);
}

static void ctl_nmi_window(struct check *c)
{
    if (!(c->pin & CTL_PIN_VIRTUAL_NMIS) && (c->proc & CTL_PROC_NMI_WINDOW_EXITING))
        fail(c, CPU_BASED_VM_EXEC_CONTROL, "\"NMI-window exiting\" is 1 but \"virtual NMIs\" "
             "is 0 (pin-based 0x%x, primary 0x%x)", c->pin, c->proc);
}

static void ctl_apic_access_addr(struct check *c)
{
    if (c->proc2 & CTL_PROC2_VIRT_APIC_ACCESSES)
        page_addr(c, APIC_ACCESS_ADDR, "APIC-access page");
}

static void ctl_x2apic_apic_access(struct check *c)
{
    uint32_t both = CTL_PROC2_VIRT_X2APIC | CTL_PROC2_VIRT_APIC_ACCESSES;
    if ((c->proc2 & both) == both)
        fail(c, SECONDARY_VM_EXEC_CONTROL, "\"virtualize x2APIC mode\" and \"virtualize APIC "
             "accesses\" are both 1 (secondary controls 0x%x)", c->proc2);
}

static void ctl_vid_extint(struct check *c)
{
    if ((c->proc2 & CTL_PROC2_VIRT_INTR_DELIVERY) && !(c->pin & CTL_PIN_EXTINT_EXITING))
        fail(c, PIN_BASED_VM_EXEC_CONTROL, "\"virtual-interrupt delivery\" is 1 but "
             "\"external-interrupt exiting\" is 0 (pin-based controls 0x%x)", c->pin);
}

static void ctl_posted_interrupts(struct check *c)
{
    if ((c->pin & CTL_PIN_POSTED_INTERRUPTS) &&
        (!(c->proc2 & CTL_PROC2_VIRT_INTR_DELIVERY) || !(c->exit & CTL_EXIT_ACK_INTR_ON_EXIT)))
        fail(c, PIN_BASED_VM_EXEC_CONTROL, "\"process posted interrupts\" needs "
             "\"virtual-interrupt delivery\" and \"acknowledge interrupt on exit\" (secondary "
             "0x%x, exit 0x%x)", c->proc2, c->exit);
}

static void ctl_vpid(struct check *c)
{
    if ((c->proc2 & CTL_PROC2_VPID) && rd(c, VIRTUAL_PROCESSOR_ID) == 0)
        fail(c, VIRTUAL_PROCESSOR_ID, "VPID 0 belongs to the host; \"enable VPID\" is 1");
}

// The EPT pointer, SDM 3C 25.6.11, against IA32_VMX_EPT_VPID_CAP (SDM 3D A.10).
static uint64_t eptp(struct check *c)
{
    return c->ept ? rd(c, EPT_POINTER) : 0;
}

static void ctl_eptp_memtype(struct check *c)
{
    uint64_t p = eptp(c), cap = c->caps->raw.ept_vpid;
    unsigned t = p & 7;
    if (c->ept && !((t == 0 && (cap & BIT(8))) || (t == 6 && (cap & BIT(14)))))
        fail(c, EPT_POINTER, "EPTP 0x%lx: memory type %u is not one IA32_VMX_EPT_VPID_CAP "
             "0x%lx allows (0 UC if bit 8, 6 WB if bit 14)", p, t, cap);
}

static void ctl_eptp_walk(struct check *c)
{
    uint64_t p = eptp(c), cap = c->caps->raw.ept_vpid;
    unsigned w = ((p >> 3) & 7) + 1;
    if (c->ept && !((w == 4 && (cap & BIT(6))) || (w == 5 && (cap & BIT(7)))))
        fail(c, EPT_POINTER, "EPTP 0x%lx: a %u-level walk is not one IA32_VMX_EPT_VPID_CAP "
             "0x%lx allows (4 if bit 6, 5 if bit 7)", p, w, cap);
}

static void ctl_eptp_ad(struct check *c)
{
    uint64_t p = eptp(c);
    if ((p & BIT(6)) && !c->caps->ept_ad)
        fail(c, EPT_POINTER, "EPTP 0x%lx enables accessed/dirty flags, which this CPU lacks "
             "(IA32_VMX_EPT_VPID_CAP[21] is 0)", p);
}

// Bits 11:8 are reserved; bit 7 (supervisor shadow-stack control) exists only
// with CET shadow stacks, CPUID.(EAX=7,ECX=0):ECX[7].
static void ctl_eptp_reserved(struct check *c)
{
    uint64_t p = eptp(c), rsvd = 0xf00 | ((c->caps->raw.cpuid7[2] & BIT(7)) ? 0 : BIT(7));
    if (p & rsvd)
        fail(c, EPT_POINTER, "EPTP 0x%lx sets reserved bits 0x%lx", p, p & rsvd);
}

static void ctl_eptp_address(struct check *c)
{
    uint64_t p = eptp(c);
    if (beyond_phys(c, p))
        fail(c, EPT_POINTER, "EPTP 0x%lx reaches beyond the %u-bit physical-address width",
             p, c->maxphy);
}

static void ctl_ug_ept(struct check *c)
{
    if ((c->proc2 & CTL_PROC2_UNRESTRICTED_GUEST) && !c->ept)
        fail(c, SECONDARY_VM_EXEC_CONTROL, "\"unrestricted guest\" is 1 but \"enable EPT\" "
             "is 0 (secondary controls 0x%x)", c->proc2);
}

static void ctl_pml_ept(struct check *c)
{
    if ((c->proc2 & CTL_PROC2_PML) && !c->ept)
        fail(c, SECONDARY_VM_EXEC_CONTROL, "\"enable PML\" is 1 but \"enable EPT\" is 0 "
             "(secondary controls 0x%x)", c->proc2);
}

static void ctl_mbec_ept(struct check *c)
{
    if ((c->proc2 & CTL_PROC2_MODE_BASED_EPT_EXEC) && !c->ept)
        fail(c, SECONDARY_VM_EXEC_CONTROL, "\"mode-based execute control for EPT\" is 1 but "
             "\"enable EPT\" is 0 (secondary controls 0x%x)", c->proc2);
}

// 27.2.1.2: VM-exit controls
static void ctl_preemption_save(struct check *c)
{
    if ((c->exit & CTL_EXIT_SAVE_PREEMPTION_TIMER) && !(c->pin & CTL_PIN_PREEMPTION_TIMER))
        fail(c, VM_EXIT_CONTROLS, "\"save VMX-preemption timer value\" is 1 but \"activate "
             "VMX-preemption timer\" is 0 (exit 0x%x, pin-based 0x%x)", c->exit, c->pin);
}

// An MSR area of n 16-byte entries: 16-byte aligned, inside the physical-
// address width to its last byte (SDM 3C 27.2.1.2, 27.2.1.3).
static void msr_area(struct check *c, uint32_t count_field, uint32_t addr_field)
{
    uint64_t n = rd(c, count_field), pa;
    if (!n)
        return;
    pa = rd(c, addr_field);
    if (pa & 0xf)
        fail(c, addr_field, "%lu MSR entries at 0x%lx: not 16-byte aligned", n, pa);
    else if (beyond_phys(c, pa) || beyond_phys(c, pa + n * 16 - 1))
        fail(c, addr_field, "%lu MSR entries at 0x%lx end beyond the %u-bit physical-address "
             "width", n, pa, c->maxphy);
}

static void ctl_exit_msr_store(struct check *c)
{
    msr_area(c, VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_STORE_ADDR);
}

static void ctl_exit_msr_load(struct check *c)
{
    msr_area(c, VM_EXIT_MSR_LOAD_COUNT, VM_EXIT_MSR_LOAD_ADDR);
}

// 27.2.1.3: VM-entry controls
static void ctl_entry_msr_load(struct check *c)
{
    msr_area(c, VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_MSR_LOAD_ADDR);
}

// vmxlab never runs in SMM, where alone these two may be 1.
static void ctl_entry_smm(struct check *c)
{
    uint32_t smm = CTL_ENTRY_ENTRY_TO_SMM | CTL_ENTRY_DEACTIVATE_DUAL_MONITOR;
    if (c->entry & smm)
        fail(c, VM_ENTRY_CONTROLS, "\"entry to SMM\" or \"deactivate dual-monitor treatment\" "
             "is 1 outside SMM (entry controls 0x%x)", c->entry);
}

// Event injection, the VM-entry interruption-information field (25.8.3).
static void ctl_entry_intr_reserved(struct check *c)
{
    if ((c->intr & INTR_VALID) && (c->intr & 0x7ffff000))
        fail(c, VM_ENTRY_INTR_INFO, "interruption information 0x%x sets reserved bits 30:12",
             c->intr);
}

static void ctl_entry_intr_type(struct check *c)
{
    unsigned t = INTR_TYPE(c->intr);
    bool mtf = (c->caps->raw.procbased >> 32) & CTL_PROC_MONITOR_TRAP_FLAG;
    if ((c->intr & INTR_VALID) && (t == 1 || (t == T_OTHER && !mtf)))
        fail(c, VM_ENTRY_INTR_INFO, "interruption information 0x%x: type %u is %s", c->intr,
             t, t == 1 ? "reserved" : "\"other event\", which needs the monitor trap flag");
}

static void ctl_entry_intr_vector(struct check *c)
{
    unsigned t = INTR_TYPE(c->intr), v = INTR_VECTOR(c->intr);
    if (!(c->intr & INTR_VALID))
        return;
    if ((t == T_NMI && v != 2) || (t == T_HW_EXC && v > 31) || (t == T_OTHER && v != 0))
        fail(c, VM_ENTRY_INTR_INFO, "interruption information 0x%x: vector %u does not go "
             "with type %u (NMI: 2; hardware exception: 0-31; other event: 0)", c->intr, v, t);
}

// Which exceptions push an error code (SDM 3A 6.15); #CP (21) only with CET.
static bool pushes_error_code(const struct check *c, unsigned v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17 ||
           (v == 21 && (c->caps->raw.cpuid7[2] & BIT(7)));
}

// The deliver-error-code bit: must be 0 unless a hardware exception enters a
// guest with CR0.PE = 1; with IA32_VMX_BASIC[56] = 0 it must also match
// whether the vector pushes one.
static void ctl_entry_intr_error_code(struct check *c)
{
    unsigned t = INTR_TYPE(c->intr), v = INTR_VECTOR(c->intr);
    bool given = c->intr & INTR_DELIVER_CODE, strict = !(c->caps->raw.basic & BIT(56));
    if (!(c->intr & INTR_VALID))
        return;
    bool may = t == T_HW_EXC && c->pe;
    if ((given && !may) || (strict && may && given != pushes_error_code(c, v)))
        fail(c, VM_ENTRY_INTR_INFO, "interruption information 0x%x: vector %u type %u %s an "
             "error code, which it %s", c->intr, v, t, given ? "delivers" : "does not deliver",
             given ? "does not push" : "pushes");
}

static void ctl_entry_intr_error_value(struct check *c)
{
    uint64_t e = rd(c, VM_ENTRY_EXCEPTION_ERROR_CODE);
    if ((c->intr & INTR_VALID) && (c->intr & INTR_DELIVER_CODE) && (e & 0xffff0000))
        fail(c, VM_ENTRY_EXCEPTION_ERROR_CODE, "error code 0x%lx has bits 31:16 set", e);
}

// Software interrupts and exceptions need the instruction's length, 1-15
// (0 where IA32_VMX_MISC[30] allows it).
static void ctl_entry_intr_length(struct check *c)
{
    unsigned t = INTR_TYPE(c->intr);
    if (!(c->intr & INTR_VALID) || (t != T_SW_INT && t != T_PRIV_SW_EXC && t != T_SW_EXC))
        return;
    uint64_t len = rd(c, VM_ENTRY_INSTRUCTION_LEN);
    if (len > 15 || (len == 0 && !(c->caps->raw.misc & BIT(30))))
        fail(c, VM_ENTRY_INSTRUCTION_LEN, "instruction length %lu for a software event of "
             "type %u (1-15%s)", len, t, c->caps->raw.misc & BIT(30) ? ", or 0" : "");
}

// ---------------------------------------------------------------------------
// 27.2.2-27.2.4: host state

// The fixed-bit rule, SDM 3D A.7/A.8: a 1 in FIXED0 must be 1, a 0 in FIXED1 must be 0.
static void fixed_bits(struct check *c, uint32_t field, uint64_t v, uint64_t fixed0,
                       uint64_t fixed1, const char *reg, uint64_t unchecked)
{
    uint64_t clear = fixed0 & ~v & ~unchecked, set = v & ~fixed1 & ~unchecked;
    if (clear)
        fail(c, field, "bit %u of %s 0x%lx is 0; IA32_VMX_%s_FIXED0 0x%lx requires 1",
             __builtin_ctzll(clear), reg, v, reg, fixed0);
    else if (set)
        fail(c, field, "bit %u of %s 0x%lx is 1; IA32_VMX_%s_FIXED1 0x%lx requires 0",
             __builtin_ctzll(set), reg, v, reg, fixed1);
}

static void host_cr0_fixed(struct check *c)
{
    fixed_bits(c, HOST_CR0, rd(c, HOST_CR0), c->caps->raw.cr0_fixed0, c->caps->raw.cr0_fixed1,
               "CR0", 0);
}

static void host_cr4_fixed(struct check *c)
{
    fixed_bits(c, HOST_CR4, rd(c, HOST_CR4), c->caps->raw.cr4_fixed0, c->caps->raw.cr4_fixed1,
               "CR4", 0);
}

static void host_cr3(struct check *c)
{
    uint64_t v = rd(c, HOST_CR3);
    if (beyond_phys(c, v))
        fail(c, HOST_CR3, "CR3 0x%lx sets bits beyond the %u-bit physical-address width", v,
             c->maxphy);
}

static void host_cet_wp(struct check *c)
{
    uint64_t cr4 = rd(c, HOST_CR4), cr0 = rd(c, HOST_CR0);
    if ((cr4 & CR4_CET) && !(cr0 & CR0_WP))
        fail(c, HOST_CR4, "CR4.CET is 1 but CR0.WP is 0 (CR0 0x%lx, CR4 0x%lx)", cr0, cr4);
}

static void canonical_field(struct check *c, uint32_t field)
{
    uint64_t v = rd(c, field);
    if (!canonical(c, v))
        fail(c, field, "0x%lx is not canonical (%u-bit linear addresses)", v, c->linear);
}

static void host_sysenter(struct check *c)
{
    canonical_field(c, HOST_IA32_SYSENTER_ESP);
    canonical_field(c, HOST_IA32_SYSENTER_EIP);
}

// IA32_PAT: eight memory types, each 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB)
// or 7 (UC-); 2, 3 and 8-255 are reserved (SDM 3A 12.12.2).
static void pat_check(struct check *c, uint32_t field)
{
    uint64_t v = rd(c, field);
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (v >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7) {
            fail(c, field, "PAT 0x%lx: entry %u holds memory type %u, which is reserved", v,
                 i, t);
            return;
        }
    }
}

static void host_pat(struct check *c)
{
    if (c->exit & CTL_EXIT_LOAD_PAT)
        pat_check(c, HOST_IA32_PAT);
}

// IA32_EFER's defined bits on Intel: SCE, LME, LMA, and NXE where CPUID says
// there is NX (SDM 4, IA32_EFER); the rest are reserved.
static void efer_reserved(struct check *c, uint32_t field)
{
    uint64_t v = rd(c, field), ok = EFER_SCE | EFER_LME | EFER_LMA | (c->caps->nx ? EFER_NXE : 0);
    if (v & ~ok)
        fail(c, field, "IA32_EFER 0x%lx sets reserved bits 0x%lx", v, v & ~ok);
}

static void host_efer_reserved(struct check *c)
{
    if (c->exit & CTL_EXIT_LOAD_EFER)
        efer_reserved(c, HOST_IA32_EFER);
}

static void host_efer_lma(struct check *c)
{
    bool as = c->exit & CTL_EXIT_HOST_ADDR_SPACE_SIZE;
    uint64_t v = rd(c, HOST_IA32_EFER);
    if ((c->exit & CTL_EXIT_LOAD_EFER) && (!!(v & EFER_LMA) != as || !!(v & EFER_LME) != as))
        fail(c, HOST_IA32_EFER, "IA32_EFER 0x%lx: LMA and LME must both be %u, the host "
             "address-space size", v, as);
}

static const struct {
    const char *name;
    uint32_t sel;
} host_sels[] = {
    { "ES", HOST_ES_SELECTOR }, { "CS", HOST_CS_SELECTOR }, { "SS", HOST_SS_SELECTOR },
    { "DS", HOST_DS_SELECTOR }, { "FS", HOST_FS_SELECTOR }, { "GS", HOST_GS_SELECTOR },
    { "TR", HOST_TR_SELECTOR },
};

static void host_sel_ti_rpl(struct check *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(host_sels); i++) {
        uint64_t v = rd(c, host_sels[i].sel);
        if (v & 7)
            fail(c, host_sels[i].sel, "host %s selector 0x%lx has TI or RPL set",
                 host_sels[i].name, v);
    }
}

static void host_cs(struct check *c)
{
    if (rd(c, HOST_CS_SELECTOR) == 0)
        fail(c, HOST_CS_SELECTOR, "the host CS selector is 0");
}

static void host_tr(struct check *c)
{
    if (rd(c, HOST_TR_SELECTOR) == 0)
        fail(c, HOST_TR_SELECTOR, "the host TR selector is 0");
}

static void host_ss(struct check *c)
{
    if (!(c->exit & CTL_EXIT_HOST_ADDR_SPACE_SIZE) && rd(c, HOST_SS_SELECTOR) == 0)
        fail(c, HOST_SS_SELECTOR, "the host SS selector is 0 with a 32-bit host (\"host "
             "address-space size\" 0)");
}

static void host_base_canonical(struct check *c)
{
    static const uint32_t bases[] = { HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE,
                                      HOST_IDTR_BASE, HOST_TR_BASE };
    for (size_t i = 0; i < ARRAY_SIZE(bases); i++)
        canonical_field(c, bases[i]);
}

// 27.2.4: in IA-32e mode the host must be 64-bit; outside it neither the
// host nor the guest can be.
static void host_addr_space(struct check *c)
{
    bool as = c->exit & CTL_EXIT_HOST_ADDR_SPACE_SIZE;
    if (c->env->host_ia32e && !as)
        fail(c, VM_EXIT_CONTROLS, "the processor is in IA-32e mode but \"host address-space "
             "size\" is 0 (exit controls 0x%x)", c->exit);
    if (!c->env->host_ia32e && (as || c->ia32e))
        fail(c, VM_EXIT_CONTROLS, "the processor is outside IA-32e mode but \"host "
             "address-space size\" or \"IA-32e mode guest\" is 1 (exit 0x%x, entry 0x%x)",
             c->exit, c->entry);
}

static void host_as_pae(struct check *c)
{
    uint64_t cr4 = rd(c, HOST_CR4);
    if ((c->exit & CTL_EXIT_HOST_ADDR_SPACE_SIZE) && !(cr4 & CR4_PAE))
        fail(c, HOST_CR4, "CR4 0x%lx: PAE is 0 with a 64-bit host", cr4);
}

static void host_as_pcide(struct check *c)
{
    uint64_t cr4 = rd(c, HOST_CR4);
    if (!(c->exit & CTL_EXIT_HOST_ADDR_SPACE_SIZE) && (cr4 & CR4_PCIDE))
        fail(c, HOST_CR4, "CR4 0x%lx: PCIDE is 1 with a 32-bit host", cr4);
}

static void host_rip(struct check *c)
{
    uint64_t rip = rd(c, HOST_RIP);
    if (c->exit & CTL_EXIT_HOST_ADDR_SPACE_SIZE) {
        if (!canonical(c, rip))
            fail(c, HOST_RIP, "RIP 0x%lx is not canonical (%u-bit linear addresses)", rip,
                 c->linear);
    } else if (rip >> 32) {
        fail(c, HOST_RIP, "RIP 0x%lx has bits 63:32 set with a 32-bit host", rip);
    }
}

// ---------------------------------------------------------------------------
// 27.3.1.1: guest control registers, debug registers and MSRs

// CR0.NW and CD are never checked (VM entry leaves them); PE and PG are free
// under "unrestricted guest".
static void guest_cr0_fixed(struct check *c)
{
    uint64_t free = CR0_NW | CR0_CD | (c->ug ? CR0_PE | CR0_PG : 0);
    fixed_bits(c, GUEST_CR0, c->cr0, c->caps->raw.cr0_fixed0, c->caps->raw.cr0_fixed1, "CR0",
               free);
}

static void guest_cr0_pg_pe(struct check *c)
{
    if (c->ug && c->pg && !c->pe)
        fail(c, GUEST_CR0, "CR0 0x%lx: PG is 1 and PE is 0", c->cr0);
}

static void guest_cr4_fixed(struct check *c)
{
    fixed_bits(c, GUEST_CR4, c->cr4, c->caps->raw.cr4_fixed0, c->caps->raw.cr4_fixed1, "CR4",
               0);
}

static void guest_cet_wp(struct check *c)
{
    if ((c->cr4 & CR4_CET) && !(c->cr0 & CR0_WP))
        fail(c, GUEST_CR4, "CR4.CET is 1 but CR0.WP is 0 (CR0 0x%lx, CR4 0x%lx)", c->cr0,
             c->cr4);
}

// IA32_DEBUGCTL: bits 5:2 and 63:16 are reserved (SDM 3B 18.4.1, IA32_DEBUGCTL MSR).
static void guest_debugctl(struct check *c)
{
    uint64_t v = rd(c, GUEST_IA32_DEBUGCTL), rsvd = 0x3c | ~(uint64_t)0xffff;
    if ((c->entry & CTL_ENTRY_LOAD_DEBUG_CONTROLS) && (v & rsvd))
        fail(c, GUEST_IA32_DEBUGCTL, "IA32_DEBUGCTL 0x%lx sets reserved bits 0x%lx", v,
             v & rsvd);
}

static void guest_ia32e_pg(struct check *c)
{
    if (c->ia32e && !c->pg)
        fail(c, GUEST_CR0, "CR0 0x%lx: PG is 0 in an IA-32e mode guest", c->cr0);
}

static void guest_ia32e_pae(struct check *c)
{
    if (c->ia32e && !(c->cr4 & CR4_PAE))
        fail(c, GUEST_CR4, "CR4 0x%lx: PAE is 0 in an IA-32e mode guest", c->cr4);
}

static void guest_pcide(struct check *c)
{
    if (!c->ia32e && (c->cr4 & CR4_PCIDE))
        fail(c, GUEST_CR4, "CR4 0x%lx: PCIDE is 1 outside IA-32e mode", c->cr4);
}

static void guest_cr3_width_ok(struct check *c)
{
    uint64_t v = rd(c, GUEST_CR3);
    if (beyond_phys(c, v))
        fail(c, GUEST_CR3, "CR3 0x%lx sets bits beyond the %u-bit physical-address width", v,
             c->maxphy);
}

static void guest_dr7(struct check *c)
{
    uint64_t v = rd(c, GUEST_DR7);
    if ((c->entry & CTL_ENTRY_LOAD_DEBUG_CONTROLS) && (v >> 32))
        fail(c, GUEST_DR7, "DR7 0x%lx has bits 63:32 set", v);
}

static void guest_sysenter(struct check *c)
{
    canonical_field(c, GUEST_SYSENTER_ESP);
    canonical_field(c, GUEST_SYSENTER_EIP);
}

static void guest_pat(struct check *c)
{
    if (c->entry & CTL_ENTRY_LOAD_PAT)
        pat_check(c, GUEST_IA32_PAT);
}

static void guest_efer_reserved(struct check *c)
{
    if (c->entry & CTL_ENTRY_LOAD_EFER)
        efer_reserved(c, GUEST_IA32_EFER);
}

static void guest_efer_lma(struct check *c)
{
    uint64_t v = rd(c, GUEST_IA32_EFER);
    if ((c->entry & CTL_ENTRY_LOAD_EFER) && !!(v & EFER_LMA) != c->ia32e)
        fail(c, GUEST_IA32_EFER, "IA32_EFER 0x%lx: LMA must be %u, the \"IA-32e mode guest\" "
             "control", v, c->ia32e);
}

static void guest_efer_lme(struct check *c)
{
    uint64_t v = rd(c, GUEST_IA32_EFER);
    if ((c->entry & CTL_ENTRY_LOAD_EFER) && c->pg && !!(v & EFER_LMA) != !!(v & EFER_LME))
        fail(c, GUEST_IA32_EFER, "IA32_EFER 0x%lx: LME differs from LMA while CR0.PG is 1", v);
}

// ---------------------------------------------------------------------------
// 27.3.1.2: guest segment registers. A "virtual-8086 guest" has RFLAGS.VM = 1;
// VM entry only gets that far with CR0.PE = 1 and outside IA-32e mode, so the
// virtual-8086 rules are left to guest-rflags-vm otherwise.

static void guest_tr_ti(struct check *c)
{
    if (c->s[SEG_TR].sel & 4)
        fail(c, GUEST_TR_SELECTOR, "TR selector 0x%x has TI set", c->s[SEG_TR].sel);
}

static void guest_ldtr_ti(struct check *c)
{
    if (usable(c, SEG_LDTR) && (c->s[SEG_LDTR].sel & 4))
        fail(c, GUEST_LDTR_SELECTOR, "LDTR selector 0x%x has TI set", c->s[SEG_LDTR].sel);
}

static void guest_ss_rpl(struct check *c)
{
    if (!c->v86 && !c->ug && (c->s[SEG_SS].sel & 3) != (c->s[SEG_CS].sel & 3))
        fail(c, GUEST_SS_SELECTOR, "SS.RPL %u differs from CS.RPL %u (SS 0x%x, CS 0x%x)",
             c->s[SEG_SS].sel & 3, c->s[SEG_CS].sel & 3, c->s[SEG_SS].sel, c->s[SEG_CS].sel);
}

static const enum guest_seg v86_segs[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

static void guest_v86_base(struct check *c)
{
    for (size_t i = 0; c->v86 && i < ARRAY_SIZE(v86_segs); i++) {
        const struct seg *s = &c->s[v86_segs[i]];
        if (s->base != (uint64_t)s->sel << 4)
            fail(c, guest_segs[v86_segs[i]].base, "virtual-8086 %s base 0x%lx is not its "
                 "selector 0x%x times 16", guest_segs[v86_segs[i]].name, s->base, s->sel);
    }
}

static void guest_v86_limit(struct check *c)
{
    for (size_t i = 0; c->v86 && i < ARRAY_SIZE(v86_segs); i++)
        if (c->s[v86_segs[i]].limit != 0xffff)
            fail(c, guest_segs[v86_segs[i]].limit, "virtual-8086 %s limit 0x%x is not 0xffff",
                 guest_segs[v86_segs[i]].name, c->s[v86_segs[i]].limit);
}

static void guest_v86_ar(struct check *c)
{
    for (size_t i = 0; c->v86 && i < ARRAY_SIZE(v86_segs); i++)
        if (c->s[v86_segs[i]].ar != 0xf3)
            fail(c, guest_segs[v86_segs[i]].ar, "virtual-8086 %s access rights 0x%x are not "
                 "0xf3", guest_segs[v86_segs[i]].name, c->s[v86_segs[i]].ar);
}

static void guest_base_canonical(struct check *c)
{
    static const enum guest_seg segs[] = { SEG_TR, SEG_FS, SEG_GS, SEG_LDTR };
    for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
        enum guest_seg s = segs[i];
        if ((s != SEG_LDTR || usable(c, s)) && !canonical(c, c->s[s].base))
            fail(c, guest_segs[s].base, "%s base 0x%lx is not canonical (%u-bit linear "
                 "addresses)", guest_segs[s].name, c->s[s].base, c->linear);
    }
}

static void guest_base_high(struct check *c)
{
    static const enum guest_seg segs[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES };
    for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
        enum guest_seg s = segs[i];
        if ((s == SEG_CS || usable(c, s)) && c->s[s].base >> 32)
            fail(c, guest_segs[s].base, "%s base 0x%lx has bits 63:32 set",
                 guest_segs[s].name, c->s[s].base);
    }
}

// The access-rights rules below apply outside virtual-8086 mode, to CS and
// to each of SS, DS, ES, FS, GS that is usable.
static bool ar_checked(const struct check *c, enum guest_seg s)
{
    return !c->v86 && (s == SEG_CS || usable(c, s));
}

static void guest_cs_type(struct check *c)
{
    unsigned t = AR_TYPE(c->s[SEG_CS].ar);
    if (!c->v86 && t != 9 && t != 11 && t != 13 && t != 15 && !(c->ug && t == 3))
        fail(c, GUEST_CS_AR_BYTES, "CS type %u is not an accessed code segment (9, 11, 13, "
             "15%s; AR 0x%x)", t, c->ug ? ", or 3 with unrestricted guest" : "",
             c->s[SEG_CS].ar);
}

static void guest_ss_type(struct check *c)
{
    unsigned t = AR_TYPE(c->s[SEG_SS].ar);
    if (ar_checked(c, SEG_SS) && t != 3 && t != 7)
        fail(c, GUEST_SS_AR_BYTES, "SS type %u is not an accessed read/write data segment "
             "(3 or 7; AR 0x%x)", t, c->s[SEG_SS].ar);
}

static void guest_data_accessed(struct check *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(data_segs); i++) {
        enum guest_seg s = data_segs[i];
        if (ar_checked(c, s) && !(AR_TYPE(c->s[s].ar) & 1))
            fail(c, guest_segs[s].ar, "%s type %u is not accessed (AR 0x%x)",
                 guest_segs[s].name, AR_TYPE(c->s[s].ar), c->s[s].ar);
    }
}

static void guest_data_readable(struct check *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(data_segs); i++) {
        enum guest_seg s = data_segs[i];
        unsigned t = AR_TYPE(c->s[s].ar);
        if (ar_checked(c, s) && (t & 8) && !(t & 2))
            fail(c, guest_segs[s].ar, "%s type %u is an execute-only code segment (AR 0x%x)",
                 guest_segs[s].name, t, c->s[s].ar);
    }
}

static void guest_seg_s(struct check *c)
{
    static const enum guest_seg segs[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t i = 0; i < ARRAY_SIZE(segs); i++)
        if (ar_checked(c, segs[i]) && !(c->s[segs[i]].ar & AR_S))
            fail(c, guest_segs[segs[i]].ar, "%s is a system descriptor: S is 0 (AR 0x%x)",
                 guest_segs[segs[i]].name, c->s[segs[i]].ar);
}

static void guest_cs_dpl(struct check *c)
{
    unsigned t = AR_TYPE(c->s[SEG_CS].ar), dpl = AR_DPL(c->s[SEG_CS].ar);
    unsigned ss = AR_DPL(c->s[SEG_SS].ar);
    if (c->v86)
        return;
    if (t == 3 && c->ug && dpl != 0)
        fail(c, GUEST_CS_AR_BYTES, "CS type 3 needs DPL 0, not %u (AR 0x%x)", dpl,
             c->s[SEG_CS].ar);
    if ((t == 9 || t == 11) && dpl != ss)
        fail(c, GUEST_CS_AR_BYTES, "non-conforming CS: DPL %u differs from SS.DPL %u (CS AR "
             "0x%x, SS AR 0x%x)", dpl, ss, c->s[SEG_CS].ar, c->s[SEG_SS].ar);
    if ((t == 13 || t == 15) && dpl > ss)
        fail(c, GUEST_CS_AR_BYTES, "conforming CS: DPL %u is above SS.DPL %u (CS AR 0x%x, SS "
             "AR 0x%x)", dpl, ss, c->s[SEG_CS].ar, c->s[SEG_SS].ar);
}

// SS.DPL is the CPL, and is checked whether SS is usable or not.
static void guest_ss_dpl(struct check *c)
{
    unsigned dpl = AR_DPL(c->s[SEG_SS].ar), rpl = c->s[SEG_SS].sel & 3;
    if (!c->v86 && !c->ug && dpl != rpl)
        fail(c, GUEST_SS_AR_BYTES, "SS.DPL %u differs from SS.RPL %u (selector 0x%x, AR "
             "0x%x%s)", dpl, rpl, c->s[SEG_SS].sel, c->s[SEG_SS].ar,
             usable(c, SEG_SS) ? "" : ", unusable");
}

static void guest_ss_dpl_zero(struct check *c)
{
    unsigned dpl = AR_DPL(c->s[SEG_SS].ar);
    if (!c->v86 && (AR_TYPE(c->s[SEG_CS].ar) == 3 || !c->pe) && dpl != 0)
        fail(c, GUEST_SS_AR_BYTES, "SS.DPL is %u; it must be 0 with CS type 3 or CR0.PE 0 (SS "
             "AR 0x%x, CS AR 0x%x)", dpl, c->s[SEG_SS].ar, c->s[SEG_CS].ar);
}

static void guest_data_dpl(struct check *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(data_segs); i++) {
        enum guest_seg s = data_segs[i];
        unsigned dpl = AR_DPL(c->s[s].ar), rpl = c->s[s].sel & 3;
        if (ar_checked(c, s) && !c->ug && AR_TYPE(c->s[s].ar) <= 11 && dpl < rpl)
            fail(c, guest_segs[s].ar, "%s.DPL %u is below its RPL %u (selector 0x%x, AR 0x%x)",
                 guest_segs[s].name, dpl, rpl, c->s[s].sel, c->s[s].ar);
    }
}

// P, the reserved bits and the limit's granularity are checked for every
// segment register VM entry loads: CS and usable SS, DS, ES, FS, GS outside
// virtual-8086 mode; TR always; LDTR if usable.
static bool fully_checked(const struct check *c, enum guest_seg s)
{
    if (s == SEG_TR)
        return true;
    if (s == SEG_LDTR)
        return usable(c, s);
    return ar_checked(c, s);
}

static void guest_seg_p(struct check *c)
{
    for (enum guest_seg s = 0; s < SEGS; s++)
        if (fully_checked(c, s) && !(c->s[s].ar & AR_P))
            fail(c, guest_segs[s].ar, "%s is not present: P is 0 (AR 0x%x)", guest_segs[s].name,
                 c->s[s].ar);
}

static void guest_seg_reserved(struct check *c)
{
    for (enum guest_seg s = 0; s < SEGS; s++)
        if (fully_checked(c, s) && (c->s[s].ar & AR_RESERVED))
            fail(c, guest_segs[s].ar, "%s access rights 0x%x set reserved bits 0x%x",
                 guest_segs[s].name, c->s[s].ar, c->s[s].ar & AR_RESERVED);
}

static void guest_seg_limit_g(struct check *c)
{
    for (enum guest_seg s = 0; s < SEGS; s++) {
        uint32_t lim = c->s[s].limit, ar = c->s[s].ar;
        if (!fully_checked(c, s))
            continue;
        if ((ar & AR_G) && (lim & 0xfff) != 0xfff)
            fail(c, guest_segs[s].limit, "%s limit 0x%x: G is 1, so bits 11:0 must all be 1 "
                 "(AR 0x%x)", guest_segs[s].name, lim, ar);
        else if (!(ar & AR_G) && (lim >> 20))
            fail(c, guest_segs[s].limit, "%s limit 0x%x: G is 0, so bits 31:20 must be 0 "
                 "(AR 0x%x)", guest_segs[s].name, lim, ar);
    }
}

static void guest_cs_l_db(struct check *c)
{
    uint32_t ar = c->s[SEG_CS].ar;
    if (!c->v86 && c->ia32e && (ar & AR_L) && (ar & AR_DB))
        fail(c, GUEST_CS_AR_BYTES, "CS has both L and D/B set in an IA-32e mode guest (AR "
             "0x%x)", ar);
}

static void guest_tr_type(struct check *c)
{
    unsigned t = AR_TYPE(c->s[SEG_TR].ar);
    if (t != 11 && (c->ia32e || t != 3))
        fail(c, GUEST_TR_AR_BYTES, "TR type %u is not a busy %s (AR 0x%x)", t,
             c->ia32e ? "64-bit TSS (11)" : "TSS (3 or 11)", c->s[SEG_TR].ar);
}

static void guest_tr_s(struct check *c)
{
    if (c->s[SEG_TR].ar & AR_S)
        fail(c, GUEST_TR_AR_BYTES, "TR has S = 1: not a system descriptor (AR 0x%x)",
             c->s[SEG_TR].ar);
}

static void guest_tr_usable(struct check *c)
{
    if (!usable(c, SEG_TR))
        fail(c, GUEST_TR_AR_BYTES, "TR is marked unusable (AR 0x%x)", c->s[SEG_TR].ar);
}

static void guest_ldtr_type(struct check *c)
{
    if (usable(c, SEG_LDTR) && AR_TYPE(c->s[SEG_LDTR].ar) != 2)
        fail(c, GUEST_LDTR_AR_BYTES, "LDTR type %u is not an LDT (2; AR 0x%x)",
             AR_TYPE(c->s[SEG_LDTR].ar), c->s[SEG_LDTR].ar);
}

static void guest_ldtr_s(struct check *c)
{
    if (usable(c, SEG_LDTR) && (c->s[SEG_LDTR].ar & AR_S))
        fail(c, GUEST_LDTR_AR_BYTES, "LDTR has S = 1: not a system descriptor (AR 0x%x)",
             c->s[SEG_LDTR].ar);
}

// 27.3.1.3: GDTR and IDTR
static void guest_desc_base(struct check *c)
{
    canonical_field(c, GUEST_GDTR_BASE);
    canonical_field(c, GUEST_IDTR_BASE);
}

static void guest_desc_limit(struct check *c)
{
    static const uint32_t limits[] = { GUEST_GDTR_LIMIT, GUEST_IDTR_LIMIT };
    for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
        uint64_t v = rd(c, limits[i]);
        if (v >> 16)
            fail(c, limits[i], "limit 0x%lx has bits 31:16 set", v);
    }
}

// 27.3.1.4: RIP and RFLAGS
static void guest_rip_high(struct check *c)
{
    uint64_t rip = rd(c, GUEST_RIP);
    if ((!c->ia32e || !(c->s[SEG_CS].ar & AR_L)) && rip >> 32)
        fail(c, GUEST_RIP, "RIP 0x%lx has bits 63:32 set outside 64-bit mode", rip);
}

static void guest_rip_canonical(struct check *c)
{
    uint64_t rip = rd(c, GUEST_RIP);
    if (c->ia32e && (c->s[SEG_CS].ar & AR_L) && !canonical(c, rip))
        fail(c, GUEST_RIP, "RIP 0x%lx is not canonical in 64-bit mode (%u-bit linear "
             "addresses)", rip, c->linear);
}

static void guest_rflags_reserved(struct check *c)
{
    if (c->rflags & RFLAGS_RESERVED)
        fail(c, GUEST_RFLAGS, "RFLAGS 0x%lx sets reserved bits 0x%lx", c->rflags,
             c->rflags & RFLAGS_RESERVED);
}

static void guest_rflags_bit1(struct check *c)
{
    if (!(c->rflags & RFLAGS_FIXED))
        fail(c, GUEST_RFLAGS, "RFLAGS 0x%lx: bit 1 is 0", c->rflags);
}

static void guest_rflags_vm(struct check *c)
{
    if ((c->rflags & RFLAGS_VM) && (c->ia32e || !c->pe))
        fail(c, GUEST_RFLAGS, "RFLAGS 0x%lx: VM is 1 %s", c->rflags,
             c->ia32e ? "in an IA-32e mode guest" : "with CR0.PE 0");
}

static void guest_rflags_if(struct check *c)
{
    if (injecting(c, T_EXTINT) && !(c->rflags & RFLAGS_IF))
        fail(c, GUEST_RFLAGS, "RFLAGS 0x%lx: IF is 0 while an external interrupt is injected "
             "(interruption information 0x%x)", c->rflags, c->intr);
}

// ---------------------------------------------------------------------------
// 27.3.1.5: guest non-register state

// 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI; IA32_VMX_MISC[8:6] says
// which of the last three this CPU supports (SDM 3D A.6).
static void guest_activity(struct check *c)
{
    uint32_t a = c->activity;
    if (a > 3 || (a && !(c->caps->raw.misc & BIT(5 + a))))
        fail(c, GUEST_ACTIVITY_STATE, "activity state %u is not one this CPU supports "
             "(IA32_VMX_MISC 0x%lx, bits 8:6)", a, c->caps->raw.misc);
}

static void guest_activity_hlt_dpl(struct check *c)
{
    if (c->activity == ACT_HLT && AR_DPL(c->s[SEG_SS].ar) != 0)
        fail(c, GUEST_ACTIVITY_STATE, "HLT with SS.DPL %u: only CPL 0 can halt (SS AR 0x%x)",
             AR_DPL(c->s[SEG_SS].ar), c->s[SEG_SS].ar);
}

static void guest_activity_blocking(struct check *c)
{
    if (c->activity != ACT_ACTIVE && (c->interruptibility & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)))
        fail(c, GUEST_ACTIVITY_STATE, "activity state %u with blocking by STI or MOV SS "
             "(interruptibility 0x%x): only the active state may have it", c->activity,
             c->interruptibility);
}

// What may be injected into a guest that is not active: in HLT, external
// interrupts, NMIs, #DB, #MC and the pending MTF exit; in shutdown, NMIs and
// #MC; in wait-for-SIPI, nothing.
static void guest_activity_event(struct check *c)
{
    unsigned t = INTR_TYPE(c->intr), v = INTR_VECTOR(c->intr);
    bool ok = true;
    if (!(c->intr & INTR_VALID) || c->activity == ACT_ACTIVE)
        return;
    if (c->activity == ACT_HLT)
        ok = t == T_EXTINT || t == T_NMI || (t == T_HW_EXC && (v == 1 || v == 18)) ||
             (t == T_OTHER && v == 0);
    else if (c->activity == ACT_SHUTDOWN)
        ok = t == T_NMI || (t == T_HW_EXC && v == 18);
    else if (c->activity == ACT_WAIT_SIPI)
        ok = false;
    if (!ok)
        fail(c, VM_ENTRY_INTR_INFO, "activity state %u cannot take the injected event (type "
             "%u, vector %u)", c->activity, t, v);
}

static void guest_intr_reserved(struct check *c)
{
    if (c->interruptibility >> 5)
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "interruptibility state 0x%x sets reserved bits "
             "31:5", c->interruptibility);
}

static void guest_intr_sti_movss(struct check *c)
{
    uint32_t both = INTR_BLOCK_STI | INTR_BLOCK_MOV_SS;
    if ((c->interruptibility & both) == both)
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "interruptibility state 0x%x: blocking by STI "
             "and by MOV SS at once", c->interruptibility);
}

static void guest_intr_sti_if(struct check *c)
{
    if ((c->interruptibility & INTR_BLOCK_STI) && !(c->rflags & RFLAGS_IF))
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "blocking by STI with RFLAGS.IF 0 "
             "(interruptibility 0x%x, RFLAGS 0x%lx)", c->interruptibility, c->rflags);
}

static void guest_intr_extint(struct check *c)
{
    if (injecting(c, T_EXTINT) && (c->interruptibility & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)))
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "an external interrupt is injected under "
             "blocking by STI or MOV SS (interruptibility 0x%x)", c->interruptibility);
}

static void guest_intr_nmi(struct check *c)
{
    if (injecting(c, T_NMI) && (c->interruptibility & INTR_BLOCK_MOV_SS))
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "an NMI is injected under blocking by MOV SS "
             "(interruptibility 0x%x)", c->interruptibility);
}

static void guest_intr_smi(struct check *c)
{
    if (c->interruptibility & BIT(2))
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "blocking by SMI outside SMM (interruptibility "
             "0x%x)", c->interruptibility);
}

static void guest_intr_vnmi(struct check *c)
{
    if ((c->pin & CTL_PIN_VIRTUAL_NMIS) && injecting(c, T_NMI) &&
        (c->interruptibility & INTR_BLOCK_NMI))
        fail(c, GUEST_INTERRUPTIBILITY_INFO, "a virtual NMI is injected under blocking by NMI "
             "(interruptibility 0x%x)", c->interruptibility);
}

// Pending debug exceptions, SDM 3C 25.4.2: B3-B0 (3:0), enabled breakpoint
// (12), BS (14), RTM (16); the rest is reserved.
static void guest_pending_dbg_reserved(struct check *c)
{
    uint64_t v = rd(c, GUEST_PENDING_DBG_EXCEPTIONS), rsvd = (uint64_t)0xfffffffffffeaff0;
    if (v & rsvd)
        fail(c, GUEST_PENDING_DBG_EXCEPTIONS, "pending debug exceptions 0x%lx set reserved "
             "bits 0x%lx", v, v & rsvd);
}

// Under STI or MOV-SS blocking, or in HLT, a single step is still owed: BS
// must be 1 exactly when RFLAGS.TF = 1 and IA32_DEBUGCTL.BTF = 0.
static void guest_pending_dbg_bs(struct check *c)
{
    if (!(c->interruptibility & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) &&
        c->activity != ACT_HLT)
        return;
    uint64_t p = rd(c, GUEST_PENDING_DBG_EXCEPTIONS), dbg = rd(c, GUEST_IA32_DEBUGCTL);
    bool want = (c->rflags & RFLAGS_TF) && !(dbg & BIT(1)), bs = p & PENDING_DBG_BS;
    if (bs != want)
        fail(c, GUEST_PENDING_DBG_EXCEPTIONS, "BS is %u but must be %u: RFLAGS.TF %u, "
             "IA32_DEBUGCTL.BTF %u, under blocking or in HLT (pending 0x%lx, RFLAGS 0x%lx)",
             bs, want, !!(c->rflags & RFLAGS_TF), !!(dbg & BIT(1)), p, c->rflags);
}

static void guest_pending_dbg_rtm(struct check *c)
{
    uint64_t p = rd(c, GUEST_PENDING_DBG_EXCEPTIONS);
    bool rtm = c->caps->raw.cpuid7[1] & BIT(11);
    if (!(p & BIT(16)))
        return;
    if ((p & 0xfff) || (p & 0xe000) || !(p & BIT(12)) || !rtm ||
        (c->interruptibility & INTR_BLOCK_MOV_SS))
        fail(c, GUEST_PENDING_DBG_EXCEPTIONS, "pending debug exceptions 0x%lx: with RTM (bit "
             "16), bits 11:0 and 15:13 must be 0, bit 12 1, no MOV-SS blocking, and the CPU "
             "must have RTM (%s)", p, rtm ? "it has" : "it has not");
}

// The VMCS link pointer (qualification 4): ~0, or a VMCS of this CPU's
// revision that is not the current one. Bit 31 of its revision id says
// "shadow VMCS", which VMCS shadowing requires.
static uint64_t link_pointer(struct check *c)
{
    return rd(c, VMCS_LINK_POINTER);
}

static bool link_well_formed(struct check *c, uint64_t lp)
{
    return !(lp & 0xfff) && !beyond_phys(c, lp);
}

static void guest_link_pointer(struct check *c)
{
    uint64_t lp = link_pointer(c);
    if (lp != ~0ull && !link_well_formed(c, lp))
        fail(c, VMCS_LINK_POINTER, "link pointer 0x%lx is neither ~0 nor a 4-KiB aligned "
             "address within %u bits", lp, c->maxphy);
}

static void guest_link_revision(struct check *c)
{
    uint64_t lp = link_pointer(c);
    uint32_t rev;
    if (lp == ~0ull || !link_well_formed(c, lp) || !c->env->read_phys ||
        c->env->read_phys(c->env->phys_ctx, lp, &rev, sizeof(rev)))
        return;
    bool shadow = c->proc2 & CTL_PROC2_VMCS_SHADOWING;
    uint32_t want = c->caps->revision | (shadow ? BIT(31) : 0);
    if (rev != want)
        fail(c, VMCS_LINK_POINTER, "link pointer 0x%lx: revision id 0x%x there, not 0x%x%s",
             lp, rev, want, shadow ? " (a shadow VMCS)" : "");
}

static void guest_link_current(struct check *c)
{
    uint64_t lp = link_pointer(c);
    if (lp != ~0ull && c->env->vmcs_pa && lp == c->env->vmcs_pa)
        fail(c, VMCS_LINK_POINTER, "link pointer 0x%lx is the current VMCS", lp);
}

// ---------------------------------------------------------------------------
// 27.3.1.6: PDPTEs, for PAE paging outside IA-32e mode (qualification 2).
// With EPT they come from the VMCS; without, from guest CR3, which is then a
// physical address. Reserved: bits 2:1, 8:5, and from MAXPHYADDR up (SDM 3A 4.4.1).
static void guest_pdpte(struct check *c)
{
    uint64_t pdpte[4], rsvd = PDPTE_RESERVED(c->maxphy);
    if (c->ia32e || !c->pg || !(c->cr4 & CR4_PAE))
        return;
    if (c->ept) {
        for (int i = 0; i < 4; i++)
            pdpte[i] = rd(c, GUEST_PDPTE(i));
    } else if (!c->env->read_phys ||
               c->env->read_phys(c->env->phys_ctx, rd(c, GUEST_CR3) & ~0x1full, pdpte,
                                 sizeof(pdpte))) {
        return;
    }
    for (int i = 0; i < 4; i++)
        if ((pdpte[i] & 1) && (pdpte[i] & rsvd))
            fail(c, c->ept ? GUEST_PDPTE(i) : GUEST_CR3, "PDPTE%d 0x%lx is present and sets "
                 "reserved bits 0x%lx", i, pdpte[i], pdpte[i] & rsvd);
}

// ---------------------------------------------------------------------------
// 27.4: the VM-entry MSR-load area, entry by entry (qualification: the first
// failing entry's number, from 1). The CPU also refuses entries whose WRMSR
// would fault; only the rules that hold on every CPU are checked here.

static void msr_entries(struct check *c, bool reserved)
{
    uint64_t n = rd(c, VM_ENTRY_MSR_LOAD_COUNT), pa = rd(c, VM_ENTRY_MSR_LOAD_ADDR);
    uint64_t max = 512 * (((c->caps->raw.misc >> 25) & 7) + 1); // IA32_VMX_MISC[27:25]
    if (!n || (pa & 0xf) || !c->env->read_phys)
        return;
    for (uint64_t i = 0; i < n && i < max; i++) {
        uint64_t e[2];
        if (c->env->read_phys(c->env->phys_ctx, pa + 16 * i, e, sizeof(e)))
            return;
        uint32_t index = (uint32_t)e[0];
        if (reserved && (e[0] >> 32))
            fail_q(c, VM_ENTRY_MSR_LOAD_ADDR, i + 1, "entry %lu (MSR 0x%x): bits 63:32 of its "
                   "first quadword are not 0 (0x%lx)", i + 1, index, e[0]);
        if (!reserved && (index == MSR_FS_BASE || index == MSR_GS_BASE ||
                          index == MSR_SMM_MONITOR_CTL || (index >> 8) == 0x8))
            fail_q(c, VM_ENTRY_MSR_LOAD_ADDR, i + 1, "entry %lu loads MSR 0x%x, which VM "
                   "entry may not load (FS/GS base, x2APIC, SMM monitor)", i + 1, index);
    }
}

static void entry_msr_reserved(struct check *c) { msr_entries(c, true); }
static void entry_msr_index(struct check *c) { msr_entries(c, false); }

// ---------------------------------------------------------------------------
// The table. Sections: SDM 3C 27.2.1.1 VM-Execution Control Fields; 27.2.1.2
// VM-Exit Control Fields; 27.2.1.3 VM-Entry Control Fields; 27.2.2 Checks on
// Host Control Registers, MSRs, and SSP; 27.2.3 Checks on Host Segment and
// Descriptor-Table Registers; 27.2.4 Checks Related to Address-Space Size;
// 27.3.1.1 Checks on Guest Control Registers, Debug Registers, and MSRs;
// 27.3.1.2 ... Guest Segment Registers; 27.3.1.3 ... Descriptor-Table
// Registers; 27.3.1.4 ... RIP, RFLAGS, and SSP; 27.3.1.5 ... Guest
// Non-Register State; 27.3.1.6 ... Page-Directory-Pointer-Table Entries;
// 27.4 Loading MSRs. .bochs is the line Bochs 2.7 (bochs/cpu/vmx.cc) logs for
// the same check, so the boot tests can hold the two side by side.
#define R_CTL(n, s, fn, b, w) \
    { .name = n, .section = s, .kind = CHECK_CONTROL, .check = fn, .bochs = b, .what = w }
#define R_HOST(n, s, fn, b, w) \
    { .name = n, .section = s, .kind = CHECK_HOST, .check = fn, .bochs = b, .what = w }
#define R_GUEST(n, s, q, fn, b, w) \
    { .name = n, .section = s, .kind = CHECK_GUEST, .qual = q, .check = fn, .bochs = b, \
      .what = w }
#define R_MSR(n, s, fn, b, w) \
    { .name = n, .section = s, .kind = CHECK_MSR_LOAD, .check = fn, .bochs = b, .what = w }
#define VMFAIL_EXEC "VMFAIL: VMCS EXEC CTRL: "

const struct check_rule check_rules[] = {
    R_CTL("ctl-pin-allowed0", "27.2.1.1", ctl_pin_allowed0,
          VMFAIL_EXEC "VMX pin-based controls allowed 0-settings",
          "every pin-based control the capability MSR fixes to 1 is 1"),
    R_CTL("ctl-pin-allowed1", "27.2.1.1", ctl_pin_allowed1,
          VMFAIL_EXEC "VMX pin-based controls allowed 1-settings [0x%x]",
          "no pin-based control the capability MSR fixes to 0 is 1"),
    R_CTL("ctl-proc-allowed0", "27.2.1.1", ctl_proc_allowed0,
          VMFAIL_EXEC "VMX proc-based controls allowed 0-settings",
          "every primary processor-based control fixed to 1 is 1"),
    R_CTL("ctl-proc-allowed1", "27.2.1.1", ctl_proc_allowed1,
          VMFAIL_EXEC "VMX proc-based controls allowed 1-settings [0x%x]",
          "no primary processor-based control fixed to 0 is 1"),
    R_CTL("ctl-proc2-allowed0", "27.2.1.1", ctl_proc2_allowed0, NULL,
          "every secondary control fixed to 1 is 1 (none is, on CPUs so far)"),
    R_CTL("ctl-proc2-allowed1", "27.2.1.1", ctl_proc2_allowed1,
          VMFAIL_EXEC "VMX secondary controls allowed 1-settings [0x%x]",
          "no secondary control this CPU lacks is 1 (with \"activate secondary controls\")"),
    R_CTL("ctl-cr3-target-count", "27.2.1.1", ctl_cr3_target_count,
          VMFAIL_EXEC "too may CR3 targets %d",
          "the CR3-target count is at most IA32_VMX_MISC[24:16]"),
    R_CTL("ctl-io-bitmaps", "27.2.1.1", ctl_io_bitmaps,
          VMFAIL_EXEC "I/O bitmap %s phy addr malformed",
          "with \"use I/O bitmaps\", both bitmaps are 4-KiB aligned physical addresses"),
    R_CTL("ctl-msr-bitmap", "27.2.1.1", ctl_msr_bitmap,
          VMFAIL_EXEC "MSR bitmap phy addr malformed",
          "with \"use MSR bitmaps\", the bitmap is a 4-KiB aligned physical address"),
    R_CTL("ctl-tpr-shadow-addr", "27.2.1.1", ctl_tpr_shadow_addr,
          VMFAIL_EXEC "virtual apic phy addr malformed",
          "with \"use TPR shadow\", the virtual-APIC page is a 4-KiB aligned address"),
    R_CTL("ctl-tpr-threshold", "27.2.1.1", ctl_tpr_threshold,
          VMFAIL_EXEC "TPR threshold too big",
          "with \"use TPR shadow\" and no virtual-interrupt delivery, the TPR threshold's "
          "bits 31:4 are 0"),
    R_CTL("ctl-tpr-threshold-vtpr", "27.2.1.1", ctl_tpr_threshold_vtpr,
          VMFAIL_EXEC "TPR threshold > TPR shadow",
          "... and, without APIC-access virtualization, it is not above VTPR[7:4]"),
    R_CTL("ctl-no-tpr-shadow", "27.2.1.1", ctl_no_tpr_shadow,
          VMFAIL_EXEC "apic virtualization is enabled without TPR shadow",
          "without \"use TPR shadow\", no x2APIC, APIC-register or interrupt-delivery "
          "virtualization"),
    R_CTL("ctl-virtual-nmis", "27.2.1.1", ctl_virtual_nmis,
          VMFAIL_EXEC "misconfigured virtual NMI control",
          "\"virtual NMIs\" only with \"NMI exiting\""),
    R_CTL("ctl-nmi-window", "27.2.1.1", ctl_nmi_window,
          VMFAIL_EXEC "misconfigured virtual NMI control",
          "\"NMI-window exiting\" only with \"virtual NMIs\""),
    R_CTL("ctl-apic-access-addr", "27.2.1.1", ctl_apic_access_addr,
          VMFAIL_EXEC "apic access page phy addr malformed",
          "with \"virtualize APIC accesses\", the APIC-access page is a 4-KiB aligned address"),
    R_CTL("ctl-x2apic-apic-access", "27.2.1.1", ctl_x2apic_apic_access,
          VMFAIL_EXEC "virtualize X2APIC mode enabled together with APIC access virtualization",
          "not both \"virtualize x2APIC mode\" and \"virtualize APIC accesses\""),
    R_CTL("ctl-vid-extint", "27.2.1.1", ctl_vid_extint,
          VMFAIL_EXEC "virtual interrupt delivery must be set together with external "
                      "interrupt exiting",
          "\"virtual-interrupt delivery\" only with \"external-interrupt exiting\""),
    R_CTL("ctl-posted-interrupts", "27.2.1.1", ctl_posted_interrupts, NULL,
          "\"process posted interrupts\" only with virtual-interrupt delivery and "
          "\"acknowledge interrupt on exit\""),
    R_CTL("ctl-vpid", "27.2.1.1", ctl_vpid, VMFAIL_EXEC "guest VPID == 0",
          "with \"enable VPID\", the VPID is not 0"),
    R_CTL("ctl-eptp-memtype", "27.2.1.1", ctl_eptp_memtype, VMFAIL_EXEC "invalid EPTPTR value",
          "the EPTP's memory type is UC or WB, as IA32_VMX_EPT_VPID_CAP allows"),
    R_CTL("ctl-eptp-walk", "27.2.1.1", ctl_eptp_walk, VMFAIL_EXEC "invalid EPTPTR value",
          "the EPTP's page-walk length is one the CPU supports (4, or 5)"),
    R_CTL("ctl-eptp-ad", "27.2.1.1", ctl_eptp_ad,
          "is_eptptr_valid: EPTPTR A/D enabled when not supported by CPU",
          "EPTP bit 6 (accessed/dirty flags) only where IA32_VMX_EPT_VPID_CAP[21] says so"),
    R_CTL("ctl-eptp-reserved", "27.2.1.1", ctl_eptp_reserved,
          "is_eptptr_valid: EPTPTR reserved bits set",
          "the EPTP's reserved bits 11:8 (and 7 without CET) are 0"),
    R_CTL("ctl-eptp-address", "27.2.1.1", ctl_eptp_address, VMFAIL_EXEC "invalid EPTPTR value",
          "the EPTP sets no bit beyond the physical-address width"),
    R_CTL("ctl-ug-ept", "27.2.1.1", ctl_ug_ept, VMFAIL_EXEC "unrestricted guest without EPT",
          "\"unrestricted guest\" only with \"enable EPT\""),
    R_CTL("ctl-pml-ept", "27.2.1.1", ctl_pml_ept, VMFAIL_EXEC "PML is enabled without EPT",
          "\"enable PML\" only with \"enable EPT\""),
    R_CTL("ctl-mbec-ept", "27.2.1.1", ctl_mbec_ept, NULL,
          "\"mode-based execute control for EPT\" only with \"enable EPT\""),
    R_CTL("ctl-exit-allowed0", "27.2.1.2", ctl_exit_allowed0,
          VMFAIL_EXEC "VMX vmexit controls allowed 0-settings",
          "every VM-exit control fixed to 1 is 1"),
    R_CTL("ctl-exit-allowed1", "27.2.1.2", ctl_exit_allowed1,
          VMFAIL_EXEC "VMX vmexit controls allowed 1-settings [0x%x]",
          "no VM-exit control fixed to 0 is 1"),
    R_CTL("ctl-preemption-save", "27.2.1.2", ctl_preemption_save,
          "VMFAIL: save_VMX_preemption_timer VMEXIT control is set but VMX_preemption_timer "
          "VMEXEC control is clear",
          "\"save VMX-preemption timer value\" only with the timer active"),
    R_CTL("ctl-exit-msr-store", "27.2.1.2", ctl_exit_msr_store,
          "VMFAIL: VMCS VMEXIT CTRL: msr store addr malformed",
          "the VM-exit MSR-store area is 16-byte aligned and within the physical-address "
          "width"),
    R_CTL("ctl-exit-msr-load", "27.2.1.2", ctl_exit_msr_load,
          "VMFAIL: VMCS VMEXIT CTRL: msr load addr malformed",
          "the VM-exit MSR-load area is 16-byte aligned and within the physical-address width"),
    R_CTL("ctl-entry-allowed0", "27.2.1.3", ctl_entry_allowed0,
          VMFAIL_EXEC "VMX vmentry controls allowed 0-settings",
          "every VM-entry control fixed to 1 is 1"),
    R_CTL("ctl-entry-allowed1", "27.2.1.3", ctl_entry_allowed1,
          VMFAIL_EXEC "VMX vmentry controls allowed 1-settings [0x%x]",
          "no VM-entry control fixed to 0 is 1"),
    R_CTL("ctl-entry-msr-load", "27.2.1.3", ctl_entry_msr_load,
          "VMFAIL: VMCS VMENTRY CTRL: msr load addr malformed",
          "the VM-entry MSR-load area is 16-byte aligned and within the physical-address "
          "width"),
    R_CTL("ctl-entry-smm", "27.2.1.3", ctl_entry_smm,
          "VMFAIL: VMENTRY from outside SMM with dual-monitor treatment enabled",
          "\"entry to SMM\" and \"deactivate dual-monitor treatment\" are 0 outside SMM"),
    R_CTL("ctl-entry-intr-reserved", "27.2.1.3", ctl_entry_intr_reserved,
          "VMFAIL: VMENTRY broken interruption info field",
          "an injected event's interruption information has bits 30:12 clear"),
    R_CTL("ctl-entry-intr-type", "27.2.1.3", ctl_entry_intr_type,
          "VMFAIL: VMENTRY bad injected event type %d",
          "its type is not 1 (reserved), nor 7 without the monitor trap flag"),
    R_CTL("ctl-entry-intr-vector", "27.2.1.3", ctl_entry_intr_vector,
          "VMFAIL: VMENTRY bad injected event vector %d",
          "an NMI has vector 2, a hardware exception 0-31, an other event 0"),
    R_CTL("ctl-entry-intr-error-code", "27.2.1.3", ctl_entry_intr_error_code,
          "VMFAIL: VMENTRY injected event vector %d broken error code",
          "an error code is delivered exactly for the exceptions that push one"),
    R_CTL("ctl-entry-intr-error-value", "27.2.1.3", ctl_entry_intr_error_value,
          "VMFAIL: VMENTRY bad error code 0x%x for injected event %d",
          "a delivered error code has bits 31:16 clear"),
    R_CTL("ctl-entry-intr-length", "27.2.1.3", ctl_entry_intr_length,
          "VMFAIL: VMENTRY bad injected event instr length",
          "a software interrupt or exception has an instruction length of 1-15"),

    R_HOST("host-cr0-fixed", "27.2.2", host_cr0_fixed,
           "VMFAIL: VMCS host state invalid CR0 0x%x",
           "host CR0 obeys IA32_VMX_CR0_FIXED0/FIXED1"),
    R_HOST("host-cr4-fixed", "27.2.2", host_cr4_fixed,
           "VMFAIL: VMCS host state invalid CR4 0x%x",
           "host CR4 obeys IA32_VMX_CR4_FIXED0/FIXED1"),
    R_HOST("host-cr3", "27.2.2", host_cr3, "VMFAIL: VMCS host state invalid CR3",
           "host CR3 sets no bit beyond the physical-address width"),
    R_HOST("host-cet-wp", "27.2.2", host_cet_wp, NULL,
           "host CR4.CET only with CR0.WP (Bochs checks it only with \"load CET state\")"),
    R_HOST("host-sysenter", "27.2.2", host_sysenter,
           "VMFAIL: VMCS host SYSENTER_%s_MSR non canonical",
           "host IA32_SYSENTER_ESP and _EIP are canonical"),
    R_HOST("host-pat", "27.2.2", host_pat, "VMFAIL: invalid Memory Type in host MSR_PAT",
           "with \"load IA32_PAT\", every host PAT entry is a valid memory type"),
    R_HOST("host-efer-reserved", "27.2.2", host_efer_reserved,
           "VMFAIL: VMCS host EFER reserved bits set !",
           "with \"load IA32_EFER\", the host EFER sets no reserved bit"),
    R_HOST("host-efer-lma", "27.2.2", host_efer_lma,
           "VMFAIL: VMCS host EFER (0x%x) inconsistent value !",
           "... and its LMA and LME both equal \"host address-space size\""),
    R_HOST("host-sel-ti-rpl", "27.2.3", host_sel_ti_rpl,
           "VMFAIL: VMCS host segreg %d TI/RPL != 0",
           "host selectors have TI and RPL 0"),
    R_HOST("host-cs", "27.2.3", host_cs, "VMFAIL: VMCS host CS selector 0",
           "the host CS selector is not 0"),
    R_HOST("host-tr", "27.2.3", host_tr, "VMFAIL: VMCS invalid host TR selector",
           "the host TR selector is not 0"),
    R_HOST("host-ss", "27.2.3", host_ss, "VMFAIL: VMCS host SS selector 0",
           "a 32-bit host's SS selector is not 0"),
    R_HOST("host-base-canonical", "27.2.3", host_base_canonical,
           "VMFAIL: VMCS host %s BASE non canonical",
           "host FS, GS, GDTR, IDTR and TR bases are canonical"),
    R_HOST("host-addr-space", "27.2.4", host_addr_space,
           "VMFAIL: VMCS x86-64 host control invalid on VMENTRY",
           "\"host address-space size\" is 1 exactly when the processor is in IA-32e mode"),
    R_HOST("host-as-pae", "27.2.4", host_as_pae, "VMFAIL: VMCS host CR4.PAE=0 with x86-64 host",
           "a 64-bit host has CR4.PAE"),
    R_HOST("host-as-pcide", "27.2.4", host_as_pcide, "VMFAIL: VMCS host CR4.PCIDE set",
           "a 32-bit host has no CR4.PCIDE"),
    R_HOST("host-rip", "27.2.4", host_rip, "VMFAIL: VMCS host RIP non-canonical",
           "host RIP is canonical (64-bit host) or below 4 GiB (32-bit host)"),

    R_GUEST("guest-cr0-fixed", "27.3.1.1", 0, guest_cr0_fixed,
            "VMENTER FAIL: VMCS guest invalid CR0",
            "guest CR0 obeys the fixed bits, but for NW and CD (and PE, PG when unrestricted)"),
    R_GUEST("guest-cr0-pg-pe", "27.3.1.1", 0, guest_cr0_pg_pe,
            "VMENTER FAIL: VMCS unrestricted guest CR0.PG without CR0.PE",
            "an unrestricted guest's CR0.PG only with CR0.PE"),
    R_GUEST("guest-cr4-fixed", "27.3.1.1", 0, guest_cr4_fixed,
            "VMENTER FAIL: VMCS guest invalid CR4", "guest CR4 obeys the fixed bits"),
    R_GUEST("guest-cet-wp", "27.3.1.1", 0, guest_cet_wp,
            "VMENTER FAIL: VMCS guest CR4.CET=1 when CR0.WP=0",
            "guest CR4.CET only with CR0.WP"),
    R_GUEST("guest-debugctl", "27.3.1.1", 0, guest_debugctl, NULL,
            "with \"load debug controls\", IA32_DEBUGCTL sets no reserved bit"),
    R_GUEST("guest-ia32e-pg", "27.3.1.1", 0, guest_ia32e_pg, NULL,
            "an IA-32e mode guest has CR0.PG (Bochs checks it only through the fixed bits)"),
    R_GUEST("guest-ia32e-pae", "27.3.1.1", 0, guest_ia32e_pae,
            "VMENTER FAIL: VMCS guest CR4.PAE=0 in x86-64 mode",
            "an IA-32e mode guest has CR4.PAE"),
    R_GUEST("guest-pcide", "27.3.1.1", 0, guest_pcide,
            "VMENTER FAIL: VMCS CR4.PCIDE set in 32-bit guest",
            "a guest outside IA-32e mode has no CR4.PCIDE"),
    R_GUEST("guest-cr3", "27.3.1.1", 0, guest_cr3_width_ok, "VMENTER FAIL: VMCS guest invalid CR3",
            "guest CR3 sets no bit beyond the physical-address width"),
    R_GUEST("guest-dr7", "27.3.1.1", 0, guest_dr7, "VMENTER FAIL: VMCS guest invalid DR7",
            "with \"load debug controls\", DR7's bits 63:32 are 0"),
    R_GUEST("guest-sysenter", "27.3.1.1", 0, guest_sysenter,
            "VMENTER FAIL: VMCS guest SYSENTER_%s_MSR non canonical",
            "guest IA32_SYSENTER_ESP and _EIP are canonical"),
    R_GUEST("guest-pat", "27.3.1.1", 0, guest_pat,
            "VMENTER FAIL: invalid Memory Type in guest MSR_PAT",
            "with \"load IA32_PAT\", every guest PAT entry is a valid memory type"),
    R_GUEST("guest-efer-reserved", "27.3.1.1", 0, guest_efer_reserved,
            "VMENTER FAIL: VMCS guest EFER reserved bits set !",
            "with \"load IA32_EFER\", the guest EFER sets no reserved bit"),
    R_GUEST("guest-efer-lma", "27.3.1.1", 0, guest_efer_lma,
            "VMENTER FAIL: VMCS guest EFER.LMA doesn't match x86_64_guest !",
            "... its LMA equals \"IA-32e mode guest\""),
    R_GUEST("guest-efer-lme", "27.3.1.1", 0, guest_efer_lme,
            "VMENTER FAIL: VMCS guest EFER (0x%x) inconsistent value !",
            "... and, with CR0.PG, its LME equals LMA"),
    R_GUEST("guest-tr-ti", "27.3.1.2", 0, guest_tr_ti, "VMENTER FAIL: VMCS guest TR.TI set",
            "the TR selector's TI is 0"),
    R_GUEST("guest-ldtr-ti", "27.3.1.2", 0, guest_ldtr_ti,
            "VMENTER FAIL: VMCS guest LDTR.TI set", "a usable LDTR selector's TI is 0"),
    R_GUEST("guest-ss-rpl", "27.3.1.2", 0, guest_ss_rpl,
            "VMENTER FAIL: VMCS guest CS.RPL != SS.RPL",
            "SS.RPL equals CS.RPL (not in virtual-8086 mode, not unrestricted)"),
    R_GUEST("guest-v86-base", "27.3.1.2", 0, guest_v86_base,
            "VMENTER FAIL: VMCS v8086 guest bad %s.BASE",
            "in virtual-8086 mode, each segment base is its selector times 16"),
    R_GUEST("guest-v86-limit", "27.3.1.2", 0, guest_v86_limit,
            "VMENTER FAIL: VMCS v8086 guest %s.LIMIT != 0xFFFF",
            "in virtual-8086 mode, each segment limit is 0xffff"),
    R_GUEST("guest-v86-ar", "27.3.1.2", 0, guest_v86_ar,
            "VMENTER FAIL: VMCS v8086 guest %s.AR != 0xF3",
            "in virtual-8086 mode, each segment's access rights are 0xf3"),
    R_GUEST("guest-base-canonical", "27.3.1.2", 0, guest_base_canonical,
            "VMENTER FAIL: VMCS guest %s.BASE non canonical",
            "TR, FS, GS and a usable LDTR have canonical bases"),
    R_GUEST("guest-base-high", "27.3.1.2", 0, guest_base_high,
            "VMENTER FAIL: VMCS guest %s.BASE > 32 bit",
            "CS, and SS, DS, ES if usable, have bases below 4 GiB"),
    R_GUEST("guest-cs-type", "27.3.1.2", 0, guest_cs_type, "VMENTER FAIL: VMCS guest CS.TYPE",
            "CS is an accessed code segment (or type 3 when unrestricted)"),
    R_GUEST("guest-ss-type", "27.3.1.2", 0, guest_ss_type, "VMENTER FAIL: VMCS guest SS.TYPE",
            "a usable SS is an accessed read/write data segment"),
    R_GUEST("guest-data-accessed", "27.3.1.2", 0, guest_data_accessed,
            "VMENTER FAIL: VMCS guest %s not ACCESSED",
            "usable DS, ES, FS, GS have their accessed bit set"),
    R_GUEST("guest-data-readable", "27.3.1.2", 0, guest_data_readable,
            "VMENTER FAIL: VMCS guest CODE segment %s not READABLE",
            "a usable DS, ES, FS, GS that is code is readable"),
    R_GUEST("guest-seg-s", "27.3.1.2", 0, guest_seg_s, "VMENTER FAIL: VMCS guest %s not segment",
            "CS and usable SS, DS, ES, FS, GS are code or data (S = 1)"),
    R_GUEST("guest-cs-dpl", "27.3.1.2", 0, guest_cs_dpl,
            "VMENTER FAIL: VMCS guest non-conforming CS.RPL <> CS.DPL",
            "CS.DPL: 0 for type 3, SS.DPL if non-conforming, at most SS.DPL if conforming "
            "(Bochs compares it with CS.RPL, the same when SS.RPL = CS.RPL = SS.DPL)"),
    R_GUEST("guest-ss-dpl", "27.3.1.2", 0, guest_ss_dpl,
            "VMENTER FAIL: VMCS guest SS.RPL <> SS.DPL",
            "SS.DPL equals SS.RPL when not unrestricted, even if SS is unusable"),
    R_GUEST("guest-ss-dpl-zero", "27.3.1.2", 0, guest_ss_dpl_zero,
            "VMENTER FAIL: VMCS unrestricted guest SS.DPL != 0",
            "SS.DPL is 0 when CS is type 3 or CR0.PE is 0"),
    R_GUEST("guest-data-dpl", "27.3.1.2", 0, guest_data_dpl,
            "VMENTER FAIL: VMCS guest non-conforming %s.RPL < %s.DPL",
            "usable data or non-conforming code DS, ES, FS, GS have DPL >= RPL"),
    R_GUEST("guest-seg-p", "27.3.1.2", 0, guest_seg_p, "VMENTER FAIL: VMCS guest %s not present",
            "every segment register VM entry loads is present (P = 1)"),
    R_GUEST("guest-seg-reserved", "27.3.1.2", 0, guest_seg_reserved,
            "VMENTER FAIL: VMCS guest %s.AR/LIMIT malformed",
            "... sets no reserved access-rights bit (11:8, 31:17)"),
    R_GUEST("guest-seg-limit-g", "27.3.1.2", 0, guest_seg_limit_g,
            "VMENTER FAIL: VMCS guest %s.AR/LIMIT malformed",
            "... and has a limit its granularity (G) can express"),
    R_GUEST("guest-cs-l-db", "27.3.1.2", 0, guest_cs_l_db,
            "VMENTER FAIL: VMCS x86_64 guest wrong CS.D_B/L",
            "in an IA-32e mode guest, CS does not have both L and D/B"),
    R_GUEST("guest-tr-type", "27.3.1.2", 0, guest_tr_type,
            "VMENTER FAIL: VMCS guest incorrect TR type",
            "TR is a busy TSS: 64-bit (11) in IA-32e mode, else 16- or 32-bit (3, 11)"),
    R_GUEST("guest-tr-s", "27.3.1.2", 0, guest_tr_s,
            "VMENTER FAIL: VMCS guest TR is not system segment", "TR is a system descriptor"),
    R_GUEST("guest-tr-usable", "27.3.1.2", 0, guest_tr_usable,
            "VMENTER FAIL: VMCS guest TR invalid",
            "TR is usable"),
    R_GUEST("guest-ldtr-type", "27.3.1.2", 0, guest_ldtr_type,
            "VMENTER FAIL: VMCS guest incorrect LDTR type (%d)", "a usable LDTR is an LDT (2)"),
    R_GUEST("guest-ldtr-s", "27.3.1.2", 0, guest_ldtr_s,
            "VMENTER FAIL: VMCS guest LDTR is not system segment",
            "a usable LDTR is a system descriptor"),
    R_GUEST("guest-desc-base", "27.3.1.3", 0, guest_desc_base,
            "VMENTER FAIL: VMCS guest IDTR/IDTR.BASE non canonical",
            "GDTR and IDTR bases are canonical"),
    R_GUEST("guest-desc-limit", "27.3.1.3", 0, guest_desc_limit,
            "VMENTER FAIL: VMCS guest GDTR/IDTR limit > 0xFFFF",
            "GDTR and IDTR limits fit in 16 bits"),
    R_GUEST("guest-rip-high", "27.3.1.4", 0, guest_rip_high,
            "VMENTER FAIL: VMCS guest RIP > 32 bit",
            "outside 64-bit mode, RIP's bits 63:32 are 0"),
    R_GUEST("guest-rip-canonical", "27.3.1.4", 0, guest_rip_canonical, NULL,
            "in 64-bit mode, RIP is canonical"),
    R_GUEST("guest-rflags-reserved", "27.3.1.4", 0, guest_rflags_reserved,
            "VMENTER FAIL: RFLAGS reserved bits are set",
            "RFLAGS bits 63:22, 15, 5 and 3 are 0"),
    R_GUEST("guest-rflags-bit1", "27.3.1.4", 0, guest_rflags_bit1,
            "VMENTER FAIL: RFLAGS[1] cleared", "RFLAGS bit 1 is 1"),
    R_GUEST("guest-rflags-vm", "27.3.1.4", 0, guest_rflags_vm,
            "VMENTER FAIL: Enter to x86-64 guest with RFLAGS.VM",
            "RFLAGS.VM is 0 in IA-32e mode and with CR0.PE 0"),
    R_GUEST("guest-rflags-if", "27.3.1.4", 0, guest_rflags_if,
            "VMENTER FAIL: VMCS guest interrupts blocked when injecting external interrupt",
            "RFLAGS.IF is 1 when an external interrupt is injected"),
    R_GUEST("guest-activity", "27.3.1.5", 0, guest_activity,
            "VMENTER FAIL: VMCS guest activity state %d",
            "the activity state is one IA32_VMX_MISC lists"),
    R_GUEST("guest-activity-hlt-dpl", "27.3.1.5", 0, guest_activity_hlt_dpl,
            "VMENTER FAIL: VMCS guest HLT state with SS.DPL=%d", "HLT only with SS.DPL 0"),
    R_GUEST("guest-activity-blocking", "27.3.1.5", 0, guest_activity_blocking,
            "VMENTER FAIL: VMCS guest interruptibility state broken when entering non active "
            "CPU state %d",
            "blocking by STI or MOV SS only in the active state"),
    R_GUEST("guest-activity-event", "27.3.1.5", 0, guest_activity_event,
            "VMENTER FAIL: Only NMI or #MC guest interruption is allowed when entering "
            "shutdown state",
            "an injected event is one the activity state can take (Bochs checks shutdown and "
            "wait-for-SIPI, not HLT)"),
    R_GUEST("guest-intr-reserved", "27.3.1.5", 0, guest_intr_reserved,
            "VMENTER FAIL: VMCS guest interruptibility state broken",
            "interruptibility state bits 31:5 are 0"),
    R_GUEST("guest-intr-sti-movss", "27.3.1.5", 0, guest_intr_sti_movss,
            "VMENTER FAIL: VMCS guest interruptibility state broken",
            "not blocking by STI and by MOV SS at once"),
    R_GUEST("guest-intr-sti-if", "27.3.1.5", 0, guest_intr_sti_if,
            "VMENTER FAIL: VMCS guest interrupts can't be blocked by STI when EFLAGS.IF = 0",
            "blocking by STI only with RFLAGS.IF"),
    R_GUEST("guest-intr-extint", "27.3.1.5", 0, guest_intr_extint,
            "VMENTER FAIL: VMCS guest interrupts blocked when injecting external interrupt",
            "no blocking by STI or MOV SS when an external interrupt is injected"),
    R_GUEST("guest-intr-nmi", "27.3.1.5", 0, guest_intr_nmi,
            "VMENTER FAIL: VMCS guest interrupts blocked when injecting NMI",
            "no blocking by MOV SS when an NMI is injected"),
    R_GUEST("guest-intr-smi", "27.3.1.5", 0, guest_intr_smi,
            "VMENTER FAIL: VMCS SMI blocked when not in SMM mode",
            "no blocking by SMI outside SMM"),
    R_GUEST("guest-intr-vnmi", "27.3.1.5", 0, guest_intr_vnmi, NULL,
            "with \"virtual NMIs\", no blocking by NMI when an NMI is injected"),
    R_GUEST("guest-pending-dbg-reserved", "27.3.1.5", 0, guest_pending_dbg_reserved,
            "VMENTER FAIL: VMCS guest tmpDR6 reserved bits",
            "pending debug exceptions set no reserved bit"),
    R_GUEST("guest-pending-dbg-bs", "27.3.1.5", 0, guest_pending_dbg_bs, NULL,
            "under STI/MOV-SS blocking or in HLT, BS = TF and not BTF"),
    R_GUEST("guest-pending-dbg-rtm", "27.3.1.5", 0, guest_pending_dbg_rtm, NULL,
            "pending RTM debug exceptions (bit 16) only as RTM defines them"),
    R_GUEST("guest-link-pointer", "27.3.1.5", 4, guest_link_pointer,
            "VMFAIL: VMCS link pointer malformed",
            "the VMCS link pointer is ~0 or a 4-KiB aligned physical address"),
    R_GUEST("guest-link-revision", "27.3.1.5", 4, guest_link_revision,
            "VMFAIL: VMCS link pointer incorrect revision ID %d != %d",
            "... where a VMCS of this CPU's revision begins"),
    R_GUEST("guest-link-current", "27.3.1.5", 4, guest_link_current,
            "VMFAIL: VMCS link pointer equal to current VMCS pointer",
            "... which is not the current VMCS"),
    R_GUEST("guest-pdpte", "27.3.1.6", 2, guest_pdpte,
            "VMENTER: EPT Guest State PDPTRs Checks Failed",
            "with PAE paging outside IA-32e mode, present PDPTEs set no reserved bit"),

    R_MSR("entry-msr-reserved", "27.4", entry_msr_reserved,
          "VMX LoadMSRs %d: broken msr index 0x%x",
          "each MSR-load entry's bits 63:32 are 0"),
    R_MSR("entry-msr-index", "27.4", entry_msr_index,
          "VMX LoadMSRs %d: unable to restore %s",
          "no entry loads FS or GS base, an x2APIC MSR or IA32_SMM_MONITOR_CTL"),
};
const size_t check_nrules = ARRAY_SIZE(check_rules);

const struct check_rule *check_rule_find(const char *name)
{
    for (size_t i = 0; i < check_nrules; i++)
        if (!strcmp(check_rules[i].name, name))
            return &check_rules[i];
    return NULL;
}

// The fields most rules need, read once, then every rule in table order.
void check_vmcs(const struct check_env *env, check_found_fn *found, void *ctx,
                struct check_summary *sum)
{
    struct check c = { .env = env, .caps = env->caps, .found = found, .ctx = ctx, .sum = sum };
    *sum = (struct check_summary){ 0 };
    c.pin = (uint32_t)rd(&c, PIN_BASED_VM_EXEC_CONTROL);
    c.proc = (uint32_t)rd(&c, CPU_BASED_VM_EXEC_CONTROL);
    c.proc2 = c.proc & CTL_PROC_SECONDARY_CONTROLS ? (uint32_t)rd(&c, SECONDARY_VM_EXEC_CONTROL)
                                                   : 0;
    c.exit = (uint32_t)rd(&c, VM_EXIT_CONTROLS);
    c.entry = (uint32_t)rd(&c, VM_ENTRY_CONTROLS);
    c.ia32e = c.entry & CTL_ENTRY_IA32E_MODE_GUEST;
    c.ug = c.proc2 & CTL_PROC2_UNRESTRICTED_GUEST;
    c.ept = c.proc2 & CTL_PROC2_EPT;
    c.cr0 = rd(&c, GUEST_CR0);
    c.cr4 = rd(&c, GUEST_CR4);
    c.rflags = rd(&c, GUEST_RFLAGS);
    c.pe = c.cr0 & CR0_PE;
    c.pg = c.cr0 & CR0_PG;
    c.v86 = (c.rflags & RFLAGS_VM) && c.pe && !c.ia32e;
    c.intr = (uint32_t)rd(&c, VM_ENTRY_INTR_INFO);
    c.interruptibility = (uint32_t)rd(&c, GUEST_INTERRUPTIBILITY_INFO);
    c.activity = (uint32_t)rd(&c, GUEST_ACTIVITY_STATE);
    for (enum guest_seg s = 0; s < SEGS; s++)
        c.s[s] = (struct seg){ (uint16_t)rd(&c, guest_segs[s].sel), rd(&c, guest_segs[s].base),
                               (uint32_t)rd(&c, guest_segs[s].limit),
                               (uint32_t)rd(&c, guest_segs[s].ar) };
    c.maxphy = env->caps->maxphyaddr ? env->caps->maxphyaddr : 36;
    c.linear = (env->caps->raw.cpuid_ext8[0] >> 8) & 0xff;
    if (c.linear < 32 || c.linear > 64)
        c.linear = 48; // CPUID.80000008H:EAX[15:8]; 48 where it does not say
    for (size_t i = 0; i < check_nrules; i++) {
        c.rule = &check_rules[i];
        c.rule->check(&c);
    }
}

// What the CPU will do: it checks controls, then host state, then guest
// state, then loads MSRs (SDM 3C 27.1), and stops at the first kind that fails.
struct entry_verdict check_predict(const struct check_summary *s)
{
    static const struct entry_verdict by_kind[CHECK_KINDS] = {
        [CHECK_CONTROL] = { ENTRY_VMFAIL, 7, 0 },
        [CHECK_HOST] = { ENTRY_VMFAIL, 8, 0 },
        [CHECK_GUEST] = { ENTRY_FAILED_EXIT, EXIT_REASON_INVALID_GUEST_STATE, 0 },
        [CHECK_MSR_LOAD] = { ENTRY_FAILED_EXIT, EXIT_REASON_MSR_LOAD_FAIL, 0 },
    };
    for (int k = 0; k < CHECK_KINDS; k++) {
        if (s->by_kind[k]) {
            struct entry_verdict v = by_kind[k];
            v.qual = s->qual[k];
            return v;
        }
    }
    return (struct entry_verdict){ ENTRY_ENTERED, 0, 0 };
}

// Does the CPU's verdict match the prediction? A guest-state failure's
// qualification is compared only where every failing rule gives the same one:
// the SDM does not say in which order the CPU checks guest state.
bool check_agrees(const struct check_summary *s, const struct entry_verdict *cpu)
{
    struct entry_verdict p = check_predict(s);
    if (p.how != cpu->how || p.number != cpu->number)
        return false;
    if (p.how != ENTRY_FAILED_EXIT)
        return true;
    int k = p.number == EXIT_REASON_INVALID_GUEST_STATE ? CHECK_GUEST : CHECK_MSR_LOAD;
    return s->qual_mixed[k] || p.qual == cpu->qual;
}

// "SDM 27.2.2: HOST_CR0: host-cr0-fixed: bit 5 of CR0 ..." (hv/vmx/entry.c adds "check: ").
int check_format(char *buf, size_t size, const struct check_finding *f)
{
    return snprintf(buf, size, "SDM %s: %s: %s: %s", f->rule->section, vmcs_field_name(f->field),
                    f->rule->name, f->text);
}

int entry_verdict_text(char *buf, size_t size, const struct entry_verdict *v)
{
    static const char *const errors[] = { [7] = "invalid control field(s)",
                                          [8] = "invalid host-state field(s)" };
    switch (v->how) {
    case ENTRY_ENTERED:
        return snprintf(buf, size, "VM entry");
    case ENTRY_VMFAIL:
        return snprintf(buf, size, "VMfailValid, VM-instruction error %u (VM entry with %s)",
                        v->number, v->number < ARRAY_SIZE(errors) && errors[v->number]
                                       ? errors[v->number] : "another failure");
    case ENTRY_FAILED_EXIT:
        return snprintf(buf, size, "VM-entry failure, exit reason %u (%s), qualification %lu",
                        v->number, v->number == EXIT_REASON_INVALID_GUEST_STATE
                                       ? "invalid guest state"
                                       : v->number == EXIT_REASON_MSR_LOAD_FAIL
                                             ? "MSR loading" : "other",
                        v->qual);
    }
    return snprintf(buf, size, "?");
}
