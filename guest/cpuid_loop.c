// cpuid_loop.c: a measured guest for an exit no policy can avoid: in each
// window, p->iterations CPUIDs (SDM 3C 26.1.2: CPUID always exits). Its cost
// per iteration stands next to the null VMCALL's in the table of results.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    return measure_windows(p, cpuid_window);
}
