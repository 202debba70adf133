// wp_toggle.c: the measured guest. In each of p->windows windows it flips
// CR0.WP p->iterations times between MARK_BEGIN and MARK_END, so the
// hypervisor counts the exits those MOVs to CR0 cost under its CR0 ownership
// policy, and reports the guest's TSC ticks. Leaves CR0.WP = 1 as at entry.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    int status = measure_windows(p, toggle_wp_window);
    uint64_t cr0 = read_cr0();
    if (!(cr0 & CR0_WP)) // an odd number of flips left WP clear
        write_cr0(cr0 | CR0_WP);
    return status;
}
