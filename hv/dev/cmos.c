// cmos.c: the MC146818 real-time clock and its 128 bytes of CMOS at 0x70 (index; bit 7
// disables NMIs and is no part of the index) and 0x71 (data) (Motorola MC146818A data
// sheet; QEMU hw/rtc/mc146818rtc.c). The BIOS's memory-size bytes are QEMU's
// (hw/i386/pc.c pc_cmos_init()); the clock starts at 2024-01-01 00:00:00 when the run
// starts and runs with the guest's time, so that what a kernel prints of it does not
// depend on the host's. No interrupt is raised. dev.c calls it through dev_cmos.
#include "dev.h"

#define KIB 1024ull
#define MIB (1024 * KIB)
#define NS 1000000000ull

// Registers (data sheet, "Address Map"; QEMU's names).
#define REG_SEC 0x00
#define REG_MIN 0x02
#define REG_HOUR 0x04
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32 // QEMU's (the "IBM PS/2" byte 0x37 is plain CMOS here, as there)
#define A_UIP 0x80       // update in progress (read-only)
#define B_24H 0x02       // hours 0-23, else 1-12 with bit 7 for PM
#define B_BINARY 0x04    // binary values, else BCD
#define B_INTS 0x70      // the periodic, alarm and update-ended interrupt enables
#define C_IRQF 0x80
#define C_UF 0x10        // an update ended since C was last read
#define D_VRT 0x80       // valid RAM and time: the battery is good

#define START_DAYS 19723ull // 2024-01-01, in days since 1970-01-01 (a Monday)

static uint8_t cmos[128];
static uint8_t index;
static bool nmi_disabled; // kept: no NMI is ever delivered to cut off
static uint64_t (*clock)(void);
static uint64_t start;       // the clock's seconds since 1970 when the run began
static uint64_t c_read_at;   // the second of the last read of register C

// QEMU's pc machine keeps at most 3.5 GiB below 4 GiB; with 3.5 GiB of RAM or more it
// keeps 3 GiB there and puts the rest at 4 GiB (hw/i386/pc_piix.c, gigabyte alignment).
uint64_t pc_ram_below_4g(uint64_t ram_size)
{
    return ram_size >= 0xe0000000ull ? 0xc0000000ull : ram_size;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void put16(unsigned reg, uint64_t v)
{
    cmos[reg] = (uint8_t)v;
    cmos[reg + 1] = (uint8_t)(v >> 8);
}

static void cmos_reset(const struct dev_machine *m)
{
    uint64_t below = pc_ram_below_4g(m->ram_size), above = m->ram_size - below;
    memset(cmos, 0, sizeof(cmos));
    index = 0;
    nmi_disabled = false;
    clock = m->now_ns;
    start = START_DAYS * 86400;
    c_read_at = start;
    cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    cmos[REG_B] = B_24H; // BCD, 24 hours (QEMU's)
    cmos[REG_D] = D_VRT;
    cmos[0x14] = 0x02;   // equipment: a math coprocessor; no floppy drive, no PS/2 mouse
    cmos[0x37] = 0x20;   // as QEMU 7.2 shows it (measured)
    // The memory sizes as pc_cmos_init() writes them: base memory in KiB, KiB above
    // 1 MiB (twice, at most 65535), 64 KiB units above 16 MiB below 4 GiB (at most
    // 65535) and above 4 GiB (24 bits). QEMU computes no checksum at 0x2e-0x2f.
    put16(0x15, min_u64(below / KIB, 640));
    uint64_t ext = below > MIB ? min_u64((below - MIB) / KIB, 0xffff) : 0;
    put16(0x17, ext);
    put16(0x30, ext);
    put16(0x34, below > 16 * MIB ? min_u64((below - 16 * MIB) / (64 * KIB), 0xffff) : 0);
    put16(0x5b, above / (64 * KIB));
    cmos[0x5d] = (uint8_t)(above / (64 * KIB) >> 16);
}

// --- The clock: seconds since 1970-01-01 and the calendar -----------------------------

static uint64_t now_ns(void) { return dev_now(clock); }
static uint64_t seconds(void) { return start + now_ns() / NS; }

// Civil dates from days since 1970-01-01 and back, for the proleptic Gregorian calendar
// in its 400-year cycles of 146097 days; years counted from March, so that February's
// leap day ends the year (the method of H. Hinnant's "chrono-compatible low-level date
// algorithms").
struct date {
    uint64_t year;
    unsigned month, day; // 1-12, 1-31
};

static struct date from_days(uint64_t days)
{
    uint64_t z = days + 719468, era = z / 146097, doe = z % 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    return (struct date){ era * 400 + yoe + (month <= 2), month,
                          (unsigned)(doy - (153 * mp + 2) / 5 + 1) };
}

// Days since 1970-01-01 of a date from 1970 on; false for one before.
static bool to_days(struct date d, uint64_t *days)
{
    uint64_t y = d.year - (d.month <= 2);
    if (d.year < 1970 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31)
        return false;
    uint64_t era = y / 400, yoe = y % 400;
    uint64_t doy = (153 * (d.month > 2 ? d.month - 3 : d.month + 9) + 2) / 5 + d.day - 1;
    uint64_t z = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
    if (z < 719468)
        return false;
    *days = z - 719468;
    return true;
}

static uint8_t encode(unsigned v)
{
    return cmos[REG_B] & B_BINARY ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned decode(uint8_t v)
{
    return cmos[REG_B] & B_BINARY ? v : (v >> 4) * 10 + (v & 15);
}

static uint8_t clock_read(unsigned reg)
{
    uint64_t s = seconds(), days = s / 86400;
    unsigned sod = (unsigned)(s % 86400), hour = sod / 3600;
    struct date d = from_days(days);
    switch (reg) {
    case REG_SEC: return encode(sod % 60);
    case REG_MIN: return encode(sod / 60 % 60);
    case REG_HOUR:
        if (cmos[REG_B] & B_24H)
            return encode(hour);
        return (uint8_t)(encode(hour % 12 ? hour % 12 : 12) | (hour >= 12) << 7);
    case REG_WDAY: return encode((unsigned)((days + 4) % 7 + 1)); // 1970-01-01: Thursday (5)
    case REG_MDAY: return encode(d.day);
    case REG_MON: return encode(d.month);
    case REG_YEAR: return encode((unsigned)(d.year % 100));
    default: return encode((unsigned)(d.year / 100 % 100)); // REG_CENTURY
    }
}

// A write to a time or date register sets the clock from then on (the day of the week
// follows from the date; a date before 1970 is not taken).
static void clock_write(unsigned reg, uint8_t v)
{
    uint64_t s = seconds(), days = s / 86400;
    unsigned sod = (unsigned)(s % 86400), hour = sod / 3600, min = sod / 60 % 60, sec = sod % 60;
    struct date d = from_days(days);
    unsigned x = decode(v & (reg == REG_HOUR ? 0x7f : 0xff));
    switch (reg) {
    case REG_SEC: sec = x % 60; break;
    case REG_MIN: min = x % 60; break;
    case REG_HOUR:
        if (cmos[REG_B] & B_24H)
            hour = x % 24;
        else
            hour = x % 12 + (v & 0x80 ? 12 : 0);
        break;
    case REG_WDAY: return;
    case REG_MDAY: d.day = x; break;
    case REG_MON: d.month = x; break;
    case REG_YEAR: d.year = d.year / 100 * 100 + x % 100; break;
    default: d.year = d.year % 100 + 100 * (uint64_t)x; break; // REG_CENTURY
    }
    if (!to_days(d, &days))
        return;
    uint64_t t = days * 86400 + hour * 3600 + min * 60 + sec, run = now_ns() / NS;
    if (t >= run) // else the clock would have begun before 1970
        start = t - run;
}

// The registers the clock answers; the alarms (1, 3, 5) are plain CMOS here.
static bool is_time(unsigned reg)
{
    return (reg <= REG_YEAR && reg != 1 && reg != 3 && reg != 5) || reg == REG_CENTURY;
}

// --- The ports --------------------------------------------------------------------------

static uint8_t data_read(void)
{
    if (is_time(index))
        return clock_read(index);
    if (index == REG_A) {
        // UIP is set for the last 244 us of each second, before the registers change: a
        // reader that sees it clear has that long to read them (data sheet, "Update
        // Cycle"), one that waits for it to fall sees a new second begin.
        bool uip = now_ns() % NS >= NS - 244000;
        return (uint8_t)(cmos[REG_A] | (uip ? A_UIP : 0));
    }
    if (index == REG_C) {
        // Reading C clears it. Of its flags only UF is kept: a second ended since the
        // last read (QEMU sets it so too); IRQF if UF's interrupt is enabled.
        uint64_t s = seconds();
        uint8_t c = s != c_read_at ? C_UF : 0;
        c_read_at = s;
        return (uint8_t)(c | ((c & cmos[REG_B] & B_INTS) ? C_IRQF : 0));
    }
    return cmos[index];
}

static void data_write(uint8_t v)
{
    if (is_time(index))
        clock_write(index, v);
    else if (index == REG_A)
        cmos[REG_A] = v & ~A_UIP;
    else if (index != REG_C && index != REG_D) // C and D are read-only
        cmos[index] = v;
}

// Register B's periodic, alarm and update-ended interrupt enables: IRQ 8's sources.
uint8_t cmos_irq_enables(void) { return cmos[REG_B] & B_INTS; }

// The index port reads 0xff, as QEMU's does (measured).
static uint64_t cmos_read(uint64_t off, unsigned size)
{
    (void)size;
    return off ? data_read() : 0xff;
}

static void cmos_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)size;
    if (off) {
        data_write((uint8_t)v);
    } else {
        index = v & 0x7f;
        nmi_disabled = v & 0x80;
    }
}

const struct dev dev_cmos = {
    .name = "cmos", .space = DEV_PIO, .base = 0x70, .len = 2, .sizes = 1,
    .read = cmos_read, .write = cmos_write, .reset = cmos_reset,
};
