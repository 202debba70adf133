// wp_toggle.c: the measured guest. In each of p->windows windows it flips
// CR0.WP p->iterations times between MARK_BEGIN and MARK_END, so the
// hypervisor counts the exits those MOVs to CR0 cost under its CR0 ownership
// policy, and reports the guest's TSC ticks. Leaves CR0.WP = 1 as at entry.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    if (p->iterations == 0) { // toggle_wp_loop needs n >= 1
        hc_puts("wp_toggle: iterations must be at least 1");
        return 1;
    }
    for (uint64_t w = 0; w < p->windows; w++) {
        hc_mark_begin();
        uint64_t ticks = toggle_wp_loop(p->iterations);
        hc_mark_end(p->iterations, ticks);
    }
    uint64_t cr0 = read_cr0();
    if (!(cr0 & CR0_WP)) // an odd number of flips left WP clear
        write_cr0(cr0 | CR0_WP);
    return 0;
}
