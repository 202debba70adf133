// dev.h: the devices of vmxlab's virtual PC, as the rest of hv/ may use them.
// One static table (dev.c) lists every device a guest can reach through port
// I/O or memory-mapped I/O, with the widths it accepts and its read, write
// and reset functions; dev_pio() (called by the I/O exit handler) and
// dev_mmio() (called by the APIC-access and EPT-violation exits, or the
// shadow #PF path) find the device and count the access. What is not claimed
// reads all ones and drops writes, as an empty ISA bus does. Devices are pure
// code: no VMX, no vcpu; the unit tests drive them directly. The models we
// follow: ACRN's io_req table, Firecracker's bus, QEMU's pc machine devices
// (STYLE.md "Device models").
#pragma once
#include "../../lib/lib.h"

enum dev_space { DEV_PIO, DEV_MMIO };

// What the machine a device sits in looks like (set before each run).
struct dev_machine {
    uint64_t ram_size; // bytes of guest RAM
    unsigned cpus;     // always 1
};

struct dev {
    const char *name;       // "COM1", "fw_cfg", "isa-debug-exit" ... (results name it)
    enum dev_space space;
    uint64_t base, len;     // ports [base, base + len), or guest-physical addresses
    uint8_t sizes;          // the widths its registers take, bit n = 2^n bytes; an
                            // access of another width is split into (or merged from)
                            // accesses of the largest width it takes, low byte first
    uint64_t (*read)(uint64_t offset, unsigned size);   // offset from base
    void (*write)(uint64_t offset, unsigned size, uint64_t value);
    void (*reset)(const struct dev_machine *m);         // before every run
    void (*end)(void);      // after every run (a UART's unfinished line), or NULL
};

// Accesses by device, for the run's result line (and those nobody claimed).
struct dev_counts {
    uint64_t reads, writes;
};

// dev.c: the table and its two dispatchers
extern const struct dev devices[];
extern const size_t ndevices;
void dev_reset_all(const struct dev_machine *m); // and the counts
void dev_end_all(void);
// One guest access: size 1, 2 or 4 (8 for MMIO); *value in for writes, out for
// reads (zero-extended to 64 bits). Returns the device, or NULL where nobody
// claims the address (reads then give all ones of the width).
const struct dev *dev_pio(uint16_t port, unsigned size, bool write, uint64_t *value);
const struct dev *dev_mmio(uint64_t gpa, unsigned size, bool write, uint64_t *value);
// NULL if no two devices of one space overlap and none is empty, else the first
// of a clashing pair (a unit test holds the table to it).
const struct dev *dev_table_clash(void);
// per_device[i] is devices[i]'s; *unclaimed sums the accesses nobody claimed.
void dev_counts_get(struct dev_counts *per_device, struct dev_counts *unclaimed);
// The first `max` distinct unclaimed ports and pages the run touched, in order.
struct dev_unclaimed {
    enum dev_space space;
    uint64_t addr;          // a port, or a 4 KiB page's guest-physical address
    struct dev_counts counts;
};
unsigned dev_unclaimed_list(struct dev_unclaimed *out, unsigned max);

// What devices do to the world outside them: provided by the run (hv/run/),
// stubbed by the unit tests.
void dev_guest_text(const char *text, size_t len); // one line of the guest's console
void dev_guest_exit(uint64_t code, const char *how); // the guest ended the machine
