// pc.c: the virtual PC as a kernel written for QEMU's pc machine meets it (the accesses of
// guest/multiboot/startup.c and more), from a vmxlab guest, for the row pc-devices: the
// 8259 masks, fw_cfg, CMOS, the PIT timing the TSC through port 0x61, PCI, the keyboard
// controller's status; IA32_APIC_BASE disabled and enabled again, CPUID.1:EDX.APIC with
// it, the xAPIC page (ID, version, SVR, TPR and CR8, PPR, ESR, INIT and SIPI, the timer,
// dropped writes, all ones while disabled); IA32_MISC_ENABLE, IA32_MCG_CAP/STATUS. Each
// check is an HC_REPORT; the last line counts the APIC accesses by how the CPU treats
// them, for tests/boot/test_pc.py to hold against the run's exits. Leaves the APIC as
// it found it, but for its timer.
#include "rt/guest.h"

#define APIC 0xfee00000ull
#define APIC_ID 0x20
#define APIC_VERSION 0x30
#define APIC_TPR 0x80
#define APIC_PPR 0xa0
#define APIC_SVR 0xf0
#define APIC_ESR 0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT0 0x350
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define MSR_APIC_BASE 0x1b
#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MISC_ENABLE 0x1a0

// The APIC page's accesses, by what the CPU does with them where it virtualises the
// APIC (SDM 3C 30.4): reads it answers itself, reads of PPR and the current count that
// exit (APIC_ACCESS); writes that exit after the fact (APIC_WRITE), writes it keeps
// without an exit (TPR, ICR high); and every access while the APIC is disabled, which
// reaches nothing the CPU virtualises.
static struct {
    unsigned reads, exiting_reads, writes, silent_writes, disabled;
} n;
static bool disabled;

// Plain MOVs (the forms hv/exit/mmio_decode.c knows), never folded into a TEST or OR.
static uint32_t rd(unsigned off)
{
    uint32_t v;
    asm volatile("movl %1, %0" : "=r"(v) : "m"(*(volatile uint32_t *)(APIC + off)));
    if (disabled)
        n.disabled++;
    else if (off == APIC_PPR || off == APIC_TMCCT)
        n.exiting_reads++;
    else
        n.reads++;
    return v;
}

static void wr(unsigned off, uint32_t v)
{
    asm volatile("movl %1, %0" : "=m"(*(volatile uint32_t *)(APIC + off)) : "r"(v));
    if (disabled)
        n.disabled++;
    else if (off == APIC_TPR || off == APIC_ICR_HI)
        n.silent_writes++;
    else
        n.writes++;
}

// The APIC's 2 MiB at 0xfee00000 in the guest's tables, uncached as kernels map it: a
// page directory of its own under PDPT entry 3.
static void map_apic(void)
{
    static uint64_t pd[512] __attribute__((aligned(4096)));
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xfffull);
    pd[(APIC >> 21) & 511] = APIC | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
    pdpt[3] = (uint64_t)pd | PTE_P | PTE_W;
    write_cr3(read_cr3());
}

static uint32_t inl(uint16_t port)
{
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void fw_cfg_read(uint16_t key, void *buf, unsigned len)
{
    outw(0x510, key);
    for (unsigned i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = inb(0x511);
}

static uint8_t cmos(uint8_t reg)
{
    outb(0x70, 0x80 | reg);
    return inb(0x71);
}

static bool ports(void)
{
    bool ok = true;
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    ok &= hc_report(inb(0x21) == 0xff && inb(0xa1) == 0xff, "8259: the masks read back 0xff");
    char sig[5] = { 0 };
    uint16_t cpus = 0;
    uint64_t ram = 0;
    uint32_t none = 1;
    fw_cfg_read(0x00, sig, 4);
    fw_cfg_read(0x05, &cpus, 2);
    fw_cfg_read(0x03, &ram, 8);
    fw_cfg_read(0x1f, &none, 4);
    ok &= hc_report(sig[0] == 'Q' && sig[3] == 'U' && cpus == 1 && ram == GUEST_RAM_SIZE &&
                    none == 0, "fw_cfg: signature QEMU, 1 CPU, the guest's RAM, an unknown "
                    "key reads 0");
    unsigned base = cmos(0x15) | cmos(0x16) << 8, ext = cmos(0x17) | cmos(0x18) << 8;
    ok &= hc_report(base == 640 && ext == (GUEST_RAM_SIZE >> 10) - 1024 &&
                    cmos(0x32) == 0x20 && cmos(0x09) == 0x24,
                    "CMOS: 640 KiB of base memory, the rest above 1 MiB, the year 2024");
    outl(0xcf8, 0x80000000);
    ok &= hc_report(inl(0xcfc) == 0xffffffff, "PCI: no device 0:0.0");
    ok &= hc_report(inb(0x64) == 0x1c, "keyboard controller: status 0x1c");
    // The PIT's channel 2, gated by port 0x61 bit 0, in mode 0 with 1193 (1 ms at
    // 1.193182 MHz, 999848 ns): port 0x61 bit 5 rises after that much of the devices'
    // time, which is as many TSC ticks (docs/guest-abi.md section 14), less up to one PIT
    // period (838 ns: the count starts at the PIT's clock edge before the write) and
    // plus up to one poll.
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, 1193 & 0xff);
    uint64_t t0 = rdtsc();
    outb(0x42, 1193 >> 8);
    while (!(inb(0x61) & 0x20))
        ;
    uint64_t ticks = rdtsc() - t0;
    char msg[120];
    append_u64(append(msg, "PIT: channel 2 counted 1 ms in 999848 TSC ticks, to within a PIT "
                           "period and a poll: "), ticks, 10);
    ok &= hc_report(ticks >= 999848 - 838 && ticks < 999848 + 10000, msg);
    return ok;
}

static bool apic_base_and_cpuid(void)
{
    bool ok = true;
    uint32_t r[4];
    uint64_t base = rdmsr(MSR_APIC_BASE), v;
    cpuid(1, 0, r);
    ok &= hc_report(base == 0xfee00900 && (r[3] & (1u << 9)) && !(r[2] & (1u << 21)),
                    "IA32_APIC_BASE reads 0xfee00900; CPUID: APIC, no x2APIC");
    ok &= hc_report(try_wrmsr(MSR_APIC_BASE, base | (1u << 10)) == VEC_GP &&
                    try_wrmsr(MSR_APIC_BASE, base | 1) == VEC_GP && rdmsr(MSR_APIC_BASE) == base,
                    "IA32_APIC_BASE: x2APIC mode and reserved bits raise #GP");
    wrmsr(MSR_APIC_BASE, base & ~(uint64_t)(1u << 11));
    disabled = true;
    cpuid(1, 0, r);
    uint32_t id = rd(APIC_ID);
    wr(APIC_TPR, 0x70); // dropped: nobody is there
    ok &= hc_report(rdmsr(MSR_APIC_BASE) == 0xfee00100 && !(r[3] & (1u << 9)) &&
                    id == 0xffffffff, "IA32_APIC_BASE.EN cleared: CPUID.1:EDX.APIC 0, the "
                    "page reads all ones");
    disabled = false;
    wrmsr(MSR_APIC_BASE, base);
    cpuid(1, 0, r);
    ok &= hc_report(rdmsr(MSR_APIC_BASE) == base && (r[3] & (1u << 9)) &&
                    rd(APIC_SVR) == 0x1ff && rd(APIC_TPR) == 0,
                    "EN set again: the APIC is back as it was (SVR 0x1ff, TPR 0)");
    ok &= hc_report(try_rdmsr(MSR_MCG_CAP, &v) == -1 && v == 0 &&
                    try_wrmsr(MSR_MCG_CAP, 0) == VEC_GP, "IA32_MCG_CAP reads 0, writes #GP");
    ok &= hc_report(try_wrmsr(MSR_MCG_STATUS, 1) == -1 && rdmsr(MSR_MCG_STATUS) == 1 &&
                    try_wrmsr(MSR_MCG_STATUS, 8) == VEC_GP, "IA32_MCG_STATUS: bits 2:0 taken, "
                    "bit 3 #GP");
    uint64_t misc = rdmsr(MSR_MISC_ENABLE);
    ok &= hc_report(misc == 0x1801 && try_wrmsr(MSR_MISC_ENABLE, misc & ~1ull) == -1 &&
                    rdmsr(MSR_MISC_ENABLE) == 0x1800 &&
                    try_wrmsr(MSR_MISC_ENABLE, misc | (1u << 22)) == VEC_GP,
                    "IA32_MISC_ENABLE: 0x1801; fast strings off; limit-CPUID #GP");
    wrmsr(MSR_MISC_ENABLE, misc);
    return ok;
}

static bool apic_page(void)
{
    bool ok = true;
    ok &= hc_report(rd(APIC_ID) == 0 && rd(APIC_VERSION) == 0x50014 && rd(APIC_SVR) == 0x1ff &&
                    rd(APIC_LVT0) == 0x8700, "APIC: ID 0, version 0x50014, SVR 0x1ff, LINT0 "
                    "ExtINT, as SeaBIOS leaves them");
    wr(APIC_SVR, 0x1ff);
    wr(APIC_TPR, 0x20);
    uint64_t cr8;
    asm volatile("mov %%cr8, %0" : "=r"(cr8));
    ok &= hc_report(rd(APIC_SVR) == 0x1ff && rd(APIC_TPR) == 0x20 && rd(APIC_PPR) == 0x20 &&
                    cr8 == 2, "APIC: SVR and TPR read back; PPR is the TPR; CR8 is TPR[7:4]");
    asm volatile("mov %0, %%cr8" ::"r"(3ull));
    ok &= hc_report(rd(APIC_TPR) == 0x30, "MOV to CR8 3: the TPR reads 0x30");
    wr(APIC_TPR, 0);
    // A byte written to the SVR's second byte: dropped (SDM 3A 11.4.1).
    volatile uint8_t *svr_byte1 = (volatile uint8_t *)(APIC + APIC_SVR + 1);
    asm volatile("movb %1, %0" : "=m"(*svr_byte1) : "q"((uint8_t)0));
    n.writes++;
    ok &= hc_report(rd(APIC_SVR) == 0x1ff, "APIC: a byte write inside the SVR is dropped");
    // INIT and SIPI to all but self, as SMP start-up does; nobody is there.
    wr(APIC_ESR, 0);
    wr(APIC_ICR_HI, 0);
    wr(APIC_ICR_LO, 0x000c4500);
    uint32_t init = rd(APIC_ICR_LO);
    wr(APIC_ICR_LO, 0x000c4608);
    uint32_t sipi = rd(APIC_ICR_LO);
    wr(APIC_ESR, 0);
    ok &= hc_report(init == 0x000c4500 && sipi == 0x000c4608 && rd(APIC_ESR) == 0,
                    "APIC: INIT and SIPI sent, delivery status idle, no error");
    wr(APIC_ICR_HI, 0x01000000); // to APIC 1, which is not there: a fixed IPI goes nowhere
    wr(APIC_ICR_LO, 0x00004030);
    ok &= hc_report(rd(APIC_ICR_HI) == 0x01000000 && rd(APIC_ICR_LO) == 0x4030,
                    "APIC: ICR high keeps the destination across the ICR low write");
    wr(APIC_ICR_HI, 0);
    wr(APIC_ICR_LO, 0x00004002); // a fixed IPI to self with vector 2: illegal
    wr(APIC_ESR, 0);
    ok &= hc_report(rd(APIC_ESR) == 0x20, "APIC: a fixed IPI with vector 2 shows "
                    "\"send illegal vector\" in the ESR");
    // The timer counts the devices' time at 1 GHz, divided by 1 here.
    wr(APIC_TDCR, 0xb);
    wr(APIC_TMICT, 100000000);
    uint32_t c1 = rd(APIC_TMCCT), c2 = rd(APIC_TMCCT);
    ok &= hc_report(c1 < 100000000 && c2 < c1, "APIC timer: the current count runs down");
    wr(APIC_TMICT, 0);
    return ok;
}

int guest_main(struct guest_params *p)
{
    (void)p;
    map_apic();
    bool ok = ports() & apic_base_and_cpuid() & apic_page();
    char line[160], *d = append_u64(append(line, "pc: APIC page: reads "), n.reads, 10);
    d = append_u64(append(d, ", exiting reads "), n.exiting_reads, 10);
    d = append_u64(append(d, ", writes "), n.writes, 10);
    d = append_u64(append(d, ", silent writes "), n.silent_writes, 10);
    append_u64(append(d, ", while disabled "), n.disabled, 10);
    hc_puts(line);
    return ok ? 0 : 1;
}
