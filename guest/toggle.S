// toggle.S: the two timed loops of the measurement. toggle_wp_loop() is
// linked into the wp_toggle guest and into the kernel, which runs it natively
// as the baseline, so it is position independent and touches only scratch
// registers. It leaves CR0.WP flipped when n is odd: callers restore CR0.
// vmcall_loop() (guests only) times HC_NOP round trips the same way.
#include "../boot/x86.h"
#include "abi.h"

// RAX = the 64-bit TSC (RDTSC gives it halved in EDX:EAX); clobbers RDX.
.macro rdtsc64
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
.endm

    .text
// uint64_t toggle_wp_loop(uint64_t n), n >= 1: n MOVs to CR0, each flipping
// WP; returns the TSC ticks from before the first to after the last.
    .globl toggle_wp_loop
toggle_wp_loop:
    mov %rdi, %rcx             // iterations
    mov %cr0, %rsi
    mov $CR0_WP, %r8d
    rdtsc64
    mov %rax, %r9              // start
1:  xor %r8, %rsi              // the four instructions being measured
    mov %rsi, %cr0
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
    ret

// uint64_t vmcall_loop(uint64_t n), n >= 1: n VMCALLs with RAX = HC_NOP,
// timed like toggle_wp_loop. The hypervisor keeps RAX and RCX (abi.h).
    .globl vmcall_loop
vmcall_loop:
    mov %rdi, %rcx
    rdtsc64
    mov %rax, %r9
    mov $HC_NOP, %eax          // after RDTSC, which writes EAX
1:  vmcall
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
    ret

    .section .note.GNU-stack, "", @progbits
