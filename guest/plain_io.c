// plain_io.c: a guest written as for bare metal, with no vmxlab hypercall of
// its own: it asks CPUID who it runs on, reads and writes MSRs, talks to COM1
// and an empty port, and ends by writing its status to port 0xf4, the way a
// test kernel ends QEMU. The hypervisor answers each exit as
// docs/guest-abi.md says (hv/exit/cpuid.c, hv/exit/msr.c, hv/exit/io.c); every answer that
// differs is printed on COM1 and counted into the status.
#include "rt/guest.h"

#define COM1 0x3f8
#define MSR_TSC 0x10
#define MSR_PAT 0x277

static void com1_puts(const char *s)
{
    for (; *s; s++) {
        while (!(inb(COM1 + 5) & 0x20)) // LSR: transmit holding register empty
            ;
        outb(COM1, (uint8_t)*s);
    }
}

static unsigned failures;

static void check(bool ok, const char *what)
{
    if (!ok) {
        com1_puts("plain_io: wrong: ");
        com1_puts(what);
        com1_puts("\n");
        failures++;
    }
}

static uint64_t rdmsr_plain(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

int guest_main(struct guest_params *p)
{
    (void)p;
    uint32_t r[4];
    char name[13] = { 0 };
    cpuid(0x40000000, 0, r);
    for (int i = 0; i < 4; i++) {
        name[i] = (char)(r[1] >> (8 * i));
        name[4 + i] = (char)(r[2] >> (8 * i));
        name[8 + i] = (char)(r[3] >> (8 * i));
    }
    check(r[0] >= 0x40000000 && name[0] == 'v' && name[5] == 'b' && name[6] == 0,
          "CPUID leaf 0x40000000 names vmxlab");
    cpuid(1, 0, r);
    check(r[2] & (1u << 31), "CPUID.1:ECX.HYPERVISOR is set");
    check(!(r[2] & (1u << 5)), "CPUID.1:ECX.VMX is clear");

    uint64_t t0 = rdmsr_plain(MSR_TSC), t1 = rdmsr_plain(MSR_TSC);
    check(t1 > t0, "IA32_TIME_STAMP_COUNTER counts up");
    uint64_t pat = 0x0007040600070406ull ^ 0x0100; // entry 1: WT to WC
    asm volatile("wrmsr" ::"c"(MSR_PAT), "a"((uint32_t)pat), "d"((uint32_t)(pat >> 32)));
    check(rdmsr_plain(MSR_PAT) == pat, "IA32_PAT reads back what was written");

    check(inb(COM1 + 5) == 0x60, "COM1's LSR reads 0x60: ready to send, nothing received");
    check(inb(COM1) == 0, "COM1's receive buffer reads 0");
    outb(0x80, 0x42); // a POST code to an empty port: ignored
    check(inb(0x80) == 0xff, "an empty port reads all ones");
    check(inw(0x2f8) == 0xffff, "COM2, not offered, reads all ones");

    com1_puts(failures ? "plain_io: some answers were wrong\n"
                       : "plain_io: CPUID, MSRs, COM1 and empty ports answered as documented\n");
    outl(0xf4, failures); // the end: no hypercall, no return to the runtime
    for (;;)
        asm volatile("hlt");
}
