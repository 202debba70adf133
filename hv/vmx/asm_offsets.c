// asm_offsets.c: every number hv/vmx/exit_fast.S takes from C, computed by the
// compiler: where the fields it touches sit in struct vcpu, the exit reasons,
// the VMCS field encodings (from the one table, vmcs_fields.h) and the
// constants of the rules it applies. Never linked: the Makefile compiles it to
// assembly only and turns each "->NAME value" line into "#define NAME value" in
// build/hv/vmx/asm_offsets.h, as Linux's asm-offsets.c does. Nothing is typed twice.
#include "../../boot/x86.h"
#include "../exit/exit.h"
#include "vmx.h"

#define DEFINE(name, value) asm volatile("\n.ascii \"->" #name " %0\"" ::"i"(value))

// A field of struct vcpu the assembly reads or writes with a 64-bit operand
// (or, for VCPU8, a byte): its offset, and a compile-time check of its size.
#define VCPU64(name, field)                                                        \
    do {                                                                           \
        _Static_assert(sizeof(((struct vcpu *)0)->field) == 8, #field " is 8 bytes"); \
        DEFINE(name, offsetof(struct vcpu, field));                                \
    } while (0)
#define VCPU8(name, field)                                                         \
    do {                                                                           \
        _Static_assert(sizeof(((struct vcpu *)0)->field) == 1, #field " is 1 byte"); \
        DEFINE(name, offsetof(struct vcpu, field));                                \
    } while (0)

void asm_offsets(void);
void asm_offsets(void)
{
    VCPU64(VCPU_CR0_SHADOW, cr0_shadow);
    VCPU64(VCPU_CR4_SHADOW, cr4_shadow);
    VCPU64(VCPU_CR4_OWNED, cr4_owned);
    VCPU64(VCPU_CR0_KEEP, cr0_keep);
    VCPU64(VCPU_CR0_FORCE, cr0_force);
    VCPU64(VCPU_WP_LEFT, wp_left);
    VCPU64(VCPU_EXITS_LEFT, exits_left);
    VCPU64(VCPU_EXITS_VMCALL, stats.by_reason[EXIT_REASON_VMCALL]);
    VCPU64(VCPU_EXITS_CR_ACCESS, stats.by_reason[EXIT_REASON_CR_ACCESS]);
    VCPU64(VCPU_MOV_TO_CR0, stats.cr[CR_MOV_TO_CR0]);
    VCPU8(VCPU_SHADOW, shadow);
    VCPU8(VCPU_CR0_PLAIN, cr0_plain);

    DEFINE(EXIT_REASON_VMCALL, EXIT_REASON_VMCALL);
    DEFINE(EXIT_REASON_CR_ACCESS, EXIT_REASON_CR_ACCESS);
    DEFINE(INTR_BLOCK_STI, INTR_BLOCK_STI);
    DEFINE(INTR_BLOCK_MOV_SS, INTR_BLOCK_MOV_SS);
    DEFINE(CR0_DEFINED, CR0_DEFINED);
    _Static_assert(CR0_DEFINED >> 32 == 0, "CR0_DEFINED fits a 32-bit immediate");
    DEFINE(CR0_WP_BIT, __builtin_ctz(CR0_WP));
    DEFINE(CR0_LM_RULED, CR0_LM_RULED);
    DEFINE(GP_INFO, HW_EXCEPTION_INFO(VEC_GP, true)); // #GP pushes an error code

#define VMCS_FIELD(name, enc, width, held) DEFINE(name, name);
#include "vmcs_fields.h"
#undef VMCS_FIELD
}
