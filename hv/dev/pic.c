// pic.c: the two 8259A interrupt controllers of a PC (master at 0x20-0x21, slave at
// 0xa0-0xa1; Intel 8259A data sheet, "Programming the 8259A") and PIIX's edge/level
// control register (ELCR, 0x4d0-0x4d1; QEMU hw/intc/i8259.c). They take the ICW1-ICW4
// initialisation, OCW1 (the mask), OCW2 (EOI, rotation) and OCW3 (which register a read
// returns, poll), but no interrupt is ever raised: IRR and ISR stay 0. dev.c calls them
// through dev_pic_master, dev_pic_slave and dev_elcr; their resets leave SeaBIOS's state.
#include "dev.h"

#define ICW1 0x10      // a command with bit 4 set starts the initialisation
#define ICW1_IC4 0x01  //   ICW4 follows
#define ICW1_SNGL 0x02 //   a single 8259: no ICW3
#define OCW3 0x08      // bit 4 clear: OCW3 if bit 3 is set, else OCW2
#define OCW3_POLL 0x04
#define OCW3_RR 0x02   //   bit 0 then selects the register: 1 ISR, 0 IRR
#define OCW3_ESMM 0x40 //   bit 5 then sets the special mask mode

static struct pic {
    uint8_t imr, isr, irr, base; // base: ICW2, the vector of IR0
    uint8_t icw3, icw4;          // kept for no one: nothing is cascaded or delivered
    uint8_t init;                // 0 idle, else the ICW expected next (2, 3 or 4)
    bool need_icw4, single, read_isr, poll, special_mask;
} pics[2];
static uint8_t elcr[2];

// What SeaBIOS leaves under QEMU 7.2 (measured): both initialised (vectors 0x08 and
// 0x70, the slave on IR2, 8086 mode), the masks 0xb8 and 0x8e, IRQs 10 and 11 level
// triggered (PCI).
static void pic_reset(int i)
{
    static const uint8_t base[2] = { 0x08, 0x70 }, icw3[2] = { 0x04, 0x02 };
    static const uint8_t imr[2] = { 0xb8, 0x8e };
    pics[i] = (struct pic){ .imr = imr[i], .base = base[i], .icw3 = icw3[i], .icw4 = 0x01 };
}

static void master_reset(const struct dev_machine *m) { (void)m; pic_reset(0); }
static void slave_reset(const struct dev_machine *m) { (void)m; pic_reset(1); }
static void elcr_reset(const struct dev_machine *m)
{
    (void)m;
    elcr[0] = 0x00;
    elcr[1] = 0x0c;
}

// A read of the command port gives IRR or ISR as OCW3 chose (IRR after ICW1); the data
// port gives the mask. After an OCW3 poll command the next read of either port is the
// poll word instead: bit 7 set with the level being acknowledged, 0 when none requests
// service, as here always (QEMU reads 0 too).
static uint64_t pic_read(struct pic *p, uint64_t off)
{
    if (p->poll) {
        p->poll = false;
        return 0;
    }
    if (off == 1)
        return p->imr;
    return p->read_isr ? p->isr : p->irr;
}

static void pic_write(struct pic *p, uint64_t off, uint8_t v)
{
    if (off == 0 && (v & ICW1)) {
        // ICW1 clears the mask, selects IRR for reads and leaves special mask mode
        // (data sheet, "Initialization Command Words").
        *p = (struct pic){ .base = p->base, .icw3 = p->icw3, .init = 2,
                           .need_icw4 = v & ICW1_IC4, .single = v & ICW1_SNGL };
    } else if (off == 0 && (v & OCW3)) {
        p->poll = v & OCW3_POLL;
        if (v & OCW3_RR)
            p->read_isr = v & 1;
        if (v & OCW3_ESMM)
            p->special_mask = v & 0x20;
    } else if (off == 0) {
        // OCW2: an EOI would clear the ISR bit in service, a rotation would move the
        // priorities; with no interrupt ever in service, neither changes what a read shows.
    } else if (p->init == 2) {
        p->base = v & 0xf8; // ICW2: the low 3 bits of a vector are the IR level
        p->init = p->single ? (p->need_icw4 ? 4 : 0) : 3;
    } else if (p->init == 3) {
        p->icw3 = v;
        p->init = p->need_icw4 ? 4 : 0;
    } else if (p->init == 4) {
        p->icw4 = v;
        p->init = 0;
    } else {
        p->imr = v; // OCW1
    }
}

static uint64_t master_read(uint64_t off, unsigned size)
{
    (void)size;
    return pic_read(&pics[0], off);
}
static uint64_t slave_read(uint64_t off, unsigned size)
{
    (void)size;
    return pic_read(&pics[1], off);
}
static void master_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)size;
    pic_write(&pics[0], off, (uint8_t)v);
}
static void slave_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)size;
    pic_write(&pics[1], off, (uint8_t)v);
}

// An IRQ line reaches the CPU's INTR: unmasked, and for the slave's lines the cascade
// (the master's IR2) unmasked too (data sheet, "Cascade Mode").
bool pic_unmasked(unsigned irq)
{
    if (irq >= 8)
        return !(pics[1].imr & (1u << (irq - 8))) && !(pics[0].imr & (1u << 2));
    return !(pics[0].imr & (1u << irq));
}

// ELCR: one bit per IRQ, 1 = level triggered. IRQs 0, 1, 2 (master) and 8, 13 (slave)
// are always edge triggered, so those bits read 0 (QEMU's masks 0xf8 and 0xde).
static uint64_t elcr_read(uint64_t off, unsigned size)
{
    (void)size;
    return elcr[off];
}

static void elcr_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)size;
    elcr[off] = (uint8_t)v & (off ? 0xde : 0xf8);
}

const struct dev dev_pic_master = {
    .name = "pic-master", .space = DEV_PIO, .base = 0x20, .len = 2, .sizes = 1,
    .read = master_read, .write = master_write, .reset = master_reset,
};
const struct dev dev_pic_slave = {
    .name = "pic-slave", .space = DEV_PIO, .base = 0xa0, .len = 2, .sizes = 1,
    .read = slave_read, .write = slave_write, .reset = slave_reset,
};
const struct dev dev_elcr = {
    .name = "elcr", .space = DEV_PIO, .base = 0x4d0, .len = 2, .sizes = 1,
    .read = elcr_read, .write = elcr_write, .reset = elcr_reset,
};
