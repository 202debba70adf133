// trap_entry.S: one stub per exception vector 0-31. Each pushes a uniform
// frame (vector, error code or 0, then all general registers) and calls
// trap_handler() in boot/cpu.c. Most exceptions end the run there as CRASH;
// an NMI is counted and returns here, and so does an exception at an
// instruction of the exception table (EXTABLE, boot/x86.h: rdmsr_safe below,
// wrmsr_safe and xsetbv_safe), which resumes at its fixup. SDM 3A 6.15 lists
// which vectors push an error code.
#include "x86.h"

    .text
.macro stub n
trap\n:
    .if \n != 8 && \n != 10 && \n != 11 && \n != 12 && \n != 13 && \n != 14 && \n != 17 && \n != 21 && \n != 29 && \n != 30
    push $0                    // no error code from the CPU: keep the frame uniform
    .endif
    push $\n
    jmp trap_common
.endm

.altmacro
.macro stubs from, to
    stub %from
    .if \to - \from
    stubs %(\from + 1), \to
    .endif
.endm
    stubs 0, 31

trap_common:
    push %r15
    push %r14
    push %r13
    push %r12
    push %r11
    push %r10
    push %r9
    push %r8
    push %rbp
    push %rdi
    push %rsi
    push %rdx
    push %rcx
    push %rbx
    push %rax
    mov %rsp, %rdi             // struct trapframe *
    mov %rsp, %rbx             // callee-saved: the frame, across the call
    and $~15, %rsp             // the C ABI wants a 16-byte aligned stack
    call trap_handler          // returns only where the run goes on
    mov %rbx, %rsp
    pop %rax
    pop %rbx
    pop %rcx
    pop %rdx
    pop %rsi
    pop %rdi
    pop %rbp
    pop %r8
    pop %r9
    pop %r10
    pop %r11
    pop %r12
    pop %r13
    pop %r14
    pop %r15
    add $16, %rsp              // vector and error code
    iretq                      // also ends the blocking of NMIs after an NMI

// int rdmsr_safe(uint32_t msr, uint64_t *val): 0 and *val, or -1 where the
// MSR does not exist and RDMSR raises #GP (as MSR 0x34 does before Nehalem).
    .globl rdmsr_safe
rdmsr_safe:
    mov %edi, %ecx
1:  rdmsr
    EXTABLE(1b, 2f)
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, (%rsi)
    xor %eax, %eax
    ret
2:  mov $-1, %eax
    ret

.macro stubaddr n
    .quad trap\n
.endm
.macro stubaddrs from, to
    stubaddr %from
    .if \to - \from
    stubaddrs %(\from + 1), \to
    .endif
.endm
    .section .rodata
    .globl trap_stubs
trap_stubs:
    stubaddrs 0, 31

    .section .note.GNU-stack, "", @progbits
