// exit_fast.S: exitpath=fast, a second door for VM exits (HOST_RIP, chosen by
// hv/vmx/vmcs.c vmcs_setup()). Like KVM's fastpath handlers it finishes two hot
// exits before the general path: a null VMCALL from ring 0 and a MOV to CR0,
// with the C path's counters, budget and rules, saving only RCX and RDX on the
// exit stack. Every other exit, and any one C would do more for, goes with
// every guest register intact to vmx_exit_stub (hv/vmx/exit_stub.S), as if it had
// come there.
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "asm_offsets.h" // build/hv/vmx/asm_offsets.h, generated from hv/vmx/asm_offsets.c

#define VCPU(offset) vcpu+offset(%rip) // a field of struct vcpu (hv/vcpu.h)
// Segment access rights, SDM 3C 25.4.1 (Table 25-2), as the descriptor's (SDM 3A 3.4.5)
#define AR_CONFORMING (1 << 2) // type bit 2 of a code segment: C, conforming
#define AR_DPL (3 << 5)        // bits 6:5, the descriptor privilege level
#define AR_L (1 << 13)         // bit 13, L: 64-bit code

// VMREAD and VMWRITE with the field number in RCX, and no failure check. They
// fail only without a current VMCS (VMfailInvalid), for a field the VMCS does
// not have, or (VMWRITE) for a read-only one (SDM 3C 31.2, and chapter 31's
// VMREAD and VMWRITE). Here, right after a VM exit, the current VMCS is the
// one the guest exited from (a VM exit keeps the current-VMCS pointer, SDM 3C
// 28); every field read here is in every VMCS, whatever the CPU's features,
// and every field written (guest state, CR0's read shadow, the VM-entry
// event fields) is in every VMCS and writable.
// So none can fail, and vmx_fail() has nothing to report: C's vmread() and
// vmwrite() keep their checks for the fields and moments that vary.
.macro read_field field, dst
    mov $\field, %ecx
    vmread %rcx, \dst
.endm
.macro write_field src, field
    mov $\field, %ecx
    vmwrite \src, %rcx
.endm

// What the C path does at every exit, or besides the handler's work, and this
// path leaves to it: each case goes to C untouched. Uses RCX only.
.macro plain_exit_or_c
    // The run's budget, hv/exit/exit.c dispatch(): C counts the exit down, stops the
    // run if none was left, and reads the TSC each time the count reaches a
    // multiple of 1024. So an exit whose count before is 0 or 1 modulo 1024
    // is C's: bits 9:1 clear (one exit in 512, a superset of the two cases).
    testl $0x3fe, VCPU(VCPU_EXITS_LEFT)
    jz to_c
    // Compatibility mode (CS.L = 0, SDM 3A 5.2.1): RIP wraps at 4 GiB, and a
    // MOV to CR0 moves 32 bits (SDM 2 MOV CR). CPL > 0: hv/exit/exit.c refuses a
    // hypercall from there (a MOV to CR0 there faults before any exit, SDM
    // 3C 26.1.1). The CPL is SS.DPL (vmx.h guest_cpl()), but the same read of
    // CS tells it apart from 0 for one instruction more: with a nonconforming
    // CS, CS.DPL is SS.DPL (a check of every VM entry, SDM 3C 27.3.1.2, which
    // every load of CS keeps true, SDM 3A 5.8), and a conforming CS goes to C.
    read_field GUEST_CS_AR_BYTES, %rcx
    and $(AR_L | AR_DPL | AR_CONFORMING), %ecx
    cmp $AR_L, %ecx
    jne to_c
    // TF: the completed instruction owes a single-step #DB, which C makes
    // pending (SDM 3C 25.4.2, pending debug exceptions BS; 27.7.3).
    read_field GUEST_RFLAGS, %rcx
    test $RFLAGS_TF, %ecx
    jnz to_c
    // Blocking by STI or by MOV SS lasts one instruction, and that one is
    // done: C clears it (SDM 3C 25.4.2, interruptibility state).
    read_field GUEST_INTERRUPTIBILITY_INFO, %rcx
    test $(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS), %ecx
    jnz to_c
.endm

.macro resume_guest
    pop %rdx
    pop %rcx
    vmresume
    call vmx_resume_failed           // does not return
.endm

// vmx.h complete_instruction_in(), for what plain_exit_or_c let through: RIP
// moves past the instruction by its length (SDM 3C 28.2.5, Information for VM
// Exits Due to Instruction Execution), in 64-bit mode.
.macro next_instruction_and_resume
    read_field VM_EXIT_INSTRUCTION_LEN, %rdx
    read_field GUEST_RIP, next_rip(%rip)
    add %rdx, next_rip(%rip)
    vmwrite next_rip(%rip), %rcx     // RCX still holds GUEST_RIP
    resume_guest
.endm

// A valid MOV to CR0 of the value in RDX, as hv/exit/exit_cr.c set_cr0() writes it:
// counted as dispatch() and handle_cr() count it, then what the guest reads
// back, cr0_normalize(val) (hv/exit/exit.h), in the read shadow and in vcpu.cr0_shadow
// (SDM 3C 25.6.6), and the real CR0: the value within the VMX fixed bits
// (SDM 3D A.7), C's (val & cr0_keep) | cr0_force. That is taken from the
// normalized value, which is the same: hv/run/guest.c gives cr0_keep only bits of
// CR0_DEFINED, and cr0_force ET wherever cr0_keep has it.
.macro write_cr0
    incq VCPU(VCPU_EXITS_CR_ACCESS)
    incq VCPU(VCPU_MOV_TO_CR0)
    decq VCPU(VCPU_EXITS_LEFT)
    and $CR0_DEFINED, %edx           // bits 63:32 are 0: a valid value
    or $CR0_ET, %edx
    mov %rdx, VCPU(VCPU_CR0_SHADOW)
    write_field %rdx, CR0_READ_SHADOW
    and VCPU(VCPU_CR0_KEEP), %rdx
    or VCPU(VCPU_CR0_FORCE), %rdx
    write_field %rdx, GUEST_CR0
.endm

// The entry. KVM's vmx_exit_handlers_fastpath() does the same for WRMSR
// (handle_fastpath_set_msr_irqoff()) before its general exit handling. Runs
// with trace= never land here (hv/vmx/vmcs.c exitpath_fast()): every traced exit
// reaches C, so nothing here asks whether one is traced.
    .text
    .globl vmx_exit_fast
vmx_exit_fast:
    push %rcx                        // RSP = HOST_RSP = exit_stack_top
    push %rdx
    read_field VM_EXIT_REASON, %rdx
    // All 32 bits compared: the basic reason is 15:0, and an exit with bit 31
    // (a failed VM entry) or another flag set is C's (SDM 3C 28.2.1).
    cmp $EXIT_REASON_VMCALL, %edx
    je vmcall
    cmp $EXIT_REASON_CR_ACCESS, %edx
    jne to_c

// MOV to CR0 (hv/exit/exit_cr.c handle_cr() and set_cr0()). The exit
// qualification (SDM 3C 28.2.1, Table 28-3): bits 3:0 the control register,
// 5:4 the access type (0: MOV to CR), 11:8 the general register, 7:6 and
// 15:12 reserved, 31:16 zero but for LMSW. So a MOV to CR0 from register n is
// exactly n << 8; anything else (other CRs, MOV from CR, CLTS, LMSW) is C's.
    read_field EXIT_QUALIFICATION, %rcx
    test $~0xf00, %rcx
    jnz to_c
    shr $8, %ecx
    jmp *cr0_source(,%rcx,8)         // RDX = the register's value
.irp reg, rax, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15
from_\reg:
    mov %\reg, %rdx
    jmp have_source
.endr
from_rcx:
    mov 8(%rsp), %rdx                // the guest's RCX and RDX: saved at entry
    jmp have_source
from_rdx:
    mov (%rsp), %rdx
have_source:
    plain_exit_or_c
    // cr0_valid_in_long_mode() (hv/exit/exit.h): KVM's kvm_is_valid_cr0() and, in
    // IA-32e mode, PG must stay 1. SDM 2 MOV CR: #GP(0) for a bit in 63:32,
    // PG without PE, NW without CD, PG cleared in IA-32e mode (SDM 3A 2.5).
    // Of the bits CR0_LM_RULED, the usual valid value has exactly PG and PE
    // set: with those two flipped, all must read 0.
    mov $(CR0_PG | CR0_PE), %ecx
    xor %rdx, %rcx
    test $CR0_LM_RULED, %rcx
    jnz cr0_unusual
cr0_valid:
    // A run where a valid MOV to CR0 is only written (vcpu.cr0_plain, set by
    // hv/run/guest.c): no shadow page tables to follow WP, no adaptive hand-over
    // to count down, no CR4.CET the guest could set. Else the tests below.
    cmpb $0, VCPU(VCPU_CR0_PLAIN)
    je cr0_not_plain
    write_cr0
cr0_done:
    next_instruction_and_resume

cr0_not_plain:
    // CR4.CET needs CR0.WP (SDM 3A 2.5): a write that clears WP while the
    // guest's CET may be 1 is C's, which reads the guest's CR4.
    test $CR0_WP, %edx
    jnz 1f
    testl $CR4_CET, VCPU(VCPU_CR4_SHADOW)
    jnz to_c
    testl $CR4_CET, VCPU(VCPU_CR4_OWNED)
    jnz to_c
1:  // A write that changes WP, against the shadow as set_cr0() compares:
    // under shadow paging the shadow tables must follow: with shadow_wp=flush
    // that is C's work; with roles it is the switch to the other set of
    // tables, done below. Under policy=adaptive it counts down to the
    // hand-over, and the write that hands WP over (vcpu.wp_left 1) is C's.
    mov VCPU(VCPU_CR0_SHADOW), %rcx
    xor %rdx, %rcx
    test $CR0_WP, %ecx
    jz 2f
    cmpb $0, VCPU(VCPU_SHADOW)
    je 3f
    cmpb $0, shadow_roles(%rip)
    je to_c
3:  cmpq $1, VCPU(VCPU_WP_LEFT)
    je to_c
    jb 2f                            // 0: no hand-over pending
    decq VCPU(VCPU_WP_LEFT)          // nothing goes to C from here on
2:  write_cr0
    // Shadow paging with roles: the real CR3 is the set of tables for the
    // guest's WP (hv/mmu/shadow.c shadow_wp_changed()); written whether WP changed
    // or not, which costs less than finding out again.
    cmpb $0, VCPU(VCPU_SHADOW)
    je cr0_done
    mov VCPU(VCPU_CR0_SHADOW), %rdx
    shr $CR0_WP_BIT, %edx
    and $1, %edx
    mov shadow_root_by_wp(,%rdx,8), %rdx
    write_field %rdx, GUEST_CR3
    jmp cr0_done

cr0_unusual:                         // valid only as PG | NW | PE with CD set
    and $CR0_LM_RULED, %rcx
    cmp $CR0_NW, %rcx
    jne cr0_invalid
    test $CR0_CD, %edx
    jnz cr0_valid
cr0_invalid:
    // #GP(0) at the MOV, as inject_exception(VEC_GP, 0) (hv/exit/exit.c): a fault,
    // so RIP and the interruptibility state stay (SDM 3C 27.6.1, 25.8.3). The
    // exit is counted as C counts it; nothing else changes.
    incq VCPU(VCPU_EXITS_CR_ACCESS)
    incq VCPU(VCPU_MOV_TO_CR0)
    decq VCPU(VCPU_EXITS_LEFT)
    mov $GP_INFO, %edx
    write_field %rdx, VM_ENTRY_INTR_INFO
    xor %edx, %edx
    write_field %rdx, VM_ENTRY_EXCEPTION_ERROR_CODE
    resume_guest

// A null hypercall (hv/exit/exit.c handle_vmcall()): HC_NOP in all 64 bits of RAX
// (guest/abi.h), which asks for nothing but the VMCALL's completion (SDM 2
// VMCALL: in VMX non-root operation it causes a VM exit, basic reason 18).
vmcall:
    cmp $HC_NOP, %rax
    jne to_c
    plain_exit_or_c
    incq VCPU(VCPU_EXITS_VMCALL)     // as dispatch() counts
    decq VCPU(VCPU_EXITS_LEFT)
    next_instruction_and_resume

// The C path, as if the exit had landed there: RSP is exit_stack_top again.
to_c:
    pop %rdx
    pop %rcx
    jmp vmx_exit_stub

    .section .rodata
    .balign 8
cr0_source: // by register number, as the qualification names them (Table 28-3)
    .quad from_rax, from_rcx, from_rdx, from_rbx
    .quad to_c // RSP lives in the VMCS (GUEST_RSP): C reads it from there
    .quad from_rbp, from_rsi, from_rdi, from_r8, from_r9, from_r10, from_r11
    .quad from_r12, from_r13, from_r14, from_r15

    .bss
    .balign 8
next_rip:
    .quad 0

    .section .note.GNU-stack, "", @progbits
