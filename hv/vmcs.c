// vmcs.c: the VMCS field table put to work (names for dumps, a VMWRITE/VMREAD
// round-trip self-test), the choice of VMX controls (wanted[], one row per
// control field, each bit with its reason), and vmcs_setup(), which fills a
// freshly loaded VMCS for one guest run: controls (SDM 3C 25.6-25.8), host
// state (25.5), guest state (25.4). Called by hv/experiment.c (controls,
// self-test) and hv/guest.c (setup); vmcs_dump() by every failure path.
// docs/03-vmcs.md explains every control.
#include "../boot/boot.h"
#include "../boot/x86.h"
#include "../guest/abi.h"
#include "hv.h"

struct vmx_controls ctls;

void vmcs_dump(void)
{
    kprintf("VMCS dump (fields this CPU supports):\n");
    unsigned n = 0;
    for (size_t i = 0; i < vmcs_nfields; i++) {
        uint64_t v;
        if (vmread_safe(vmcs_fields[i].enc, &v) == 0)
            kprintf("  %-28s %16lx%s", vmcs_fields[i].name, v, ++n % 2 ? "" : "\n");
    }
    if (n % 2)
        kprintf("\n");
}

static int cpu_write(void *ctx, uint64_t field, uint64_t val)
{
    (void)ctx;
    return vmwrite_safe(field, val);
}

static int cpu_read(void *ctx, uint64_t field, uint64_t *val)
{
    (void)ctx;
    return vmread_safe(field, val);
}

const struct vmcs_access vmcs_cpu = { cpu_write, cpu_read, NULL, NULL };

static void cpu_bad(void *ctx, const struct vmcs_field_info *f, uint64_t wrote, uint64_t read,
                    int err)
{
    (void)ctx;
    report(false, "vmcs-fields: %s (0x%x) wrote 0x%lx, read 0x%lx (bits held 0x%lx, error %d)",
           f->name, f->enc, wrote, read, f->held, err);
}

// The field table's round trip on a scratch VMCS of this CPU.
void vmcs_selftest(void)
{
    void *scratch = vmx_alloc_region();
    vmcs_load(scratch);
    struct vmcs_access a = vmcs_cpu;
    a.bad = cpu_bad;
    struct vmcs_selftest res;
    vmcs_selftest_fields(&a, &res);
    vmcs_clear(scratch);
    report(!res.bad && res.ok > 0, "vmcs-fields: %u writable fields round-trip through "
           "VMWRITE/VMREAD (%u not supported by this CPU)", res.ok, res.unsupported);
}

// What vmxlab asks of VMX, one row per control field. Required bits missing
// stop the boot (UNSUPPORTED) naming the control; optional ones are used where
// the CPU has them, and the code that depends on one asks ctl_on().
static const struct {
    enum ctl_kind kind;
    uint64_t *cap;
    uint32_t required, optional;
    uint32_t *out;
} wanted[] = {
    // External interrupts and NMIs are the host's: they exit (SDM 3C 26.2),
    // never reach the guest's IDT. The preemption timer is the watchdog.
    { CTL_PIN, &caps.raw.pinbased, CTL_PIN_EXTINT_EXITING | CTL_PIN_NMI_EXITING,
      CTL_PIN_PREEMPTION_TIMER, &ctls.pin },
    // Exits for what would let a guest reach or observe the machine: HLT,
    // every I/O port, MWAIT/MONITOR, RDPMC, CR8 (the real TPR), and every MSR
    // the bitmap of hv/msr.c does not let through. TSC offsetting makes a
    // guest's WRMSR to the TSC its own.
    { CTL_PROC, &caps.raw.procbased,
      CTL_PROC_HLT_EXITING | CTL_PROC_MWAIT_EXITING | CTL_PROC_RDPMC_EXITING |
          CTL_PROC_CR8_LOAD_EXITING | CTL_PROC_CR8_STORE_EXITING |
          CTL_PROC_UNCOND_IO_EXITING | CTL_PROC_MONITOR_EXITING | CTL_PROC_MSR_BITMAPS,
      CTL_PROC_TSC_OFFSETTING | CTL_PROC_SECONDARY_CONTROLS, &ctls.proc },
    // EPT where the CPU has it (else paging=shadow, hv/shadow.c). RDTSCP lets
    // guests time with it; WBINVD, RDRAND and RDSEED exit where the CPU can
    // make them. Without secondary controls all of these are off (SDM 3C
    // 25.6.2: the field exists only with "activate secondary controls").
    { CTL_PROC2, &caps.raw.procbased2, 0,
      CTL_PROC2_EPT | CTL_PROC2_VPID | CTL_PROC2_RDTSCP | CTL_PROC2_WBINVD_EXITING |
          CTL_PROC2_RDRAND_EXITING | CTL_PROC2_RDSEED_EXITING,
      &ctls.proc2 },
    // The host is 64-bit; an external interrupt is taken from the controller
    // at the exit (else it stays pending and exits again at once); DR7 and
    // IA32_DEBUGCTL are the guest's across exits; EFER and PAT switch.
    { CTL_EXIT, &caps.raw.exit,
      CTL_EXIT_HOST_ADDR_SPACE_SIZE | CTL_EXIT_ACK_INTR_ON_EXIT |
          CTL_EXIT_SAVE_DEBUG_CONTROLS,
      CTL_EXIT_SAVE_EFER | CTL_EXIT_LOAD_EFER | CTL_EXIT_SAVE_PAT | CTL_EXIT_LOAD_PAT |
          CTL_EXIT_SAVE_PREEMPTION_TIMER,
      &ctls.exit },
    { CTL_ENTRY, &caps.raw.entry, CTL_ENTRY_IA32E_MODE_GUEST | CTL_ENTRY_LOAD_DEBUG_CONTROLS,
      CTL_ENTRY_LOAD_EFER | CTL_ENTRY_LOAD_PAT, &ctls.entry },
};

// The controls with EPT, as vmx_controls_init() chose them; ctls are those of
// the current run (vmcs_setup()), which under paging=shadow differ.
static struct vmx_controls base;

void vmx_controls_init(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
        unsigned bit;
        if (ctl_adjust(*wanted[i].cap, wanted[i].required, wanted[i].optional, wanted[i].out,
                       &bit)) {
            kprintf("vmxlab: UNSUPPORTED: this CPU lacks the %s '%s' (bit %u), "
                    "which vmxlab needs.\n", ctl_kind_name(wanted[i].kind),
                    ctl_bit_name(wanted[i].kind, bit), bit);
            end_run(VERDICT_UNSUPPORTED);
        }
    }
    if (!(ctls.proc & CTL_PROC_SECONDARY_CONTROLS))
        ctls.proc2 = 0;
    // EPT only as SDM 3C 29.3 needs it here: 4-level walks, write-back tables.
    if (!caps.ept || !caps.ept_4level || !caps.ept_wb)
        ctls.proc2 &= ~(uint32_t)CTL_PROC2_EPT;
    // What MOV to CR4 may set: hv/exit_cr.c checks intercepted writes with it.
    cr4_guest_bits = cr4_guest_valid(caps.raw.cr4_fixed1, caps.raw.cpuid1, caps.raw.cpuid7);
    // VPID only with an INVVPID that can flush one VPID, or all (hv/exit_cr.c).
    if (!caps.invvpid_single && !caps.invvpid_all)
        ctls.proc2 &= ~(uint32_t)CTL_PROC2_VPID;
    // EFER and PAT switch only in both directions, or not at all.
    if (!(ctls.entry & CTL_ENTRY_LOAD_EFER) || !(ctls.exit & CTL_EXIT_LOAD_EFER)) {
        ctls.entry &= ~(uint32_t)CTL_ENTRY_LOAD_EFER;
        ctls.exit &= ~(uint32_t)(CTL_EXIT_LOAD_EFER | CTL_EXIT_SAVE_EFER);
    }
    if (!(ctls.entry & CTL_ENTRY_LOAD_PAT) || !(ctls.exit & CTL_EXIT_LOAD_PAT)) {
        ctls.entry &= ~(uint32_t)CTL_ENTRY_LOAD_PAT;
        ctls.exit &= ~(uint32_t)(CTL_EXIT_LOAD_PAT | CTL_EXIT_SAVE_PAT);
    }
    msr_bitmap_init(); // after the controls: which MSRs exist depends on them
    base = ctls;
}

bool vmx_has_ept(void)
{
    return base.proc2 & CTL_PROC2_EPT;
}

// Shadow paging (hv/shadow.c) needs exits for every MOV to and from CR3 (the
// real CR3 is the shadow root), and for INVLPG; no EPT; and no VPID, so that
// every VM entry and exit flushes the real TLB (SDM 3C 29.1.2, 29.4.3.1) and
// a changed shadow entry takes effect at the next entry. 0, or the missing
// control's bit.
#define SHADOW_PROC (CTL_PROC_INVLPG_EXITING | CTL_PROC_CR3_LOAD_EXITING | \
                     CTL_PROC_CR3_STORE_EXITING)
int vmx_controls_for(bool shadow)
{
    ctls = base;
    if (!shadow)
        return 0;
    uint32_t allowed1 = (uint32_t)(caps.raw.procbased >> 32);
    if ((allowed1 & SHADOW_PROC) != SHADOW_PROC)
        return __builtin_ctz(SHADOW_PROC & ~allowed1);
    ctls.proc |= SHADOW_PROC;
    ctls.proc2 &= ~(uint32_t)(CTL_PROC2_EPT | CTL_PROC2_VPID);
    return 0;
}

bool ctl_on(enum ctl_kind kind, uint32_t bit)
{
    const uint32_t *v[CTL_KINDS] = { &ctls.pin, &ctls.proc, &ctls.proc2, &ctls.exit,
                                     &ctls.entry };
    return (unsigned)kind < CTL_KINDS && (*v[kind] & bit);
}

static uint64_t sgdt_base(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d;
    asm volatile("sgdt %0" : "=m"(d));
    return d.base;
}

static uint64_t sidt_base(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d;
    asm volatile("sidt %0" : "=m"(d));
    return d.base;
}

// exitpath=fast: VM exits land on hv/exit_fast.S, which hands what it does not
// finish to vmx_exit_stub. Not with trace=: every traced exit must reach C
// (hv/trace.c), so the fast path never has to ask whether one is traced.
bool exitpath_fast(void)
{
    return cfg.exitpath == EXITPATH_FAST && !cfg.trace;
}

void vmcs_setup(const struct vm_setup *s)
{
    extern char vmx_exit_stub[], vmx_exit_fast[], exit_stack_top[];

    // Controls (SDM 3C 25.6-25.8). The CR0/CR4 guest/host masks: 1 = host-owned.
    vmwrite(PIN_BASED_VM_EXEC_CONTROL, ctls.pin);
    vmwrite(CPU_BASED_VM_EXEC_CONTROL, ctls.proc);
    if (ctls.proc & CTL_PROC_SECONDARY_CONTROLS)
        vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls.proc2);
    // Guest exceptions go to the guest's own IDT, but a machine check is the
    // machine's: it exits (SDM 3C 25.6.3, 28.1). Under shadow paging every
    // #PF exits too: with mask and match both 0, bit 14 alone decides (SDM
    // 3C 25.6.3), and hv/shadow.c judges each by the guest's tables.
    vmwrite(EXCEPTION_BITMAP, BIT(VEC_MC) | (s->shadow ? BIT(VEC_PF) : 0));
    vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(VM_EXIT_CONTROLS, ctls.exit);
    vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_CONTROLS, ctls.entry);
    vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_INTR_INFO, 0);
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
    if (ctls.proc & CTL_PROC_TSC_OFFSETTING)
        vmwrite(TSC_OFFSET, 0);
    if (ctls.proc2 & CTL_PROC2_EPT)
        vmwrite(EPT_POINTER, s->eptp);
    if (ctls.proc2 & CTL_PROC2_VPID)
        vmwrite(VIRTUAL_PROCESSOR_ID, s->vpid);
    vmwrite(CR0_GUEST_HOST_MASK, ~s->cr0_owned);
    vmwrite(CR4_GUEST_HOST_MASK, ~s->cr4_owned);
    vmwrite(CR0_READ_SHADOW, s->cr0);
    vmwrite(CR4_READ_SHADOW, s->cr4);

    // Host state (SDM 3C 25.5): where a VM exit lands, and in what state.
    vmwrite(HOST_CS_SELECTOR, SEL_CODE64);
    vmwrite(HOST_SS_SELECTOR, SEL_DATA);
    vmwrite(HOST_DS_SELECTOR, SEL_DATA);
    vmwrite(HOST_ES_SELECTOR, SEL_DATA);
    vmwrite(HOST_FS_SELECTOR, 0);
    vmwrite(HOST_GS_SELECTOR, 0);
    vmwrite(HOST_TR_SELECTOR, SEL_TSS);
    vmwrite(HOST_IA32_SYSENTER_CS, 0);
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_FS_BASE, 0);
    vmwrite(HOST_GS_BASE, 0);
    vmwrite(HOST_TR_BASE, cpu_tss_base());
    vmwrite(HOST_GDTR_BASE, sgdt_base());
    vmwrite(HOST_IDTR_BASE, sidt_base());
    vmwrite(HOST_IA32_SYSENTER_ESP, 0);
    vmwrite(HOST_IA32_SYSENTER_EIP, 0);
    vmwrite(HOST_RSP, (uint64_t)exit_stack_top);
    vmwrite(HOST_RIP, exitpath_fast() ? (uint64_t)vmx_exit_fast : (uint64_t)vmx_exit_stub);
    if (ctls.exit & CTL_EXIT_LOAD_EFER)
        vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
    if (ctls.exit & CTL_EXIT_LOAD_PAT)
        vmwrite(HOST_IA32_PAT, rdmsr(MSR_PAT));

    // Guest state (SDM 3C 25.4): 64-bit mode from the first instruction.
    // Access rights: 0xa09b = present code, DPL 0, L=1, G=1; 0xc093 = present
    // data, D/B=1, G=1; 0x8b = busy 64-bit TSS; bit 16 = unusable (LDTR).
    static const uint32_t data_sel[] = { GUEST_ES_SELECTOR, GUEST_SS_SELECTOR,
                                         GUEST_DS_SELECTOR, GUEST_FS_SELECTOR,
                                         GUEST_GS_SELECTOR };
    for (size_t i = 0; i < ARRAY_SIZE(data_sel); i++) {
        uint32_t sel = data_sel[i]; // selector, limit, AR and base are 2 apart
        vmwrite(sel, SEL_DATA);
        vmwrite(GUEST_ES_LIMIT + (sel - GUEST_ES_SELECTOR), 0xffffffff);
        vmwrite(GUEST_ES_AR_BYTES + (sel - GUEST_ES_SELECTOR), 0xc093);
        vmwrite(GUEST_ES_BASE + (sel - GUEST_ES_SELECTOR), 0);
    }
    vmwrite(GUEST_CS_SELECTOR, SEL_CODE64);
    vmwrite(GUEST_CS_LIMIT, 0xffffffff);
    vmwrite(GUEST_CS_AR_BYTES, 0xa09b);
    vmwrite(GUEST_CS_BASE, 0);
    vmwrite(GUEST_TR_SELECTOR, SEL_TSS);
    vmwrite(GUEST_TR_LIMIT, 0x67);
    vmwrite(GUEST_TR_AR_BYTES, 0x8b);
    vmwrite(GUEST_TR_BASE, 0);
    vmwrite(GUEST_LDTR_SELECTOR, 0);
    vmwrite(GUEST_LDTR_LIMIT, 0);
    vmwrite(GUEST_LDTR_AR_BYTES, 1u << 16);
    vmwrite(GUEST_LDTR_BASE, 0);
    vmwrite(GUEST_GDTR_BASE, s->hdr->gdt_base);
    vmwrite(GUEST_GDTR_LIMIT, s->hdr->gdt_limit);
    vmwrite(GUEST_IDTR_BASE, s->hdr->idt_base);
    vmwrite(GUEST_IDTR_LIMIT, s->hdr->idt_limit);
    // The real CR0/CR4 carry the VMX fixed bits (SDM 3C 24.8) and CR4.MCE,
    // so that a machine check reaches the host instead of shutting down.
    vmwrite(GUEST_CR0, (s->cr0 | vcpu.cr0_force) & caps.raw.cr0_fixed1);
    // Under shadow paging the real CR3 is the shadow root for this WP
    // (hv/shadow.c); the guest's own CR3 is kept in struct vcpu.
    vmwrite(GUEST_CR3, s->shadow ? shadow_root() : s->hdr->cr3);
    vmwrite(GUEST_CR4, (s->cr4 | vcpu.cr4_force) & caps.raw.cr4_fixed1);
    vmwrite(GUEST_DR7, DR7_INIT);
    vmwrite(GUEST_RSP, s->hdr->rsp);
    vmwrite(GUEST_RIP, s->rip);
    vmwrite(GUEST_RFLAGS, RFLAGS_FIXED);
    vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_IA32_DEBUGCTL, 0);
    // EFER: LME and LMA (64-bit mode), NXE and SCE clear, whatever the loader
    // left in the host's EFER. PAT: its reset value.
    if (ctls.entry & CTL_ENTRY_LOAD_EFER)
        vmwrite(GUEST_IA32_EFER, EFER_LME | EFER_LMA);
    if (ctls.entry & CTL_ENTRY_LOAD_PAT)
        vmwrite(GUEST_IA32_PAT, PAT_RESET);
    vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmwrite(GUEST_ACTIVITY_STATE, 0);
    vmwrite(VMCS_LINK_POINTER, ~0ull); // no shadow VMCS
}

// The watchdog: the VMX-preemption timer counts down while the guest runs, one
// tick every 2^IA32_VMX_MISC[4:0] TSC ticks, and exits at 0 (SDM 3C 26.5.1,
// 3D A.6). With "save VMX-preemption timer value" it carries its count across
// exits, so it measures the run's guest time; without, it restarts at every
// entry and bounds each stretch without exits. It holds at most 2^32 - 1;
// hv/exit.c re-arms it while the run's budget of ticks lasts.
void arm_watchdog(uint64_t ticks)
{
    if (!(ctls.pin & CTL_PIN_PREEMPTION_TIMER))
        return;
    uint64_t count = ticks >> caps.timer_shift;
    vmwrite(VMX_PREEMPTION_TIMER_VALUE, count > 0xffffffff ? 0xffffffff : count ? count : 1);
}
