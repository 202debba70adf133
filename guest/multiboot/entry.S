// entry.S: the multiboot v1 header and the first instructions of every test kernel. A
// multiboot loader (QEMU -kernel, GRUB, vmxlab) enters _start in 32-bit protected mode,
// paging off. _start saves the machine state it finds (boot_state, mbk.h), loads the
// runtime's GDT and stack, and calls rt_start() (rt.c); built as 64-bit code it first
// switches to long mode the way such kernels do: GS base, CR4 = 0 then PAE, CR3,
// EFER.LME, CR0.PG | PE, the far jump. The loader zeroed .bss (Multiboot 3.1.3).
#include "mbk.h"

// The Makefile assembles this file once per kind of header (-DMB_HEADER_FLAGS=...).
#ifndef MB_HEADER_FLAGS
#define MB_HEADER_FLAGS (MB_HDR_ALIGN_MODS | MB_HDR_MEMINFO)
#endif

// Multiboot 0.6.96 3.1: 4-byte aligned in the first 8 KiB of the file (kernel.ld puts
// it first); magic + flags + checksum = 0 (mod 2^32).
    .section .mbheader, "a"
    .balign 4
    .globl mb_header
mb_header:
    .long MB_MAGIC, MB_HEADER_FLAGS, -(MB_MAGIC + MB_HEADER_FLAGS)
#if MB_HEADER_FLAGS & MB_HDR_ADDRS
    // The a.out kludge (3.1.3): header_addr, load_addr, load_end_addr, bss_end_addr,
    // entry_addr. The loader copies the file from the header's offset minus
    // (header_addr - load_addr) up to load_end_addr and zeroes up to bss_end_addr.
    .long mb_header, image_start, load_end, bss_end, _start
#endif

.macro save_selector seg, slot
    xor %eax, %eax
    mov \seg, %ax
    mov %eax, boot_state + 4 * \slot
.endm

// SGDT or SIDT: a 2-byte limit, then (outside 64-bit mode) a 4-byte base.
.macro save_table insn, limit, base
    \insn gdtr_scratch
    movzwl gdtr_scratch, %eax
    mov %eax, boot_state + 4 * \limit
    mov gdtr_scratch + 2, %eax
    mov %eax, boot_state + 4 * \base
.endm

// A segment's limit (LSL) and access rights (LAR), from its selector.
.macro save_segment seg, limit, rights
    xor %eax, %eax
    mov \seg, %ax
    xor %edx, %edx
    lsl %eax, %edx
    mov %edx, boot_state + 4 * \limit
    xor %edx, %edx
    lar %eax, %edx
    mov %edx, boot_state + 4 * \rights
.endm

    .text
    .code32
    .globl _start
_start:
    // Before anything changes them: what the loader left (mbk.h BS_*). ESP may point
    // anywhere (3.2: "the OS image must create its own stack"), so it is only saved.
    mov %eax, boot_state + 4 * BS_EAX
    mov %ebx, boot_state + 4 * BS_EBX
    mov %esp, boot_state + 4 * BS_ESP
    mov $stack_top, %esp
    pushf
    popl boot_state + 4 * BS_EFLAGS
    mov %cr0, %eax
    mov %eax, boot_state + 4 * BS_CR0
    mov %cr4, %eax
    mov %eax, boot_state + 4 * BS_CR4
    save_selector %cs, BS_CS
    save_selector %ds, BS_DS
    save_selector %es, BS_ES
    save_selector %fs, BS_FS
    save_selector %gs, BS_GS
    save_selector %ss, BS_SS
    save_table sgdt, BS_GDTR_LIMIT, BS_GDTR_BASE
    save_table sidt, BS_IDTR_LIMIT, BS_IDTR_BASE
    // LSL and LAR read the loader's descriptors (SDM 3A 3.4.5): 0 where they fail.
    save_segment %cs, BS_CS_LIMIT, BS_CS_AR
    save_segment %ds, BS_DS_LIMIT, BS_DS_AR

    // The runtime's own GDT (rt.c), then CS and the data segments from it.
    lgdt gdt_desc
    ljmp $SEL_CODE32, $1f
1:  mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    mov %eax, %ss

#ifdef __x86_64__
    // A per-CPU pointer in the GS base, as SMP kernels keep one. IA32_GS_BASE is GS's
    // hidden base (SDM 3A 3.4.4, "Segment Loading Instructions in IA-32e Mode"): a
    // WRMSR sets it, and only loading GS again would replace it, so it comes last.
    mov $MSR_GS_BASE, %ecx
    mov $percpu, %eax
    xor %edx, %edx
    wrmsr

    // The first 4 GiB mapped to themselves with 2 MiB pages (SDM 3A 4.5, 4-level
    // paging): PML4[0] -> pdpt; pdpt[i] -> pd + 4 KiB * i; pd[j] maps j * 2 MiB.
    mov $(pdpt + PTE_P + PTE_W), %eax
    mov %eax, pml4
    mov $pdpt, %edi
    mov $(pd + PTE_P + PTE_W), %eax
    mov $4, %ecx
2:  mov %eax, (%edi)
    add $8, %edi
    add $4096, %eax
    loop 2b
    mov $pd, %edi
    mov $(PTE_P | PTE_W | PTE_PS), %eax
    mov $2048, %ecx
3:  mov %eax, (%edi)
    add $8, %edi
    add $0x200000, %eax
    loop 3b

    // SDM 3A 10.8.5 (Initializing IA-32e Mode): PAE on, CR3, EFER.LME, then CR0.PG,
    // which sets EFER.LMA; the CPU is then in compatibility mode until a far jump loads
    // a code segment with L = 1. CR4 = 0 first: nothing the loader left stays on.
    xor %eax, %eax
    mov %eax, %cr4
    mov $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $SEL_CODE64, $start64

    .code64
start64:
    // Bits 63:32 of the registers are undefined after 32-bit code (SDM 1 3.4.1.1,
    // "General-Purpose Registers in 64-Bit Mode"): load RSP whole.
    mov $stack_top, %rsp
    call rt_start
#else
    call rt_start
#endif

    .data
    .balign 8
gdtr_scratch:
    .quad 0, 0
#ifdef __x86_64__
    .globl percpu
percpu:
    .quad percpu // its own address: %gs:0 reads it back (startup.c)
#endif

    .bss
    .balign 4096
#ifdef __x86_64__
    .globl pml4, pdpt, pd
pml4:
    .skip 4096
pdpt:
    .skip 4096
pd:
    .skip 4 * 4096
#endif
stack:
    .skip STACK_SIZE
stack_top:

    .section .note.GNU-stack, "", @progbits
