// spin.c: the speed kernel. After its first lines it runs one loop of 10^8 instructions
// (20,000,000 iterations of 5) that stores to RAM across 16 MiB and executes nothing that
// a hypervisor intercepts, then checks where the last store went and exits with 0 if it
// is there. Under vmxlab with EPT it must take at most 1.1 x 10^8 Bochs ticks (issue 16).
// iterations=N on the command line changes the count.
#include "mbk.h"

#define SAY(...) kprintf("spin: " __VA_ARGS__)
#define AREA 0x1000000ull      // 16 MiB of RAM at 16 MiB: needs -m 32 or more
#define AREA_MASK 0xffffffull
#define STRIDE 64              // a cache line: 64 stores a page

unsigned kmain(struct mb_info *mbi, const char *args)
{
    (void)mbi;
    uint32_t n = 20000000;
    arg_uint(args, "iterations", &n);
    SAY("%u iterations of 5 instructions, stores over 16 MiB at 0x%llx\n", n,
        (unsigned long long)AREA);
    uint64_t off = 0, count = n;
    if (count)
        asm volatile("1:\tmov %[count], (%[base], %[off])\n\t" // the store: RCX's value
                     "add %[stride], %[off]\n\t"
                     "and %[mask], %[off]\n\t"
                     "dec %[count]\n\t"
                     "jnz 1b"
                     : [off] "+r"(off), [count] "+r"(count)
                     : [base] "r"(AREA), [stride] "i"(STRIDE), [mask] "r"(AREA_MASK)
                     : "memory", "cc");
    // Iteration k (from 0) stores n - k at (k * STRIDE) mod 16 MiB: the last one, 1.
    uint64_t last = ((uint64_t)(n ? n - 1 : 0) * STRIDE) & AREA_MASK;
    uint64_t got = *(volatile uint64_t *)(uintptr_t)(AREA + last);
    report(!n || got == 1, "spin: the last store left 1 at 0x%llx (read 0x%llx)",
           (unsigned long long)(AREA + last), (unsigned long long)got);
    report_summary();
    return report_failed() != 0;
}
