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
    // The guest's time in nanoseconds since the run began, from its TSC at the rate the
    // run assumes: the PIT, the APIC timer and the RTC count with it, so a kernel that
    // calibrates its TSC against them measures that rate. NULL: time stands still.
    uint64_t (*now_ns)(void);
};
// The rate of the guest's TSC in that time: the run's clock counts TSC ticks as
// nanoseconds (hv/exit/io.c platform_reset(), docs/guest-abi.md section 14).
#define DEV_TSC_HZ 1000000000ull

struct dev {
    const char *name;       // "COM1", "fw_cfg", "isa-debug-exit" ... (results name it)
    enum dev_space space;
    uint64_t base, len;     // ports [base, base + len), or guest-physical addresses
    uint8_t sizes;          // the widths its registers take, bit n = 2^n bytes; an
                            // access of another width is split into (or merged from)
                            // accesses of the largest width it takes below that one,
                            // low byte first (dev.c dispatch() says the rest)
    uint64_t (*read)(uint64_t offset, unsigned size);   // offset from base
    void (*write)(uint64_t offset, unsigned size, uint64_t value);
    void (*reset)(const struct dev_machine *m);         // before every run
    void (*end)(void);      // after every run (a UART's unfinished line), or NULL
};

// Accesses by device, for the run's result line (and those nobody claimed): one per
// guest access, under the device that claims its first port or address, however
// dev.c splits it.
struct dev_counts {
    uint64_t reads, writes;
};

// dev.c: the table and its two dispatchers
extern const struct dev *const devices[]; // pointers: each device is its file's object
extern const size_t ndevices;
void dev_reset_all(const struct dev_machine *m); // and the counts
void dev_end_all(void);
// One guest access: size 1, 2 or 4 (8 for MMIO); *value in for writes, out for
// reads (zero-extended to 64 bits). Returns the device, or NULL where nobody
// claims the address (reads then give all ones of the width).
const struct dev *dev_pio(uint16_t port, unsigned size, bool write, uint64_t *value);
const struct dev *dev_mmio(uint64_t gpa, unsigned size, bool write, uint64_t *value);
// The device that claims a port or address, or NULL; no access, nothing counted (the
// MMIO exits ask it first: they stop the run at memory no device claims).
const struct dev *dev_claiming(enum dev_space space, uint64_t addr);
// NULL if no two devices of one space overlap and none is empty, else the first
// of a clashing pair (a unit test holds the table to it).
const struct dev *dev_table_clash(void);
const struct dev *dev_clash(const struct dev *const *table, size_t n); // any table's
// per_device[i] is devices[i]'s; *unclaimed sums the accesses nobody claimed.
void dev_counts_get(struct dev_counts *per_device, struct dev_counts *unclaimed);
// The first `max` distinct unclaimed ports and pages the run touched, in order.
struct dev_unclaimed {
    enum dev_space space;
    uint64_t addr;          // a port, or a 4 KiB page's guest-physical address
    struct dev_counts counts;
};
unsigned dev_unclaimed_list(struct dev_unclaimed *out, unsigned max);
// The run's counts for its result line, as the members of a JSON object (no braces):
// "devices":{"NAME":[reads,writes],...} for each device the guest touched, then
// "unclaimed":[reads,writes] and "unclaimed_at":["port 0x80",...,"page 0x..."], the
// ports and pages dev_unclaimed_list() keeps. Returns the length snprintf would.
int dev_counts_json(char *buf, size_t size);
// The same in words, for a run's line: "COM1 68 reads 67 writes, ...; nobody claims
// port 0x80 (1 read, 1 write), ..."; "" when the guest touched no device.
int dev_counts_text(char *buf, size_t size);

// What devices do to the world outside them: provided by the run (hv/exit/io.c),
// stubbed by the unit tests.
void dev_guest_text(const char *text, size_t len); // one line of the guest's console
void dev_guest_exit(uint64_t code, const char *how); // the guest ended the machine

// devices: the models of QEMU's pc machine, one file each in hv/dev/ (docs/guest-abi.md,
// "The virtual PC"). dev.c lists them in devices[].
extern const struct dev dev_com1;       // serial.c: the 16550 UART, 0x3f8-0x3ff
extern const struct dev dev_debug_exit; // debug_exit.c: QEMU's isa-debug-exit, port 0xf4
extern const struct dev dev_fw_cfg;     // fw_cfg.c: 0x510-0x511
extern const struct dev dev_pic_master; // pic.c: the 8259s, 0x20-0x21 and 0xa0-0xa1,
extern const struct dev dev_pic_slave;  //        and PIIX's edge/level register,
extern const struct dev dev_elcr;       //        0x4d0-0x4d1
extern const struct dev dev_pit;        // pit.c: the 8254, 0x40-0x43,
extern const struct dev dev_port61;     //        and port 0x61 (channel 2's gate, OUT2)
extern const struct dev dev_cmos;       // cmos.c: the MC146818 RTC and CMOS, 0x70-0x71
extern const struct dev dev_pci_conf;   // pci.c: configuration mechanism #1, 0xcf8-0xcff
extern const struct dev dev_i8042;      // i8042.c: the keyboard controller's port 0x64
extern const struct dev dev_bochs_shutdown; // shutdown.c: Bochs' port 0x8900
extern const struct dev dev_lapic;      // lapic.c: the xAPIC page at 0xfee00000

// The codes dev_guest_exit() gets from devices that end the machine without a number
// of the guest's (isa-debug-exit passes the guest's own, 0 to 0xffffffff): above 32
// bits, so that no guest code can be taken for them.
#define DEV_EXIT_RESET (1ull << 32)    // a reset request (port 0xcf9 or 0x64)
#define DEV_EXIT_SHUTDOWN (2ull << 32) // a power-off request (port 0x8900 "Shutdown")

// cmos.c: how much of guest RAM QEMU's pc machine keeps below 4 GiB (the rest starts at
// 4 GiB): the CMOS memory-size bytes and the guest's memory map must agree.
uint64_t pc_ram_below_4g(uint64_t ram_size);

// lapic.c: IA32_APIC_BASE (MSR 0x1b), for the MSR exit; CPUID.1:EDX.APIC follows its
// enable bit (SDM 3A 11.4.3).
#define APIC_BASE_DEFAULT 0xfee00000ull
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EN (1ull << 11)
enum apic_base_verdict {
    APIC_BASE_OK,    // taken: the MSR holds the value
    APIC_BASE_GP,    // a reserved bit is set: the WRMSR raises #GP(0), nothing changes
    APIC_BASE_MOVED, // enabled at a base other than 0xfee00000: not emulated, the run stops
};
uint64_t apic_base_read(void);
enum apic_base_verdict apic_base_write(uint64_t value, unsigned maxphyaddr);
// What the APIC did this run besides answering registers.
struct lapic_counts {
    uint64_t dropped;         // accesses of a width or alignment the registers refuse
    uint64_t init, startup;   // INIT and start-up IPIs sent: there is no other CPU
    uint64_t other_ipis;      // every other IPI (fixed, NMI, SMI ...): none is delivered
};
void lapic_counts_get(struct lapic_counts *out);
// lapic.c, for the CPU's APIC virtualisation (hv/exit/mmio.c): the TPR (CR8 is its bits
// 7:4), the virtual-APIC page as the model's registers fill it, and the write an
// APIC-write exit reports, as the access to replay on the model.
uint32_t lapic_tpr(void);
void lapic_tpr_set(uint32_t tpr);
void lapic_virtual_page(uint8_t *page); // 4 KiB
void lapic_take_page(const uint8_t *page); // what the CPU wrote there without an exit
struct lapic_write {
    uint64_t offset; // in the page
    unsigned size;   // 4 at a register's offset, else 1 (the model drops it)
    uint32_t value;
};
struct lapic_write lapic_trapped_write(uint64_t qualification, const uint8_t *page);

// What would wake a CPU that halts with interrupts on, had vmxlab interrupts to deliver:
// "IRQ 0 (the PIT's channel 0, mode 2), the APIC timer (vector 0xef)", each source a
// device is set to raise and the 8259 (or the APIC's LVT) lets through; "" for none.
// dev_wake_sources() asks each device (pic.c, pit.c, cmos.c, serial.c, lapic.c).
int dev_wake_sources(char *buf, size_t size);
bool pic_unmasked(unsigned irq);
bool pit_irq0_armed(unsigned *mode);
uint8_t cmos_irq_enables(void);
uint8_t uart_irq_enables(void);
bool lapic_timer_armed(unsigned *vector);

// The time of a clock stored from dev_machine.now_ns at reset (0 without one).
static inline uint64_t dev_now(uint64_t (*now_ns)(void)) { return now_ns ? now_ns() : 0; }
