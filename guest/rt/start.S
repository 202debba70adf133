// start.S: what every test guest is built around. The hypervisor enters _start
// in 64-bit mode with CR3, GDTR, IDTR and RSP from the header below and RDI =
// GUEST_PARAMS_GPA. _start zeroes .bss, fills the IDT, loads its TSS, opens the
// .user pages to ring 3, calls guest_main(params) and ends with HC_EXIT (0 if
// it returned 0, else 1). All 256 vectors reach guest_trap() in rt.c; ring 3
// comes back that way too, to user_enter, run_user()'s way down to CPL 3.
#include "guest.h"

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
    // INT n checks CPL <= the gate's DPL (SDM 3A 6.12.1.1, "Protection of
    // Exception- and Interrupt-Handler Procedures"); exceptions do not. So
    // ring 3 can raise exactly one vector itself: 0xee = present, DPL 3,
    // interrupt gate.
    movb $0xee, idt + 16 * VEC_USER_RETURN + 5

    // The TSS descriptor (SDM 3A 8.2.3, "TSS Descriptor in 64-bit Mode"):
    // limit 15:0 and base 15:0; base 23:16, type 9 (available 64-bit TSS),
    // P = 1, DPL 0, base 31:24. Base 63:32 and the last dword stay 0. The
    // hypervisor entered us with TR = 0x18, base 0 (hv/vmx/vmcs.c), whose RSP0 is
    // whatever GPA 4 holds: only LTR makes ring 3 safe to leave.
    mov $tss, %eax
    mov %eax, %edx
    shl $16, %edx
    or $(tss_end - tss - 1), %edx
    mov %edx, gdt + SEL_GUEST_TSS
    mov %eax, %edx
    shr $16, %edx
    and $0xff, %edx
    or $0x8900, %edx
    and $0xff000000, %eax
    or %eax, %edx
    mov %edx, gdt + SEL_GUEST_TSS + 4
    mov $SEL_GUEST_TSS, %ax
    ltr %ax                    // marks the descriptor busy: once per run

    // Ring 3 may touch the .user pages (guest.ld): U/S = 1 in their PTEs. The
    // entries above low_pt are user-accessible already, so these pages, and
    // no others, are (the rights combine over every level, SDM 3A 4.6.1).
    mov $user_start, %eax
2:  cmp $user_end, %eax
    jae 3f
    mov %eax, %edx
    shr $12, %edx
    orq $PTE_U, low_pt(, %rdx, 8)
    add $4096, %eax
    jmp 2b
3:
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

// uint64_t user_enter(uint64_t (*fn)(uint64_t), uint64_t arg), for run_user()
// in rt.c: runs fn(arg) at CPL 3 and returns its RAX. It saves on this stack
// what its caller expects kept, notes the stack in user_back_rsp, and IRETQs
// to ring 3: IRETQ pops RIP, CS, RFLAGS, RSP, SS, and a CS with RPL 3 makes
// it a return to an outer privilege level, which also loads SS:RSP (SDM 3A
// 6.14.3, "IRET in IA-32e Mode"; SDM 2 IRET). Whatever ends ring 3 (INT
// 0x80, an exception) enters guest_trap() on the TSS's RSP0 stack, which
// rewrites its interrupt frame to IRETQ to user_back, at CPL 0, on this stack.
    .globl user_enter
user_enter:
    push %rbx                  // ring 3 may have changed every register
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    pushfq
    // IRETQ to an outer level loads a null selector into each of DS, ES, FS
    // and GS that holds a segment of lower DPL (SDM 2 IRET): all four, here.
    // They are put back as they were, and the FS and GS bases after them (a
    // selector load takes the base from the GDT; the guest may have written
    // the MSRs).
    mov $MSR_FS_BASE, %ecx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    push %rax
    mov $MSR_GS_BASE, %ecx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    push %rax
    mov %ds, %eax
    push %rax
    mov %es, %eax
    push %rax
    mov %fs, %eax
    push %rax
    mov %gs, %eax
    push %rax
    mov %rsp, user_back_rsp
    // fn returns to user_exit: the return address goes on top of the user
    // stack, leaving RSP + 8 16-byte aligned at fn's entry, as the ABI wants.
    mov $(user_stack_top - 8), %eax
    movq $user_exit, (%rax)
    push $SEL_USER_DATA        // SS
    push %rax                  // RSP
    push $RFLAGS_FIXED         // RFLAGS: IF = 0, TF = 0, IOPL 0 (no I/O in ring 3)
    push $SEL_USER_CODE        // CS
    push %rdi                  // RIP = fn
    mov %rsi, %rdi             // fn's argument
    iretq

    .globl user_back
user_back:                     // CPL 0 again, RSP = user_back_rsp; RAX = ring 3's RAX
    mov %rax, %rsi
    pop %rax
    mov %eax, %gs
    pop %rax
    mov %eax, %fs
    pop %rax
    mov %eax, %es
    pop %rax
    mov %eax, %ds
    mov $MSR_GS_BASE, %ecx
    pop %rax
    mov %rax, %rdx
    shr $32, %rdx
    wrmsr
    mov $MSR_FS_BASE, %ecx
    pop %rax
    mov %rax, %rdx
    shr $32, %rdx
    wrmsr
    popfq
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    mov %rsi, %rax
    ret

// Ring 3's side, in a .user page: where fn returns to, with its value in RAX.
    .section .user.text, "ax", @progbits
user_exit:
    int $VEC_USER_RETURN
    ud2                        // not reached: guest_trap() never resumes ring 3 here
    .text

    .data
// Identity map of guest RAM (0..4 MiB), read/write (SDM 3A 4.5): PML4[0] ->
// PDPT[0] -> PD; PD[0] -> low_pt (4 KiB pages, 0..2 MiB, so tests can change
// one page), PD[1] = one 2 MiB page at 2 MiB. Every page is supervisor-only
// but the .user pages (_start sets U/S in their PTEs): the entries that lead
// to low_pt have U/S = 1, so that a PTE alone decides.
    .balign 4096
pml4:
    .quad pdpt + (PTE_P | PTE_W | PTE_U)
    .fill 511, 8, 0
pdpt:
    .quad pd + (PTE_P | PTE_W | PTE_U)
    .fill 511, 8, 0
pd:
    .quad low_pt + (PTE_P | PTE_W | PTE_U)
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
// 0x18 is a 32-bit code segment (L = 0, D = 1) for compatibility-mode tests;
// 0x20 and 0x28 are ring 3's code and data (access bytes 0xfa, 0xf2: DPL 3);
// 0x30 is the TSS, its descriptor written by _start (guest.h names them).
    .balign 16
gdt:
    .quad 0                    // null
    .quad 0x00af9a000000ffff   // 0x08: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff   // 0x10: data, DPL 0
    .quad 0x00cf9a000000ffff   // 0x18: 32-bit code, DPL 0, base 0, limit 4 GiB
    .quad 0x00affa000000ffff   // 0x20: 64-bit code, DPL 3
    .quad 0x00cff2000000ffff   // 0x28: data, DPL 3
    .quad 0, 0                 // 0x30: 64-bit TSS (16 bytes), filled by _start
gdt_end:

// The 64-bit TSS (SDM 3A 8.7, "Task Management in 64-bit Mode", Figure 8-11):
// RSP0 is the stack an interrupt or exception from ring 3 switches to (SDM 3A
// 6.14.4); IST1 is the stack of the gates rt.c's set_ist() marks, none at
// start (SDM 3A 6.14.5, Interrupt Stack Table). The I/O map base is the TSS's size: no I/O
// permission bitmap, so I/O from ring 3 raises #GP (SDM 1 19.5.2, I/O
// Permission Bit Map).
    .globl tss
tss:
    .long 0                    // reserved
    .quad ring0_stack_top      // RSP0
    .quad 0, 0                 // RSP1, RSP2
    .quad 0                    // reserved
    .fill 7, 8, 0              // IST1-IST7
    .quad 0                    // reserved
    .short 0                   // reserved
    .short tss_end - tss       // I/O map base address
tss_end:

    .bss
    .balign 16
    .globl idt                 // rt.c's set_ist() marks gates
idt:
    .skip 256 * 16             // vectors 0-255; filled by _start
idt_end:
    .balign 16
    .skip STACK_SIZE
stack_top:
    .balign 16
    .skip 4096                 // the TSS's RSP0: traps from ring 3 land here
ring0_stack_top:

// Ring 3's stack, in a .user page.
    .section .user.data, "aw", @progbits
    .balign 16
user_stack:
    .skip 4096
user_stack_top:

    .section .note.GNU-stack, "", @progbits
