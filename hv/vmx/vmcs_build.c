// vmcs_build.c: the VMCS vmxlab builds, as pure code. vmx_controls_choose() picks the
// controls from the capability MSRs (wanted[], one row per control field, each bit with
// its reason), vmx_controls_paging() adds what shadow paging needs, vm_setup_cr() the
// run's CR0/CR4 values, vmcs_build() writes every field through a struct vmcs_access,
// and invept_type() says which INVEPT vmxlab issues (invvpid_type(): internal.h). The kernel
// runs them on the CPU's VMCS (hv/vmx/vmcs.c, hv/vmx/vmx.c, hv/run/guest.c);
// tests/unit/test_profiles.c on imitations of real CPUs and of nested KVM.
// docs/03-vmcs.md explains every control. Nothing here keeps state.
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../exit/exit.h"
#include "internal.h"

// What vmxlab asks of VMX, one row per control field. Required bits missing
// stop the boot (UNSUPPORTED) naming the control; optional ones are used where
// the CPU has them, and the code that depends on one asks ctl_on().
static const struct {
    enum ctl_kind kind;
    uint32_t required, optional;
} wanted[] = {
    // External interrupts and NMIs are the host's: they exit (SDM 3C 26.2),
    // never reach the guest's IDT. The preemption timer is the watchdog.
    { CTL_PIN, CTL_PIN_EXTINT_EXITING | CTL_PIN_NMI_EXITING, CTL_PIN_PREEMPTION_TIMER },
    // Exits for what would let a guest reach or observe the machine: HLT,
    // every I/O port, MWAIT/MONITOR, RDPMC, CR8 (the real TPR), and every MSR
    // the bitmap of hv/exit/msr.c does not let through. TSC offsetting makes a
    // guest's WRMSR to the TSC its own. The TPR shadow is one of the three
    // controls of APIC virtualisation (below).
    { CTL_PROC,
      CTL_PROC_HLT_EXITING | CTL_PROC_MWAIT_EXITING | CTL_PROC_RDPMC_EXITING |
          CTL_PROC_CR8_LOAD_EXITING | CTL_PROC_CR8_STORE_EXITING |
          CTL_PROC_UNCOND_IO_EXITING | CTL_PROC_MONITOR_EXITING | CTL_PROC_MSR_BITMAPS,
      CTL_PROC_TSC_OFFSETTING | CTL_PROC_SECONDARY_CONTROLS | CTL_PROC_TPR_SHADOW },
    // EPT where the CPU has it (else paging=shadow, hv/mmu/shadow.c). RDTSCP lets
    // guests time with it; WBINVD, RDRAND and RDSEED exit where the CPU can
    // make them. The guest's local APIC page is virtualised by the CPU where it
    // can (hv/exit/mmio.c). Without secondary controls all of these are off (SDM
    // 3C 25.6.2: the field exists only with "activate secondary controls").
    { CTL_PROC2, 0,
      CTL_PROC2_EPT | CTL_PROC2_VPID | CTL_PROC2_RDTSCP | CTL_PROC2_WBINVD_EXITING |
          CTL_PROC2_RDRAND_EXITING | CTL_PROC2_RDSEED_EXITING |
          CTL_PROC2_VIRT_APIC_ACCESSES | CTL_PROC2_APIC_REGISTER_VIRT },
    // The host is 64-bit; an external interrupt is taken from the controller
    // at the exit (else it stays pending and exits again at once); DR7 and
    // IA32_DEBUGCTL are the guest's across exits; EFER and PAT switch.
    { CTL_EXIT,
      CTL_EXIT_HOST_ADDR_SPACE_SIZE | CTL_EXIT_ACK_INTR_ON_EXIT | CTL_EXIT_SAVE_DEBUG_CONTROLS,
      CTL_EXIT_SAVE_EFER | CTL_EXIT_LOAD_EFER | CTL_EXIT_SAVE_PAT | CTL_EXIT_LOAD_PAT |
          CTL_EXIT_SAVE_PREEMPTION_TIMER },
    { CTL_ENTRY, CTL_ENTRY_IA32E_MODE_GUEST | CTL_ENTRY_LOAD_DEBUG_CONTROLS,
      CTL_ENTRY_LOAD_EFER | CTL_ENTRY_LOAD_PAT },
};

int vmx_controls_choose(const struct vmx_caps *c, struct vmx_controls *out,
                        enum ctl_kind *kind, unsigned *bit)
{
    *out = (struct vmx_controls){ 0 };
    for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
        if (ctl_adjust(ctl_cap(c, wanted[i].kind), wanted[i].required, wanted[i].optional,
                       ctl_field(out, wanted[i].kind), bit)) {
            *kind = wanted[i].kind;
            return -1;
        }
    }
    if (!(out->proc & CTL_PROC_SECONDARY_CONTROLS))
        out->proc2 = 0;
    // EPT only as SDM 3C 29.3 needs it here: 4-level walks, write-back tables.
    if (!c->ept || !c->ept_4level || !c->ept_wb)
        out->proc2 &= ~(uint32_t)CTL_PROC2_EPT;
    // VPID only with an INVVPID that can flush one VPID, or all (hv/exit/exit_cr.c).
    if (!c->invvpid_single && !c->invvpid_all)
        out->proc2 &= ~(uint32_t)CTL_PROC2_VPID;
    // APIC virtualisation (SDM 3C 30) takes all three controls or none: with "APIC-register
    // virtualization" reads come from the virtual-APIC page and writes exit after
    // the fact, which is worth its pages; without it every access but the TPR's exits
    // as an APIC access, which the EPT violation's path does as well (hv/exit/mmio.c).
    uint32_t apicv2 = CTL_PROC2_VIRT_APIC_ACCESSES | CTL_PROC2_APIC_REGISTER_VIRT;
    if ((out->proc2 & apicv2) != apicv2 || !(out->proc & CTL_PROC_TPR_SHADOW)) {
        out->proc2 &= ~apicv2;
        out->proc &= ~(uint32_t)CTL_PROC_TPR_SHADOW;
    }
    // EFER and PAT switch only in both directions, or not at all.
    if (!(out->entry & CTL_ENTRY_LOAD_EFER) || !(out->exit & CTL_EXIT_LOAD_EFER)) {
        out->entry &= ~(uint32_t)CTL_ENTRY_LOAD_EFER;
        out->exit &= ~(uint32_t)(CTL_EXIT_LOAD_EFER | CTL_EXIT_SAVE_EFER);
    }
    if (!(out->entry & CTL_ENTRY_LOAD_PAT) || !(out->exit & CTL_EXIT_LOAD_PAT)) {
        out->entry &= ~(uint32_t)CTL_ENTRY_LOAD_PAT;
        out->exit &= ~(uint32_t)(CTL_EXIT_LOAD_PAT | CTL_EXIT_SAVE_PAT);
    }
    return 0;
}

// Shadow paging (hv/mmu/shadow.c) needs exits for every MOV to and from CR3 (the
// real CR3 is the shadow root), and for INVLPG; no EPT; and no VPID, so that
// every VM entry and exit flushes the real TLB (SDM 3C 29.1.2, 29.4.3.1) and
// a changed shadow entry takes effect at the next entry.
#define SHADOW_PROC (CTL_PROC_INVLPG_EXITING | CTL_PROC_CR3_LOAD_EXITING | \
                     CTL_PROC_CR3_STORE_EXITING)
//
// A guest that starts in 32-bit protected mode (a multiboot kernel) starts outside
// IA-32e mode: the "IA-32e mode guest" entry control is 0 until its MOV to CR0 turns
// IA-32e mode on (hv/exit/exit_cr.c). Under EPT it runs with paging off, which VMX
// allows only with "unrestricted guest" (SDM 3C 25.6.2; 27.3.1.1: without it CR0.PG
// and PE must be 1); under shadow paging the real paging is vmxlab's identity map.
int vmx_controls_paging(const struct vmx_caps *c, const struct vmx_controls *base, bool shadow,
                        bool prot32, struct vmx_controls *out)
{
    *out = *base;
    if (prot32)
        out->entry &= ~(uint32_t)CTL_ENTRY_IA32E_MODE_GUEST;
    if (prot32 && !shadow)
        out->proc2 |= CTL_PROC2_UNRESTRICTED_GUEST;
    if (!shadow)
        return 0;
    uint32_t allowed1 = (uint32_t)(c->raw.procbased >> 32);
    if ((allowed1 & SHADOW_PROC) != SHADOW_PROC)
        return __builtin_ctz(SHADOW_PROC & ~allowed1);
    out->proc |= SHADOW_PROC;
    out->proc2 &= ~(uint32_t)(CTL_PROC2_EPT | CTL_PROC2_VPID);
    return 0;
}

// A vmxlab guest starts in 64-bit mode with paging, WP set and SSE usable; a
// multiboot kernel (prot32) with CR0 0x11 (PE, ET) and CR4 0, as QEMU starts it. What
// the real CR0/CR4 hold besides follows the fixed-bit rule (SDM 3D A.7, A.8;
// hv/vmx/vmx.c), with PE and PG left to the guest where "unrestricted guest" runs it
// (EPT, SDM 3C 27.3.1.1), and keeps CR4.MCE, so that a machine check reaches the host
// instead of shutting down. Shadow paging emulates the guest's WP=0 in its entries
// with the real WP at 1 (hv/mmu/shadow.c), unless WP is the guest's (unsafe=1), and
// its real paging is PAE-format or IA-32e paging: CR4.PAE always.
void vm_setup_cr(const struct vmx_caps *c, bool shadow, bool prot32, uint64_t cr0_owned,
                 struct cr_setup *out)
{
    uint64_t fixed0 = c->raw.cr0_fixed0;
    if (prot32 && !shadow)
        fixed0 &= ~(uint64_t)(CR0_PE | CR0_PG);
    *out = (struct cr_setup){
        .cr0 = prot32 ? CR0_PE | CR0_ET : CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
        .cr4 = prot32 ? 0 : CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT,
        // The fixed-bit rule folded with cr0_normalize() for set_cr0().
        .cr0_keep = CR0_DEFINED & c->raw.cr0_fixed1,
        .cr0_force = (CR0_ET | fixed0) & c->raw.cr0_fixed1,
        .cr4_force = c->raw.cr4_fixed0 | CR4_MCE | (shadow ? CR4_PAE : 0),
    };
    if (shadow && !(cr0_owned & CR0_WP)) {
        out->cr0_keep &= ~(uint64_t)CR0_WP;
        out->cr0_force |= CR0_WP;
    }
}

// INVEPT (SDM 3C 31.3) by the single-context type where IA32_VMX_EPT_VPID_CAP
// offers it (bit 25), else all contexts (bit 26); 0 where vmxlab issues none.
unsigned invept_type(const struct vmx_caps *c)
{
    if (!c->invept)
        return 0;
    return c->invept_single ? 1 : c->invept_all ? 2 : 0;
}

// The IA32_PAT value at reset (SDM 3A 12.12.4): WB, WT, UC-, UC, twice.
#define PAT_RESET 0x0007040600070406ull

// Each VMWRITE, until the first that fails; that one's field and error stay.
struct writer {
    const struct vmcs_access *a;
    uint32_t failed;
    int err;
};

static void put(struct writer *w, uint32_t field, uint64_t val)
{
    if (!w->err && (w->err = w->a->write(w->a->ctx, field, val)))
        w->failed = field;
}

int vmcs_build(const struct vmcs_access *a, const struct vm_setup *s, uint32_t *failed)
{
    struct writer w = { a, 0, 0 };
    const struct vmx_controls *ctls = s->ctls;
    const struct host_state *h = s->host;

    // Controls (SDM 3C 25.6-25.8). The CR0/CR4 guest/host masks: 1 = host-owned.
    put(&w, PIN_BASED_VM_EXEC_CONTROL, ctls->pin);
    put(&w, CPU_BASED_VM_EXEC_CONTROL, ctls->proc);
    if (ctls->proc & CTL_PROC_SECONDARY_CONTROLS)
        put(&w, SECONDARY_VM_EXEC_CONTROL, ctls->proc2);
    // Guest exceptions go to the guest's own IDT, but a machine check is the
    // machine's: it exits (SDM 3C 25.6.3, 28.1). Under shadow paging every
    // #PF exits too: with mask and match both 0, bit 14 alone decides (SDM
    // 3C 25.6.3), and hv/mmu/shadow.c judges each by the guest's tables.
    put(&w, EXCEPTION_BITMAP, BIT(VEC_MC) | (s->shadow ? BIT(VEC_PF) : 0));
    put(&w, PAGE_FAULT_ERROR_CODE_MASK, 0);
    put(&w, PAGE_FAULT_ERROR_CODE_MATCH, 0);
    put(&w, CR3_TARGET_COUNT, 0);
    put(&w, VM_EXIT_CONTROLS, ctls->exit);
    put(&w, VM_EXIT_MSR_STORE_COUNT, 0);
    put(&w, VM_EXIT_MSR_LOAD_COUNT, 0);
    put(&w, VM_ENTRY_CONTROLS, ctls->entry);
    put(&w, VM_ENTRY_MSR_LOAD_COUNT, 0);
    put(&w, VM_ENTRY_INTR_INFO, 0);
    put(&w, MSR_BITMAP, s->msr_bitmap);
    if (ctls->proc & CTL_PROC_TSC_OFFSETTING)
        put(&w, TSC_OFFSET, 0);
    if (ctls->proc2 & CTL_PROC2_EPT)
        put(&w, EPT_POINTER, s->eptp);
    if (ctls->proc2 & CTL_PROC2_VPID)
        put(&w, VIRTUAL_PROCESSOR_ID, s->vpid);
    // The TPR threshold 0: no TPR-below-threshold exits (SDM 3C 25.6.8, 30.1.2).
    if (ctls->proc & CTL_PROC_TPR_SHADOW) {
        put(&w, VIRTUAL_APIC_PAGE_ADDR, s->vapic_page);
        put(&w, TPR_THRESHOLD, 0);
    }
    if (ctls->proc2 & CTL_PROC2_VIRT_APIC_ACCESSES)
        put(&w, APIC_ACCESS_ADDR, s->apic_access_page);
    put(&w, CR0_GUEST_HOST_MASK, ~s->cr0_owned);
    put(&w, CR4_GUEST_HOST_MASK, ~s->cr4_owned);
    put(&w, CR0_READ_SHADOW, s->cr.cr0);
    put(&w, CR4_READ_SHADOW, s->cr.cr4);

    // Host state (SDM 3C 25.5): where a VM exit lands, and in what state.
    put(&w, HOST_CS_SELECTOR, SEL_CODE64);
    put(&w, HOST_SS_SELECTOR, SEL_DATA);
    put(&w, HOST_DS_SELECTOR, SEL_DATA);
    put(&w, HOST_ES_SELECTOR, SEL_DATA);
    put(&w, HOST_FS_SELECTOR, 0);
    put(&w, HOST_GS_SELECTOR, 0);
    put(&w, HOST_TR_SELECTOR, SEL_TSS);
    put(&w, HOST_IA32_SYSENTER_CS, 0);
    put(&w, HOST_CR0, h->cr0);
    put(&w, HOST_CR3, h->cr3);
    put(&w, HOST_CR4, h->cr4);
    put(&w, HOST_FS_BASE, 0);
    put(&w, HOST_GS_BASE, 0);
    put(&w, HOST_TR_BASE, h->tr_base);
    put(&w, HOST_GDTR_BASE, h->gdtr_base);
    put(&w, HOST_IDTR_BASE, h->idtr_base);
    put(&w, HOST_IA32_SYSENTER_ESP, 0);
    put(&w, HOST_IA32_SYSENTER_EIP, 0);
    put(&w, HOST_RSP, h->rsp);
    put(&w, HOST_RIP, h->rip);
    if (ctls->exit & CTL_EXIT_LOAD_EFER)
        put(&w, HOST_IA32_EFER, h->efer);
    if (ctls->exit & CTL_EXIT_LOAD_PAT)
        put(&w, HOST_IA32_PAT, h->pat);

    // Guest state (SDM 3C 25.4): 64-bit mode from the first instruction, or for a
    // multiboot kernel 32-bit protected mode as QEMU's option ROM leaves it.
    // Access rights: 0xa09b = present code, DPL 0, L=1, G=1; 0xc09b the same with
    // D/B=1 for 32 bits; 0xc093 = present data, D/B=1, G=1; 0x8b = busy TSS (64-bit,
    // or 32-bit outside IA-32e mode: type 11 either way, SDM 3C 27.3.1.2); bit 16 =
    // unusable (LDTR).
    const struct guest_entry *g = &s->entry;
    static const uint32_t data_sel[] = { GUEST_ES_SELECTOR, GUEST_SS_SELECTOR,
                                         GUEST_DS_SELECTOR, GUEST_FS_SELECTOR,
                                         GUEST_GS_SELECTOR };
    for (size_t i = 0; i < ARRAY_SIZE(data_sel); i++) {
        uint32_t sel = data_sel[i]; // selector, limit, AR and base are 2 apart
        put(&w, sel, SEL_DATA);
        put(&w, GUEST_ES_LIMIT + (sel - GUEST_ES_SELECTOR), 0xffffffff);
        put(&w, GUEST_ES_AR_BYTES + (sel - GUEST_ES_SELECTOR), 0xc093);
        put(&w, GUEST_ES_BASE + (sel - GUEST_ES_SELECTOR), 0);
    }
    put(&w, GUEST_CS_SELECTOR, SEL_CODE64); // 0x08: QEMU's 32-bit code selector too
    put(&w, GUEST_CS_LIMIT, 0xffffffff);
    put(&w, GUEST_CS_AR_BYTES, g->prot32 ? 0xc09b : 0xa09b);
    put(&w, GUEST_CS_BASE, 0);
    // A multiboot kernel finds TR as after reset (selector 0, limit 0xffff), as KVM's
    // vCPU reset leaves it: it loads its own before it needs one.
    put(&w, GUEST_TR_SELECTOR, g->prot32 ? 0 : SEL_TSS);
    put(&w, GUEST_TR_LIMIT, g->prot32 ? 0xffff : 0x67);
    put(&w, GUEST_TR_AR_BYTES, 0x8b);
    put(&w, GUEST_TR_BASE, 0);
    put(&w, GUEST_LDTR_SELECTOR, 0);
    put(&w, GUEST_LDTR_LIMIT, 0);
    put(&w, GUEST_LDTR_AR_BYTES, 1u << 16);
    put(&w, GUEST_LDTR_BASE, 0);
    put(&w, GUEST_GDTR_BASE, g->gdt_base);
    put(&w, GUEST_GDTR_LIMIT, g->gdt_limit);
    put(&w, GUEST_IDTR_BASE, g->idt_base);
    put(&w, GUEST_IDTR_LIMIT, g->idt_limit);
    // The real CR0/CR4 carry the VMX fixed bits (SDM 3C 24.8) and CR4.MCE.
    put(&w, GUEST_CR0, (s->cr.cr0 | s->cr.cr0_force) & s->caps->raw.cr0_fixed1);
    // Under shadow paging the real CR3 is the shadow root for this WP
    // (hv/mmu/shadow.c); the guest's own CR3 is kept in struct vcpu.
    put(&w, GUEST_CR3, s->cr3);
    put(&w, GUEST_CR4, (s->cr.cr4 | s->cr.cr4_force) & s->caps->raw.cr4_fixed1);
    put(&w, GUEST_DR7, DR7_INIT);
    put(&w, GUEST_RSP, g->rsp);
    put(&w, GUEST_RIP, g->rip);
    put(&w, GUEST_RFLAGS, RFLAGS_FIXED);
    put(&w, GUEST_PENDING_DBG_EXCEPTIONS, 0);
    put(&w, GUEST_SYSENTER_CS, 0);
    put(&w, GUEST_SYSENTER_ESP, 0);
    put(&w, GUEST_SYSENTER_EIP, 0);
    put(&w, GUEST_IA32_DEBUGCTL, 0);
    // EFER: the guest's (hv/run/guest.c: LME and LMA, or for a multiboot kernel 0;
    // NXE and SCE clear, whatever the loader left in the host's EFER), made real as
    // hv/exit/msr.c makes it.
    // PAT: its reset value.
    if (ctls->entry & CTL_ENTRY_LOAD_EFER)
        put(&w, GUEST_IA32_EFER, efer_real(s->efer, s->shadow, s->caps->nx));
    if (ctls->entry & CTL_ENTRY_LOAD_PAT)
        put(&w, GUEST_IA32_PAT, PAT_RESET);
    put(&w, GUEST_INTERRUPTIBILITY_INFO, 0);
    put(&w, GUEST_ACTIVITY_STATE, 0);
    put(&w, VMCS_LINK_POINTER, ~0ull); // no shadow VMCS
    *failed = w.failed;
    return w.err;
}
