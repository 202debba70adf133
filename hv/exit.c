// exit.c: what happens at every VM exit. exit_stub.S calls vmx_exit_handler() with
// the guest's registers; it counts the exit, dispatches on the basic exit
// reason through one table, and tells exit_stub.S to resume the guest (0) or end
// the run (1). Handlers that emulate an instruction advance the guest's RIP;
// nothing is ever skipped silently: an exit without a handler dumps the VMCS
// and ends the run with FAIL. SDM 3C 28.2 (exit information), 26 (exit causes).
#include "../boot/boot.h"
#include "../boot/x86.h"
#include "../guest/abi.h"
#include "hv.h"

#define RESUME 0        // exit_stub.S values: resume the guest,
#define STOP 1          // end the run,
#define RESUME_RELOAD 2 // resume, reloading every guest register from guest_regs

struct vcpu vcpu;

static int handle_cr(struct guest_regs *r);
static int handle_vmcall(struct guest_regs *r);

static const struct {
    int (*handler)(struct guest_regs *r);
    const char *name;
} exits[EXIT_REASON_MAX] = {
    [EXIT_REASON_EXCEPTION_NMI] = { NULL, "EXCEPTION_NMI" },
    [EXIT_REASON_EXTERNAL_INTERRUPT] = { NULL, "EXTERNAL_INTERRUPT" },
    [EXIT_REASON_TRIPLE_FAULT] = { NULL, "TRIPLE_FAULT" },
    [EXIT_REASON_INIT] = { NULL, "INIT" },
    [EXIT_REASON_SIPI] = { NULL, "SIPI" },
    [EXIT_REASON_INTERRUPT_WINDOW] = { NULL, "INTERRUPT_WINDOW" },
    [EXIT_REASON_NMI_WINDOW] = { NULL, "NMI_WINDOW" },
    [EXIT_REASON_TASK_SWITCH] = { NULL, "TASK_SWITCH" },
    [EXIT_REASON_CPUID] = { NULL, "CPUID" },
    [EXIT_REASON_HLT] = { NULL, "HLT" },
    [EXIT_REASON_INVD] = { NULL, "INVD" },
    [EXIT_REASON_INVLPG] = { NULL, "INVLPG" },
    [EXIT_REASON_RDPMC] = { NULL, "RDPMC" },
    [EXIT_REASON_RDTSC] = { NULL, "RDTSC" },
    [EXIT_REASON_VMCALL] = { handle_vmcall, "VMCALL" },
    [EXIT_REASON_VMCLEAR] = { NULL, "VMCLEAR" },
    [EXIT_REASON_VMLAUNCH] = { NULL, "VMLAUNCH" },
    [EXIT_REASON_VMPTRLD] = { NULL, "VMPTRLD" },
    [EXIT_REASON_VMPTRST] = { NULL, "VMPTRST" },
    [EXIT_REASON_VMREAD] = { NULL, "VMREAD" },
    [EXIT_REASON_VMRESUME] = { NULL, "VMRESUME" },
    [EXIT_REASON_VMWRITE] = { NULL, "VMWRITE" },
    [EXIT_REASON_VMXOFF] = { NULL, "VMXOFF" },
    [EXIT_REASON_VMXON] = { NULL, "VMXON" },
    [EXIT_REASON_CR_ACCESS] = { handle_cr, "CR_ACCESS" },
    [EXIT_REASON_DR_ACCESS] = { NULL, "DR_ACCESS" },
    [EXIT_REASON_IO_INSTRUCTION] = { NULL, "IO_INSTRUCTION" },
    [EXIT_REASON_MSR_READ] = { NULL, "MSR_READ" },
    [EXIT_REASON_MSR_WRITE] = { NULL, "MSR_WRITE" },
    [EXIT_REASON_INVALID_GUEST_STATE] = { NULL, "INVALID_GUEST_STATE" },
    [EXIT_REASON_MSR_LOAD_FAIL] = { NULL, "MSR_LOAD_FAIL" },
    [EXIT_REASON_MWAIT] = { NULL, "MWAIT" },
    [EXIT_REASON_MONITOR_TRAP_FLAG] = { NULL, "MONITOR_TRAP_FLAG" },
    [EXIT_REASON_MONITOR] = { NULL, "MONITOR" },
    [EXIT_REASON_PAUSE] = { NULL, "PAUSE" },
    [EXIT_REASON_MACHINE_CHECK] = { NULL, "MACHINE_CHECK" },
    [EXIT_REASON_TPR_BELOW_THRESHOLD] = { NULL, "TPR_BELOW_THRESHOLD" },
    [EXIT_REASON_APIC_ACCESS] = { NULL, "APIC_ACCESS" },
    [EXIT_REASON_EOI_INDUCED] = { NULL, "EOI_INDUCED" },
    [EXIT_REASON_GDTR_IDTR] = { NULL, "GDTR_IDTR" },
    [EXIT_REASON_LDTR_TR] = { NULL, "LDTR_TR" },
    [EXIT_REASON_EPT_VIOLATION] = { NULL, "EPT_VIOLATION" },
    [EXIT_REASON_EPT_MISCONFIG] = { NULL, "EPT_MISCONFIG" },
    [EXIT_REASON_INVEPT] = { NULL, "INVEPT" },
    [EXIT_REASON_RDTSCP] = { NULL, "RDTSCP" },
    [EXIT_REASON_PREEMPTION_TIMER] = { NULL, "PREEMPTION_TIMER" },
    [EXIT_REASON_INVVPID] = { NULL, "INVVPID" },
    [EXIT_REASON_WBINVD] = { NULL, "WBINVD" },
    [EXIT_REASON_XSETBV] = { NULL, "XSETBV" },
    [EXIT_REASON_APIC_WRITE] = { NULL, "APIC_WRITE" },
    [EXIT_REASON_RDRAND] = { NULL, "RDRAND" },
    [EXIT_REASON_INVPCID] = { NULL, "INVPCID" },
    [EXIT_REASON_VMFUNC] = { NULL, "VMFUNC" },
    [EXIT_REASON_ENCLS] = { NULL, "ENCLS" },
    [EXIT_REASON_RDSEED] = { NULL, "RDSEED" },
    [EXIT_REASON_PML_FULL] = { NULL, "PML_FULL" },
    [EXIT_REASON_XSAVES] = { NULL, "XSAVES" },
    [EXIT_REASON_XRSTORS] = { NULL, "XRSTORS" },
};

const char *exit_reason_name(uint32_t reason)
{
    return reason < EXIT_REASON_MAX && exits[reason].name ? exits[reason].name : "UNKNOWN";
}

// Every way a run ends early comes here: the run's status becomes -1 and the
// reason is kept. Normally that is a FAIL; the bad-guest test expects it
// (vcpu.expect_stop) and judges the reason itself.
static int stop_run(uint32_t reason, const char *what)
{
    vcpu.status = -1;
    vcpu.stop_reason = reason;
    if (vcpu.expect_stop)
        kprintf("vmxlab: %s: run stopped: %s\n", vcpu.label, what);
    else
        report(false, "%s: %s", vcpu.label, what);
    return STOP;
}

// An exit vmxlab does not expect from its guests: a misbehaving guest, or a bug.
static int exit_unexpected(uint32_t reason)
{
    kprintf("vmxlab: %s: unexpected VM exit %u (%s) at guest RIP 0x%lx, "
            "qualification 0x%lx\n", vcpu.label, reason, exit_reason_name(reason),
            vmread(GUEST_RIP), vmread(EXIT_QUALIFICATION));
    if (reason == EXIT_REASON_EPT_VIOLATION)
        kprintf("vmxlab: the guest touched GPA 0x%lx, outside its %u MiB of RAM\n",
                vmread(GUEST_PHYSICAL_ADDRESS), GUEST_RAM_SIZE >> 20);
    if (reason == EXIT_REASON_PREEMPTION_TIMER)
        kprintf("vmxlab: the guest ran for too long without a VM exit (watchdog)\n");
    vmcs_dump();
    return stop_run(reason, "guest run ended by an unexpected VM exit, nothing skipped");
}

// A failed VM entry after VMLAUNCH/VMRESUME succeeded as instructions
// (exit reason bit 31, SDM 3C 27.8): the qualification says which check.
static int entry_failed(uint32_t reason)
{
    static const char *const quals[] = {
        [0] = "no further information", [2] = "failure loading PDPTEs",
        [3] = "attempt to inject an NMI with blocking by NMI",
        [4] = "invalid VMCS link pointer",
    };
    uint64_t q = vmread(EXIT_QUALIFICATION);
    kprintf("vmxlab: %s: VM entry failed: exit reason %u (%s), qualification %lu (%s)\n",
            vcpu.label, reason & 0xffff, exit_reason_name(reason & 0xffff), q,
            q < ARRAY_SIZE(quals) && quals[q] ? quals[q] : "unknown");
    kprintf("vmxlab: (Bochs names the failed check in its log: look for 'VMENTER FAIL')\n");
    vmcs_dump();
    return stop_run(reason, "VM entry failed");
}

int vmx_exit_handler(struct guest_regs *r)
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
    if (!exits[reason].handler)
        return exit_unexpected(reason);
    return exits[reason].handler(r);
}

__attribute__((noreturn)) void vmx_resume_failed(void)
{
    vmx_fail("VMRESUME", 0);
}

static inline __attribute__((always_inline)) void skip_instruction(void)
{
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN));
}

// #GP(0) into the guest, delivered at the faulting instruction (SDM 3C 27.6).
static void inject_gp(void)
{
    vmwrite(VM_ENTRY_INTR_INFO, 13 | (3u << 8) | (1u << 11) | (1u << 31));
    vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
}

// The guest-visible CR0: guest-owned bits from the real CR0, the rest from
// the shadow, as a guest MOV from CR0 would read it.
static uint64_t guest_cr0(void)
{
    return cr_visible(vmread(GUEST_CR0), vcpu.cr0_shadow, vcpu.cr0_owned);
}

// Adaptive policy: the guest has toggled WP often enough; from now on WP is
// the guest's, and its toggles no longer exit.
static __attribute__((noinline)) void hand_over_wp(void)
{
    vcpu.cr0_owned |= CR0_WP;
    vmwrite(CR0_GUEST_HOST_MASK, ~vcpu.cr0_owned);
}

// The write of val to the guest's CR0, validated as KVM's kvm_is_valid_cr0().
// Our guests always run in 64-bit mode, so clearing PG is invalid too.
// Inlined: this is the whole cost of an intercepted toggle beyond a round trip.
static inline __attribute__((always_inline)) void set_cr0(uint64_t val)
{
    if (__builtin_expect(!cr0_valid_in_long_mode(val), 0)) {
        inject_gp();
        return;
    }
    uint64_t shadow = cr0_normalize(val), old = vcpu.cr0_shadow;
    vmwrite(GUEST_CR0, (val & vcpu.cr0_keep) | vcpu.cr0_force);
    vmwrite(CR0_READ_SHADOW, shadow);
    vcpu.cr0_shadow = shadow;
    skip_instruction();
    if (vcpu.wp_left && ((shadow ^ old) & CR0_WP) && !--vcpu.wp_left)
        hand_over_wp();
}

// CR4: bits IA32_VMX_CR4_FIXED1 does not allow are reserved; VMXE is the
// host's own (the guest sees it clear); 64-bit mode needs PAE.
static void set_cr4(uint64_t val)
{
    if ((val & ~caps.raw.cr4_fixed1) || (val & CR4_VMXE) || !(val & CR4_PAE)) {
        inject_gp();
        return;
    }
    vmwrite(GUEST_CR4, (val | caps.raw.cr4_fixed0) & caps.raw.cr4_fixed1);
    vmwrite(CR4_READ_SHADOW, val);
    vcpu.cr4_shadow = val;
    skip_instruction();
}

static uint64_t *gpr(struct guest_regs *r, unsigned n)
{
    return &((uint64_t *)r)[n]; // struct guest_regs follows the register numbers
}

// Exit qualification for control-register accesses, SDM 3C Table 28-3:
// bits 3:0 CR number, 5:4 access type (0 MOV to CR, 1 MOV from CR, 2 CLTS,
// 3 LMSW), 11:8 general register, 31:16 LMSW source data.
static __attribute__((noinline)) int handle_cr_other(struct guest_regs *r, uint64_t q)
{
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    uint64_t val = reg == 4 ? vmread(GUEST_RSP) : *gpr(r, reg);

    if (type == 2) { // CLTS: exits only when TS is host-owned and set
        vcpu.stats.cr_clts++;
        set_cr0(guest_cr0() & ~(uint64_t)CR0_TS);
    } else if (type == 3) { // LMSW: loads MP, EM, TS; sets PE but never clears it
        vcpu.stats.cr_lmsw++;
        uint64_t old = guest_cr0(), src = (q >> 16) & 0xf;
        set_cr0((old & ~0xeull) | (src & 0xe) | ((old | src) & CR0_PE));
    } else if (type == 0 && cr == 4) {
        vcpu.stats.cr_mov_to_cr4++;
        set_cr4(val);
    } else if (cr == 3) { // only when the CPU forces CR3-load/store exiting
        vcpu.stats.cr_other++;
        if (type == 0) {
            vmwrite(GUEST_CR3, val);
        } else if (reg == 4) {
            vmwrite(GUEST_RSP, vmread(GUEST_CR3));
        } else {
            *gpr(r, reg) = vmread(GUEST_CR3);
            skip_instruction();
            return RESUME_RELOAD;
        }
        skip_instruction();
    } else {
        vcpu.stats.cr_other++;
        return exit_unexpected(EXIT_REASON_CR_ACCESS);
    }
    return RESUME;
}

// The hot path, kept short: MOV to CR0 has bits 7:0 of the qualification all
// zero (CR 0, access type 0); everything else goes to handle_cr_other().
static int handle_cr(struct guest_regs *r)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    if (__builtin_expect(q & 0xff, 0))
        return handle_cr_other(r, q);
    unsigned reg = (q >> 8) & 15;
    set_cr0(reg == 4 ? vmread(GUEST_RSP) : *gpr(r, reg));
    return RESUME;
}

// A NUL-terminated string in guest RAM, or NULL if it is not one.
static const char *guest_string(uint64_t gpa)
{
    if (gpa >= GUEST_RAM_SIZE)
        return NULL;
    const char *s = (const char *)vcpu.ram + gpa;
    size_t max = GUEST_RAM_SIZE - gpa < 256 ? GUEST_RAM_SIZE - gpa : 256;
    return strnlen(s, max) < max ? s : NULL;
}

static void stats_sub(struct exit_stats *d, const struct exit_stats *a,
                      const struct exit_stats *b)
{
    for (int i = 0; i < EXIT_REASON_MAX; i++)
        d->by_reason[i] = a->by_reason[i] - b->by_reason[i];
    d->cr_mov_to_cr4 = a->cr_mov_to_cr4 - b->cr_mov_to_cr4;
    d->cr_clts = a->cr_clts - b->cr_clts;
    d->cr_lmsw = a->cr_lmsw - b->cr_lmsw;
    d->cr_other = a->cr_other - b->cr_other;
    // MOV to CR0 is every CR-access exit the slow path did not count: the hot
    // path keeps no counter of its own.
    d->cr_mov_to_cr0 = d->by_reason[EXIT_REASON_CR_ACCESS] - d->cr_mov_to_cr4 -
                       d->cr_clts - d->cr_lmsw - d->cr_other;
    d->total = 0;
    for (int i = 0; i < EXIT_REASON_MAX; i++)
        d->total += d->by_reason[i];
}

static int handle_vmcall(struct guest_regs *r)
{
    const char *s;
    switch (r->rax) {
    case HC_NOP:
        break;
    case HC_PUTS:
        if (!(s = guest_string(r->rdi)))
            goto bad_pointer;
        kprintf("guest: %s\n", s);
        break;
    case HC_REPORT:
        if (!(s = guest_string(r->rsi)))
            goto bad_pointer;
        report(r->rdi != 0, "%s: %s", vcpu.label, s);
        break;
    case HC_MARK:
        if (r->rdi == MARK_BEGIN) {
            vcpu.mark = vcpu.stats;
        } else if (vcpu.result) {
            // The window: exits after MARK_BEGIN, not counting MARK_END itself.
            stats_sub(&vcpu.result->window, &vcpu.stats, &vcpu.mark);
            vcpu.result->window.by_reason[EXIT_REASON_VMCALL]--;
            vcpu.result->window.total--;
            vcpu.result->toggles = r->rsi;
            vcpu.result->ticks = r->rdx;
            vcpu.result->cr0_guest_owned = vcpu.cr0_owned;
            vcpu.marked = true;
        }
        break;
    case HC_EXIT:
        vcpu.status = (int)r->rdi;
        return STOP;
    default:
        kprintf("vmxlab: %s: unknown hypercall %lu\n", vcpu.label, r->rax);
        return stop_run(EXIT_REASON_VMCALL, "guest made an unknown hypercall");
    }
    skip_instruction();
    return RESUME;
bad_pointer:
    kprintf("vmxlab: %s: hypercall %lu with a bad string pointer 0x%lx\n", vcpu.label,
            r->rax, r->rax == HC_PUTS ? r->rdi : r->rsi);
    return stop_run(EXIT_REASON_VMCALL, "guest passed a bad pointer");
}
