// interrupts.c: the guest that enables interrupts and waits. vmxlab promises
// that no host interrupt ever reaches a guest (docs/guest-abi.md): the host
// masks the 8259s and the APICs' sources, and external-interrupt exiting takes
// anything that still arrives (SDM 3C 26.2, Other Causes of VM Exits; 25.6.1).
// With IF = 1 it waits p->flags TSC ticks, PAUSE by PAUSE; the runtime's
// handlers for vectors 32-255 (and the BIOS's IRQ0 vector 8) would report any
// arrival.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    uint64_t flags;
    asm volatile("sti\n\t"
                 "pushfq\n\t"
                 "pop %0" : "=r"(flags) :: "memory");
    // A wait in ticks, not in PAUSEs: a PAUSE costs 1 tick in Bochs but up to
    // ~140 cycles since Skylake (Intel's optimization reference manual, "Pause
    // Latency in Skylake Microarchitecture"), so a count of PAUSEs would blow
    // the run's tick budget there. Ticks fit it on any CPU (a test checks the
    // row's value against RUN_TICKS).
    uint64_t start = rdtsc();
    while (rdtsc() - start < p->flags)
        asm volatile("pause");
    asm volatile("cli");
    return hc_report(flags & RFLAGS_IF, "IF = 1 while the guest waited, and no interrupt "
                                        "reached it") ? 0 : 1;
}
