// exit.c: what happens at every VM exit. exit_stub.S calls vmx_exit_handler()
// with the guest's registers (with exitpath=fast, for the exits exit_fast.S
// does not finish itself); it counts the exit, dispatches on the basic exit
// reason through one table, and tells exit_stub.S what to do next (hv/vmx/regs.h:
// EXIT_RESUME, EXIT_STOP or EXIT_RESUME_RELOAD). Handlers that emulate an
// instruction complete it as the CPU would (complete_instruction()); nothing is
// ever skipped silently: an exit without a handler dumps the VMCS and ends the
// run. The CR-access handler is in exit_cr.c. SDM 3C 28.2 (exit information),
// 26 (what causes exits), 27.6 (event injection).
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../dev/dev.h"
#include "../mmu/mmu.h"
#include "internal.h"

struct vcpu vcpu;
uint64_t cr4_guest_bits;

int handle_cr(struct guest_regs *r); // exit_cr.c
static int handle_exception_nmi(struct guest_regs *r);
static int handle_extint(struct guest_regs *r);
static int handle_vmcall(struct guest_regs *r);
static int handle_preemption_timer(struct guest_regs *r);
static int handle_machine_check(struct guest_regs *r);
static int handle_ud(struct guest_regs *r);
static int handle_gp(struct guest_regs *r);
static int handle_nop(struct guest_regs *r);
static int handle_hlt(struct guest_regs *r);
static int handle_triple_fault(struct guest_regs *r);
static int handle_xsetbv(struct guest_regs *r);
static int handle_invlpg(struct guest_regs *r);

// One row per basic exit reason (SDM 3D appendix C). A NULL handler is an exit
// vmxlab does not expect: exit_unexpected() reports it and stops the run.
static const struct {
    int (*handler)(struct guest_regs *r);
    const char *name;
} exits[EXIT_REASON_MAX] = {
    [EXIT_REASON_EXCEPTION_NMI] = { handle_exception_nmi, "EXCEPTION_NMI" },
    [EXIT_REASON_EXTERNAL_INTERRUPT] = { handle_extint, "EXTERNAL_INTERRUPT" },
    [EXIT_REASON_TRIPLE_FAULT] = { handle_triple_fault, "TRIPLE_FAULT" },
    [EXIT_REASON_INIT] = { NULL, "INIT" },
    [EXIT_REASON_SIPI] = { NULL, "SIPI" },
    [EXIT_REASON_INTERRUPT_WINDOW] = { NULL, "INTERRUPT_WINDOW" },
    [EXIT_REASON_NMI_WINDOW] = { NULL, "NMI_WINDOW" },
    [EXIT_REASON_TASK_SWITCH] = { NULL, "TASK_SWITCH" },
    [EXIT_REASON_CPUID] = { handle_cpuid, "CPUID" },
    [EXIT_REASON_HLT] = { handle_hlt, "HLT" },
    [EXIT_REASON_INVD] = { handle_nop, "INVD" },
    [EXIT_REASON_INVLPG] = { handle_invlpg, "INVLPG" },
    [EXIT_REASON_RDPMC] = { handle_gp, "RDPMC" },
    [EXIT_REASON_RDTSC] = { NULL, "RDTSC" },
    [EXIT_REASON_VMCALL] = { handle_vmcall, "VMCALL" },
    [EXIT_REASON_VMCLEAR] = { handle_ud, "VMCLEAR" },
    [EXIT_REASON_VMLAUNCH] = { handle_ud, "VMLAUNCH" },
    [EXIT_REASON_VMPTRLD] = { handle_ud, "VMPTRLD" },
    [EXIT_REASON_VMPTRST] = { handle_ud, "VMPTRST" },
    [EXIT_REASON_VMREAD] = { handle_ud, "VMREAD" },
    [EXIT_REASON_VMRESUME] = { handle_ud, "VMRESUME" },
    [EXIT_REASON_VMWRITE] = { handle_ud, "VMWRITE" },
    [EXIT_REASON_VMXOFF] = { handle_ud, "VMXOFF" },
    [EXIT_REASON_VMXON] = { handle_ud, "VMXON" },
    [EXIT_REASON_CR_ACCESS] = { handle_cr, "CR_ACCESS" },
    [EXIT_REASON_DR_ACCESS] = { NULL, "DR_ACCESS" },
    [EXIT_REASON_IO_INSTRUCTION] = { handle_io, "IO_INSTRUCTION" },
    [EXIT_REASON_MSR_READ] = { handle_rdmsr, "MSR_READ" },
    [EXIT_REASON_MSR_WRITE] = { handle_wrmsr, "MSR_WRITE" },
    [EXIT_REASON_INVALID_GUEST_STATE] = { NULL, "INVALID_GUEST_STATE" },
    [EXIT_REASON_MSR_LOAD_FAIL] = { NULL, "MSR_LOAD_FAIL" },
    [EXIT_REASON_MWAIT] = { handle_ud, "MWAIT" },
    [EXIT_REASON_MONITOR_TRAP_FLAG] = { NULL, "MONITOR_TRAP_FLAG" },
    [EXIT_REASON_MONITOR] = { handle_ud, "MONITOR" },
    [EXIT_REASON_PAUSE] = { NULL, "PAUSE" },
    [EXIT_REASON_MACHINE_CHECK] = { handle_machine_check, "MACHINE_CHECK" },
    [EXIT_REASON_TPR_BELOW_THRESHOLD] = { NULL, "TPR_BELOW_THRESHOLD" },
    [EXIT_REASON_APIC_ACCESS] = { handle_apic_access, "APIC_ACCESS" },
    [EXIT_REASON_EOI_INDUCED] = { NULL, "EOI_INDUCED" },
    [EXIT_REASON_GDTR_IDTR] = { NULL, "GDTR_IDTR" },
    [EXIT_REASON_LDTR_TR] = { NULL, "LDTR_TR" },
    [EXIT_REASON_EPT_VIOLATION] = { handle_ept_violation, "EPT_VIOLATION" },
    [EXIT_REASON_EPT_MISCONFIG] = { NULL, "EPT_MISCONFIG" },
    [EXIT_REASON_INVEPT] = { handle_ud, "INVEPT" },
    [EXIT_REASON_RDTSCP] = { NULL, "RDTSCP" },
    [EXIT_REASON_PREEMPTION_TIMER] = { handle_preemption_timer, "PREEMPTION_TIMER" },
    [EXIT_REASON_INVVPID] = { handle_ud, "INVVPID" },
    [EXIT_REASON_WBINVD] = { handle_nop, "WBINVD" },
    [EXIT_REASON_XSETBV] = { handle_xsetbv, "XSETBV" },
    [EXIT_REASON_APIC_WRITE] = { handle_apic_write, "APIC_WRITE" },
    [EXIT_REASON_RDRAND] = { handle_ud, "RDRAND" },
    [EXIT_REASON_INVPCID] = { NULL, "INVPCID" },
    [EXIT_REASON_VMFUNC] = { handle_ud, "VMFUNC" },
    [EXIT_REASON_ENCLS] = { NULL, "ENCLS" },
    [EXIT_REASON_RDSEED] = { handle_ud, "RDSEED" },
    [EXIT_REASON_PML_FULL] = { NULL, "PML_FULL" },
    [EXIT_REASON_XSAVES] = { NULL, "XSAVES" },
    [EXIT_REASON_XRSTORS] = { NULL, "XRSTORS" },
};

const char *exit_reason_name(uint32_t reason)
{
    return reason < EXIT_REASON_MAX && exits[reason].name ? exits[reason].name : "UNKNOWN";
}

const char *cr_kind_name(uint32_t k)
{
    static const char *const names[CR_KINDS] = {
        [CR_MOV_TO_CR0] = "mov_to_cr0", [CR_MOV_TO_CR3] = "mov_to_cr3",
        [CR_MOV_FROM_CR3] = "mov_from_cr3", [CR_MOV_TO_CR4] = "mov_to_cr4",
        [CR_MOV_TO_CR8] = "mov_to_cr8", [CR_MOV_FROM_CR8] = "mov_from_cr8",
        [CR_CLTS] = "clts", [CR_LMSW] = "lmsw",
    };
    return k < CR_KINDS ? names[k] : "unknown";
}

const char *pf_kind_name(uint32_t k)
{
    static const char *const names[PF_KINDS] = { [PF_FILLED] = "filled",
                                                 [PF_REFLECTED] = "reflected" };
    return k < PF_KINDS ? names[k] : "unknown";
}

// Every way the hypervisor ends a run early comes here. A run meant to be
// stopped (vcpu.expect_stop) gets one line; any other stop is a FAIL, said here,
// or for a multiboot kernel after its text (hv/run/mbrun.c).
int stop_run(uint32_t reason, const char *why)
{
    TRACE("the run is stopped");
    struct run_record *rec = vcpu.rec;
    rec->end = RUN_STOPPED;
    rec->reason = reason;
    snprintf(rec->why, sizeof(rec->why), "%s", why);
    if (!vcpu.expect_stop && !vcpu.multiboot)
        report(false, "%s: stopped: %s", vcpu.label, why);
    return EXIT_STOP;
}

// An exit vmxlab does not expect from its guests: a misbehaving guest, or a
// bug. The VMCS dump is for the surprise; a run meant to misbehave gets it
// only with verbose=1.
__attribute__((noinline, cold)) int exit_unexpected(uint32_t reason)
{
    char why[160];
    uint64_t rip = vmread(GUEST_RIP), q = vmread(EXIT_QUALIFICATION);
    if (reason == EXIT_REASON_EPT_VIOLATION)
        snprintf(why, sizeof(why), "EPT violation at GPA 0x%lx, outside its %lu MiB of RAM "
                 "(RIP 0x%lx)", vmread(GUEST_PHYSICAL_ADDRESS), vcpu.ram_size >> 20, rip);
    else
        snprintf(why, sizeof(why), "unexpected VM exit %u (%s) at RIP 0x%lx, qualification "
                 "0x%lx; nothing skipped", reason, exit_reason_name(reason), rip, q);
    if (!vcpu.expect_stop || cfg.verbose)
        vmcs_dump();
    return stop_run(reason, why);
}

// A failed VM entry after VMLAUNCH/VMRESUME succeeded as instructions
// (exit reason bit 31, SDM 3C 27.8): the qualification says which check.
static __attribute__((noinline, cold)) int entry_failed(uint32_t reason)
{
    static const char *const quals[] = {
        [0] = "no further information", [2] = "failure loading PDPTEs",
        [3] = "attempt to inject an NMI with blocking by NMI",
        [4] = "invalid VMCS link pointer",
    };
    uint64_t q = vmread(EXIT_QUALIFICATION);
    char why[160];
    // The entry checker's verdict beside the CPU's (hv/vmx/entry.c); no exit yet: the VMLAUNCH.
    entry_explain(&(struct entry_verdict){ ENTRY_FAILED_EXIT, reason & 0xffff, q },
                  stats_total(&vcpu.stats) == 0);
    snprintf(why, sizeof(why), "VM entry failed: exit reason %u (%s), qualification %lu (%s)",
             reason & 0xffff, exit_reason_name(reason & 0xffff), q,
             q < ARRAY_SIZE(quals) && quals[q] ? quals[q] : "unknown");
    if (!vcpu.expect_stop || cfg.verbose) {
        kprintf("vmxlab: %s: %s (Bochs names the failed check in its log)\n", vcpu.label, why);
        vmcs_dump();
    }
    return stop_run(reason, why);
}

// The run has had its share of exits, or of time (hv/run/guest.c sets both).
static __attribute__((noinline, cold)) int budget_spent(bool exits)
{
    vcpu.rec->end = RUN_TIMED_OUT;
    if (exits)
        snprintf(vcpu.rec->why, sizeof(vcpu.rec->why), "used up its budget of exits "
                 "(max_exits=)");
    else
        snprintf(vcpu.rec->why, sizeof(vcpu.rec->why), "used up its budget of %lu TSC "
                 "ticks (max_ticks=)", vcpu.max_ticks);
    return EXIT_STOP;
}

// The dispatch itself: count the exit, check the run's budget, call the
// table's handler. Inlined into vmx_exit_handler(), the hot path.
static inline __attribute__((always_inline)) int dispatch(struct guest_regs *r)
{
    uint32_t reason = (uint32_t)vmread(VM_EXIT_REASON);
    // One bound check serves three cases: a failed VM entry (bit 31), other
    // flags in bits 30:16, and basic reasons beyond the table.
    if (__builtin_expect(reason >= EXIT_REASON_MAX, 0)) {
        if (reason & EXIT_REASON_FAILED_VMENTRY)
            return entry_failed(reason);
        return exit_unexpected(reason & 0xffff);
    }
    vcpu.stats.by_reason[reason]++;
    if (__builtin_expect(!vcpu.exits_left--, 0))
        return budget_spent(true);
    // The run's time, read every 1024 exits: a guest that exits all the time
    // never lets the watchdog fire.
    if (__builtin_expect(!(vcpu.exits_left & 1023), 0) && rdtsc() > vcpu.deadline)
        return budget_spent(false);
    if (!exits[reason].handler)
        return exit_unexpected(reason);
    return exits[reason].handler(r);
}

int vmx_dispatch(struct guest_regs *r) // for hv/exit/trace.c
{
    return dispatch(r);
}

// Every VM exit comes here from exit_stub.S. With trace= the first exits of
// each run go through hv/exit/trace.c, which prints each decoded.
int vmx_exit_handler(struct guest_regs *r)
{
    if (__builtin_expect(vcpu.trace_left != 0, 0))
        return traced_exit(r);
    return dispatch(r);
}

__attribute__((noreturn)) void vmx_resume_failed(void)
{
    vmx_fail("VMRESUME", 0);
}

// The guest-visible CR0: guest-owned bits from the real CR0, the rest from
// the shadow, as a guest MOV from CR0 would read it.
uint64_t read_shadowed_cr0(void)
{
    return cr_visible(vmread(GUEST_CR0), vcpu.cr0_shadow, vcpu.cr0_owned);
}

// The guest's own CR3: under shadow paging the real one is the hypervisor's.
uint64_t guest_cr3(void)
{
    return vcpu.shadow ? vcpu.guest_cr3 : vmread(GUEST_CR3);
}

// A hardware exception into the guest at the instruction that exited (a fault:
// RIP stays), SDM 3C 25.8.3 (the VM-entry interruption-information field) and
// 27.6 (event injection). Vectors 8, 10-14 and 17 push an error code.
void inject_exception(unsigned vector, uint32_t error)
{
    bool has_error = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
    TRACE("exception %u injected, error code 0x%x", vector, has_error ? error : 0);
    vmwrite(VM_ENTRY_INTR_INFO, HW_EXCEPTION_INFO(vector, has_error));
    if (has_error)
        vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
}

// MWAIT, MONITOR: vmxlab offers no monitor hardware to its guests; RDRAND,
// RDSEED: no random numbers from the host's generator (where the CPU can make
// them exit); the VMX instructions: no nested VMX (CPUID says there is no
// VMX). #UD, as on a CPU without them.
static int handle_ud(struct guest_regs *r)
{
    (void)r;
    inject_exception(VEC_UD, 0);
    return EXIT_RESUME;
}

// RDPMC: no performance counters for the guest (CPUID leaf 0xa says none), so
// any counter number is invalid: #GP(0), SDM 2 (RDPMC).
static int handle_gp(struct guest_regs *r)
{
    (void)r;
    inject_exception(VEC_GP, 0);
    return EXIT_RESUME;
}

// WBINVD, INVD: guest RAM is write-back and coherent; flushing the host's
// caches on the guest's behalf would only disturb the host, and INVD would
// throw away the host's dirty lines. Done, and nothing else (INVD always
// exits, SDM 3C 26.1.2; WBINVD where "WBINVD exiting" is on).
static int handle_nop(struct guest_regs *r)
{
    (void)r;
    complete_instruction();
    return EXIT_RESUME;
}

// A triple fault: a fault while the CPU delivered a double fault (SDM 3A 6.15,
// "Interrupt 8"), which puts a bare CPU in shutdown and which VMX turns into an exit
// (SDM 3C 28.2, basic exit reason 2). The guest's own crash, not the hypervisor's:
// QEMU's pc machine resets there. It ends the run, naming where the guest was and the
// IDT it had, the usual culprit (empty, or too short for the vector).
static int handle_triple_fault(struct guest_regs *r)
{
    (void)r;
    char why[160];
    snprintf(why, sizeof(why), "triple fault at RIP 0x%lx (a fault while delivering a double "
             "fault; the IDT at 0x%lx, limit 0x%lx): on a PC a shutdown, QEMU resets",
             vmread(GUEST_RIP), vmread(GUEST_IDTR_BASE), vmread(GUEST_IDTR_LIMIT));
    if (cfg.verbose) // the whole guest state, for the post-mortem
        vmcs_dump();
    return stop_run(EXIT_REASON_TRIPLE_FAULT, why);
}

// HLT ends the run: vmxlab delivers no interrupt to its guests (their devices raise
// none, hv/dev/), so nothing would ever wake the guest; with IF = 0 that is also
// what HLT means on bare metal: the end. Reported as the way it ended, with IF = 1
// naming what the guest waits for: the interrupts its devices are set up to raise.
static int handle_hlt(struct guest_regs *r)
{
    (void)r;
    bool intr = vmread(GUEST_RFLAGS) & RFLAGS_IF;
    char wake[96];
    TRACE("the run ends: halted");
    vcpu.rec->end = RUN_HALTED;
    if (!intr)
        snprintf(vcpu.rec->why, sizeof(vcpu.rec->why), "HLT with interrupts off");
    else if (dev_wake_sources(wake, sizeof(wake)))
        snprintf(vcpu.rec->why, sizeof(vcpu.rec->why), "HLT with interrupts on, waiting for "
                 "%s, but vmxlab delivers no interrupts: it would wait forever", wake);
    else
        snprintf(vcpu.rec->why, sizeof(vcpu.rec->why), "HLT with interrupts on, no device "
                 "set to interrupt, and vmxlab delivers no interrupts: it would wait forever");
    return EXIT_STOP;
}

// INVLPG, which exits only under paging=shadow ("INVLPG exiting"): the exit
// qualification is the linear-address operand (SDM 3C 28.2.1, Basic VM-Exit
// Information), whose shadow translation goes. The CPU has checked CPL 0
// before exiting (SDM 3C 26.1.1, Relative Priority of Faults and VM Exits).
static int handle_invlpg(struct guest_regs *r)
{
    (void)r;
    if (!vcpu.shadow)
        return exit_unexpected(EXIT_REASON_INVLPG);
    shadow_invlpg(vmread(EXIT_QUALIFICATION));
    complete_instruction();
    return EXIT_RESUME;
}

// XSETBV: XCR0, checked as the CPU checks it (SDM 2 XSETBV): #UD with
// CR4.OSXSAVE clear; #GP(0) unless ECX is 0, CPL is 0 and the value keeps
// every rule of SDM 1 13.3 for what the guest's CPUID offers
// (xcr0_rule_broken(), hv/exit/cpuid.c). Applied to the real XCR0, which VMX does
// not switch: the host uses no extended state, and hv/run/guest.c resets XCR0 and
// every component before each run. The XSETBV itself goes through the
// exception table (xsetbv_safe()): should the CPU refuse a value the check let
// through, the guest gets the CPU's #GP, and the host goes on.
static int handle_xsetbv(struct guest_regs *r)
{
    uint64_t cr4 = cr_visible(vmread(GUEST_CR4), vcpu.cr4_shadow, vcpu.cr4_owned);
    if (!(cr4 & CR4_OSXSAVE)) {
        inject_exception(VEC_UD, 0);
        return EXIT_RESUME;
    }
    uint64_t v = (r->rdx << 32) | (uint32_t)r->rax;
    const char *broken = (uint32_t)r->rcx != 0 ? "ECX is not 0 (only XCR0 is writable)"
                         : guest_cpl() != 0 ? "CPL is not 0"
                         : xcr0_rule_broken(v, guest_xcr0_components());
    if (broken) {
        TRACE("#GP: %s", broken);
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    int fault = xsetbv_safe(0, v);
    if (fault) {
        host_fault_reflected("XSETBV", v, fault);
        return EXIT_RESUME;
    }
    TRACE("XCR0 <- 0x%lx", v);
    complete_instruction();
    return EXIT_RESUME;
}

// A host instruction run for the guest with the guest's value faulted in VMX
// root although vmxlab's check let the value through (the check lacks a rule
// this CPU has): the exception the CPU raised goes to the guest, as it would
// on bare metal, and the host says so once per boot.
void host_fault_reflected(const char *insn, uint64_t value, int vector)
{
    static bool said;
    if (!said) {
        said = true;
        kprintf("vmxlab: %s: %s 0x%lx raised exception %d in VMX root although vmxlab's "
                "check let it through: the guest gets the exception (docs/guest-abi.md)\n",
                vcpu.label, insn, value, vector);
    }
    TRACE("%s 0x%lx faulted in VMX root: exception %d reflected", insn, value, vector);
    inject_exception((unsigned)vector, 0);
}

// The exception table at work in VMX root (row host-fixups): a fault-tolerant
// instruction given a value the CPU refuses comes back with #GP (13) and the
// register unchanged; given one it takes, with 0. XSETBV: XCR0 0, without x87
// (SDM 1 13.3); WRMSR: IA32_EFER with reserved bit 63 (SDM 3A 2.2.1).
void host_fixups(void)
{
    uint64_t efer = rdmsr(MSR_EFER);
    int wr_bad = wrmsr_safe(MSR_EFER, efer | BIT(63)), wr_good = wrmsr_safe(MSR_EFER, efer);
    bool efer_kept = rdmsr(MSR_EFER) == efer;
    if (!(read_cr4() & CR4_OSXSAVE)) {
        report(wr_bad == VEC_GP && !wr_good && efer_kept, "host-fixups: WRMSR of IA32_EFER "
               "with bit 63 raised exception %d in VMX root and resumed at its fixup, EFER "
               "%s; the valid value completed (%d); no XSAVE here", wr_bad,
               efer_kept ? "unchanged" : "CHANGED", wr_good);
        return;
    }
    uint32_t lo, hi;
    int xs_bad = xsetbv_safe(0, 0), xs_good = xsetbv_safe(0, 1);
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    bool ok = wr_bad == VEC_GP && !wr_good && efer_kept && xs_bad == VEC_GP && !xs_good &&
              lo == 1 && hi == 0;
    report(ok, "host-fixups: WRMSR of IA32_EFER with bit 63 and XSETBV of XCR0 0 raised "
           "exceptions %d and %d in VMX root and resumed at their fixups; the valid values "
           "completed (%d, %d)", wr_bad, xs_bad, wr_good, xs_good);
}

// An NMI that arrives while the guest runs (the "NMI exiting" control) is the
// machine's, not the guest's: count it, mark the run disturbed, and resume the
// guest where it was. "An NMI causes subsequent NMIs to be blocked, but only
// after the VM exit completes" (SDM 3C 28.1, Architectural State Before a VM
// Exit), until the next IRET: one IRET to ourselves unblocks them, as KVM's
// vmx_do_nmi_irqoff() does by running the host's NMI handler. A machine check
// in the guest (exception bitmap bit 18) stops the run: "processor state is
// suspect" (same section).
static int handle_exception_nmi(struct guest_regs *r)
{
    uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
    unsigned type = (info >> 8) & 7, vector = info & 0xff;
    if (type == 2) { // NMI
        if (events.nmi_watchdog)
            events.watchdog_nmis++; // the watchdog's tick (hv/run/guest.c), not a disturbance
        else
            events.nmis++;
        vcpu.stats.by_reason[EXIT_REASON_EXCEPTION_NMI]--; // not the guest's exit,
        vcpu.exits_left++;                                  // nor from its budget
        unblock_nmis();
        // The guest had no NMI blocking: every NMI exits, none reaches it. Bochs
        // 2.7 saves the blocking this very NMI caused as the guest's, which would
        // keep every later NMI pending until the guest's next IRET (a spinning
        // guest never makes one): cleared, as the SDM says it is (3C 28.1: the
        // blocking starts "only after the VM exit completes").
        uint64_t intr = vmread(GUEST_INTERRUPTIBILITY_INFO);
        if (intr & INTR_BLOCK_NMI)
            vmwrite(GUEST_INTERRUPTIBILITY_INFO, intr & ~(uint64_t)INTR_BLOCK_NMI);
        if (vcpu.nmi_watchdog && rdtsc() > vcpu.deadline)
            return budget_spent(false);
        return EXIT_RESUME;
    }
    if (vector == VEC_MC)
        return handle_machine_check(r);
    if (vector == VEC_PF && vcpu.shadow) { // the exit qualification is the address
        exit_regs = r; // for device memory (hv/exit/mmio.c)
        return shadow_page_fault(vmread(EXIT_QUALIFICATION),
                                 (uint32_t)vmread(VM_EXIT_INTR_ERROR_CODE));
    }
    return exit_unexpected(EXIT_REASON_EXCEPTION_NMI);
}

// An external interrupt while the guest runs ("external-interrupt exiting"):
// the host's, not the guest's. "Acknowledge interrupt on exit" took it from
// its controller and put the vector in the exit interruption information
// (SDM 3C 28.2.2); the host ends it there (EOI) and resumes the guest, which
// never sees it. boot/cpu.c masks the 8259s, so only disturb=timer, or a
// source the firmware left on, gets here. Counted; the run is disturbed.
static int handle_extint(struct guest_regs *r)
{
    (void)r;
    uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
    events.extints++;
    vcpu.stats.by_reason[EXIT_REASON_EXTERNAL_INTERRUPT]--; // not the guest's exit,
    vcpu.exits_left++;                                       // nor from its budget
    if (info & BIT(31))
        interrupt_eoi(info & 0xff);
    return EXIT_RESUME;
}

static int handle_machine_check(struct guest_regs *r)
{
    (void)r;
    events.machine_checks++;
    return stop_run(EXIT_REASON_MACHINE_CHECK, "a machine check arrived while the guest ran: "
                    "the run is disturbed and its results are not kept");
}

// The watchdog fired (hv/vmx/vmcs.c arm_watchdog()). While the run's budget of
// ticks lasts this is only the timer's 32-bit limit: re-armed, and not counted
// as the guest's exit. Else the run is over.
static int handle_preemption_timer(struct guest_regs *r)
{
    (void)r;
    uint64_t now = rdtsc();
    if (now < vcpu.deadline) {
        vcpu.stats.by_reason[EXIT_REASON_PREEMPTION_TIMER]--;
        vcpu.exits_left++;
        arm_watchdog(vcpu.deadline - now);
        return EXIT_RESUME;
    }
    return budget_spent(false);
}

// A NUL-terminated string in guest RAM, or NULL if it is not one. Overflow-
// safe by construction: gpa is compared with the size, and the length with
// the room left after gpa, never a sum.
static const char *guest_string(uint64_t gpa)
{
    if (gpa >= vcpu.ram_size)
        return NULL;
    const char *s = (const char *)vcpu.ram + gpa;
    size_t room = vcpu.ram_size - gpa, max = room < 256 ? room : 256;
    return strnlen(s, max) < max ? s : NULL;
}

// Every event the window's time includes: NMIs and external interrupts,
// and the NMI watchdog's ticks.
static uint64_t disturbances(void)
{
    return events.nmis + events.extints + events.watchdog_nmis;
}

// HC_RECORD: the guest's buffer [gpa, gpa + len) must lie in guest RAM and fit
// in what is left of the run's record; bounds checked against the room left,
// never a sum. The record is the run's (guest_run() zeroes rec, so each run
// starts empty) and stays here until the next run: the caller compares it.
static uint8_t run_record_buf[HC_RECORD_MAX];

static int record_append(uint64_t gpa, uint64_t len)
{
    struct run_record *rec = vcpu.rec;
    char why[128];
    if (gpa >= vcpu.ram_size || len > vcpu.ram_size - gpa) {
        snprintf(why, sizeof(why), "hypercall %u with a bad buffer 0x%lx (%lu bytes): "
                 "outside guest RAM", HC_RECORD, gpa, len);
        return stop_run(EXIT_REASON_VMCALL, why);
    }
    if (len > sizeof(run_record_buf) - rec->record_len) {
        snprintf(why, sizeof(why), "hypercall %u: a record of %lu more bytes would pass "
                 "HC_RECORD_MAX (%u bytes)", HC_RECORD, len, HC_RECORD_MAX);
        return stop_run(EXIT_REASON_VMCALL, why);
    }
    memcpy(run_record_buf + rec->record_len, vcpu.ram + gpa, len);
    rec->record = run_record_buf;
    rec->record_len += len;
    TRACE("%lu bytes recorded, %zu in all", len, rec->record_len);
    complete_instruction();
    return EXIT_RESUME;
}

static void window_open(void)
{
    vcpu.mark = vcpu.stats;
    vcpu.mark_smis = smi_count();
    vcpu.mark_disturbances = disturbances();
}

// A run is alive while the console speaks: scripts/run.py ends a boot whose
// console has been silent for its TIMEOUT. So a long run says it goes on, at
// the end of a window once this many TSC ticks have passed since its start or
// its last such line (under Bochs 2^28 instructions: about 6 seconds of plain
// ones, up to 45 of VM exits; a default run of 10000 iterations never gets
// there). Never inside a window, whose ticks must not hold the printing; under
// Bochs, where the TSC counts instructions, at the same places on every run.
// (A multiboot kernel, which makes no windows, says it at a line of its text:
// hv/run/experiment.c.) PROGRESS_TICKS is in exit.h.

// The window: exits after MARK_BEGIN, not counting MARK_END itself.
static void window_close(uint64_t iterations, uint64_t ticks)
{
    struct run_record *rec = vcpu.rec;
    if (rec->windows < MAX_WINDOWS) {
        struct window *w = &rec->win[rec->windows];
        stats_sub(&w->exits, &vcpu.stats, &vcpu.mark);
        w->exits.by_reason[EXIT_REASON_VMCALL]--;
        w->iterations = iterations;
        w->ticks = ticks;
        w->smis = smi_count() - vcpu.mark_smis;
        w->disturbances = disturbances() - vcpu.mark_disturbances;
    }
    rec->windows++;
    rec->cr0_owned_at_end = vcpu.cr0_owned;
    rec->cr4_owned_at_end = vcpu.cr4_owned;
    if (rdtsc() - vcpu.progress_at >= PROGRESS_TICKS) {
        kprintf("vmxlab: %s: window %u done, the run goes on\n", vcpu.label, rec->windows);
        vcpu.progress_at = rdtsc();
    }
}

// A hypercall (docs/guest-abi.md, section 6). VMCALL exits at any CPL (SDM 3C
// 26.1.2), but hypercalls are ring 0's: from ring 3 it raises #UD, whatever RAX
// asks, before anything is done. #UD, as on the CPU this guest is shown:
// CPUID says there is no VMX, and outside VMX operation VMCALL raises #UD
// (SDM 2 VMCALL), as the other VMX instructions do here (handle_ud()); so ring
// 3 cannot tell a hypervisor is there. Hyper-V does the same (its TLFS: #UD
// at CPL > 0); KVM returns -KVM_EPERM in RAX, which vmxlab's rule of changing
// no guest register rules out; ACRN injects #GP(0).
static int handle_vmcall(struct guest_regs *r)
{
    const char *s;
    unsigned cpl = guest_cpl();
    if (cpl) {
        TRACE("refused at CPL %u", cpl);
        inject_exception(VEC_UD, 0);
        return EXIT_RESUME;
    }
    switch (r->rax) {
    case HC_NOP:
        break;
    case HC_PUTS:
        if (!(s = guest_string(r->rdi)))
            goto bad_pointer;
        guest_print(vcpu.label, s, strlen(s));
        break;
    case HC_REPORT:
        if (!(s = guest_string(r->rsi)))
            goto bad_pointer;
        if (r->rdi)
            vcpu.rec->checks_passed++;
        else
            vcpu.rec->checks_failed++;
        report_guest(r->rdi != 0, vcpu.label, s);
        break;
    case HC_MARK:
        if (r->rdi == MARK_BEGIN)
            window_open();
        else
            window_close(r->rsi, r->rdx);
        break;
    case HC_RECORD:
        return record_append(r->rdi, r->rsi);
    case HC_EXIT:
        TRACE("the run ends: status 0x%lx", r->rdi);
        vcpu.rec->end = RUN_EXITED;
        vcpu.rec->status = r->rdi;
        return EXIT_STOP;
    default: {
        char why[64];
        snprintf(why, sizeof(why), "unknown hypercall %lu", r->rax);
        return stop_run(EXIT_REASON_VMCALL, why);
    }
    }
    complete_instruction();
    return EXIT_RESUME;
bad_pointer: {
        char why[96];
        snprintf(why, sizeof(why), "hypercall %lu with a bad string pointer 0x%lx", r->rax,
                 r->rax == HC_PUTS ? r->rdi : r->rsi);
        return stop_run(EXIT_REASON_VMCALL, why);
    }
}

uint64_t stats_total(const struct exit_stats *s)
{
    uint64_t t = 0;
    for (int i = 0; i < EXIT_REASON_MAX; i++)
        t += s->by_reason[i];
    return t;
}

// struct exit_stats is all uint64_t: the two below go counter by counter.
#define NCOUNTERS (sizeof(struct exit_stats) / sizeof(uint64_t))
_Static_assert(sizeof(struct exit_stats) % sizeof(uint64_t) == 0, "exit_stats: counters only");

void stats_sub(struct exit_stats *d, const struct exit_stats *a, const struct exit_stats *b)
{
    uint64_t *dd = (uint64_t *)d;
    const uint64_t *aa = (const uint64_t *)a, *bb = (const uint64_t *)b;
    for (size_t i = 0; i < NCOUNTERS; i++)
        dd[i] = aa[i] - bb[i];
}

void stats_add(struct exit_stats *d, const struct exit_stats *a)
{
    uint64_t *dd = (uint64_t *)d;
    const uint64_t *aa = (const uint64_t *)a;
    for (size_t i = 0; i < NCOUNTERS; i++)
        dd[i] += aa[i];
}
