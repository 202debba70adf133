// internal.h: what the files of hv/vmx/ share among themselves and with their unit
// tests (tests/unit/test_check.c, test_vmcs_fields.c, test_profiles.c ...), and no
// other folder uses: the capability MSRs' numbers, the VMCS field table as data, the
// entry checker's rules and the breaks, the controls' arithmetic, the VMCS builder's
// pure steps. What the rest of vmxlab may use is in vmx.h.
#pragma once
#include "vmx.h"

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
// NULL if this CPU can have b broken, else why not (in buf)
const char *break_cannot(const struct entry_break *b, const struct vmx_caps *c, char *buf,
                         size_t size);

// vmx.c
const char *vm_instruction_error_name(uint32_t err);
int vmread_safe(uint64_t field, uint64_t *val); // 0, or the VM-instruction error
int vmwrite_safe(uint64_t field, uint64_t val); // (or -1: VMfailInvalid)

// controls.c
// Allowed-0 bits (low half of cap) are forced to 1; required bits missing from
// allowed-1 (high half) fail with the first one's number in *missing; optional
// bits are kept only where allowed.
int ctl_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out,
               unsigned *missing);
uint64_t ctl_cap(const struct vmx_caps *c, enum ctl_kind kind); // its capability MSR
uint32_t *ctl_field(struct vmx_controls *v, enum ctl_kind kind);

// vmcs_build.c: the controls vmxlab chooses and the VMCS it builds (pure)
// 0, or -1 with the control field and bit that the CPU lacks and vmxlab needs
int vmx_controls_choose(const struct vmx_caps *c, struct vmx_controls *out,
                        enum ctl_kind *kind, unsigned *bit);
// 0, or the primary control's bit that shadow paging needs and the CPU lacks. prot32:
// a guest that starts in 32-bit protected mode (no "IA-32e mode guest"; under EPT,
// "unrestricted guest", which the caller has checked the CPU has).
int vmx_controls_paging(const struct vmx_caps *c, const struct vmx_controls *base, bool shadow,
                        bool prot32, struct vmx_controls *out);
// Every field, through a->write; 0, or the first failing VMWRITE's error and *failed field
int vmcs_build(const struct vmcs_access *a, const struct vm_setup *s, uint32_t *failed);
unsigned invept_type(const struct vmx_caps *c);                   // 1, 2, or 0: none
// INVVPID (SDM 3C 31.3) with the narrowest type the CPU has: single context keeping
// globals (3), single context (1), else all contexts (2). Asked only with VPID on,
// which vmx_controls_choose() allows only with type 1 or 2. A macro, so that the CR4
// exit path (hv/exit/exit_cr.c) compiles to what it did before the tests shared it.
#define invvpid_type(c, keep_global) \
    ((keep_global) && (c)->invvpid_single_globals ? 3 : (c)->invvpid_single ? 1 : 2)

// vmcs.c
// The current VMCS of this CPU, through vmread_safe()/vmwrite_safe(), for the
// code that takes a struct vmcs_access (the field self-test, the entry checker).
extern const struct vmcs_access vmcs_cpu;
