// test_ept.c: hv/mmu/ept.c builds its EPT tables here in host memory, from a
// counting allocator of zeroed 4 KiB pages, and the tests walk them with
// ept_translate() and read the entries directly (SDM 3C 29.3). Table entries
// hold host pointers as "physical" addresses: user-space pointers on x86-64
// Linux are below 2^47, so they fit the entries' address field.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../hv/mmu/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define MiB (1ull << 20)
// Leaves: read/write/execute, write-back (memory type 6 in bits 5:3) and
// "ignore PAT" (bit 6): the guest's PAT, PCD and PWT do not change the type
// of guest RAM (SDM 3C 29.3.7.2).
#define IPAT (1ull << 6)
#define GiB (1ull << 30)
#define LEAF_4K (EPT_RWX | EPT_MEMTYPE_WB | IPAT)             // 0x77
#define LEAF_2M (EPT_RWX | EPT_MEMTYPE_WB | IPAT | EPT_LARGE) // 0xf7

// A pool of at most `limit` tables; every one handed out is kept for freeing.
struct pool {
    uint64_t *pages[16];
    unsigned count, limit;
};

static uint64_t *new_table(void)
{
    uint64_t *t = aligned_alloc(4096, 4096);
    assert_non_null(t);
    memset(t, 0, 4096);
    return t;
}

static uint64_t *pool_alloc(void *ctx)
{
    struct pool *p = ctx;
    if (p->count >= p->limit)
        return NULL;
    return p->pages[p->count++] = new_table();
}

struct fixture {
    struct ept ept;
    struct pool pool;
};

static void fixture_init(struct fixture *f, unsigned limit)
{
    memset(f, 0, sizeof(*f));
    f->pool.limit = limit;
    f->ept.pml4 = new_table();
    f->ept.alloc_page = pool_alloc;
    f->ept.ctx = &f->pool;
}

static void fixture_free(struct fixture *f)
{
    for (unsigned i = 0; i < f->pool.count; i++)
        free(f->pool.pages[i]);
    free(f->ept.pml4);
}

static uint64_t table_entry(const void *table) { return (uint64_t)(uintptr_t)table | EPT_RWX; }

static unsigned nonzero_entries(const uint64_t *table)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 512; i++)
        n += table[i] != 0;
    return n;
}

static void assert_maps(const struct ept *e, uint64_t gpa, uint64_t hpa)
{
    bool mapped = false;
    uint64_t got = ept_translate(e, gpa, &mapped);
    if (!mapped || got != hpa)
        fail_msg("GPA %#llx: want HPA %#llx, got %#llx (mapped=%d)", (unsigned long long)gpa,
                 (unsigned long long)hpa, (unsigned long long)got, mapped);
}

static void assert_unmapped(const struct ept *e, uint64_t gpa)
{
    bool mapped = true;
    uint64_t got = ept_translate(e, gpa, &mapped);
    if (mapped)
        fail_msg("GPA %#llx: want unmapped, got HPA %#llx", (unsigned long long)gpa,
                 (unsigned long long)got);
}

static void large_pages_when_both_2m_aligned(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 4 * MiB, true), 0);

    // PML4 (ours) -> PDPT -> PD with two 2 MiB leaves: two tables allocated.
    assert_int_equal(f.pool.count, 2);
    uint64_t *pdpt = f.pool.pages[0], *pd = f.pool.pages[1];
    assert_int_equal(f.ept.pml4[0], table_entry(pdpt));
    assert_int_equal(pdpt[0], table_entry(pd));
    assert_int_equal(pd[0], 0x40000000 | LEAF_2M);
    assert_int_equal(pd[1], 0x40200000 | LEAF_2M);
    assert_int_equal(pd[0] & 7, 7);           // read, write, execute
    assert_int_equal((pd[0] >> 3) & 7, 6);    // memory type WB
    assert_int_equal((pd[0] >> 7) & 1, 1);    // maps a page
    assert_int_equal((pd[0] >> 6) & 1, 1);    // ignore PAT
    assert_int_equal(LEAF_2M, 0xf7);
    assert_int_equal(nonzero_entries(f.ept.pml4), 1);
    assert_int_equal(nonzero_entries(pdpt), 1);
    assert_int_equal(nonzero_entries(pd), 2);

    assert_maps(&f.ept, 0, 0x40000000);
    assert_maps(&f.ept, 0x1234, 0x40001234);
    assert_maps(&f.ept, 0x1fffff, 0x401fffff);
    assert_maps(&f.ept, 0x200000, 0x40200000);
    assert_maps(&f.ept, 0x3fffff, 0x403fffff);
    assert_unmapped(&f.ept, 0x400000);   // PD entry 2
    assert_unmapped(&f.ept, 0x80000000); // PDPT entry 2
    assert_unmapped(&f.ept, 1ull << 39); // PML4 entry 1
    assert_unmapped(&f.ept, 0xfffffffff000ull);
    fixture_free(&f);
}

// With 1 GiB pages allowed (IA32_VMX_EPT_VPID_CAP bit 17): a GiB-aligned GiB of guest
// RAM is one PDPTE (SDM 3C 29.3.2, bit 7 of an EPT PDPTE), the rest 2 MiB pages; 2 MiB
// pages only where the host address is not GiB-aligned.
static void gib_pages_where_both_gib_aligned(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, GiB + 4 * MiB, EPT_LARGE_1G), 0);
    assert_int_equal(f.pool.count, 2); // PDPT, and one PD for the 4 MiB past the GiB
    uint64_t *pdpt = f.pool.pages[0], *pd = f.pool.pages[1];
    assert_int_equal(pdpt[0], 0x40000000 | LEAF_2M); // the same bits: a 1 GiB leaf
    assert_int_equal(pdpt[1], table_entry(pd));
    assert_int_equal(nonzero_entries(pd), 2);
    assert_maps(&f.ept, 0x3fffffff, 0x7fffffff);
    assert_maps(&f.ept, GiB + 0x201234, 0x80201234);
    assert_unmapped(&f.ept, GiB + 4 * MiB);
    fixture_free(&f);
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40200000, GiB, EPT_LARGE_1G), 0);
    assert_int_equal(f.pool.count, 2); // PDPT and one PD of 512 2 MiB pages
    assert_int_equal(nonzero_entries(f.pool.pages[1]), 512);
    assert_maps(&f.ept, 0x3fffffff, 0x801fffff);
    fixture_free(&f);
}

// ept_pages=4k, or a CPU without 2 MiB EPT pages (IA32_VMX_EPT_VPID_CAP bit
// 16 clear): the same aligned range as above, in 4 KiB pages only.
static void small_pages_when_large_not_allowed(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 4 * MiB, false), 0);
    assert_int_equal(f.pool.count, 4); // PDPT, PD, two page tables
    uint64_t *pd = f.pool.pages[1], *pt0 = f.pool.pages[2], *pt1 = f.pool.pages[3];
    assert_int_equal(pd[0], table_entry(pt0));
    assert_int_equal(pd[1], table_entry(pt1));
    assert_int_equal(nonzero_entries(pt0), 512);
    assert_int_equal(nonzero_entries(pt1), 512);
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(pt0[i], (0x40000000 + i * 4096ull) | LEAF_4K);
        assert_int_equal(pt1[i], (0x40200000 + i * 4096ull) | LEAF_4K);
    }
    assert_maps(&f.ept, 0x3fffff, 0x403fffff);
    assert_unmapped(&f.ept, 0x400000);
    fixture_free(&f);
}

static void small_pages_when_hpa_not_2m_aligned(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40001000, 4 * MiB, true), 0);

    // PDPT, PD, and one page table per 2 MiB of guest memory.
    assert_int_equal(f.pool.count, 4);
    uint64_t *pd = f.pool.pages[1], *pt0 = f.pool.pages[2], *pt1 = f.pool.pages[3];
    assert_int_equal(pd[0], table_entry(pt0)); // no large bit, no memory type
    assert_int_equal(pd[1], table_entry(pt1));
    assert_int_equal(nonzero_entries(pd), 2);
    assert_int_equal(nonzero_entries(pt0), 512);
    assert_int_equal(nonzero_entries(pt1), 512);
    assert_int_equal(pt0[0], 0x40001000 | LEAF_4K);
    assert_int_equal(pt0[511], 0x40200000 | LEAF_4K);
    assert_int_equal(pt1[0], 0x40201000 | LEAF_4K);
    assert_int_equal(pt1[511], 0x40400000 | LEAF_4K);
    assert_int_equal(LEAF_4K, 0x77);

    assert_maps(&f.ept, 0, 0x40001000);
    assert_maps(&f.ept, 0x1234, 0x40002234);
    assert_maps(&f.ept, 0x1fffff, 0x40200fff);
    assert_maps(&f.ept, 0x200000, 0x40201000);
    assert_maps(&f.ept, 0x3fffff, 0x40400fff);
    assert_unmapped(&f.ept, 0x400000);
    assert_unmapped(&f.ept, 0x80000000);
    fixture_free(&f);
}

// 4 KiB pages up to the first 2 MiB boundary, a 2 MiB page, then 4 KiB pages
// for the tail shorter than 2 MiB.
static void mixed_page_sizes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0x1000, 0x40001000, 4 * MiB, true), 0);
    assert_int_equal(f.pool.count, 4); // PDPT, PD, PT for PD[0], PT for PD[2]
    uint64_t *pd = f.pool.pages[1], *pt0 = f.pool.pages[2], *pt2 = f.pool.pages[3];
    assert_int_equal(pd[0], table_entry(pt0));
    assert_int_equal(pd[1], 0x40200000 | LEAF_2M);
    assert_int_equal(pd[2], table_entry(pt2));
    assert_int_equal(pt0[0], 0);
    assert_int_equal(nonzero_entries(pt0), 511);
    assert_int_equal(nonzero_entries(pt2), 1);
    assert_int_equal(pt2[0], 0x40400000 | LEAF_4K);

    assert_unmapped(&f.ept, 0);
    assert_unmapped(&f.ept, 0xfff);
    assert_maps(&f.ept, 0x1000, 0x40001000);
    assert_maps(&f.ept, 0x1fffff, 0x401fffff);
    assert_maps(&f.ept, 0x200000, 0x40200000);
    assert_maps(&f.ept, 0x3fffff, 0x403fffff);
    assert_maps(&f.ept, 0x400fff, 0x40400fff);
    assert_unmapped(&f.ept, 0x401000);
    fixture_free(&f);
}

static void later_maps_reuse_tables(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 2 * MiB, true), 0);
    assert_int_equal(ept_map(&f.ept, 0x200000, 0x50000000, 2 * MiB, true), 0);
    assert_int_equal(f.pool.count, 2);
    assert_maps(&f.ept, 0x1000, 0x40001000);
    assert_maps(&f.ept, 0x201000, 0x50001000);
    // a GPA under another PML4 entry needs its own PDPT and PD
    assert_int_equal(ept_map(&f.ept, 1ull << 39, 0x60000000, 2 * MiB, true), 0);
    assert_int_equal(f.pool.count, 4);
    assert_int_equal(f.ept.pml4[1], table_entry(f.pool.pages[2]));
    assert_maps(&f.ept, (1ull << 39) + 0x5678, 0x60005678);
    assert_maps(&f.ept, 0x5678, 0x40005678);
    fixture_free(&f);
}

static void empty_map_allocates_nothing(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 0, true), 0);
    assert_int_equal(f.pool.count, 0);
    assert_int_equal(nonzero_entries(f.ept.pml4), 0);
    assert_unmapped(&f.ept, 0);
    fixture_free(&f);
}

static void unaligned_input_refused(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0x10, 0x40000000, 4 * MiB, true), -1);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000800, 4 * MiB, true), -1);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 4 * MiB + 1, true), -1);
    assert_int_equal(ept_map(&f.ept, 0x200000, 0x40000000, 0x10, true), -1);
    assert_int_equal(f.pool.count, 0);
    assert_int_equal(nonzero_entries(f.ept.pml4), 0);
    fixture_free(&f);
}

static void allocator_exhaustion_fails(void **state)
{
    (void)state;
    struct fixture f;
    for (unsigned limit = 0; limit < 2; limit++) { // large pages need 2 tables
        fixture_init(&f, limit);
        assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 4 * MiB, true), -1);
        assert_int_equal(f.pool.count, limit);
        fixture_free(&f);
    }
    fixture_init(&f, 2);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 4 * MiB, true), 0);
    fixture_free(&f);

    for (unsigned limit = 0; limit < 4; limit++) { // 4 KiB pages need 4 tables
        fixture_init(&f, limit);
        assert_int_equal(ept_map(&f.ept, 0, 0x40001000, 4 * MiB, true), -1);
        assert_int_equal(f.pool.count, limit);
        fixture_free(&f);
    }
    fixture_init(&f, 4);
    assert_int_equal(ept_map(&f.ept, 0, 0x40001000, 4 * MiB, true), 0);
    fixture_free(&f);
}

// ept_leaf(): the 4 KiB entry of a page, to take its mapping away and give it back; none
// where a 2 MiB page or nothing maps the address.
static void leaf_of_a_4k_page(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    assert_int_equal(ept_map(&f.ept, 0, 0x40000000, 4 * MiB, true), 0);
    assert_int_equal(ept_map(&f.ept, 0xfee00000, 0x12345000, 4096, false), 0);
    uint64_t *leaf = ept_leaf(&f.ept, 0xfee00abc);
    assert_non_null(leaf);
    assert_int_equal(*leaf, 0x12345000 | LEAF_4K);
    *leaf = 0;
    assert_unmapped(&f.ept, 0xfee00000);
    *leaf = 0x12345000 | LEAF_4K;
    assert_maps(&f.ept, 0xfee00010, 0x12345010);
    assert_null(ept_leaf(&f.ept, 0x1000));     // inside a 2 MiB page
    assert_null(ept_leaf(&f.ept, 0x80000000)); // not mapped at all
    assert_null(ept_leaf(&f.ept, 1ull << 39));
    fixture_free(&f);
}

static void pointer_is_wb_4level(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 16);
    uint64_t eptp = ept_pointer(&f.ept);
    assert_int_equal(eptp & 0xfff, 0x1e);
    assert_int_equal(eptp & 7, 6);          // memory type WB
    assert_int_equal((eptp >> 3) & 7, 3);   // walk length 4, minus 1
    assert_int_equal((eptp >> 6) & 1, 0);   // no accessed/dirty flags
    assert_int_equal(eptp & ~0xfffull, (uint64_t)(uintptr_t)f.ept.pml4);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(large_pages_when_both_2m_aligned),
        cmocka_unit_test(gib_pages_where_both_gib_aligned),
        cmocka_unit_test(small_pages_when_large_not_allowed),
        cmocka_unit_test(small_pages_when_hpa_not_2m_aligned),
        cmocka_unit_test(mixed_page_sizes),
        cmocka_unit_test(later_maps_reuse_tables),
        cmocka_unit_test(empty_map_allocates_nothing),
        cmocka_unit_test(unaligned_input_refused),
        cmocka_unit_test(leaf_of_a_4k_page),
        cmocka_unit_test(allocator_exhaustion_fails),
        cmocka_unit_test(pointer_is_wb_4level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
