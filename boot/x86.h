// x86.h: architectural constants (control registers, MSRs, paging, segment
// descriptors) in the style of xv6's mmu.h, plus inline wrappers for the
// privileged instructions the kernel uses. Shared with the .S files: the C
// parts are fenced off with __ASSEMBLER__. Read next to SDM Vol. 3A ch. 2-4.
#pragma once

// CR0, SDM 3A 2.5
#define CR0_PE (1u << 0)  // Protection Enable
#define CR0_MP (1u << 1)  // Monitor coProcessor
#define CR0_EM (1u << 2)  // EMulation
#define CR0_TS (1u << 3)  // Task Switched
#define CR0_ET (1u << 4)  // Extension Type (reads as 1)
#define CR0_NE (1u << 5)  // Numeric Error
#define CR0_WP (1u << 16) // Write Protect
#define CR0_AM (1u << 18) // Alignment Mask
#define CR0_NW (1u << 29) // Not Write-through
#define CR0_CD (1u << 30) // Cache Disable
#define CR0_PG (1u << 31) // PaGing

// CR4, SDM 3A 2.5
#define CR4_VME (1u << 0)         // Virtual-8086 Mode Extensions
#define CR4_PVI (1u << 1)         // Protected-mode Virtual Interrupts
#define CR4_TSD (1u << 2)         // Time Stamp Disable
#define CR4_DE (1u << 3)          // Debugging Extensions
#define CR4_PSE (1u << 4)         // Page Size Extensions
#define CR4_PAE (1u << 5)         // Physical Address Extension
#define CR4_MCE (1u << 6)         // Machine-Check Enable
#define CR4_PGE (1u << 7)         // Page Global Enable
#define CR4_PCE (1u << 8)         // Performance-monitoring Counter Enable
#define CR4_OSFXSR (1u << 9)      // OS supports FXSAVE/FXRSTOR (enables SSE)
#define CR4_OSXMMEXCPT (1u << 10) // OS handles SIMD exceptions
#define CR4_UMIP (1u << 11)       // User-Mode Instruction Prevention
#define CR4_LA57 (1u << 12)       // 57-bit linear addresses (5-level paging)
#define CR4_VMXE (1u << 13)       // VMX Enable
#define CR4_SMXE (1u << 14)       // SMX Enable
#define CR4_FSGSBASE (1u << 16)   // RDFSBASE and friends
#define CR4_PCIDE (1u << 17)      // Process-Context Identifiers
#define CR4_OSXSAVE (1u << 18)    // XSAVE and extended states
#define CR4_KL (1u << 19)         // Key Locker
#define CR4_SMEP (1u << 20)       // Supervisor-Mode Execution Prevention
#define CR4_SMAP (1u << 21)       // Supervisor-Mode Access Prevention
#define CR4_PKE (1u << 22)        // Protection Keys for user pages
#define CR4_CET (1u << 23)        // Control-flow Enforcement Technology
#define CR4_PKS (1u << 24)        // Protection Keys for supervisor pages

// RFLAGS, SDM 1 3.4.3 and 3A 2.3
#define RFLAGS_FIXED (1u << 1) // always 1
#define RFLAGS_TF (1u << 8)    // Trap Flag: single-step
#define RFLAGS_IF (1u << 9)    // Interrupt enable Flag
#define RFLAGS_AC (1u << 18)   // Alignment Check; with CR4.SMAP, supervisor access to user pages

// Exception vectors, SDM 3A 6.3.1
#define VEC_DE 0  // divide error
#define VEC_DB 1  // debug
#define VEC_NMI 2 // non-maskable interrupt
#define VEC_BP 3  // breakpoint
#define VEC_UD 6  // invalid opcode
#define VEC_NM 7  // device not available
#define VEC_DF 8  // double fault
#define VEC_GP 13 // general protection
#define VEC_PF 14 // page fault
#define VEC_MF 16 // x87 floating-point error
#define VEC_MC 18 // machine check

// Debug registers, SDM 3A 18.2
#define DR6_BS (1u << 14)    // single step
#define DR6_INIT 0xffff0ff0u // DR6 after reset (reserved bits read as 1)
#define DR7_INIT 0x400u      // DR7 after reset

// MSRs, SDM 4 (Model-Specific Registers)
#define MSR_FEATURE_CONTROL 0x3a // IA32_FEATURE_CONTROL
#define FC_LOCKED (1u << 0)      //   lock bit: writes #GP until reset
#define FC_VMX_INSIDE_SMX (1u << 1)  //   VMXON allowed inside SMX (Intel TXT)
#define FC_VMX_OUTSIDE_SMX (1u << 2)
#define MSR_EFER 0xc0000080 // IA32_EFER
#define EFER_SCE (1u << 0)  //   SYSCALL Enable
#define EFER_LME (1u << 8)  //   Long Mode Enable
#define EFER_LMA (1u << 10) //   Long Mode Active
#define EFER_NXE (1u << 11) //   No-eXecute Enable
#define MSR_SMI_COUNT 0x34  // MSR_SMI_COUNT: SMIs since reset (Nehalem and later)
#define MSR_APIC_BASE 0x1b  // IA32_APIC_BASE
#define APIC_BASE_X2APIC (1u << 10)
#define APIC_BASE_ENABLE (1u << 11)
#define MSR_PAT 0x277       // IA32_PAT: eight memory types, PA0 in byte 0 (SDM 3A 12.12.2)

// Memory types, SDM 3A 12.3 and 12.12.2 (the encodings IA32_PAT takes)
#define MT_UC 0       // uncacheable
#define MT_WC 1       // write-combining: uncached, writes gathered into bursts
#define MT_WT 4       // write-through
#define MT_WP 5       // write-protected
#define MT_WB 6       // write-back
#define MT_UC_MINUS 7 // UC-: UC unless an MTRR says WC
// IA32_PAT at power-up: PA0-PA7 = WB, WT, UC-, UC, WB, WT, UC-, UC (SDM 3A
// 12.12.4, Programming the PAT), so PAT = PCD = PWT = 0 selects WB.
#define PAT_RESET 0x0007040600070406ull
// The kernel's: PA1 write-combining instead of write-through, as Linux sets
// it; PA0, which every other mapping selects, stays WB. The framebuffer's
// entries select PA1 (map_write_combining() in cpu.c).
#define PAT_KERNEL ((PAT_RESET & ~(0xffull << 8)) | (uint64_t)MT_WC << 8)

// Page-table entries, SDM 3A 4.5
#define PTE_P (1u << 0)      // Present
#define PTE_W (1u << 1)      // Writable
#define PTE_U (1u << 2)      // User
#define PTE_PWT (1u << 3)    // Page-level Write-Through: bit 0 of the PAT index
#define PTE_PCD (1u << 4)    // Page-level Cache Disable: bit 1 of the PAT index
#define PTE_PAT (1u << 7)    // PAT index bit 2, in an entry that maps a 4 KiB page...
#define PTE_PAT_LARGE (1u << 12) // ...and in one that maps a 2 MiB or 1 GiB page
#define PTE_A (1u << 5)      // Accessed
#define PTE_D (1u << 6)      // Dirty (in an entry that maps a page)
#define PTE_PS (1u << 7)     // Page Size (2 MiB in a PD entry, 1 GiB in a PDPT entry)
#define PTE_G (1u << 8)      // Global
#define PTE_NX (1ull << 63)  // eXecute-Disable, with EFER.NXE
// A PAE paging PDPTE's reserved bits: 2:1, 8:5, and MAXPHYADDR up (SDM 3A 4.4.1, Table
// 4-8); a present one with any of them set makes the load of the PDPTEs #GP(0).
#define PDPTE_RESERVED(maxphyaddr) (0x1e6ull | ((maxphyaddr) < 64 ? ~0ull << (maxphyaddr) : 0))

// #PF error code, SDM 3A 4.7
#define PF_P (1u << 0)    // 1: protection violation, 0: page not present
#define PF_W (1u << 1)    // 1: the access was a write
#define PF_U (1u << 2)    // 1: a user-mode access
#define PF_RSVD (1u << 3) // 1: a reserved bit was set in an entry
#define PF_I (1u << 4)    // 1: an instruction fetch

// GDT selectors laid out by boot/entry.S, SDM 3A 3.4.2
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18 // 16-byte system descriptor: occupies 0x18 and 0x20

#define KSTACK_SIZE 32768
#define ISTSTACK_SIZE 4096

// The exception table (boot/cpu.c, trap_handler()): EXTABLE(insn, fixup) says
// that the instruction at label insn may fault, and that the kernel then goes
// on at label fixup instead of crashing, as Linux's _ASM_EXTABLE does. A row
// is two 32-bit offsets, each from its own address (no relocation to apply,
// in the kernel or in a unit test's PIE), in section .extable, which linker.ld
// gathers between extable_start and extable_end. One name for .S and C asm.
#ifdef __ASSEMBLER__
#define EXTABLE(insn, fixup) \
    .pushsection .extable, "a"; .balign 4; .long (insn) - ., (fixup) - .; .popsection
#else
#define EXTABLE(insn, fixup)                                                  \
    ".pushsection .extable, \"a\"\n\t.balign 4\n\t.long (" #insn ") - ., (" #fixup \
    ") - .\n\t.popsection\n\t"
#endif

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

// The control registers are as wide as the mode: unsigned long is 64 bits in
// the kernel, 32 in the 32-bit test kernels of guest/multiboot that include this.
static inline unsigned long read_cr0(void)
{
    unsigned long v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline void write_cr0(unsigned long v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline unsigned long read_cr2(void)
{
    unsigned long v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline unsigned long read_cr3(void)
{
    unsigned long v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(unsigned long v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr2(unsigned long v) { asm volatile("mov %0, %%cr2" ::"r"(v) : "memory"); }
static inline unsigned long read_cr4(void)
{
    unsigned long v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void write_cr4(unsigned long v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
// Fault-tolerant forms, for values that come from a guest: 0 if the
// instruction completed, else the vector of the exception it raised (#GP is
// 13; neither raises #DE, vector 0), which trap_handler() leaves in
// fixup_vector before it resumes at the fixup. A faulting instruction changes
// nothing (SDM 3A 6.5, Exception Classifications: a fault restarts cleanly).
extern volatile unsigned fixup_vector; // boot/cpu.c
static inline int wrmsr_safe(uint32_t msr, uint64_t v)
{
    asm goto("1: wrmsr\n\t" EXTABLE(1b, %l[fault])
             ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory" : fault);
    return 0;
fault:
    return (int)fixup_vector;
}
static inline int xsetbv_safe(uint32_t xcr, uint64_t v)
{
    asm goto("1: xsetbv\n\t" EXTABLE(1b, %l[fault])
             ::"c"(xcr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory" : fault);
    return 0;
fault:
    return (int)fixup_vector;
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
#ifdef __x86_64__
// IRET to the next instruction: the one way to end the blocking of NMIs that
// an NMI leaves behind (SDM 3A 6.7.1), without taking an exception.
static inline void unblock_nmis(void)
{
    asm volatile("mov %%rsp, %%rax\n\t"
                 "push %[ss]\n\t"
                 "push %%rax\n\t"
                 "pushfq\n\t"
                 "push %[cs]\n\t"
                 "lea 1f(%%rip), %%rax\n\t"
                 "push %%rax\n\t"
                 "iretq\n"
                 "1:"
                 ::[ss] "i"(SEL_DATA), [cs] "i"(SEL_CODE64) : "rax", "memory", "cc");
}
#endif

// The PAT, PCD and PWT bits of a paging-structure entry that maps a page with
// memory type `type` through IA32_PAT value `pat`: the index of the first of
// PA0-PA7 that holds the type, bit 2 in PAT, bit 1 in PCD, bit 0 in PWT (SDM
// 3A 12.12.3, Selecting a Memory Type from the PAT). PAT is bit 7 of an entry
// that maps a 4 KiB page, bit 12 of one that maps a 2 MiB or 1 GiB page (bit
// 7 is PS there; SDM 3A 4.5). All ones if no entry holds the type.
static inline uint64_t pat_pte_bits(uint64_t pat, unsigned type, bool large)
{
    for (unsigned i = 0; i < 8; i++)
        if (((pat >> (8 * i)) & 7) == type)
            return (i & 1 ? PTE_PWT : 0) | (i & 2 ? PTE_PCD : 0) |
                   (i & 4 ? (large ? PTE_PAT_LARGE : PTE_PAT) : 0);
    return ~0ull;
}

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
#endif
