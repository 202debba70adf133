// dev.c: the table of the devices a guest reaches, and the two dispatchers every guest
// access to a port or to device memory goes through (ACRN's io_req table, Firecracker's
// bus). handle_io() (hv/exit/io.c) calls dev_pio() for each IN and OUT; dev_mmio()
// serves the exits that reach device memory. hv/run/guest.c calls dev_reset_all()
// before each guest run and dev_end_all() after it. Keeps the counts of the current
// run, nothing else.
#include "dev.h"

// Every device a guest can reach, each defined in its own file (dev.h names them):
// QEMU's pc machine as docs/guest-abi.md section 14 lists it, for every guest.
// tests/unit/test_dev.c holds the table to dev_table_clash(). dispatch() scans it in
// order: the ports guests use most come first.
const struct dev *const devices[] = {
    &dev_com1,
    &dev_debug_exit,
    &dev_lapic,
    &dev_pic_master,
    &dev_pic_slave,
    &dev_pit,
    &dev_port61,
    &dev_cmos,
    &dev_fw_cfg,
    &dev_pci_conf,
    &dev_elcr,
    &dev_i8042,
    &dev_bochs_shutdown,
};
const size_t ndevices = ARRAY_SIZE(devices);

// The run's counts: one per guest access, under the device that claims its first
// port or address, however dev.c splits it; or as unclaimed, with the first
// UNCLAIMED_KEPT distinct ports and pages nobody claimed.
#define UNCLAIMED_KEPT 16
static struct dev_counts counts[ARRAY_SIZE(devices)], unclaimed;
static struct dev_unclaimed unclaimed_seen[UNCLAIMED_KEPT];
static unsigned nunclaimed_seen;

void dev_reset_all(const struct dev_machine *m)
{
    for (size_t i = 0; i < ndevices; i++)
        devices[i]->reset(m);
    memset(counts, 0, sizeof(counts));
    memset(&unclaimed, 0, sizeof(unclaimed));
    nunclaimed_seen = 0;
}

void dev_end_all(void)
{
    for (size_t i = 0; i < ndevices; i++)
        if (devices[i]->end)
            devices[i]->end();
}

static void count(struct dev_counts *c, bool write)
{
    if (write)
        c->writes++;
    else
        c->reads++;
}

// Nobody claims addr: counted, and kept by port (or by 4 KiB page) while there is room.
static void count_unclaimed(enum dev_space space, uint64_t addr, bool write)
{
    uint64_t key = space == DEV_MMIO ? addr & ~0xfffull : addr;
    count(&unclaimed, write);
    for (unsigned i = 0; i < nunclaimed_seen; i++) {
        if (unclaimed_seen[i].space == space && unclaimed_seen[i].addr == key) {
            count(&unclaimed_seen[i].counts, write);
            return;
        }
    }
    if (nunclaimed_seen < UNCLAIMED_KEPT) {
        unclaimed_seen[nunclaimed_seen] = (struct dev_unclaimed){ .space = space, .addr = key };
        count(&unclaimed_seen[nunclaimed_seen++].counts, write);
    }
}

// The largest width in sizes (bit n: 2^n bytes) below size, or 0.
static unsigned widest_below(uint8_t sizes, unsigned size)
{
    unsigned w = 0;
    for (unsigned n = 1; n < size; n <<= 1)
        if (sizes & n)
            w = n;
    return w;
}

// One guest access of size bytes at addr. The device that claims addr takes it whole
// where it takes the width (and where it takes no narrower one: it judges the access
// itself); otherwise it gets pieces of the widest width it takes, at consecutive
// offsets, low byte first, as QEMU splits an access to its byte-wide 16550 (QEMU's
// memory.c, access_with_adjusted_size()). A piece past the device's end reaches
// nobody: it reads all ones. Nobody claims addr: reads give all ones, writes are
// dropped (an empty ISA bus; the same for unclaimed memory).
static size_t find(enum dev_space space, uint64_t addr)
{
    size_t i = 0;
    while (i < ndevices && (devices[i]->space != space || addr - devices[i]->base >=
                                                             devices[i]->len))
        i++;
    return i;
}

const struct dev *dev_claiming(enum dev_space space, uint64_t addr)
{
    size_t i = find(space, addr);
    return i < ndevices ? devices[i] : NULL;
}

static const struct dev *dispatch(enum dev_space space, uint64_t addr, unsigned size,
                                  bool write, uint64_t *value)
{
    uint64_t ones = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    size_t i = find(space, addr);
    if (i == ndevices) {
        count_unclaimed(space, addr, write);
        if (!write)
            *value = ones;
        return NULL;
    }
    const struct dev *d = devices[i];
    uint64_t offset = addr - d->base;
    unsigned piece = widest_below(d->sizes, size);
    count(&counts[i], write);
    if ((d->sizes & size) || !piece) {
        if (write)
            d->write(offset, size, *value & ones);
        else
            *value = d->read(offset, size) & ones;
        return d;
    }
    uint64_t piece_ones = (1ull << (8 * piece)) - 1, merged = 0;
    for (unsigned at = 0; at < size; at += piece) {
        uint64_t v = piece_ones; // past the device's end, nobody answers
        if (offset + at < d->len && write)
            d->write(offset + at, piece, (*value >> (8 * at)) & piece_ones);
        else if (offset + at < d->len)
            v = d->read(offset + at, piece) & piece_ones;
        merged |= v << (8 * at);
    }
    if (!write)
        *value = merged;
    return d;
}

const struct dev *dev_pio(uint16_t port, unsigned size, bool write, uint64_t *value)
{
    return dispatch(DEV_PIO, port, size, write, value);
}

const struct dev *dev_mmio(uint64_t gpa, unsigned size, bool write, uint64_t *value)
{
    return dispatch(DEV_MMIO, gpa, size, write, value);
}

// A device with no ports or no widths, or one whose range wraps, clashes with itself.
const struct dev *dev_clash(const struct dev *const *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct dev *d = table[i];
        if (!d->len || !d->sizes || d->base + d->len < d->base)
            return d;
        for (size_t j = 0; j < i; j++) {
            const struct dev *e = table[j];
            if (e->space == d->space && e->base < d->base + d->len &&
                d->base < e->base + e->len)
                return e;
        }
    }
    return NULL;
}

const struct dev *dev_table_clash(void)
{
    return dev_clash(devices, ndevices);
}

void dev_counts_get(struct dev_counts *per_device, struct dev_counts *unclaimed_out)
{
    memcpy(per_device, counts, sizeof(counts));
    *unclaimed_out = unclaimed;
}

unsigned dev_unclaimed_list(struct dev_unclaimed *out, unsigned max)
{
    unsigned n = nunclaimed_seen < max ? nunclaimed_seen : max;
    memcpy(out, unclaimed_seen, n * sizeof(*out));
    return n;
}

static const char *space_name(enum dev_space s) { return s == DEV_PIO ? "port" : "page"; }

int dev_counts_json(char *buf, size_t size)
{
    int n = appendf(buf, size, 0, "\"devices\":{");
    const char *sep = "";
    for (size_t i = 0; i < ndevices; i++) {
        if (!counts[i].reads && !counts[i].writes)
            continue;
        n = appendf(buf, size, n, "%s\"%s\":[%lu,%lu]", sep, devices[i]->name,
                   counts[i].reads, counts[i].writes);
        sep = ",";
    }
    n = appendf(buf, size, n, "},\"unclaimed\":[%lu,%lu],\"unclaimed_at\":[", unclaimed.reads,
               unclaimed.writes);
    for (unsigned i = 0; i < nunclaimed_seen; i++)
        n = appendf(buf, size, n, "%s\"%s 0x%lx\"", i ? "," : "",
                   space_name(unclaimed_seen[i].space), unclaimed_seen[i].addr);
    return appendf(buf, size, n, "]");
}

// "N reads, M writes", without a count of 0.
static int append_rw(char *buf, size_t size, int n, const struct dev_counts *c)
{
    if (c->reads)
        n = appendf(buf, size, n, "%lu read%s", c->reads, c->reads == 1 ? "" : "s");
    if (c->writes)
        n = appendf(buf, size, n, "%s%lu write%s", c->reads ? ", " : "", c->writes,
                   c->writes == 1 ? "" : "s");
    return n;
}

int dev_counts_text(char *buf, size_t size)
{
    int n = 0;
    if (size)
        buf[0] = '\0';
    const char *sep = "";
    for (size_t i = 0; i < ndevices; i++) {
        if (!counts[i].reads && !counts[i].writes)
            continue;
        n = appendf(buf, size, n, "%s%s (", sep, devices[i]->name);
        n = appendf(buf, size, append_rw(buf, size, n, &counts[i]), ")");
        sep = ", ";
    }
    if (!unclaimed.reads && !unclaimed.writes)
        return n;
    n = appendf(buf, size, n, "%snobody claims ", n ? "; " : "");
    uint64_t listed = 0;
    for (unsigned i = 0; i < nunclaimed_seen; i++) {
        const struct dev_unclaimed *u = &unclaimed_seen[i];
        n = appendf(buf, size, n, "%s%s 0x%lx (", i ? ", " : "", space_name(u->space), u->addr);
        n = appendf(buf, size, append_rw(buf, size, n, &u->counts), ")");
        listed += u->counts.reads + u->counts.writes;
    }
    uint64_t more = unclaimed.reads + unclaimed.writes - listed;
    if (more)
        n = appendf(buf, size, n, " and %lu more access%s to other ports or pages", more,
                   more == 1 ? "" : "es");
    return n;
}

int dev_wake_sources(char *buf, size_t size)
{
    int n = 0;
    unsigned mode, vector;
    if (size)
        buf[0] = '\0';
    if (pit_irq0_armed(&mode) && pic_unmasked(0))
        n = appendf(buf, size, n, "IRQ 0 (the PIT's channel 0, mode %u)", mode);
    if (uart_irq_enables() && pic_unmasked(4))
        n = appendf(buf, size, n, "%sIRQ 4 (COM1, IER 0x%x)", n ? ", " : "", uart_irq_enables());
    if (cmos_irq_enables() && pic_unmasked(8))
        n = appendf(buf, size, n, "%sIRQ 8 (the clock, register B interrupts 0x%x)",
                   n ? ", " : "", cmos_irq_enables());
    if (lapic_timer_armed(&vector))
        n = appendf(buf, size, n, "%sthe APIC timer (vector 0x%x)", n ? ", " : "", vector);
    return n;
}
