// pit.c: the 8254 interval timer at 0x40-0x43 (Intel 82C54 data sheet: control word,
// latch and read-back commands, modes 0-5) and port 0x61, where a PC gates channel 2
// (bit 0) and reads its output OUT2 (bit 5; QEMU hw/audio/pcspk.c). The counters run at
// 1.193182 MHz (QEMU's PIT_FREQ) on the guest's time, so a kernel that polls port 0x61
// for OUT2 to time its TSC sees the count end. No interrupt is raised. dev.c calls it
// through dev_pit and dev_port61; the resets leave what SeaBIOS leaves.
#include "dev.h"

#define PIT_HZ 1193182ull
#define NS 1000000000ull

struct channel {
    uint32_t count;       // loaded, 1 to 0x10000 (a 0 written counts 65536)
    uint64_t start;       // the tick it started counting from
    uint64_t frozen;      // the ticks it had counted when its gate went low
    bool counting;        // a count was loaded after the last control word
    bool gate;            // GATE: high for channels 0 and 1, port 0x61 bit 0 for 2
    uint8_t mode, rw, bcd; // control word: mode 0-5; access 1 LSB, 2 MSB, 3 LSB then MSB
    uint8_t lsb;          // rw 3: the LSB written, until the MSB comes
    bool msb_next_write, msb_next_read;
    uint16_t latch;       // a latched count, and how many of its bytes remain
    uint8_t latched;
    uint8_t status;       // a latched status byte (read-back command)
    bool status_latched;
};

static struct channel ch[3];
static uint64_t (*clock)(void);
static bool speaker;    // port 0x61 bit 1: the speaker's data enable
static uint8_t refresh; // port 0x61 bit 4

// Guest time in PIT ticks, without overflow for 2^64 ns.
static uint64_t ticks(void)
{
    uint64_t ns = dev_now(clock);
    return ns / NS * PIT_HZ + ns % NS * PIT_HZ / NS;
}

// Modes 0 and 4 pause while GATE is low; modes 2 and 3 stop and reload when it rises
// (data sheet, "GATE Pin Operations Summary"); modes 1 and 5 only start on its edge.
static bool gate_stops(const struct channel *c) { return c->mode != 1 && c->mode != 5; }

static uint64_t elapsed(const struct channel *c, uint64_t now)
{
    return !c->gate && gate_stops(c) ? c->frozen : now - c->start;
}

// The counting element after d ticks. Modes 0, 1, 4, 5 count down once and wrap on past
// 0; mode 2 reloads after 1; mode 3 counts down by 2 twice per period (QEMU's pit_get_count).
static uint16_t counter(const struct channel *c, uint64_t d)
{
    switch (c->mode) {
    case 2:
        return (uint16_t)(c->count - d % c->count);
    case 3:
        return (uint16_t)(c->count - 2 * d % c->count) & 0xfffe;
    default:
        return (uint16_t)(c->count - d);
    }
}

// OUT after d ticks (data sheet, each mode's waveform). Before a count is loaded, OUT is
// low in mode 0 and high in the others; in modes 2 and 3 a low GATE holds it high.
static bool out(const struct channel *c, uint64_t d)
{
    if (!c->counting)
        return c->mode != 0;
    switch (c->mode) {
    case 0: case 1:
        return d >= c->count; // goes high at terminal count and stays high
    case 2:
        return !c->gate || d % c->count != c->count - 1u; // low for the clock at count 1
    case 3:
        return !c->gate || d % c->count < (c->count + 1) / 2; // high for the first half
    default:
        return d != c->count; // modes 4, 5: low for one clock at terminal count
    }
}

static void load(struct channel *c, uint32_t v)
{
    c->count = v ? v : 0x10000;
    c->start = ticks();
    c->frozen = 0;
    c->counting = true;
}

static void pit_reset(const struct dev_machine *m)
{
    clock = m->now_ns;
    for (int i = 0; i < 3; i++) {
        // Power-on: mode 3, 65536 (QEMU's pit_reset). SeaBIOS then sets channel 0 to
        // mode 2, LSB then MSB, 65536 (measured: read-back status 0x34). Channel 2's
        // gate is port 0x61 bit 0, which SeaBIOS leaves 0.
        ch[i] = (struct channel){ .mode = i ? 3 : 2, .rw = 3, .gate = i != 2 };
        load(&ch[i], 0);
    }
}

static void latch_count(struct channel *c, uint64_t now)
{
    if (c->latched) // a second latch before the first is read is ignored
        return;
    c->latch = counter(c, elapsed(c, now));
    c->latched = c->rw == 3 ? 2 : 1;
    c->msb_next_read = false;
}

static uint8_t read_counter(struct channel *c)
{
    uint64_t now = ticks();
    if (c->status_latched) { // a latched status comes before a latched count
        c->status_latched = false;
        return c->status;
    }
    uint16_t v;
    if (c->latched) {
        v = c->latch;
        c->latched--;
    } else {
        v = counter(c, elapsed(c, now));
    }
    bool msb = c->rw == 2 || (c->rw == 3 && c->msb_next_read);
    if (c->rw == 3)
        c->msb_next_read = !c->msb_next_read;
    return msb ? v >> 8 : v & 0xff;
}

static void write_counter(struct channel *c, uint8_t v)
{
    if (c->rw == 1) {
        load(c, v);
    } else if (c->rw == 2) {
        load(c, (uint32_t)v << 8);
    } else if (!c->msb_next_write) {
        c->lsb = v;
        c->msb_next_write = true;
    } else {
        load(c, c->lsb | (uint32_t)v << 8);
        c->msb_next_write = false;
    }
}

static void control_word(uint8_t v)
{
    uint64_t now = ticks();
    unsigned sc = v >> 6, rw = (v >> 4) & 3;
    if (sc == 3) {
        // Read-back: bits 1-3 pick the channels; bit 5 clear latches their counts, bit 4
        // clear their status (data sheet, "Read-Back Command").
        for (int i = 0; i < 3; i++) {
            struct channel *c = &ch[i];
            if (!(v & (2 << i)))
                continue;
            if (!(v & 0x20))
                latch_count(c, now);
            if (!(v & 0x10) && !c->status_latched) {
                c->status = (uint8_t)(out(c, elapsed(c, now)) << 7 | !c->counting << 6 |
                                      c->rw << 4 | c->mode << 1 | c->bcd);
                c->status_latched = true;
            }
        }
        return;
    }
    struct channel *c = &ch[sc];
    if (rw == 0) {
        latch_count(c, now);
        return;
    }
    // A new mode: the counter waits for its count. Modes 6 and 7 are 2 and 3. BCD
    // counting is kept in the status but the count runs in binary, as in QEMU.
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;
    c->bcd = v & 1;
    c->counting = false;
    c->msb_next_write = c->msb_next_read = false;
}

static uint64_t pit_read(uint64_t off, unsigned size)
{
    (void)size;
    return off < 3 ? read_counter(&ch[off]) : 0; // the control word reads 0 in QEMU
}

static void pit_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)size;
    if (off < 3)
        write_counter(&ch[off], (uint8_t)v);
    else
        control_word((uint8_t)v);
}

// Channel 0 drives IRQ 0: counting (a count loaded, its gate high), it would raise one.
bool pit_irq0_armed(unsigned *mode)
{
    *mode = ch[0].mode;
    return ch[0].counting && ch[0].gate;
}

// Channel 2's gate from port 0x61 bit 0: a rising edge restarts modes 1, 2, 3 and 5 and
// resumes modes 0 and 4 where they paused.
static void set_gate2(bool level)
{
    struct channel *c = &ch[2];
    uint64_t now = ticks();
    if (level == c->gate)
        return;
    if (!level)
        c->frozen = now - c->start;
    else if (c->mode == 0 || c->mode == 4)
        c->start = now - c->frozen;
    else
        c->start = now;
    c->gate = level;
}

// Port 0x61 reads GATE2 (bit 0), the speaker enable (1), the refresh clock (4, which
// flips at every read, as QEMU's does) and OUT2 (5); the parity and channel check bits
// (2, 3, 6, 7) read 0.
static uint64_t port61_read(uint64_t off, unsigned size)
{
    (void)off;
    (void)size;
    struct channel *c = &ch[2];
    refresh ^= 0x10;
    return (unsigned)c->gate | (unsigned)speaker << 1 | refresh |
           (unsigned)out(c, elapsed(c, ticks())) << 5;
}

static void port61_reset(const struct dev_machine *m)
{
    (void)m;
    speaker = false; // channel 2's gate, bit 0, is pit_reset()'s
    refresh = 0;
}

static void port61_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)off;
    (void)size;
    set_gate2(v & 1);
    speaker = v & 2;
}

const struct dev dev_pit = {
    .name = "pit", .space = DEV_PIO, .base = 0x40, .len = 4, .sizes = 1,
    .read = pit_read, .write = pit_write, .reset = pit_reset,
};
const struct dev dev_port61 = {
    .name = "port-0x61", .space = DEV_PIO, .base = 0x61, .len = 1, .sizes = 1,
    .read = port61_read, .write = port61_write, .reset = port61_reset,
};
