// breaks.c: break=NAME, one table of things broken on purpose in a VMCS that
// vmcs_setup() filled, each with the rule of hv/vmx/check.c that must name it and
// what the CPU must do (VMfailValid with error 7 or 8, or a VM-entry failure
// exit 33 or 34). hv/vmx/entry.c applies one right before a run's VMLAUNCH; the
// unit tests apply each to a good VMCS in memory. Pure: it writes the VMCS it
// is given, and the scratch page, nothing else.
#include "../../boot/x86.h"
#include "internal.h"

#define NONCANONICAL BIT(62) // not canonical with 48- or 57-bit linear addresses
#define RFLAGS_VM (1u << 17)

static uint64_t rd(const struct break_ctx *b, uint32_t field)
{
    uint64_t v = 0;
    b->vmcs->read(b->vmcs->ctx, field, &v);
    return v;
}

static void wr(const struct break_ctx *b, uint32_t field, uint64_t v)
{
    b->vmcs->write(b->vmcs->ctx, field, v);
}

static void set(const struct break_ctx *b, uint32_t field, uint64_t bits)
{
    wr(b, field, rd(b, field) | bits);
}

static void clear(const struct break_ctx *b, uint32_t field, uint64_t bits)
{
    wr(b, field, rd(b, field) & ~bits);
}

static uint32_t allowed0(const struct vmx_caps *c, enum ctl_kind k)
{
    const uint64_t caps[CTL_KINDS] = { c->raw.pinbased, c->raw.procbased, c->raw.procbased2,
                                       c->raw.exit, c->raw.entry };
    return (uint32_t)caps[k];
}

static uint32_t allowed1(const struct vmx_caps *c, enum ctl_kind k)
{
    const uint64_t caps[CTL_KINDS] = { c->raw.pinbased, c->raw.procbased, c->raw.procbased2,
                                       c->raw.exit, c->raw.entry };
    return (uint32_t)(caps[k] >> 32);
}

static const uint32_t ctl_fields[CTL_KINDS] = {
    [CTL_PIN] = PIN_BASED_VM_EXEC_CONTROL, [CTL_PROC] = CPU_BASED_VM_EXEC_CONTROL,
    [CTL_PROC2] = SECONDARY_VM_EXEC_CONTROL, [CTL_EXIT] = VM_EXIT_CONTROLS,
    [CTL_ENTRY] = VM_ENTRY_CONTROLS,
};

// A default-1 control cleared: the lowest bit the CPU requires (allowed-0).
static void clear_required(const struct break_ctx *b, enum ctl_kind k)
{
    clear(b, ctl_fields[k], BIT(__builtin_ctz(allowed0(b->caps, k))));
}

// A control the CPU lacks set: the highest bit its allowed-1 settings refuse.
static void set_refused(const struct break_ctx *b, enum ctl_kind k)
{
    set(b, ctl_fields[k], BIT(31 - __builtin_clz(~allowed1(b->caps, k))));
}

static void pin_default1(const struct break_ctx *b) { clear_required(b, CTL_PIN); }
static void pin_reserved(const struct break_ctx *b) { set_refused(b, CTL_PIN); }
static void proc_default1(const struct break_ctx *b) { clear_required(b, CTL_PROC); }
static void proc_reserved(const struct break_ctx *b) { set_refused(b, CTL_PROC); }
static void proc2_reserved(const struct break_ctx *b) { set_refused(b, CTL_PROC2); }
static void exit_default1(const struct break_ctx *b) { clear_required(b, CTL_EXIT); }
static void exit_reserved(const struct break_ctx *b) { set_refused(b, CTL_EXIT); }
static void entry_default1(const struct break_ctx *b) { clear_required(b, CTL_ENTRY); }
static void entry_reserved(const struct break_ctx *b) { set_refused(b, CTL_ENTRY); }

static const char *no_allowed0(const struct vmx_caps *c, enum ctl_kind k)
{
    return allowed0(c, k) ? NULL : "this CPU requires no control of that field to be 1";
}
static const char *no_allowed0_pin(const struct vmx_caps *c) { return no_allowed0(c, CTL_PIN); }
static const char *no_allowed0_proc(const struct vmx_caps *c) { return no_allowed0(c, CTL_PROC); }
static const char *no_allowed0_exit(const struct vmx_caps *c) { return no_allowed0(c, CTL_EXIT); }
static const char *no_allowed0_entry(const struct vmx_caps *c)
{
    return no_allowed0(c, CTL_ENTRY);
}

static const char *all_allowed(const struct vmx_caps *c, enum ctl_kind k)
{
    return ~allowed1(c, k) ? NULL : "this CPU allows every control of that field";
}
static const char *all_allowed_pin(const struct vmx_caps *c) { return all_allowed(c, CTL_PIN); }
static const char *all_allowed_proc(const struct vmx_caps *c) { return all_allowed(c, CTL_PROC); }
static const char *all_allowed_proc2(const struct vmx_caps *c)
{
    return all_allowed(c, CTL_PROC2);
}
static const char *all_allowed_exit(const struct vmx_caps *c) { return all_allowed(c, CTL_EXIT); }
static const char *all_allowed_entry(const struct vmx_caps *c)
{
    return all_allowed(c, CTL_ENTRY);
}

static void cr3_targets(const struct break_ctx *b)
{
    wr(b, CR3_TARGET_COUNT, ((b->caps->raw.misc >> 16) & 0x1ff) + 1);
}

// Bitmap B is fine; A starts in the middle of a page.
static void io_bitmap(const struct break_ctx *b)
{
    set(b, CPU_BASED_VM_EXEC_CONTROL, CTL_PROC_IO_BITMAPS);
    wr(b, IO_BITMAP_A, b->scratch_pa + 0x800);
    wr(b, IO_BITMAP_B, b->scratch_pa);
}

static void msr_bitmap_mid(const struct break_ctx *b) { set(b, MSR_BITMAP, 0x800); }

// "use TPR shadow" with the scratch page as the virtual-APIC page (VTPR 0).
static void tpr_shadow(const struct break_ctx *b, uint64_t page, uint64_t threshold)
{
    set(b, CPU_BASED_VM_EXEC_CONTROL, CTL_PROC_TPR_SHADOW);
    wr(b, VIRTUAL_APIC_PAGE_ADDR, page);
    wr(b, TPR_THRESHOLD, threshold);
}

static void vapic_addr(const struct break_ctx *b) { tpr_shadow(b, b->scratch_pa + 0x80, 0); }
static void tpr_threshold(const struct break_ctx *b) { tpr_shadow(b, b->scratch_pa, 0x10); }
// The rule holds only without "virtualize APIC accesses", which vmxlab's VMCS has where
// the CPU virtualises the APIC (hv/exit/mmio.c): cleared.
static void tpr_above_vtpr(const struct break_ctx *b)
{
    tpr_shadow(b, b->scratch_pa, 5);
    clear(b, SECONDARY_VM_EXEC_CONTROL, CTL_PROC2_VIRT_APIC_ACCESSES);
}

// Without the TPR shadow vmxlab's VMCS may have, nor the APIC virtualisation that goes
// with it (which would break this rule or another first).
static void x2apic_no_tpr_shadow(const struct break_ctx *b)
{
    clear(b, CPU_BASED_VM_EXEC_CONTROL, CTL_PROC_TPR_SHADOW);
    clear(b, SECONDARY_VM_EXEC_CONTROL,
          CTL_PROC2_VIRT_APIC_ACCESSES | CTL_PROC2_APIC_REGISTER_VIRT);
    set(b, SECONDARY_VM_EXEC_CONTROL, CTL_PROC2_VIRT_X2APIC);
}

static void vnmi_no_nmi_exiting(const struct break_ctx *b)
{
    wr(b, PIN_BASED_VM_EXEC_CONTROL,
       (rd(b, PIN_BASED_VM_EXEC_CONTROL) & ~(uint64_t)CTL_PIN_NMI_EXITING) | CTL_PIN_VIRTUAL_NMIS);
}

static const char *nmi_exiting_required(const struct vmx_caps *c)
{
    return allowed0(c, CTL_PIN) & CTL_PIN_NMI_EXITING ? "this CPU requires NMI exiting" : NULL;
}

static void nmi_window_no_vnmi(const struct break_ctx *b)
{
    set(b, CPU_BASED_VM_EXEC_CONTROL, CTL_PROC_NMI_WINDOW_EXITING);
}

static void apic_access_addr(const struct break_ctx *b)
{
    set(b, SECONDARY_VM_EXEC_CONTROL, CTL_PROC2_VIRT_APIC_ACCESSES);
    wr(b, APIC_ACCESS_ADDR, b->scratch_pa + 0x10);
}

static void x2apic_and_apic_access(const struct break_ctx *b)
{
    tpr_shadow(b, b->scratch_pa, 0);
    set(b, SECONDARY_VM_EXEC_CONTROL, CTL_PROC2_VIRT_X2APIC | CTL_PROC2_VIRT_APIC_ACCESSES);
    wr(b, APIC_ACCESS_ADDR, b->scratch_pa);
}

static void vid_no_extint(const struct break_ctx *b)
{
    tpr_shadow(b, b->scratch_pa, 0);
    set(b, SECONDARY_VM_EXEC_CONTROL, CTL_PROC2_VIRT_INTR_DELIVERY);
    clear(b, PIN_BASED_VM_EXEC_CONTROL, CTL_PIN_EXTINT_EXITING);
}

static const char *extint_required(const struct vmx_caps *c)
{
    return allowed0(c, CTL_PIN) & CTL_PIN_EXTINT_EXITING ? "this CPU requires external-"
                                                            "interrupt exiting" : NULL;
}

static void vpid_zero(const struct break_ctx *b) { wr(b, VIRTUAL_PROCESSOR_ID, 0); }

// hv/vmx/vmcs.c turns VPID on only with an INVVPID that can flush one VPID or all.
static const char *no_vpid(const struct vmx_caps *c)
{
    return c->vpid && (c->invvpid_single || c->invvpid_all) ? NULL : "vmxlab does not use "
                                                                     "VPIDs on this CPU";
}

static void eptp_memtype(const struct break_ctx *b)
{
    wr(b, EPT_POINTER, (rd(b, EPT_POINTER) & ~7ull) | 2); // 2: no memory type at all
}

static void eptp_walk(const struct break_ctx *b)
{
    wr(b, EPT_POINTER, (rd(b, EPT_POINTER) & ~0x38ull) | (1 << 3)); // a 2-level walk
}

static void eptp_ad(const struct break_ctx *b) { set(b, EPT_POINTER, BIT(6)); }

static const char *has_ept_ad(const struct vmx_caps *c)
{
    return c->ept_ad ? "this CPU has EPT accessed/dirty flags: EPTP bit 6 is allowed "
                       "(Bochs: CPU=corei7_ivy_bridge_3770k lacks them)" : NULL;
}

static void eptp_reserved(const struct break_ctx *b) { set(b, EPT_POINTER, BIT(11)); }
static void eptp_width(const struct break_ctx *b)
{
    set(b, EPT_POINTER, BIT(b->caps->maxphyaddr));
}

static void ug_no_ept(const struct break_ctx *b)
{
    wr(b, SECONDARY_VM_EXEC_CONTROL, (rd(b, SECONDARY_VM_EXEC_CONTROL) & ~(uint64_t)CTL_PROC2_EPT) |
                                         CTL_PROC2_UNRESTRICTED_GUEST);
}

static void pml_no_ept(const struct break_ctx *b)
{
    wr(b, SECONDARY_VM_EXEC_CONTROL,
       (rd(b, SECONDARY_VM_EXEC_CONTROL) & ~(uint64_t)CTL_PROC2_EPT) | CTL_PROC2_PML);
}

static void timer_save_no_timer(const struct break_ctx *b)
{
    clear(b, PIN_BASED_VM_EXEC_CONTROL, CTL_PIN_PREEMPTION_TIMER);
    set(b, VM_EXIT_CONTROLS, CTL_EXIT_SAVE_PREEMPTION_TIMER);
}

static const char *timer_required(const struct vmx_caps *c)
{
    return allowed0(c, CTL_PIN) & CTL_PIN_PREEMPTION_TIMER ? "this CPU requires the "
                                                              "preemption timer" : NULL;
}

// One MSR entry, at an address 8 bytes off its required 16-byte alignment.
static void exit_msr_store_addr(const struct break_ctx *b)
{
    wr(b, VM_EXIT_MSR_STORE_COUNT, 1);
    wr(b, VM_EXIT_MSR_STORE_ADDR, b->scratch_pa + 8);
}

static void exit_msr_load_addr(const struct break_ctx *b)
{
    wr(b, VM_EXIT_MSR_LOAD_COUNT, 1);
    wr(b, VM_EXIT_MSR_LOAD_ADDR, b->scratch_pa + 8);
}

static void entry_msr_load_addr(const struct break_ctx *b)
{
    wr(b, VM_ENTRY_MSR_LOAD_COUNT, 1);
    wr(b, VM_ENTRY_MSR_LOAD_ADDR, b->scratch_pa + 8);
}

static void dual_monitor(const struct break_ctx *b)
{
    set(b, VM_ENTRY_CONTROLS, CTL_ENTRY_DEACTIVATE_DUAL_MONITOR);
}

// Event injection, SDM 3C 25.8.3: vector 7:0, type 10:8, deliver error code
// 11, valid 31.
#define INJECT(type, vector) (BIT(31) | ((type) << 8) | (vector))
static void inject(const struct break_ctx *b, uint64_t info, uint64_t error, uint64_t len)
{
    wr(b, VM_ENTRY_INTR_INFO, info);
    wr(b, VM_ENTRY_EXCEPTION_ERROR_CODE, error);
    wr(b, VM_ENTRY_INSTRUCTION_LEN, len);
}

static void inject_reserved(const struct break_ctx *b)
{
    inject(b, INJECT(3, VEC_UD) | BIT(12), 0, 0);
}
static void inject_type(const struct break_ctx *b) { inject(b, INJECT(1, 0), 0, 0); }
static void inject_nmi_vector(const struct break_ctx *b) { inject(b, INJECT(2, 3), 0, 0); }
static void inject_error_code(const struct break_ctx *b)
{
    inject(b, INJECT(3, VEC_UD) | BIT(11), 0, 0); // #UD pushes no error code
}
static void inject_error_value(const struct break_ctx *b)
{
    inject(b, INJECT(3, VEC_GP) | BIT(11), 0x10000, 0);
}
static void inject_length(const struct break_ctx *b) { inject(b, INJECT(4, 0x80), 0, 16); }

static const char *error_codes_optional(const struct vmx_caps *c)
{
    return c->raw.basic & BIT(56) ? "this CPU does not tie error codes to vectors "
                                    "(IA32_VMX_BASIC[56])" : NULL;
}

// --- host state
static void host_cr0_ne(const struct break_ctx *b) { clear(b, HOST_CR0, CR0_NE); }
static const char *ne_free(const struct vmx_caps *c)
{
    return c->raw.cr0_fixed0 & CR0_NE ? NULL : "this CPU does not fix CR0.NE to 1";
}
static void host_cr4_vmxe(const struct break_ctx *b) { clear(b, HOST_CR4, CR4_VMXE); }
static void host_cr3_width(const struct break_ctx *b)
{
    set(b, HOST_CR3, BIT(b->caps->maxphyaddr));
}
static void host_selector_rpl(const struct break_ctx *b) { set(b, HOST_DS_SELECTOR, 3); }
static void host_cs_null(const struct break_ctx *b) { wr(b, HOST_CS_SELECTOR, 0); }
static void host_tr_null(const struct break_ctx *b) { wr(b, HOST_TR_SELECTOR, 0); }
static void host_fs_base(const struct break_ctx *b) { wr(b, HOST_FS_BASE, NONCANONICAL); }
static void host_sysenter_eip(const struct break_ctx *b)
{
    wr(b, HOST_IA32_SYSENTER_EIP, NONCANONICAL);
}
static void host_pat(const struct break_ctx *b)
{
    wr(b, HOST_IA32_PAT, (rd(b, HOST_IA32_PAT) & ~0xffull) | 2);
}
static void host_efer_reserved(const struct break_ctx *b) { set(b, HOST_IA32_EFER, BIT(1)); }
static void host_efer_lma(const struct break_ctx *b) { clear(b, HOST_IA32_EFER, EFER_LMA); }

// The issue's own example: clear "host address-space size" (and "load
// IA32_EFER", whose LMA would otherwise disagree too).
static void host_32bit(const struct break_ctx *b)
{
    clear(b, VM_EXIT_CONTROLS, CTL_EXIT_HOST_ADDR_SPACE_SIZE | CTL_EXIT_LOAD_EFER);
}
static void host_cr4_pae(const struct break_ctx *b) { clear(b, HOST_CR4, CR4_PAE); }
static void host_rip(const struct break_ctx *b) { set(b, HOST_RIP, NONCANONICAL); }

// hv/vmx/vmcs.c loads IA32_PAT and IA32_EFER only where both directions can.
static bool loads(const struct vmx_caps *c, uint32_t exit, uint32_t entry)
{
    return (allowed1(c, CTL_EXIT) & exit) && (allowed1(c, CTL_ENTRY) & entry);
}
static const char *no_load_pat(const struct vmx_caps *c)
{
    return loads(c, CTL_EXIT_LOAD_PAT, CTL_ENTRY_LOAD_PAT) ? NULL : "vmxlab does not load "
                                                                    "IA32_PAT on this CPU";
}
static const char *no_load_efer(const struct vmx_caps *c)
{
    return loads(c, CTL_EXIT_LOAD_EFER, CTL_ENTRY_LOAD_EFER) ? NULL : "vmxlab does not load "
                                                                      "IA32_EFER on this CPU";
}

// --- guest state
static void guest_cr0_ne(const struct break_ctx *b) { clear(b, GUEST_CR0, CR0_NE); }

static void unrestricted(const struct break_ctx *b)
{
    set(b, SECONDARY_VM_EXEC_CONTROL, CTL_PROC2_UNRESTRICTED_GUEST);
}
static void guest_pg_without_pe(const struct break_ctx *b)
{
    unrestricted(b);
    clear(b, GUEST_CR0, CR0_PE);
}
static void guest_cr4_vmxe(const struct break_ctx *b) { clear(b, GUEST_CR4, CR4_VMXE); }
static void guest_cet_without_wp(const struct break_ctx *b)
{
    set(b, GUEST_CR4, CR4_CET);
    clear(b, GUEST_CR0, CR0_WP);
}
static const char *no_cet(const struct vmx_caps *c)
{
    return c->raw.cr4_fixed1 & CR4_CET ? NULL : "this CPU has no CET (CR4.CET fixed to 0; "
                                                "Bochs: CPU=tigerlake has it)";
}
static void guest_cr4_pae(const struct break_ctx *b) { clear(b, GUEST_CR4, CR4_PAE); }
static void guest_cr3_width(const struct break_ctx *b)
{
    set(b, GUEST_CR3, BIT(b->caps->maxphyaddr));
}
static void guest_dr7(const struct break_ctx *b) { set(b, GUEST_DR7, BIT(32)); }
static void guest_sysenter_esp(const struct break_ctx *b)
{
    wr(b, GUEST_SYSENTER_ESP, NONCANONICAL);
}
static void guest_pat(const struct break_ctx *b)
{
    wr(b, GUEST_IA32_PAT, (rd(b, GUEST_IA32_PAT) & ~0xffull) | 2);
}
static void guest_efer_reserved(const struct break_ctx *b) { set(b, GUEST_IA32_EFER, BIT(1)); }
static void guest_efer_lma(const struct break_ctx *b)
{
    clear(b, GUEST_IA32_EFER, EFER_LMA | EFER_LME);
}
static void guest_efer_lme(const struct break_ctx *b) { clear(b, GUEST_IA32_EFER, EFER_LME); }

// A 32-bit guest with PAE paging: no "IA-32e mode guest", EFER.LMA and LME 0,
// a 32-bit CS, and empty PDPTEs (EPT takes them from the VMCS).
static void to_32bit(const struct break_ctx *b)
{
    clear(b, VM_ENTRY_CONTROLS, CTL_ENTRY_IA32E_MODE_GUEST);
    if (rd(b, VM_ENTRY_CONTROLS) & CTL_ENTRY_LOAD_EFER)
        clear(b, GUEST_IA32_EFER, EFER_LME | EFER_LMA);
    wr(b, GUEST_CS_AR_BYTES, 0xc09b); // code, D/B = 1, L = 0
    wr(b, GUEST_PDPTE0, 0);
    wr(b, GUEST_PDPTE1, 0);
    wr(b, GUEST_PDPTE2, 0);
    wr(b, GUEST_PDPTE3, 0);
}
static void guest_pcide_32bit(const struct break_ctx *b)
{
    to_32bit(b);
    set(b, GUEST_CR4, CR4_PCIDE);
}
static const char *no_pcide(const struct vmx_caps *c)
{
    return c->raw.cr4_fixed1 & CR4_PCIDE ? NULL : "this CPU has no PCIDs";
}
static void guest_pdpte(const struct break_ctx *b)
{
    to_32bit(b);
    wr(b, GUEST_PDPTE0, 1 | BIT(1)); // present, with reserved bit 1
}

// Virtual-8086 mode: a 32-bit guest with RFLAGS.VM and real-mode-like
// segments (base = selector * 16, limit 0xffff, access rights 0xf3).
static void to_v86(const struct break_ctx *b)
{
    static const enum guest_seg segs[] = { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };
    to_32bit(b);
    set(b, GUEST_RFLAGS, RFLAGS_VM);
    for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
        const struct guest_seg_fields *f = &guest_segs[segs[i]];
        wr(b, f->sel, 0x1000);
        wr(b, f->base, 0x10000);
        wr(b, f->limit, 0xffff);
        wr(b, f->ar, 0xf3);
    }
}
static void guest_v86_base(const struct break_ctx *b)
{
    to_v86(b);
    wr(b, GUEST_DS_BASE, 0x10010);
}
static void guest_v86_limit(const struct break_ctx *b)
{
    to_v86(b);
    wr(b, GUEST_DS_LIMIT, 0x1ffff);
}
static void guest_v86_ar(const struct break_ctx *b)
{
    to_v86(b);
    wr(b, GUEST_DS_AR_BYTES, 0xf2);
}

// Access rights as vmcs_setup() writes them: CS 0xa09b, data 0xc093, TR
// 0x8b, LDTR unusable. 0xa09f is a conforming CS, which makes SS.DPL free of
// CS.DPL; 0xc0f3 is data with DPL 3.
static void guest_tr_ti(const struct break_ctx *b) { set(b, GUEST_TR_SELECTOR, 4); }
static void usable_ldtr(const struct break_ctx *b, uint64_t sel, uint64_t ar)
{
    wr(b, GUEST_LDTR_SELECTOR, sel);
    wr(b, GUEST_LDTR_BASE, 0);
    wr(b, GUEST_LDTR_LIMIT, 0);
    wr(b, GUEST_LDTR_AR_BYTES, ar);
}
static void guest_ldtr_ti(const struct break_ctx *b) { usable_ldtr(b, 4, 0x82); }
static void guest_ldtr_type(const struct break_ctx *b) { usable_ldtr(b, 0, 0x83); }
static void guest_ldtr_s(const struct break_ctx *b) { usable_ldtr(b, 0, 0x92); }
static void guest_ss_rpl(const struct break_ctx *b)
{
    wr(b, GUEST_CS_AR_BYTES, 0xa09f);
    set(b, GUEST_SS_SELECTOR, 3);
    wr(b, GUEST_SS_AR_BYTES, 0xc0f3);
}
static void guest_fs_base(const struct break_ctx *b) { wr(b, GUEST_FS_BASE, NONCANONICAL); }
static void guest_ds_base(const struct break_ctx *b) { wr(b, GUEST_DS_BASE, BIT(32)); }
static void guest_cs_type(const struct break_ctx *b) { wr(b, GUEST_CS_AR_BYTES, 0xa093); }
static void guest_ss_type(const struct break_ctx *b) { wr(b, GUEST_SS_AR_BYTES, 0xc091); }
static void guest_ds_unaccessed(const struct break_ctx *b) { wr(b, GUEST_DS_AR_BYTES, 0xc092); }
static void guest_ds_exec_only(const struct break_ctx *b) { wr(b, GUEST_DS_AR_BYTES, 0xc099); }
static void guest_ds_system(const struct break_ctx *b) { wr(b, GUEST_DS_AR_BYTES, 0xc083); }
static void guest_cs_dpl(const struct break_ctx *b) { wr(b, GUEST_CS_AR_BYTES, 0xa0fb); }
static void guest_ss_unusable_dpl(const struct break_ctx *b)
{
    wr(b, GUEST_CS_AR_BYTES, 0xa09f);
    wr(b, GUEST_SS_AR_BYTES, BIT(16) | 0xc0f3);
}
static void guest_ss_dpl_ug(const struct break_ctx *b)
{
    unrestricted(b);
    wr(b, GUEST_CS_AR_BYTES, 0xa093);
    wr(b, GUEST_SS_AR_BYTES, 0xc0f3);
}
static void guest_ds_rpl(const struct break_ctx *b) { set(b, GUEST_DS_SELECTOR, 3); }
static void guest_cs_not_present(const struct break_ctx *b) { clear(b, GUEST_CS_AR_BYTES, 0x80); }
static void guest_cs_ar_reserved(const struct break_ctx *b) { set(b, GUEST_CS_AR_BYTES, BIT(8)); }
static void guest_cs_l_and_d(const struct break_ctx *b) { set(b, GUEST_CS_AR_BYTES, BIT(14)); }
static void guest_ds_limit_g(const struct break_ctx *b) { wr(b, GUEST_DS_LIMIT, 0xff000); }
static void guest_tr_type(const struct break_ctx *b) { wr(b, GUEST_TR_AR_BYTES, 0x89); }
static void guest_tr_s(const struct break_ctx *b) { wr(b, GUEST_TR_AR_BYTES, 0x9b); }
static void guest_tr_unusable(const struct break_ctx *b) { set(b, GUEST_TR_AR_BYTES, BIT(16)); }
static void guest_gdtr_base(const struct break_ctx *b) { wr(b, GUEST_GDTR_BASE, NONCANONICAL); }
static void guest_idtr_limit(const struct break_ctx *b) { wr(b, GUEST_IDTR_LIMIT, 0x10000); }
static void guest_rip_high(const struct break_ctx *b)
{
    wr(b, GUEST_CS_AR_BYTES, 0xc09b); // compatibility mode
    set(b, GUEST_RIP, BIT(32));
}
static void guest_rflags_reserved(const struct break_ctx *b) { set(b, GUEST_RFLAGS, BIT(3)); }
static void rflags_bit1(const struct break_ctx *b) { clear(b, GUEST_RFLAGS, RFLAGS_FIXED); }
static void guest_rflags_vm(const struct break_ctx *b) { set(b, GUEST_RFLAGS, RFLAGS_VM); }
static void guest_inject_if(const struct break_ctx *b)
{
    clear(b, GUEST_RFLAGS, RFLAGS_IF);
    inject(b, INJECT(0, 0x20), 0, 0);
}
static void guest_activity(const struct break_ctx *b) { wr(b, GUEST_ACTIVITY_STATE, 4); }

// A guest at CPL 3 in HLT: CS and SS with RPL and DPL 3, so that only the
// HLT rule fails.
static void guest_hlt_cpl3(const struct break_ctx *b)
{
    set(b, GUEST_CS_SELECTOR, 3);
    wr(b, GUEST_CS_AR_BYTES, 0xa0fb);
    set(b, GUEST_SS_SELECTOR, 3);
    wr(b, GUEST_SS_AR_BYTES, 0xc0f3);
    wr(b, GUEST_ACTIVITY_STATE, 1);
}
static const char *no_hlt_state(const struct vmx_caps *c)
{
    return c->raw.misc & BIT(6) ? NULL : "this CPU cannot enter a guest in HLT";
}
static void sti_blocking(const struct break_ctx *b)
{
    set(b, GUEST_RFLAGS, RFLAGS_IF);
    wr(b, GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCK_STI);
}
static void guest_hlt_sti(const struct break_ctx *b)
{
    sti_blocking(b);
    wr(b, GUEST_ACTIVITY_STATE, 1);
}
static void guest_shutdown_inject(const struct break_ctx *b)
{
    wr(b, GUEST_ACTIVITY_STATE, 2);
    inject(b, INJECT(3, VEC_UD), 0, 0);
}
static const char *no_shutdown_state(const struct vmx_caps *c)
{
    return c->raw.misc & BIT(7) ? NULL : "this CPU cannot enter a guest in shutdown";
}
static void guest_intr_reserved(const struct break_ctx *b)
{
    wr(b, GUEST_INTERRUPTIBILITY_INFO, BIT(5));
}
static void guest_sti_and_movss(const struct break_ctx *b)
{
    sti_blocking(b);
    set(b, GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCK_MOV_SS);
}
static void guest_sti_without_if(const struct break_ctx *b)
{
    clear(b, GUEST_RFLAGS, RFLAGS_IF);
    wr(b, GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCK_STI);
}
static void guest_inject_sti(const struct break_ctx *b)
{
    sti_blocking(b);
    inject(b, INJECT(0, 0x20), 0, 0);
}
static void guest_nmi_movss(const struct break_ctx *b)
{
    wr(b, GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCK_MOV_SS);
    inject(b, INJECT(2, VEC_NMI), 0, 0);
}
static void guest_smi_blocked(const struct break_ctx *b)
{
    wr(b, GUEST_INTERRUPTIBILITY_INFO, BIT(2));
}
static void guest_pending_dbg(const struct break_ctx *b)
{
    wr(b, GUEST_PENDING_DBG_EXCEPTIONS, BIT(4));
}
static void link_pointer(const struct break_ctx *b) { wr(b, VMCS_LINK_POINTER, 0x1234); }
static void link_pointer_revision(const struct break_ctx *b)
{
    wr(b, VMCS_LINK_POINTER, b->scratch_pa); // a zeroed page: revision id 0
}
static void link_pointer_current(const struct break_ctx *b)
{
    wr(b, VMCS_LINK_POINTER, b->vmcs_pa);
}

// One VM-entry MSR-load entry in the scratch page (SDM 3C 25.8.2: index in
// bits 31:0, bits 63:32 reserved, then the value).
static void msr_load(const struct break_ctx *b, uint64_t first, uint64_t value)
{
    memcpy(b->scratch, &first, 8);
    memcpy(b->scratch + 8, &value, 8);
    wr(b, VM_ENTRY_MSR_LOAD_COUNT, 1);
    wr(b, VM_ENTRY_MSR_LOAD_ADDR, b->scratch_pa);
}
static void msr_load_reserved(const struct break_ctx *b)
{
    msr_load(b, BIT(32) | 0x174, 0); // IA32_SYSENTER_CS, with a reserved bit
}
static void msr_load_fs_base(const struct break_ctx *b) { msr_load(b, 0xc0000100, 0); }

// The table. .needs names controls the break turns on, which this CPU must
// allow; .cannot says why else it cannot break this here.
#define VMFAIL(n) { ENTRY_VMFAIL, n, 0 }
#define FAILED(reason, q) { ENTRY_FAILED_EXIT, EXIT_REASON_##reason, q }
#define NEEDS(kind, bits) { CTL_##kind, bits }

const struct entry_break entry_breaks[] = {
    { .name = "pin-default1", .rule = "ctl-pin-allowed0", .cpu = VMFAIL(7),
      .what = "the lowest pin-based control the CPU requires, cleared",
      .apply = pin_default1, .cannot = no_allowed0_pin },
    { .name = "pin-reserved", .rule = "ctl-pin-allowed1", .cpu = VMFAIL(7),
      .what = "the highest pin-based control the CPU refuses, set",
      .apply = pin_reserved, .cannot = all_allowed_pin },
    { .name = "proc-default1", .rule = "ctl-proc-allowed0", .cpu = VMFAIL(7),
      .what = "the lowest primary processor-based control the CPU requires, cleared",
      .apply = proc_default1, .cannot = no_allowed0_proc },
    { .name = "proc-reserved", .rule = "ctl-proc-allowed1", .cpu = VMFAIL(7),
      .what = "the highest primary processor-based control the CPU refuses, set",
      .apply = proc_reserved, .cannot = all_allowed_proc },
    { .name = "proc2-reserved", .rule = "ctl-proc2-allowed1", .cpu = VMFAIL(7),
      .what = "the highest secondary control the CPU refuses, set",
      .apply = proc2_reserved, .cannot = all_allowed_proc2 },
    { .name = "exit-default1", .rule = "ctl-exit-allowed0", .cpu = VMFAIL(7),
      .what = "the lowest VM-exit control the CPU requires, cleared",
      .apply = exit_default1, .cannot = no_allowed0_exit },
    { .name = "exit-reserved", .rule = "ctl-exit-allowed1", .cpu = VMFAIL(7),
      .what = "the highest VM-exit control the CPU refuses, set",
      .apply = exit_reserved, .cannot = all_allowed_exit },
    { .name = "entry-default1", .rule = "ctl-entry-allowed0", .cpu = VMFAIL(7),
      .what = "the lowest VM-entry control the CPU requires, cleared",
      .apply = entry_default1, .cannot = no_allowed0_entry },
    { .name = "entry-reserved", .rule = "ctl-entry-allowed1", .cpu = VMFAIL(7),
      .what = "the highest VM-entry control the CPU refuses, set",
      .apply = entry_reserved, .cannot = all_allowed_entry },
    { .name = "cr3-targets", .rule = "ctl-cr3-target-count", .cpu = VMFAIL(7),
      .what = "one CR3 target more than IA32_VMX_MISC allows", .apply = cr3_targets },
    { .name = "io-bitmap", .rule = "ctl-io-bitmaps", .cpu = VMFAIL(7),
      .what = "\"use I/O bitmaps\" with bitmap A in the middle of a page", .apply = io_bitmap,
      .needs = NEEDS(PROC, CTL_PROC_IO_BITMAPS) },
    { .name = "msr-bitmap", .rule = "ctl-msr-bitmap", .cpu = VMFAIL(7),
      .what = "the MSR bitmap moved to the middle of its page", .apply = msr_bitmap_mid },
    { .name = "vapic-addr", .rule = "ctl-tpr-shadow-addr", .cpu = VMFAIL(7),
      .what = "\"use TPR shadow\" with the virtual-APIC page in the middle of a page",
      .apply = vapic_addr, .needs = NEEDS(PROC, CTL_PROC_TPR_SHADOW) },
    { .name = "tpr-threshold", .rule = "ctl-tpr-threshold", .cpu = VMFAIL(7),
      .what = "\"use TPR shadow\" with TPR threshold 0x10", .apply = tpr_threshold,
      .needs = NEEDS(PROC, CTL_PROC_TPR_SHADOW) },
    { .name = "tpr-above-vtpr", .rule = "ctl-tpr-threshold-vtpr", .cpu = VMFAIL(7),
      .what = "\"use TPR shadow\" with TPR threshold 5 above a virtual TPR of 0",
      .apply = tpr_above_vtpr, .needs = NEEDS(PROC, CTL_PROC_TPR_SHADOW) },
    { .name = "x2apic-no-tpr-shadow", .rule = "ctl-no-tpr-shadow", .cpu = VMFAIL(7),
      .what = "\"virtualize x2APIC mode\" without \"use TPR shadow\"",
      .apply = x2apic_no_tpr_shadow, .needs = NEEDS(PROC2, CTL_PROC2_VIRT_X2APIC) },
    { .name = "vnmi-no-nmi-exiting", .rule = "ctl-virtual-nmis", .cpu = VMFAIL(7),
      .what = "\"virtual NMIs\" on, \"NMI exiting\" off", .apply = vnmi_no_nmi_exiting,
      .needs = NEEDS(PIN, CTL_PIN_VIRTUAL_NMIS), .cannot = nmi_exiting_required },
    { .name = "nmi-window-no-vnmi", .rule = "ctl-nmi-window", .cpu = VMFAIL(7),
      .what = "\"NMI-window exiting\" without \"virtual NMIs\"", .apply = nmi_window_no_vnmi,
      .needs = NEEDS(PROC, CTL_PROC_NMI_WINDOW_EXITING) },
    { .name = "apic-access-addr", .rule = "ctl-apic-access-addr", .cpu = VMFAIL(7),
      .what = "\"virtualize APIC accesses\" with the APIC-access page in the middle of a page",
      .apply = apic_access_addr, .needs = NEEDS(PROC2, CTL_PROC2_VIRT_APIC_ACCESSES) },
    { .name = "x2apic-and-apic-access", .rule = "ctl-x2apic-apic-access", .cpu = VMFAIL(7),
      .what = "\"virtualize x2APIC mode\" and \"virtualize APIC accesses\" together",
      .apply = x2apic_and_apic_access,
      .needs = NEEDS(PROC2, CTL_PROC2_VIRT_X2APIC | CTL_PROC2_VIRT_APIC_ACCESSES) },
    { .name = "vid-no-extint", .rule = "ctl-vid-extint", .cpu = VMFAIL(7),
      .what = "\"virtual-interrupt delivery\" without \"external-interrupt exiting\"",
      .apply = vid_no_extint, .needs = NEEDS(PROC2, CTL_PROC2_VIRT_INTR_DELIVERY),
      .cannot = extint_required },
    { .name = "vpid-zero", .rule = "ctl-vpid", .cpu = VMFAIL(7),
      .what = "VPID 0, the host's, with \"enable VPID\"", .apply = vpid_zero,
      .cannot = no_vpid },
    { .name = "eptp-memtype", .rule = "ctl-eptp-memtype", .cpu = VMFAIL(7),
      .what = "the EPTP's memory type set to 2, which does not exist", .apply = eptp_memtype },
    { .name = "eptp-walk", .rule = "ctl-eptp-walk", .cpu = VMFAIL(7),
      .what = "the EPTP asking for a 2-level walk", .apply = eptp_walk },
    { .name = "eptp-ad", .rule = "ctl-eptp-ad", .cpu = VMFAIL(7),
      .what = "EPTP bit 6 (accessed/dirty flags) on a CPU without them", .apply = eptp_ad,
      .cannot = has_ept_ad },
    { .name = "eptp-reserved", .rule = "ctl-eptp-reserved", .cpu = VMFAIL(7),
      .what = "EPTP reserved bit 11 set", .apply = eptp_reserved },
    { .name = "eptp-width", .rule = "ctl-eptp-address", .cpu = VMFAIL(7),
      .what = "the EPTP with the bit just above the physical-address width",
      .apply = eptp_width },
    { .name = "ug-no-ept", .rule = "ctl-ug-ept", .cpu = VMFAIL(7),
      .what = "\"unrestricted guest\" on, \"enable EPT\" off", .apply = ug_no_ept,
      .needs = NEEDS(PROC2, CTL_PROC2_UNRESTRICTED_GUEST) },
    { .name = "pml-no-ept", .rule = "ctl-pml-ept", .cpu = VMFAIL(7),
      .what = "\"enable PML\" on, \"enable EPT\" off", .apply = pml_no_ept,
      .needs = NEEDS(PROC2, CTL_PROC2_PML) },
    { .name = "timer-save-no-timer", .rule = "ctl-preemption-save", .cpu = VMFAIL(7),
      .what = "\"save VMX-preemption timer value\" with the timer off",
      .apply = timer_save_no_timer, .needs = NEEDS(EXIT, CTL_EXIT_SAVE_PREEMPTION_TIMER),
      .cannot = timer_required },
    { .name = "exit-msr-store-addr", .rule = "ctl-exit-msr-store", .cpu = VMFAIL(7),
      .what = "one VM-exit MSR-store entry at an address that is not 16-byte aligned",
      .apply = exit_msr_store_addr },
    { .name = "exit-msr-load-addr", .rule = "ctl-exit-msr-load", .cpu = VMFAIL(7),
      .what = "one VM-exit MSR-load entry at an address that is not 16-byte aligned",
      .apply = exit_msr_load_addr },
    { .name = "entry-msr-load-addr", .rule = "ctl-entry-msr-load", .cpu = VMFAIL(7),
      .what = "one VM-entry MSR-load entry at an address that is not 16-byte aligned",
      .apply = entry_msr_load_addr },
    { .name = "dual-monitor", .rule = "ctl-entry-smm", .cpu = VMFAIL(7),
      .what = "\"deactivate dual-monitor treatment\" outside SMM", .apply = dual_monitor,
      .needs = NEEDS(ENTRY, CTL_ENTRY_DEACTIVATE_DUAL_MONITOR) },
    { .name = "inject-reserved", .rule = "ctl-entry-intr-reserved", .cpu = VMFAIL(7),
      .what = "an injected #UD with reserved bit 12 of its information set",
      .apply = inject_reserved },
    { .name = "inject-type", .rule = "ctl-entry-intr-type", .cpu = VMFAIL(7),
      .what = "an injected event of the reserved type 1", .apply = inject_type },
    { .name = "inject-nmi-vector", .rule = "ctl-entry-intr-vector", .cpu = VMFAIL(7),
      .what = "an injected NMI with vector 3", .apply = inject_nmi_vector },
    { .name = "inject-error-code", .rule = "ctl-entry-intr-error-code", .cpu = VMFAIL(7),
      .what = "an injected #UD that delivers an error code", .apply = inject_error_code,
      .cannot = error_codes_optional },
    { .name = "inject-error-value", .rule = "ctl-entry-intr-error-value", .cpu = VMFAIL(7),
      .what = "an injected #GP with error code 0x10000", .apply = inject_error_value },
    { .name = "inject-length", .rule = "ctl-entry-intr-length", .cpu = VMFAIL(7),
      .what = "an injected INT 0x80 with an instruction length of 16", .apply = inject_length },

    { .name = "host-cr0-ne", .rule = "host-cr0-fixed", .cpu = VMFAIL(8),
      .what = "host CR0 without NE, which IA32_VMX_CR0_FIXED0 requires",
      .apply = host_cr0_ne, .cannot = ne_free },
    { .name = "host-cr4-vmxe", .rule = "host-cr4-fixed", .cpu = VMFAIL(8),
      .what = "host CR4 without VMXE", .apply = host_cr4_vmxe },
    { .name = "host-cr3-width", .rule = "host-cr3", .cpu = VMFAIL(8),
      .what = "host CR3 with the bit just above the physical-address width",
      .apply = host_cr3_width },
    { .name = "host-selector-rpl", .rule = "host-sel-ti-rpl", .cpu = VMFAIL(8),
      .what = "host DS selector with RPL 3", .apply = host_selector_rpl },
    { .name = "host-cs-null", .rule = "host-cs", .cpu = VMFAIL(8),
      .what = "host CS selector 0", .apply = host_cs_null },
    { .name = "host-tr-null", .rule = "host-tr", .cpu = VMFAIL(8),
      .what = "host TR selector 0", .apply = host_tr_null },
    { .name = "host-fs-base", .rule = "host-base-canonical", .cpu = VMFAIL(8),
      .what = "a non-canonical host FS base", .apply = host_fs_base },
    { .name = "host-sysenter-eip", .rule = "host-sysenter", .cpu = VMFAIL(8),
      .what = "a non-canonical host IA32_SYSENTER_EIP", .apply = host_sysenter_eip },
    { .name = "host-pat", .rule = "host-pat", .cpu = VMFAIL(8),
      .what = "host IA32_PAT entry 0 of the reserved memory type 2", .apply = host_pat,
      .cannot = no_load_pat },
    { .name = "host-efer-reserved", .rule = "host-efer-reserved", .cpu = VMFAIL(8),
      .what = "host IA32_EFER with reserved bit 1", .apply = host_efer_reserved,
      .cannot = no_load_efer },
    { .name = "host-efer-lma", .rule = "host-efer-lma", .cpu = VMFAIL(8),
      .what = "host IA32_EFER without LMA for a 64-bit host", .apply = host_efer_lma,
      .cannot = no_load_efer },
    { .name = "host-32bit", .rule = "host-addr-space", .cpu = VMFAIL(8),
      .what = "\"host address-space size\" cleared while the host is in IA-32e mode",
      .apply = host_32bit },
    { .name = "host-cr4-pae", .rule = "host-as-pae", .cpu = VMFAIL(8),
      .what = "host CR4 without PAE for a 64-bit host", .apply = host_cr4_pae },
    { .name = "host-rip", .rule = "host-rip", .cpu = VMFAIL(8),
      .what = "a non-canonical host RIP", .apply = host_rip },

    { .name = "guest-cr0-ne", .rule = "guest-cr0-fixed", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "guest CR0 without NE", .apply = guest_cr0_ne, .cannot = ne_free },
    { .name = "guest-pg-without-pe", .rule = "guest-cr0-pg-pe",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "an unrestricted guest with CR0.PG and without CR0.PE",
      .apply = guest_pg_without_pe, .needs = NEEDS(PROC2, CTL_PROC2_UNRESTRICTED_GUEST) },
    { .name = "guest-cr4-vmxe", .rule = "guest-cr4-fixed", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "guest CR4 without VMXE, which IA32_VMX_CR4_FIXED0 requires",
      .apply = guest_cr4_vmxe },
    { .name = "guest-cet-without-wp", .rule = "guest-cet-wp",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "guest CR4.CET with CR0.WP clear",
      .apply = guest_cet_without_wp, .cannot = no_cet },
    { .name = "guest-cr4-pae", .rule = "guest-ia32e-pae", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a 64-bit guest without CR4.PAE", .apply = guest_cr4_pae },
    { .name = "guest-pcide-32bit", .rule = "guest-pcide", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a 32-bit guest with CR4.PCIDE", .apply = guest_pcide_32bit,
      .cannot = no_pcide },
    { .name = "guest-cr3-width", .rule = "guest-cr3", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "guest CR3 with the bit just above the physical-address width",
      .apply = guest_cr3_width },
    { .name = "guest-dr7", .rule = "guest-dr7", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "guest DR7 with bit 32 set", .apply = guest_dr7 },
    { .name = "guest-sysenter-esp", .rule = "guest-sysenter",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a non-canonical guest IA32_SYSENTER_ESP", .apply = guest_sysenter_esp },
    { .name = "guest-pat", .rule = "guest-pat", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "guest IA32_PAT entry 0 of the reserved memory type 2", .apply = guest_pat,
      .cannot = no_load_pat },
    { .name = "guest-efer-reserved", .rule = "guest-efer-reserved",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "guest IA32_EFER with reserved bit 1",
      .apply = guest_efer_reserved, .cannot = no_load_efer },
    { .name = "guest-efer-lma", .rule = "guest-efer-lma", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "an IA-32e mode guest with IA32_EFER.LMA and LME clear",
      .apply = guest_efer_lma, .cannot = no_load_efer },
    { .name = "guest-efer-lme", .rule = "guest-efer-lme", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a paging guest with IA32_EFER.LMA but not LME", .apply = guest_efer_lme,
      .cannot = no_load_efer },
    { .name = "guest-tr-ti", .rule = "guest-tr-ti", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a TR selector with TI set", .apply = guest_tr_ti },
    { .name = "guest-ldtr-ti", .rule = "guest-ldtr-ti", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a usable LDTR whose selector has TI set", .apply = guest_ldtr_ti },
    { .name = "guest-ss-rpl", .rule = "guest-ss-rpl", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "SS.RPL 3 under a conforming CS with RPL 0", .apply = guest_ss_rpl },
    { .name = "guest-v86-base", .rule = "guest-v86-base", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a virtual-8086 guest whose DS base is not DS * 16", .apply = guest_v86_base },
    { .name = "guest-v86-limit", .rule = "guest-v86-limit",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a virtual-8086 guest whose DS limit is not 0xffff", .apply = guest_v86_limit },
    { .name = "guest-v86-ar", .rule = "guest-v86-ar", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a virtual-8086 guest whose DS access rights are 0xf2, not 0xf3",
      .apply = guest_v86_ar },
    { .name = "guest-fs-base", .rule = "guest-base-canonical",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "a non-canonical guest FS base",
      .apply = guest_fs_base },
    { .name = "guest-ds-base", .rule = "guest-base-high", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a guest DS base above 4 GiB", .apply = guest_ds_base },
    { .name = "guest-cs-type", .rule = "guest-cs-type", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "guest CS access rights of a data segment (type 3)", .apply = guest_cs_type },
    { .name = "guest-ss-type", .rule = "guest-ss-type", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a read-only SS (type 1)", .apply = guest_ss_type },
    { .name = "guest-ds-unaccessed", .rule = "guest-data-accessed",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "a DS whose accessed bit is clear",
      .apply = guest_ds_unaccessed },
    { .name = "guest-ds-exec-only", .rule = "guest-data-readable",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "DS an execute-only code segment",
      .apply = guest_ds_exec_only },
    { .name = "guest-ds-system", .rule = "guest-seg-s", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "DS with S = 0, a system descriptor", .apply = guest_ds_system },
    { .name = "guest-cs-dpl", .rule = "guest-cs-dpl", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a non-conforming CS with DPL 3 over SS.DPL 0", .apply = guest_cs_dpl },
    { .name = "guest-ss-unusable-dpl", .rule = "guest-ss-dpl",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "SS marked unusable, with DPL 3 against RPL 0: unusable does not exempt "
              "SS.DPL, which is the CPL",
      .apply = guest_ss_unusable_dpl },
    { .name = "guest-ss-dpl-ug", .rule = "guest-ss-dpl-zero",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "an unrestricted guest with CS type 3 and SS.DPL 3", .apply = guest_ss_dpl_ug,
      .needs = NEEDS(PROC2, CTL_PROC2_UNRESTRICTED_GUEST) },
    { .name = "guest-ds-rpl", .rule = "guest-data-dpl", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a DS selector with RPL 3 above its DPL 0", .apply = guest_ds_rpl },
    { .name = "guest-cs-not-present", .rule = "guest-seg-p",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "CS with P = 0",
      .apply = guest_cs_not_present },
    { .name = "guest-cs-ar-reserved", .rule = "guest-seg-reserved",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "CS access rights with reserved bit 8",
      .apply = guest_cs_ar_reserved },
    { .name = "guest-cs-l-and-d", .rule = "guest-cs-l-db", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a 64-bit CS with D/B set too", .apply = guest_cs_l_and_d },
    { .name = "guest-ds-limit-g", .rule = "guest-seg-limit-g",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "DS limit 0xff000 with G = 1, which only limits ending in 0xfff can have",
      .apply = guest_ds_limit_g },
    { .name = "guest-tr-type", .rule = "guest-tr-type", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "TR an available (not busy) TSS", .apply = guest_tr_type },
    { .name = "guest-tr-s", .rule = "guest-tr-s", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "TR with S = 1", .apply = guest_tr_s },
    { .name = "guest-tr-unusable", .rule = "guest-tr-usable",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "TR marked unusable",
      .apply = guest_tr_unusable },
    { .name = "guest-ldtr-type", .rule = "guest-ldtr-type", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a usable LDTR of type 3", .apply = guest_ldtr_type },
    { .name = "guest-ldtr-s", .rule = "guest-ldtr-s", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a usable LDTR with S = 1", .apply = guest_ldtr_s },
    { .name = "guest-gdtr-base", .rule = "guest-desc-base", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a non-canonical GDTR base", .apply = guest_gdtr_base },
    { .name = "guest-idtr-limit", .rule = "guest-desc-limit",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "IDTR limit 0x10000",
      .apply = guest_idtr_limit },
    { .name = "guest-rip-high", .rule = "guest-rip-high", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "a guest in compatibility mode with RIP above 4 GiB", .apply = guest_rip_high },
    { .name = "guest-rflags-reserved", .rule = "guest-rflags-reserved",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "RFLAGS with reserved bit 3",
      .apply = guest_rflags_reserved },
    { .name = "rflags-bit1", .rule = "guest-rflags-bit1", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "RFLAGS bit 1 cleared", .apply = rflags_bit1 },
    { .name = "guest-rflags-vm", .rule = "guest-rflags-vm", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "RFLAGS.VM in a 64-bit guest", .apply = guest_rflags_vm },
    { .name = "guest-inject-if", .rule = "guest-rflags-if", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "an external interrupt injected with RFLAGS.IF 0", .apply = guest_inject_if },
    { .name = "guest-activity", .rule = "guest-activity", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "activity state 4, which does not exist", .apply = guest_activity },
    { .name = "guest-hlt-cpl3", .rule = "guest-activity-hlt-dpl",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "a CPL-3 guest in the HLT state",
      .apply = guest_hlt_cpl3, .cannot = no_hlt_state },
    { .name = "guest-hlt-sti", .rule = "guest-activity-blocking",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "a guest in HLT under blocking by STI",
      .apply = guest_hlt_sti, .cannot = no_hlt_state },
    { .name = "guest-shutdown-inject", .rule = "guest-activity-event",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "a #UD injected into a guest in shutdown",
      .apply = guest_shutdown_inject, .cannot = no_shutdown_state },
    { .name = "guest-intr-reserved", .rule = "guest-intr-reserved",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "interruptibility state with reserved bit 5", .apply = guest_intr_reserved },
    { .name = "guest-sti-and-movss", .rule = "guest-intr-sti-movss",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "blocking by STI and by MOV SS at once",
      .apply = guest_sti_and_movss },
    { .name = "guest-sti-without-if", .rule = "guest-intr-sti-if",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "blocking by STI with RFLAGS.IF 0",
      .apply = guest_sti_without_if },
    { .name = "guest-inject-sti", .rule = "guest-intr-extint",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "an external interrupt injected under blocking by STI", .apply = guest_inject_sti },
    { .name = "guest-nmi-movss", .rule = "guest-intr-nmi", .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "an NMI injected under blocking by MOV SS", .apply = guest_nmi_movss },
    { .name = "guest-smi-blocked", .rule = "guest-intr-smi",
      .cpu = FAILED(INVALID_GUEST_STATE, 0), .what = "blocking by SMI outside SMM",
      .apply = guest_smi_blocked },
    { .name = "guest-pending-dbg", .rule = "guest-pending-dbg-reserved",
      .cpu = FAILED(INVALID_GUEST_STATE, 0),
      .what = "pending debug exceptions with reserved bit 4", .apply = guest_pending_dbg },
    { .name = "link-pointer", .rule = "guest-link-pointer", .cpu = FAILED(INVALID_GUEST_STATE, 4),
      .what = "VMCS link pointer 0x1234, neither ~0 nor page-aligned", .apply = link_pointer },
    { .name = "link-pointer-revision", .rule = "guest-link-revision",
      .cpu = FAILED(INVALID_GUEST_STATE, 4),
      .what = "a VMCS link pointer to a zeroed page: revision id 0",
      .apply = link_pointer_revision },
    { .name = "link-pointer-current", .rule = "guest-link-current",
      .cpu = FAILED(INVALID_GUEST_STATE, 4), .what = "the VMCS link pointer to itself",
      .apply = link_pointer_current },
    { .name = "guest-pdpte", .rule = "guest-pdpte", .cpu = FAILED(INVALID_GUEST_STATE, 2),
      .what = "a 32-bit PAE guest whose PDPTE0 is present with reserved bit 1",
      .apply = guest_pdpte },

    { .name = "msr-load-reserved", .rule = "entry-msr-reserved", .cpu = FAILED(MSR_LOAD_FAIL, 1),
      .what = "a VM-entry MSR-load entry with reserved bit 32 set", .apply = msr_load_reserved },
    { .name = "msr-load-fs-base", .rule = "entry-msr-index", .cpu = FAILED(MSR_LOAD_FAIL, 1),
      .what = "a VM-entry MSR-load entry for IA32_FS_BASE", .apply = msr_load_fs_base },
};
const size_t entry_nbreaks = ARRAY_SIZE(entry_breaks);

const struct entry_break *break_find(const char *name, size_t len)
{
    for (size_t i = 0; i < entry_nbreaks; i++)
        if (strlen(entry_breaks[i].name) == len && !strncmp(entry_breaks[i].name, name, len))
            return &entry_breaks[i];
    return NULL;
}

const char *break_cannot(const struct entry_break *b, const struct vmx_caps *c, char *buf,
                         size_t size)
{
    uint32_t missing = b->needs.bits & ~allowed1(c, b->needs.kind);
    if (missing) {
        unsigned bit = (unsigned)__builtin_ctz(missing);
        snprintf(buf, size, "this CPU lacks the %s '%s'", ctl_kind_name(b->needs.kind),
                 ctl_bit_name(b->needs.kind, bit));
        return buf;
    }
    const char *why = b->cannot ? b->cannot(c) : NULL;
    if (why)
        snprintf(buf, size, "%s", why);
    return why ? buf : NULL;
}
