// test_paging.c: hv/mmu/paging.c walks guest page tables built here in a buffer
// that stands for guest RAM: 4-level paging's 4 KiB, 2 MiB and 1 GiB pages, 32-bit
// paging's 4 KiB and 4 MiB pages, PAE paging's, and paging off; the access rights
// of SDM 3A 4.6 (U/S, R/W with CR0.WP, XD with EFER.NXE, SMEP, SMAP), the #PF error
// codes of SDM 3A 4.7, reserved bits, and tables that point outside RAM; the
// Accessed and Dirty bits a walk sets (SDM 3A 4.8); the shadow entries hv/mmu/shadow.c
// builds from a walk; and the identity map of guest RAM it runs a multiboot kernel on.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/x86.h"
#include "../../hv/mmu/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define RAM (4u << 20)
static uint8_t *ram;
static struct guest_mem mem;
static struct walk_mode mode;

static void put(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }

// PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000.
// 0x00000000-0x001fffff: 4 KiB pages through the PT, identity, user, writable;
// 0x00200000-0x003fffff: one 2 MiB page, supervisor, read-only;
// VA 1 GiB..2 GiB: one 1 GiB page at GPA 0.
static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM);
    mem = (struct guest_mem){ ram, RAM };
    mode = (struct walk_mode){ .cr3 = 0x1000, .wp = true, .gbpages = true, .maxphyaddr = 36 };
    put(0x1000, 0x2000 | PTE_P | PTE_W | PTE_U);
    put(0x2000, 0x3000 | PTE_P | PTE_W | PTE_U);
    put(0x2008, 0x0 | PTE_P | PTE_W | PTE_U | PTE_PS); // 1 GiB page
    put(0x3000, 0x4000 | PTE_P | PTE_W | PTE_U);
    put(0x3008, 0x200000 | PTE_P | PTE_PS);           // 2 MiB, supervisor, read-only
    for (uint64_t i = 0; i < 512; i++)
        put(0x4000 + 8 * i, (i << 12) | PTE_P | PTE_W | PTE_U);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

static void translates_each_page_size(void **state)
{
    (void)state;
    struct walk w;
    assert_int_equal(guest_walk(&mem, &mode, 0x5123, 0, &w), 0);
    assert_int_equal(w.gpa, 0x5123);
    assert_int_equal(w.page_size, 4096);
    assert_int_equal(w.levels, 4);
    assert_int_equal(w.entry_gpa[3], 0x4000 + 8 * 5);
    assert_int_equal(guest_walk(&mem, &mode, 0x312345, 0, &w), 0);
    assert_int_equal(w.gpa, 0x312345);
    assert_int_equal(w.page_size, 2u << 20);
    assert_int_equal(w.levels, 3);
    assert_int_equal(guest_walk(&mem, &mode, (1ull << 30) + 0x1234, 0, &w), 0);
    assert_int_equal(w.gpa, 0x1234);
    assert_int_equal(w.page_size, 1u << 30);
}

static void access_rights(void **state)
{
    (void)state;
    struct walk w;
    // The 2 MiB page: supervisor, read-only.
    assert_int_equal(guest_walk(&mem, &mode, 0x200000, PF_W, &w), -1); // WP = 1
    assert_int_equal(w.pf_error, PF_P | PF_W);
    mode.wp = false;
    assert_int_equal(guest_walk(&mem, &mode, 0x200000, PF_W, &w), 0); // WP = 0: allowed
    assert_int_equal(guest_walk(&mem, &mode, 0x200000, PF_W | PF_U, &w), -1); // not for users
    assert_int_equal(w.pf_error, PF_P | PF_W | PF_U);
    mode.wp = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x200000, PF_U, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_U);
    // XD: reserved without NXE, honoured with it.
    put(0x4000 + 8 * 7, (7ull << 12) | PTE_P | PTE_W | PTE_U | PTE_NX);
    assert_int_equal(guest_walk(&mem, &mode, 0x7000, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    mode.nxe = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x7000, 0, &w), 0);
    assert_int_equal(guest_walk(&mem, &mode, 0x7000, PF_I, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_I);
    // SMEP: a supervisor fetch from a user page.
    mode.smep = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_I, &w), -1);
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_I | PF_U, &w), 0);
}

// SDM 3A 4.7: I/D is set for a fetch only with NXE or SMEP; without either a
// fetch is checked, and reported, as a read.
static void fetch_bit_in_error_code(void **state)
{
    (void)state;
    struct walk w;
    put(0x4000 + 8 * 9, 0); // not present
    assert_int_equal(guest_walk(&mem, &mode, 0x9000, PF_I, &w), -1);
    assert_int_equal(w.pf_error, 0);
    mode.smep = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x9000, PF_I | PF_U, &w), -1);
    assert_int_equal(w.pf_error, PF_I | PF_U);
    mode.smep = false;
    mode.nxe = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x9000, PF_I, &w), -1);
    assert_int_equal(w.pf_error, PF_I);
    mode.nxe = false; // a reserved bit, as seen by a fetch
    put(0x4000 + 8 * 9, (9ull << 12) | PTE_P | PTE_NX);
    assert_int_equal(guest_walk(&mem, &mode, 0x9000, PF_I, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
}

// Without 1 GiB pages (CPUID.80000001H:EDX[26] = 0) PS in a PDPTE is a
// reserved bit (SDM 3A 4.5.4, Table 4-16).
static void no_1gib_pages(void **state)
{
    (void)state;
    struct walk w;
    mode.gbpages = false;
    assert_int_equal(guest_walk(&mem, &mode, (1ull << 30) + 0x1234, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    assert_int_equal(guest_walk(&mem, &mode, 0x5123, 0, &w), 0); // the rest walks
}

// SMAP (SDM 3A 4.6.1): a supervisor read or write of a user page faults
// unless RFLAGS.AC = 1, which an implicit access (ac false) never has; a
// fetch is SMEP's business, a user access is not concerned.
static void smap(void **state)
{
    (void)state;
    struct walk w;
    mode.smap = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P);
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_W, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_W);
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_I, &w), 0);
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_U | PF_W, &w), 0);
    assert_int_equal(guest_walk(&mem, &mode, 0x200000, PF_W, &w), -1); // WP still rules
    mode.wp = false;
    assert_int_equal(guest_walk(&mem, &mode, 0x200000, PF_W, &w), 0); // a supervisor page
    mode.ac = true;
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, 0, &w), 0);
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_W, &w), 0);
}

static void not_present_and_reserved(void **state)
{
    (void)state;
    struct walk w;
    put(0x4000 + 8 * 9, 0);
    assert_int_equal(guest_walk(&mem, &mode, 0x9000, PF_W | PF_U, &w), -1);
    assert_int_equal(w.pf_error, PF_W | PF_U); // P = 0: not present
    put(0x4000 + 8 * 9, (1ull << 40) | PTE_P); // above MAXPHYADDR 36
    assert_int_equal(guest_walk(&mem, &mode, 0x9000, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    put(0x1008, 0x2000 | PTE_P | PTE_PS); // PS in a PML4E
    assert_int_equal(guest_walk(&mem, &mode, 1ull << 39, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    put(0x3010, 0x402000 | PTE_P | PTE_PS); // a 2 MiB page with bit 13 set (12 is PAT)
    assert_int_equal(guest_walk(&mem, &mode, 0x400000, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
}

// A hostile table: an entry that points past guest RAM, or that wraps.
static void tables_outside_ram(void **state)
{
    (void)state;
    struct walk w;
    put(0x4000 + 8 * 3, 0x0); // unused
    put(0x3018, RAM | PTE_P); // a PT just past the end of RAM
    assert_int_equal(guest_walk(&mem, &mode, 0x600000, 0, &w), -1);
    assert_true(w.outside_ram);
    mode.cr3 = RAM; // CR3 itself outside
    assert_int_equal(guest_walk(&mem, &mode, 0, 0, &w), -1);
    assert_true(w.outside_ram);
    mode.cr3 = 0xfffffffffffff000ull & 0x000ffffffffff000ull;
    assert_int_equal(guest_walk(&mem, &mode, 0, 0, &w), -1);
    assert_true(w.outside_ram);
}

static void reads_across_pages(void **state)
{
    (void)state;
    memcpy(ram + 0x5ffe, "\x0f\x22\xc6\x90", 4);
    uint8_t buf[4];
    assert_int_equal(guest_read(&mem, &mode, 0x5ffe, buf, 4), 4);
    assert_memory_equal(buf, "\x0f\x22\xc6\x90", 4);
    put(0x4000 + 8 * 6, 0); // the second page gone: only what is readable
    assert_int_equal(guest_read(&mem, &mode, 0x5ffe, buf, 4), 2);
}

static uint64_t get(uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, ram + gpa, 8);
    return v;
}

// A in every entry the walk used; D only in the leaf, only for a write.
static void sets_accessed_and_dirty(void **state)
{
    (void)state;
    struct walk w;
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, 0, &w), 0);
    guest_walk_set_ad(ram, RAM, &w, false);
    assert_int_equal(get(0x1000) & (PTE_A | PTE_D), PTE_A);
    assert_int_equal(get(0x2000) & (PTE_A | PTE_D), PTE_A);
    assert_int_equal(get(0x3000) & (PTE_A | PTE_D), PTE_A);
    assert_int_equal(get(0x4000 + 8 * 5) & (PTE_A | PTE_D), PTE_A);
    guest_walk_set_ad(ram, RAM, &w, true);
    assert_int_equal(get(0x3000) & PTE_D, 0); // D means nothing in a table entry
    assert_int_equal(get(0x4000 + 8 * 5) & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert_int_equal(get(0x4000 + 8 * 6) & PTE_A, 0); // the neighbour untouched
    // A 2 MiB page: its PDE is the leaf.
    assert_int_equal(guest_walk(&mem, &mode, 0x201000, 0, &w), 0);
    guest_walk_set_ad(ram, RAM, &w, true);
    assert_int_equal(get(0x3008) & (PTE_A | PTE_D), PTE_A | PTE_D);
}

#define RAM_BASE 0x40000000ull // where guest RAM sits in host-physical memory
static uint64_t leaf(uint64_t gva, unsigned access)
{
    struct walk w;
    assert_int_equal(guest_walk(&mem, &mode, gva, access, &w), 0);
    return shadow_leaf(&w, access, &mode, RAM_BASE);
}

// The 4 KiB page's host-physical address, the guest's rights, A and D preset;
// a clean writable page read-only until a write.
static void shadow_leaf_rights_and_dirty(void **state)
{
    (void)state;
    const uint64_t base = PTE_P | PTE_A | PTE_D;
    assert_int_equal(leaf(0x5123, 0), (RAM_BASE + 0x5000) | base | PTE_U);
    assert_int_equal(leaf(0x5123, PF_W), (RAM_BASE + 0x5000) | base | PTE_U | PTE_W);
    put(0x4000 + 8 * 5, get(0x4000 + 8 * 5) | PTE_D); // dirty now: a read maps it writable
    assert_int_equal(leaf(0x5123, 0), (RAM_BASE + 0x5000) | base | PTE_U | PTE_W);
    // A 2 MiB page: the 4 KiB piece that holds the address; supervisor, read-only.
    assert_int_equal(leaf(0x3ff123, 0), (RAM_BASE + 0x3ff000) | base);
    // Memory type: write-back, whatever the guest's PWT, PCD and PAT (bit 12
    // of a 2 MiB page, bit 7 of a PTE) say: none of them is copied.
    put(0x3008, 0x200000 | PTE_P | PTE_PS | (1u << 3) | (1u << 4) | (1u << 12));
    assert_int_equal(leaf(0x200000, 0), (RAM_BASE + 0x200000) | base);
    put(0x4000 + 8 * 5, get(0x4000 + 8 * 5) | (1u << 3) | (1u << 4) | (1u << 7));
    assert_int_equal(leaf(0x5123, 0), (RAM_BASE + 0x5000) | base | PTE_U | PTE_W);
}

// WP=0: a supervisor write to a read-only page is mapped writable and
// supervisor-only; a user access to a user read-only page stays read-only.
static void shadow_leaf_wp0(void **state)
{
    (void)state;
    const uint64_t base = PTE_P | PTE_A | PTE_D;
    put(0x4000 + 8 * 7, 0x7000 | PTE_P | PTE_U); // user, read-only
    mode.wp = false;
    assert_int_equal(leaf(0x7000, PF_W), (RAM_BASE + 0x7000) | base | PTE_W);
    assert_int_equal(leaf(0x7000, 0), (RAM_BASE + 0x7000) | base | PTE_U);
    assert_int_equal(leaf(0x7000, PF_U), (RAM_BASE + 0x7000) | base | PTE_U);
    mode.wp = true; // WP=1: the same write is refused by the walk
    struct walk w;
    assert_int_equal(guest_walk(&mem, &mode, 0x7000, PF_W, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_W);
}

// XD: with EFER.NXE the shadow entry is no-execute where any level says so.
static void shadow_leaf_no_execute(void **state)
{
    (void)state;
    mode.nxe = true;
    put(0x3000, get(0x3000) | PTE_NX);
    assert_true(leaf(0x5000, 0) & PTE_NX);
    struct walk w;
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_I, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_I);
    put(0x3000, get(0x3000) & ~PTE_NX);
    assert_false(leaf(0x5000, PF_I) & PTE_NX);
}

// WP=0 with SMEP: the supervisor-writable copy of a user page must not be
// executable, or a supervisor fetch SMEP forbids would go through; with
// EFER.NXE 0 too, since the real NXE is 1 under shadow paging (hv/exit/msr.c).
static void shadow_leaf_wp0_smep(void **state)
{
    (void)state;
    put(0x4000 + 8 * 7, 0x7000 | PTE_P | PTE_U); // user, read-only
    mode.wp = false;
    mode.nxe = true;
    mode.smep = true;
    assert_true(leaf(0x7000, PF_W) & PTE_NX);
    assert_false(leaf(0x7000, PF_W) & PTE_U);
    mode.nxe = false;
    assert_true(leaf(0x7000, PF_W) & PTE_NX);
    assert_false(leaf(0x7000, PF_W) & PTE_U);
    mode.smep = false;
    assert_false(leaf(0x7000, PF_W) & PTE_NX);
}

// WP=0 with SMAP: a supervisor write to a read-only user page (AC = 1, else
// the walk refuses it) has no right shadow entry: a supervisor-only copy
// would let later supervisor accesses with AC = 0 through. 0: refused. A
// supervisor page has no such problem.
static void shadow_leaf_wp0_smap(void **state)
{
    (void)state;
    put(0x4000 + 8 * 7, 0x7000 | PTE_P | PTE_U); // user, read-only
    mode.wp = false;
    mode.smap = true;
    mode.ac = true;
    assert_int_equal(leaf(0x7000, PF_W), 0);
    assert_int_equal(leaf(0x7000, 0), (RAM_BASE + 0x7000) | PTE_P | PTE_A | PTE_D | PTE_U);
    put(0x4000 + 8 * 7, 0x7000 | PTE_P); // supervisor, read-only
    assert_int_equal(leaf(0x7000, PF_W), (RAM_BASE + 0x7000) | PTE_P | PTE_A | PTE_D | PTE_W);
}

// --- The formats of guests in 32-bit mode (SDM 3A 4.3, 4.4) ---------------------------

static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }

// Paging off: every address is its own physical address, 32 bits of it, every access
// allowed.
static void paging_off(void **state)
{
    (void)state;
    struct walk w;
    mode.format = WALK_OFF;
    assert_int_equal(guest_walk(&mem, &mode, 0xfee00300, PF_W | PF_U | PF_I, &w), 0);
    assert_int_equal(w.gpa, 0xfee00300);
    assert_int_equal(w.levels, 0);
    assert_int_equal(guest_walk(&mem, &mode, 0x100001234ull, 0, &w), 0);
    assert_int_equal(w.gpa, 0x1234);
}

// 32-bit paging: a page directory at 0x10000 of 4-byte entries; PDE 0 -> a page table at
// 0x11000 (user, writable), PDE 1 a 4 MiB page at 0 (supervisor, read-only), PDE
// 2 a 4 MiB page with PSE-36 bits (GPA 0x1_0040_0000), PDE 3 one with bit 21 set.
static void paging_32bit(void **state)
{
    (void)state;
    struct walk w;
    mode = (struct walk_mode){ .cr3 = 0x10000, .wp = true, .maxphyaddr = 36,
                               .format = WALK_32BIT, .pse = true, .nxe = true };
    put32(0x10000, 0x11000 | PTE_P | PTE_W | PTE_U);
    put32(0x10004, 0x0 | PTE_P | PTE_PS);
    put32(0x10008, 0x400000 | (1u << 13) | PTE_P | PTE_PS);
    put32(0x1000c, 0x800000 | (1u << 21) | PTE_P | PTE_PS);
    put32(0x11000 + 4 * 5, 0x7000 | PTE_P | PTE_W | PTE_U);
    assert_int_equal(guest_walk(&mem, &mode, 0x5123, PF_W | PF_U | PF_I, &w), 0);
    assert_int_equal(w.gpa, 0x7123);
    assert_int_equal(w.levels, 2);
    assert_int_equal(w.entry_size, 4);
    assert_int_equal(w.entry_gpa[1], 0x11000 + 4 * 5);
    assert_int_equal(guest_walk(&mem, &mode, 0x400000 + 0x12345, 0, &w), 0);
    assert_int_equal(w.gpa, 0x12345);
    assert_int_equal(w.page_size, 4u << 20);
    // Supervisor, read-only: WP decides, users never; no XD, so a fetch is a read and
    // the error code has no I/D even with NXE.
    assert_int_equal(guest_walk(&mem, &mode, 0x400000, PF_W, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_W);
    assert_int_equal(guest_walk(&mem, &mode, 0x400000, PF_U | PF_I, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_U);
    mode.wp = false;
    assert_int_equal(guest_walk(&mem, &mode, 0x400000, PF_W, &w), 0);
    // PSE-36: PDE bits 20:13 are address bits 39:32; 36 bits of MAXPHYADDR allow 35:32.
    assert_int_equal(guest_walk(&mem, &mode, 0x800010, 0, &w), 0);
    assert_int_equal(w.gpa, 0x100400010ull);
    put32(0x10008, 0x400000 | (1u << 17) | PTE_P | PTE_PS); // bit 36: beyond 36 bits
    assert_int_equal(guest_walk(&mem, &mode, 0x800010, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    assert_int_equal(guest_walk(&mem, &mode, 0xc00000, 0, &w), -1); // PDE 3: bit 21
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    // Without CR4.PSE, PS is ignored: the PDE points at a page table.
    mode.pse = false;
    put32(0x0 + 4 * 3, 0x9000 | PTE_P);
    assert_int_equal(guest_walk(&mem, &mode, 0x403000, 0, &w), 0);
    assert_int_equal(w.gpa, 0x9000);
    assert_int_equal(guest_walk(&mem, &mode, 0x1000000, 0, &w), -1); // PDE 4: not present
    assert_int_equal(w.pf_error, 0);
    // A and D are set in the 4-byte entries, and nowhere else.
    mode.pse = true;
    put32(0x11000 + 4 * 6, 0x12345);
    assert_int_equal(guest_walk(&mem, &mode, 0x5000, PF_W, &w), 0);
    guest_walk_set_ad(ram, RAM, &w, true);
    uint32_t pde, pte, next;
    memcpy(&pde, ram + 0x10000, 4);
    memcpy(&pte, ram + 0x11000 + 4 * 5, 4);
    memcpy(&next, ram + 0x11000 + 4 * 6, 4);
    assert_int_equal(pde, 0x11000 | PTE_P | PTE_W | PTE_U | PTE_A);
    assert_int_equal(pte, 0x7000 | PTE_P | PTE_W | PTE_U | PTE_A | PTE_D);
    assert_int_equal(next, 0x12345);
}

// PAE paging: the PDPTEs from the registers, not from memory; 2 MiB and 4 KiB pages,
// XD with NXE, reserved bits as in 4-level paging.
static void paging_pae(void **state)
{
    (void)state;
    struct walk w;
    mode = (struct walk_mode){ .cr3 = 0x20000, .wp = true, .maxphyaddr = 36,
                               .format = WALK_PAE, .pdpte = { 0, 0, 0, 0x21000 | PTE_P } };
    put(0x21000 + 8 * 503, 0x22000 | PTE_P | PTE_W); // 0xfee00000: PD index 503
    put(0x21000 + 8 * 504, 0x600000 | PTE_P | PTE_W | PTE_U | PTE_PS); // 0xff000000
    put(0x22000, 0x23000 | PTE_P | PTE_W | PTE_NX);
    assert_int_equal(guest_walk(&mem, &mode, 0xfee00300, PF_W, &w), -1); // XD: reserved
    assert_int_equal(w.pf_error, PF_P | PF_W | PF_RSVD);
    mode.nxe = true;
    assert_int_equal(guest_walk(&mem, &mode, 0xfee00300, PF_W, &w), 0);
    assert_int_equal(w.gpa, 0x23300);
    assert_int_equal(w.levels, 2); // the PDPTE is a register: not a walked entry
    assert_int_equal(w.entry_gpa[0], 0x21000 + 8 * 503);
    assert_int_equal(guest_walk(&mem, &mode, 0xfee00300, PF_I, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_I);
    assert_int_equal(guest_walk(&mem, &mode, 0xff012345, PF_U | PF_W, &w), 0);
    assert_int_equal(w.gpa, 0x612345);
    assert_int_equal(w.page_size, 2u << 20);
    assert_int_equal(guest_walk(&mem, &mode, 0x12345, 0, &w), -1); // PDPTE 0: not present
    assert_int_equal(w.pf_error, 0);
    put(0x22000, (1ull << 40) | 0x23000 | PTE_P); // an address bit past MAXPHYADDR
    assert_int_equal(guest_walk(&mem, &mode, 0xfee00300, 0, &w), -1);
    assert_int_equal(w.pf_error, PF_P | PF_RSVD);
    mode.pdpte[3] = RAM | PTE_P; // a page directory outside RAM
    assert_int_equal(guest_walk(&mem, &mode, 0xfee00300, 0, &w), -1);
    assert_true(w.outside_ram);
    assert_int_equal(w.entry_gpa[w.levels - 1], RAM + 8 * 503);
}

// The identity map shadow paging runs a multiboot kernel on while its paging is off:
// walked here as the CPU walks PAE tables (SDM 3A 4.4.2): the PDPTE of each GiB, then a
// 2 MiB page, or a page table where RAM ends inside 2 MiB. All of RAM and nothing else.
static uint64_t ident_walk(uint64_t (*t)[512], uint64_t cr3, uint64_t gpa, bool *present)
{
    uint64_t pdpte = ((uint64_t *)(uintptr_t)cr3)[gpa >> 30];
    *present = false;
    if (!(pdpte & PTE_P))
        return 0;
    assert_int_equal(pdpte & 0x1e6, 0); // the PDPTE's reserved bits (SDM 3A Table 4-8)
    uint64_t pde = ((uint64_t *)(uintptr_t)(pdpte & ~0xfffull))[(gpa >> 21) & 511];
    if (!(pde & PTE_P))
        return 0;
    assert_true((pde & (PTE_W | PTE_U)) == (PTE_W | PTE_U));
    if (pde & PTE_PS) {
        *present = true;
        return (pde & ~0x1fffffull & ((1ull << 52) - 1)) | (gpa & 0x1fffff);
    }
    uint64_t pte = ((uint64_t *)(uintptr_t)(pde & ~0xfffull))[(gpa >> 12) & 511];
    assert_ptr_equal((void *)(uintptr_t)(pde & ~0xfffull), t[IDENT_PAGES - 1]);
    *present = pte & PTE_P;
    return *present ? (pte & ~0xfffull) | (gpa & 0xfff) : 0;
}

static void identity_map_of_ram(void **state)
{
    (void)state;
    static uint64_t t[IDENT_PAGES][512] __attribute__((aligned(4096)));
    const uint64_t host = 0x40000000, sizes[] = { 128u << 20, (3u << 20) + 0x5000, 2u << 20,
                                                  (1ull << 30) + (4u << 20), 3583ull << 20 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        memset(t, 0, sizeof(t));
        uint64_t ram_size = sizes[k], cr3 = ident_map_build(t, ram_size, host);
        assert_ptr_equal((void *)(uintptr_t)cr3, t[0]);
        bool present;
        const uint64_t probes[] = { 0, 0x9500, 0xfffff, 0x100000, 0x1fffff, 0x200000,
                                    ram_size - 4096, ram_size - 1 };
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
            if (probes[i] >= ram_size)
                continue;
            assert_int_equal(ident_walk(t, cr3, probes[i], &present), host + probes[i]);
            assert_true(present);
        }
        ident_walk(t, cr3, ram_size, &present); // the first byte past RAM
        assert_false(present);
        ident_walk(t, cr3, 0xfee00000, &present); // the local APIC's page: not RAM
        assert_false(present);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(translates_each_page_size), T(access_rights), T(not_present_and_reserved),
        T(tables_outside_ram), T(reads_across_pages), T(sets_accessed_and_dirty),
        T(shadow_leaf_rights_and_dirty), T(shadow_leaf_wp0), T(shadow_leaf_no_execute),
        T(shadow_leaf_wp0_smep), T(shadow_leaf_wp0_smap), T(fetch_bit_in_error_code),
        T(no_1gib_pages), T(smap), T(paging_off), T(paging_32bit), T(paging_pae),
        T(identity_map_of_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
