// chatty.c: the talkative kernel. It prints lines=N short numbered lines (default
// 200,000), as a failing test suite can, then one closing line, and exits with 0. A
// hypervisor must neither hang on so much COM1 output nor let it bury its verdict.
#include "mbk.h"

unsigned kmain(struct mb_info *mbi, const char *args)
{
    (void)mbi;
    uint32_t n = 200000;
    arg_uint(args, "lines", &n);
    for (uint32_t i = 1; i <= n; i++)
        kprintf("line %u\n", i);
    kprintf("chatty: printed %u lines\n", n);
    return 0;
}
