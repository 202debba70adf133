// interrupts.c: the guest that enables interrupts and waits. vmxlab promises
// that no host interrupt ever reaches a guest (docs/guest-abi.md): the host
// masks the 8259s, and external-interrupt exiting takes anything that still
// arrives (SDM 3C 26.2, Other Causes of VM Exits; 25.6.1). With IF = 1 it spins p->flags PAUSE loops (its row asks for
// 2 * 10^7), long enough for the PIT's 18.2 Hz tick to have fired many times;
// the runtime's handlers for vectors 32-255 (and the BIOS's IRQ0 vector 8)
// would report any arrival.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    uint64_t flags;
    asm volatile("sti\n\t"
                 "pushfq\n\t"
                 "pop %0" : "=r"(flags) :: "memory");
    for (uint64_t i = 0; i < p->flags; i++)
        asm volatile("pause");
    asm volatile("cli");
    return hc_report(flags & RFLAGS_IF, "IF = 1 while the guest waited, and no interrupt "
                                        "reached it") ? 0 : 1;
}
