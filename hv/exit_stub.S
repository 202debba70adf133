// exit_stub.S: the two doors between host and guest.
// vmx_run(regs) saves the host's callee-saved registers, loads the guest's
// general registers and executes VMLAUNCH; it returns 0 when a handler ends
// the guest run, or -1 at once if VMLAUNCH itself fails (the caller reads the
// VM-instruction error). Every VM exit lands on vmx_exit_stub (HOST_RIP) with
// RSP = exit_stack_top (HOST_RSP): it pushes the guest's registers as a
// struct guest_regs, calls vmx_exit_handler(regs) (hv/exit.c), and resumes the
// guest (restoring only what C may have clobbered), or unwinds into vmx_run. SDM 3C 28 (VM exits), 27 (VM entries).

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
    mov 8(%rax), %rcx
    mov 16(%rax), %rdx
    mov 24(%rax), %rbx
    mov 40(%rax), %rbp
    mov 48(%rax), %rsi
    mov 56(%rax), %rdi
    mov 64(%rax), %r8
    mov 72(%rax), %r9
    mov 80(%rax), %r10
    mov 88(%rax), %r11
    mov 96(%rax), %r12
    mov 104(%rax), %r13
    mov 112(%rax), %r14
    mov 120(%rax), %r15
    mov 0(%rax), %rax
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
    push $0                      // RSP lives in the VMCS (GUEST_RSP)
    push %rbx
    push %rdx
    push %rcx
    push %rax
    mov %rsp, %rdi
    call vmx_exit_handler        // 0: resume the guest; 1: end the run;
    test %eax, %eax              //   2: resume, guest registers changed
    jnz not_plain_resume
resume:
    // The C code preserved RBX, RBP and R12-R15 (callee-saved in the ABI):
    // only the caller-saved registers come back from the stack.
    pop %rax
    pop %rcx
    pop %rdx
    add $24, %rsp                // RBX, the RSP slot, RBP: still in place
    pop %rsi
    pop %rdi
    pop %r8
    pop %r9
    pop %r10
    pop %r11
    add $32, %rsp                // R12-R15 still in place
    vmresume
    call vmx_resume_failed       // does not return

not_plain_resume:
    cmp $1, %eax
    je guest_done
    mov 24(%rsp), %rbx           // a handler wrote a guest register: take the
    mov 40(%rsp), %rbp           // callee-saved ones from guest_regs as well
    mov 96(%rsp), %r12
    mov 104(%rsp), %r13
    mov 112(%rsp), %r14
    mov 120(%rsp), %r15
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
