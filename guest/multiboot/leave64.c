// leave64.c: the kernel that leaves IA-32e mode again (SDM 3A 10.8.5.4), as kernels do to
// turn on 5-level paging or to hand over to 32-bit code. Twice it goes down to 32-bit
// protected mode with paging off and back (leave64_switch.S), checking what each mode
// sees; then it leaves for good: 32-bit paging, a line from 32-bit code, and the exit.
// Exit code 0 if every check passed, else 1.
#include "mbk.h"

#define SAY(...) kprintf("leave64: " __VA_ARGS__)

extern uint64_t pd[4 * 512]; // entry.S: the 2 MiB pages of the first 4 GiB
void leave_and_return(uint32_t probe, uint32_t state[4]);
__attribute__((noreturn)) void leave_for_good(uint32_t code, uint32_t *pd32);

// The 2 MiB page at 6 MiB is mapped onto 8 MiB: a read at 6 MiB tells paging (8 MiB's
// mark) from no paging (6 MiB's).
#define PROBE 0x600000u
#define ELSEWHERE 0x800000u
#define MARK_PROBE 0x6666u
#define MARK_ELSEWHERE 0x8888u

static uint32_t pd32[1024] __attribute__((aligned(4096)));

unsigned kmain(struct mb_info *mbi, const char *args)
{
    (void)mbi;
    (void)args;
    volatile uint32_t *probe = (volatile uint32_t *)(uintptr_t)PROBE;
    *probe = MARK_PROBE;
    *(volatile uint32_t *)(uintptr_t)ELSEWHERE = MARK_ELSEWHERE;
    pd[PROBE >> 21] = ELSEWHERE | PTE_PS | PTE_W | PTE_P;
    invlpg(probe);
    SAY("64-bit mode: EFER 0x%llx, CR0 0x%lx, CR4 0x%lx\n", (unsigned long long)rdmsr(MSR_EFER),
        read_cr0(), read_cr4());
    report(*probe == MARK_ELSEWHERE, "64-bit mode: 0x%x is mapped onto 0x%x", PROBE, ELSEWHERE);
    for (int round = 1; round <= 2; round++) {
        uint32_t st[4];
        leave_and_return(PROBE, st);
        SAY("round %d: 32-bit protected mode saw EFER 0x%x, CR0 0x%x, CR4 0x%x\n", round,
            st[0], st[1], st[2]);
        report(!(st[0] & (EFER_LME | EFER_LMA)) && !(st[1] & CR0_PG) && st[3] == MARK_PROBE,
               "round %d: EFER.LME and LMA 0, CR0.PG 0, 0x%x read without paging", round,
               PROBE);
        report(rdmsr(MSR_EFER) == (EFER_LME | EFER_LMA) && (read_cr0() & CR0_PG) &&
                   *probe == MARK_ELSEWHERE,
               "round %d: back in 64-bit mode, IA-32e paging on again", round);
    }
    report_summary();
    for (uint32_t i = 0; i < 1024; i++) // 32-bit paging: 4 GiB in 4 MiB pages
        pd32[i] = i << 22 | PTE_PS | PTE_W | PTE_P;
    unsigned code = report_failed() != 0;
    SAY("leaving IA-32e mode for good, exit code %u\n", code);
    leave_for_good(code, pd32);
}
