// rt.c: the guest runtime in C: hypercall wrappers, the exception handler
// that start.S's stubs call, the try_ functions that expect an exception, and
// run_user(), which runs a function in ring 3. Nothing here is set up at
// start: the only state is the armed fixup and the way back from ring 3, both
// 0 (nothing expected) except inside a try_ function or run_user().
#include "guest.h"

// VMCALL exits to the hypervisor, which resumes us after it. abi.h promises
// every general register is kept (exit_stub.S restores them all), and this
// code counts on that. "memory": the hypervisor reads the strings we pass.
static inline void vmcall(uint64_t nr, uint64_t a, uint64_t b, uint64_t c)
{
    asm volatile("vmcall" ::"a"(nr), "D"(a), "S"(b), "d"(c) : "memory");
}

void hc_nop(void) { vmcall(HC_NOP, 0, 0, 0); }

void hc_puts(const char *s) { vmcall(HC_PUTS, (uint64_t)s, 0, 0); }

bool hc_report(bool ok, const char *what)
{
    vmcall(HC_REPORT, ok, (uint64_t)what, 0);
    return ok;
}

void hc_mark_begin(void) { vmcall(HC_MARK, MARK_BEGIN, 0, 0); }

void hc_mark_end(uint64_t iterations, uint64_t ticks)
{
    vmcall(HC_MARK, MARK_END, iterations, ticks);
}

void hc_exit(uint64_t status)
{
    vmcall(HC_EXIT, (uint64_t)status, 0, 0);
    for (;;) // HC_EXIT does not return; if the hypervisor resumes us anyway, stop
        asm volatile("hlt");
}

void hc_record(const void *buf, uint64_t len)
{
    vmcall(HC_RECORD, (uint64_t)buf, len, 0);
}

int measure(const struct guest_params *p, uint64_t (*loop)(uint64_t))
{
    if (p->iterations == 0) {
        hc_puts("measure: iterations must be at least 1");
        return 1;
    }
    for (uint64_t w = 0; w < p->windows; w++) {
        hc_mark_begin();
        uint64_t ticks = loop(p->iterations);
        hc_mark_end(p->iterations, ticks);
    }
    return 0;
}

int measure_windows(const struct guest_params *p, void (*window)(uint64_t))
{
    if (p->iterations == 0) {
        hc_puts("measure: iterations must be at least 1");
        return 1;
    }
    for (uint64_t w = 0; w < p->windows; w++)
        window(p->iterations);
    return 0;
}

// Message building, for guest_trap() and the guests: each returns the new end of dst.
char *append(char *dst, const char *s)
{
    while (*s)
        *dst++ = *s++;
    *dst = 0;
    return dst;
}

char *append_u64(char *dst, uint64_t v, unsigned base) // base 10 or 16
{
    char digits[20]; // 2^64 - 1 has 20 decimal digits
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        *dst++ = digits[--n];
    *dst = 0;
    return dst;
}

// Where an expected exception resumes (0: none expected), and what it was.
static volatile uint64_t fixup_rip;
static volatile int trap_vector;
volatile uint64_t trap_error, trap_cr2;
// run_user(): the ring-0 stack user_enter (start.S) left, 0 outside ring 3.
volatile uint64_t user_back_rsp;
uint64_t user_enter(uint64_t (*fn)(uint64_t), uint64_t arg); // start.S
extern char user_back[];
volatile bool single_step_watch;
volatile unsigned single_steps;
volatile uint64_t single_step_rip, single_step_dr6;

// Called by start.S's trap_common for vectors 0-255. rip points at the RIP
// the IRETQ will return to; the CPU's frame goes on with CS, RFLAGS, RSP, SS
// (SDM 3A 6.14.2). An armed fixup catches exactly one exception. Anything
// from ring 3 (the RPL of the saved CS, SDM 3A 5.5) inside run_user() ends
// ring 3: the frame is rewritten so that the IRETQ lands in user_enter's
// user_back at CPL 0, on the stack it left.
void guest_trap(uint64_t vector, uint64_t error, uint64_t *rip)
{
    if ((rip[1] & 3) == 3 && user_back_rsp && (vector < 32 || vector == VEC_USER_RETURN)) {
        trap_vector = vector == VEC_USER_RETURN ? -1 : (int)vector;
        trap_error = vector == VEC_USER_RETURN ? 0 : error;
        trap_cr2 = vector == VEC_PF ? read_cr2() : 0;
        rip[0] = (uint64_t)user_back;
        rip[1] = SEL_CODE64;
        rip[2] = RFLAGS_FIXED; // user_back restores the caller's RFLAGS
        rip[3] = user_back_rsp;
        rip[4] = SEL_DATA;
        user_back_rsp = 0;
        return;
    }
    if (vector == VEC_DB && single_step_watch) {
        single_steps++;
        single_step_rip = *rip;
        single_step_dr6 = read_dr6();
        rip[2] &= ~(uint64_t)RFLAGS_TF; // the saved RFLAGS: no more single steps
        return;
    }
    if (fixup_rip && vector < 32) {
        trap_vector = vector;
        trap_error = error;
        trap_cr2 = vector == VEC_PF ? read_cr2() : 0;
        *rip = fixup_rip;
        fixup_rip = 0;
        return;
    }
    char msg[128], *s = msg;
    s = append(s, vector < 32 ? "unexpected exception, vector " : "unexpected interrupt, vector ");
    s = append_u64(s, vector, 10);
    s = append(s, ", error code 0x");
    s = append_u64(s, error, 16);
    s = append(s, ", rip 0x");
    append_u64(s, *rip, 16);
    hc_puts(msg);
    hc_exit(2);
}

// Each try_ function arms the fixup with the address of local label 1, runs
// the instruction, and disarms at label 1, where an exception also lands.
int try_write_u64(volatile uint64_t *p, uint64_t v)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "movq %[v], %[dst]\n"
                 "1:\tmovq $0, %[fix]"
                 : [dst] "=m"(*p), [fix] "+m"(fixup_rip)
                 : [v] "r"(v)
                 : "memory");
    return trap_vector;
}

int try_read_u64(const volatile uint64_t *p, uint64_t *v)
{
    uint64_t val = 0;
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "movq %[src], %[val]\n"
                 "1:\tmovq $0, %[fix]"
                 : [val] "+r"(val), [fix] "+m"(fixup_rip)
                 : [src] "m"(*p)
                 : "memory");
    *v = val;
    return trap_vector;
}

// CALL pushes the return address and fetches at code. If the fetch faults,
// the frame's RSP still has that address pushed: RCX, which the trap path
// restores as it found it, puts RSP back. The code's RET returns to label 1.
int try_call(const volatile void *code)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "mov %%rsp, %%rcx\n\t"
                 "call *%[code]\n"
                 "1:\tmov %%rcx, %%rsp\n\t"
                 "movq $0, %[fix]"
                 : [fix] "+m"(fixup_rip)
                 : [code] "r"(code)
                 : "rcx", "memory");
    return trap_vector;
}

int run_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *result)
{
    trap_vector = -1;
    uint64_t rax = user_enter(fn, arg);
    if (trap_vector == -1 && result)
        *result = rax;
    return trap_vector;
}

// Guests are built with -mgeneral-regs-only: no C code holds a value in xmm0.
int try_sse(void)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "xorps %%xmm0, %%xmm0\n"
                 "1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip)
                 :
                 : "memory");
    return trap_vector;
}

int try_write_cr0(uint64_t v)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "mov %[v], %%cr0\n"
                 "1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip)
                 : [v] "r"(v)
                 : "memory");
    return trap_vector;
}

// RDMSR/WRMSR: the MSR in ECX, the value in EDX:EAX.
int try_rdmsr(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "rdmsr\n"
                 "1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip), "+a"(lo), "+d"(hi)
                 : "c"(msr)
                 : "memory");
    *val = (uint64_t)hi << 32 | lo;
    return trap_vector;
}

int try_wrmsr(uint32_t msr, uint64_t val)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "wrmsr\n"
                 "1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip)
                 : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
                 : "memory");
    return trap_vector;
}

// The VMX instructions (SDM 3C 31), each with operands that would be harmless
// if it ran: a zeroed 4 KiB region, RAX = 0. In VMX non-root operation they
// all exit or raise #UD (SDM 3C 26.1.2); vmxlab's answer is #UD (no nested VMX).
static int try_vmx_insn(enum insn which)
{
    static uint64_t region[512] __attribute__((aligned(4096)));
    static uint64_t desc[2];
    uint64_t zero = 0, out = 0;
    trap_vector = -1;
#define VMX_TRY(text, ...)                                                      \
    asm volatile("movq $1f, %[fix]\n\t" text "\n1:\tmovq $0, %[fix]"             \
                 : [fix] "+m"(fixup_rip), [out] "+r"(out)                      \
                 : [mem] "m"(region), [desc] "m"(desc), [zero] "r"(zero)        \
                 : "rax", "memory", "cc")
    switch (which) {
    case INSN_VMXON: VMX_TRY("vmxon %[mem]"); break;
    case INSN_VMXOFF: VMX_TRY("vmxoff"); break;
    case INSN_VMCLEAR: VMX_TRY("vmclear %[mem]"); break;
    case INSN_VMPTRLD: VMX_TRY("vmptrld %[mem]"); break;
    case INSN_VMPTRST: VMX_TRY("vmptrst %[mem]"); break;
    case INSN_VMREAD: VMX_TRY("vmread %[zero], %[out]"); break;
    case INSN_VMWRITE: VMX_TRY("vmwrite %[zero], %[zero]"); break;
    case INSN_VMLAUNCH: VMX_TRY("vmlaunch"); break;
    case INSN_VMRESUME: VMX_TRY("vmresume"); break;
    case INSN_INVEPT: VMX_TRY("invept %[desc], %[zero]"); break;
    case INSN_INVVPID: VMX_TRY("invvpid %[desc], %[zero]"); break;
    case INSN_VMFUNC: VMX_TRY("xor %%eax, %%eax\n\tvmfunc"); break;
    default: break;
    }
#undef VMX_TRY
    return trap_vector;
}

const char *insn_name(enum insn which)
{
    static const char *const names[INSN_COUNT] = {
        [INSN_RDPMC] = "RDPMC", [INSN_MONITOR] = "MONITOR", [INSN_MWAIT] = "MWAIT",
        [INSN_RDRAND] = "RDRAND", [INSN_RDSEED] = "RDSEED", [INSN_WBINVD] = "WBINVD",
        [INSN_INVD] = "INVD", [INSN_FWAIT] = "FWAIT", [INSN_RDTSCP] = "RDTSCP",
        [INSN_RDPID] = "RDPID", [INSN_VMXON] = "VMXON",
        [INSN_VMXOFF] = "VMXOFF", [INSN_VMCLEAR] = "VMCLEAR", [INSN_VMPTRLD] = "VMPTRLD",
        [INSN_VMPTRST] = "VMPTRST", [INSN_VMREAD] = "VMREAD", [INSN_VMWRITE] = "VMWRITE",
        [INSN_VMLAUNCH] = "VMLAUNCH", [INSN_VMRESUME] = "VMRESUME", [INSN_INVEPT] = "INVEPT",
        [INSN_INVVPID] = "INVVPID", [INSN_VMFUNC] = "VMFUNC",
    };
    return (unsigned)which < INSN_COUNT && names[which] ? names[which] : "?";
}

// XSETBV: ECX names the register (0: XCR0), EDX:EAX the value (SDM 2 XSETBV).
int try_xsetbv(uint32_t ecx, uint64_t value)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\txsetbv\n1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip)
                 : "c"(ecx), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
                 : "memory");
    return trap_vector;
}

int try_clts(void)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\tclts\n1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip) :: "memory");
    return trap_vector;
}

int try_lmsw(uint16_t msw)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\tlmsw %[v]\n1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip) : [v] "r"(msw) : "memory");
    return trap_vector;
}

// One instruction that needs no operands of C's, by name (see guest.h).
int try_insn(enum insn which)
{
    trap_vector = -1;
    switch (which) {
    case INSN_RDPMC:
        asm volatile("movq $1f, %[fix]\n\txor %%ecx, %%ecx\n\trdpmc\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "rcx", "rdx", "memory");
        break;
    case INSN_MONITOR:
        asm volatile("movq $1f, %[fix]\n\tmov %[fix], %%rax\n\txor %%ecx, %%ecx\n\t"
                     "xor %%edx, %%edx\n\tmonitor\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "rcx", "rdx", "memory");
        break;
    case INSN_MWAIT:
        asm volatile("movq $1f, %[fix]\n\txor %%eax, %%eax\n\txor %%ecx, %%ecx\n\t"
                     "mwait\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "rcx", "memory");
        break;
    case INSN_RDRAND:
        asm volatile("movq $1f, %[fix]\n\trdrand %%rax\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "memory", "cc");
        break;
    case INSN_RDSEED:
        asm volatile("movq $1f, %[fix]\n\trdseed %%rax\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "memory", "cc");
        break;
    case INSN_WBINVD:
        asm volatile("movq $1f, %[fix]\n\twbinvd\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "memory");
        break;
    case INSN_INVD:
        asm volatile("movq $1f, %[fix]\n\tinvd\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "memory");
        break;
    case INSN_FWAIT:
        asm volatile("movq $1f, %[fix]\n\tfwait\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "memory");
        break;
    case INSN_RDTSCP:
        asm volatile("movq $1f, %[fix]\n\trdtscp\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "rcx", "rdx", "memory");
        break;
    case INSN_RDPID:
        asm volatile("movq $1f, %[fix]\n\trdpid %%rax\n1:\tmovq $0, %[fix]"
                     : [fix] "+m"(fixup_rip) :: "rax", "memory");
        break;
    default:
        return try_vmx_insn(which);
    }
    return trap_vector;
}

int try_write_cr4(uint64_t v)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "mov %[v], %%cr4\n"
                 "1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip)
                 : [v] "r"(v)
                 : "memory");
    return trap_vector;
}

int try_write_cr3(uint64_t v)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\tmov %[v], %%cr3\n1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip) : [v] "r"(v) : "memory");
    return trap_vector;
}

// MOV to CR0 from EBX in compatibility mode: a far return to the 32-bit code
// segment 0x18 (start.S), the MOV, and a far jump back to 64-bit code. A
// fault returns into 32-bit code too (the frame's CS is 0x18), so the fixup
// is the far jump itself.
int try_compat_write_cr0(uint32_t v)
{
    trap_vector = -1;
    asm volatile("movq $2f, %[fix]\n\t"
                 "push $0x18\n\t"
                 "lea 1f(%%rip), %%rax\n\t"
                 "push %%rax\n\t"
                 "lretq\n"
                 ".code32\n"
                 "1:\tmov %%ebx, %%cr0\n"
                 "2:\tljmp $0x08, $3f\n"
                 ".code64\n"
                 "3:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip) : "b"(v) : "rax", "memory");
    return trap_vector;
}

// POPF sets TF; the next POPF puts RFLAGS back with TF clear, and the CPU
// still traps after it, since TF was 1 when it began (SDM 3B 18.3.1.4,
// Single-Step Exception Condition). So exactly one #DB is due, after the
// second POPF: if its delivery were lost, none would come.
int try_single_step(void)
{
    trap_vector = -1;
    asm volatile("movq $1f, %[fix]\n\t"
                 "pushfq\n\t"
                 "pushfq\n\t"
                 "orq $0x100, (%%rsp)\n\t"
                 "popfq\n\t"
                 "popfq\n"
                 "1:\tmovq $0, %[fix]"
                 : [fix] "+m"(fixup_rip) :: "memory", "cc");
    return trap_vector;
}

void set_ist(unsigned vector, uint64_t top)
{
    extern uint8_t idt[], tss[];
    // IST1 is at byte 36 of the 64-bit TSS; the gate's IST index is bits 2:0
    // of its byte 4 (SDM 3A Figures 8-11 and 6-8).
    if (top)
        for (int i = 0; i < 8; i++)
            tss[36 + i] = (uint8_t)(top >> (8 * i));
    idt[16 * vector + 4] = top ? 1 : 0;
}
