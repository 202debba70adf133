// ts_clts.c: a measured guest for CR0.TS, the other bit KVM gives the guest:
// in each window, p->iterations times a MOV to CR0 that sets TS and a CLTS
// that clears it (the pair a kernel's lazy FPU switch makes). While TS is
// host-owned both exit; when the guest owns TS neither does.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    return measure_windows(p, ts_clts_window); // ends with TS clear, as at entry
}
