// vmcs.c: the VMCS field table put to work (names for dumps, a VMWRITE/VMREAD
// round-trip self-test), the choice of VMX controls, and vmcs_setup(), which
// fills a freshly loaded VMCS for one guest run: controls, host state, guest
// state, in the order of SDM 3C 25.3-25.8 (guest, host, controls).
// Called by hv/guest.c (setup) and hv/experiment.c (self-test); vmcs_dump()
// by every failure path.
#include "../boot/boot.h"
#include "../boot/x86.h"
#include "../guest/abi.h"
#include "hv.h"

// The width in each table entry must match its encoding (bits 14:13).
#define VMCS_FIELD(name, enc, width) \
    _Static_assert((((enc) >> 13) & 3) == (width), #name ": width does not match encoding");
#include "vmcs_fields.h"
#undef VMCS_FIELD

static const struct {
    uint32_t enc;
    const char *name;
} fields[] = {
#define VMCS_FIELD(name, enc, width) { enc, #name },
#include "vmcs_fields.h"
#undef VMCS_FIELD
};

struct vmx_controls ctls;

void vmcs_dump(void)
{
    kprintf("VMCS dump (fields this CPU supports):\n");
    unsigned n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        uint64_t v;
        if (vmread_safe(fields[i].enc, &v) == 0)
            kprintf("  %-28s %16lx%s", fields[i].name, v, ++n % 2 ? "" : "\n");
    }
    if (n % 2)
        kprintf("\n");
}

// Writable fields only: bits 11:10 = 1 is the read-only exit-information area.
static bool read_only(uint32_t enc)
{
    return ((enc >> 10) & 3) == 1;
}

// Writes a pattern to every writable field of a scratch VMCS and reads it
// back. Fields the CPU does not support (error 12) are counted, not failed.
void vmcs_selftest(void)
{
    static const uint64_t pattern[4] = { [W16] = 0xa5a5, [W64] = 0x5a5aa5a55a5aa5a5,
                                         [W32] = 0x5a5aa5a5, [WNAT] = 0x5a5aa5a55a5aa5a5 };
    void *scratch = vmx_alloc_region();
    vmcs_load(scratch);
    unsigned ok = 0, bad = 0, unsupported = 0;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        uint32_t enc = fields[i].enc;
        if (read_only(enc))
            continue;
        uint64_t want = pattern[(enc >> 13) & 3], got = 0;
        int err = vmwrite_safe(enc, want);
        if (err == 12) {
            unsupported++;
            continue;
        }
        if (!err)
            err = vmread_safe(enc, &got);
        if (err || got != want) {
            report(false, "vmcs-fields: %s (0x%x) wrote 0x%lx, read 0x%lx (error %d)",
                   fields[i].name, enc, want, got, err);
            bad++;
        } else {
            ok++;
        }
    }
    vmcs_clear(scratch);
    report(!bad && ok > 0, "vmcs-fields: %u writable fields round-trip through VMWRITE/VMREAD "
           "(%u not supported by this CPU)", ok, unsupported);
}

// What vmxlab asks of VMX. Required bits missing stop the run (UNSUPPORTED)
// naming the bit; optional ones are used where the CPU has them.
void vmx_controls_init(void)
{
    static const struct {
        enum ctl_kind kind;
        uint64_t *cap;
        uint32_t required, optional;
        uint32_t *out;
    } want[] = {
        // Pin-based: the preemption timer is the guest watchdog (bit 6).
        { CTL_PIN, &caps.raw.pinbased, 0, 1u << 6, &ctls.pin },
        // Primary: HLT (7) and unconditional I/O (24) exit, MSR bitmaps (28)
        // stay off so that every RDMSR/WRMSR exits too: a guest touches nothing
        // of the host's. Secondary controls (31) carry EPT.
        { CTL_PROC, &caps.raw.procbased, (1u << 7) | (1u << 24) | (1u << 31), 0, &ctls.proc },
        // Secondary: EPT (1) required, VPID (5) optional.
        { CTL_PROC2, &caps.raw.procbased2, 1u << 1, 1u << 5, &ctls.proc2 },
        // Exit: host address-space size (9): the host is 64-bit.
        { CTL_EXIT, &caps.raw.exit, 1u << 9, 0, &ctls.exit },
        // Entry: IA-32e mode guest (9): the guest starts in 64-bit mode.
        { CTL_ENTRY, &caps.raw.entry, 1u << 9, 0, &ctls.entry },
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        unsigned bit;
        if (ctl_adjust(*want[i].cap, want[i].required, want[i].optional, want[i].out, &bit)) {
            kprintf("vmxlab: UNSUPPORTED: this CPU lacks the %s '%s' (bit %u), "
                    "which vmxlab needs.\n", ctl_kind_name(want[i].kind),
                    ctl_bit_name(want[i].kind, bit), bit);
            end_run(VERDICT_UNSUPPORTED);
        }
    }
    // The CPU forced CR3 exits on (no TRUE controls)? exit.c emulates MOV CR3.
    ctls.vpid = ctls.proc2 & (1u << 5);
    ctls.timer = ctls.pin & (1u << 6);
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

void vmcs_setup(const struct vm_setup *s)
{
    extern char vmx_exit_stub[], exit_stack_top[];

    // Controls (SDM 3C 25.6). The CR0/CR4 guest/host masks: 1 = host-owned.
    vmwrite(PIN_BASED_VM_EXEC_CONTROL, ctls.pin);
    vmwrite(CPU_BASED_VM_EXEC_CONTROL, ctls.proc);
    vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls.proc2);
    vmwrite(EXCEPTION_BITMAP, 0); // guest exceptions go to the guest's own IDT
    vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(VM_EXIT_CONTROLS, ctls.exit);
    vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_CONTROLS, ctls.entry);
    vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_INTR_INFO, 0);
    vmwrite(EPT_POINTER, s->eptp);
    if (ctls.vpid)
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
    vmwrite(HOST_RIP, (uint64_t)vmx_exit_stub);

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
    vmwrite(GUEST_CR0, (s->cr0 | caps.raw.cr0_fixed0) & caps.raw.cr0_fixed1);
    vmwrite(GUEST_CR3, s->hdr->cr3);
    vmwrite(GUEST_CR4, (s->cr4 | caps.raw.cr4_fixed0) & caps.raw.cr4_fixed1);
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_RSP, s->hdr->rsp);
    vmwrite(GUEST_RIP, s->rip);
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_IA32_DEBUGCTL, 0);
    vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
    vmwrite(GUEST_ACTIVITY_STATE, 0);
    vmwrite(VMCS_LINK_POINTER, ~0ull); // no shadow VMCS
    // Watchdog: the timer counts down at the TSC rate >> IA32_VMX_MISC[4:0]
    // and is reloaded at every entry, so only a guest that runs 2^32 timer
    // ticks without any exit (tens of seconds) trips it (SDM 3C 26.5.1).
    if (ctls.timer)
        vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0xffffffff);
}
