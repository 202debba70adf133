// i8042.c: the command and status port 0x64 of the PC's keyboard controller, as far as
// kernels use it without a keyboard: to reset the machine with a pulse of output line 0
// (commands 0xf0-0xff pulse the lines whose bits are clear, 0xfe line 0 alone: Intel
// 8042 data sheet; QEMU hw/input/pckbd.c), which ends the run with DEV_EXIT_RESET, and
// to poll the status before it. The data port 0x60 and the keyboard are not emulated.
// dev.c calls it through dev_i8042; it keeps no state.
#include "dev.h"

// The status QEMU 7.2's controller shows after SeaBIOS (measured): bit 2, the system
// flag (the self-test passed); bit 3, the last write was a command; bit 4, the keyboard
// is not inhibited. The buffers are empty (bits 0 and 1 clear): nothing to read, and
// a kernel that waits for the input buffer to drain before it writes 0xfe goes on.
#define STATUS 0x1c

static uint64_t i8042_read(uint64_t off, unsigned size)
{
    (void)off;
    (void)size;
    return STATUS;
}

// A pulse command resets the CPU when it pulses line 0 (bit 0 clear, QEMU's rule);
// every other command is taken and does nothing here.
static void i8042_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)off;
    (void)size;
    if ((v & 0xf0) == 0xf0 && !(v & 1))
        dev_guest_exit(DEV_EXIT_RESET, "reset through the keyboard controller (a pulse "
                       "command to port 0x64)");
}

static void i8042_reset(const struct dev_machine *m)
{
    (void)m;
}

const struct dev dev_i8042 = {
    .name = "i8042", .space = DEV_PIO, .base = 0x64, .len = 1, .sizes = 1,
    .read = i8042_read, .write = i8042_write, .reset = i8042_reset,
};
