// vmcall_loop.c: the baseline guest. In each of p->windows windows it makes
// p->iterations HC_NOP hypercalls between MARK_BEGIN and MARK_END: the price
// of a bare VM exit round trip, to compare with what a MOV to CR0 costs in
// wp_toggle. Changes no state.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    return measure_windows(p, vmcall_window);
}
