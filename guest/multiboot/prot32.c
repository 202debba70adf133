// prot32.c: a native ELF32 kernel (gcc -m32, prot32.elf) that never leaves 32-bit protected
// mode: it runs with paging off, then with 32-bit paging (4 KiB pages and 4 MiB PSE
// pages), then with PAE paging (4 KiB and 2 MiB pages), and in each checks what CR0.WP,
// a missing page and a reserved bit do, with the exact #PF error code and CR2. It ends
// with paging off again. Exit code 0 if every check passed, else 1.
#include "mbk.h"

#define SAY(...) kprintf("prot32: " __VA_ARGS__)

// The test addresses, the same under both paging modes: 4 KiB pages at TEST_VA (the first
// read-only, the second absent, the third with a reserved bit where the mode has one) and
// a read-only large page at BIG_VA onto SPARE, RAM nothing else uses.
#define TEST_VA 0x40000000u
#define RO_4K TEST_VA
#define ABSENT (TEST_VA + 0x1000)
#define RSVD_4K (TEST_VA + 0x2000)
#define BIG_VA 0x40400000u
#define SPARE 0x1000000u

static volatile uint32_t target[1024] __attribute__((aligned(4096)));
static volatile uint32_t *va(uint32_t addr) { return (volatile uint32_t *)addr; }

// What every paging mode must do to a supervisor access (SDM 3A 4.6, 4.7): WP = 0 writes
// through read-only entries and sets A and D in the PTE (4.8); WP = 1 faults with P | W.
// pte is the entry of RO_4K, read as 32 bits (the flags are in the low ones); big_size
// names the large page.
static void wp_checks(const char *mode, volatile uint32_t *pte, const char *big_size)
{
    uint32_t v;
    unsigned long cr0 = read_cr0();
    target[0] = 0;
    write_cr0(cr0 & ~CR0_WP);
    expect_fault(try_write32(va(RO_4K), 0x1234), -1, 0, 0,
                 "%s: WP=0: supervisor write to a read-only 4 KiB page", mode);
    report(target[0] == 0x1234 && (*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
           "%s: WP=0: the write reached the page and set the PTE's A and D flags", mode);
    expect_fault(try_write32(va(BIG_VA + 0x10), 0x5678), -1, 0, 0,
                 "%s: WP=0: supervisor write to a read-only %s page", mode, big_size);
    write_cr0(cr0 | CR0_WP);
    expect_fault(try_write32(va(RO_4K + 8), 1), VEC_PF, PF_P | PF_W, RO_4K + 8,
                 "%s: WP=1: supervisor write to a read-only 4 KiB page", mode);
    expect_fault(try_write32(va(BIG_VA + 0x10), 1), VEC_PF, PF_P | PF_W, BIG_VA + 0x10,
                 "%s: WP=1: supervisor write to a read-only %s page", mode, big_size);
    expect_fault(try_read32(va(RO_4K), &v), -1, 0, 0, "%s: WP=1: read of a read-only page",
                 mode);
    expect_fault(try_read32(va(ABSENT + 4), &v), VEC_PF, 0, ABSENT + 4,
                 "%s: read of a page that is not present", mode);
    expect_fault(try_write32(va(ABSENT + 4), 1), VEC_PF, PF_W, ABSENT + 4,
                 "%s: write to a page that is not present", mode);
    write_cr0(cr0);
}

static void paging_on(unsigned long cr4, uint32_t cr3)
{
    write_cr4(cr4);
    write_cr3(cr3);
    write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(0);
}

// --- Paging off -----------------------------------------------------------------------------

static void no_paging(uint64_t top)
{
    SAY("paging off: CR0 0x%x, CR4 0x%x\n", (unsigned)read_cr0(), (unsigned)read_cr4());
    // Without paging, linear = physical and WP has nothing to act on (SDM 3A 2.5).
    write_cr0(read_cr0() | CR0_WP);
    expect_fault(try_write32(va(SPARE), 0x600d), -1, 0, 0,
                 "paging off: WP=1: a write to RAM at 0x%x", SPARE);
    write_cr0(read_cr0() & ~CR0_WP);
    // The end of RAM, reached physically.
    bool ok = top > SPARE && top <= 0x100000000ull;
    uint32_t at[] = { (uint32_t)(top - 4), (uint32_t)(top - 4096) };
    for (unsigned i = 0; ok && i < ARRAY_SIZE(at); i++) {
        *va(at[i]) = at[i] ^ 0x5a5a5a5a;
        ok = *va(at[i]) == (at[i] ^ 0x5a5a5a5a);
    }
    report(ok, "paging off: wrote and read back 4 bytes at 0x%x and 0x%x, the end of RAM",
           at[0], at[1]);
}

// --- 32-bit paging (SDM 3A 4.3): a page directory of 1024 entries ---------------------------

static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32_low[1024] __attribute__((aligned(4096))); // 4..8 MiB: this kernel
static uint32_t pt32_test[1024] __attribute__((aligned(4096)));

static void paging32(void)
{
    for (uint32_t i = 0; i < 1024; i++) // 4 GiB in 4 MiB pages (CR4.PSE)
        pd32[i] = i << 22 | PTE_PS | PTE_W | PTE_P;
    for (uint32_t i = 0; i < 1024; i++)
        pt32_low[i] = (0x400000 + (i << 12)) | PTE_W | PTE_P;
    pd32[1] = (uint32_t)pt32_low | PTE_W | PTE_P;
    pd32[TEST_VA >> 22] = (uint32_t)pt32_test | PTE_W | PTE_P;
    pt32_test[0] = (uint32_t)target | PTE_P;
    pd32[BIG_VA >> 22] = SPARE | PTE_PS | PTE_P;
    // Bit 21 of a 4 MiB PDE is reserved whatever MAXPHYADDR is: PSE-36 gives bits
    // 20:13 to address bits 39:32 at most (SDM 3A 4.3, Table 4-4).
    pd32[(TEST_VA >> 22) + 2] = SPARE | 1u << 21 | PTE_PS | PTE_W | PTE_P;
    paging_on(CR4_PSE, (uint32_t)pd32);
    SAY("32-bit paging: CR0 0x%x, CR4 0x%x\n", (unsigned)read_cr0(), (unsigned)read_cr4());
    wp_checks("32-bit paging", &pt32_test[0], "4 MiB");
    uint32_t v;
    expect_fault(try_read32(va(TEST_VA + (2 << 22)), &v), VEC_PF, PF_P | PF_RSVD,
                 TEST_VA + (2 << 22), "32-bit paging: read through a 4 MiB PDE with bit 21 set");
    paging_off();
}

// --- PAE paging (SDM 3A 4.4): 4 PDPTEs, loaded when CR3 is written ------------------------

static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t bad_pdpt[4] __attribute__((aligned(32)));
static uint64_t pae_pd[4][512] __attribute__((aligned(4096)));
static uint64_t pae_pt_low[512] __attribute__((aligned(4096))); // 4..6 MiB: this kernel
static uint64_t pae_pt_test[512] __attribute__((aligned(4096)));

static void paging_pae(void)
{
    for (uint32_t i = 0; i < 4; i++) {
        // A PDPTE has no R/W or U/S: bits 2:1 and 8:5 are reserved (SDM 3A 4.4.1).
        pdpt[i] = (uint32_t)pae_pd[i] | PTE_P;
        for (uint32_t j = 0; j < 512; j++)
            pae_pd[i][j] = ((uint64_t)i << 30 | j << 21) | PTE_PS | PTE_W | PTE_P;
    }
    for (uint32_t i = 0; i < 512; i++)
        pae_pt_low[i] = (0x400000 + (i << 12)) | PTE_W | PTE_P;
    pae_pd[0][2] = (uint32_t)pae_pt_low | PTE_W | PTE_P;
    pae_pd[1][0] = (uint32_t)pae_pt_test | PTE_W | PTE_P;
    pae_pt_test[0] = (uint32_t)target | PTE_P;
    pae_pt_test[2] = (uint32_t)target | PTE_NX | PTE_W | PTE_P; // bit 63: reserved, NXE = 0
    pae_pd[1][BIG_VA >> 21 & 511] = SPARE | PTE_PS | PTE_P;
    paging_on(CR4_PAE, (uint32_t)pdpt);
    SAY("PAE paging: CR0 0x%x, CR4 0x%x\n", (unsigned)read_cr0(), (unsigned)read_cr4());
    wp_checks("PAE paging", (volatile uint32_t *)&pae_pt_test[0], "2 MiB");
    uint32_t v;
    expect_fault(try_read32(va(RSVD_4K), &v), VEC_PF, PF_P | PF_RSVD, RSVD_4K,
                 "PAE paging: EFER.NXE=0: read through a PTE with bit 63 set");
    // MOV to CR3 loads the four PDPTEs at once and refuses a present one with a
    // reserved bit set: #GP(0), CR3 unchanged (SDM 3A 4.4.1).
    for (unsigned i = 0; i < 4; i++)
        bad_pdpt[i] = pdpt[i];
    bad_pdpt[1] |= PTE_W;
    expect_fault(try_write_cr3((uint32_t)bad_pdpt), VEC_GP, 0, 0,
                 "PAE paging: MOV to CR3 with a PDPTE whose bit 1 is set");
    report(read_cr3() == (uint32_t)pdpt, "PAE paging: CR3 still points at the good PDPTEs");
    write_cr3((uint32_t)pdpt);
    paging_off();
}

unsigned kmain(struct mb_info *mbi, const char *args)
{
    (void)args;
    uint64_t top = 0;
    for (uint32_t off = 0; (mbi->flags & MBI_MMAP) && off < mbi->mmap_length;) {
        const struct mb_mmap *e = (const void *)(mbi->mmap_addr + off);
        if (e->type == 1 && e->addr + e->len > top && e->addr + e->len <= 0x100000000ull)
            top = e->addr + e->len;
        off += e->size + 4;
    }
    no_paging(top);
    paging32();
    paging_pae();
    SAY("paging off again: CR0 0x%x, CR4 0x%x\n", (unsigned)read_cr0(), (unsigned)read_cr4());
    report_summary();
    return report_failed() != 0;
}
