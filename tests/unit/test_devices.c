// test_devices.c: the virtual PC's devices (hv/dev/*.c), driven through their read and
// write functions as dev.c will drive them, on a clock the test moves. Where QEMU decides
// a value, it is QEMU 7.2's: the golden runs (tests/boot/golden/startup*.txt, whose
// fw_cfg and CMOS lines are parsed here), guest/multiboot/README.md (the APIC as SeaBIOS
// leaves it) and probes of QEMU (docs/guest-abi.md section 14); elsewhere the data
// sheets' and the SDM's, as STYLE.md's "Device models" lists them.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../hv/dev/dev.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }
void dev_guest_text(const char *text, size_t len) { (void)text; (void)len; fail(); }

static unsigned exits;
static uint64_t exit_code;
void dev_guest_exit(uint64_t code, const char *how)
{
    assert_non_null(how);
    exits++;
    exit_code = code;
}

#define MIB (1024ull * 1024)
#define GIB (1024 * MIB)
#define MS 1000000ull
#define SEC 1000000000ull

static uint64_t now;
static uint64_t clock_ns(void) { return now; }

static void boot(uint64_t ram)
{
    const struct dev_machine m = { .ram_size = ram, .cpus = 1, .now_ns = clock_ns };
    const struct dev *all[] = { &dev_fw_cfg, &dev_pic_master, &dev_pic_slave, &dev_elcr,
                                &dev_pit, &dev_port61, &dev_cmos, &dev_pci_conf,
                                &dev_bochs_shutdown, &dev_lapic };
    now = 0;
    exits = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        all[i]->reset(&m);
}

static uint64_t in(const struct dev *d, uint64_t port, unsigned size)
{
    return d->read(port - d->base, size);
}

static void out(const struct dev *d, uint64_t port, unsigned size, uint64_t v)
{
    d->write(port - d->base, size, v);
}

static uint8_t inb(const struct dev *d, uint64_t port) { return (uint8_t)in(d, port, 1); }
static void outb(const struct dev *d, uint64_t port, uint8_t v) { out(d, port, 1, v); }

// --- The table entries --------------------------------------------------------------

static void entries_name_their_ports(void **state)
{
    (void)state;
    static const struct {
        const struct dev *d;
        const char *name;
        enum dev_space space;
        uint64_t base, len;
        uint8_t sizes;
    } want[] = {
        { &dev_fw_cfg, "fw_cfg", DEV_PIO, 0x510, 2, 1 | 2 | 4 },
        { &dev_pic_master, "pic-master", DEV_PIO, 0x20, 2, 1 },
        { &dev_pic_slave, "pic-slave", DEV_PIO, 0xa0, 2, 1 },
        { &dev_elcr, "elcr", DEV_PIO, 0x4d0, 2, 1 },
        { &dev_pit, "pit", DEV_PIO, 0x40, 4, 1 },
        { &dev_port61, "port-0x61", DEV_PIO, 0x61, 1, 1 },
        { &dev_cmos, "cmos", DEV_PIO, 0x70, 2, 1 },
        { &dev_pci_conf, "pci-config", DEV_PIO, 0xcf8, 8, 1 | 2 | 4 },
        { &dev_i8042, "i8042", DEV_PIO, 0x64, 1, 1 },
        { &dev_bochs_shutdown, "bochs-shutdown", DEV_PIO, 0x8900, 1, 1 },
        { &dev_lapic, "lapic", DEV_MMIO, 0xfee00000, 0x1000, 1 | 2 | 4 | 8 },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct dev *d = want[i].d;
        assert_string_equal(d->name, want[i].name);
        assert_int_equal(d->space, want[i].space);
        assert_int_equal(d->base, want[i].base);
        assert_int_equal(d->len, want[i].len);
        assert_int_equal(d->sizes, want[i].sizes);
        assert_non_null(d->read);
        assert_non_null(d->write);
        assert_non_null(d->reset);
        for (size_t j = 0; j < i; j++) // and no two of one space overlap
            assert_true(want[j].space != want[i].space ||
                        want[j].base + want[j].len <= want[i].base ||
                        want[i].base + want[i].len <= want[j].base);
    }
}

// --- What QEMU's golden runs show ---------------------------------------------------

struct golden {
    uint64_t ram;
    unsigned cpus, max_cpus, base, ext1, ext2, above16m, above4g;
};

// From a golden file: fw_cfg's line (the RAM QEMU had) and the CMOS line.
static void read_golden(const char *name, struct golden *g)
{
    char path[128], line[512];
    snprintf(path, sizeof(path), "tests/boot/golden/%s", name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s: not found (the unit tests run from the tree's top)", path);
    int got = 0;
    unsigned long long ram;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "startup: fw_cfg: signature 'QEMU', ID bit 0 1, RAM %llx bytes, CPUs %u "
                         "(at most %u)", &ram, &g->cpus, &g->max_cpus) == 3) {
            g->ram = ram;
            got |= 1;
        }
        if (sscanf(line, "startup: CMOS: base %u KiB, above 1 MiB %u and %u KiB, above 16 MiB "
                         "%u x 64 KiB, above 4 GiB %u x 64 KiB", &g->base, &g->ext1, &g->ext2,
                   &g->above16m, &g->above4g) == 5)
            got |= 2;
    }
    fclose(f);
    if (got != 3)
        fail_msg("%s: no fw_cfg or CMOS line", path);
}

static uint64_t fw_cfg_item(uint16_t key, unsigned bytes)
{
    out(&dev_fw_cfg, 0x510, 2, key);
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)inb(&dev_fw_cfg, 0x511) << (8 * i);
    return v;
}

static uint8_t cmos(uint8_t reg)
{
    outb(&dev_cmos, 0x70, 0x80 | reg); // as the startup kernel does: NMIs stay disabled
    return inb(&dev_cmos, 0x71);
}

static void cmos_set(uint8_t reg, uint8_t v)
{
    outb(&dev_cmos, 0x70, reg);
    outb(&dev_cmos, 0x71, v);
}

static unsigned cmos16(uint8_t reg) { return cmos(reg) | cmos(reg + 1) << 8; }

static void fw_cfg_and_cmos_as_qemu_gave_them(void **state)
{
    (void)state;
    static const char *const files[] = { "startup.txt", "startup-1g.txt", "startup-exit7.txt" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct golden g;
        read_golden(files[i], &g);
        boot(g.ram);
        char sig[5] = { 0 };
        uint64_t s = fw_cfg_item(0x00, 4);
        memcpy(sig, &s, 4);
        assert_string_equal(sig, "QEMU");
        assert_int_equal(fw_cfg_item(0x01, 4) & 1, 1);
        assert_int_equal(fw_cfg_item(0x03, 8), g.ram);
        assert_int_equal(fw_cfg_item(0x05, 2), g.cpus);
        assert_int_equal(fw_cfg_item(0x0f, 2), g.max_cpus);
        assert_int_equal(fw_cfg_item(0x1f, 4), 0); // the kernel's unknown key
        assert_int_equal(cmos16(0x15), g.base);
        assert_int_equal(cmos16(0x17), g.ext1);
        assert_int_equal(cmos16(0x30), g.ext2);
        assert_int_equal(cmos16(0x34), g.above16m);
        assert_int_equal(cmos16(0x5b) | cmos(0x5d) << 16, g.above4g);
    }
}

// Past 3.5 GiB QEMU keeps 3 GiB below 4 GiB (README.md: 3.5 GiB gives a map with
// 0x100000-0xbffdffff and 4 GiB-4.5 GiB); below that, all of it.
static void cmos_memory_above_4g(void **state)
{
    (void)state;
    assert_int_equal(pc_ram_below_4g(128 * MIB), 128 * MIB);
    assert_int_equal(pc_ram_below_4g(3 * GIB + 256 * MIB), 3 * GIB + 256 * MIB);
    assert_int_equal(pc_ram_below_4g(3 * GIB + 512 * MIB), 3 * GIB);
    boot(3 * GIB + 512 * MIB);
    assert_int_equal(cmos16(0x17), 65535);
    assert_int_equal(cmos16(0x34), (3 * GIB - 16 * MIB) / (64 * 1024)); // 48896
    assert_int_equal(cmos16(0x5b) | cmos(0x5d) << 16, 512 * MIB / (64 * 1024));
    boot(64 * GIB);
    assert_int_equal(cmos16(0x5b) | cmos(0x5d) << 16, 61 * GIB / (64 * 1024)); // 24 bits
    assert_int_equal(fw_cfg_item(0x03, 8), 64 * GIB); // fw_cfg: all of RAM
    boot(1 * MIB);
    assert_int_equal(cmos16(0x15), 640);
    assert_int_equal(cmos16(0x17), 0);
    assert_int_equal(cmos16(0x34), 0);
}

// --- fw_cfg ------------------------------------------------------------------------

static void fw_cfg_streams_an_item_and_zeroes_after(void **state)
{
    (void)state;
    boot(128 * MIB);
    // After reset the signature is selected (QEMU's fw_cfg_reset()).
    assert_int_equal(inb(&dev_fw_cfg, 0x511), 'Q');
    assert_int_equal(inb(&dev_fw_cfg, 0x510), 'E'); // a byte read at 0x510 is data too
    assert_int_equal(fw_cfg_item(0x00, 8), 0x554d4551); // "QEMU", then 0 past the end
    assert_int_equal(fw_cfg_item(0x01, 8), 1);          // no DMA
    assert_int_equal(fw_cfg_item(0x19, 8), 0);          // 0 files (big-endian), then 0
    assert_int_equal(fw_cfg_item(0x02, 4), 0);          // no item (QEMU's UUID)
    assert_int_equal(fw_cfg_item(0x8002, 4), 0);        // x86's own keys: none here
    assert_int_equal(fw_cfg_item(0x4003, 8), 128 * MIB); // bit 14 is no part of the index
    assert_int_equal(fw_cfg_item(0xffff, 4), 0);
}

static void fw_cfg_selects_only_with_a_16_bit_write(void **state)
{
    (void)state;
    boot(128 * MIB);
    out(&dev_fw_cfg, 0x510, 2, 0x01);
    outb(&dev_fw_cfg, 0x510, 0x00); // a data write: ignored (QEMU 2.4 and later)
    outb(&dev_fw_cfg, 0x511, 0x00);
    out(&dev_fw_cfg, 0x511, 2, 0x00); // unaligned: not a valid access in QEMU
    out(&dev_fw_cfg, 0x510, 4, 0x00); // 32 bits: not valid either
    assert_int_equal(inb(&dev_fw_cfg, 0x511), 1); // still the ID
    // Wider reads are not valid: 0, and the offset stays.
    out(&dev_fw_cfg, 0x510, 2, 0x00);
    assert_int_equal(in(&dev_fw_cfg, 0x511, 2), 0);
    assert_int_equal(in(&dev_fw_cfg, 0x510, 4), 0);
    assert_int_equal(inb(&dev_fw_cfg, 0x511), 'Q');
    // Selecting again rewinds.
    out(&dev_fw_cfg, 0x510, 2, 0x00);
    assert_int_equal(inb(&dev_fw_cfg, 0x511), 'Q');
}

// --- The 8259s --------------------------------------------------------------------

static void pics_as_seabios_leaves_them(void **state)
{
    (void)state;
    boot(128 * MIB);
    assert_int_equal(inb(&dev_pic_master, 0x21), 0xb8);
    assert_int_equal(inb(&dev_pic_slave, 0xa1), 0x8e);
    assert_int_equal(inb(&dev_pic_master, 0x20), 0); // IRR
    assert_int_equal(inb(&dev_elcr, 0x4d0), 0x00);
    assert_int_equal(inb(&dev_elcr, 0x4d1), 0x0c); // IRQs 10 and 11: PCI, level
    // The startup kernel's check (golden: "8259: the masks read back 0xff, 0xff").
    outb(&dev_pic_master, 0x21, 0xff);
    outb(&dev_pic_slave, 0xa1, 0xff);
    assert_int_equal(inb(&dev_pic_master, 0x21), 0xff);
    assert_int_equal(inb(&dev_pic_slave, 0xa1), 0xff);
    // ELCR: IRQs 0, 1, 2, 8 and 13 are always edge (QEMU's masks, measured).
    outb(&dev_elcr, 0x4d0, 0xff);
    outb(&dev_elcr, 0x4d1, 0xff);
    assert_int_equal(inb(&dev_elcr, 0x4d0), 0xf8);
    assert_int_equal(inb(&dev_elcr, 0x4d1), 0xde);
}

static void pic_initialisation_and_operation(void **state)
{
    (void)state;
    boot(128 * MIB);
    const struct dev *m = &dev_pic_master, *s = &dev_pic_slave;
    // Linux's init_8259A(): ICW1 (edge, cascade, ICW4), ICW2 vector base, ICW3, ICW4.
    outb(m, 0x20, 0x11);
    assert_int_equal(inb(m, 0x21), 0x00); // ICW1 clears the mask ...
    assert_int_equal(inb(m, 0x20), 0x00); // ... and selects IRR
    outb(m, 0x21, 0x20);
    outb(m, 0x21, 0x04);
    outb(m, 0x21, 0x01);
    outb(m, 0x21, 0xfb); // OCW1: the sequence is over
    assert_int_equal(inb(m, 0x21), 0xfb);
    outb(s, 0xa0, 0x11);
    outb(s, 0xa1, 0x28);
    outb(s, 0xa1, 0x02);
    outb(s, 0xa1, 0x01);
    outb(s, 0xa1, 0xff);
    assert_int_equal(inb(s, 0xa1), 0xff);
    // OCW3: ISR, then IRR; nothing is ever in service or requested.
    outb(m, 0x20, 0x0b);
    assert_int_equal(inb(m, 0x20), 0);
    outb(m, 0x20, 0x0a);
    assert_int_equal(inb(m, 0x20), 0);
    // OCW2: EOIs (non-specific, specific IR2) change nothing a read shows.
    outb(m, 0x20, 0x20);
    outb(m, 0x20, 0x62);
    assert_int_equal(inb(m, 0x21), 0xfb);
    // OCW3 poll: the next read of either port is the poll word, 0 with nothing pending.
    outb(m, 0x20, 0x0c);
    assert_int_equal(inb(m, 0x21), 0);
    assert_int_equal(inb(m, 0x21), 0xfb);
    // Single 8259 without ICW4: after ICW2 the data port is the mask again.
    outb(m, 0x20, 0x12);
    outb(m, 0x21, 0x08);
    outb(m, 0x21, 0x5a);
    assert_int_equal(inb(m, 0x21), 0x5a);
    // Single with ICW4: ICW2, ICW4, then the mask.
    outb(m, 0x20, 0x13);
    outb(m, 0x21, 0x08);
    outb(m, 0x21, 0x01);
    outb(m, 0x21, 0xa5);
    assert_int_equal(inb(m, 0x21), 0xa5);
}

// --- The 8254 and port 0x61 ------------------------------------------------------

static uint8_t pit_status(unsigned c)
{
    outb(&dev_pit, 0x43, 0xe0 | 2 << c); // read-back: status only
    return inb(&dev_pit, 0x40 + c);
}

// Two reads of a channel: LSB, then MSB (of a latched count, or of the live one).
static unsigned pit_read16(unsigned c)
{
    unsigned lo = inb(&dev_pit, 0x40 + c);
    return lo | inb(&dev_pit, 0x40 + c) << 8;
}

static unsigned pit_latched(unsigned c)
{
    outb(&dev_pit, 0x43, c << 6); // counter latch
    return pit_read16(c);
}

// A control word for channel c (LSB then MSB) and its count.
static void pit_load(unsigned c, uint8_t control, unsigned count)
{
    outb(&dev_pit, 0x43, control);
    outb(&dev_pit, 0x40 + c, count & 0xff);
    outb(&dev_pit, 0x40 + c, count >> 8);
}

static void pit_after_reset(void **state)
{
    (void)state;
    boot(128 * MIB);
    // Channel 0 as SeaBIOS programs it: LSB/MSB, mode 2 (QEMU reads back 0x34; its mode
    // 2 output is low where the data sheet's is high: OUT is bit 7).
    assert_int_equal(pit_status(0), 0xb4);
    assert_int_equal(pit_status(2) & 0x3f, 0x36); // mode 3, LSB/MSB
    assert_int_equal(inb(&dev_pit, 0x43), 0);      // the control word reads 0 (QEMU)
    // Port 0x61: gate 0, speaker 0; bit 4 flips at each read (QEMU's refresh clock).
    uint8_t a = inb(&dev_port61, 0x61), b = inb(&dev_port61, 0x61);
    assert_int_equal(a & 0x03, 0);
    assert_int_equal((a ^ b) & 0x10, 0x10);
    assert_int_equal(a & 0xcc, 0);
}

// Linux's pit_calibrate_tsc(): gate on, speaker off, channel 2 in mode 0 with its 10 ms
// count (CAL_LATCH, 11931), then poll port 0x61 for OUT2. The count ends when 11931 ticks
// of 1.193182 MHz have passed: 9999312.76 ns after it was loaded (at 1 s, a whole number
// of ticks).
static void pit_channel2_calibration_ends(void **state)
{
    (void)state;
    boot(128 * MIB);
    now = SEC;
    outb(&dev_port61, 0x61, (inb(&dev_port61, 0x61) & ~0x02) | 0x01);
    outb(&dev_pit, 0x43, 0xb0);
    assert_int_equal(pit_status(2) & 0xc0, 0x40); // OUT low, null count until loaded
    outb(&dev_pit, 0x42, 11931 & 0xff);
    outb(&dev_pit, 0x42, 11931 >> 8);
    assert_int_equal(pit_status(2), 0x30); // mode 0, OUT low, counting
    assert_int_equal(inb(&dev_port61, 0x61) & 0x20, 0);
    now = SEC + 9999312;
    assert_int_equal(inb(&dev_port61, 0x61) & 0x20, 0);
    now = SEC + 9999313;
    assert_int_equal(inb(&dev_port61, 0x61) & 0x21, 0x21);
    assert_int_equal(pit_status(2), 0xb0);
    now += 100 * MS; // OUT stays high in mode 0
    assert_int_equal(inb(&dev_port61, 0x61) & 0x20, 0x20);
}

static void pit_counts_latches_and_gates(void **state)
{
    (void)state;
    boot(128 * MIB);
    outb(&dev_port61, 0x61, 0x01);
    pit_load(2, 0xb0, 11932);
    now = 5 * MS; // 5965.91 ticks
    assert_int_equal(pit_latched(2), 11932 - 5965);
    // A latched count stays until read, whatever the time; a second latch is ignored.
    outb(&dev_pit, 0x43, 0x80);
    now = 6 * MS;
    outb(&dev_pit, 0x43, 0x80);
    assert_int_equal(pit_read16(2), 11932 - 5965);
    // Without a latch, LSB then MSB of the live count (Linux's quick_pit_calibrate()).
    assert_int_equal(pit_read16(2), 11932 - 7159); // 6 ms: 7159.09
    // Mode 0 pauses while the gate is low, and goes on when it rises.
    outb(&dev_port61, 0x61, 0x00);
    now = 50 * MS;
    assert_int_equal(pit_latched(2), 11932 - 7159);
    assert_int_equal(inb(&dev_port61, 0x61) & 0x21, 0x00);
    outb(&dev_port61, 0x61, 0x01);
    now = 54 * MS; // 4 ms more: 4772.73, 11931 ticks in all: one to go
    assert_int_equal(inb(&dev_port61, 0x61) & 0x20, 0);
    now = 55 * MS;
    assert_int_equal(inb(&dev_port61, 0x61) & 0x20, 0x20);
    // Read-back of count and status together: the status comes first.
    outb(&dev_pit, 0x43, 0xc8);
    assert_int_equal(inb(&dev_pit, 0x42), 0xb0);
    assert_int_equal(pit_read16(2), (11932 - 13125) & 0xffff); // wrapped on
}

static void pit_modes(void **state)
{
    (void)state;
    boot(128 * MIB);
    // Mode 2 with 100: 100, 99, ... 2, 1 (OUT low for that tick), then 100 again. One
    // tick is 838.1 ns; the times below fall inside the ticks they name.
    pit_load(0, 0x34, 100);
    now = 839 * 10; // tick 10
    assert_int_equal(pit_latched(0), 90);
    assert_int_equal(pit_status(0) >> 7, 1);
    now = 838096 * 99 / 1000 + 1; // tick 99: the count is 1
    assert_int_equal(pit_latched(0), 1);
    assert_int_equal(pit_status(0) >> 7, 0);
    now = 838096 * 100 / 1000 + 1; // tick 100: reloaded
    assert_int_equal(pit_latched(0), 100);
    assert_int_equal(pit_status(0) >> 7, 1);
    // Mode 3 with 100: by 2 twice per period, OUT high for the first half.
    now = 0;
    pit_load(0, 0x36, 100);
    now = 839 * 10;
    assert_int_equal(pit_latched(0), 80);
    assert_int_equal(pit_status(0) >> 7, 1);
    now = 839 * 60;
    assert_int_equal(pit_status(0) >> 7, 0);
    // MSB only (access 2): the count is v << 8; LSB only (1): v.
    outb(&dev_pit, 0x43, 0x60); // channel 1, MSB only, mode 0
    outb(&dev_pit, 0x41, 0x12);
    outb(&dev_pit, 0x43, 0x40); // latch: one byte, the MSB
    assert_int_equal(inb(&dev_pit, 0x41), 0x12);
    outb(&dev_pit, 0x43, 0x58); // channel 1, LSB only, mode 4: OUT high until the count ends
    outb(&dev_pit, 0x41, 0x34);
    assert_int_equal(pit_status(1), 0x98);
    now += 839 * 0x34; // terminal count: low for one tick
    assert_int_equal(pit_status(1) >> 7, 0);
    now += 839;
    assert_int_equal(pit_status(1) >> 7, 1);
}

// Without a clock (dev_machine.now_ns NULL) time stands still: nothing moves, nothing
// breaks.
static void pit_without_a_clock(void **state)
{
    (void)state;
    const struct dev_machine m = { .ram_size = 128 * MIB, .cpus = 1 };
    dev_pit.reset(&m);
    dev_port61.reset(&m);
    outb(&dev_port61, 0x61, 1);
    pit_load(2, 0xb0, 0x10);
    now = SEC;
    assert_int_equal(pit_latched(2), 0x10);
    assert_int_equal(inb(&dev_port61, 0x61) & 0x20, 0);
}

// --- CMOS and the clock -----------------------------------------------------------

static void cmos_registers(void **state)
{
    (void)state;
    boot(128 * MIB);
    assert_int_equal(inb(&dev_cmos, 0x70), 0xff); // the index port reads 0xff (QEMU)
    assert_int_equal(cmos(0x0a), 0x26);
    assert_int_equal(cmos(0x0b), 0x02);
    assert_int_equal(cmos(0x0c), 0x00);
    assert_int_equal(cmos(0x0d), 0x80);
    assert_int_equal(cmos(0x2e), 0); // QEMU computes no checksum
    assert_int_equal(cmos(0x2f), 0);
    assert_int_equal(cmos(0x37), 0x20);
    assert_int_equal(cmos(0x14), 0x02);
    cmos_set(0x0a, 0xff); // UIP is read-only (QEMU: 0xff reads 0x7f)
    assert_int_equal(cmos(0x0a), 0x7f);
    cmos_set(0x0d, 0x00); // C and D are read-only
    assert_int_equal(cmos(0x0d), 0x80);
    cmos_set(0x40, 0x5a); // the rest is RAM
    assert_int_equal(cmos(0x40), 0x5a);
    cmos_set(0x01, 0x45); // so are the alarms
    assert_int_equal(cmos(0x01), 0x45);
    // Bit 7 of the index is NMI-disable: 0x95 and 0x15 are the same register.
    outb(&dev_cmos, 0x70, 0x95);
    assert_int_equal(inb(&dev_cmos, 0x71), 0x80); // 640 = 0x280
}

static void cmos_clock_runs_from_a_fixed_date(void **state)
{
    (void)state;
    boot(128 * MIB);
    // 2024-01-01 00:00:00, a Monday (day 2), BCD, 24 hours.
    static const uint8_t start[] = { [0] = 0x00, [2] = 0x00, [4] = 0x00, [6] = 0x02,
                                     [7] = 0x01, [8] = 0x01, [9] = 0x24 };
    for (unsigned r = 0; r <= 9; r += r < 6 ? 2 : 1)
        assert_int_equal(cmos((uint8_t)r), start[r]);
    assert_int_equal(cmos(0x32), 0x20);
    // 59 days, 13:59:58.5 later: 2024-02-29 (a leap day, Thursday), 13:59:58.
    now = (59 * 86400 + 13 * 3600 + 59 * 60 + 58) * SEC + SEC / 2;
    assert_int_equal(cmos(0x00), 0x58);
    assert_int_equal(cmos(0x02), 0x59);
    assert_int_equal(cmos(0x04), 0x13);
    assert_int_equal(cmos(0x06), 0x05);
    assert_int_equal(cmos(0x07), 0x29);
    assert_int_equal(cmos(0x08), 0x02);
    // 12 hours (B bit 1 clear): 1 PM is 0x81; binary (bit 2): 13 is 0x0d.
    cmos_set(0x0b, 0x00);
    assert_int_equal(cmos(0x04), 0x81);
    cmos_set(0x0b, 0x06);
    assert_int_equal(cmos(0x04), 13);
    assert_int_equal(cmos(0x09), 24);
    assert_int_equal(cmos(0x32), 20);
    // A day later it is March.
    now += 86400 * SEC;
    assert_int_equal(cmos(0x07), 1);
    assert_int_equal(cmos(0x08), 3);
    assert_int_equal(cmos(0x06), 6); // Friday
}

static void cmos_update_flags(void **state)
{
    (void)state;
    boot(128 * MIB);
    // UIP: the last 244 us of each second.
    now = SEC - 244001;
    assert_int_equal(cmos(0x0a) & 0x80, 0);
    now = SEC - 244000;
    assert_int_equal(cmos(0x0a) & 0x80, 0x80);
    assert_int_equal(cmos(0x00), 0x00);
    now = SEC;
    assert_int_equal(cmos(0x0a) & 0x80, 0);
    assert_int_equal(cmos(0x00), 0x01);
    // C: UF once a second has ended since the last read; IRQF only with UIE.
    assert_int_equal(cmos(0x0c), 0x10);
    assert_int_equal(cmos(0x0c), 0x00);
    now = 2 * SEC;
    cmos_set(0x0b, 0x12);
    assert_int_equal(cmos(0x0c), 0x90);
}

static void cmos_clock_can_be_set(void **state)
{
    (void)state;
    boot(128 * MIB);
    now = 10 * SEC;
    cmos_set(0x00, 0x30);
    assert_int_equal(cmos(0x00), 0x30);
    now = 11 * SEC;
    assert_int_equal(cmos(0x00), 0x31);
    cmos_set(0x09, 0x25); // 2025: the day of the week follows
    assert_int_equal(cmos(0x09), 0x25);
    assert_int_equal(cmos(0x06), 0x04); // 2025-01-01 was a Wednesday
    cmos_set(0x04, 0x23); // hours 23
    now = 12 * SEC + 3600 * SEC; // an hour on: midnight, 2025-01-02
    assert_int_equal(cmos(0x04), 0x00);
    assert_int_equal(cmos(0x07), 0x02);
    cmos_set(0x32, 0x19); // century 19: 1925, before 1970, is not taken
    assert_int_equal(cmos(0x32), 0x20);
}

// --- PCI configuration -------------------------------------------------------------

static void pci_has_no_devices(void **state)
{
    (void)state;
    boot(128 * MIB);
    assert_int_equal(in(&dev_pci_conf, 0xcf8, 4), 0x8000005c); // SeaBIOS's last
    out(&dev_pci_conf, 0xcf8, 4, 0x80000000); // 0:0.0, where QEMU has its i440FX
    assert_int_equal(in(&dev_pci_conf, 0xcf8, 4), 0x80000000);
    assert_int_equal(in(&dev_pci_conf, 0xcfc, 4), 0xffffffff);
    assert_int_equal(in(&dev_pci_conf, 0xcfe, 2), 0xffff);
    assert_int_equal(in(&dev_pci_conf, 0xcfd, 1), 0xff);
    out(&dev_pci_conf, 0xcfc, 4, 0x12345678);
    assert_int_equal(in(&dev_pci_conf, 0xcfc, 4), 0xffffffff);
    // Narrower accesses to 0xcf8-0xcfb do not reach the latch; reads give 0 (QEMU).
    out(&dev_pci_conf, 0xcf8, 2, 0x1234);
    outb(&dev_pci_conf, 0xcfb, 0x55);
    assert_int_equal(in(&dev_pci_conf, 0xcf8, 4), 0x80000000);
    assert_int_equal(in(&dev_pci_conf, 0xcf8, 2), 0);
    assert_int_equal(inb(&dev_pci_conf, 0xcfb), 0);
    assert_int_equal(exits, 0);
}

static void pci_reset_port(void **state)
{
    (void)state;
    boot(128 * MIB);
    // The reset control register keeps bit 1 only (QEMU: 0x02 reads 0x02, 0x0a 0x02).
    outb(&dev_pci_conf, 0xcf9, 0x02);
    assert_int_equal(inb(&dev_pci_conf, 0xcf9), 0x02);
    outb(&dev_pci_conf, 0xcf9, 0x0a);
    assert_int_equal(inb(&dev_pci_conf, 0xcf9), 0x02);
    outb(&dev_pci_conf, 0xcf9, 0xf1);
    assert_int_equal(inb(&dev_pci_conf, 0xcf9), 0x00);
    assert_int_equal(exits, 0);
    // Bit 2 resets: 0x06 (Linux's reboot=pci), 0x0e (a full reset), 0x04 alone (QEMU).
    static const uint8_t resets[] = { 0x06, 0x0e, 0x04 };
    for (size_t i = 0; i < sizeof(resets); i++) {
        outb(&dev_pci_conf, 0xcf9, resets[i]);
        assert_int_equal(exits, i + 1);
        assert_int_equal(exit_code, DEV_EXIT_RESET);
    }
}

// --- Bochs' shutdown port -----------------------------------------------------------

static unsigned shutdown_with(const char *s)
{
    boot(128 * MIB);
    for (; *s; s++)
        outb(&dev_bochs_shutdown, 0x8900, (uint8_t)*s);
    return exits;
}

static void bochs_shutdown_port(void **state)
{
    (void)state;
    assert_int_equal(shutdown_with("Shutdown"), 1);
    assert_int_equal(exit_code, DEV_EXIT_SHUTDOWN);
    assert_true(exit_code > 0xffffffffull); // no guest's exit code
    assert_int_equal(shutdown_with("Shutdow"), 0);
    assert_int_equal(shutdown_with("ShutXdown"), 0);    // another byte starts over
    assert_int_equal(shutdown_with("SShutdown"), 1);    // a letter out of turn is ignored
    assert_int_equal(shutdown_with("xShuShutdown"), 1); // ... so this one ends it too
    assert_int_equal(shutdown_with("ShutdownShutdown"), 2);
    assert_int_equal(inb(&dev_bochs_shutdown, 0x8900), 0xff);
}

// --- The local APIC ---------------------------------------------------------------

#define APIC 0xfee00000ull
static uint32_t apic_rd(unsigned off) { return (uint32_t)in(&dev_lapic, APIC + off, 4); }
static void apic_wr(unsigned off, uint32_t v) { out(&dev_lapic, APIC + off, 4, v); }

static struct lapic_counts apic_counts(void)
{
    struct lapic_counts c;
    lapic_counts_get(&c);
    return c;
}

static void apic_as_seabios_leaves_it(void **state)
{
    (void)state;
    boot(128 * MIB);
    // guest/multiboot/README.md: IA32_APIC_BASE 0xfee00900, ID 0, version 0x50014, and
    // "APIC SVR 0x1ff, LVT0 0x8700, LVT1 0x8400, ICR 0xc4610" (probe=1).
    assert_int_equal(apic_base_read(), 0xfee00900);
    assert_int_equal(apic_rd(0x20), 0);
    assert_int_equal(apic_rd(0x30), 0x50014);
    assert_int_equal(apic_rd(0xf0), 0x1ff);
    assert_int_equal(apic_rd(0x350), 0x8700);
    assert_int_equal(apic_rd(0x360), 0x8400);
    assert_int_equal(apic_rd(0x300), 0xc4610);
    assert_int_equal(apic_rd(0x310), 0);
    assert_int_equal(apic_rd(0xe0), 0xffffffff);
    assert_int_equal(apic_rd(0xd0), 0);
    assert_int_equal(apic_rd(0x80), 0);
    assert_int_equal(apic_rd(0x280), 0);
    static const unsigned masked[] = { 0x320, 0x330, 0x340, 0x370 };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(apic_rd(masked[i]), 0x10000);
    for (unsigned off = 0x100; off < 0x280; off += 0x10) // ISR, TMR, IRR
        assert_int_equal(apic_rd(off), 0);
}

// The startup kernel's apic(): its golden lines.
static void apic_sequence_of_the_startup_kernel(void **state)
{
    (void)state;
    boot(128 * MIB);
    // "IA32_APIC_BASE reads 0xfee00100 with EN cleared, 0xfee00900 with EN set again"
    assert_int_equal(apic_base_write(0xfee00100, 36), APIC_BASE_OK);
    assert_int_equal(apic_base_read(), 0xfee00100);
    assert_int_equal(apic_base_write(0xfee00900, 36), APIC_BASE_OK);
    assert_int_equal(apic_base_read(), 0xfee00900);
    // "SVR reads back 0x1ff, TPR 0x20"
    apic_wr(0xf0, 0x1ff);
    apic_wr(0x80, 0x20);
    assert_int_equal(apic_rd(0xf0), 0x1ff);
    assert_int_equal(apic_rd(0x80), 0x20);
    assert_int_equal(apic_rd(0xa0), 0x20); // PPR: TPR, nothing in service
    apic_wr(0x80, 0);
    // "INIT and SIPI to all but self: ICR reads 0xc4500, 0xc4608, delivery status idle;
    // ESR 0x0"
    apic_wr(0x280, 0);
    apic_wr(0x310, 0);
    apic_wr(0x300, 0xc4500);
    assert_int_equal(apic_rd(0x300), 0xc4500);
    apic_wr(0x300, 0xc4608);
    assert_int_equal(apic_rd(0x300), 0xc4608);
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0);
    struct lapic_counts c = apic_counts();
    assert_int_equal(c.init, 1);
    assert_int_equal(c.startup, 1);
    assert_int_equal(c.other_ipis, 0);
    assert_int_equal(c.dropped, 0);
}

static void apic_register_rules(void **state)
{
    (void)state;
    boot(128 * MIB);
    // What each register keeps of a write (KVM's masks; the SDM's read-only registers).
    static const struct { unsigned off; uint32_t written, reads; } rules[] = {
        { 0x300, 0x000c4500 | 1u << 12, 0xc4500 }, // the delivery status is not the guest's
        { 0x310, 0xffffffff, 0xff000000 },
        { 0x0e0, 0, 0x0fffffff },
        { 0x0d0, 0xffffffff, 0xff000000 },
        { 0x080, 0xffffffff, 0xff },
        { 0x0f0, 0xffffffff, 0x3ff },
        { 0x020, 0x05000000, 0 }, // the ID stays 0
        { 0x030, 0, 0x50014 },
        { 0x3e0, 0xff, 0xb },
        { 0x100, 0xffffffff, 0 }, // ISR
        // LVT entries keep their own bits; delivery status and remote IRR are never set.
        { 0x320, 0xffffffff, 0x300ff }, { 0x330, 0xffffffff, 0x107ff },
        { 0x340, 0xffffffff, 0x107ff }, { 0x350, 0xffffffff, 0x1a7ff },
        { 0x360, 0xffffffff, 0x1a7ff }, { 0x370, 0xffffffff, 0x100ff },
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        apic_wr(rules[i].off, rules[i].written);
        assert_int_equal(apic_rd(rules[i].off), rules[i].reads);
    }
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0); // nothing reserved was touched
}

// SDM 11.4.7.2: software-disabled, every LVT is masked and stays so until written after
// the APIC is enabled again.
static void apic_software_disable_masks_the_lvt(void **state)
{
    (void)state;
    boot(128 * MIB);
    apic_wr(0xf0, 0xff);
    assert_int_equal(apic_rd(0x350), 0x18700);
    assert_int_equal(apic_rd(0x360), 0x18400);
    apic_wr(0x320, 0x20);
    assert_int_equal(apic_rd(0x320), 0x10020);
    apic_wr(0xf0, 0x1ff);
    assert_int_equal(apic_rd(0x350), 0x18700);
    apic_wr(0x350, 0x700);
    assert_int_equal(apic_rd(0x350), 0x700);
}

static void apic_esr_shows_errors_after_a_write(void **state)
{
    (void)state;
    boot(128 * MIB);
    assert_int_equal(apic_rd(0x40), 0); // a reserved register
    assert_int_equal(apic_rd(0x280), 0); // not shown before a write
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0x80); // illegal register address
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0);
    apic_wr(0x300, 0x00040005); // fixed, to self, vector 5: an illegal vector
    apic_wr(0x2f0, 0);          // no CMCI entry: reserved
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0xa0);
    assert_int_equal(apic_counts().other_ipis, 1);
    apic_wr(0x300, 0x000c4608); // a start-up IPI's vector is a page: no error
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0);
    assert_int_equal(in(&dev_lapic, APIC + 0x800, 4), 0); // beyond 0x3f0: reserved too
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0x80);
}

static void apic_odd_accesses(void **state)
{
    (void)state;
    boot(128 * MIB);
    out(&dev_lapic, APIC + 0x80, 1, 0x30); // not 4 bytes: dropped
    out(&dev_lapic, APIC + 0x80, 8, 0x30);
    out(&dev_lapic, APIC + 0x84, 4, 0x40); // not at the register's offset: dropped
    assert_int_equal(apic_rd(0x80), 0);
    assert_int_equal(in(&dev_lapic, APIC + 0xf1, 1), 0x01); // bytes of SVR 0x1ff
    assert_int_equal(in(&dev_lapic, APIC + 0xf0, 2), 0x1ff);
    assert_int_equal(in(&dev_lapic, APIC + 0x302, 2), 0x000c);
    assert_int_equal(in(&dev_lapic, APIC + 0x300, 8), 0); // 8 bytes: refused
    assert_int_equal(in(&dev_lapic, APIC + 0x304, 4), 0); // past the register's 4 bytes
    assert_int_equal(apic_counts().dropped, 5);
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0);
}

static void apic_timer_counts_down(void **state)
{
    (void)state;
    boot(128 * MIB);
    apic_wr(0x3e0, 0xb); // divide by 1: one count per ns
    apic_wr(0x320, 0x10020); // one-shot
    now = 1000;
    apic_wr(0x380, 1000);
    now = 1400;
    assert_int_equal(apic_rd(0x390), 600);
    now = 3000;
    assert_int_equal(apic_rd(0x390), 0);
    apic_wr(0x320, 0x30020); // periodic: reloads
    assert_int_equal(apic_rd(0x390), 1000);
    now = 3500;
    assert_int_equal(apic_rd(0x390), 500);
    apic_wr(0x3e0, 0x0); // divide by 2
    apic_wr(0x320, 0x10020);
    apic_wr(0x380, 1000);
    now = 3900;
    assert_int_equal(apic_rd(0x390), 800);
    apic_wr(0x3e0, 0xa); // divide by 128
    assert_int_equal(apic_rd(0x390), 997);
    apic_wr(0x390, 5); // the current count is read-only
    assert_int_equal(apic_rd(0x390), 997);
    apic_wr(0x380, 0); // stopped
    assert_int_equal(apic_rd(0x390), 0);
}

// --- The APIC under the CPU's APIC virtualisation (hv/exit/mmio.c) -------------------

static uint32_t page32(const uint8_t *page, unsigned off)
{
    uint32_t v;
    memcpy(&v, page + off, 4);
    return v;
}

// The virtual-APIC page holds what a 4-byte read of each register it virtualises gives,
// nothing at the offsets whose reads exit (PPR, the current count) or are reserved, and
// filling it reads no reserved offset (the ESR stays clean); disabled, all ones.
static void apic_virtual_page_from_the_model(void **state)
{
    (void)state;
    boot(128 * MIB);
    static uint8_t page[4096];
    memset(page, 0x5a, sizeof(page));
    apic_wr(0x80, 0x20);
    apic_wr(0x380, 1000);
    lapic_virtual_page(page);
    assert_int_equal(page32(page, 0x30), 0x50014);
    assert_int_equal(page32(page, 0x80), 0x20);
    assert_int_equal(page32(page, 0xf0), 0x1ff);
    assert_int_equal(page32(page, 0xe0), 0xffffffff);
    assert_int_equal(page32(page, 0x300), 0xc4610);
    assert_int_equal(page32(page, 0x350), 0x8700);
    assert_int_equal(page32(page, 0x380), 1000);
    static const unsigned not_there[] = { 0xa0, 0x390, 0x290, 0x2f0, 0x40, 0x3f0, 0x84, 0xf4 };
    for (size_t i = 0; i < sizeof(not_there) / sizeof(not_there[0]); i++)
        assert_int_equal(page32(page, not_there[i]), 0);
    apic_wr(0x280, 0);
    assert_int_equal(apic_rd(0x280), 0);
    assert_int_equal(apic_base_write(0xfee00100, 36), APIC_BASE_OK);
    lapic_virtual_page(page);
    assert_int_equal(page32(page, 0x30), 0xffffffff);
    assert_int_equal(page32(page, 0x90), 0); // APR: not a virtualised read
}

// What the CPU wrote into the page without an exit: the TPR and ICR high, as the CPU
// leaves them (bytes 3:1 of the TPR and bits 23:0 of ICR high clear; the model masks
// them again).
static void apic_takes_the_page(void **state)
{
    (void)state;
    boot(128 * MIB);
    static uint8_t page[4096];
    uint32_t icr_hi = 0x12345678;
    page[0x80] = 0x45;
    memcpy(page + 0x310, &icr_hi, 4);
    lapic_take_page(page);
    assert_int_equal(apic_rd(0x80), 0x45);
    assert_int_equal(lapic_tpr(), 0x45);
    assert_int_equal(apic_rd(0x310), 0x12000000);
    lapic_tpr_set(0x130); // CR8's path: 8 bits kept
    assert_int_equal(apic_rd(0x80), 0x30);
}

// An APIC-write exit's qualification (bits 11:0 the offset written at): a write at a
// register's offset is its 4 bytes from the page; one inside a register is a byte, which
// the model drops and counts.
static void apic_trapped_writes(void **state)
{
    (void)state;
    boot(128 * MIB);
    static uint8_t page[4096];
    uint32_t icr = 0xc4500, svr = 0x1ff;
    memcpy(page + 0x300, &icr, 4);
    memcpy(page + 0xf0, &svr, 4);
    page[0xf1] = 0; // a byte written at 0xf1 over the SVR's 0x1ff
    struct lapic_write w = lapic_trapped_write(0x300, page);
    assert_int_equal(w.offset, 0x300);
    assert_int_equal(w.size, 4);
    assert_int_equal(w.value, 0xc4500);
    w = lapic_trapped_write(0x10000 | 0xf1, page); // bits above 11 are not the offset
    assert_int_equal(w.offset, 0xf1);
    assert_int_equal(w.size, 1);
    assert_int_equal(w.value, 0);
    out(&dev_lapic, APIC + w.offset, w.size, w.value);
    assert_int_equal(apic_rd(0xf0), 0x1ff);
    assert_int_equal(apic_counts().dropped, 1);
    w = lapic_trapped_write(0xf0, page); // at the offset: the merged 4 bytes
    assert_int_equal(w.size, 4);
    assert_int_equal(w.value, 0xff);
}

static void apic_base_msr_rules(void **state)
{
    (void)state;
    boot(128 * MIB);
    static const uint64_t gp[] = { 0xfee00901, 0xfee00980, 0xfee00b00, 0xfee00d00,
                                   0x1000fee00900ull, 0x8000000000000000ull | 0xfee00900 };
    for (size_t i = 0; i < sizeof(gp) / sizeof(gp[0]); i++) {
        assert_int_equal(apic_base_write(gp[i], 36), APIC_BASE_GP);
        assert_int_equal(apic_base_read(), 0xfee00900);
    }
    // Bit 44 is an address bit with 46 bits of physical address, reserved with 36.
    assert_int_equal(apic_base_write(0x100000000900ull | 0xfee00000, 36), APIC_BASE_GP);
    assert_int_equal(apic_base_write(0x100000000900ull | 0xfee00000, 46), APIC_BASE_MOVED);
    assert_int_equal(apic_base_write(0xfed00900, 36), APIC_BASE_MOVED);
    assert_int_equal(apic_base_read(), 0xfee00900);
    // Disabled, it may sit anywhere: it answers nowhere.
    assert_int_equal(apic_base_write(0, 36), APIC_BASE_OK);
    assert_int_equal(apic_base_read(), 0);
    assert_int_equal(apic_rd(0x30), 0xffffffff);
    assert_int_equal(apic_base_write(0xfed00100, 36), APIC_BASE_OK);
    assert_int_equal(apic_base_write(0xfee00900, 36), APIC_BASE_OK);
    assert_int_equal(apic_rd(0x30), 0x50014);
    assert_int_equal(apic_base_write(0xfee00800, 36), APIC_BASE_OK); // BSP is writable
    assert_int_equal(apic_base_read(), 0xfee00800);
    // Disabled, the page answers nothing; enabled again, the registers are as they were.
    apic_wr(0x80, 0x40);
    assert_int_equal(apic_base_write(0xfee00000, 36), APIC_BASE_OK);
    assert_int_equal(apic_rd(0x80), 0xffffffff);
    assert_int_equal(in(&dev_lapic, APIC + 0x80, 1), 0xff);
    apic_wr(0x80, 0x10);
    assert_int_equal(apic_counts().dropped, 0);
    assert_int_equal(apic_base_write(0xfee00900, 36), APIC_BASE_OK);
    assert_int_equal(apic_rd(0x80), 0x40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_name_their_ports),
        cmocka_unit_test(fw_cfg_and_cmos_as_qemu_gave_them),
        cmocka_unit_test(cmos_memory_above_4g),
        cmocka_unit_test(fw_cfg_streams_an_item_and_zeroes_after),
        cmocka_unit_test(fw_cfg_selects_only_with_a_16_bit_write),
        cmocka_unit_test(pics_as_seabios_leaves_them),
        cmocka_unit_test(pic_initialisation_and_operation),
        cmocka_unit_test(pit_after_reset),
        cmocka_unit_test(pit_channel2_calibration_ends),
        cmocka_unit_test(pit_counts_latches_and_gates),
        cmocka_unit_test(pit_modes),
        cmocka_unit_test(pit_without_a_clock),
        cmocka_unit_test(cmos_registers),
        cmocka_unit_test(cmos_clock_runs_from_a_fixed_date),
        cmocka_unit_test(cmos_update_flags),
        cmocka_unit_test(cmos_clock_can_be_set),
        cmocka_unit_test(pci_has_no_devices),
        cmocka_unit_test(pci_reset_port),
        cmocka_unit_test(bochs_shutdown_port),
        cmocka_unit_test(apic_as_seabios_leaves_it),
        cmocka_unit_test(apic_sequence_of_the_startup_kernel),
        cmocka_unit_test(apic_register_rules),
        cmocka_unit_test(apic_software_disable_masks_the_lvt),
        cmocka_unit_test(apic_esr_shows_errors_after_a_write),
        cmocka_unit_test(apic_odd_accesses),
        cmocka_unit_test(apic_timer_counts_down),
        cmocka_unit_test(apic_base_msr_rules),
        cmocka_unit_test(apic_virtual_page_from_the_model),
        cmocka_unit_test(apic_takes_the_page),
        cmocka_unit_test(apic_trapped_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
