// vmcs.c: the VMCS on this CPU: the field table put to work (names for dumps, a
// VMWRITE/VMREAD round-trip self-test), the controls of this boot and run (chosen by
// hv/vmx/vmcs_build.c), and vmcs_setup(), which has vmcs_build() fill a freshly loaded
// VMCS for one guest run by VMWRITE, with the host state read here. Called by
// hv/run/experiment.c (controls, self-test) and hv/run/guest.c (setup); vmcs_dump() by every
// failure path. docs/03-vmcs.md explains every control.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../exit/exit.h"
#include "internal.h"

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

// The controls with EPT, as vmx_controls_init() chose them; ctls are those of
// the current run (vmcs_setup()), which under paging=shadow differ.
static struct vmx_controls base;

void vmx_controls_init(void)
{
    enum ctl_kind kind;
    unsigned bit;
    if (vmx_controls_choose(&caps, &ctls, &kind, &bit)) {
        kprintf("vmxlab: UNSUPPORTED: this CPU lacks the %s '%s' (bit %u), "
                "which vmxlab needs.\n", ctl_kind_name(kind), ctl_bit_name(kind, bit), bit);
        end_run(VERDICT_UNSUPPORTED);
    }
    // What MOV to CR4 may set: hv/exit/exit_cr.c checks intercepted writes with it.
    cr4_guest_bits = guest_cr4_valid(false);
    msr_bitmap_init(); // after the controls: which MSRs exist depends on them
    base = ctls;
}

bool vmx_has_ept(void)
{
    return base.proc2 & CTL_PROC2_EPT;
}

int vmx_controls_for(bool shadow, bool prot32)
{
    return vmx_controls_paging(&caps, &base, shadow, prot32, &ctls);
}

// A guest turns its paging off under EPT (hv/exit/exit_cr.c): VMX lets the CPU run that
// only with "unrestricted guest" (SDM 3C 25.6.2; 27.3.1.1: without it CR0.PG and PE
// are fixed to 1). A multiboot kernel starts with it (vmx_controls_paging()); a vmxlab
// guest gets it when it first leaves IA-32e mode, where the CPU has it. False if not.
bool vmx_unrestricted_guest(void)
{
    if (ctls.proc2 & CTL_PROC2_UNRESTRICTED_GUEST)
        return true;
    if (!caps.unrestricted_guest || !(ctls.proc2 & CTL_PROC2_EPT))
        return false;
    ctls.proc2 |= CTL_PROC2_UNRESTRICTED_GUEST;
    vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls.proc2);
    return true;
}

// EFER.LMA changed (hv/exit/exit_cr.c): the "IA-32e mode guest" entry control must
// agree with it at the next VM entry (SDM 3C 25.8.1, 27.3.1.1), as KVM's
// vm_entry_controls_setbit() in enter_lmode() keeps it.
void vmx_set_ia32e_guest(bool on)
{
    uint32_t entry = on ? ctls.entry | CTL_ENTRY_IA32E_MODE_GUEST
                        : ctls.entry & ~(uint32_t)CTL_ENTRY_IA32E_MODE_GUEST;
    if (entry == ctls.entry)
        return;
    ctls.entry = entry;
    vmwrite(VM_ENTRY_CONTROLS, entry);
}

// Asked on exit paths (hv/exit/cpuid.c): the fields at hand, no call.
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

// exitpath=fast: VM exits land on hv/vmx/exit_fast.S, which hands what it does not
// finish to vmx_exit_stub. Not with trace=: every traced exit must reach C
// (hv/exit/trace.c), so the fast path never has to ask whether one is traced.
bool exitpath_fast(void)
{
    return cfg.exitpath == EXITPATH_FAST && !cfg.trace;
}

// What a VM exit restores (SDM 3C 25.5), read from this CPU as the kernel
// runs: its control registers, tables and MSRs, the exit stack, and the exit
// path HOST_RIP lands on.
void host_state_now(struct host_state *h)
{
    extern char vmx_exit_stub[], vmx_exit_fast[], exit_stack_top[];
    *h = (struct host_state){
        .cr0 = read_cr0(), .cr3 = read_cr3(), .cr4 = read_cr4(), .tr_base = cpu_tss_base(),
        .gdtr_base = sgdt_base(), .idtr_base = sidt_base(), .rsp = (uint64_t)exit_stack_top,
        .rip = exitpath_fast() ? (uint64_t)vmx_exit_fast : (uint64_t)vmx_exit_stub,
        .efer = rdmsr(MSR_EFER), .pat = rdmsr(MSR_PAT),
    };
}

// The VMCS of a run, written by VMWRITE on the current VMCS; the first that
// fails ends the run through vmx_fail(), which names it and its error.
void vmcs_setup(const struct vm_setup *s)
{
    uint32_t field;
    if (vmcs_build(&vmcs_cpu, s, &field))
        vmx_fail("VMWRITE", field);
    // Without the EFER controls the guest's EFER is the host's register
    // (hv/exit/msr.c efer_load()), which the VMCS does not hold.
    if (!ctl_on(CTL_ENTRY, CTL_ENTRY_LOAD_EFER))
        efer_load();
}

// The watchdog: the VMX-preemption timer counts down while the guest runs, one
// tick every 2^IA32_VMX_MISC[4:0] TSC ticks, and exits at 0 (SDM 3C 26.5.1,
// 3D A.6). With "save VMX-preemption timer value" it carries its count across
// exits, so it measures the run's guest time; without, it restarts at every
// entry and bounds each stretch without exits. It holds at most 2^32 - 1;
// hv/exit/exit.c re-arms it while the run's budget of ticks lasts.
void arm_watchdog(uint64_t ticks)
{
    if (!(ctls.pin & CTL_PIN_PREEMPTION_TIMER))
        return;
    uint64_t count = ticks >> caps.timer_shift;
    vmwrite(VMX_PREEMPTION_TIMER_VALUE, count > 0xffffffff ? 0xffffffff : count ? count : 1);
}
