// traps.S: the 32 exception stubs of the test kernels' IDT (rt.c idt_init() points
// gate v at trap_stubs + 16 * v), assembled as 64-bit or 32-bit code. Each stub pushes
// 0 where the CPU pushes no error code, then the vector; trap_common saves the general
// registers, calls trap() (rt.c) with a pointer to the vector, restores them and returns
// with IRET to the frame's instruction pointer, which trap() may have changed.
#include "mbk.h"

    .text
    .balign TRAP_STUB_SIZE
    .globl trap_stubs
trap_stubs:
    .altmacro
    .macro stub v
    .balign TRAP_STUB_SIZE
    // SDM 3A 6.13 and Table 6-1: these vectors push an error code themselves.
    .if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
    push $0
    .endif
    push $\v
    jmp trap_common
    .endm
    .set v, 0
    .rept 32
    stub %v
    .set v, v + 1
    .endr

#ifdef __x86_64__
trap_common:
    push %rax; push %rcx; push %rdx; push %rbx; push %rbp; push %rsi; push %rdi
    push %r8; push %r9; push %r10; push %r11; push %r12; push %r13; push %r14; push %r15
    lea 15*8(%rsp), %rdi  // struct trap_frame: the vector, the error code, the CPU's frame
    call trap
    pop %r15; pop %r14; pop %r13; pop %r12; pop %r11; pop %r10; pop %r9; pop %r8
    pop %rdi; pop %rsi; pop %rbp; pop %rbx; pop %rdx; pop %rcx; pop %rax
    add $16, %rsp         // the vector and the error code
    iretq
#else
trap_common:
    pusha
    lea 32(%esp), %eax    // struct trap_frame
    push %eax
    call trap
    add $4, %esp
    popa
    add $8, %esp
    iret
#endif

    .section .note.GNU-stack, "", @progbits
