// exit_stub.S: the two doors between host and guest.
// vmx_run(regs) saves the host's callee-saved registers, loads the guest's
// general registers and executes VMLAUNCH; it returns 0 when a handler ends
// the guest run, or -1 at once if VMLAUNCH itself fails (the caller reads the
// VM-instruction error). Every VM exit lands on vmx_exit_stub (HOST_RIP; with
// exitpath=fast, through hv/vmx/exit_fast.S) with RSP = exit_stack_top
// (HOST_RSP): it pushes the guest's registers as a struct
// guest_regs (hv/vmx/regs.h), calls vmx_exit_handler(regs) (hv/exit/exit.c), and
// resumes the guest, restoring only what C may have clobbered, or unwinds into
// vmx_run. SDM 3C 28 (VM exits; 28.5 host state), 27 (VM entries).
#include "regs.h"

    .text
    .globl vmx_run
vmx_run:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, host_rsp(%rip)
    mov %rdi, %rax               // struct guest_regs *: load every field
    mov GR_RCX(%rax), %rcx
    mov GR_RDX(%rax), %rdx
    mov GR_RBX(%rax), %rbx
    mov GR_RBP(%rax), %rbp
    mov GR_RSI(%rax), %rsi
    mov GR_RDI(%rax), %rdi
    mov GR_R8(%rax), %r8
    mov GR_R9(%rax), %r9
    mov GR_R10(%rax), %r10
    mov GR_R11(%rax), %r11
    mov GR_R12(%rax), %r12
    mov GR_R13(%rax), %r13
    mov GR_R14(%rax), %r14
    mov GR_R15(%rax), %r15
    mov GR_RAX(%rax), %rax
    vmlaunch
    // Still here: VMLAUNCH failed (VMfailValid or VMfailInvalid).
    mov $-1, %eax
    jmp unwind

    .globl vmx_exit_stub
vmx_exit_stub:
    push %r15                    // struct guest_regs, last field first
    push %r14
    push %r13
    push %r12
    push %r11
    push %r10
    push %r9
    push %r8
    push %rdi
    push %rsi
    push %rbp
    push $0                      // the RSP slot: RSP lives in the VMCS
    push %rbx
    push %rdx
    push %rcx
    push %rax
    mov %rsp, %rdi
    call vmx_exit_handler
    cmp $EXIT_RESUME, %eax
    jne not_plain_resume
resume:
    // The C code preserved RBX, RBP and R12-R15 (callee-saved in the ABI):
    // only the caller-saved registers come back from the stack.
    pop %rax
    pop %rcx
    pop %rdx
    add $(GR_RSI - GR_RBX), %rsp // RBX, the RSP slot, RBP: still in place
    pop %rsi
    pop %rdi
    pop %r8
    pop %r9
    pop %r10
    pop %r11
    add $(GR_SIZE - GR_R12), %rsp // R12-R15 still in place
    vmresume
    call vmx_resume_failed       // does not return

not_plain_resume:
    cmp $EXIT_STOP, %eax
    je guest_done
    mov GR_RBX(%rsp), %rbx       // EXIT_RESUME_RELOAD: a handler wrote a guest
    mov GR_RBP(%rsp), %rbp       // register, so take the callee-saved ones from
    mov GR_R12(%rsp), %r12       // guest_regs as well
    mov GR_R13(%rsp), %r13
    mov GR_R14(%rsp), %r14
    mov GR_R15(%rsp), %r15
    jmp resume

guest_done:
    xor %eax, %eax
unwind:
    mov host_rsp(%rip), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

    .bss
    .align 16
host_rsp:
    .quad 0
    .align 16
exit_stack:
    .skip 8192
    .globl exit_stack_top
exit_stack_top:

    .section .note.GNU-stack, "", @progbits
