// vmx.h: what hv/vmx/ offers the rest of vmxlab, grouped by file as xv6's defs.h
// does: the CPU's VMX capabilities, the VMCS field encodings and the exit reasons,
// VMX on/off with the VMREAD/VMWRITE wrappers and the end of an emulated instruction,
// the controls, the VMCS of a run, the entry checker around VMLAUNCH, and the VM entry
// itself (exit_stub.S). Included by hv/exit/, hv/mmu/shadow.c, hv/run/ and boot/main.c;
// what only hv/vmx/ (and its unit tests) use is in internal.h.
#pragma once
#include "../../lib/lib.h"
#include "../../boot/x86.h"
#include "regs.h" // struct guest_regs and the exit stub's return values

// caps.c: what the CPU offers for VMX, read once and decoded by pure code
struct caps_raw { // straight from CPUID and the MSRs; zero where not readable
    uint32_t cpuid0[4], cpuid1[4], cpuid7[4];  // {EAX, EBX, ECX, EDX}
    uint32_t cpuid15[4], cpuid16[4];           // TSC/crystal ratio, base frequency
    uint32_t cpuid_ext1[4];                    // 0x80000001 (NX, LM, RDTSCP)
    uint32_t cpuid_ext7[4], cpuid_ext8[4];     // 0x80000007 (invariant TSC), 0x80000008
    uint32_t hv_leaf[4];                       // 0x40000000, if CPUID.1:ECX.HYPERVISOR
    uint64_t feature_control, basic, misc;
    uint64_t pinbased, procbased, exit, entry; // TRUE_ variants when basic says so
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t procbased2, ept_vpid;
};
struct vmx_caps {
    struct caps_raw raw;
    char vendor[13];
    unsigned family, model, stepping;
    bool intel, vmx, fc_locked, fc_vmx_outside_smx;
    uint32_t revision, vmcs_size, memtype;
    bool true_ctls, secondary, ept, vpid, unrestricted_guest, preemption_timer;
    bool ept_4level, ept_wb, ept_2m, ept_1g, ept_ad, invept, invept_single,
        invept_all, invvpid, invvpid_single, invvpid_all, invvpid_single_globals;
    unsigned timer_shift;      // the preemption timer ticks every 2^shift TSC ticks
    unsigned maxphyaddr;       // physical-address width, CPUID.80000008H:EAX[7:0]
    bool hypervisor;           // CPUID.1:ECX[31]: vmxlab itself runs in a VM
    char hv_signature[13];     // leaf 0x40000000's EBX, ECX, EDX ("KVMKVMKVM")
    bool invariant_tsc;        // CPUID.80000007H:EDX[8]
    bool nx;                   // CPUID.80000001H:EDX[20]: EFER.NXE may be set
    uint64_t tsc_hz;           // from CPUID leaf 0x15 (or 0x16), 0 if not given
};
void caps_read(struct caps_raw *raw);
void caps_decode(const struct caps_raw *raw, struct vmx_caps *c);
void caps_print(const struct vmx_caps *c);
int caps_json(const struct vmx_caps *c, char *buf, size_t size);
const char *caps_unsupported(const struct vmx_caps *c);
const char *caps_nested_caveat(const struct vmx_caps *c); // NULL on bare metal
extern struct vmx_caps caps;

// How a run's guest memory is translated (paging=, shadow_wp=): by EPT, or by shadow
// paging (hv/mmu/shadow.c) in one of its two ways. It decides the controls of its VMCS.
enum mmu { MMU_EPT, MMU_SHADOW_ROLES, MMU_SHADOW_FLUSH, MMUS };
static inline const char *mmu_name(enum mmu m) // "ept", "shadow-roles", "shadow-flush"
{
    static const char *const names[MMUS] = { [MMU_EPT] = "ept",
                                             [MMU_SHADOW_ROLES] = "shadow-roles",
                                             [MMU_SHADOW_FLUSH] = "shadow-flush" };
    return (unsigned)m < MMUS ? names[m] : "unknown";
}

// VMCS field encodings, from the one table in vmcs_fields.h
enum vmcs_width { W16 = 0, W64 = 1, W32 = 2, WNAT = 3 }; // encoding bits 14:13
enum vmcs_field {
#define VMCS_FIELD(name, enc, width, held) name = enc,
#include "vmcs_fields.h"
#undef VMCS_FIELD
};
// GUEST_PDPTE0..3 by number: 64-bit fields, whose encodings step by 2 (bit 0 is the
// access type, bits 9:1 the index; SDM 3C 25.11.2).
#define GUEST_PDPTE(i) (GUEST_PDPTE0 + 2 * (i))
_Static_assert(GUEST_PDPTE(3) == GUEST_PDPTE3, "the PDPTE fields step by 2");

// Exit reasons, SDM 3D appendix C. The handler table is in hv/exit/exit.c.
enum exit_reason {
    EXIT_REASON_EXCEPTION_NMI = 0,
    EXIT_REASON_EXTERNAL_INTERRUPT = 1,
    EXIT_REASON_TRIPLE_FAULT = 2,
    EXIT_REASON_INIT = 3,
    EXIT_REASON_SIPI = 4,
    EXIT_REASON_INTERRUPT_WINDOW = 7,
    EXIT_REASON_NMI_WINDOW = 8,
    EXIT_REASON_TASK_SWITCH = 9,
    EXIT_REASON_CPUID = 10,
    EXIT_REASON_HLT = 12,
    EXIT_REASON_INVD = 13,
    EXIT_REASON_INVLPG = 14,
    EXIT_REASON_RDPMC = 15,
    EXIT_REASON_RDTSC = 16,
    EXIT_REASON_VMCALL = 18,
    EXIT_REASON_VMCLEAR = 19,
    EXIT_REASON_VMLAUNCH = 20,
    EXIT_REASON_VMPTRLD = 21,
    EXIT_REASON_VMPTRST = 22,
    EXIT_REASON_VMREAD = 23,
    EXIT_REASON_VMRESUME = 24,
    EXIT_REASON_VMWRITE = 25,
    EXIT_REASON_VMXOFF = 26,
    EXIT_REASON_VMXON = 27,
    EXIT_REASON_CR_ACCESS = 28,
    EXIT_REASON_DR_ACCESS = 29,
    EXIT_REASON_IO_INSTRUCTION = 30,
    EXIT_REASON_MSR_READ = 31,
    EXIT_REASON_MSR_WRITE = 32,
    EXIT_REASON_INVALID_GUEST_STATE = 33,
    EXIT_REASON_MSR_LOAD_FAIL = 34,
    EXIT_REASON_MWAIT = 36,
    EXIT_REASON_MONITOR_TRAP_FLAG = 37,
    EXIT_REASON_MONITOR = 39,
    EXIT_REASON_PAUSE = 40,
    EXIT_REASON_MACHINE_CHECK = 41,
    EXIT_REASON_TPR_BELOW_THRESHOLD = 43,
    EXIT_REASON_APIC_ACCESS = 44,
    EXIT_REASON_EOI_INDUCED = 45,
    EXIT_REASON_GDTR_IDTR = 46,
    EXIT_REASON_LDTR_TR = 47,
    EXIT_REASON_EPT_VIOLATION = 48,
    EXIT_REASON_EPT_MISCONFIG = 49,
    EXIT_REASON_INVEPT = 50,
    EXIT_REASON_RDTSCP = 51,
    EXIT_REASON_PREEMPTION_TIMER = 52,
    EXIT_REASON_INVVPID = 53,
    EXIT_REASON_WBINVD = 54,
    EXIT_REASON_XSETBV = 55,
    EXIT_REASON_APIC_WRITE = 56,
    EXIT_REASON_RDRAND = 57,
    EXIT_REASON_INVPCID = 58,
    EXIT_REASON_VMFUNC = 59,
    EXIT_REASON_ENCLS = 60,
    EXIT_REASON_RDSEED = 61,
    EXIT_REASON_PML_FULL = 62,
    EXIT_REASON_XSAVES = 63,
    EXIT_REASON_XRSTORS = 64,
    EXIT_REASON_MAX = 65, // counters cover 0..64
};
#define EXIT_REASON_FAILED_VMENTRY (1u << 31)

// Guest interruptibility state and pending debug exceptions, SDM 3C 25.4.2.
#define INTR_BLOCK_STI (1u << 0)
#define INTR_BLOCK_MOV_SS (1u << 1)
#define INTR_BLOCK_NMI (1u << 3)
#define PENDING_DBG_BS (1u << 14) // a single-step trap is pending

// vmx.c: VMX on/off, the VMX-instruction wrappers' single error path
void vmx_on(void);
void vmx_off(void);
__attribute__((noreturn)) void vmx_fail(const char *insn, uint64_t arg);
void vmcs_load(void *vmcs);   // VMCLEAR, then VMPTRLD
void vmcs_clear(void *vmcs);
void *vmx_alloc_region(void); // a 4 KiB region with the revision id written
void invvpid_context(uint64_t vpid, bool keep_global);
void invept_context(uint64_t eptp);
uint64_t smi_count(void); // MSR 0x34 where the CPU has it, else 0

// The hot-path wrappers: one branch each; failure goes to vmx_fail() (SDM 3C 31.2).
static inline __attribute__((always_inline)) uint64_t vmread(uint64_t field)
{
    uint64_t v;
    // Early-clobber output: the field number stays in its register for reuse.
    asm goto("vmread %1, %0\n\tjbe %l[fail]" : "=&r"(v) : "r"(field) : "cc" : fail);
    return v;
fail:
    vmx_fail("VMREAD", field);
}
static inline __attribute__((always_inline)) void vmwrite(uint64_t field, uint64_t v)
{
    asm goto("vmwrite %1, %0\n\tjbe %l[fail]" ::"r"(field), "rm"(v) : "cc" : fail);
    return;
fail:
    vmx_fail("VMWRITE", field);
}

// In compatibility mode (CS.L = 0 under IA-32e) RIP is 32 bits wide and
// operands default to 32 bits (CS.D = 1) or 16 (CS.D = 0). SDM 3A 5.2.1 and
// 3A 3.4.5 (the L and D/B flags), 3C 25.4.1 (CS access rights in the VMCS).
static inline __attribute__((always_inline)) bool guest_64bit(void)
{
    return vmread(GUEST_CS_AR_BYTES) & BIT(13);
}

// The guest's CPL: the DPL of SS, which is always the CPL (SDM 3C 25.4.1, Guest
// Register State; SDM 3A 5.5). CS's DPL is not, while a conforming code
// segment runs.
static inline __attribute__((always_inline)) unsigned guest_cpl(void)
{
    return (vmread(GUEST_SS_AR_BYTES) >> 5) & 3;
}

// The end of an instruction the hypervisor emulated, as the CPU would end it
// (what KVM's kvm_skip_emulated_instruction() does): RIP moves past it,
// wrapping at 4 GiB outside 64-bit mode; blocking by STI and by MOV SS ends
// (SDM 3C 25.4.2: they last for one instruction, and that one is done); and
// with RFLAGS.TF set the single-step #DB is due now, so it is made pending
// (BS, bit 14 of the pending debug exceptions, SDM 3C 25.4.2 and 27.7.3).
// Inlined into each handler: it is part of every emulated instruction's cost. len is
// the instruction's: the exit's VM_EXIT_INSTRUCTION_LEN, or, for an exit that does not
// define it (an EPT violation, an APIC access: SDM 3C 28.2.5), the decoder's.
static inline __attribute__((always_inline)) void complete_instruction_len(uint64_t len,
                                                                           bool is64)
{
    uint64_t rip = vmread(GUEST_RIP) + len;
    if (!is64)
        rip = (uint32_t)rip;
    vmwrite(GUEST_RIP, rip);
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY_INFO);
    if (__builtin_expect(intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS), 0))
        vmwrite(GUEST_INTERRUPTIBILITY_INFO, intr & ~(uint64_t)(INTR_BLOCK_STI |
                                                                  INTR_BLOCK_MOV_SS));
    if (__builtin_expect(vmread(GUEST_RFLAGS) & RFLAGS_TF, 0))
        vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, vmread(GUEST_PENDING_DBG_EXCEPTIONS) |
                                                  PENDING_DBG_BS);
}

static inline __attribute__((always_inline)) void complete_instruction_in(bool is64)
{
    complete_instruction_len(vmread(VM_EXIT_INSTRUCTION_LEN), is64);
}

static inline __attribute__((always_inline)) void complete_instruction(void)
{
    complete_instruction_in(guest_64bit());
}

// controls.c: VM-execution control adjustment against the capability MSRs
enum ctl_kind { CTL_PIN, CTL_PROC, CTL_PROC2, CTL_EXIT, CTL_ENTRY, CTL_KINDS };
enum { // the control bits by name: CTL_PROC_HLT_EXITING and so on
#define CTL(kind, bit, name, text) CTL_##kind##_##name = 1u << (bit),
#include "controls.h"
#undef CTL
};
const char *ctl_bit_name(enum ctl_kind kind, unsigned bit);
const char *ctl_kind_name(enum ctl_kind kind);
struct vmx_controls { // the five control fields of one VMCS
    uint32_t pin, proc, proc2, exit, entry;
};

// vmcs_build.c: the VMCS a run gets, as hv/run/guest.c describes it to vmcs_setup()
struct host_state { // the host's registers, as a VM exit must restore them
    uint64_t cr0, cr3, cr4, tr_base, gdtr_base, idtr_base, rsp, rip, efer, pat;
};
struct cr_setup {   // a run's CR0/CR4: as the guest first sees them, and the real bits
    uint64_t cr0, cr4;
    uint64_t cr0_keep, cr0_force; // real CR0 = (written & keep) | force: the fixed bits
    uint64_t cr4_force;           // bits the real CR4 always has: FIXED0, MCE
};
// Where and in which mode a guest starts: a vmxlab guest in 64-bit mode with its own
// tables (struct guest_header, guest/abi.h); a multiboot kernel in 32-bit protected
// mode with paging off, flat segments 0x08 and 0x10, the descriptor tables QEMU's
// option ROM leaves (hv/run/guest.c, docs/guest-abi.md section 15).
struct guest_entry {
    bool prot32;                    // 32-bit protected mode, paging off; else 64-bit mode
    uint64_t rip, rsp;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
};
struct vm_setup {
    const struct vmx_caps *caps;
    const struct vmx_controls *ctls; // this run's (vmx_controls_paging())
    const struct host_state *host;
    struct guest_entry entry;
    uint64_t eptp, msr_bitmap;
    uint64_t vapic_page, apic_access_page; // APIC virtualisation's (hv/exit/mmio.c)
    uint64_t cr3;                   // the real CR3: the guest's, or the shadow root
    bool shadow;                    // paging=shadow: no EPT, CR3 and #PF exits
    uint64_t efer;                  // IA32_EFER as the guest sees it (efer_real())
    struct cr_setup cr;             // vm_setup_cr()
    uint64_t cr0_owned, cr4_owned;  // guest-owned bits
    uint16_t vpid;
};
void vm_setup_cr(const struct vmx_caps *c, bool shadow, bool prot32, uint64_t cr0_owned,
                 struct cr_setup *out);

// vmcs.c: dump, self-test, the controls of this boot and run, per-run set-up
extern struct vmx_controls ctls;
void vmcs_dump(void);
void vmcs_selftest(void);
void vmx_controls_init(void);
// This run's controls: 0, or a missing control's bit. prot32: a multiboot kernel, which
// starts outside IA-32e mode and under EPT needs "unrestricted guest" (checked first).
int vmx_controls_for(bool shadow, bool prot32);
void vmx_set_ia32e_guest(bool on); // the "IA-32e mode guest" entry control, as EFER.LMA
bool vmx_unrestricted_guest(void);  // "unrestricted guest" on, for paging off under EPT
bool vmx_has_ept(void);            // usable EPT, whatever this run's paging
void host_state_now(struct host_state *h); // this CPU's, for vmcs_setup()
void vmcs_setup(const struct vm_setup *s); // vmcs_build() on the CPU; a failure ends the run
void arm_watchdog(uint64_t ticks); // the VMX-preemption timer, for this many TSC ticks
bool ctl_on(enum ctl_kind kind, uint32_t bit); // is this control in use?
bool exitpath_fast(void); // HOST_RIP is hv/vmx/exit_fast.S (exitpath=fast, no trace=)

// breaks.c
struct entry_break; // one row of entry_breaks[] (internal.h)
const struct entry_break *break_find(const char *name, size_t len);

// entry.c: the entry checker around each VMLAUNCH, the CPU's verdict beside it, break=
struct entry_verdict { // what a CPU does with one VM entry
    enum { ENTRY_ENTERED, ENTRY_VMFAIL, ENTRY_FAILED_EXIT } how;
    uint32_t number;   // ENTRY_VMFAIL: VM-instruction error; ENTRY_FAILED_EXIT: exit reason
    uint64_t qual;     // ENTRY_FAILED_EXIT: the exit qualification
};
struct run_record;
void entry_prepare(const char *label, const struct entry_break *brk);
bool entry_launch_failed(bool expected, struct run_record *rec);
void entry_checked(bool judged_elsewhere);
void entry_explain(const struct entry_verdict *cpu, bool launch);
bool breaks_check_names(void);
void breaks_run(enum mmu mmu, unsigned *ok, unsigned *bad, unsigned *by_end);

// exit_stub.S: the VM entry; the exits come back through it (exit_fast.S first, with
// exitpath=fast) to vmx_exit_handler() (hv/exit/exit.c)
int vmx_run(const struct guest_regs *initial); // 0: run ended; -1: VMLAUNCH failed
