// hostile.c: a guest that does what a careless or malicious kernel might, at
// random but reproducibly (guest_params.seed, the command line's seed=), and
// checks that every misdeed gets its documented answer (docs/guest-abi.md)
// and that the run goes on: MOV to CR0/CR4, CLTS and LMSW with random values
// against the SDM model of guest/crmodel.h; every feature CPUID promises at
// work, then random CPUID leaves, MSR indices and I/O ports; the VMX
// instructions and bad XSETBVs; and guest RAM dirtied
// in one run and found zeroed in the next. The groups are HOSTILE_* in abi.h,
// one row each in hv/run/experiments.c (group bad-guest). Leaves CR0, CR4 and XCR0
// as it found them.
#include "crmodel.h"
#include "rt/guest.h"

// xorshift64* (Marsaglia; Vigna's multiplier): small, and the same sequence
// from the same seed on every machine.
static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

// Message building, for what went wrong: "what: got 0x.., expected 0x..".
static char *put_hex(char *d, uint64_t v)
{
    return append_u64(append(d, "0x"), v, 16);
}

// A group's checks: the count, and the first wrong answers spelled out.
static unsigned checked, wrong;

static void expect(bool ok, const char *what, uint64_t a, uint64_t got, uint64_t want)
{
    checked++;
    if (ok)
        return;
    if (wrong++ < 5) {
        char msg[200], *d = append(msg, "hostile: ");
        d = append(d, what);
        d = append(d, " ");
        d = put_hex(d, a);
        d = append(d, ": got ");
        d = put_hex(d, got);
        d = append(d, ", expected ");
        put_hex(d, want);
        hc_puts(msg);
    }
}

static bool group_done(const char *what)
{
    char msg[160], *d = append(msg, what);
    d = append(d, ": ");
    d = append_u64(d, checked, 10);
    append(d, " answers checked");
    bool ok = hc_report(wrong == 0, msg);
    checked = wrong = 0;
    return ok;
}

// A random value for a control register: usually the current one with a few
// bits flipped (the writes that land), sometimes anything at all.
static uint64_t near(uint64_t cur)
{
    switch (rnd() % 4) {
    case 0:
        return rnd();
    case 1:
        return rnd() & 0xffffffff;
    default: {
        uint64_t v = cur;
        for (unsigned i = 1 + rnd() % 3; i; i--)
            v ^= 1ull << (rnd() % 32);
        return v;
    }
    }
}

// HOSTILE_CR: each operation against the model; a write the model says lands
// must read back as the model says, one it says faults must raise #GP(0) and
// change nothing. The real registers are read back after every operation.
static bool random_cr(void)
{
    uint32_t l1[4], l7[4];
    cpuid(1, 0, l1);
    cpuid(7, 0, l7);
    struct crmodel m = { .cr0 = read_cr0(), .cr4 = read_cr4(), .cr3 = read_cr3(),
                         .cr4_valid = crmodel_cr4_valid(l1[2], l1[3], l7[1], l7[2], l7[3]) };
    const uint64_t cr0_at_entry = m.cr0, cr4_at_entry = m.cr4;
    for (unsigned i = 0; i < HOSTILE_OPS; i++) {
        unsigned op = rnd() % 10;
        uint64_t val = 0;
        bool lands = true;
        int v;
        if (op < 4) {
            val = near(m.cr0);
            lands = crmodel_mov_cr0(&m, val);
            v = try_write_cr0(val);
        } else if (op < 8) {
            val = near(m.cr4);
            lands = crmodel_mov_cr4(&m, val);
            v = try_write_cr4(val);
        } else if (op == 8) {
            crmodel_clts(&m);
            v = try_clts();
        } else {
            val = rnd() & 0xffff;
            crmodel_lmsw(&m, (uint16_t)val);
            v = try_lmsw((uint16_t)val);
        }
        static const char *const names[] = {
            "MOV to CR0 (fault vector, 0: none)", "MOV to CR0 (fault vector, 0: none)",
            "MOV to CR0 (fault vector, 0: none)", "MOV to CR0 (fault vector, 0: none)",
            "MOV to CR4 (fault vector, 0: none)", "MOV to CR4 (fault vector, 0: none)",
            "MOV to CR4 (fault vector, 0: none)", "MOV to CR4 (fault vector, 0: none)",
            "CLTS (fault vector, 0: none)", "LMSW (fault vector, 0: none)" };
        expect(v == (lands ? -1 : VEC_GP) && (lands || trap_error == 0), names[op], val,
               v < 0 ? 0 : (uint64_t)v, lands ? 0 : VEC_GP); // 0: no fault
        expect(read_cr0() == m.cr0, "CR0 after", val, read_cr0(), m.cr0);
        expect(read_cr4() == m.cr4, "CR4 after", val, read_cr4(), m.cr4);
        m.cr0 = read_cr0(); // go on from what is there, right or wrong
        m.cr4 = read_cr4();
    }
    // Back to the entry state: CR0 first (CET may need WP), then CR4.
    write_cr0(cr0_at_entry);
    write_cr4(cr4_at_entry);
    expect(read_cr0() == cr0_at_entry && read_cr4() == cr4_at_entry, "entry state restored", 0,
           read_cr0(), cr0_at_entry);
    return group_done("random MOV to CR0/CR4, CLTS and LMSW against the SDM model");
}

// The MSR a guest has (abi.h GUEST_MSRS), or -1.
enum { GP, DIRECT, EMULATED };
static const struct {
    uint32_t index;
    uint8_t read, write;
} msrs[] = {
#define MSR_ROW(index, name, read, write) { index, read, write },
    GUEST_MSRS(MSR_ROW)
#undef MSR_ROW
};

static int msr_row(uint32_t index, uint64_t host)
{
    if (index == MSR_TSC_AUX_INDEX && !(host & HOST_RDTSCP))
        return -1;
    for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++)
        if (msrs[i].index == index)
            return (int)i;
    return -1;
}

// A random MSR index: anywhere, or in one of the ranges CPUs use.
static uint32_t random_msr(void)
{
    static const uint32_t bases[] = { 0, 0x400, 0x480, 0xc0000080, 0xc0010000, 0x40000000 };
    if (rnd() % 4 == 0)
        return (uint32_t)rnd();
    if (rnd() % 4 == 0)
        return msrs[rnd() % (sizeof(msrs) / sizeof(msrs[0]))].index;
    return bases[rnd() % (sizeof(bases) / sizeof(bases[0]))] + (uint32_t)(rnd() % 0x200);
}

static uint32_t in_port(uint16_t port, unsigned size)
{
    uint32_t v = 0;
    if (size == 1)
        asm volatile("inb %1, %b0" : "=a"(v) : "Nd"(port));
    else if (size == 2)
        asm volatile("inw %1, %w0" : "=a"(v) : "Nd"(port));
    else
        asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void out_port(uint16_t port, unsigned size, uint32_t v)
{
    if (size == 1)
        asm volatile("outb %b0, %1" ::"a"(v), "Nd"(port));
    else if (size == 2)
        asm volatile("outw %w0, %1" ::"a"(v), "Nd"(port));
    else
        asm volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

// What CPUID promises must be there (docs/guest-abi.md: CPUID hides what
// vmxlab does not give). Each row: a feature bit, and the MSR it promises,
// read (or, for the write-only command MSRs, written with a harmless 1:
// IBPB, an L1D flush), or the instruction it promises, which must not #UD.
enum { EAX_, EBX_, ECX_, EDX_ };
enum { RD, WR1, RUN };
static const struct {
    uint32_t leaf, sub;
    uint8_t reg, bit, how;
    uint32_t what; // an MSR index, or an enum insn
} promises[] = {
    { 1, 0, EDX_, 5, RD, 0x10 },           // MSR: IA32_TIME_STAMP_COUNTER
    { 1, 0, EDX_, 9, RD, 0x1b },           // APIC: IA32_APIC_BASE
    { 1, 0, EDX_, 12, RD, 0xfe },          // MTRR: IA32_MTRRCAP
    { 1, 0, EDX_, 14, RD, 0x179 },         // MCA: IA32_MCG_CAP
    { 1, 0, ECX_, 7, RD, 0x198 },          // EIST: IA32_PERF_STATUS
    { 1, 0, ECX_, 15, RD, 0x345 },         // PDCM: IA32_PERF_CAPABILITIES
    { 1, 0, ECX_, 24, RD, 0x6e0 },         // TSC-deadline: IA32_TSC_DEADLINE
    { 1, 0, ECX_, 30, RUN, INSN_RDRAND },  // RDRAND
    { 7, 0, EBX_, 18, RUN, INSN_RDSEED },  // RDSEED
    { 7, 0, EBX_, 12, RD, 0xc8f },         // RDT-M: IA32_PQR_ASSOC
    { 7, 0, EBX_, 25, RD, 0x570 },         // Processor Trace: IA32_RTIT_CTL
    { 7, 0, ECX_, 22, RUN, INSN_RDPID },   // RDPID
    { 7, 0, EDX_, 13, RD, 0x10f },         // TSX_FORCE_ABORT
    { 7, 0, EDX_, 26, RD, 0x48 },          // IBRS/IBPB: IA32_SPEC_CTRL...
    { 7, 0, EDX_, 26, WR1, 0x49 },         // ...and IA32_PRED_CMD
    { 7, 0, EDX_, 27, RD, 0x48 },          // STIBP
    { 7, 0, EDX_, 28, WR1, 0x10b },        // L1D_FLUSH: IA32_FLUSH_CMD
    { 7, 0, EDX_, 29, RD, 0x10a },         // IA32_ARCH_CAPABILITIES
    { 7, 0, EDX_, 30, RD, 0xcf },          // IA32_CORE_CAPABILITIES
    { 7, 0, EDX_, 31, RD, 0x48 },          // SSBD
    { 7, 2, EDX_, 0, RD, 0x48 },           // PSFD
    { 7, 2, EDX_, 4, RD, 0x48 },           // BHI_CTRL
    { 7, 2, EDX_, 6, RD, 0x33 },           // UC-lock disable: MSR_MEMORY_CTRL
    { 0xd, 1, EAX_, 4, RD, 0x1c4 },        // XFD: IA32_XFD
    { 0xd, 1, ECX_, 8, RD, 0xda0 },        // PT state: IA32_XSS
    { 0xd, 1, ECX_, 11, RD, 0xda0 },       // CET_U state: IA32_XSS
    { 0x80000001, 0, EDX_, 27, RUN, INSN_RDTSCP }, // RDTSCP...
    { 0x80000001, 0, EDX_, 27, RD, MSR_TSC_AUX_INDEX }, // ...and IA32_TSC_AUX
    { 0x80000008, 0, EBX_, 12, WR1, 0x49 }, // IBPB (AMD's bit)
    { 0x80000008, 0, EBX_, 14, RD, 0x48 },  // IBRS (AMD's bit)
    { 0x80000008, 0, EBX_, 24, RD, 0x48 },  // SSBD (AMD's bit)
    { 0x80000008, 0, EBX_, 25, RD, 0xc001011f }, // VIRT_SSBD: VIRT_SPEC_CTRL
};

// Each promise above kept; and the hypervisors' range of leaves is vmxlab's
// own: leaf 0x40000000 says "vmxlab", every other leaf up to 0x4fffffff reads
// 0, whatever the CPU (or a hypervisor under vmxlab) answers there.
static void promises_kept(void)
{
    for (unsigned i = 0; i < sizeof(promises) / sizeof(promises[0]); i++) {
        uint32_t r[4];
        cpuid(promises[i].leaf, promises[i].sub, r);
        if (!(r[promises[i].reg] & (1u << promises[i].bit)))
            continue;
        uint64_t v;
        int got = promises[i].how == RD    ? try_rdmsr(promises[i].what, &v)
                  : promises[i].how == WR1 ? try_wrmsr(promises[i].what, 1)
                                           : try_insn((enum insn)promises[i].what);
        expect(got == -1, "promised by CPUID (fault vector, 0: none): MSR or enum insn",
               promises[i].what, got < 0 ? 0 : (uint64_t)got, 0);
    }
    uint32_t r[4];
    cpuid(0x40000000, 0, r);
    expect(r[1] == 0x6c786d76 && r[2] == 0x6261 && r[3] == 0, "CPUID leaf", 0x40000000, r[1],
           0x6c786d76);
    static const uint32_t none[] = { 0x40000001, 0x40000100, 0x40000101, 0x40001000,
                                     0x4fffffff };
    for (unsigned i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        cpuid(none[i], 0, r);
        expect((r[0] | r[1] | r[2] | r[3]) == 0, "CPUID leaf (EAX|EBX|ECX|EDX)", none[i],
               r[0] | r[1] | r[2] | r[3], 0);
    }
}

// Whether an access of size bytes at port reaches a port of the virtual PC's devices
// (abi.h PC_PORTS), whose answers are documented otherwise and tested elsewhere; some
// end the run (0xf4, the reset ports, Bochs' shutdown port).
static bool touches_a_device(uint16_t port, unsigned size)
{
    static const struct { uint16_t base, len; } ports[] = {
#define PORTS_ROW(base, len) { base, len },
        PC_PORTS(PORTS_ROW)
#undef PORTS_ROW
    };
    for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        if (port < ports[i].base + ports[i].len && ports[i].base < port + size)
            return true;
    return false;
}

// HOSTILE_CPUID_MSR_IO. CPUID: always answers, never says VMX, always says a
// hypervisor is there, the same answer twice. MSRs: an index the guest does not
// have raises #GP(0) on RDMSR and WRMSR; one it has reads without a fault
// where its row says so. I/O: every port but the virtual PC's devices' (abi.h
// PC_PORTS: COM1, the guest's console, 0xf4, which ends the run, and the rest)
// is an empty bus: reads all ones, writes vanish.
static bool random_cpuid_msr_io(uint64_t host)
{
    promises_kept();
    for (unsigned i = 0; i < HOSTILE_OPS; i++) {
        uint32_t leaf = rnd() % 3 ? (uint32_t)(rnd() % 0x20) | (rnd() % 2 ? 0x80000000u : 0)
                                  : (uint32_t)rnd();
        uint32_t sub = (uint32_t)(rnd() % 4), a[4], b[4];
        cpuid(leaf, sub, a);
        cpuid(leaf, sub, b);
        expect(a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3],
               "CPUID twice differs, leaf", leaf, a[0] ^ b[0], 0);
        if (leaf == 1)
            expect((a[2] & (1u << 5)) == 0 && (a[2] & (1u << 31)), "CPUID.1:ECX", leaf, a[2],
                   (a[2] | 1u << 31) & ~(1u << 5));

        uint32_t index = random_msr();
        int row = msr_row(index, host);
        uint64_t val;
        int v = try_rdmsr(index, &val);
        if (row < 0 || msrs[row].read == GP)
            expect(v == VEC_GP && trap_error == 0, "RDMSR", index, (uint64_t)v, VEC_GP);
        else
            expect(v == -1, "RDMSR", index, (uint64_t)v, (uint64_t)-1);
        if (row < 0 || msrs[row].write == GP) {
            v = try_wrmsr(index, rnd());
            expect(v == VEC_GP && trap_error == 0, "WRMSR", index, (uint64_t)v, VEC_GP);
        }

        uint16_t port = (uint16_t)rnd();
        unsigned size = 1u << (rnd() % 3);
        if (touches_a_device(port, size) || port > 0x10000 - size)
            continue; // the devices: documented otherwise, tested elsewhere
        out_port(port, size, (uint32_t)rnd());
        uint32_t ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
        uint32_t got = in_port(port, size) & ones;
        expect(got == ones, "IN from the empty port", port, got, ones);
    }
    return group_done("CPUID's promises kept; random CPUID leaves, MSR indices and I/O ports");
}

// HOSTILE_INSNS: every VMX instruction raises #UD (no nested VMX); XSETBV
// raises #UD while CR4.OSXSAVE is 0, and #GP(0) for ECX not 0, x87 (bit 0)
// clear, or a bit beyond what CPUID.(0DH,0) offers (SDM 2 XSETBV, SDM 1 13.3);
// a valid value lands and XGETBV reads it back.
static bool bad_instructions(void)
{
    for (enum insn i = INSN_VMXON; i < INSN_COUNT; i++) {
        int v = try_insn(i);
        expect(v == VEC_UD, insn_name(i), i, (uint64_t)v, VEC_UD);
    }
    uint64_t cr4 = read_cr4();
    uint32_t l1[4], ld[4];
    cpuid(1, 0, l1);
    expect(try_xsetbv(0, 1) == VEC_UD, "XSETBV with CR4.OSXSAVE 0", 1, 0, VEC_UD);
    if (l1[2] & (1u << 26)) { // XSAVE: OSXSAVE may be set
        write_cr4(cr4 | CR4_OSXSAVE);
        cpuid(0xd, 0, ld);
        uint64_t supported = (uint64_t)ld[3] << 32 | ld[0];
        const struct { uint32_t ecx; uint64_t val; } bad[] = {
            { 1, 1 }, { 0, 0 }, { 0, 2 }, { 0, 1ull << 63 }, { 0, ~supported | 1 },
        };
        for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            int v = try_xsetbv(bad[k].ecx, bad[k].val);
            expect(v == VEC_GP && trap_error == 0, "XSETBV (bad)", bad[k].val, (uint64_t)v,
                   VEC_GP);
        }
        uint64_t good = supported & 3; // x87, and SSE where offered
        expect(try_xsetbv(0, good) == -1, "XSETBV (valid)", good, 0, 0);
        uint32_t lo, hi;
        asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        expect(((uint64_t)hi << 32 | lo) == good, "XGETBV after XSETBV", good,
               (uint64_t)hi << 32 | lo, good);
        try_xsetbv(0, 1);
        write_cr4(cr4);
    }
    return group_done("the VMX instructions and bad XSETBVs");
}

// What a guest may dirty: its RAM below the image (but the page of its
// parameters) and the 2 MiB above it; the image, stack and tables are reloaded.
static const struct { uint64_t start, end; } free_ram[] = {
    { 0x2000, GUEST_LOAD_GPA }, { 0x200000, GUEST_RAM_SIZE },
};

static bool ram_dirty(void)
{
    for (unsigned r = 0; r < 2; r++)
        for (uint64_t a = free_ram[r].start; a < free_ram[r].end; a += 8)
            *(volatile uint64_t *)a = 0xa5a5a5a5a5a5a5a5ull ^ a;
    return hc_report(*(volatile uint64_t *)0x3ff000 == (0xa5a5a5a5a5a5a5a5ull ^ 0x3ff000),
                     "guest RAM dirtied, for the next run to find zeroed");
}

static bool ram_check(void)
{
    for (unsigned r = 0; r < 2; r++)
        for (uint64_t a = free_ram[r].start; a < free_ram[r].end; a += 8) {
            uint64_t v = *(volatile uint64_t *)a;
            expect(v == 0, "guest RAM left by the last run at", a, v, 0);
        }
    return group_done("guest RAM at entry is all zero, whatever the last run left");
}

int guest_main(struct guest_params *p)
{
    rng = p->seed * 0x9e3779b97f4a7c15ull | 1; // never 0: xorshift would stay there
    bool ok = true;
    if (p->flags & HOSTILE_CR)
        ok &= random_cr();
    if (p->flags & HOSTILE_CPUID_MSR_IO)
        ok &= random_cpuid_msr_io(p->host);
    if (p->flags & HOSTILE_INSNS)
        ok &= bad_instructions();
    if (p->flags & HOSTILE_RAM_DIRTY)
        ok &= ram_dirty();
    if (p->flags & HOSTILE_RAM_CHECK)
        ok &= ram_check();
    return ok ? 0 : 1;
}
