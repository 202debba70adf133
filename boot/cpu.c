// cpu.c: the descriptor tables a VMX host needs, and the last-resort trap
// handler. kmain() calls cpu_init() once: it fills the TSS descriptor that
// boot/entry.S left empty and loads TR (VM entry needs a usable host TR,
// SDM 3C 27.2.3), loads an IDT whose 32 exception vectors all reach
// trap_handler(), and masks the 8259 interrupt controllers: the host takes no
// interrupts, and none may reach a guest (mask_interrupt_sources() does the
// same for the APICs). #DF, NMI and #MC run on their own IST stack so that
// even a stack overflow is reported instead of ending in a triple fault. An
// NMI is counted (struct events) and the host goes on. The identity map's
// helpers (memory above 4 GiB, the framebuffer write-combining) end the file.
#include "boot.h"
#include "x86.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type; // type 0x8e: present, DPL 0, 64-bit interrupt gate
    uint16_t off_mid;
    uint32_t off_hi, reserved;
} __attribute__((packed));

struct trapframe {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern uint64_t gdt[];
extern uint64_t pml4[];
extern const uint64_t trap_stubs[32];

static struct tss tss;
static struct idt_gate idt[32];
static uint8_t ist_stack[ISTSTACK_SIZE] __attribute__((aligned(16)));

static const char *const vector_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD exception", "#VE virtualization exception",
    "#CP control protection", [22 ... 31] = "reserved",
};

void cpu_init(void)
{
    extern char stack_top[];
    tss.rsp[0] = (uint64_t)stack_top;
    tss.ist[0] = (uint64_t)ist_stack + sizeof(ist_stack);
    tss.iomap_base = sizeof(tss); // no I/O permission bitmap

    // 64-bit TSS descriptor, SDM 3A 8.2.3: type 9 (available), present.
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
                       ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[SEL_TSS / 8 + 1] = base >> 32;
    asm volatile("ltr %w0" ::"r"(SEL_TSS));

    for (int v = 0; v < 32; v++) {
        uint64_t off = trap_stubs[v];
        idt[v] = (struct idt_gate){
            .off_lo = off & 0xffff, .sel = SEL_CODE64, .type = 0x8e,
            .ist = (v == 2 || v == 8 || v == 18) ? 1 : 0,
            .off_mid = (off >> 16) & 0xffff, .off_hi = off >> 32,
        };
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
    asm volatile("lidt %0" ::"m"(idtr));

    // Mask every IRQ line of both 8259 PICs (OCW1 to the data ports). The BIOS
    // leaves IRQ0, the PIT's 18.2 Hz tick, unmasked.
    outb(0x21, 0xff);
    outb(0xa1, 0xff);

    // CR4.OSXSAVE where the CPU has XSAVE (CPUID.1:ECX[26]): the host itself
    // uses no extended state, but XSETBV, which hv/exit/exit.c executes for
    // guests, and the XRSTOR that resets their state need it (SDM 1 13.3).
    uint32_t id[4];
    cpuid(1, 0, id);
    if (id[2] & BIT(26))
        write_cr4(read_cr4() | CR4_OSXSAVE);
}

volatile struct events events;

// The local APIC's registers: MMIO at IA32_APIC_BASE, or MSRs 0x800 + offset/16
// in x2APIC mode (SDM 3A 11.4.1, 11.12.1). Identity-mapped below 4 GiB.
static uint64_t apic_base(void)
{
    uint64_t b = rdmsr(MSR_APIC_BASE);
    return b & APIC_BASE_ENABLE ? b : 0;
}

static uint32_t apic_read(uint64_t base, unsigned reg)
{
    if (base & APIC_BASE_X2APIC)
        return (uint32_t)rdmsr(0x800 + reg / 16);
    return *(volatile uint32_t *)((base & ~0xfffull) + reg);
}

static void apic_write(uint64_t base, unsigned reg, uint32_t v)
{
    if (base & APIC_BASE_X2APIC)
        wrmsr(0x800 + reg / 16, v);
    else
        *(volatile uint32_t *)((base & ~0xfffull) + reg) = v;
}

// End of interrupt for a vector that "acknowledge interrupt on exit" took
// from its controller (hv/exit/exit.c): the local APIC if the vector is in service
// there (its ISR, SDM 3A 11.8.4), else the 8259s, slave first for its lines
// (the BIOS puts them at 0x70-0x77).
void interrupt_eoi(unsigned vector)
{
    uint64_t base = apic_base();
    if (base && (apic_read(base, 0x100 + (vector / 32) * 0x10) & (1u << (vector % 32)))) {
        apic_write(base, 0xb0, 0);
        return;
    }
    if (vector >= 0x70 && vector <= 0x77)
        outb(0xa0, 0x20);
    outb(0x20, 0x20);
}

// disturb=nmi: the PIT's tick as an NMI, the way a hardware watchdog sends
// them. The I/O APIC (at its usual address, 0xfec00000: a test hook, not
// read from ACPI) routes input pins 0 and 2, where the PIT's IRQ0 arrives,
// to this CPU with delivery mode NMI (100b), edge-triggered (SDM 3A 11.6.1 for
// the modes; Intel 82093AA I/O APIC datasheet, 3.2.4, for the redirection
// table). NMIs then arrive in host and guest alike, at 18.2 Hz.
#define IOAPIC 0xfec00000ull
static void ioapic_write(unsigned reg, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC = reg;          // IOREGSEL
    *(volatile uint32_t *)(IOAPIC + 0x10) = v;   // IOWIN
}

void timer_as_nmi(bool on)
{
    uint64_t base = apic_base();
    if (!base)
        return;
    uint32_t id = base & APIC_BASE_X2APIC ? (uint32_t)rdmsr(0x802) : apic_read(base, 0x20) >> 24;
    for (unsigned pin = 0; pin <= 2; pin += 2) {
        ioapic_write(0x11 + 2 * pin, id << 24);               // destination
        ioapic_write(0x10 + 2 * pin, on ? 4u << 8 : 1u << 16); // NMI, or masked
    }
}

static uint32_t ioapic_read(unsigned reg)
{
    *(volatile uint32_t *)IOAPIC = reg;
    return *(volatile uint32_t *)(IOAPIC + 0x10);
}

// Interrupt sources firmware can leave armed, which would then mark runs
// disturbed for nothing: every local APIC LVT entry (SDM 3A 11.5.1, Local
// Vector Table; how many exist: Max LVT Entry, version register bits 23:16,
// as Linux's lapic_get_maxlvt() reads it) and every I/O APIC redirection
// entry (82093AA datasheet 3.2.4; how many: its version register, index 1,
// bits 23:16) gets its mask bit, 16 in both. Two kinds stay: ExtINT, the
// 8259s' way in, whose lines cpu_init() has masked (disturb=timer opens
// IRQ0), and LINT1 as NMI, where a board signals errors (IOCHK, SERR): Linux
// keeps that one on its boot CPU too. The watchdog's and disturb=nmi's NMIs
// are set up per run by timer_as_nmi(). One line names what was masked.
#define LVT_MASKED (1u << 16)
#define DELIVERY(v) (((v) >> 8) & 7) // delivery mode, bits 10:8
#define DM_NMI 4
#define DM_EXTINT 7
void mask_interrupt_sources(void)
{
    static const struct {
        unsigned reg, min_max_lvt; // the register, and the Max LVT Entry it needs
        const char *name;
    } lvt[] = {
        { 0x320, 0, "timer" }, { 0x350, 0, "LINT0" }, { 0x360, 0, "LINT1" },
        { 0x370, 3, "error" }, { 0x340, 4, "performance counters" },
        { 0x330, 5, "thermal sensor" }, { 0x2f0, 6, "CMCI" },
    };
    char what[160] = "";
    size_t at = 0;
    unsigned masked = 0;
    uint64_t base = apic_base();
    unsigned max_lvt = base ? (apic_read(base, 0x30) >> 16) & 0xff : 0;
    for (unsigned i = 0; base && i < ARRAY_SIZE(lvt); i++) {
        if (max_lvt < lvt[i].min_max_lvt)
            continue;
        uint32_t v = apic_read(base, lvt[i].reg);
        if ((v & LVT_MASKED) || DELIVERY(v) == DM_EXTINT ||
            (lvt[i].reg == 0x360 && DELIVERY(v) == DM_NMI))
            continue;
        apic_write(base, lvt[i].reg, v | LVT_MASKED);
        at += snprintf(what + at, sizeof(what) - at, "%s%s", masked++ ? ", " : "local APIC ",
                       lvt[i].name);
    }
    // No I/O APIC there: the bus reads all ones. A version of 0x11 (82093AA)
    // to 0x20 (chipsets since) with up to 240 entries is one.
    uint32_t ver = ioapic_read(1);
    unsigned entries = ((ver >> 16) & 0xff) + 1, pins = 0;
    if ((ver & 0xff) < 0x11 || (ver & 0xff) > 0x2f || entries > 240)
        entries = 0;
    for (unsigned pin = 0; pin < entries; pin++) {
        uint32_t v = ioapic_read(0x10 + 2 * pin);
        if ((v & LVT_MASKED) || DELIVERY(v) == DM_EXTINT)
            continue;
        ioapic_write(0x10 + 2 * pin, v | LVT_MASKED);
        at += snprintf(what + at, sizeof(what) - at, "%s%u", pins++ ? ", " : masked ?
                       "; I/O APIC pin " : "I/O APIC pin ", pin);
        masked++;
    }
    if (masked)
        kprintf("vmxlab: masked %u interrupt source%s the firmware left armed: %s\n", masked,
                masked == 1 ? "" : "s", what);
}

// disturb=timer: the PIT's IRQ0 through the master 8259 while guests run;
// external-interrupt exiting takes it, never the guest.
void pic_unmask_timer(bool on)
{
    outb(0x21, on ? 0xfe : 0xff);
}

uint64_t cpu_tss_base(void)
{
    return (uint64_t)&tss;
}

// The exception table (EXTABLE in x86.h): where an instruction that may fault
// on a guest's value resumes, and the vector it raised.
struct extable_row {
    int32_t insn, fixup; // each an offset from its own address
};
extern const struct extable_row extable_start[], extable_end[]; // linker.ld
volatile unsigned fixup_vector;

// Called from trap_common with interrupts off. An NMI is the machine's: count
// it and go on (trap_common's IRETQ ends the NMI blocking). An exception at an
// instruction of the exception table resumes at its fixup; NMI, #DF and #MC
// are never the instruction's own, so they never do. Anything else is a
// kernel bug (or a test that meant to fault): report all we know.
void trap_handler(struct trapframe *f)
{
    if (f->vector == VEC_NMI) {
        if (events.nmi_watchdog)
            events.watchdog_nmis++;
        else
            events.nmis++;
        return;
    }
    if (f->vector != VEC_DF && f->vector != VEC_MC) {
        for (const struct extable_row *e = extable_start; e < extable_end; e++) {
            if (f->rip == (uint64_t)&e->insn + e->insn) {
                fixup_vector = (unsigned)f->vector;
                f->rip = (uint64_t)&e->fixup + e->fixup;
                return;
            }
        }
    }
    static int depth;
    if (depth++) { // faulted while reporting a fault: stop without printing more
        if (cfg.end == END_POWEROFF)
            outl(0xf4, verdict_qemu_code(VERDICT_CRASH));
        for (;;)
            asm volatile("cli; hlt");
    }
    kprintf("\nvmxlab: CRASH: exception %lu (%s), error code 0x%lx\n", f->vector,
            vector_names[f->vector & 31], f->error);
    extern char stack_guard[]; // boot/entry.S: the unmapped page below the boot stack
    uint64_t guard = (uint64_t)stack_guard;
    if (read_cr2() - guard < 4096 || f->rsp - guard < 4096)
        kprintf("  the boot stack overflowed into its guard page at 0x%lx (%u KiB of stack)\n",
                guard, KSTACK_SIZE / 1024);
    kprintf("  rip %016lx  cs %04lx  rflags %016lx  cr2 %016lx\n", f->rip, f->cs,
            f->rflags, read_cr2());
    kprintf("  rsp %016lx  ss %04lx  cr0 %016lx  cr3 %016lx  cr4 %016lx\n", f->rsp,
            f->ss, read_cr0(), read_cr3(), read_cr4());
    kprintf("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", f->rax, f->rbx,
            f->rcx, f->rdx);
    kprintf("  rsi %016lx  rdi %016lx  rbp %016lx  r8  %016lx\n", f->rsi, f->rdi,
            f->rbp, f->r8);
    kprintf("  r9  %016lx  r10 %016lx  r11 %016lx  r12 %016lx\n", f->r9, f->r10,
            f->r11, f->r12);
    kprintf("  r13 %016lx  r14 %016lx  r15 %016lx\n", f->r13, f->r14, f->r15);
    kprintf("  look the rip up in build/kernel.asm or build/kernel.map\n");
    end_run(VERDICT_CRASH);
}

// boot/entry.S maps 0-4 GiB. Anything above (a framebuffer, say) gets 2 MiB
// pages from a small pool of page tables here, which also gives the tables
// that split a 2 MiB page into 4 KiB ones (map_write_combining()).
static uint64_t *alloc_table(void)
{
    static uint64_t pool[8][512] __attribute__((aligned(4096)));
    static unsigned used;
    if (used == ARRAY_SIZE(pool)) {
        kprintf("vmxlab: out of page tables for the identity map\n");
        end_run(VERDICT_CRASH);
    }
    return pool[used++];
}

static uint64_t *next_table(uint64_t *entry)
{
    if (!(*entry & PTE_P))
        *entry = (uint64_t)alloc_table() | PTE_P | PTE_W;
    return (uint64_t *)(*entry & ~0xfffull);
}

void map_identity(uint64_t addr, uint64_t len)
{
    const uint64_t page = 2ull << 20;
    for (uint64_t a = addr & ~(page - 1); a < addr + len; a += page) {
        if (a < (4ull << 30))
            continue;
        uint64_t *pdp = next_table(&pml4[(a >> 39) & 511]);
        uint64_t *pdir = next_table(&pdp[(a >> 30) & 511]);
        pdir[(a >> 21) & 511] = a | PTE_P | PTE_W | PTE_PS;
    }
    write_cr3(read_cr3()); // flush the TLB
}

#define MT_BITS (PTE_PWT | PTE_PCD | PTE_PAT)              // a 4 KiB page's memory type
#define MT_BITS_LARGE (PTE_PWT | PTE_PCD | PTE_PAT_LARGE)  // a 2 MiB page's

// A 2 MiB page as 512 pages of 4 KiB with the same rights and memory type,
// so that part of it can take another type (PAT moves from bit 12 to 7).
static uint64_t *split_large(uint64_t *pde)
{
    uint64_t *pt = alloc_table(), e = *pde;
    uint64_t flags = (e & (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)) |
                     (e & PTE_PAT_LARGE ? PTE_PAT : 0);
    for (unsigned i = 0; i < 512; i++)
        pt[i] = ((e & ~0x1fffffull & ~PTE_NX) + ((uint64_t)i << 12)) | flags;
    *pde = (uint64_t)pt | PTE_P | PTE_W | (e & PTE_U);
    return pt;
}

// [addr, addr + len) write-combining: uncached, but writes are gathered into
// bursts instead of going out one by one, which is what a framebuffer the
// console only writes wants. IA32_PAT gets PAT_KERNEL, whose PA1 is WC and
// whose PA0, which every other mapping selects, stays WB; the range's entries
// then select PA1. Exactly the range's 4 KiB pages: a 2 MiB page it covers
// whole takes the type in its PDE, one it covers in part is split first, so
// nothing next to the framebuffer changes type. A WC PAT entry wins over the
// UC (or WB) an MTRR gives a framebuffer (SDM 3A 12.5.2.2, Selecting Memory
// Types for Pentium III and More Recent Processor Families: the table of
// effective memory types). The range must be mapped already (entry.S or
// map_identity()) and not yet used: the TLB flush and WBINVD that follow
// leave no line or translation of the old type (SDM 3A 12.12.4, Programming
// the PAT). False, and no entry changed, without PAT (CPUID.1:EDX[16]) or
// where IA32_PAT does not keep the value.
bool map_write_combining(uint64_t addr, uint64_t len)
{
    uint32_t id[4];
    cpuid(1, 0, id);
    if (!(id[3] & BIT(16)) || !len)
        return false;
    wrmsr(MSR_PAT, PAT_KERNEL);
    if (rdmsr(MSR_PAT) != PAT_KERNEL)
        return false; // PA1 is still what it was: no entry selects it yet
    const uint64_t wc = pat_pte_bits(PAT_KERNEL, MT_WC, false);
    const uint64_t wc_large = pat_pte_bits(PAT_KERNEL, MT_WC, true);
    const uint64_t large = 2ull << 20;
    uint64_t end = ALIGN_UP(addr + len, 4096);
    for (uint64_t a = addr & ~0xfffull; a < end;) {
        uint64_t *pdp = (uint64_t *)(pml4[(a >> 39) & 511] & ~0xfffull);
        uint64_t *pd = (uint64_t *)(pdp[(a >> 30) & 511] & ~0xfffull);
        uint64_t *pde = &pd[(a >> 21) & 511];
        if (*pde & PTE_PS) {
            if (!(a & (large - 1)) && end - a >= large) {
                *pde = (*pde & ~(uint64_t)MT_BITS_LARGE) | wc_large;
                a += large;
                continue;
            }
            split_large(pde);
        }
        uint64_t *pt = (uint64_t *)(*pde & ~0xfffull);
        for (uint64_t stop = (a | (large - 1)) + 1; a < end && a < stop; a += 4096)
            pt[(a >> 12) & 511] = (pt[(a >> 12) & 511] & ~(uint64_t)MT_BITS) | wc;
    }
    write_cr3(read_cr3());
    asm volatile("wbinvd" ::: "memory");
    return true;
}
