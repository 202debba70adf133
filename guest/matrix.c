// matrix.c: the access-rights matrix (row access-matrix). For every mix of U/S,
// R/W, XD in the entries that map a 4 KiB, 2 MiB or 1 GiB page, CR0.WP,
// EFER.NXE, CR4.SMEP and SMAP, CPL 0/3 and read/write/execute, one access to a
// test page; the delivery of an exception whose stack is that page; and MOVs
// to CR3 and CR0 the CPU refuses; each recorded: fault, vector, error code, CR2
// (or the register read back), A, D (struct matrix_entry, abi.h). Checks each
// entry against SDM 3A 4.6-4.8 and 6.15, hands the record over (HC_RECORD),
// and leaves CR0, CR2, CR4, EFER, the IDT and the page tables as it found them.
#include "rt/guest.h"
#include "matrix.h"

// The test region, in PML4 slot 1, which the identity map leaves empty:
// PML4[1] -> pdpt -> pd; pd[0] -> pt -> the 4 KiB page; pd[1] maps the 2 MiB
// page at GPA 2 MiB, which nothing else uses (the image ends below 2 MiB);
// pdpt[1] maps a 1 GiB page at GPA 0, reached at GPA 2 MiB, in its second
// 2 MiB, while INVLPG names only its first; pdpt[2] is never present.
#define TEST_VA 0x8000000000ull
#define VA_4K TEST_VA
#define VA_2M (TEST_VA + 0x200000)
#define VA_1G (TEST_VA + (1ull << 30))
#define VA_1G_AT (VA_1G + GPA_2M)
#define VA_NP (TEST_VA + (2ull << 30))
#define GPA_2M 0x200000ull
#define STACK_TOP (VA_4K + 4096)       // the IST of the MX_PUSH_* entries
#define NONCANONICAL 0x8000000000000000ull
#define RET 0xc3 // the byte at the start of both test pages: CALL there returns

// Volatile: the CPU writes A and D into them behind the compiler's back.
static volatile uint64_t pdpt[512] __attribute__((aligned(4096)));
static volatile uint64_t pd[512] __attribute__((aligned(4096)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t page_4k[4096] __attribute__((aligned(4096)));
static struct matrix_entry record[MATRIX_ENTRIES];
static unsigned recorded;

// What this CPU offers, as CPUID tells the guest (SDM 2 CPUID): entries that
// need what is missing are recorded as not run; 1 GiB pages are tried anyway
// (PS in a PDPTE is then a reserved bit, SDM 3A 4.5.4).
static struct {
    bool smep, smap, pcid, gbpages;
    unsigned maxphyaddr;
    uint64_t cr0, cr3; // CR0 with WP, and CR3: what the MOV-to-CR cases read back
} cpu;

// Ring 3's accesses (run_user), in a .user page. Each is one instruction on
// the test page: the same as ring 0's try_read_u64, try_write_u64, try_call;
// user_step is ring 3's try_single_step.
USER_TEXT static uint64_t user_read(uint64_t va)
{
    return *(volatile uint64_t *)va;
}
USER_TEXT static uint64_t user_write(uint64_t va)
{
    *(volatile uint64_t *)va = RET;
    return 0;
}
USER_TEXT static uint64_t user_exec(uint64_t va)
{
    ((void (*)(void))va)();
    return 0;
}
USER_TEXT static uint64_t user_step(uint64_t unused)
{
    (void)unused;
    asm volatile("pushfq; pushfq; orq $0x100, (%%rsp); popfq; popfq" ::: "memory", "cc");
    return 0;
}

// The entries' bits: MX_U/MX_W/MX_XD to U/S, R/W, XD (SDM 3A 4.5, Tables 4-15 to 4-20).
static uint64_t pte_bits(uint8_t bits)
{
    return PTE_P | ((bits & MX_U) ? PTE_U : 0) | ((bits & MX_W) ? PTE_W : 0) |
           ((bits & MX_XD) ? PTE_NX : 0);
}

static volatile uint64_t *pml4(void)
{
    return (volatile uint64_t *)(read_cr3() & ~0xfffull);
}

static uint64_t page_va(const struct matrix_entry *e)
{
    return e->page == MX_PAGE_4K ? VA_4K : e->page == MX_PAGE_2M ? VA_2M : VA_1G_AT;
}

// The exception each MX_PUSH_* entry raises, and how (CPL 0, CPL 3): a read
// of a non-canonical address (#GP(0), SDM 3A 6.15 interrupt 13), a read of
// the never-present VA_NP (#PF), a single step.
static const struct {
    uint8_t vector;
    int (*cpl0)(void);
    uint64_t (*cpl3)(uint64_t);
    uint64_t arg;
} pushes[] = {
    [MX_PUSH_GP - MX_PUSH_GP] = { VEC_GP, NULL, user_read, NONCANONICAL },
    [MX_PUSH_PF - MX_PUSH_GP] = { VEC_PF, NULL, user_read, VA_NP },
    [MX_PUSH_DB - MX_PUSH_GP] = { VEC_DB, try_single_step, user_step, 0 },
};

static int access_at_cpl0(uint8_t access, uint64_t va)
{
    uint64_t val;
    switch (access) {
    case MX_READ:
        return try_read_u64((const volatile uint64_t *)va, &val);
    case MX_WRITE:
        return try_write_u64((volatile uint64_t *)va, RET);
    case MX_EXEC:
        return try_call((const volatile void *)va);
    case MX_WRITE_EXEC: { // the write's TLB entry, if any, is still there for the fetch
        int v = try_write_u64((volatile uint64_t *)va, RET);
        return v == -1 ? try_call((const volatile void *)va) : v;
    }
    case MX_WRITE_SMAP_READ: { // MOV to CR4 changing SMAP flushes nothing (SDM 3A 4.10.4.1)
        uint64_t cr4 = read_cr4();
        write_cr4(cr4 & ~(uint64_t)CR4_SMAP);
        int v = try_write_u64((volatile uint64_t *)va, RET);
        write_cr4(cr4);
        return v == -1 ? try_read_u64((const volatile uint64_t *)va, &val) : v;
    }
    }
    const uint64_t arg = pushes[access - MX_PUSH_GP].arg;
    return pushes[access - MX_PUSH_GP].cpl0
               ? pushes[access - MX_PUSH_GP].cpl0()
               : try_read_u64((const volatile uint64_t *)arg, &val);
}

static int access_at_cpl3(uint8_t access, uint64_t va)
{
    static uint64_t (*const user[])(uint64_t) = { [MX_READ] = user_read,
                                                  [MX_WRITE] = user_write,
                                                  [MX_EXEC] = user_exec };
    if (access <= MX_EXEC)
        return run_user(user[access], va, NULL);
    return run_user(pushes[access - MX_PUSH_GP].cpl3, pushes[access - MX_PUSH_GP].arg, NULL);
}

// A MOV-to-CR case: CR4.PCIDE as the entry says, the MOV, what the register
// reads afterwards; then CR3 and CR4 as before.
static void cr_case(struct matrix_entry *e)
{
    uint64_t cr4 = read_cr4();
    if (e->mode & MX_PCIDE) // CR3[11:0] is 0: PCID 0 (SDM 3A 4.10.1)
        write_cr4(cr4 | CR4_PCIDE);
    int v;
    switch (e->access) {
    case MX_CR3_BIT63:
        v = try_write_cr3(cpu.cr3 | 1ull << 63);
        break;
    case MX_CR3_HIGH:
        v = try_write_cr3(cpu.cr3 | 1ull << cpu.maxphyaddr);
        break;
    case MX_CR3_BOTH:
        v = try_write_cr3(cpu.cr3 | 1ull << cpu.maxphyaddr | 1ull << 63);
        break;
    case MX_CR0_PG_OFF:
        v = try_write_cr0(cpu.cr0 & ~(uint64_t)CR0_PG);
        break;
    default:
        v = try_compat_write_cr0((uint32_t)(cpu.cr0 & ~(uint64_t)CR0_PG));
        break;
    }
    e->faulted = v != -1;
    e->vector = v == -1 ? 0 : (uint8_t)v;
    e->error = v == -1 ? 0 : (uint32_t)trap_error;
    e->cr2 = e->access <= MX_CR3_BOTH ? read_cr3() : read_cr0();
    write_cr3(cpu.cr3);
    write_cr4(cr4);
}

// One access: entries rewritten, the levels above the leaf with A preset
// (unless the entry asks for every A clear), the leaf's A and D clear, the
// stale translations dropped, CR2 cleared; then the access, and what it did.
// Presetting A matters: whether a walk that ends in a fault sets A in the
// entries it read is not architectural; only a walk that succeeds must set
// A in every entry it used (SDM 3A 4.8).
static void access_once(struct matrix_entry *e)
{
    if (mx_is_cr_case(e)) {
        cr_case(e);
        return;
    }
    uint64_t a = (e->mode & MX_A_CLEAR) ? 0 : PTE_A;
    pml4()[1] = (uint64_t)pdpt | PTE_P | PTE_W | PTE_U | a;
    pdpt[0] = (uint64_t)pd | PTE_P | PTE_W | PTE_U | a;
    pdpt[1] = e->page == MX_PAGE_1G ? PTE_PS | pte_bits(e->pde) : 0; // GPA 0
    pd[0] = e->page == MX_PAGE_4K ? (uint64_t)pt | pte_bits(e->pde) | a : 0;
    pd[1] = e->page == MX_PAGE_2M ? GPA_2M | PTE_PS | pte_bits(e->pde) : 0;
    pt[0] = (uint64_t)page_4k | pte_bits(e->pte);
    // INVLPG drops every TLB entry of the page that holds its address, all of
    // a 1 GiB page's however the CPU split it (SDM 3A 4.10.2.3, 4.10.4.1),
    // and every paging-structure cache entry, so the upper levels are read
    // afresh too. VA_1G is the 1 GiB page's first 2 MiB; the access is in
    // its second.
    invlpg((void *)VA_4K);
    invlpg((void *)VA_2M);
    invlpg((void *)VA_1G);
    write_cr2(0);

    bool push = e->access >= MX_PUSH_GP && e->access <= MX_PUSH_DB;
    if (push)
        set_ist(pushes[e->access - MX_PUSH_GP].vector, STACK_TOP);
    int v = (e->mode & MX_CPL3) ? access_at_cpl3(e->access, page_va(e))
                                : access_at_cpl0(e->access, page_va(e));
    if (push)
        set_ist(pushes[e->access - MX_PUSH_GP].vector, 0);
    e->faulted = v != -1;
    e->vector = v == -1 ? 0 : (uint8_t)v;
    e->error = v == -1 ? 0 : (uint32_t)trap_error;
    e->cr2 = read_cr2();
    uint64_t pdpte = e->page == MX_PAGE_1G ? pdpt[1] : pdpt[0];
    uint64_t leaf = e->page == MX_PAGE_4K ? pt[0] : e->page == MX_PAGE_2M ? pd[1] : pdpte;
    e->accessed = 0;
    if (pml4()[1] & PTE_A)
        e->accessed |= MX_A_PML4E;
    if (pdpte & PTE_A)
        e->accessed |= MX_A_PDPTE;
    if (e->page == MX_PAGE_4K && (pd[0] & PTE_A))
        e->accessed |= MX_A_PDE;
    if (leaf & PTE_A)
        e->accessed |= mx_leaf_a(e);
    e->dirty = (leaf & PTE_D) != 0;
}

// An outcome: a fault (vector, error code, CR2) or none.
static void outcome(struct matrix_entry *x, bool ok, uint8_t vector, uint32_t error, uint64_t cr2)
{
    x->faulted = !ok;
    x->vector = ok ? 0 : vector;
    x->error = ok ? 0 : error;
    x->cr2 = ok ? 0 : cr2;
}

// The MOV-to-CR cases (SDM 2 MOV CR, SDM 3A 4.10.1): bit 63 of CR3's source
// is reserved without CR4.PCIDE and, with it, asks for no flush and is not
// stored; bits 62:MAXPHYADDR are reserved either way (SDM 3A 4.5, Table
// 4-12); clearing PG is #GP(0) in 64-bit mode, and in compatibility mode
// while PCIDE is 1. A refused MOV leaves the register as it was.
static void cr_oracle(struct matrix_entry *x)
{
    bool ok = x->access == MX_CR3_BIT63 && (x->mode & MX_PCIDE);
    outcome(x, ok, VEC_GP, 0, 0);
    x->cr2 = x->access <= MX_CR3_BOTH ? cpu.cr3 : cpu.cr0;
    x->accessed = 0;
    x->dirty = 0;
}

// What SDM 3A says the access must do: 4.6.1 (access rights: with SMEP a
// supervisor fetch from a user page faults; with SMAP, and RFLAGS.AC = 0, so
// does a supervisor read or write of one, and so does every implicit
// supervisor access, such as an exception's pushes, whatever AC), 4.5.4 (XD
// is a reserved bit while EFER.NXE = 0; so is PS in a PDPTE without 1 GiB
// pages), 4.7 (the #PF error code: P = 1, since every entry is present; W/R
// and U/S describe the access, U/S = 0 for the pushes; RSVD; I/D only for a
// fetch with NXE or SMEP), 4.8 (A in every entry a successful walk used, D
// in the leaf on a write), and 6.15 Table 6-5 for an exception whose
// delivery faults: a #PF while delivering a #GP (contributory) or a #DB
// (benign) is delivered in its stead, and the #DB, a trap, is gone; a #PF
// while delivering a #PF is a #DF (error code 0). The PML4E and PDPTE of a
// smaller page allow everything; rights combine over the levels: user only
// if U/S = 1 in all, writable only if R/W = 1 in all, execute-disabled if XD
// = 1 in any.
static void oracle(struct matrix_entry *x)
{
    if ((x->mode & MX_SMEP && !cpu.smep) || (x->mode & MX_SMAP && !cpu.smap) ||
        (x->mode & MX_PCIDE && !cpu.pcid) ||
        (x->mode & MX_A_CLEAR && x->page == MX_PAGE_1G && !cpu.gbpages)) {
        *x = (struct matrix_entry){ .page = x->page, .pde = x->pde, .pte = x->pte,
                                    .mode = x->mode, .access = x->access,
                                    .faulted = MX_NOT_RUN };
        return;
    }
    if (mx_is_cr_case(x)) {
        cr_oracle(x);
        return;
    }
    bool four_k = x->page == MX_PAGE_4K;
    uint8_t all = four_k ? x->pde & x->pte : x->pde, any = four_k ? x->pde | x->pte : x->pde;
    bool nxe = x->mode & MX_NXE, user = x->mode & MX_CPL3, wp = x->mode & MX_WP;
    bool smep = x->mode & MX_SMEP, smap = x->mode & MX_SMAP;
    bool rsvd = (!nxe && (any & MX_XD)) || (x->page == MX_PAGE_1G && !cpu.gbpages);
    bool xd = nxe && (any & MX_XD);
    bool u = all & MX_U, w = all & MX_W;
    bool read_ok = !rsvd && (user ? u : !(smap && u));
    bool write_ok = !rsvd && (user ? u && w : !(smap && u) && (w || !wp));
    bool exec_ok = !rsvd && (user ? u : !(smep && u)) && !xd;
    uint32_t err = PF_P | (user ? PF_U : 0) | (rsvd ? PF_RSVD : 0);
    uint32_t fetch = nxe || smep ? PF_I : 0;
    uint64_t va = page_va(x);
    bool touched; // the access went through the page: its A, and D if it wrote
    switch (x->access) {
    case MX_READ:
        outcome(x, touched = read_ok, VEC_PF, err, va);
        break;
    case MX_WRITE:
        outcome(x, touched = write_ok, VEC_PF, err | PF_W, va);
        break;
    case MX_EXEC:
        outcome(x, touched = exec_ok, VEC_PF, err | fetch, va);
        break;
    case MX_WRITE_EXEC:
        if ((touched = write_ok))
            outcome(x, exec_ok, VEC_PF, err | fetch, va);
        else
            outcome(x, false, VEC_PF, err | PF_W, va);
        break;
    case MX_WRITE_SMAP_READ: // the write with SMAP 0: only WP stands in its way
        if ((touched = !rsvd && (w || !wp)))
            outcome(x, read_ok, VEC_PF, err, va);
        else
            outcome(x, false, VEC_PF, err | PF_W, va);
        break;
    default: { // the pushes: implicit supervisor writes at the top of the page
        touched = !rsvd && (w || !wp) && !(smap && u);
        const uint64_t first_push = STACK_TOP - 8; // SS, the first of the frame (6.14.2)
        if (!touched && x->access == MX_PUSH_PF)
            outcome(x, false, VEC_DF, 0, first_push);
        else if (!touched)
            outcome(x, false, VEC_PF, PF_P | PF_W, first_push);
        else if (x->access == MX_PUSH_GP)
            outcome(x, false, VEC_GP, 0, 0);
        else if (x->access == MX_PUSH_PF)
            outcome(x, false, VEC_PF, user ? PF_U : 0, VA_NP);
        else
            outcome(x, false, VEC_DB, 0, 0);
        break;
    }
    }
    uint8_t leaf = mx_leaf_a(x);
    x->accessed = (uint8_t)((leaf - 1) | (touched ? leaf : 0));
    x->dirty = touched && x->access != MX_READ && x->access != MX_EXEC;
}

static bool same_outcome(const struct matrix_entry *a, const struct matrix_entry *b)
{
    return a->faulted == b->faulted && a->vector == b->vector && a->error == b->error &&
           a->cr2 == b->cr2 && a->accessed == b->accessed && a->dirty == b->dirty;
}

// The groups of the matrix, in the order they run; each is one check.
enum kind {
    PLAIN,    // WP 0 and 1, CPL 0 and 3, each access, every combination of the bits
    RESERVED, // NXE = 0 with XD set in one entry: a reserved-bit fault
    A_CLEAR,  // every level's A clear before an access that must succeed
    DELIVER,  // an exception delivered onto the page, WP 0 and 1, CPL 0 and 3
    SUPER,    // CPL 0 with CR4.SMEP or SMAP (.cr4), WP 0 and 1, each U/S and R/W
    CRS,      // the MOV-to-CR cases, PCIDE 0 and 1
};
static const struct group {
    const char *name;
    uint8_t page;
    bool nxe;
    enum kind kind;
    uint8_t mode; // MX_SMEP or MX_SMAP for SUPER
} groups[] = {
    { "MOV to CR3 and CR0", 0, true, CRS, 0 },
    { "4 KiB pages, NXE=1", MX_PAGE_4K, true, PLAIN, 0 },
    { "2 MiB pages, NXE=1", MX_PAGE_2M, true, PLAIN, 0 },
    { "1 GiB pages, NXE=1", MX_PAGE_1G, true, PLAIN, 0 },
    { "every page size, NXE=1, every A clear before", 0, true, A_CLEAR, 0 },
    { "4 KiB pages, NXE=0, XD clear", MX_PAGE_4K, false, PLAIN, 0 },
    { "2 MiB pages, NXE=0, XD clear", MX_PAGE_2M, false, PLAIN, 0 },
    { "1 GiB pages, NXE=0, XD clear", MX_PAGE_1G, false, PLAIN, 0 },
    { "every page size, NXE=0, XD set (reserved)", 0, false, RESERVED, 0 },
    { "exceptions delivered onto a 4 KiB page", MX_PAGE_4K, true, DELIVER, 0 },
    { "SMEP, NXE=1", MX_PAGE_4K, true, SUPER, MX_SMEP },
    { "SMEP, NXE=0", MX_PAGE_4K, false, SUPER, MX_SMEP },
    { "SMAP", MX_PAGE_4K, true, SUPER, MX_SMAP },
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))
// PLAIN: (64 + 8 + 8) combinations with NXE = 1 and (16 + 4 + 4) with NXE =
// 0, each under 2 WP x 2 CPL x 3 accesses; A_CLEAR: 3 page sizes x 2 CPL x
// 3; RESERVED: 4 places for XD x 2 CPL x 3; DELIVER: 16 combinations x 2 WP x
// 2 CPL x 3 exceptions; SUPER: 16 x 2 WP x 4 accesses for each SMEP group,
// x 5 for SMAP; CRS: 4 cases with PCIDE 0 and 5 with PCIDE 1.
_Static_assert(MATRIX_ENTRIES == (64 + 8 + 8 + 16 + 4 + 4) * 12 + 3 * 6 + 4 * 6 +
                                     16 * 2 * 2 * 3 + 16 * 2 * (4 + 4 + 5) + 4 + 5,
               "MATRIX_ENTRIES (guest/abi.h) is the size of the matrix");

static void add(uint8_t page, uint8_t pde, uint8_t pte, uint8_t mode, uint8_t access)
{
    if (recorded >= MATRIX_ENTRIES) {
        recorded++; // counted, not stored: the check on the count reports it
        return;
    }
    struct matrix_entry *e = &record[recorded++];
    *e = (struct matrix_entry){ .page = page, .pde = pde, .pte = pte, .mode = mode,
                                .access = access };
    struct matrix_entry want = *e;
    oracle(&want);
    if (want.faulted == MX_NOT_RUN) // the CPU lacks what it needs: the oracle's verdict
        *e = want;
    else
        access_once(e);
}

// The accesses of each kind; each of U/S and R/W in the PDE and the PTE.
static const uint8_t accesses[][4] = {
    [PLAIN] = { MX_READ, MX_WRITE, MX_EXEC }, [RESERVED] = { MX_READ, MX_WRITE, MX_EXEC },
    [A_CLEAR] = { MX_READ, MX_WRITE, MX_EXEC },
    [DELIVER] = { MX_PUSH_GP, MX_PUSH_PF, MX_PUSH_DB },
};

static void each_u_w(uint8_t mode, uint8_t access)
{
    for (uint8_t pde = 0; pde < 4; pde++)
        for (uint8_t pte = 0; pte < 4; pte++)
            add(MX_PAGE_4K, pde, pte, mode, access);
}

static void run_cr_cases(void)
{
    const uint8_t cases[] = { MX_CR3_BIT63, MX_CR3_HIGH, MX_CR3_BOTH, MX_CR0_PG_OFF };
    for (uint8_t pcide = 0; pcide <= MX_PCIDE; pcide += MX_PCIDE) {
        for (unsigned i = 0; i < sizeof(cases); i++)
            add(0, 0, 0, MX_WP | MX_NXE | pcide, cases[i]);
        // Clearing PG in compatibility mode with PCIDE 0 leaves IA-32e mode
        // (SDM 3A 10.8.5.4): row leave-long-mode, not a case of the matrix.
        if (pcide)
            add(0, 0, 0, MX_WP | MX_NXE | pcide, MX_CR0_PG_OFF_COMPAT);
    }
}

// Every entry of one group (CR0.WP, CR4 and EFER.NXE are set here and by the
// caller), by WP, CPL, access, then the entries' bits.
static void run_group(const struct group *g, uint64_t cr0)
{
    uint8_t nxe = g->nxe ? MX_NXE : 0;
    uint64_t cr4 = read_cr4();
    bool cr4_ok = (g->mode != MX_SMEP || cpu.smep) && (g->mode != MX_SMAP || cpu.smap);
    if (g->mode && cr4_ok)
        write_cr4(cr4 | (g->mode == MX_SMEP ? CR4_SMEP : CR4_SMAP));
    for (int wp = 0; wp < 2; wp++) {
        if ((g->kind == RESERVED || g->kind == A_CLEAR || g->kind == CRS) && !wp)
            continue; // these kinds run with WP = 1 only
        write_cr0(wp ? cr0 | CR0_WP : cr0 & ~(uint64_t)CR0_WP);
        uint8_t mode = nxe | (wp ? MX_WP : 0) | g->mode;
        if (g->kind == CRS) {
            run_cr_cases();
            continue;
        }
        if (g->kind == SUPER) { // CPL 0: ring 3 is not what SMEP and SMAP are about
            static const uint8_t smep[] = { MX_READ, MX_WRITE, MX_EXEC, MX_WRITE_EXEC };
            static const uint8_t smap[] = { MX_READ, MX_WRITE, MX_EXEC, MX_PUSH_GP,
                                            MX_WRITE_SMAP_READ };
            bool is_smep = g->mode == MX_SMEP;
            for (unsigned i = 0; i < (is_smep ? sizeof(smep) : sizeof(smap)); i++)
                each_u_w(mode, is_smep ? smep[i] : smap[i]);
            continue;
        }
        for (uint8_t cpl3 = 0; cpl3 <= MX_CPL3; cpl3 += MX_CPL3) {
            for (unsigned i = 0; i < 3; i++) {
                uint8_t access = accesses[g->kind][i];
                const uint8_t uw = MX_U | MX_W;
                if (g->kind == A_CLEAR) {
                    add(MX_PAGE_4K, uw, uw, mode | cpl3 | MX_A_CLEAR, access);
                    add(MX_PAGE_2M, uw, 0, mode | cpl3 | MX_A_CLEAR, access);
                    add(MX_PAGE_1G, uw, 0, mode | cpl3 | MX_A_CLEAR, access);
                } else if (g->kind == RESERVED) {
                    add(MX_PAGE_4K, uw | MX_XD, uw, mode | cpl3, access);
                    add(MX_PAGE_4K, uw, uw | MX_XD, mode | cpl3, access);
                    add(MX_PAGE_2M, uw | MX_XD, 0, mode | cpl3, access);
                    add(MX_PAGE_1G, uw | MX_XD, 0, mode | cpl3, access);
                } else if (g->kind == DELIVER) {
                    each_u_w(mode | cpl3, access);
                } else {
                    uint8_t combos = g->nxe ? 8 : 4; // XD only where NXE gives it a meaning
                    for (uint8_t pde = 0; pde < combos; pde++)
                        for (uint8_t pte = 0; pte < (g->page == MX_PAGE_4K ? combos : 1); pte++)
                            add(g->page, pde, pte, mode | cpl3, access);
                }
            }
        }
    }
    write_cr4(cr4);
}

static void describe_mismatch(struct text *t, const struct matrix_entry *got,
                              const struct matrix_entry *want)
{
    mx_put_inputs(t, got);
    text_put(t, ": SDM says ");
    mx_put_outcome(t, want);
    text_put(t, "; got ");
    mx_put_outcome(t, got);
}

// One check per group: every entry as the oracle says; or how many are not,
// the first of them spelled out in the check's line, the next two in lines
// of their own.
static bool check_group(const struct group *g, unsigned first, unsigned end)
{
    end = end < MATRIX_ENTRIES ? end : MATRIX_ENTRIES; // a wrong count is a check of its own
    first = first < end ? first : end;
    unsigned bad = 0, shown[3], not_run = 0;
    struct matrix_entry want[3];
    for (unsigned i = first; i < end; i++) {
        struct matrix_entry x = record[i];
        oracle(&x);
        not_run += x.faulted == MX_NOT_RUN;
        if (same_outcome(&x, &record[i]))
            continue;
        if (bad < 3) {
            shown[bad] = i;
            want[bad] = x;
        }
        bad++;
    }
    char line[256];
    struct text t = { line, sizeof(line), 0 };
    text_put(&t, "access matrix, ");
    text_put(&t, g->name);
    text_put(&t, ": ");
    text_num(&t, bad ? bad : end - first, 10);
    if (bad) {
        text_put(&t, " of ");
        text_num(&t, end - first, 10);
        text_put(&t, " entries not as SDM 3A 4.6-4.8 say, the first: ");
        describe_mismatch(&t, &record[shown[0]], &want[0]);
    } else {
        text_put(&t, " entries as SDM 3A 4.6-4.8 say");
        if (not_run) {
            text_put(&t, " (");
            text_num(&t, not_run, 10);
            text_put(&t, " not run: this CPU lacks what they need)");
        }
    }
    hc_report(!bad, line);
    for (unsigned k = 1; k < bad && k < 3; k++) {
        t = (struct text){ line, sizeof(line), 0 };
        text_put(&t, "access matrix, not as SDM 3A 4.6-4.8 say, too: ");
        describe_mismatch(&t, &record[shown[k]], &want[k]);
        hc_puts(line);
    }
    return !bad;
}

// run_user() itself, before the matrix relies on it: CPL 3 is reached and
// left, INT n through a DPL-0 gate is #GP (SDM 3A 6.12.1.1) with the IDT
// vector in the error code (SDM 3A 6.13), and a user read of a supervisor page
// is #PF with U/S = 1 in the error code.
USER_TEXT static uint64_t user_cs(uint64_t unused)
{
    (void)unused;
    uint64_t cs;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    return cs;
}
USER_TEXT static uint64_t user_int3(uint64_t unused)
{
    (void)unused;
    asm volatile("int3");
    return 0;
}

static bool ring3_checks(void)
{
    bool ok = true;
    uint64_t cs = 0, ds_before, ds_after;
    asm volatile("mov %%ds, %0" : "=r"(ds_before));
    int v = run_user(user_cs, 0, &cs);
    asm volatile("mov %%ds, %0" : "=r"(ds_after));
    ok &= hc_report(v == -1 && cs == SEL_USER_CODE && ds_after == ds_before,
                    "run_user: code runs with CS = 0x23 (CPL 3) and returns; DS is put back");
    v = run_user(user_int3, 0, NULL);
    ok &= hc_report(v == VEC_GP && trap_error == (VEC_BP << 3 | 2),
                    "run_user: INT3 at CPL 3 through a DPL-0 gate raises #GP(0x1a)");
    static volatile uint64_t supervisor_only;
    v = run_user(user_read, (uint64_t)&supervisor_only, NULL);
    ok &= hc_report(v == VEC_PF && trap_error == (PF_P | PF_U) &&
                        trap_cr2 == (uint64_t)&supervisor_only,
                    "run_user: a CPL-3 read of a supervisor page raises #PF(0x5) with its CR2");
    return ok;
}

// SDM 2 CPUID: leaf 7 EBX[7] SMEP, EBX[20] SMAP; leaf 1 ECX[17] PCID; leaf
// 80000001H EDX[26] 1 GiB pages; leaf 80000008H EAX[7:0] MAXPHYADDR.
static void read_cpu(uint64_t cr0)
{
    uint32_t r[4];
    cpuid(7, 0, r);
    cpu.smep = r[1] >> 7 & 1;
    cpu.smap = r[1] >> 20 & 1;
    cpuid(1, 0, r);
    cpu.pcid = r[2] >> 17 & 1;
    cpuid(0x80000001, 0, r);
    cpu.gbpages = r[3] >> 26 & 1;
    cpuid(0x80000008, 0, r);
    cpu.maxphyaddr = r[0] & 0xff;
    cpu.cr0 = cr0 | CR0_WP;
    cpu.cr3 = read_cr3();
}

int guest_main(struct guest_params *p)
{
    (void)p;
    bool ok = ring3_checks();
    uint64_t cr0 = read_cr0(), cr2 = read_cr2(), cr4 = read_cr4(), efer;
    if (try_rdmsr(MSR_EFER, &efer) != -1)
        return !hc_report(false, "access matrix: RDMSR of IA32_EFER raised an exception");
    read_cpu(cr0);
    page_4k[0] = RET;
    *(volatile uint8_t *)GPA_2M = RET; // through the identity map's 2 MiB page

    unsigned first[NGROUPS + 1], ran = 0;
    uint64_t t0 = rdtsc();
    for (; ran < NGROUPS; ran++) {
        first[ran] = recorded;
        uint64_t want = groups[ran].nxe ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE, back;
        if (try_wrmsr(MSR_EFER, want) != -1 || try_rdmsr(MSR_EFER, &back) != -1 ||
            back != want) {
            ok &= hc_report(false, "access matrix: IA32_EFER does not take NXE, or does not "
                                   "read back what was written");
            break;
        }
        run_group(&groups[ran], cr0);
    }
    uint64_t ticks = rdtsc() - t0;
    first[ran] = recorded;

    // As found: CR0, CR2, CR4, EFER, PML4[1] empty again, no translation left of it.
    write_cr0(cr0);
    write_cr2(cr2);
    write_cr4(cr4);
    try_wrmsr(MSR_EFER, efer);
    pml4()[1] = 0;
    invlpg((void *)VA_4K);
    invlpg((void *)VA_2M);
    invlpg((void *)VA_1G);

    // One check: every entry of MATRIX_ENTRIES (guest/abi.h) recorded; its
    // text, shown with verbose=1 or when it fails, says how long they took.
    char line[128];
    struct text t = { line, sizeof(line), 0 };
    text_put(&t, "access matrix: ");
    text_num(&t, recorded, 10);
    text_put(&t, " entries (MATRIX_ENTRIES) recorded in ");
    text_num(&t, ticks, 10);
    text_put(&t, " TSC ticks");
    ok &= hc_report(recorded == MATRIX_ENTRIES, line);
    for (unsigned g = 0; g < ran; g++)
        ok &= check_group(&groups[g], first[g], first[g + 1]);
    hc_record(record, (recorded < MATRIX_ENTRIES ? recorded : MATRIX_ENTRIES) * sizeof(record[0]));
    return ok ? 0 : 1;
}
