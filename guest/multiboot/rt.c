// rt.c: the C half of the test kernels' runtime, built once as 64-bit and once as 32-bit
// code. entry.S calls rt_start() on the runtime's GDT and stack; rt_start() sets up COM1
// and the IDT, checks the multiboot magic, splits the command line into the kernel's
// name and its arguments, runs kmain() and writes its value to port 0xf4 (isa-debug-exit).
// Interrupts stay off throughout: no kernel here takes one.
#include "mbk.h"

uint32_t boot_state[BS_WORDS];
static char name_buf[64];
const char *kernel_name = "kernel";

// Flat segments, base 0, limit 4 GiB (SDM 3A 3.4.5): 0x08 64-bit code (L = 1, D = 0),
// 0x10 data, 0x18 32-bit code (D = 1). entry.S loads it with LGDT in 32-bit mode, which
// reads the limit and a 32-bit base.
static const uint64_t gdt[] = { 0, 0x00af9a000000ffff, 0x00cf92000000ffff, 0x00cf9a000000ffff };
const struct __attribute__((packed)) {
    uint16_t limit;
    unsigned long base;
} gdt_desc = { sizeof(gdt) - 1, (uintptr_t)gdt };

// --- COM1: a 16550 at 0x3f8, programmed as start-up code does -------------------------

void com1_init(void)
{
    outb(COM1 + 1, 0x00); // IER: no interrupts
    outb(COM1 + 3, 0x80); // LCR.DLAB = 1: offsets 0 and 1 are the divisor latch
    outb(COM1 + 0, 0x01); // DLL: divisor 1, 115200 baud
    outb(COM1 + 1, 0x00); // DLM
    outb(COM1 + 3, 0x03); // LCR: 8 data bits, no parity, 1 stop bit, DLAB = 0
    outb(COM1 + 2, 0xc7); // FCR: FIFOs on and cleared, trigger level 14
    outb(COM1 + 4, 0x03); // MCR: DTR and RTS
}

// LSR bit 5 (THR empty) before each byte, as every driver does.
void com1_putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

// lib/printf.c's kprintf() writes here.
void console_write(const char *s, size_t n)
{
    while (n--)
        com1_putc(*s++);
}

// --- Report lines -------------------------------------------------------------------

static unsigned passed, failed;

bool report(bool ok, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    kprintf("%s: %s\n", ok ? "PASS" : "FAIL", buf);
    if (ok)
        passed++;
    else
        failed++;
    return ok;
}

void report_summary(void) { kprintf("%u passed, %u failed\n", passed, failed); }
unsigned report_failed(void) { return failed; }

__attribute__((noreturn)) void mb_exit(uint32_t code)
{
    outl(DEBUG_EXIT, code);
    for (;;) // no isa-debug-exit device: stop here
        asm volatile("cli; hlt");
}

// --- The command line ----------------------------------------------------------------

const char *base_name(const char *path, size_t *len)
{
    const char *start = path, *p = path;
    for (; *p && *p != ' '; p++)
        if (*p == '/')
            start = p + 1;
    *len = (size_t)(p - start);
    return start;
}

bool arg_uint(const char *args, const char *key, uint32_t *val)
{
    size_t klen = strlen(key);
    for (const char *w = args; *w;) {
        while (*w == ' ')
            w++;
        if (!strncmp(w, key, klen) && w[klen] == '=') {
            const char *d = w + klen + 1;
            unsigned base = 10;
            if (d[0] == '0' && d[1] == 'x') {
                base = 16;
                d += 2;
            }
            uint32_t v = 0;
            for (;; d++) {
                unsigned digit = *d >= '0' && *d <= '9' ? (unsigned)(*d - '0')
                               : *d >= 'a' && *d <= 'f' ? (unsigned)(*d - 'a' + 10) : 99;
                if (digit >= base)
                    break;
                v = v * base + digit;
            }
            *val = v;
            return true;
        }
        while (*w && *w != ' ')
            w++;
    }
    return false;
}

// --- fw_cfg ---------------------------------------------------------------------------

void fw_cfg_read(uint16_t key, void *buf, size_t n)
{
    outw(FW_CFG_SEL, key); // selecting a key also rewinds its item to offset 0
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = inb(FW_CFG_DATA);
}

// --- Exceptions -------------------------------------------------------------------------

// traps.S pushes the vector (and 0 where the CPU pushes no error code), then calls
// trap() with a pointer to this: the stub's two words, then the CPU's frame.
struct trap_frame {
    unsigned long vector, error, ip, cs, flags;
};

extern char trap_stubs[];
static volatile unsigned long fixup_ip; // where an armed try_ function resumes, or 0
static volatile int trap_vector;
volatile unsigned long trap_error, trap_cr2;

// 32 interrupt gates (type 0xe: IF stays 0), DPL 0, present. SDM 3A 6.11 (32-bit IDT
// gate descriptors) and 6.14.1 (64-bit: 16 bytes, the last 8 hold offset 63:32, here 0).
#ifdef __x86_64__
#define GATE_WORDS 2
#define SEL_KCODE SEL_CODE64
#else
#define GATE_WORDS 1
#define SEL_KCODE SEL_CODE32
#endif
static uint64_t idt[32 * GATE_WORDS];

static void idt_init(void)
{
    for (unsigned v = 0; v < 32; v++) {
        uint32_t addr = (uint32_t)(uintptr_t)(trap_stubs + TRAP_STUB_SIZE * v);
        idt[v * GATE_WORDS] = (addr & 0xffff) | (uint32_t)SEL_KCODE << 16 |
                              (uint64_t)((addr & 0xffff0000) | 0x8e00) << 32;
    }
    struct __attribute__((packed)) {
        uint16_t limit;
        unsigned long base;
    } desc = { sizeof(idt) - 1, (uintptr_t)idt };
    asm volatile("lidt %0" ::"m"(desc));
}

// The SDM's mnemonics, Table 6-1 ("Protected-Mode Exceptions and Interrupts").
static const char *vector_name(int v)
{
    static const char *const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#9", "#TS",
        "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    };
    return v >= 0 && v < 32 && names[v] ? names[v] : "#?";
}

void trap(struct trap_frame *f)
{
    if (fixup_ip && f->vector < 32) {
        trap_vector = (int)f->vector;
        trap_error = f->error;
        trap_cr2 = f->vector == VEC_PF ? read_cr2() : 0;
        f->ip = fixup_ip;
        fixup_ip = 0;
        return;
    }
    kprintf("%s: unexpected exception %u %s, error code 0x%llx, at 0x%llx, CR2 0x%llx\n",
            kernel_name, (unsigned)f->vector, vector_name((int)f->vector),
            (unsigned long long)f->error,
            (unsigned long long)f->ip, (unsigned long long)read_cr2());
    report_summary();
    mb_exit(3);
}

// Each try_ function arms the fixup with the address of local label 1, just past its one
// instruction: trap() resumes there if the instruction faults. $1f is a 32-bit
// immediate: everything here lies below 4 GiB.
#define TRY_ARM "mov $1f, %[t]\n\tmov %[t], %[fix]\n\t"
static int try_done(void)
{
    fixup_ip = 0;
    return trap_vector;
}

int try_write32(volatile uint32_t *p, uint32_t v)
{
    unsigned long t;
    trap_vector = -1;
    asm volatile(TRY_ARM "movl %[v], %[dst]\n1:"
                 : [t] "=&r"(t), [fix] "=m"(fixup_ip), [dst] "=m"(*p) : [v] "r"(v) : "memory");
    return try_done();
}

int try_read32(const volatile uint32_t *p, uint32_t *v)
{
    unsigned long t;
    uint32_t val = 0;
    trap_vector = -1;
    asm volatile(TRY_ARM "movl %[src], %[val]\n1:"
                 : [t] "=&r"(t), [fix] "=m"(fixup_ip), [val] "+r"(val) : [src] "m"(*p)
                 : "memory");
    *v = val;
    return try_done();
}

#define TRY_MOV_CR(n)                                                                     \
    int try_write_cr##n(unsigned long v)                                                  \
    {                                                                                     \
        unsigned long t;                                                                  \
        trap_vector = -1;                                                                 \
        asm volatile(TRY_ARM "mov %[v], %%cr" #n "\n1:"                                    \
                     : [t] "=&r"(t), [fix] "=m"(fixup_ip) : [v] "r"(v) : "memory");       \
        return try_done();                                                                \
    }
TRY_MOV_CR(0)
TRY_MOV_CR(3)
TRY_MOV_CR(4)

int try_wrmsr(uint32_t msr, uint64_t v)
{
    unsigned long t;
    trap_vector = -1;
    asm volatile(TRY_ARM "wrmsr\n1:"
                 : [t] "=&r"(t), [fix] "=m"(fixup_ip)
                 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                 : "memory");
    return try_done();
}

// "no fault", "#GP(0x0)", "#PF(0x3) CR2 0x...".
static void describe(char *buf, size_t size, int vector, unsigned long error, unsigned long cr2)
{
    if (vector < 0)
        snprintf(buf, size, "no fault");
    else if (vector == VEC_PF)
        snprintf(buf, size, "#PF(0x%llx) CR2 0x%llx", (unsigned long long)error,
                 (unsigned long long)cr2);
    else
        snprintf(buf, size, "%s(0x%llx)", vector_name(vector), (unsigned long long)error);
}

bool expect_fault(int got, int vector, unsigned long error, unsigned long cr2,
                  const char *fmt, ...)
{
    char what[160], want[64], seen[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    unsigned long got_error = got < 0 ? 0 : trap_error, got_cr2 = got < 0 ? 0 : trap_cr2;
    bool ok = got == vector && (vector < 0 || (got_error == error &&
                                               (vector != VEC_PF || got_cr2 == cr2)));
    describe(want, sizeof(want), vector, error, cr2);
    describe(seen, sizeof(seen), got, got_error, got_cr2);
    if (ok)
        return report(true, "%s: %s", what, want);
    return report(false, "%s: %s expected, got %s", what, want, seen);
}

// --- The start ----------------------------------------------------------------------

// Multiboot 0.6.96 3.2: EAX holds the magic, EBX the information block. The command
// line is "file args" (QEMU and GRUB write the kernel's file name first): the name is
// the last path component of the first word.
__attribute__((noreturn)) void rt_start(void)
{
    com1_init();
    idt_init();
    struct mb_info *mbi = (struct mb_info *)(uintptr_t)boot_state[BS_EBX];
    if (boot_state[BS_EAX] != MB_BOOT_MAGIC) {
        kprintf("kernel: EAX is 0x%x at entry, not the multiboot magic 0x%x\n",
                boot_state[BS_EAX], MB_BOOT_MAGIC);
        mb_exit(2);
    }
    const char *args = "";
    if (mbi->flags & MBI_CMDLINE) {
        const char *line = (const char *)(uintptr_t)mbi->cmdline;
        size_t len;
        const char *name = base_name(line, &len);
        if (len && len < sizeof(name_buf)) {
            memcpy(name_buf, name, len);
            kernel_name = name_buf;
        }
        args = name + len;
        while (*args == ' ')
            args++;
    }
    mb_exit(kmain(mbi, args));
}
