// debug_exit.c: QEMU's isa-debug-exit at port 0xf4 (hw/misc/debugexit.c): an OUT of
// 1, 2 or 4 bytes ends the run, with the value written as the guest's status (QEMU
// itself would exit with (value << 1) | 1). The run keeps the full value: what the
// guest wrote is its status, not QEMU's. Reads give all ones, as the empty bus did
// before this port had a device (QEMU's give 0). dev.c calls it through dev_debug_exit;
// it keeps no state.
#include "dev.h"

static uint64_t debug_exit_read(uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    return ~0ull; // dev.c keeps the bytes of the access's width
}

static void debug_exit_write(uint64_t offset, unsigned size, uint64_t value)
{
    (void)offset;
    (void)size;
    dev_guest_exit(value, "written to port 0xf4 (isa-debug-exit)");
}

static void debug_exit_reset(const struct dev_machine *m)
{
    (void)m;
}

// One port: a wider access at 0xf4 is the guest's 2- or 4-byte status, whole, as in
// QEMU (whose device spans 0xf4-0xf7 with iosize=4); 0xf5-0xf7 stay the empty bus's.
const struct dev dev_debug_exit = {
    .name = "isa-debug-exit", .space = DEV_PIO, .base = 0xf4, .len = 1, .sizes = 1 | 2 | 4,
    .read = debug_exit_read, .write = debug_exit_write, .reset = debug_exit_reset,
};
