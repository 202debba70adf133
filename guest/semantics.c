// semantics.c: checks that CR0 and CR4 keep their architectural meaning under
// the hypervisor's ownership policy: what WP does to supervisor writes, what
// TS does to SSE, what CR0 reads back after MOV, CLTS and LMSW, which MOV to
// CR4 raise #GP, and how an intercepted instruction single-steps. p->flags
// selects the groups (GP_* in abi.h); each check is one HC_REPORT. Each group
// leaves CR0 and CR4 as it found them (at entry: WP = 1, TS = 0).
#include "rt/guest.h"

// The page the WP checks make read-only, and the one whose Dirty bit they
// watch. guest.ld keeps the image below 2 MiB, so low_pt maps each with a
// 4 KiB page of its own.
static volatile uint64_t ro_page[512] __attribute__((aligned(4096)));
static volatile uint64_t d_page[512] __attribute__((aligned(4096)));

static uint64_t *pte_of(volatile void *page)
{
    return &low_pt[(uint64_t)page >> 12];
}

static void set_writable(volatile void *page, bool writable)
{
    uint64_t *pte = pte_of(page);
    *pte = writable ? *pte | PTE_W : *pte & ~(uint64_t)PTE_W;
    invlpg(page); // the TLB may still hold the old rights (SDM 3A 4.10.4)
}

// Under unsafe=1 (HOST_WP_UNSAFE: the hypervisor shadows the page tables yet
// lets the guest own CR0.WP), the WP checks are expected to break: each one
// that does is named, and the group passes only if something broke.
static bool unsafe;
static unsigned broken;

static bool check(bool ok, const char *what)
{
    if (!unsafe)
        return hc_report(ok, what);
    if (!ok) {
        static const char head[] = "broken, as expected under unsafe=1: ";
        char line[200];
        unsigned n = 0;
        for (const char *c = head; *c; c++)
            line[n++] = *c;
        for (const char *c = what; *c && n < sizeof(line) - 1; c++)
            line[n++] = *c;
        line[n] = 0;
        broken++;
        hc_puts(line);
    }
    return true;
}

// SDM 3A 4.6.1: a supervisor write to a page with R/W = 0 faults iff CR0.WP = 1.
// SDM 3A 4.8: a write sets the Dirty bit of the entry that maps the page,
// whatever WP is: a shadowing hypervisor that maps a clean page read-only
// must see the first write, which it cannot if the guest owns WP.
static bool wp_semantics(const struct guest_params *p)
{
    uint64_t cr0 = read_cr0();
    bool ok = true;
    unsafe = p->host & HOST_WP_UNSAFE;
    broken = 0;
    ro_page[0] = 1;
    set_writable(ro_page, false);

    write_cr0(cr0 | CR0_WP);
    int v = try_write_u64(ro_page, 2);
    ok &= check(v == VEC_PF, "WP=1: a supervisor write to a read-only page raises #PF");
    ok &= check(v == VEC_PF && trap_error == (PF_P | PF_W),
                "WP=1: the #PF error code is 0x3 (P=1 protection, W=1 write, U/S=0 supervisor)");
    ok &= check(ro_page[0] == 1, "WP=1: the faulting write leaves memory unchanged");

    write_cr0(cr0 & ~(uint64_t)CR0_WP);
    v = try_write_u64(ro_page, 3);
    ok &= check(v == -1 && ro_page[0] == 3,
                "WP=0: the same write to the read-only page succeeds and the value lands");

    write_cr0(cr0 | CR0_WP);
    v = try_write_u64(ro_page, 4);
    ok &= check(v == VEC_PF && ro_page[0] == 3,
                "WP=1 again (MOV to CR0): the write raises #PF again and does not land");
    set_writable(ro_page, true);

    // A clean, writable page, read first (so a shadow entry may map it
    // read-only until the first write), then written with WP=0.
    uint64_t *pte = pte_of(d_page);
    *pte &= ~(uint64_t)(PTE_A | PTE_D);
    invlpg(d_page);
    (void)d_page[0];
    write_cr0(cr0 & ~(uint64_t)CR0_WP);
    d_page[0] = 5;
    write_cr0(cr0 | CR0_WP);
    ok &= check((*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
                "WP=0: a write to a clean writable page sets its PTE's Accessed and Dirty bits");
    write_cr0(cr0);
    if (unsafe) { // said whatever the outcome: guest checks print only when they fail
        const char *what = broken ? "unsafe=1: CR0.WP owned by the guest under shadow paging "
                                    "broke the WP checks named above, as it must"
                                  : "unsafe=1: CR0.WP owned by the guest under shadow paging, "
                                    "yet nothing broke: the checks missed it";
        hc_puts(what);
        ok = hc_report(broken > 0, what);
    }
    return ok;
}

// SDM 3A 2.5 and 13.1.3 (table 13-1): with CR0.TS = 1 an SSE instruction raises
// #NM, whatever MP says; CLTS clears TS.
static bool ts_semantics(void)
{
    uint64_t cr0 = read_cr0();
    bool ok = true;
    write_cr0(cr0 | CR0_TS);
    ok &= hc_report(try_sse() == VEC_NM, "TS=1 (MOV to CR0): an SSE instruction (xorps) raises #NM");
    clts();
    ok &= hc_report(!(read_cr0() & CR0_TS), "CLTS: CR0.TS reads back 0");
    ok &= hc_report(try_sse() == -1, "TS=0 after CLTS: the same SSE instruction runs without a fault");
    write_cr0(cr0);
    return ok;
}

// MOV to CR0 from every general register, each write flipping WP and the next
// flipping it back: the exit qualification names the source register (SDM 3C
// 28.2.1, Table 28-3), and the hypervisor must take the value from that one,
// RSP included, which lives in the VMCS. For RSP the stack pointer holds the
// value for one instruction: nothing may fault or interrupt there.
static bool cr0_from_every_register(uint64_t cr0)
{
    bool ok = true;
    uint64_t saved;
#define FROM(reg)                                                                        \
    for (int i = 0; i < 2; i++) {                                                         \
        uint64_t v = i ? cr0 : cr0 ^ CR0_WP;                                              \
        asm volatile("mov %0, %%" #reg "\n\tmov %%" #reg ", %%cr0" ::"r"(v) : #reg, "memory"); \
        ok &= read_cr0() == v;                                                            \
    }
    FROM(rax) FROM(rcx) FROM(rdx) FROM(rbx) FROM(rbp) FROM(rsi) FROM(rdi) FROM(r8)
    FROM(r9) FROM(r10) FROM(r11) FROM(r12) FROM(r13) FROM(r14) FROM(r15)
#undef FROM
    for (int i = 0; i < 2; i++) {
        uint64_t v = i ? cr0 : cr0 ^ CR0_WP;
        asm volatile("mov %%rsp, %0\n\t"
                     "mov %1, %%rsp\n\t"
                     "mov %%rsp, %%cr0\n\t"
                     "mov %0, %%rsp"
                     : "=&r"(saved)
                     : "r"(v)
                     : "memory");
        ok &= read_cr0() == v;
    }
    return ok;
}

// SDM 3A 2.5 (CR0), LMSW and MOV CR in SDM 2: what a guest reads back must be
// what it wrote, whichever bits the hypervisor owns (the read shadow).
static bool cr0_readback(void)
{
    const uint64_t low4 = CR0_PE | CR0_MP | CR0_EM | CR0_TS; // what LMSW writes
    uint64_t cr0 = read_cr0();
    bool ok = true;
    ok &= hc_report(cr0 == (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG),
                    "CR0 at entry reads PE|MP|ET|NE|WP|PG (0x80010033), as abi.h says");

    write_cr0(cr0 ^ CR0_WP);
    ok &= hc_report(read_cr0() == (cr0 ^ CR0_WP),
                    "MOV to CR0 flipping WP: CR0 reads back exactly the value written");
    write_cr0(cr0);
    ok &= hc_report(read_cr0() == cr0, "MOV to CR0 flipping WP back: CR0 reads back the entry value");

    write_cr0(cr0 | CR0_TS);
    ok &= hc_report(read_cr0() == (cr0 | CR0_TS),
                    "MOV to CR0 setting TS: CR0 reads back exactly the value written");
    clts();
    ok &= hc_report(read_cr0() == cr0, "CLTS: CR0 reads back the previous value with only TS cleared");

    uint16_t msw = CR0_PE | CR0_MP | CR0_TS;
    lmsw(msw);
    ok &= hc_report(read_cr0() == ((cr0 & ~low4) | msw),
                    "LMSW PE|MP|TS: CR0 bits 3:0 read back as written, all other bits unchanged");
    lmsw(0);
    uint64_t now = read_cr0();
    ok &= hc_report(now & CR0_PE, "LMSW 0: PE stays 1 (LMSW cannot clear PE)");
    ok &= hc_report(now == ((cr0 & ~low4) | CR0_PE),
                    "LMSW 0: MP, EM and TS read back 0, all other bits unchanged");
    write_cr0(cr0);

    ok &= hc_report(cr0_from_every_register(cr0),
                    "MOV to CR0 from each of the 16 general registers, RSP too, flipping WP "
                    "and back: CR0 reads back each value written");

    // NW = 1 is valid only with CD = 1 (SDM 2 MOV CR; SDM 3A 2.5).
    int v = try_write_cr0(cr0 | CR0_CD | CR0_NW);
    ok &= hc_report(v == -1 && read_cr0() == (cr0 | CR0_CD | CR0_NW),
                    "MOV to CR0 setting CD and NW together lands and reads back");
    write_cr0(cr0);
    v = try_write_cr0(cr0 | CR0_NW);
    ok &= hc_report(v == VEC_GP && trap_error == 0 && read_cr0() == cr0,
                    "MOV to CR0 setting NW without CD raises #GP(0) and changes nothing");

    v = try_write_cr0(cr0 | 1ull << 63);
    ok &= hc_report(v == VEC_GP && trap_error == 0,
                    "MOV to CR0 with reserved bit 63 set raises #GP(0)");
    ok &= hc_report(read_cr0() == cr0, "the faulting MOV to CR0 leaves CR0 unchanged");
    return ok;
}

// SDM 2 "MOV - Move to/from Control Registers": MOV to CR4 raises #GP(0) for a
// reserved bit, for clearing PAE in IA-32e mode, for changing LA57 there, and
// for setting PCIDE while CR3[11:0] is not 0; a faulting write changes nothing.
// The same rules hold whether the hypervisor intercepts the write (host-owned
// bits: hv/exit/exit_cr.c emulates it) or the CPU does it.
static bool cr4_rules(void)
{
    const uint64_t entry = CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    uint64_t cr4 = read_cr4();
    bool ok = true;
    ok &= hc_report(cr4 == entry, "CR4 at entry reads PAE|MCE|OSFXSR|OSXMMEXCPT (0x660)");

    int v = try_write_cr4(cr4 | CR4_PGE);
    ok &= hc_report(v == -1 && read_cr4() == (cr4 | CR4_PGE),
                    "MOV to CR4 setting PGE lands and reads back");
    v = try_write_cr4(cr4);
    ok &= hc_report(v == -1 && read_cr4() == cr4, "MOV to CR4 clearing PGE lands and reads back");

    static const struct {
        uint64_t bits;
        bool set;
        const char *what;
    } refused[] = {
        { CR4_VMXE, true, "MOV to CR4 setting VMXE (no VMX for guests) raises #GP(0)" },
        { 1u << 15, true, "MOV to CR4 setting reserved bit 15 raises #GP(0)" },
        { 1ull << 32, true, "MOV to CR4 setting reserved bit 32 raises #GP(0)" },
        { CR4_PAE, false, "MOV to CR4 clearing PAE in IA-32e mode raises #GP(0)" },
        { CR4_LA57, true, "MOV to CR4 changing LA57 in IA-32e mode raises #GP(0)" },
    };
    for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        uint64_t val = refused[i].set ? cr4 | refused[i].bits : cr4 & ~refused[i].bits;
        v = try_write_cr4(val);
        ok &= hc_report(v == VEC_GP && trap_error == 0 && read_cr4() == cr4, refused[i].what);
    }

    // PCIDE with CR3[11:0] = 8 (PWT): #GP whether or not the CPU has PCIDs.
    uint64_t cr3;
    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    asm volatile("mov %0, %%cr3" ::"r"(cr3 | 8) : "memory");
    v = try_write_cr4(cr4 | CR4_PCIDE);
    asm volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
    ok &= hc_report(v == VEC_GP && read_cr4() == cr4,
                    "MOV to CR4 setting PCIDE while CR3[11:0] = 8 raises #GP(0)");
    return ok;
}

// A single step over a MOV to CR0 that flips WP: RFLAGS.TF is set by POPF, so
// the trap is due after the next instruction; that is MOV SS, which holds it
// back one instruction more (SDM 3A 6.8.3, 18.3.1.4). So exactly one #DB must
// arrive, with DR6.BS, at the instruction after the MOV to CR0, whether the
// CPU ran that MOV or the hypervisor emulated it (then it must end the MOV-SS
// blocking and make the single step pending, SDM 3C 25.4.2, 27.7.3). The
// second case is the same without MOV SS.
static bool single_step_over(bool mov_ss, const char *what)
{
    uint64_t cr0 = read_cr0(), after;
    write_dr6(DR6_INIT);
    single_steps = 0;
    single_step_watch = true;
    if (mov_ss)
        asm volatile("lea 1f(%%rip), %[after]\n\t"
                     "mov %%ss, %%eax\n\t"
                     "pushfq\n\t"
                     "orq %[tf], (%%rsp)\n\t"
                     "popfq\n\t"
                     "mov %%eax, %%ss\n\t"
                     "mov %[v], %%cr0\n"
                     "1:\tnop"
                     : [after] "=&r"(after)
                     : [v] "r"(cr0 ^ CR0_WP), [tf] "i"(RFLAGS_TF)
                     : "rax", "memory", "cc");
    else
        asm volatile("lea 1f(%%rip), %[after]\n\t"
                     "pushfq\n\t"
                     "orq %[tf], (%%rsp)\n\t"
                     "popfq\n\t"
                     "mov %[v], %%cr0\n"
                     "1:\tnop"
                     : [after] "=&r"(after)
                     : [v] "r"(cr0 ^ CR0_WP), [tf] "i"(RFLAGS_TF)
                     : "memory", "cc");
    single_step_watch = false;
    bool landed = read_cr0() == (cr0 ^ CR0_WP);
    write_cr0(cr0);
    return hc_report(single_steps == 1 && single_step_rip == after &&
                     (single_step_dr6 & DR6_BS) && landed, what);
}

static bool single_step(void)
{
    bool ok = true;
    ok &= single_step_over(false, "TF set: one #DB (DR6.BS) right after the MOV to CR0, "
                                  "which lands");
    ok &= single_step_over(true, "TF set, MOV SS, MOV to CR0: one #DB (DR6.BS) right after "
                                 "the MOV to CR0, not later");
    return ok;
}

int guest_main(struct guest_params *p)
{
    const uint64_t known = GP_WP_SEMANTICS | GP_TS_SEMANTICS | GP_CR0_READBACK |
                           GP_CR4_RULES | GP_SINGLE_STEP;
    if (p->flags == 0 || (p->flags & ~known)) {
        hc_puts("semantics: guest_params.flags selects no checks or has unknown bits");
        return 1;
    }
    bool ok = true;
    if (p->flags & GP_WP_SEMANTICS)
        ok &= wp_semantics(p);
    if (p->flags & GP_TS_SEMANTICS)
        ok &= ts_semantics();
    if (p->flags & GP_CR0_READBACK)
        ok &= cr0_readback();
    if (p->flags & GP_CR4_RULES)
        ok &= cr4_rules();
    if (p->flags & GP_SINGLE_STEP)
        ok &= single_step();
    return ok ? 0 : 1;
}
