// hello.c: a guest built outside the vmxlab tree with the guest SDK (`make
// guest-sdk`). It says hello, makes one check, and measures CPUID in
// windows as the built-in guests do, so its run gets a vmxlab-result line.
// Build it with this folder's Makefile; boot it with
//   make run GUEST=/path/to/hello.elf      (in the vmxlab tree)
#include "guest/rt/guest.h"

int guest_main(struct guest_params *p)
{
    hc_puts("hello from a guest built with the vmxlab SDK");
    bool ok = hc_report(read_cr0() & CR0_PG, "paging is on at entry");
    return measure(p, cpuid_loop) || !ok;
}
