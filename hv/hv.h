// hv.h: everything hv/ offers, grouped by file as xv6's defs.h does.
// hv/ is the hypervisor proper: capability discovery, VMX on/off, the VMCS,
// the VM-entry checker, EPT and shadow paging, VM-exit dispatch, the CR0/CR4
// ownership policies, and the table of experiments that runs the guests.
// Included by every C file of hv/, by boot/main.c and by the unit tests.
#pragma once
#include "../lib/lib.h"
#include "../boot/x86.h"

// VMX capability MSRs, SDM 3D appendix A
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_MISC 0x485
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED_CTLS2 0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)

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

// ---------------------------------------------------------------------------
// VMCS field encodings, from the one table in vmcs_fields.h
enum vmcs_width { W16 = 0, W64 = 1, W32 = 2, WNAT = 3 }; // encoding bits 14:13
enum vmcs_field {
#define VMCS_FIELD(name, enc, width, held) name = enc,
#include "vmx/vmcs_fields.h"
#undef VMCS_FIELD
};

// vmcs_fields.c: the table as data, and the round-trip self-test (pure)
struct vmcs_field_info {
    uint32_t enc;
    const char *name;
    uint64_t held; // the bits the field architecturally holds
};
extern const struct vmcs_field_info vmcs_fields[];
extern const size_t vmcs_nfields;
const char *vmcs_field_name(uint32_t enc);
struct vmcs_access { // VMREAD/VMWRITE returning 0 or the VM-instruction error
    int (*write)(void *ctx, uint64_t field, uint64_t val);
    int (*read)(void *ctx, uint64_t field, uint64_t *val);
    void (*bad)(void *ctx, const struct vmcs_field_info *f, uint64_t wrote, uint64_t read,
                int err);
    void *ctx;
};
struct vmcs_selftest {
    unsigned ok, bad, unsupported;
};
void vmcs_selftest_fields(const struct vmcs_access *a, struct vmcs_selftest *res);

// check.c: the VM-entry checker, one table of the SDM's entry checks (pure)
enum check_kind {   // what the CPU does when a check of this kind fails (SDM 3C 27.1)
    CHECK_CONTROL,  // VMfailValid, VM-instruction error 7 (27.2.1)
    CHECK_HOST,     // VMfailValid, VM-instruction error 8 (27.2.2-27.2.4)
    CHECK_GUEST,    // VM exit 33 with bit 31 set (27.3), qualification 0, 2 or 4
    CHECK_MSR_LOAD, // VM exit 34 with bit 31 set (27.4), qualification: the entry's number
    CHECK_KINDS
};
struct entry_verdict { // what a CPU does with one VM entry
    enum { ENTRY_ENTERED, ENTRY_VMFAIL, ENTRY_FAILED_EXIT } how;
    uint32_t number;   // ENTRY_VMFAIL: VM-instruction error; ENTRY_FAILED_EXIT: exit reason
    uint64_t qual;     // ENTRY_FAILED_EXIT: the exit qualification
};
struct check_env {     // what the checker reads: the VMCS, the CPU, memory
    const struct vmcs_access *vmcs;  // .read by encoding; .write is not used
    const struct vmx_caps *caps;     // the capability MSRs and CPUID, as the CPU reports them
    // Physical memory for the rules that look past the VMCS (the link pointer's
    // revision id, the MSR-load area, the virtual TPR, PDPTEs without EPT):
    // 0, or nonzero where the range cannot be read (those rules then say nothing).
    int (*read_phys)(void *ctx, uint64_t pa, void *buf, size_t n);
    void *phys_ctx;
    uint64_t vmcs_pa;  // the current VMCS (0: unknown)
    bool host_ia32e;   // the processor is in IA-32e mode now (IA32_EFER.LMA)
};
struct check;          // one run of the rules (check.c)
struct check_rule {
    const char *name;     // short, unique: what the output and the tests name
    const char *section;  // SDM 3C section ("27.3.1.2")
    enum check_kind kind;
    uint8_t qual;         // CHECK_GUEST: the exit qualification the CPU gives (SDM 3C 27.8)
    void (*check)(struct check *c);
    const char *what;     // the rule in words
    const char *bochs;    // Bochs 2.7's log line for this check (%s %d %x: what varies),
                          // or NULL: Bochs does not check it
};
extern const struct check_rule check_rules[];
extern const size_t check_nrules;
struct check_finding {
    const struct check_rule *rule;
    uint32_t field;       // the VMCS field at fault
    uint64_t qual;        // the exit qualification this failure gives, if it is the first
    char text[200];       // what is wrong, with the values
};
struct check_summary {
    unsigned findings, by_kind[CHECK_KINDS];
    uint64_t qual[CHECK_KINDS]; // the first finding's qualification, per kind
    bool qual_mixed[CHECK_KINDS]; // findings of that kind give different ones
};
typedef void check_found_fn(void *ctx, const struct check_finding *f);
struct guest_seg_fields { const char *name; uint32_t sel, base, limit, ar; };
enum guest_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEGS };
extern const struct guest_seg_fields guest_segs[SEGS]; // each segment register's four fields
void check_vmcs(const struct check_env *env, check_found_fn *found, void *ctx,
                struct check_summary *sum);
const struct check_rule *check_rule_find(const char *name);
struct entry_verdict check_predict(const struct check_summary *s); // ENTERED: nothing fails
bool check_agrees(const struct check_summary *s, const struct entry_verdict *cpu);
int check_format(char *buf, size_t size, const struct check_finding *f);
int entry_verdict_text(char *buf, size_t size, const struct entry_verdict *v);

// breaks.c: break=NAME, one table of things broken on purpose before a VM entry (pure)
struct break_ctx {
    const struct vmcs_access *vmcs; // the VMCS to break: .read and .write
    const struct vmx_caps *caps;
    uint64_t scratch_pa;            // a zeroed 4 KiB page the break may point the VMCS at
    uint8_t *scratch;               // ... and where the caller can write it
    uint64_t vmcs_pa;               // the VMCS being broken
};
struct entry_break {
    const char *name;
    const char *what;      // what it breaks
    const char *rule;      // the rule the checker must name (check_rules[])
    struct entry_verdict cpu; // what the CPU must do: .how VMFAIL or FAILED_EXIT
    struct { unsigned kind; uint32_t bits; } needs; // controls it sets (enum ctl_kind, bits)
    const char *(*cannot)(const struct vmx_caps *c); // NULL, or why this CPU can't have it
    void (*apply)(const struct break_ctx *b);
};
extern const struct entry_break entry_breaks[];
extern const size_t entry_nbreaks;
const struct entry_break *break_find(const char *name, size_t len);
// NULL if this CPU can have b broken, else why not (in buf)
const char *break_cannot(const struct entry_break *b, const struct vmx_caps *c, char *buf,
                         size_t size);

// Exit reasons, SDM 3D appendix C. The handler table is in exit.c.
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

#include "vmx/regs.h" // struct guest_regs and the exit stub's return values

// vmx.c: VMX on/off, the VMX-instruction wrappers' single error path
void vmx_on(void);
void vmx_off(void);
__attribute__((noreturn)) void vmx_fail(const char *insn, uint64_t arg);
const char *vm_instruction_error_name(uint32_t err);
void vmcs_load(void *vmcs);   // VMCLEAR, then VMPTRLD
void vmcs_clear(void *vmcs);
void *vmx_alloc_region(void); // a 4 KiB region with the revision id written
void invvpid_context(uint64_t vpid, bool keep_global);
void invept_context(uint64_t eptp);
int vmread_safe(uint64_t field, uint64_t *val); // 0, or the VM-instruction error
int vmwrite_safe(uint64_t field, uint64_t val); // (or -1: VMfailInvalid)

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
// Inlined into each handler: it is part of every emulated instruction's cost.
static inline __attribute__((always_inline)) void complete_instruction_in(bool is64)
{
    uint64_t rip = vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN);
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

static inline __attribute__((always_inline)) void complete_instruction(void)
{
    complete_instruction_in(guest_64bit());
}

// controls.c: VM-execution control adjustment against the capability MSRs
enum ctl_kind { CTL_PIN, CTL_PROC, CTL_PROC2, CTL_EXIT, CTL_ENTRY, CTL_KINDS };
enum { // the control bits by name: CTL_PROC_HLT_EXITING and so on
#define CTL(kind, bit, name, text) CTL_##kind##_##name = 1u << (bit),
#include "vmx/controls.h"
#undef CTL
};
const char *ctl_bit_name(enum ctl_kind kind, unsigned bit);
const char *ctl_kind_name(enum ctl_kind kind);
// Allowed-0 bits (low half of cap) are forced to 1; required bits missing from
// allowed-1 (high half) fail with the first one's number in *missing; optional
// bits are kept only where allowed.
int ctl_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out,
               unsigned *missing);
struct vmx_controls { // the five control fields of one VMCS
    uint32_t pin, proc, proc2, exit, entry;
};
uint64_t ctl_cap(const struct vmx_caps *c, enum ctl_kind kind); // its capability MSR
uint32_t *ctl_field(struct vmx_controls *v, enum ctl_kind kind);

// cr.c: CR0/CR4 semantics and ownership (pure)
#define CR0_DEFINED 0xe005003full // PE MP EM TS ET NE WP AM NW CD PG
enum cr0_error { CR0_OK, CR0_RESERVED_HIGH, CR0_PG_WITHOUT_PE, CR0_NW_WITHOUT_CD,
                 CR0_PG_OFF_IN_64BIT_MODE, CR0_PG_OFF_WITH_PCIDE };
const char *cr0_error_name(enum cr0_error e);

// KVM's kvm_is_valid_cr0() rules, plus the SDM's for clearing PG in IA-32e
// mode (SDM 2 MOV CR; SDM 3A 2.5, 10.8.5): #GP in 64-bit mode (CS.L = 1,
// bit64), and in compatibility mode while CR4.PCIDE is 1 (SDM 3A 4.10.1); in
// compatibility mode without PCIDE it is how software leaves IA-32e mode
// (SDM 3A 10.8.5.4), not an error. Bits: PE 0, NW 29, CD 30, PG 31.
static inline enum cr0_error cr0_check(uint64_t val, bool bit64, bool pcide)
{
    if (val >> 32)
        return CR0_RESERVED_HIGH;
    if ((val & BIT(31)) && !(val & BIT(0)))
        return CR0_PG_WITHOUT_PE;
    if ((val & BIT(29)) && !(val & BIT(30)))
        return CR0_NW_WITHOUT_CD;
    if (bit64 && !(val & BIT(31)))
        return CR0_PG_OFF_IN_64BIT_MODE;
    if (pcide && !(val & BIT(31)))
        return CR0_PG_OFF_WITH_PCIDE;
    return CR0_OK;
}

// The same rules for a guest in 64-bit mode, folded for the hot path into one
// comparison in the usual case: of the bits CR0_LM_RULED, valid means exactly
// PE and PG set (NW clear, nothing above bit 31); with NW set, CD must be set
// too. hv/vmx/exit_fast.S makes the same two comparisons.
// tests/unit/test_cr.c checks that it agrees with cr0_check(val, true, *).
#define CR0_LM_RULED (~0xffffffffull | BIT(31) | BIT(29) | BIT(0)) // 63:32, PG, NW, PE
static inline bool cr0_valid_in_long_mode(uint64_t val)
{
    uint64_t m = val & CR0_LM_RULED;
    return m == (BIT(31) | BIT(0)) || (m == (BIT(31) | BIT(29) | BIT(0)) && (val & BIT(30)));
}

// MOV to CR0 ignores writes to reserved bits 31:0 and ET reads as 1 (SDM 3A 2.5).
static inline uint64_t cr0_normalize(uint64_t val)
{
    return (val & CR0_DEFINED) | BIT(4);
}

// What a guest MOV from CR reads: guest-owned bits from the real register,
// host-owned bits from the read shadow (SDM 3C 25.6.6).
static inline uint64_t cr_visible(uint64_t real, uint64_t shadow, uint64_t guest_owned)
{
    return (real & guest_owned) | (shadow & ~guest_owned);
}
// 0 if every bit in owned may be guest-owned, else the first bit that may not;
// *why says why (SDM 3C 25.6.6 with the CR0/CR4 fixed-bit MSRs)
int cr0_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why);
int cr4_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why);
const char *cr0_bit_name(unsigned bit);
const char *cr4_bit_name(unsigned bit);
enum cr4_error { CR4_OK, CR4_RESERVED, CR4_PAE_OFF_IN_LONG_MODE, CR4_LA57_CHANGED,
                 CR4_PCIDE_WITH_CR3_LOW_BITS, CR4_CET_WITHOUT_WP };
const char *cr4_error_name(enum cr4_error e);
uint64_t cr4_guest_valid(uint64_t fixed1, const uint32_t leaf1[4], const uint32_t leaf7[4]);
enum cr4_error cr4_check(uint64_t val, uint64_t old, uint64_t cr3, uint64_t valid, bool cr0_wp);
bool cr4_write_flushes(uint64_t old, uint64_t val);
// MOV to CR3: -1 for #GP(0), else 0 with what CR3 becomes and whether the
// write asked the TLB to be kept (bit 63 with CR4.PCIDE)
int cr3_write(uint64_t val, bool pcide, unsigned maxphyaddr, uint64_t *load, bool *noflush);

// ept.c: 4-level EPT with 2 MiB (or 4 KiB) pages, SDM 3C 29.3
struct ept {
    uint64_t *pml4;
    uint64_t *(*alloc_page)(void *ctx); // a zeroed, 4 KiB-aligned table
    void *ctx;
};
#define EPT_RWX 7ull
#define EPT_MEMTYPE_WB (6ull << 3)
#define EPT_IPAT (1ull << 6) // ignore PAT: the leaf's memory type alone decides
#define EPT_LARGE (1ull << 7)
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, bool large_ok);
uint64_t ept_translate(const struct ept *e, uint64_t gpa, bool *mapped);
uint64_t ept_pointer(const struct ept *e); // WB, 4-level walk, no A/D

// exit.c: the exit-reason table, counters and dispatch
const char *exit_reason_name(uint32_t reason);
enum cr_kind { // CR-access exits by what the guest did (SDM 3C Table 28-3)
    CR_MOV_TO_CR0, CR_MOV_TO_CR3, CR_MOV_FROM_CR3, CR_MOV_TO_CR4, CR_MOV_TO_CR8,
    CR_MOV_FROM_CR8, CR_CLTS, CR_LMSW, CR_KINDS
};
const char *cr_kind_name(uint32_t k); // an enum cr_kind
enum pf_kind { // #PF exits under shadow paging (hv/mmu/shadow.c), by what came of them
    PF_FILLED,    // the guest's tables allow the access: a shadow entry was filled
    PF_REFLECTED, // they do not: the guest got its #PF
    PF_KINDS
};
const char *pf_kind_name(uint32_t k); // an enum pf_kind
struct exit_stats {
    uint64_t by_reason[EXIT_REASON_MAX];
    uint64_t cr[CR_KINDS];
    uint64_t pf[PF_KINDS];
    uint64_t shadow_flushes; // times the shadow tables were emptied
};
uint64_t stats_total(const struct exit_stats *s);
void stats_sub(struct exit_stats *d, const struct exit_stats *a, const struct exit_stats *b);
void stats_add(struct exit_stats *d, const struct exit_stats *a);

// How a guest run ended, and what it measured: filled in by the exit handlers.
enum run_end {
    RUN_EXITED,    // the guest ended itself (HC_EXIT, or OUT to port 0xf4): see status
    RUN_STOPPED,   // the hypervisor stopped it: see reason and why
    RUN_TIMED_OUT, // it used up its budget of exits or time
    RUN_HALTED,    // it executed HLT: nothing would ever wake it (see why)
};
#define MAX_WINDOWS 16
struct window { // one MARK_BEGIN .. MARK_END
    uint64_t iterations, ticks; // what the guest passed to MARK_END
    uint64_t smis;              // SMIs counted by MSR 0x34 inside the window
    uint64_t disturbances;      // NMIs and external interrupts inside the window
    struct exit_stats exits;    // exits strictly between the two hypercalls
};
struct run_record {
    enum run_end end;
    uint64_t status;         // RUN_EXITED: the guest's status, full width
    uint32_t reason;         // RUN_STOPPED: the exit reason (bit 31: failed entry)
    char why[160];           // RUN_STOPPED, RUN_TIMED_OUT: in words
    struct exit_stats all;   // every exit of the run
    struct window win[MAX_WINDOWS];
    unsigned windows;        // MARK_ENDs seen (at most MAX_WINDOWS are kept)
    uint64_t nmis, extints;  // events that reached the hypervisor during the run
    uint64_t watchdog_nmis;  // the NMI watchdog's ticks (no VMX-preemption timer)
    unsigned checks_passed, checks_failed; // the guest's HC_REPORTs
    uint64_t cr0_owned_at_end, cr4_owned_at_end;
    struct {                 // I/O by port (hv/exit/io.c): reads [1] and writes [0]
        uint16_t port;
        uint64_t count[2];
    } ports[16];
    unsigned nports;
    uint64_t other_ports;    // accesses to ports beyond the first 16 seen
    uint8_t *record;         // what the guest handed over with HC_RECORD (exit.c's
    size_t record_len;       //   buffer, valid until the next run), or NULL and 0
};

// result.c: the machine-readable result line (pure)
void fmt_ratio(char *buf, size_t size, uint64_t num, uint64_t den);        // "12.34"
void fmt_signed_ratio(char *buf, size_t size, int64_t num, uint64_t den);  // "-0.50"
struct window_summary {
    uint64_t iterations;        // per window
    uint64_t min_ticks, median_ticks;
    struct exit_stats exits;    // summed over the windows
    uint64_t smis, disturbances;
};
void windows_summarize(const struct run_record *r, struct window_summary *w);
int result_json(const char *experiment, const char *policy, const char *paging, bool claimed,
                const struct run_record *r, char *buf, size_t size);

// vmcs_build.c: the controls vmxlab chooses and the VMCS it builds (pure)
struct host_state { // the host's registers, as a VM exit must restore them
    uint64_t cr0, cr3, cr4, tr_base, gdtr_base, idtr_base, rsp, rip, efer, pat;
};
struct cr_setup {   // a run's CR0/CR4: as the guest first sees them, and the real bits
    uint64_t cr0, cr4;
    uint64_t cr0_keep, cr0_force; // real CR0 = (written & keep) | force: the fixed bits
    uint64_t cr4_force;           // bits the real CR4 always has: FIXED0, MCE
};
struct guest_header;
struct vm_setup {
    const struct vmx_caps *caps;
    const struct vmx_controls *ctls; // this run's (vmx_controls_paging())
    const struct host_state *host;
    const struct guest_header *hdr; // read from guest memory
    uint64_t rip, eptp, msr_bitmap;
    uint64_t cr3;                   // the real CR3: the guest's, or the shadow root
    bool shadow;                    // paging=shadow: no EPT, CR3 and #PF exits
    uint64_t efer;                  // IA32_EFER as the guest sees it (efer_real())
    struct cr_setup cr;             // vm_setup_cr()
    uint64_t cr0_owned, cr4_owned;  // guest-owned bits
    uint16_t vpid;
};
// 0, or -1 with the control field and bit that the CPU lacks and vmxlab needs
int vmx_controls_choose(const struct vmx_caps *c, struct vmx_controls *out,
                        enum ctl_kind *kind, unsigned *bit);
// 0, or the primary control's bit that shadow paging needs and the CPU lacks
int vmx_controls_paging(const struct vmx_caps *c, const struct vmx_controls *base, bool shadow,
                        struct vmx_controls *out);
void vm_setup_cr(const struct vmx_caps *c, bool shadow, uint64_t cr0_owned,
                 struct cr_setup *out);
// Every field, through a->write; 0, or the first failing VMWRITE's error and *failed field
int vmcs_build(const struct vmcs_access *a, const struct vm_setup *s, uint32_t *failed);
unsigned invept_type(const struct vmx_caps *c);                   // 1, 2, or 0: none
// INVVPID (SDM 3C 31.3) with the narrowest type the CPU has: single context keeping
// globals (3), single context (1), else all contexts (2). Asked only with VPID on,
// which vmx_controls_choose() allows only with type 1 or 2. A macro, so that the CR4
// exit path (hv/exit/exit_cr.c) compiles to what it did before the tests shared it.
#define invvpid_type(c, keep_global) \
    ((keep_global) && (c)->invvpid_single_globals ? 3 : (c)->invvpid_single ? 1 : 2)

// vmcs.c: dump, self-test, the controls of this boot and run, per-run set-up
extern struct vmx_controls ctls;
void vmcs_dump(void);
void vmcs_selftest(void);
// The current VMCS of this CPU, through vmread_safe()/vmwrite_safe(), for the
// code that takes a struct vmcs_access (the field self-test, the entry checker).
extern const struct vmcs_access vmcs_cpu;
void vmx_controls_init(void);
int vmx_controls_for(bool shadow); // this run's controls; 0, or a missing control's bit
bool vmx_has_ept(void);            // usable EPT, whatever this run's paging
void host_state_now(struct host_state *h); // this CPU's, for vmcs_setup()
void vmcs_setup(const struct vm_setup *s); // vmcs_build() on the CPU; a failure ends the run
void arm_watchdog(uint64_t ticks); // the VMX-preemption timer, for this many TSC ticks
bool ctl_on(enum ctl_kind kind, uint32_t bit); // is this control in use?
bool exitpath_fast(void); // HOST_RIP is hv/vmx/exit_fast.S (exitpath=fast, no trace=)

// exit.c: the state of the one virtual CPU, as the exit handlers see it
struct vcpu {
    const char *label;             // "experiment/policy", for reports
    uint64_t cr0_owned, cr4_owned; // guest-owned bits (the masks' complement)
    uint64_t cr0_shadow, cr4_shadow; // what the guest sees for host-owned bits
    uint64_t cr0_keep, cr0_force;  // real CR0 = (written & keep) | force: the fixed bits
    uint64_t cr4_force;            // bits the real CR4 always has: FIXED0, MCE
    uint64_t wp_left;              // adaptive: WP toggles until WP is handed over (0: never)
    uint64_t tpr;                  // CR8 as the guest sees it (CR8 accesses exit)
    uint64_t exits_left;           // the run's budget of exits
    uint64_t deadline, max_ticks;  // the TSC at which the run's time is up, and its budget
    struct exit_stats stats;       // every exit of this run
    struct exit_stats mark;        // stats at MARK_BEGIN
    uint64_t mark_smis, mark_disturbances;
    uint64_t progress_at;          // the TSC at the run's start or its last progress line
    struct run_record *rec;        // where the run's outcome goes
    uint64_t trace_left, trace_seen; // trace=: exits still to print, and printed
    bool tracing;                  // this exit is printed: handlers say what they did
    bool expect_stop;              // the run is meant to be stopped: say so, not FAIL
    bool nmi_watchdog;             // no VMX-preemption timer: the PIT's NMIs bound the run
    bool shadow;                   // paging=shadow (hv/mmu/shadow.c): a CR0.WP change must
                                   // rebuild or switch the shadow page tables
    bool cr0_plain;                // a valid MOV to CR0 is only written: no shadow paging,
                                   // no WP hand-over pending, no CR4.CET (hv/vmx/exit_fast.S)
    uint8_t *ram;                  // host address of guest-physical 0
    uint64_t guest_cr3;            // paging=shadow: the CR3 the guest wrote (the real
                                   // CR3 is hv/mmu/shadow.c's)
    uint64_t efer;                 // IA32_EFER as the guest sees it (hv/exit/msr.c)
};
extern struct vcpu vcpu;
int vmx_run(const struct guest_regs *initial); // 0: run ended; -1: VMLAUNCH failed
// trace.c: trace=N prints the first N exits of each run, decoded
int traced_exit(struct guest_regs *r);
int vmx_dispatch(struct guest_regs *r);
void trace_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TRACE(...)                                        \
    do {                                                  \
        if (__builtin_expect(vcpu.tracing, 0))            \
            trace_note(__VA_ARGS__);                      \
    } while (0)

// The handlers' common steps (exit.c). Each returns what the handler returns.
int stop_run(uint32_t reason, const char *why);
int exit_unexpected(uint32_t reason);
void inject_exception(unsigned vector, uint32_t error);
// A host instruction faulted on the guest's value (boot/x86.h *_safe): to the guest.
void host_fault_reflected(const char *insn, uint64_t value, int vector);
void host_fixups(void); // the row host-fixups: the exception table, in VMX root
// Its VM-entry interruption information (SDM 3C 25.8.3): vector 7:0, type 3
// (hardware exception) in 10:8, "deliver error code" 11, valid 31.
#define HW_EXCEPTION_INFO(vector, has_error) \
    ((vector) | (3u << 8) | ((has_error) ? 1u << 11 : 0) | 1u << 31)
uint64_t read_shadowed_cr0(void);          // CR0 as a guest MOV from CR0 reads it
uint64_t guest_cr3(void);                  // CR3 as a guest MOV from CR3 reads it
extern uint64_t cr4_guest_bits;            // CR4 bits a guest may set (cr4_guest_valid)
uint64_t smi_count(void); // MSR 0x34 where the CPU has it, else 0

// guest.c: guest memory and one guest run
struct guest_image {
    const char *name;
    const uint8_t *start, *end; // the ELF file: built in (guests.S) or a GRUB module
};
const struct guest_image *guest_image_find(const char *name);  // built in
const struct guest_image *guest_module_find(const char *name, char *err, size_t errlen);
// How a run's guest memory is translated (paging=, shadow_wp=).
enum mmu { MMU_EPT, MMU_SHADOW_ROLES, MMU_SHADOW_FLUSH, MMUS };
const char *mmu_name(enum mmu m); // "ept", "shadow-roles", "shadow-flush"
struct guest_run {
    const char *label;
    enum mmu mmu;
    uint64_t iterations, windows, flags; // struct guest_params
    uint64_t cr0_owned, cr4_owned;
    uint64_t wp_threshold;         // 0: never hand WP over
    bool expect_stop;              // the guest is meant to misbehave
    const struct entry_break *brk; // break= (hv/vmx/breaks.c): broken before VMLAUNCH
    uint64_t max_exits, max_ticks; // the run's budget; 0: the default for its size
};
#define RUN_TICKS (1ull << 30) // a run's tick budget before its size adds to it (guest.c)
void guest_ram_init(bool shadow_boot); // shadow_boot: paging=shadow, EPT only for some rows
// Runs img once; false if the image did not load (already reported).
bool guest_run(const struct guest_image *img, const struct guest_run *run,
               struct run_record *rec);

// entry.c: the entry checker around each VMLAUNCH, the CPU's verdict beside it, break=
void entry_prepare(const char *label, const struct entry_break *brk);
bool entry_launch_failed(bool expected, struct run_record *rec);
void entry_checked(bool judged_elsewhere);
void entry_explain(const struct entry_verdict *cpu, bool launch);
bool breaks_check_names(void);
void breaks_run(enum mmu mmu, unsigned *ok, unsigned *bad, unsigned *by_end);

// msr.c: RDMSR/WRMSR in the guest, one table of MSRs
extern uint8_t msr_bitmap[4096];
void msr_bitmap_init(void);
void msr_reset_for_run(void);   // the MSRs VMX does not switch, to 0
void msr_reset_emulated(void);  // the values msr.c keeps, to their reset values
int handle_rdmsr(struct guest_regs *r);
int handle_wrmsr(struct guest_regs *r);
const char *msr_name(uint32_t index);
uint64_t guest_efer(void);      // IA32_EFER as the guest sees it
void efer_load(void);           // the real IA32_EFER for it (VMCS, or the shared MSR)
// The real IA32_EFER for the guest's: under shadow paging NXE is always 1 where
// the CPU has it (hv/exit/msr.c says why). Pure: vmcs_build() uses it too.
static inline uint64_t efer_real(uint64_t guest, bool shadow, bool nx)
{
    return guest | (shadow && nx ? EFER_NXE : 0);
}

// cpuid.c: what CPUID answers a guest
struct cpuid_view { // what the guest may see: its own CR4, and what the CPU lets run
    bool osxsave, ospke, rdtscp, rdrand, rdseed, xsaves;
};
void cpuid_filter(const struct cpuid_view *v, uint32_t leaf, uint32_t sub, uint32_t r[4]);
int handle_cpuid(struct guest_regs *r);
// XCR0: the user state components CPUID.(0DH,0) and (0DH,1) leave for it (pure)
uint64_t xcr0_user_components(const uint32_t leaf_d0[4], const uint32_t leaf_d1[4]);
const char *xcr0_rule_broken(uint64_t v, uint64_t user); // NULL: XSETBV takes v (pure)
uint64_t guest_xcr0_components(void); // what the guest's CPUID offers it

// io.c: IN and OUT in a guest: COM1, port 0xf4, and an empty bus elsewhere
void io_reset_for_run(void);
void io_flush(void); // the guest's unfinished COM1 line, at the end of a run
int handle_io(struct guest_regs *r);

// shadow.c: shadow paging, a virtual TLB for the guest (paging=shadow)
void shadow_reset(bool roles);   // empty tables, before a run; roles: one set per WP
uint64_t shadow_root(void);      // the real CR3 for the guest's current WP
uint64_t shadow_root_for(bool wp); // ...for a guest whose CR0.WP reads wp (at set-up)
void shadow_flush(void);         // every shadow translation dropped
void shadow_wp_changed(void);    // after the guest's CR0.WP changed
void shadow_invlpg(uint64_t gva);
int shadow_page_fault(uint64_t gva, uint32_t hw_error); // a #PF exit
struct walk_mode guest_walk_mode(void); // the guest's CR3, WP, NXE, SMEP, SMAP, AC

// paging.c: the guest's page tables, walked by the hypervisor (pure)
struct guest_mem { // guest RAM as the host sees it
    const uint8_t *ram;
    uint64_t size;
};
struct walk_mode { // what decides a translation besides the tables
    uint64_t cr3;
    bool wp, nxe, smep, smap;
    bool ac;           // RFLAGS.AC, for SMAP; false for an implicit supervisor access
    bool gbpages;      // the CPU has 1 GiB pages (else PS in a PDPTE is reserved)
    unsigned maxphyaddr;
};
struct walk {
    uint64_t gpa, page_size;
    unsigned levels;            // entries read: 1 (PML4E) to 4 (PTE)
    uint64_t entry[4], entry_gpa[4];
    bool user, writable, executable; // the combined rights of the path
    bool outside_ram;           // an entry's address left guest RAM
    uint32_t pf_error;          // the #PF error code, when the walk fails
};
// 0, or -1 with w->pf_error; access: PF_W, PF_U, PF_I as for a #PF.
int guest_walk(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
               unsigned access, struct walk *w);
// Sets A in every entry w used and D in its leaf for a write, in guest RAM, as
// the CPU does for a translation it uses (SDM 3A 4.8).
void guest_walk_set_ad(uint8_t *ram, uint64_t size, const struct walk *w, bool write);
// The shadow entry for the page of a successful walk of an access (hv/mmu/shadow.c),
// or 0 where shadow paging cannot give the guest what it asks (SMAP with WP=0).
uint64_t shadow_leaf(const struct walk *w, unsigned access, const struct walk_mode *m,
                     uint64_t ram_base);
// Copies up to n bytes at gva; returns how many could be read.
size_t guest_read(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
                  void *dst, size_t n);

// matrix.c: two records of the access-rights matrix (struct matrix_entry,
// guest/abi.h), compared entry by entry (pure)
struct matrix_diff {
    size_t ref_entries, run_entries; // whole entries in each record
    size_t differing;                // entries, of those both have, that differ
    bool ragged;                     // a length that is not a whole number of entries
};
// Fills *d, and writes the first `show` differences in words to text, one a
// line ("entry 17 (D differs): 4 KiB page, ...: reference ...; this run ...").
void matrix_compare(const void *ref, size_t ref_len, const void *run, size_t run_len,
                    unsigned show, struct matrix_diff *d, char *text, size_t size);
static inline bool matrix_identical(const struct matrix_diff *d)
{
    return !d->ragged && !d->differing && d->ref_entries == d->run_entries;
}

// elf.c: the guest loader (pure)
int elf_load(const uint8_t *img, size_t size, uint8_t *ram, uint64_t ram_size,
             uint64_t *entry, char *err, size_t errlen);

// experiments.c: the one table of experiments. Each row is run by
// experiment.c, once or under each CR ownership policy, and its outcome is
// checked against what the row expects.
struct exit_expect { // exits of one reason, over all windows of a measured run
    uint8_t reason;    // EXIT_REASON_*
    uint8_t per_iter;  // exits per iteration while the deciding bit is host-owned
    uint8_t cr;        // 0 or 4: which control register holds the deciding bit;
    uint32_t bit;      //   no exits while the guest owns it (bit 0: always exits)
    uint8_t mmus;      // the paging modes it holds under (BIT(MMU_*)); 0: all
    bool once;         // at most one such exit in the whole run: the first
};
enum runs_under {
    ONCE,
    EACH_POLICY,
    EACH_POLICY_AND_PAGING, // each policy under EPT (where the CPU has it), then each
                            // policy shadow paging allows, with shadow_wp=roles and flush
};
struct experiment {
    const char *name;   // tests= name; runs are labelled "name" or "name/policy"
    const char *group;  // tests= also selects a whole group ("bad-guest")
    const char *guest;  // the guest image (guest/NAME.c or .S), or NULL: host step
    void (*host)(void); // the host step, where guest is NULL
    const char *what;   // what it checks or measures
    enum runs_under runs;
    uint64_t flags;     // guest_params.flags
    bool measured;      // windows of cfg.toggles iterations, exits counted
    struct exit_expect expect[3];
    struct {            // how the run must end; all zero: the guest exits with 0
        enum run_end end;
        uint64_t status;  // RUN_EXITED
        uint32_t reason;  // RUN_STOPPED: the exit reason that stops it...
        bool shadow_differs; // ...unless under shadow paging this one does:
        uint32_t shadow_reason;
    } outcome;
    const char *brk;    // a break= name (hv/vmx/breaks.c) applied before its VM entry
    uint64_t max_exits, max_ticks; // the run's budget, where not the default
    bool show_exits;    // not measured, but its line gives its exits by reason
    bool compare_records; // the first run's HC_RECORD record is the reference; every
                          // later run of the row must record the same (hv/run/matrix.c)
    bool external;      // a guest from a GRUB module (guest=): no expectations of
                        // exits; ending by HLT passes; windows are reported if made
};
extern const struct experiment experiments[];
extern const size_t nexperiments;

// experiment.c: running the table, once VMX is known to be there
bool experiment_name_known(const char *name, size_t len);
void experiments_run(void);
void host_vmx_caps(void);    // host steps the table names
void host_vmcs_fields(void);
void host_text_sum(void);    // the hypervisor's code and data, before the hostile guests
void host_text_check(void);  // ...and after
