// pci.c: PCI configuration mechanism #1 at 0xcf8-0xcff, on a bus with no device (PCI
// Local Bus Specification 3.0, 3.2.2.3.2), and the PIIX reset control register, which a
// byte access at 0xcf9 reaches (Intel 82371AB PIIX4 data sheet, RC; QEMU
// hw/isa/piix3.c). The address latch takes 4-byte writes at 0xcf8; the data port reads
// all ones whatever the latch says; a write to 0xcf9 with bit 2 set resets the machine,
// which ends the run. dev.c calls it through dev_pci_conf.
#include "dev.h"

#define RCR_HARD 0x02  // the reset to come is a hard one (the only bit QEMU keeps)
#define RCR_RESET 0x04 // reset the CPU now (QEMU resets the machine on it alone)

static uint32_t latch;
static uint8_t rcr;

static void pci_reset(const struct dev_machine *m)
{
    (void)m;
    latch = 0x8000005c; // as SeaBIOS leaves it under QEMU 7.2 (measured)
    rcr = 0;
}

// 0xcf8 answers 4-byte reads with the latch; 0xcf9 answers byte reads with the reset
// control register. Other reads of 0xcf8-0xcfb are no valid access in QEMU and read 0
// (measured), and the data port has no device behind it, whatever the latch selects.
static uint64_t pci_read(uint64_t off, unsigned size)
{
    if (off == 0 && size == 4)
        return latch;
    if (off == 1 && size == 1)
        return rcr;
    if (off < 4)
        return 0;
    return size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
}

static void pci_write(uint64_t off, unsigned size, uint64_t v)
{
    if (off == 0 && size == 4) {
        latch = (uint32_t)v;
    } else if (off == 1 && size == 1) {
        rcr = v & RCR_HARD;
        if (v & RCR_RESET)
            dev_guest_exit(DEV_EXIT_RESET, "reset through port 0xcf9");
    }
    // The data port: no device takes the write.
}

const struct dev dev_pci_conf = {
    .name = "pci-config", .space = DEV_PIO, .base = 0xcf8, .len = 8, .sizes = 1 | 2 | 4,
    .read = pci_read, .write = pci_write, .reset = pci_reset,
};
