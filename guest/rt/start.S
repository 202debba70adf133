// start.S: what every test guest is built around. The hypervisor enters
// _start in 64-bit mode with CR3, GDTR, IDTR and RSP taken from the header
// below and RDI = GUEST_PARAMS_GPA. _start zeroes .bss, fills the IDT, calls
// guest_main(params), and ends the run with HC_EXIT: RDI = 0 if guest_main
// returned 0, else 1. All 256 vectors reach guest_trap() in rt.c: exceptions
// (0-31), and interrupts (32-255), which vmxlab promises never to deliver.
#include "../abi.h"
#include "../../boot/x86.h"

#define STACK_SIZE 8192

// struct guest_header (abi.h), field by field.
    .section .guest_header, "a"
    .quad GUEST_HEADER_MAGIC
    .quad pml4                            // cr3
    .quad stack_top                       // rsp
    .quad gdt, idt                        // gdt_base, idt_base
    .short gdt_end - gdt - 1, idt_end - idt - 1
    .balign 8                             // C pads the struct to 48 bytes

    .text
    .globl _start
_start:
    mov %rdi, %rbx             // struct guest_params *: rep stosb needs RDI

    // A loader may or may not zero the part of a segment beyond its file
    // image; C expects .bss zeroed, so do it here (RFLAGS.DF = 0 at entry).
    mov $bss_start, %edi
    mov $bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    // Gate v -> trap_stubs + 16 * v, v = 0..255. A 64-bit interrupt gate (SDM 3A 6.14.1):
    // dword 0 = selector << 16 | offset 15:0; dword 1 = offset 31:16 << 16 |
    // 0x8e << 8 (present, DPL 0, interrupt gate: IF stays 0), IST 0;
    // dwords 2 and 3 (offset 63:32, reserved) stay 0: all is below 4 GiB.
    mov $idt, %edi
    mov $trap_stubs, %eax
1:  mov %eax, %edx
    and $0xffff, %edx
    or $(SEL_CODE64 << 16), %edx
    mov %edx, (%rdi)
    mov %eax, %edx
    and $0xffff0000, %edx
    or $0x8e00, %edx
    mov %edx, 4(%rdi)
    add $16, %eax
    add $16, %rdi
    cmp $idt_end, %rdi
    jb 1b

    mov %rbx, %rdi
    call guest_main            // RSP = stack_top is 16-byte aligned, as the ABI wants
    xor %edi, %edi
    test %eax, %eax
    setnz %dil
    call hc_exit               // does not return

// Stubs, 16 bytes apart so _start can compute their addresses. Each pushes
// a dummy error code where the CPU pushes none (SDM 3A 6.15 lists which
// exceptions have one; interrupts never do), then the vector number.
    .balign 16
trap_stubs:
    .set .Lvec, 0
    .rept 256
    .balign 16, 0xcc
    .if !(.Lvec == 8 || .Lvec == 10 || .Lvec == 11 || .Lvec == 12 || .Lvec == 13 || .Lvec == 14 || .Lvec == 17 || .Lvec == 21 || .Lvec == 29 || .Lvec == 30)
    push $0
    .endif
    push $.Lvec
    jmp trap_common
    .set .Lvec, .Lvec + 1
    .endr

// The CPU aligned RSP to 16 and pushed SS, RSP, RFLAGS, CS, RIP (SDM 3A
// 6.14.2); with the error code, the vector and nine registers that makes
// 16 qwords, so RSP is 16-byte aligned at the call. Only the registers a C
// function may clobber need saving: guest_trap() keeps the others.
trap_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov 72(%rsp), %rdi         // vector
    mov 80(%rsp), %rsi         // error code
    lea 88(%rsp), %rdx         // &RIP in the interrupt frame: a fixup rewrites it
    call guest_trap
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp              // vector and error code
    iretq

    .data
// Identity map of guest RAM (0..4 MiB), supervisor, read/write (SDM 3A 4.5):
// PML4[0] -> PDPT[0] -> PD; PD[0] -> low_pt (4 KiB pages, 0..2 MiB, so tests
// can change one page), PD[1] = one 2 MiB page at 2 MiB.
    .balign 4096
pml4:
    .quad pdpt + (PTE_P | PTE_W)
    .fill 511, 8, 0
pdpt:
    .quad pd + (PTE_P | PTE_W)
    .fill 511, 8, 0
pd:
    .quad low_pt + (PTE_P | PTE_W)
    .quad 0x200000 + (PTE_P | PTE_W | PTE_PS)
    .fill 510, 8, 0
    .globl low_pt
low_pt:
    .set .Lpage, 0
    .rept 512
    .quad .Lpage + (PTE_P | PTE_W)
    .set .Lpage, .Lpage + 4096
    .endr

// The entry state's selectors: CS = 0x08, data segments = 0x10 (SDM 3A 3.4.5);
// 0x18 is a 32-bit code segment (L = 0, D = 1) for compatibility-mode tests.
    .balign 16
gdt:
    .quad 0                    // null
    .quad 0x00af9a000000ffff   // 0x08: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff   // 0x10: data, DPL 0
    .quad 0x00cf9a000000ffff   // 0x18: 32-bit code, DPL 0, base 0, limit 4 GiB
gdt_end:

    .bss
    .balign 16
idt:
    .skip 256 * 16             // vectors 0-255; filled by _start
idt_end:
    .balign 16
    .skip STACK_SIZE
stack_top:

    .section .note.GNU-stack, "", @progbits
