// guest.h: the guest runtime every test guest is linked with (rt/start.S,
// rt/rt.c, toggle.S). A guest defines guest_main(); start.S calls it with the
// hypervisor's parameters and turns its return value into HC_EXIT. Pointers
// passed to the hypervisor are GPAs: the guest's own page tables map
// virtual = physical. Shared with start.S: the C-only part is fenced.
#pragma once
#include "../abi.h"
#include "../../boot/x86.h" // CR0_*, PTE_*, read_cr0, write_cr0, rdtsc

// The runtime's GDT (start.S; SDM 3A 3.4.5, 5.2): 0x08 and 0x10 are the entry
// state's ring-0 code and data, 0x18 a 32-bit code segment for compatibility
// mode, then ring 3's code and data (DPL 3; the selectors carry RPL 3) and
// the runtime's own 64-bit TSS, which _start loads with LTR (SDM 3A 8.7, Task
// Management in 64-bit Mode).
#define SEL_USER_CODE (0x20 | 3) // 64-bit code, DPL 3
#define SEL_USER_DATA (0x28 | 3) // data, DPL 3
#define SEL_GUEST_TSS 0x30       // 16-byte descriptor: 0x30 and 0x38
#define VEC_USER_RETURN 0x80     // the one gate with DPL 3: ring 3's way back (run_user)
#define MSR_FS_BASE 0xc0000100   // IA32_FS_BASE, SDM 4 Table 2-2: run_user keeps it
#define MSR_GS_BASE 0xc0000101   // IA32_GS_BASE

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

// The vectors (VEC_*) and #PF error-code bits (PF_*) are in boot/x86.h.

// Written by each guest: 0 means every check passed.
int guest_main(struct guest_params *p);

// start.S
extern uint64_t low_pt[512]; // the page table mapping 0..2 MiB with 4 KiB pages

// rt.c: hypercalls (abi.h)
void hc_nop(void);
void hc_puts(const char *s);
bool hc_report(bool ok, const char *what); // returns ok
void hc_mark_begin(void);
void hc_mark_end(uint64_t iterations, uint64_t ticks);
void hc_record(const void *buf, uint64_t len); // appended to the run's record
// Messages without printf: each appends to dst (and NUL-terminates) and returns the end.
char *append(char *dst, const char *s);
char *append_u64(char *dst, uint64_t v, unsigned base); // base 10 or 16, no prefix
__attribute__((noreturn)) void hc_exit(uint64_t status); // the full 64 bits reach the hypervisor

// rt.c: expected exceptions. A try_ function runs one instruction that may
// fault and returns -1 if it did not, else the vector; trap_error then holds
// the error code, and trap_cr2 the CR2 of a #PF (0 for other vectors). Any
// exception outside a try_ function (or run_user) ends the run.
extern volatile uint64_t trap_error, trap_cr2;
int try_write_u64(volatile uint64_t *p, uint64_t v); // movq v, (p)
int try_read_u64(const volatile uint64_t *p, uint64_t *v); // movq (p), v
int try_call(const volatile void *code); // call code: an instruction fetch there; its RET returns
int try_sse(void);                                   // xorps %xmm0, %xmm0
int try_write_cr0(uint64_t v);                       // mov v, %cr0
int try_write_cr4(uint64_t v);                       // mov v, %cr4
int try_rdmsr(uint32_t msr, uint64_t *val);          // rdmsr
int try_wrmsr(uint32_t msr, uint64_t val);           // wrmsr
enum insn { INSN_RDPMC, INSN_MONITOR, INSN_MWAIT, INSN_RDRAND, INSN_RDSEED, INSN_WBINVD,
            INSN_INVD, INSN_FWAIT, INSN_RDTSCP, INSN_RDPID,
            // the VMX instructions, with harmless operands (a zeroed page, RAX = 0)
            INSN_VMXON, INSN_VMXOFF, INSN_VMCLEAR, INSN_VMPTRLD, INSN_VMPTRST, INSN_VMREAD,
            INSN_VMWRITE, INSN_VMLAUNCH, INSN_VMRESUME, INSN_INVEPT, INSN_INVVPID,
            INSN_VMFUNC, INSN_COUNT };
int try_insn(enum insn which);                       // that one instruction
const char *insn_name(enum insn which);
int try_xsetbv(uint32_t ecx, uint64_t value);        // xsetbv
int try_clts(void);                                  // clts
int try_lmsw(uint16_t msw);                          // lmsw
int try_write_cr3(uint64_t v);                       // mov v, %cr3
int try_compat_write_cr0(uint32_t v);                // mov v, %cr0 in compatibility mode
int try_single_step(void);                           // a single-step #DB after POPF
// The gate of vector takes its stack from IST1 = top (SDM 3A 6.14.5), or,
// with top 0, from RSP0 or the current stack again.
void set_ist(unsigned vector, uint64_t top);

// rt.c: debug traps. While single_step_watch is set, each #DB (a single step
// or a data breakpoint) is counted, its RIP and DR6 kept, and TF cleared in
// the interrupted RFLAGS.
extern volatile bool single_step_watch;
extern volatile unsigned single_steps;
extern volatile uint64_t single_step_rip, single_step_dr6;

// Ring 3 (start.S, rt.c). run_user() drops to CPL 3 with IRETQ (SDM 3A 6.14.3,
// 5.8) and runs fn(arg) there on the runtime's user stack; it returns -1 when
// fn returned (its value in *result, if result is not NULL), or the vector of
// the exception that ended it, with trap_error and trap_cr2 as for a try_
// function. Ring 3 comes back through the DPL-3 gate VEC_USER_RETURN (the
// return address fn returns to executes INT 0x80; fn may do so itself, with
// its result in RAX) or through any exception; the CPU switches to the TSS's
// RSP0 stack (SDM 3A 6.14.4), and guest_trap() resumes run_user() at CPL 0.
// Callee-saved registers, RFLAGS and the data segment registers (with the FS
// and GS bases) are as before. Not reentrant: fn must not call run_user().
// Ring 3 reaches only the .user pages: code marked USER_TEXT, data marked
// USER_DATA (guest.ld gathers them between user_start and user_end, which
// _start makes user-accessible), so fn must not call other functions or use
// string constants, which live in supervisor pages.
#define USER_TEXT __attribute__((section(".user.text"), noinline))
#define USER_DATA __attribute__((section(".user.data")))
extern char user_start[], user_end[];
int run_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *result);

// toggle.S: timed loops; each returns the TSC ticks its loop took. n >= 1.
uint64_t toggle_wp_loop(uint64_t n); // n MOVs to CR0, each flipping WP
uint64_t vmcall_loop(uint64_t n);    // n VMCALLs with RAX = HC_NOP
uint64_t ts_clts_loop(uint64_t n);   // n times: MOV to CR0 setting TS, CLTS
uint64_t cr4_pge_loop(uint64_t n);   // n MOVs to CR4, each flipping PGE
uint64_t cpuid_loop(uint64_t n);     // n CPUIDs (leaf 0)
// toggle.S: the same loops as whole windows, MARK_BEGIN .. MARK_END included,
// in one block of code that touches no memory (exact counts under shadow paging).
void toggle_wp_window(uint64_t n);
void vmcall_window(uint64_t n);
void ts_clts_window(uint64_t n);
void cr4_pge_window(uint64_t n);
void cpuid_window(uint64_t n);

// One measured window per p->windows around loop(p->iterations): what every
// measured guest does (rt.c). 0, or 1 if iterations is 0 (loops need n >= 1).
int measure(const struct guest_params *p, uint64_t (*loop)(uint64_t));
// The same with a whole-window routine of toggle.S.
int measure_windows(const struct guest_params *p, void (*window)(uint64_t));

static inline void write_dr6(uint64_t v) { asm volatile("mov %0, %%dr6" ::"r"(v)); }
static inline uint64_t read_dr6(void)
{
    uint64_t v;
    asm volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}
static inline void clts(void) { asm volatile("clts" ::: "memory"); }
static inline void lmsw(uint16_t msw) { asm volatile("lmsw %0" ::"r"(msw) : "memory"); }
static inline void invlpg(const volatile void *va)
{
    asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}
#endif
