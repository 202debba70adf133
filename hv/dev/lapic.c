// lapic.c: the local APIC's registers in the xAPIC page at 0xfee00000 (SDM 3A 11.4-11.6,
// 11.8.3.1; KVM's arch/x86/kvm/lapic.c) and IA32_APIC_BASE's rules for the MSR exit. An
// access is read(offset, size) or write(offset, size, value), however it arrived (decoded
// after an EPT violation or shadow #PF, or trapped after APIC-register virtualisation).
// Nothing is delivered: IRR, ISR and TMR read 0, the timer fires nothing. dev.c calls it
// through dev_lapic; reset() leaves what SeaBIOS leaves under QEMU 7.2 (measured).
#include "dev.h"

// SDM 3A Table 11-1 (Local APIC Register Address Map).
#define APIC_ID 0x020
#define APIC_VERSION 0x030
#define APIC_TPR 0x080
#define APIC_APR 0x090
#define APIC_PPR 0x0a0
#define APIC_EOI 0x0b0
#define APIC_RRD 0x0c0
#define APIC_LDR 0x0d0
#define APIC_DFR 0x0e0
#define APIC_SVR 0x0f0
#define APIC_ISR 0x100 // ISR, TMR, IRR: eight registers each, to 0x270
#define APIC_ESR 0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320 // then thermal, performance, LINT0, LINT1, error, to 0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0

// Version 0x14 (an integrated APIC), 6 LVT entries (bits 23:16 = 5), no EOI-broadcast
// suppression (bit 24): QEMU's and KVM's without CMCI.
#define VERSION 0x00050014u
#define SVR_ENABLE (1u << 8) // software enable
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define ICR_BUSY (1u << 12)  // delivery status: send pending
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_ILLEGAL_REG (1u << 7)
#define NLVT 6

// The bits an LVT entry keeps (SDM 3A Figure 11-8): the vector and mask everywhere, the
// delivery mode (10:8) but for the timer and error entries, polarity (13) and trigger
// mode (15) on LINT0/1, periodic mode (17) on the timer (TSC-deadline mode is not
// offered). The delivery status (12) and remote IRR (14) are read-only, and 0 here.
static const uint32_t lvt_bits[NLVT] = {
    0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff,
};

static struct lapic {
    uint64_t base; // IA32_APIC_BASE
    uint32_t tpr, ldr, dfr, svr, icr_lo, icr_hi, lvt[NLVT], tmict, tdcr;
    uint32_t esr, esr_pending; // the errors a read shows, those since the last write
    uint64_t timer_start;      // the time TMICT was written, in ns
} apic;
static struct lapic_counts counts;
static uint64_t (*clock)(void);

static void lapic_reset(const struct dev_machine *m)
{
    clock = m->now_ns;
    memset(&counts, 0, sizeof(counts));
    // SeaBIOS leaves the APIC software-enabled with LINT0 as ExtINT (level) and LINT1 as
    // NMI, and its own start-up IPI, vector 0x10, in the ICR; the SDM's power-on state
    // (SVR 0xff, every LVT masked, ICR 0) is not what a kernel under QEMU sees.
    apic = (struct lapic){
        .base = APIC_BASE_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP,
        .dfr = 0xffffffff, .svr = 0x1ff, .icr_lo = 0x000c4610,
        .lvt = { LVT_MASKED, LVT_MASKED, LVT_MASKED, 0x8700, 0x8400, LVT_MASKED },
    };
}

void lapic_counts_get(struct lapic_counts *out) { *out = counts; }


// --- The timer: a 1 GHz bus clock (KVM's and QEMU's) through the divider ----------------

static unsigned divide_shift(void)
{
    // TDCR bits 3, 1:0 (SDM 3A Figure 11-10): 000 divides by 2 ... 110 by 128, 111 by 1.
    unsigned v = (apic.tdcr & 3) | (apic.tdcr & 8) >> 1;
    return (v + 1) & 7;
}

// The current count: one-shot runs down to 0 and stays; periodic reloads from the
// initial count. A change of the divider counts from the start as if it had always been.
static uint32_t current_count(void)
{
    if (!apic.tmict)
        return 0;
    uint64_t d = (dev_now(clock) - apic.timer_start) >> divide_shift();
    if (apic.lvt[0] & LVT_PERIODIC)
        return apic.tmict - (uint32_t)(d % apic.tmict);
    return d >= apic.tmict ? 0 : apic.tmict - (uint32_t)d;
}

// The timer would interrupt: the APIC enabled (both ways), its LVT entry unmasked, a
// count running (periodic, or one-shot not yet at 0). *vector is the entry's.
bool lapic_timer_armed(unsigned *vector)
{
    *vector = apic.lvt[0] & 0xff;
    return (apic.base & APIC_BASE_EN) && (apic.svr & SVR_ENABLE) &&
           !(apic.lvt[0] & LVT_MASKED) && apic.tmict &&
           ((apic.lvt[0] & LVT_PERIODIC) || current_count());
}

// --- Registers ------------------------------------------------------------------------

static uint32_t reg_read(unsigned reg)
{
    if (reg >= APIC_LVT_TIMER && reg < APIC_LVT_TIMER + 0x10 * NLVT)
        return apic.lvt[(reg - APIC_LVT_TIMER) >> 4];
    if (reg >= APIC_ISR && reg < APIC_ESR)
        return 0; // nothing in service, requested or level-triggered
    switch (reg) {
    case APIC_ID: return 0;
    case APIC_VERSION: return VERSION;
    case APIC_TPR: return apic.tpr;
    case APIC_PPR: return apic.tpr; // SDM 11.8.3.1: with no ISR bit set, PPR = TPR
    case APIC_APR: case APIC_EOI: case APIC_RRD: return 0;
    case APIC_LDR: return apic.ldr;
    case APIC_DFR: return apic.dfr;
    case APIC_SVR: return apic.svr;
    case APIC_ESR: return apic.esr;
    case APIC_ICR_LO: return apic.icr_lo;
    case APIC_ICR_HI: return apic.icr_hi;
    case APIC_TMICT: return apic.tmict;
    case APIC_TMCCT: return current_count();
    case APIC_TDCR: return apic.tdcr;
    default: // a reserved offset (SDM 11.5.3: "Illegal Register Address")
        apic.esr_pending |= ESR_ILLEGAL_REG;
        return 0;
    }
}

// An IPI. With no other CPU, INIT and start-up go nowhere; the rest would reach this CPU
// or none, and no interrupt is delivered in this issue: each is counted. A fixed or
// lowest-priority IPI with a vector below 16 is an error (SDM 11.5.3, "Send Illegal
// Vector").
static void send_ipi(uint32_t icr)
{
    unsigned mode = (icr >> 8) & 7;
    if (mode == 5)
        counts.init++;
    else if (mode == 6)
        counts.startup++;
    else
        counts.other_ipis++;
    if (mode <= 1 && (icr & 0xff) < 16)
        apic.esr_pending |= ESR_SEND_ILLEGAL;
}

static void reg_write(unsigned reg, uint32_t v)
{
    if (reg >= APIC_LVT_TIMER && reg < APIC_LVT_TIMER + 0x10 * NLVT) {
        // SDM 11.4.7.2: while the APIC is software-disabled the mask bits stay set.
        unsigned i = (reg - APIC_LVT_TIMER) >> 4;
        apic.lvt[i] = (v | (apic.svr & SVR_ENABLE ? 0 : LVT_MASKED)) & lvt_bits[i];
        return;
    }
    switch (reg) {
    case APIC_TPR: apic.tpr = v & 0xff; break;
    case APIC_LDR: apic.ldr = v & 0xff000000; break; // the logical ID, bits 31:24
    case APIC_DFR: apic.dfr = v | 0x0fffffff; break; // the model, bits 31:28
    case APIC_SVR:
        // Bits 9:0: vector, software enable, focus checking (KVM's mask; bit 12,
        // EOI-broadcast suppression, only where the version offers it: not here).
        // Disabling masks every LVT entry (SDM 11.4.7.2).
        apic.svr = v & 0x3ff;
        if (!(v & SVR_ENABLE))
            for (int i = 0; i < NLVT; i++)
                apic.lvt[i] |= LVT_MASKED;
        break;
    case APIC_ESR:
        // SDM 11.5.3: a write (of any value) makes the ESR show the errors found since
        // the previous write, and starts collecting anew.
        apic.esr = apic.esr_pending;
        apic.esr_pending = 0;
        break;
    case APIC_ICR_LO:
        // Sent at once: the delivery status reads idle (KVM clears it; start-up code
        // polls it without a timeout).
        apic.icr_lo = v & ~ICR_BUSY;
        send_ipi(v);
        break;
    case APIC_ICR_HI: apic.icr_hi = v & 0xff000000; break; // the destination, 31:24
    case APIC_TMICT:
        apic.tmict = v;
        apic.timer_start = dev_now(clock);
        break;
    case APIC_TDCR: apic.tdcr = v & 0xb; break;
    case APIC_ID: case APIC_VERSION: case APIC_APR: case APIC_PPR: case APIC_EOI:
    case APIC_RRD: case APIC_TMCCT:
        // Read-only, or (EOI) with nothing in service to end. The xAPIC ID is writable
        // on some processors (SDM 11.4.6: model specific); here it stays 0.
        break;
    default:
        if (reg < APIC_ISR || reg >= APIC_ESR) // ISR, TMR and IRR are read-only
            apic.esr_pending |= ESR_ILLEGAL_REG;
        break;
    }
}

// A disabled APIC (IA32_APIC_BASE.EN = 0) does not answer: its page reads all ones and
// drops writes (SDM 11.4.3: as a processor without an APIC; KVM's MMIO hole). Reads of
// 1, 2 or 4 bytes inside a register's first 4 bytes give those bytes (KVM; SDM 11.4.1
// calls narrower accesses model specific); anything else reads 0 and is counted.
static uint64_t lapic_read(uint64_t off, unsigned size)
{
    if (!(apic.base & APIC_BASE_EN))
        return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    unsigned at = off & 0xf;
    if (at + size > 4) {
        counts.dropped++;
        return 0;
    }
    uint32_t v = off < 0x400 ? reg_read(off & 0x3f0) : reg_read(0x400);
    return (v >> (8 * at)) & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

// Writes must be 4 bytes at a register's offset (SDM 11.4.1); others are dropped and
// counted, as KVM drops them.
static void lapic_write(uint64_t off, unsigned size, uint64_t v)
{
    if (!(apic.base & APIC_BASE_EN))
        return;
    if (size != 4 || (off & 0xf)) {
        counts.dropped++;
        return;
    }
    reg_write(off < 0x400 ? (unsigned)off : 0x400, (uint32_t)v);
}

const struct dev dev_lapic = {
    .name = "lapic", .space = DEV_MMIO, .base = APIC_BASE_DEFAULT, .len = 0x1000,
    .sizes = 1 | 2 | 4 | 8,
    .read = lapic_read, .write = lapic_write, .reset = lapic_reset,
};

// --- The CPU's APIC virtualisation (SDM 3C 30, APIC Virtualization and Virtual Interrupts) --

// CR8 is TPR[7:4] (SDM 3A 11.8.6.1, Interaction of Task Priority Register and CR8): a MOV
// to CR8 writes TPR[7:4] and clears TPR[3:0].
uint32_t lapic_tpr(void) { return apic.tpr; }
void lapic_tpr_set(uint32_t tpr) { apic.tpr = tpr & 0xff; }

// The registers a read of the APIC-access page finds in the virtual-APIC page when
// "APIC-register virtualization" is 1 (SDM 3C 30.4.2, Virtualizing Reads from the
// APIC-Access Page): ID, version, TPR, EOI, LDR, DFR, SVR, ISR, TMR, IRR, ESR, ICR,
// the LVT, the timer's initial count and divide configuration. The others (APR, PPR,
// RRD, the current count) exit, and the model answers them live.
static bool read_virtualized(unsigned reg)
{
    return reg == APIC_ID || reg == APIC_VERSION || reg == APIC_TPR || reg == APIC_EOI ||
           reg == APIC_LDR || reg == APIC_DFR || reg == APIC_SVR ||
           (reg >= APIC_ISR && reg <= APIC_ESR) || reg == APIC_ICR_LO || reg == APIC_ICR_HI ||
           (reg >= APIC_LVT_TIMER && reg < APIC_LVT_TIMER + 0x10 * NLVT) ||
           reg == APIC_TMICT || reg == APIC_TDCR;
}

// What the CPU writes into the virtual-APIC page without an exit (SDM 3C 30.4.3.3,
// APIC-Write Emulation): the TPR (bytes 3:1 cleared) and ICR high (bits 23:0 cleared).
void lapic_take_page(const uint8_t *page)
{
    uint32_t icr_hi;
    memcpy(&icr_hi, page + APIC_ICR_HI, 4);
    apic.tpr = page[APIC_TPR];
    apic.icr_hi = icr_hi & 0xff000000;
}

// Each such register's first 4 bytes as a 4-byte read of the model gives them (all
// ones while IA32_APIC_BASE.EN is clear), the rest of the page 0.
void lapic_virtual_page(uint8_t *page)
{
    memset(page, 0, 4096);
    for (unsigned reg = 0; reg < 0x400; reg += 0x10) {
        if (!read_virtualized(reg))
            continue;
        uint32_t v = (uint32_t)lapic_read(reg, 4);
        memcpy(page + reg, &v, 4);
    }
}

// An APIC-write VM exit (SDM 3C 30.4.3.3, APIC-Write Emulation; 30.4.3.1 says which
// writes are virtualized) comes after the write: bits 11:0 of the qualification are
// the page offset the guest wrote at, and its bytes are in the virtual-APIC page. The
// model gets the register's 4 bytes from there when the write began at a register's
// offset (a shorter write there merges with the bytes it left, as KVM's
// kvm_apic_write_nodecode() takes them); a write that began inside a register is one
// the model drops, and is replayed as a byte at that offset.
struct lapic_write lapic_trapped_write(uint64_t qualification, const uint8_t *page)
{
    unsigned off = qualification & 0xfff;
    struct lapic_write w = { .offset = off, .size = 1, .value = page[off] };
    if (!(off & 0xf)) {
        w.size = 4;
        memcpy(&w.value, page + off, 4);
    }
    return w;
}

// --- IA32_APIC_BASE (SDM 3A 11.4.4, Figure 11-5; SDM 4 Table 2-2) -----------------------

uint64_t apic_base_read(void) { return apic.base; }

// Reserved: bits 7:0 and 9, bit 10 (x2APIC mode: CPUID does not offer it), and bits from
// MAXPHYADDR up; those raise #GP (KVM's kvm_set_apic_base()). BSP and EN are the guest's
// to write (Table 2-2: R/W): clearing EN turns the APIC off, setting it again turns it on
// with its registers as they were. Moving the page is not emulated: the table of devices
// has it at 0xfee00000 (KVM warns "APIC base relocation is unsupported" and keeps it).
// A disabled APIC answers at no address, so any base is taken with EN clear (writing
// 0, as some kernels do to turn it off, is one); enabling it elsewhere is APIC_BASE_MOVED.
enum apic_base_verdict apic_base_write(uint64_t value, unsigned maxphyaddr)
{
    uint64_t reserved = 0x6ff | (maxphyaddr < 64 ? ~((1ull << maxphyaddr) - 1) : 0);
    if (value & reserved)
        return APIC_BASE_GP;
    if ((value & APIC_BASE_EN) && (value & ~0xfffull) != APIC_BASE_DEFAULT)
        return APIC_BASE_MOVED;
    apic.base = value;
    return APIC_BASE_OK;
}
