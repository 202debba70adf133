// mbk.h: the runtime of vmxlab's multiboot v1 test kernels, written the way kernels for
// `qemu-system-x86_64 -kernel` are written: entry.S (the multiboot header, the 32-bit entry
// and, in 64-bit kernels, the switch to long mode), traps.S and rt.c (COM1, fw_cfg, the
// report lines, expected exceptions, the exit through port 0xf4), one kmain() per kernel.
// The same sources build 32-bit and 64-bit kernels; shared with the .S files.
#pragma once
#include "../../boot/x86.h" // CR0_*, CR4_*, PTE_*, PF_*, MSR_*, VEC_*, port and CR accessors

// Multiboot 0.6.96, section 3.1 (the header) and 3.2 (the machine state at entry).
#define MB_MAGIC 0x1badb002           // the header's magic
#define MB_BOOT_MAGIC 0x2badb002      // EAX at entry
#define MB_HDR_ALIGN_MODS (1u << 0)   // load modules at page boundaries
#define MB_HDR_MEMINFO (1u << 1)      // pass mem_lower/mem_upper and the memory map
#define MB_HDR_VIDEO (1u << 2)        // pass a video mode (these kernels never ask)
#define MB_HDR_ADDRS (1u << 16)       // the header's address fields say where to load
// Section 3.3: which fields of the information block the loader filled in.
#define MBI_MEM (1u << 0)
#define MBI_BOOTDEV (1u << 1)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)

// The runtime's GDT (rt.c), the same in 32-bit and 64-bit kernels. SEL_CODE64 (0x08)
// and SEL_DATA (0x10) are boot/x86.h's; 0x18 is 32-bit code: the entry runs there, and
// leave64 returns there from 64-bit mode (compatibility mode).
#define SEL_CODE32 0x18

#define MSR_GS_BASE 0xc0000101 // IA32_GS_BASE, SDM 4 Table 2-2
#define COM1 0x3f8             // the first 16550 UART
#define FW_CFG_SEL 0x510       // fw_cfg: 16-bit selector (QEMU docs/specs/fw_cfg.rst)
#define FW_CFG_DATA 0x511      //         byte-wide data
#define DEBUG_EXIT 0xf4        // QEMU's isa-debug-exit: a write of v ends QEMU with (v << 1) | 1

// The machine state at entry, saved by entry.S before anything changes it: 32-bit words
// of boot_state[]. The selectors, limits (LSL) and access rights (LAR) read the loader's
// GDT, which the multiboot specification leaves undefined: only probe=1 prints those.
#define BS_EAX 0
#define BS_EBX 1
#define BS_ESP 2
#define BS_EFLAGS 3
#define BS_CR0 4
#define BS_CR4 5
#define BS_CS 6
#define BS_DS 7
#define BS_ES 8
#define BS_FS 9
#define BS_GS 10
#define BS_SS 11
#define BS_GDTR_LIMIT 12
#define BS_GDTR_BASE 13
#define BS_IDTR_LIMIT 14
#define BS_IDTR_BASE 15
#define BS_CS_LIMIT 16
#define BS_CS_AR 17
#define BS_DS_LIMIT 18
#define BS_DS_AR 19
#define BS_WORDS 20

#define STACK_SIZE 16384
#define TRAP_STUB_SIZE 16 // traps.S: the stub of vector v is at trap_stubs + 16 * v

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../lib/lib.h" // kprintf, snprintf, string functions
// lib/printf.c reads a 64-bit argument for %lx and %lu: in code built for both widths,
// print an unsigned long with %llx and a cast to unsigned long long.

// The information block, section 3.3: 32-bit words (physical addresses) throughout, so
// no padding. Only the fields up to the boot loader's name are read here.
struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table;
    uint32_t boot_loader_name;
};
struct mb_module { uint32_t start, end, string, reserved; };
// A map entry's size does not count the size field itself: the next entry is size + 4
// bytes further on (20 + 4 as every loader writes them).
struct __attribute__((packed)) mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; };

// Defined by each kernel: rt_start() calls it with the information block and the
// arguments of the command line (after the kernel's file name); its value is the exit
// code written to port 0xf4.
unsigned kmain(struct mb_info *mbi, const char *args);

// entry.S, rt.c
extern uint32_t boot_state[BS_WORDS];
extern char image_start[], load_end[], bss_end[]; // kernel.ld
extern const char *kernel_name;                   // rt.c: the command line's first word

// rt.c: the console (COM1) and the report lines. report() prints "PASS: " or "FAIL: "
// and the formatted text, counts it, and returns ok; report_summary() prints the one
// "N passed, N failed" line that ends a kernel's checks.
void com1_init(void);
void com1_putc(char c);
bool report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_summary(void);
unsigned report_failed(void);
// The value of "key=N" among the words of args (decimal or 0x hex); false if absent.
bool arg_uint(const char *args, const char *key, uint32_t *val);
const char *base_name(const char *path, size_t *len); // the word's last path component
__attribute__((noreturn)) void mb_exit(uint32_t code);

// rt.c: fw_cfg. Selects key, then reads n bytes of its item.
void fw_cfg_read(uint16_t key, void *buf, size_t n);

// rt.c: expected exceptions. A try_ function runs one instruction that may fault and
// returns -1 if it did not, else the vector; trap_error then holds the error code (0 for
// vectors without one) and trap_cr2 the CR2 of a #PF. Any other exception is reported,
// with its vector, error code, instruction pointer and CR2, and ends the kernel.
extern volatile unsigned long trap_error, trap_cr2;
int try_write32(volatile uint32_t *p, uint32_t v);
int try_read32(const volatile uint32_t *p, uint32_t *v);
int try_write_cr0(unsigned long v);
int try_write_cr3(unsigned long v);
int try_write_cr4(unsigned long v);
int try_wrmsr(uint32_t msr, uint64_t v);
// report() that the last try_ function (its value got) raised exactly vector with
// error code error (and, for a #PF, CR2 cr2), or nothing if vector is -1. The line says
// what was expected; a failure adds what happened.
bool expect_fault(int got, int vector, unsigned long error, unsigned long cr2,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static inline void invlpg(const volatile void *va)
{
    asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}
#endif
