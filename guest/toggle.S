// toggle.S: the timed loops of the measurements, one per measured row of
// hv/experiments.c. toggle_wp_loop() and nop_loop() are linked into the guests
// and into the kernel, which runs them natively as the baseline, so they are
// position independent and touch only scratch registers. toggle_wp_loop()
// leaves CR0.WP flipped when n is odd: callers restore CR0. vmcall_loop()
// times HC_NOP round trips the same way; nop_loop() is that loop with a NOP in
// place of the VMCALL: its cost without the exits. ts_clts_loop(),
// cr4_pge_loop() and cpuid_loop() time the other exits a kernel makes.
#include "../boot/x86.h"
#include "abi.h"

// RAX = the 64-bit TSC; clobbers RDX. LFENCE first: RDTSC may otherwise run
// before earlier instructions finish, or later ones start before it (SDM 2
// RDTSC, "not a serializing instruction").
.macro rdtsc64
    lfence
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

// uint64_t ts_clts_loop(uint64_t n), n >= 1: n times a MOV to CR0 that sets
// TS, then CLTS, which clears it: two writes of TS per iteration.
    .globl ts_clts_loop
ts_clts_loop:
    mov %rdi, %rcx
    mov %cr0, %rsi
    or $CR0_TS, %rsi
    rdtsc64
    mov %rax, %r9
1:  mov %rsi, %cr0
    clts
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
    ret

// uint64_t cr4_pge_loop(uint64_t n), n >= 1: n MOVs to CR4, each flipping PGE.
// Leaves PGE flipped when n is odd.
    .globl cr4_pge_loop
cr4_pge_loop:
    mov %rdi, %rcx
    mov %cr4, %rsi
    mov $CR4_PGE, %r8d
    rdtsc64
    mov %rax, %r9
1:  xor %r8, %rsi
    mov %rsi, %cr4
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
    ret

// uint64_t cpuid_loop(uint64_t n), n >= 1: n times CPUID leaf 0, an
// instruction that exits whatever the policy. RBX is callee-saved.
    .globl cpuid_loop
cpuid_loop:
    push %rbx
    mov %rdi, %r8
    rdtsc64
    mov %rax, %r9
1:  xor %eax, %eax
    cpuid
    dec %r8
    jnz 1b
    rdtsc64
    sub %r9, %rax
    pop %rbx
    ret

// uint64_t nop_loop(uint64_t n), n >= 1: vmcall_loop's loop, with NOP.
    .globl nop_loop
nop_loop:
    mov %rdi, %rcx
    rdtsc64
    mov %rax, %r9
    mov $HC_NOP, %eax
1:  nop
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
    ret

    .section .note.GNU-stack, "", @progbits
