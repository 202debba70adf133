// cr4_pge.c: a measured guest for a CR4 bit: in each window, p->iterations
// MOVs to CR4, each flipping PGE (as a kernel flushing global TLB entries
// does: SDM 3A 4.10.4.1, Operations that Invalidate TLBs and Paging-Structure
// Caches). They exit while PGE is host-owned, which every preset policy keeps
// it; cr4_owned=0x80 gives it to the guest. Leaves PGE as it was at entry.
#include "rt/guest.h"

int guest_main(struct guest_params *p)
{
    uint64_t cr4 = read_cr4();
    int status = measure_windows(p, cr4_pge_window);
    write_cr4(cr4);
    return status;
}
