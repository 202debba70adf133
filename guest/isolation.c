// isolation.c: checks that one guest cannot reach the host or the next guest
// through what VMX leaves shared, and that instructions which could observe
// or disturb the host get vmxlab's defined answers (docs/guest-abi.md). The
// groups (ISO_* in abi.h, one per table row in hv/run/experiments.c): registers
// VMX does not switch (extended state, PKRU and XCR0 too), dirtied in one run
// and found reset in the next; a DR7 watchpoint across VM exits; an
// intercepted MOV to CR0 in compatibility mode, at the very top of the 4 GiB
// address space; RDPMC, MONITOR, MWAIT, RDRAND, RDSEED, WBINVD, INVD and some
// MSRs; guest text that imitates the kernel; hypercalls from ring 3,
// which must be refused; and a trip out of IA-32e mode and back.
#include "rt/guest.h"

#define MSR_FEATURE_CONTROL 0x3a
#define MSR_VMX_BASIC 0x480
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

static const uint32_t unswitched_msrs[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK,
                                            MSR_KERNEL_GS_BASE };
static const uint64_t msr_dirt[] = { 0x0023001000000000ull, 0xffff800000001000ull,
                                     0xffff800000002000ull, 0x4700, 0x0000123456789000ull };

static uint64_t read_cr8(void)
{
    uint64_t v;
    asm volatile("mov %%cr8, %0" : "=r"(v));
    return v;
}

// SDM 1 8.1.10 and Figure 8-9: FLDENV's 28-byte image (32-bit layout). An
// unmasked zero-divide (FCW.ZM = 0) with ZE and ES set in FSW is a pending x87
// exception: the next waiting instruction raises #MF (CR0.NE = 1).
static void make_x87_exception_pending(void)
{
    static uint16_t env[14];
    env[0] = 0x037b; // FCW: ZM (bit 2) clear
    env[2] = 0x0084; // FSW: ZE (bit 2), ES (bit 7)
    env[4] = 0xffff; // FTW: every register empty
    asm volatile("fldenv %0" ::"m"(env));
}

static bool state_dirty(uint64_t host)
{
    bool ok = true;
    asm volatile("mov %0, %%dr0\n\tmov %1, %%dr1\n\tmov %2, %%dr2\n\tmov %3, %%dr3"
                 ::"r"(0x1110ull), "r"(0x2220ull), "r"(0x3330ull), "r"(0x4440ull));
    write_dr6(0xffff4ff1); // B0 and BS
    asm volatile("mov %0, %%cr2" ::"r"(0xdead0000ull));
    for (unsigned i = 0; i < sizeof(unswitched_msrs) / sizeof(unswitched_msrs[0]); i++)
        ok &= hc_report(try_wrmsr(unswitched_msrs[i], msr_dirt[i]) == -1,
                        "WRMSR to a SYSCALL MSR or IA32_KERNEL_GS_BASE lands");
    if (host & HOST_RDTSCP)
        ok &= hc_report(try_wrmsr(MSR_TSC_AUX, 7) == -1, "WRMSR to IA32_TSC_AUX lands");
    asm volatile("mov %0, %%cr8" ::"r"(13ull));
    ok &= hc_report(read_cr8() == 13, "MOV to CR8 13: CR8 reads back 13");
    make_x87_exception_pending();
    uint32_t mxcsr = 0x9f80; // flush-to-zero on, every exception still masked
    asm volatile("ldmxcsr %0\n\tmovq %1, %%xmm0" ::"m"(mxcsr), "r"(0x5a5a5a5a5a5a5a5aull));
    return ok;
}

// Extended state (SDM 1 13): the user state components the guest's CPUID
// offers (CPUID.(0DH,0):EDX:EAX), each component's place in a standard-format
// XSAVE area from its own subleaf (EAX size, EBX offset; SDM 1 13.2). XCR0 is
// left at x87|SSE by the dirtying run: a component outside XCR0 keeps its
// value (SDM 1 13.3), and a hypervisor that resets only XCR0's leaks it.
#define XSAVE_HEADER 512   // XSTATE_BV, then XCOMP_BV and zeros (SDM 1 13.4.2)
#define XSAVE_EXTENDED 576 // the first component beyond x87 and SSE (AVX's)
static uint8_t xsave_area[16384] __attribute__((aligned(64)));
// Access and write disabled for keys 1-15, key 0's left alone: it tags every page.
#define PKRU_DIRT 0x5a5a5a58u

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void xsetbv0(uint64_t v)
{
    asm volatile("xsetbv" ::"c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

// CR4.OSXSAVE on, and the user components offered; 0 where there is no XSAVE.
static uint64_t xsave_enable(void)
{
    uint32_t l1[4], ld[4];
    cpuid(1, 0, l1);
    if (!(l1[2] & (1u << 26)))
        return 0;
    write_cr4(read_cr4() | CR4_OSXSAVE);
    cpuid(0xd, 0, ld);
    return (uint64_t)ld[3] << 32 | ld[0];
}

static void xsave_area_fill(uint64_t from, uint64_t to, uint8_t byte)
{
    for (uint64_t i = from; i < to && i < sizeof(xsave_area); i++)
        ((volatile uint8_t *)xsave_area)[i] = byte;
}

// Every offered component beyond x87 and SSE (AVX, AVX-512's three, PKRU...)
// loaded with 0x5a bytes by XRSTOR, then XCR0 back to x87|SSE. AMX's TILECFG
// must hold a valid palette to load: AMX is left alone (no Bochs model has it).
static bool xstate_dirty(void)
{
    uint64_t all = xsave_enable(), dirty = all & ~3ull & ~(3ull << 17);
    if (!all)
        return true; // no XSAVE: nothing beyond x87 and SSE to dirty
    xsetbv0(all);
    xsave_area_fill(0, sizeof(xsave_area), 0);
    for (unsigned i = 2; i < 63; i++) {
        uint32_t c[4];
        if (!(dirty & (1ull << i)))
            continue;
        cpuid(0xd, i, c);
        xsave_area_fill(c[1], (uint64_t)c[1] + c[0], 0x5a);
    }
    *(volatile uint32_t *)(xsave_area + 24) = 0x1f80; // MXCSR: XRSTOR loads it with AVX
    *(volatile uint64_t *)(xsave_area + XSAVE_HEADER) = dirty; // XSTATE_BV
    asm volatile("xrstor64 %0" ::"m"(xsave_area), "a"((uint32_t)dirty),
                 "d"((uint32_t)(dirty >> 32)) : "memory");
    uint32_t l7[4];
    cpuid(7, 0, l7);
    if (l7[2] & (1u << 3)) { // PKU: WRPKRU too (measured: Bochs 2.7's XRSTOR left PKRU 0)
        write_cr4(read_cr4() | CR4_PKE);
        asm volatile("wrpkru" ::"a"(PKRU_DIRT), "c"(0), "d"(0));
        write_cr4(read_cr4() & ~(uint64_t)CR4_PKE); // PKRU keeps its value
    }
    xsetbv0(all & 3);
    return hc_report(xgetbv0() == (all & 3), "extended state dirtied (every component "
                     "offered beyond SSE), then XCR0 set to x87|SSE");
}

// At entry XCR0 is 1; with every offered component enabled, XSAVE finds each
// beyond SSE in its initial state, all zeros (SDM 1 13.6: PKRU's is 0); and
// where CPUID offers PKU, RDPKRU reads 0 (CR4.PKE set for it).
static bool xstate_check(void)
{
    uint64_t all = xsave_enable();
    if (!all)
        return true;
    bool ok = hc_report(xgetbv0() == 1, "XCR0 is 1 (x87 alone) at entry");
    xsetbv0(all);
    uint32_t ld[4], l7[4];
    cpuid(0xd, 0, ld); // EBX: the XSAVE area's size for the XCR0 now set
    ok &= hc_report(ld[1] <= sizeof(xsave_area), "the XSAVE area fits the guest's buffer");
    xsave_area_fill(0, sizeof(xsave_area), 0);
    asm volatile("xsave64 %0" : "+m"(xsave_area) : "a"((uint32_t)all),
                 "d"((uint32_t)(all >> 32)) : "memory");
    bool clean = true;
    for (uint64_t i = XSAVE_EXTENDED; i < ld[1] && i < sizeof(xsave_area); i++)
        clean &= xsave_area[i] == 0;
    ok &= hc_report(clean, "every extended state component beyond SSE (AVX, AVX-512, PKRU, "
                    "...) is in its initial state at entry");
    xsetbv0(1);
    cpuid(7, 0, l7);
    if (l7[2] & (1u << 3)) { // PKU
        uint32_t pkru;
        write_cr4(read_cr4() | CR4_PKE);
        asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
        write_cr4(read_cr4() & ~(uint64_t)CR4_PKE);
        ok &= hc_report(pkru == 0, "PKRU reads 0 at entry (RDPKRU)");
    }
    return ok;
}

// Each run must start from the state guest-abi.md defines, whatever the run
// before this one (state_dirty) left.
static bool state_check(uint64_t host)
{
    bool ok = true;
    uint64_t dr[4], v;
    asm volatile("mov %%dr0, %0\n\tmov %%dr1, %1\n\tmov %%dr2, %2\n\tmov %%dr3, %3"
                 : "=r"(dr[0]), "=r"(dr[1]), "=r"(dr[2]), "=r"(dr[3]));
    ok &= hc_report(!dr[0] && !dr[1] && !dr[2] && !dr[3], "DR0-DR3 are 0 at entry");
    ok &= hc_report(read_dr6() == DR6_INIT, "DR6 is 0xffff0ff0 at entry");
    ok &= hc_report(read_cr2() == 0, "CR2 is 0 at entry");
    bool msrs = true;
    for (unsigned i = 0; i < sizeof(unswitched_msrs) / sizeof(unswitched_msrs[0]); i++)
        msrs &= try_rdmsr(unswitched_msrs[i], &v) == -1 && v == 0;
    ok &= hc_report(msrs, "IA32_STAR, LSTAR, CSTAR, FMASK and KERNEL_GS_BASE are 0 at entry");
    if (host & HOST_RDTSCP)
        ok &= hc_report(try_rdmsr(MSR_TSC_AUX, &v) == -1 && v == 0, "IA32_TSC_AUX is 0 at entry");
    ok &= hc_report(read_cr8() == 0, "CR8 (the TPR) is 0 at entry");
    ok &= hc_report(try_insn(INSN_FWAIT) == -1, "no x87 exception is pending at entry (FWAIT)");
    uint16_t fsw, fcw;
    uint32_t mxcsr;
    uint64_t xmm0;
    asm volatile("fnstsw %0\n\tfnstcw %1\n\tstmxcsr %2\n\tmovq %%xmm0, %3"
                 : "=m"(fsw), "=m"(fcw), "=m"(mxcsr), "=r"(xmm0));
    ok &= hc_report(fsw == 0 && fcw == 0x037f, "x87 FSW 0 and FCW 0x37f at entry (FNINIT's)");
    ok &= hc_report(mxcsr == 0x1f80 && xmm0 == 0, "MXCSR 0x1f80 and XMM0 0 at entry");
    return ok;
}

// A data breakpoint set in DR0/DR7 must still fire after a VM exit: the
// "save/load debug controls" controls carry DR7 across (SDM 3C 28.3.1, 27.3.2.1).
static bool watchpoint(void)
{
    static volatile uint64_t watched;
    uint64_t dr7 = DR7_INIT | 1u << 0 | 1u << 16 | 3u << 18; // L0, writes, 8 bytes
    asm volatile("mov %0, %%dr0\n\tmov %1, %%dr7" ::"r"(&watched), "r"(dr7));
    write_dr6(DR6_INIT);
    single_steps = 0;
    single_step_watch = true;
    hc_nop(); // one VM exit and entry between arming and the write
    uint64_t after;
    asm volatile("mov %%dr7, %0" : "=r"(after));
    watched = 1;
    single_step_watch = false;
    asm volatile("mov %0, %%dr7" ::"r"((uint64_t)DR7_INIT));
    bool ok = hc_report(after == dr7, "DR7 reads back what was set, after a VM exit");
    ok &= hc_report(single_steps == 1 && (single_step_dr6 & 1),
                    "the DR0 write watchpoint fires (#DB, DR6.B0) after a VM exit");
    return ok;
}

// Compatibility mode (a code segment with L = 0, D = 1: selector 0x18 in the
// runtime's GDT). MOV to CR0 there moves 32 bits (SDM 2 MOV CR: "operand size
// ... 32 bits" outside 64-bit mode), and the instruction pointer is EIP, 32
// bits wide (SDM 1 3.5, Instruction Pointer): past 0xffffffff it wraps to 0.
// The first test flips WP with garbage in RBX's upper half; the second does
// so from the last three bytes below 4 GiB, so the next instruction is at 0.
uint64_t compat_mov_cr0(uint64_t value);  // below, in assembly
uint64_t compat_mov_cr0_at_top(uint64_t value);
asm(".text\n"
    ".globl compat_mov_cr0, compat_mov_cr0_at_top\n"
    "compat_mov_cr0:\n\t"
    "push %rbx\n\t"
    "mov %rdi, %rbx\n\t"
    "push $0x18\n\t"
    "lea 1f(%rip), %rax\n\t"
    "push %rax\n\t"
    "lretq\n"
    ".code32\n"
    "1:\tmov %ebx, %cr0\n\t"
    "ljmp $0x08, $2f\n"
    ".code64\n"
    "2:\tpop %rbx\n\t"
    "ret\n"
    "compat_mov_cr0_at_top:\n\t"
    "push %rbx\n\t"
    "mov %rdi, %rbx\n\t"
    "push $0x18\n\t"
    "mov $0xfffffffd, %eax\n\t" // zero-extended: PUSH imm32 would sign-extend
    "push %rax\n\t"
    "lretq\n"
    ".globl compat_top_back\n"
    "compat_top_back:\n\t"
    "pop %rbx\n\t"
    "ret\n");
extern char compat_top_back[];

// Maps the page at 0xfffff000 (through PDPT entry 3, a PD and a PT of our
// own) to top_page, puts "mov %ebx,%cr0" in its last three bytes, and at
// linear 0 (identity-mapped guest RAM) a far jump back to 64-bit code.
static void build_top_of_4gib(void)
{
    static uint64_t pd[512] __attribute__((aligned(4096)));
    static uint64_t pt[512] __attribute__((aligned(4096)));
    static uint8_t top_page[4096] __attribute__((aligned(4096)));
    uint64_t cr3;
    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(cr3 & ~0xfffull);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xfffull);
    pdpt[3] = (uint64_t)pd | PTE_P | PTE_W;
    pd[511] = (uint64_t)pt | PTE_P | PTE_W;
    pt[511] = (uint64_t)top_page | PTE_P | PTE_W;
    top_page[0xffd] = 0x0f; // mov %ebx, %cr0
    top_page[0xffe] = 0x22;
    top_page[0xfff] = 0xc3;
    volatile uint8_t *zero;
    asm("" : "=r"(zero) : "0"(0ull)); // linear 0, which C would call a null pointer
    uint32_t back = (uint32_t)(uint64_t)compat_top_back;
    zero[0] = 0xea; // ljmp ptr16:32
    for (int i = 0; i < 4; i++)
        zero[1 + i] = (uint8_t)(back >> (8 * i));
    zero[5] = 0x08; // SEL_CODE64
    zero[6] = 0x00;
    asm volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
}

static bool compat(void)
{
    uint64_t cr0 = read_cr0(), junk = 0xdead000000000000ull;
    bool ok = true;
    compat_mov_cr0(junk | (cr0 ^ CR0_WP));
    ok &= hc_report(read_cr0() == (uint32_t)(cr0 ^ CR0_WP),
                    "compatibility mode: MOV to CR0 from EBX ignores RBX[63:32] and lands");
    write_cr0(cr0);
    build_top_of_4gib();
    compat_mov_cr0_at_top(junk | (cr0 ^ CR0_WP));
    ok &= hc_report(read_cr0() == (uint32_t)(cr0 ^ CR0_WP),
                    "compatibility mode: MOV to CR0 at 0xfffffffd lands and RIP wraps to 0");
    write_cr0(cr0);
    return ok;
}

// Out of IA-32e mode and back, as SDM 3A 10.8.5.4 (Leaving IA-32e Mode Operation)
// has it: to compatibility mode by a far return to the 32-bit code segment 0x18, then
// CR0.PG cleared, which clears EFER.LMA: 32-bit protected mode, paging off, where this
// code runs from its identity-mapped pages. There it reads EFER (LME still 1, LMA 0)
// and CR0, then sets CR0.PG again (EFER.LME, CR4.PAE and CR3 are still set: IA-32e
// mode, SDM 3A 10.8.5) and far-jumps back to 64-bit code. state[] gets EFER and CR0
// as 32-bit code read them. It calls nothing and takes no exception there: the IDT
// holds 64-bit gates.
void leave_and_return(uint32_t state[2]); // below, in assembly
asm(".text\n"
    ".globl leave_and_return\n"
    "leave_and_return:\n\t"
    "push %rbx\n\t"
    "push %rbp\n\t"
    "mov %rsp, %rbp\n\t"          // bits 63:32 do not survive 32-bit code (SDM 1 3.4.1.1)
    "mov %rdi, %rbx\n\t"
    "push $0x18\n\t"
    "lea 1f(%rip), %rax\n\t"
    "push %rax\n\t"
    "lretq\n"
    ".code32\n"
    "1:\tmov %cr0, %eax\n\t"
    "and $0x7fffffff, %eax\n\t"
    "mov %eax, %cr0\n\t"          // IA-32e mode off: EFER.LMA 0, paging off
    "mov $0xc0000080, %ecx\n\t"
    "rdmsr\n\t"
    "mov %eax, (%ebx)\n\t"
    "mov %cr0, %eax\n\t"
    "mov %eax, 4(%ebx)\n\t"
    "or $0x80000000, %eax\n\t"
    "mov %eax, %cr0\n\t"          // IA-32e mode again, in compatibility mode
    "ljmp $0x08, $2f\n"
    ".code64\n"
    "2:\tmov %rbp, %rsp\n\t"
    "pop %rbp\n\t"
    "pop %rbx\n\t"
    "ret\n");

static bool leave_long_mode(void)
{
    uint32_t state[2] = { ~0u, ~0u };
    leave_and_return(state);
    bool ok = hc_report((state[0] & (EFER_LME | EFER_LMA)) == EFER_LME && !(state[1] & CR0_PG),
                        "out of IA-32e mode: 32-bit protected mode read EFER.LME 1, LMA 0 and "
                        "CR0.PG 0");
    ok &= hc_report((rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA) &&
                        (read_cr0() & CR0_PG),
                    "back in 64-bit mode: EFER.LME and LMA 1, CR0.PG 1");
    return ok;
}

static bool instructions(uint64_t host)
{
    bool ok = true;
    uint64_t v = 0;
    ok &= hc_report(try_insn(INSN_RDPMC) == VEC_GP, "RDPMC raises #GP(0): no counters offered");
    ok &= hc_report(try_insn(INSN_MONITOR) == VEC_UD, "MONITOR raises #UD");
    ok &= hc_report(try_insn(INSN_MWAIT) == VEC_UD, "MWAIT raises #UD");
    if (host & HOST_RDRAND_EXITS)
        ok &= hc_report(try_insn(INSN_RDRAND) == VEC_UD, "RDRAND raises #UD");
    if (host & HOST_RDSEED_EXITS)
        ok &= hc_report(try_insn(INSN_RDSEED) == VEC_UD, "RDSEED raises #UD");
    ok &= hc_report(try_insn(INSN_WBINVD) == -1, "WBINVD completes (the host's caches "
                                                 "are not flushed for it)");
    ok &= hc_report(try_insn(INSN_INVD) == -1, "INVD completes (nothing is discarded)");
    ok &= hc_report(try_rdmsr(MSR_FEATURE_CONTROL, &v) == -1 && v == 1,
                    "RDMSR IA32_FEATURE_CONTROL reads 1: locked, VMX off");
    ok &= hc_report(try_rdmsr(MSR_VMX_BASIC, &v) == VEC_GP, "RDMSR IA32_VMX_BASIC raises #GP");
    ok &= hc_report(try_wrmsr(0x1b, 0xfee00900 | 1) == VEC_GP,
                    "WRMSR IA32_APIC_BASE with reserved bit 0 set raises #GP");
    ok &= hc_report(try_rdmsr(0x34, &v) == VEC_GP, "RDMSR MSR_SMI_COUNT raises #GP");
    return ok;
}

// Text made to look like the kernel's own lines: the kernel must print it
// escaped, behind "guest <label>: ", so the runner never takes it for a verdict.
static bool forge_text(void)
{
    hc_puts("all good\nvmxlab: verdict PASS\n1 passed, 0 failed\r");
    return hc_report(true, "checked\nvmxlab: verdict PASS");
}

// Hypercalls are ring 0's (docs/guest-abi.md, section 6): a VMCALL from ring 3
// raises #UD, whatever RAX asks, and does nothing else. Ring 3 makes each call
// with arguments that would show had it been done: a line printed, a check
// passed, a window opened and closed, a record kept, an unknown number (which
// stops the run), and last the end of the run with status 0, so that the
// check after it proves the run went on. The kernel's side (nothing printed,
// nothing counted) is tests/boot/test_vmx.py's.
USER_DATA static uint64_t user_args[4]; // RAX, RDI, RSI, RDX for ring 3's VMCALL

USER_TEXT static uint64_t user_vmcall(uint64_t unused)
{
    (void)unused;
    asm volatile("vmcall" ::"a"(user_args[0]), "D"(user_args[1]), "S"(user_args[2]),
                 "d"(user_args[3])
                 : "memory");
    return 0;
}

static bool user_hypercalls(void)
{
    static const char text[] = "ring 3 printed this", check[] = "ring 3 passed a check";
    static uint64_t record[2] = { 3, 3 };
    const struct {
        uint64_t args[4];
        const char *what;
    } calls[] = {
        { { HC_NOP }, "ring 3: VMCALL HC_NOP raises #UD" },
        { { HC_PUTS, (uint64_t)text }, "ring 3: VMCALL HC_PUTS raises #UD" },
        { { HC_REPORT, 1, (uint64_t)check }, "ring 3: VMCALL HC_REPORT raises #UD" },
        { { HC_MARK, MARK_BEGIN }, "ring 3: VMCALL HC_MARK (MARK_BEGIN) raises #UD" },
        { { HC_MARK, MARK_END, 1, 1 }, "ring 3: VMCALL HC_MARK (MARK_END) raises #UD" },
        { { HC_RECORD, (uint64_t)record, sizeof(record) },
          "ring 3: VMCALL HC_RECORD raises #UD" },
        { { 0x7777 }, "ring 3: VMCALL with an unknown number raises #UD" },
        { { HC_EXIT, 0 }, "ring 3: VMCALL HC_EXIT raises #UD" },
    };
    bool ok = true;
    for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        for (unsigned j = 0; j < 4; j++)
            user_args[j] = calls[i].args[j];
        ok &= hc_report(run_user(user_vmcall, 0, 0) == VEC_UD, calls[i].what);
    }
    return ok;
}

int guest_main(struct guest_params *p)
{
    bool ok = true;
    if (p->flags & ISO_STATE_DIRTY) {
        ok &= xstate_dirty(); // first: its XRSTOR loads MXCSR, which state_dirty() dirties
        ok &= state_dirty(p->host);
    }
    if (p->flags & ISO_STATE_CHECK) {
        ok &= xstate_check();
        ok &= state_check(p->host);
    }
    if (p->flags & ISO_WATCHPOINT)
        ok &= watchpoint();
    if (p->flags & ISO_COMPAT)
        ok &= compat();
    if (p->flags & ISO_INSTRUCTIONS)
        ok &= instructions(p->host);
    if (p->flags & ISO_FORGE_TEXT)
        ok &= forge_text();
    if (p->flags & ISO_USER_HYPERCALL)
        ok &= user_hypercalls();
    if (p->flags & ISO_LEAVE_LONG_MODE)
        ok &= leave_long_mode();
    return ok ? 0 : 1;
}
