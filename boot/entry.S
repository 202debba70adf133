// entry.S: from the loader's 32-bit protected mode to 64-bit long mode.
// Loaders (GRUB via multiboot2, QEMU -kernel via multiboot v1) jump to _start
// with paging off, EAX = boot magic and EBX = boot information. This file fixes
// CR0's cache bits, identity-maps the first 4 GiB (2 MiB pages, 4 KiB ones in
// the first 2 MiB), enables long mode (SDM 3A 10.8.5) and calls kmain(magic,
// info) on the boot stack.
#include "x86.h"

#define COM1 0x3f8

    .code32
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    cld
    mov $stack_top, %esp
    mov %eax, %edi             // kmain's first argument: boot magic
    mov %ebx, %esi             // second: boot information

    // GRUB hands over CR0 with CD and NW set and NE clear. Caches off make
    // everything slow, and VMXON requires NE (it is in IA32_VMX_CR0_FIXED0).
    mov %cr0, %eax
    and $~(CR0_CD | CR0_NW), %eax
    or $CR0_NE, %eax
    mov %eax, %cr0

    // Long mode present? CPUID.80000001H:EDX.LM[bit 29]
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    bt $29, %edx
    jnc no_long_mode

    // PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages,
    // except the first 2 MiB, which pt0 maps with 4 KiB pages: it mixes RAM
    // with the VGA hole and ROMs, whose memory types differ, and a large page
    // across memory types is undefined (SDM 3A 12.11.9, Large Page Size
    // Considerations).
    mov $pdpt, %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, pml4
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $pd, %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, pdpt(, %ecx, 8)
    inc %ecx
    cmp $4, %ecx
    jb 1b
    mov $1, %ecx               // 2047 entries: 2 MiB .. 4 GiB in 2 MiB pages
2:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P | PTE_W | PTE_PS), %eax
    mov %eax, pd(, %ecx, 8)    // the high halves stay 0: all below 4 GiB
    inc %ecx
    cmp $2048, %ecx
    jb 2b
    mov $pt0, %eax             // pd[0] -> pt0: 512 pages of 4 KiB
    or $(PTE_P | PTE_W), %eax
    mov %eax, pd
    xor %ecx, %ecx
7:  mov %ecx, %eax
    shl $12, %eax
    or $(PTE_P | PTE_W), %eax
    mov %eax, pt0(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jb 7b
    // The page below the boot stack stays unmapped: a stack overflow faults
    // instead of silently rewriting the page tables just below it. That #PF
    // cannot push its frame on the same stack, so the CPU raises #DF (SDM 3A
    // 6.15, interrupt 8), which runs on its own IST stack (boot/cpu.c) and
    // reports the overflow.
    mov $stack_guard, %eax
    shr $12, %eax
    movl $0, pt0(, %eax, 8)

    mov %cr4, %eax             // PAE for long mode; OSFXSR and OSXMMEXCPT so
    or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax // that FXRSTOR reloads the
    mov %eax, %cr4             // SSE registers (hv/run/guest.c resets them per run)
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx        // EFER = LME alone: whatever the loader left
    mov $EFER_LME, %eax        // (UEFI may leave NXE set) is not ours
    xor %edx, %edx
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0             // EFER.LMA becomes 1 here
    lgdt gdt_desc
    ljmp $SEL_CODE64, $long_entry

    // No long mode: say so on COM1 (the loader's UART settings) and halt with
    // the verdict UNSUPPORTED. The command line is not read yet, so nothing is
    // written to an emulator's exit port: the runner stops the emulator once
    // it has read the verdict.
no_long_mode:
    mov $no_lm_msg, %esi
3:  lodsb
    test %al, %al
    jz 4f
    mov $COM1, %dx
    out %al, %dx
    jmp 3b
4:  cli
5:  hlt
    jmp 5b

    .code64
long_entry:
    mov $SEL_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    mov $stack_top, %rsp
    xor %ebp, %ebp
    call kmain                 // does not return
6:  hlt
    jmp 6b

    .section .rodata
no_lm_msg:
    .asciz "vmxlab: this CPU has no 64-bit long mode; vmxlab needs an x86-64 CPU with VMX\r\nvmxlab: verdict UNSUPPORTED\r\nvmxlab: run ended; the machine can be switched off\r\n"

    .data
    .align 16
    .globl gdt
gdt:
    .quad 0                    // null
    .quad 0x00af9a000000ffff   // 0x08: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff   // 0x10: data, DPL 0
    .quad 0, 0                 // 0x18: TSS, filled in by cpu_init()
gdt_end:
    .globl gdt_desc
gdt_desc:
    .short gdt_end - gdt - 1
    .quad gdt

    // The boot page tables and stack sit at the start of the image (linker.ld),
    // so that pt0, which maps the first 2 MiB, also maps the stack's guard page
    // however large the kernel grows.
    .section .boot_zero, "aw", @progbits // zeros in the file: the a.out kludge loads it linearly
    .align 4096
    .globl pml4, pdpt
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4 * 4096
pt0:    .skip 4096
    .globl stack_top, stack_guard
stack_guard: .skip 4096    // not mapped (above): an overflow faults, never corrupts pt0
stack:  .skip KSTACK_SIZE
stack_top:

    .section .note.GNU-stack, "", @progbits
