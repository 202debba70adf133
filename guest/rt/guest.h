// guest.h: the guest runtime every test guest is linked with (rt/start.S,
// rt/rt.c, toggle.S). A guest defines guest_main(); start.S calls it with the
// hypervisor's parameters and turns its return value into HC_EXIT. Pointers
// passed to the hypervisor are GPAs: the guest's own page tables map
// virtual = physical.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "../abi.h"
#include "../../boot/x86.h" // CR0_*, PTE_*, read_cr0, write_cr0, rdtsc

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
__attribute__((noreturn)) void hc_exit(uint64_t status); // the full 64 bits reach the hypervisor

// rt.c: expected exceptions. A try_ function runs one instruction that may
// fault and returns -1 if it did not, else the vector; trap_error then holds
// the error code. Any exception outside a try_ function ends the run.
extern volatile uint64_t trap_error;
int try_write_u64(volatile uint64_t *p, uint64_t v); // movq v, (p)
int try_sse(void);                                   // xorps %xmm0, %xmm0
int try_write_cr0(uint64_t v);                       // mov v, %cr0
int try_write_cr4(uint64_t v);                       // mov v, %cr4
int try_rdmsr(uint32_t msr, uint64_t *val);          // rdmsr
int try_wrmsr(uint32_t msr, uint64_t val);           // wrmsr
enum insn { INSN_RDPMC, INSN_MONITOR, INSN_MWAIT, INSN_RDRAND, INSN_RDSEED, INSN_WBINVD,
            INSN_INVD, INSN_FWAIT };
int try_insn(enum insn which);                       // that one instruction

// rt.c: debug traps. While single_step_watch is set, each #DB (a single step
// or a data breakpoint) is counted, its RIP and DR6 kept, and TF cleared in
// the interrupted RFLAGS.
extern volatile bool single_step_watch;
extern volatile unsigned single_steps;
extern volatile uint64_t single_step_rip, single_step_dr6;

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
