// hv.h: everything hv/ offers, grouped by file as xv6's defs.h does.
// hv/ is the hypervisor proper: capability discovery, VMX on/off, the VMCS,
// EPT, VM-exit dispatch and the CR0/CR4 ownership policies.
#pragma once
#include "../lib/lib.h"

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

// caps.c: what the CPU offers for VMX, read once and decoded by pure code
struct caps_raw { // straight from CPUID and the MSRs; zero where not readable
    uint32_t cpuid0[4], cpuid1[4];
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
        invept_all, invvpid;
};
void caps_read(struct caps_raw *raw);
void caps_decode(const struct caps_raw *raw, struct vmx_caps *c);
void caps_print(const struct vmx_caps *c);
int caps_json(const struct vmx_caps *c, char *buf, size_t size);
const char *caps_unsupported(const struct vmx_caps *c);
extern struct vmx_caps caps;

// ---------------------------------------------------------------------------
// VMCS field encodings, from the one table in vmcs_fields.h
enum vmcs_width { W16 = 0, W64 = 1, W32 = 2, WNAT = 3 }; // encoding bits 14:13
enum vmcs_field {
#define VMCS_FIELD(name, enc, width) name = enc,
#include "vmcs_fields.h"
#undef VMCS_FIELD
};

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

// Guest general registers as exit_stub.S saves them on the exit stack, in push order.
struct guest_regs {
    uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

// vmx.c: VMX on/off, the VMX-instruction wrappers' single error path
void vmx_on(void);
void vmx_off(void);
__attribute__((noreturn)) void vmx_fail(const char *insn, uint64_t arg);
const char *vm_instruction_error_name(uint32_t err);
void vmcs_load(void *vmcs);   // VMCLEAR, then VMPTRLD
void vmcs_clear(void *vmcs);
void *vmx_alloc_region(void); // a 4 KiB region with the revision id written
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

// controls.c: VM-execution control adjustment against the capability MSRs
enum ctl_kind { CTL_PIN, CTL_PROC, CTL_PROC2, CTL_EXIT, CTL_ENTRY, CTL_KINDS };
const char *ctl_bit_name(enum ctl_kind kind, unsigned bit);
const char *ctl_kind_name(enum ctl_kind kind);
// Allowed-0 bits (low half of cap) are forced to 1; required bits missing from
// allowed-1 (high half) fail with the first one's number in *missing; optional
// bits are kept only where allowed.
int ctl_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out,
               unsigned *missing);

// cr.c: CR0/CR4 semantics and ownership (pure)
#define CR0_DEFINED 0xe005003full // PE MP EM TS ET NE WP AM NW CD PG
enum cr0_error { CR0_OK, CR0_RESERVED_HIGH, CR0_PG_WITHOUT_PE, CR0_NW_WITHOUT_CD,
                 CR0_PG_OFF_IN_LONG_MODE };
const char *cr0_error_name(enum cr0_error e);

// KVM's kvm_is_valid_cr0() rules, plus the SDM's rule for 64-bit mode (MOV to
// CR0 clearing PG there is #GP, SDM 3A 2.5, 10.8.5). Bits: PE 0, NW 29, CD 30, PG 31.
static inline enum cr0_error cr0_check(uint64_t val, bool long_mode)
{
    if (val >> 32)
        return CR0_RESERVED_HIGH;
    if ((val & BIT(31)) && !(val & BIT(0)))
        return CR0_PG_WITHOUT_PE;
    if ((val & BIT(29)) && !(val & BIT(30)))
        return CR0_NW_WITHOUT_CD;
    if (long_mode && !(val & BIT(31)))
        return CR0_PG_OFF_IN_LONG_MODE;
    return CR0_OK;
}

// The same rules for a guest in 64-bit mode, folded for the hot path into one
// comparison in the usual case: with NW clear, valid means exactly PE and PG
// set and nothing above bit 31; with NW set, CD must be set too.
// tests/unit/test_cr.c checks that it agrees with cr0_check(val, true).
static inline bool cr0_valid_in_long_mode(uint64_t val)
{
    uint64_t m = val & (~0xffffffffull | BIT(31) | BIT(29) | BIT(0));
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

// ept.c: 4-level EPT with 2 MiB (or 4 KiB) pages, SDM 3C 29.3
struct ept {
    uint64_t *pml4;
    uint64_t *(*alloc_page)(void *ctx); // a zeroed, 4 KiB-aligned table
    void *ctx;
};
#define EPT_RWX 7ull
#define EPT_MEMTYPE_WB (6ull << 3)
#define EPT_LARGE (1ull << 7)
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size);
uint64_t ept_translate(const struct ept *e, uint64_t gpa, bool *mapped);
uint64_t ept_pointer(const struct ept *e); // WB, 4-level walk, no A/D

// exit.c: the exit-reason table, counters and dispatch
const char *exit_reason_name(uint32_t reason);
struct exit_stats {
    uint64_t by_reason[EXIT_REASON_MAX];
    uint64_t cr_mov_to_cr4, cr_clts, cr_lmsw, cr_other; // CR-access exits by kind
    uint64_t cr_mov_to_cr0; // the rest of CR_ACCESS: filled in when a window closes
    uint64_t total; // the sum of by_reason, filled in when a window closes
};

// result.c: the machine-readable result line (pure)
struct run_result {
    const char *policy;
    uint64_t toggles, ticks;
    struct exit_stats window; // exits between MARK_BEGIN and MARK_END
    uint64_t cr0_guest_owned;
};
int result_json(const struct run_result *r, char *buf, size_t size);
void fmt_ratio(char *buf, size_t size, uint64_t num, uint64_t den); // "12.34"

// vmcs.c: dump, self-test, control choice and per-run set-up
struct vmx_controls {
    uint32_t pin, proc, proc2, exit, entry;
    bool vpid, timer;
};
extern struct vmx_controls ctls;
struct guest_header;
struct vm_setup {
    const struct guest_header *hdr; // read from guest memory
    uint64_t rip, eptp;
    uint64_t cr0, cr4;              // initial values, as the guest sees them
    uint64_t cr0_owned, cr4_owned;  // guest-owned bits
    uint16_t vpid;
};
void vmcs_dump(void);
void vmcs_selftest(void);
void vmx_controls_init(void);
void vmcs_setup(const struct vm_setup *s);

// exit.c: the state of the one virtual CPU, as the exit handlers see it
struct vcpu {
    const char *label;          // the policy name, for reports
    uint64_t cr0_owned, cr4_owned; // guest-owned bits (the masks' complement)
    uint64_t cr0_shadow, cr4_shadow; // what the guest sees for host-owned bits
    uint64_t cr0_keep, cr0_force; // real CR0 = (written & keep) | force: the fixed bits
    uint64_t wp_left;           // adaptive: WP toggles until WP is handed over (0: never)
    struct exit_stats stats;    // every exit of this run
    struct exit_stats mark;     // stats at MARK_BEGIN
    struct run_result *result;  // MARK_END stores the window here
    bool marked;                // MARK_END was seen
    int status;                 // HC_EXIT's status, or -1: the hypervisor stopped the run
    uint32_t stop_reason;       // with status -1: the exit that stopped it
    bool expect_stop;           // bad-guest test: a stop is the expected outcome
    uint8_t *ram;               // host address of guest-physical 0
};
extern struct vcpu vcpu;
int vmx_run(const struct guest_regs *initial); // 0: run ended; -1: VMLAUNCH failed

// guest.c: guest memory and one guest run
struct guest_image {
    const char *name;
    const uint8_t *start, *end; // the ELF file, embedded by hv/guests.S
};
struct guest_run {
    const char *label;
    uint64_t iterations, flags;    // struct guest_params
    uint64_t cr0_owned, cr4_owned;
    uint64_t wp_threshold;         // 0: never hand WP over
    struct run_result *result;     // filled at MARK_END, or NULL
    bool expect_stop;              // the guest is meant to misbehave
    bool bad_rflags;               // enter with an invalid guest state, to test that path
};
void guest_ram_init(void);
int guest_run(const struct guest_image *img, const struct guest_run *run); // HC_EXIT status, -1 if stopped

// experiment.c: the tests and experiments kmain() runs once VMX is known to be there
struct ktest {
    const char *name;
    const char *what;
};
extern const struct ktest ktests[];
extern const size_t nktests;
void experiments_run(void);
