// toggle.S: the timed loops of the measurements, one per measured row of
// hv/run/experiments.c, each in two forms built from one macro, so that the
// instructions timed are the same:
// - NAME_loop(n): the loop alone, returning the TSC ticks it took. The kernel
//   runs toggle_wp_loop() and nop_loop() natively as the baseline, and guests
//   from the SDK time with them; position independent, scratch registers only.
// - NAME_window(n): a whole measured window, MARK_BEGIN, the loop, MARK_END,
//   in one 256-byte-aligned block of at most 256 bytes (so in one 4 KiB page)
//   that touches no memory between its two hypercalls (only its push and
//   pop of RBX, outside them). Under shadow paging its only translation is its
//   own code page, so the #PF exits inside the window are exactly those its
//   loop causes, which hv/run/experiments.c states and the kernel checks.
// toggle_wp leaves CR0.WP flipped when n is odd, cr4_pge CR4.PGE: callers
// restore them. n >= 1 always.
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

// The timed loops. Each takes n in RCX and leaves the ticks in RAX; R9 holds
// the start.
.macro toggle_wp_body              // n MOVs to CR0, each flipping WP
    mov %cr0, %rsi
    mov $CR0_WP, %r8d
    rdtsc64
    mov %rax, %r9
1:  xor %r8, %rsi                  // the four instructions being measured
    mov %rsi, %cr0
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
.endm

.macro vmcall_body                 // n VMCALLs with RAX = HC_NOP
    rdtsc64
    mov %rax, %r9
    mov $HC_NOP, %eax              // after RDTSC, which writes EAX
1:  vmcall                         // the hypervisor keeps RAX and RCX (abi.h)
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
.endm

.macro nop_body                    // vmcall_body with NOP for VMCALL: its cost
    rdtsc64                        // without the exits
    mov %rax, %r9
    mov $HC_NOP, %eax
1:  nop
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
.endm

.macro ts_clts_body                // n times a MOV to CR0 setting TS, then CLTS:
    mov %cr0, %rsi                 // two writes of TS per iteration
    or $CR0_TS, %rsi
    rdtsc64
    mov %rax, %r9
1:  mov %rsi, %cr0
    clts
    dec %rcx
    jnz 1b
    rdtsc64
    sub %r9, %rax
.endm

.macro cr4_pge_body                // n MOVs to CR4, each flipping PGE
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
.endm

.macro cpuid_body                  // n CPUIDs, leaf 0: always an exit; the
    mov %rcx, %r8                  // caller saves RBX, which CPUID writes
    rdtsc64
    mov %rax, %r9
1:  xor %eax, %eax
    cpuid
    dec %r8
    jnz 1b
    rdtsc64
    sub %r9, %rax
.endm

// uint64_t NAME_loop(uint64_t n)
.macro loop name, body
    .globl \name\()_loop
\name\()_loop:
    push %rbx
    mov %rdi, %rcx
    \body
    pop %rbx
    ret
.endm

// void NAME_window(uint64_t n): MARK_BEGIN, the loop, MARK_END(n, ticks).
// The hypercalls take RAX, RDI, RSI, RDX (abi.h); R10 keeps n meanwhile.
.macro window name, body
    .balign 256
    .globl \name\()_window
\name\()_window:
    push %rbx
    mov %rdi, %r10
    mov $HC_MARK, %eax
    mov $MARK_BEGIN, %edi
    vmcall
    mov %r10, %rcx
    \body
    mov %rax, %rdx
    mov %r10, %rsi
    mov $HC_MARK, %eax
    mov $MARK_END, %edi
    vmcall
    pop %rbx
    ret
    // Fill the block; the assembler refuses (".org backwards") if it overflowed.
    .org \name\()_window + 256, 0xcc
.endm

    .text
    loop toggle_wp, toggle_wp_body
    loop nop, nop_body
    loop vmcall, vmcall_body
    loop ts_clts, ts_clts_body
    loop cr4_pge, cr4_pge_body
    loop cpuid, cpuid_body
    window toggle_wp, toggle_wp_body
    window vmcall, vmcall_body
    window ts_clts, ts_clts_body
    window cr4_pge, cr4_pge_body
    window cpuid, cpuid_body

    .section .note.GNU-stack, "", @progbits
