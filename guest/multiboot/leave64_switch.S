// leave64_switch.S: the ways out of IA-32e mode for leave64.c, as SDM 3A 10.8.5.4
// ("Switching Out of IA-32e Mode Operation") lists them: to compatibility mode by a far
// return, CR0.PG = 0 (the CPU clears EFER.LMA), EFER.LME = 0; then 32-bit protected mode,
// paging off. leave_and_return() looks around there and goes back to 64-bit mode;
// leave_for_good() turns on 32-bit paging, prints one line and exits through port 0xf4.
// The 32-bit stretches call nothing and take no exception: the IDT holds 64-bit gates.
#include "mbk.h"

    .text
    .code64
// Into compatibility mode: a far return to the 32-bit code segment (RETF pops RIP, then
// CS, each 8 bytes with REX.W). The code runs from identity-mapped pages below 4 GiB.
.macro to_compat label
    pushq $SEL_CODE32
    lea \label(%rip), %rax
    pushq %rax
    lretq
    .code32
\label:
    mov %cr0, %eax
    and $~CR0_PG, %eax
    mov %eax, %cr0         // IA-32e mode off: EFER.LMA = 0, paging off
    mov $MSR_EFER, %ecx
    rdmsr
    and $~EFER_LME, %eax
    wrmsr
.endm

// void leave_and_return(uint32_t probe, uint32_t state[4]): state gets EFER, CR0 and CR4
// as 32-bit protected mode sees them and the 32-bit word at physical address probe.
// Bits 63:32 of the registers do not survive 32-bit code (SDM 1 3.4.1.1), so whatever
// 64-bit C keeps in them is saved here: the callee-saved registers and RSP.
    .globl leave_and_return
leave_and_return:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, saved_rsp(%rip)
    mov %edi, %ebx         // probe
    mov %esi, %ebp         // state
    to_compat in_compat_return
    mov $MSR_EFER, %ecx
    rdmsr
    mov %eax, 0(%ebp)
    mov %cr0, %eax
    mov %eax, 4(%ebp)
    mov %cr4, %eax
    mov %eax, 8(%ebp)
    mov (%ebx), %eax       // paging is off: a physical address
    mov %eax, 12(%ebp)
    // Back as entry.S came: CR4.PAE and CR3 are still set; EFER.LME, then CR0.PG
    // (IA-32e mode, compatibility mode), then a far jump to 64-bit code.
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmp $SEL_CODE64, $2f
    .code64
2:  mov saved_rsp(%rip), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

// void leave_for_good(uint32_t code, uint32_t *pd): out of IA-32e mode, then 32-bit
// paging through pd (4 MiB pages: CR4.PSE, PAE off; SDM 3A 10.8.5.4 step 5: a branch
// follows the MOV to CR0). If EFER.LMA is 0 and CR0.PG 1 there, it prints so and exits
// with code; otherwise it says what it found and exits with 1.
    .globl leave_for_good
leave_for_good:
    mov %edi, %ebx         // code
    mov %esi, %ebp         // pd
    to_compat in_compat_final
    mov $CR4_PSE, %eax
    mov %eax, %cr4
    mov %ebp, %cr3
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    jmp 4f
4:  mov $ok_msg, %esi
    mov $MSR_EFER, %ecx
    rdmsr
    test $EFER_LMA, %eax
    jnz 5f
    mov %cr0, %eax
    test $CR0_PG, %eax
    jnz 6f
5:  mov $bad_msg, %esi
    mov $1, %ebx
6:  lodsb                  // the string, byte by byte: LSR bit 5, then THR
    test %al, %al
    jz 8f
    mov %al, %ah
    mov $(COM1 + 5), %dx
7:  inb %dx, %al
    test $0x20, %al
    jz 7b
    mov $COM1, %dx
    mov %ah, %al
    outb %al, %dx
    jmp 6b
8:  mov %ebx, %eax
    mov $DEBUG_EXIT, %dx
    outl %eax, %dx
9:  cli
    hlt
    jmp 9b

    .section .rodata
ok_msg:
    .asciz "leave64: 32-bit protected mode with 32-bit paging: EFER.LMA 0, CR0.PG 1\n"
bad_msg:
    .asciz "leave64: still not in 32-bit paging after leaving IA-32e mode: exit code 1\n"

    .bss
    .balign 8
saved_rsp:
    .quad 0

    .section .note.GNU-stack, "", @progbits
