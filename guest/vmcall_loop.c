// vmcall_loop.c: the baseline guest. In each of p->windows windows it makes
// p->iterations HC_NOP hypercalls between MARK_BEGIN and MARK_END: the price
// of a bare VM exit round trip, to compare with what a MOV to CR0 costs in
// wp_toggle. Changes no state.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    if (p->iterations == 0) { // vmcall_loop needs n >= 1
        hc_puts("vmcall_loop: iterations must be at least 1");
        return 1;
    }
    for (uint64_t w = 0; w < p->windows; w++) {
        hc_mark_begin();
        uint64_t ticks = vmcall_loop(p->iterations);
        hc_mark_end(p->iterations, ticks);
    }
    return 0;
}
