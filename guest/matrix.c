// matrix.c: the access-rights matrix (row access-matrix). For every mix of U/S,
// R/W, XD in the PDE and PTE of a 4 KiB page (or the PDE of a 2 MiB one),
// CR0.WP, EFER.NXE, CPL 0/3 and read/write/execute, one access to a test page,
// recorded: fault, vector, error code, CR2, A, D (struct matrix_entry, abi.h).
// Checks each entry against SDM 3A 4.6-4.8, hands the record over (HC_RECORD),
// and leaves CR0, CR2, EFER and the page tables as it found them.
#include "rt/guest.h"
#include "matrix.h"

// The test region, in PML4 slot 1, which the identity map leaves empty:
// PML4[1] -> pdpt -> pd; pd[0] -> pt -> the 4 KiB page; pd[1] maps the 2 MiB
// page at GPA 2 MiB, which nothing else uses (the image ends below 2 MiB).
#define TEST_VA 0x8000000000ull
#define VA_4K TEST_VA
#define VA_2M (TEST_VA + 0x200000)
#define GPA_2M 0x200000ull
#define RET 0xc3 // the byte at the start of both test pages: CALL there returns

// Volatile: the CPU writes A and D into them behind the compiler's back.
static volatile uint64_t pdpt[512] __attribute__((aligned(4096)));
static volatile uint64_t pd[512] __attribute__((aligned(4096)));
static volatile uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t page_4k[4096] __attribute__((aligned(4096)));
static struct matrix_entry record[MATRIX_ENTRIES];
static unsigned recorded;

// Ring 3's accesses (run_user), in a .user page. Each is one instruction on
// the test page: the same as ring 0's try_read_u64, try_write_u64, try_call.
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

// The entries' bits: MX_U/MX_W/MX_XD to U/S, R/W, XD (SDM 3A 4.5, Tables 4-18 to 4-20).
static uint64_t pte_bits(uint8_t bits)
{
    return PTE_P | ((bits & MX_U) ? PTE_U : 0) | ((bits & MX_W) ? PTE_W : 0) |
           ((bits & MX_XD) ? PTE_NX : 0);
}

static volatile uint64_t *pml4(void)
{
    return (volatile uint64_t *)(read_cr3() & ~0xfffull);
}

// One access: entries rewritten, the levels above the leaf with A preset
// (unless the entry asks for every A clear), the leaf's A and D clear, the
// stale translations dropped, CR2 cleared; then the access, and what it did.
// Presetting A matters: whether a walk that ends in a fault sets A in the
// entries it read is not architectural; only a walk that succeeds must set
// A in every entry it used (SDM 3A 4.8).
static void access_once(struct matrix_entry *e)
{
    uint64_t a = (e->mode & MX_A_CLEAR) ? 0 : PTE_A;
    uint64_t va = e->page == MX_PAGE_4K ? VA_4K : VA_2M;
    pml4()[1] = (uint64_t)pdpt | PTE_P | PTE_W | PTE_U | a;
    pdpt[0] = (uint64_t)pd | PTE_P | PTE_W | PTE_U | a;
    if (e->page == MX_PAGE_4K) {
        pd[0] = (uint64_t)pt | pte_bits(e->pde) | a;
        pd[1] = 0;
        pt[0] = (uint64_t)page_4k | pte_bits(e->pte);
    } else {
        pd[0] = 0;
        pd[1] = GPA_2M | PTE_PS | pte_bits(e->pde);
    }
    // INVLPG drops the page's TLB entries and every paging-structure cache
    // entry (SDM 3A 4.10.4.1), so the upper levels are read afresh too.
    invlpg((void *)VA_4K);
    invlpg((void *)VA_2M);
    write_cr2(0);

    int v;
    uint64_t val;
    if (e->mode & MX_CPL3) {
        static uint64_t (*const user[])(uint64_t) = { [MX_READ] = user_read,
                                                      [MX_WRITE] = user_write,
                                                      [MX_EXEC] = user_exec };
        v = run_user(user[e->access], va, NULL);
    } else if (e->access == MX_READ) {
        v = try_read_u64((const volatile uint64_t *)va, &val);
    } else if (e->access == MX_WRITE) {
        v = try_write_u64((volatile uint64_t *)va, RET);
    } else {
        v = try_call((const volatile void *)va);
    }
    e->faulted = v != -1;
    e->vector = v == -1 ? 0 : (uint8_t)v;
    e->error = v == -1 ? 0 : (uint32_t)trap_error;
    e->cr2 = read_cr2();
    uint64_t leaf = e->page == MX_PAGE_4K ? pt[0] : pd[1];
    e->accessed = 0;
    if (pml4()[1] & PTE_A)
        e->accessed |= MX_A_PML4E;
    if (pdpt[0] & PTE_A)
        e->accessed |= MX_A_PDPTE;
    if (e->page == MX_PAGE_4K && (pd[0] & PTE_A))
        e->accessed |= MX_A_PDE;
    if (leaf & PTE_A)
        e->accessed |= e->page == MX_PAGE_4K ? MX_A_PTE : MX_A_PDE;
    e->dirty = (leaf & PTE_D) != 0;
}

// What SDM 3A says the access must do: 4.6.1 (access rights; no SMEP, SMAP or
// protection keys here: CR4 has none of them), 4.5.4 (XD is a reserved bit
// while EFER.NXE = 0), 4.7 (the #PF error code: P = 1, since every entry is
// present; W/R and U/S describe the access; RSVD; I/D only for a fetch with
// NXE or SMEP), 4.8 (A in every entry a successful walk used, D in the leaf on
// a write). The PML4E and PDPTE allow everything; rights combine over the
// levels: user only if U/S = 1 in all, writable only if R/W = 1 in all,
// execute-disabled if XD = 1 in any.
static void oracle(struct matrix_entry *x)
{
    bool four_k = x->page == MX_PAGE_4K;
    uint8_t all = four_k ? x->pde & x->pte : x->pde, any = four_k ? x->pde | x->pte : x->pde;
    bool nxe = x->mode & MX_NXE, user = x->mode & MX_CPL3, wp = x->mode & MX_WP;
    bool rsvd = !nxe && (any & MX_XD), xd = nxe && (any & MX_XD);
    bool u = all & MX_U, w = all & MX_W, ok;
    if (rsvd)
        ok = false;
    else if (x->access == MX_READ)
        ok = u || !user; // supervisor reads of user pages: allowed without SMAP
    else if (x->access == MX_WRITE)
        ok = user ? u && w : w || !wp;
    else
        ok = (u || !user) && !xd; // supervisor fetches from user pages: allowed without SMEP
    x->faulted = !ok;
    x->vector = ok ? 0 : VEC_PF;
    x->error = ok ? 0
                  : PF_P | (x->access == MX_WRITE ? PF_W : 0) | (user ? PF_U : 0) |
                        (rsvd ? PF_RSVD : 0) | (x->access == MX_EXEC && nxe ? PF_I : 0);
    x->cr2 = ok ? 0 : four_k ? VA_4K : VA_2M;
    uint8_t leaf = four_k ? MX_A_PTE : MX_A_PDE;
    x->accessed = (uint8_t)((leaf - 1) | (ok ? leaf : 0));
    x->dirty = ok && x->access == MX_WRITE;
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
};
static const struct group {
    const char *name;
    uint8_t page;
    bool nxe;
    enum kind kind;
} groups[] = {
    { "4 KiB pages, NXE=1", MX_PAGE_4K, true, PLAIN },
    { "2 MiB pages, NXE=1", MX_PAGE_2M, true, PLAIN },
    { "both page sizes, NXE=1, every A clear before", 0, true, A_CLEAR },
    { "4 KiB pages, NXE=0, XD clear", MX_PAGE_4K, false, PLAIN },
    { "2 MiB pages, NXE=0, XD clear", MX_PAGE_2M, false, PLAIN },
    { "both page sizes, NXE=0, XD set (reserved)", 0, false, RESERVED },
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))
// PLAIN: (64 + 8) combinations with NXE = 1 and (16 + 4) with NXE = 0, each
// under 2 WP x 2 CPL x 3 accesses; A_CLEAR: 2 page sizes x 2 CPL x 3;
// RESERVED: 3 places for XD x 2 CPL x 3.
_Static_assert(MATRIX_ENTRIES == (64 + 8 + 16 + 4) * 12 + 2 * 6 + 3 * 6,
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
    access_once(e);
}

// Every entry of one group (CR0.WP and EFER.NXE are set by the caller for
// each WP value), by CPL, access, then the entries' bits.
static void run_group(const struct group *g, uint64_t cr0)
{
    uint8_t nxe = g->nxe ? MX_NXE : 0;
    for (int wp = 0; wp < 2; wp++) {
        if (g->kind != PLAIN && !wp)
            continue; // the other kinds run with WP = 1 only
        write_cr0(wp ? cr0 | CR0_WP : cr0 & ~(uint64_t)CR0_WP);
        uint8_t mode = nxe | (wp ? MX_WP : 0);
        for (uint8_t cpl3 = 0; cpl3 <= MX_CPL3; cpl3 += MX_CPL3) {
            for (uint8_t access = MX_READ; access <= MX_EXEC; access++) {
                const uint8_t uw = MX_U | MX_W;
                if (g->kind == A_CLEAR) {
                    add(MX_PAGE_4K, uw, uw, mode | cpl3 | MX_A_CLEAR, access);
                    add(MX_PAGE_2M, uw, 0, mode | cpl3 | MX_A_CLEAR, access);
                } else if (g->kind == RESERVED) {
                    add(MX_PAGE_4K, uw | MX_XD, uw, mode | cpl3, access);
                    add(MX_PAGE_4K, uw, uw | MX_XD, mode | cpl3, access);
                    add(MX_PAGE_2M, uw | MX_XD, 0, mode | cpl3, access);
                } else {
                    uint8_t combos = g->nxe ? 8 : 4; // XD only where NXE gives it a meaning
                    for (uint8_t pde = 0; pde < combos; pde++)
                        for (uint8_t pte = 0; pte < (g->page == MX_PAGE_4K ? combos : 1); pte++)
                            add(g->page, pde, pte, mode | cpl3, access);
                }
            }
        }
    }
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
    unsigned bad = 0, shown[3];
    struct matrix_entry want[3];
    for (unsigned i = first; i < end; i++) {
        struct matrix_entry x = record[i];
        oracle(&x);
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

int guest_main(struct guest_params *p)
{
    (void)p;
    bool ok = ring3_checks();
    uint64_t cr0 = read_cr0(), cr2 = read_cr2(), efer;
    if (try_rdmsr(MSR_EFER, &efer) != -1)
        return !hc_report(false, "access matrix: RDMSR of IA32_EFER raised an exception");
    page_4k[0] = RET;
    *(volatile uint8_t *)GPA_2M = RET; // through the identity map's 2 MiB page

    unsigned first[NGROUPS + 1], ran = 0;
    uint64_t t0 = rdtsc();
    for (; ran < NGROUPS; ran++) {
        first[ran] = recorded;
        uint64_t want = groups[ran].nxe ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE;
        if (try_wrmsr(MSR_EFER, want) != -1) {
            ok &= hc_report(false, "access matrix: WRMSR to IA32_EFER (NXE) raised an exception");
            break;
        }
        run_group(&groups[ran], cr0);
    }
    uint64_t ticks = rdtsc() - t0;
    first[ran] = recorded;

    // As found: CR0, CR2, EFER, PML4[1] empty again, no translation left of it.
    write_cr0(cr0);
    write_cr2(cr2);
    try_wrmsr(MSR_EFER, efer);
    pml4()[1] = 0;
    invlpg((void *)VA_4K);
    invlpg((void *)VA_2M);

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
