// trap_entry.S: one stub per exception vector 0-31. Each pushes a uniform
// frame (vector, error code or 0, then all general registers) and calls
// trap_handler() in boot/cpu.c, which prints it and ends the run as CRASH.
// SDM 3A 6.15 lists which vectors push an error code.

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
    and $~15, %rsp             // the C ABI wants a 16-byte aligned stack
    call trap_handler          // does not return

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
