// mmu.h: guest memory, translated: what hv/mmu/ offers the rest of vmxlab, grouped by
// file as xv6's defs.h does. The EPT tables (ept.c), shadow paging (shadow.c) and the
// walker of a guest's own page tables (paging.c). Included by hv/run/guest.c, which
// sets guest memory up, the exit handlers that reach it (hv/exit/) and the unit tests;
// what only hv/mmu/ uses is in internal.h. The paging mode of a run is vmx.h's enum mmu.
#pragma once
#include "../../lib/lib.h"

// ept.c: 4-level EPT with 1 GiB, 2 MiB or 4 KiB pages, SDM 3C 29.3
struct ept {
    uint64_t *pml4;
    uint64_t *(*alloc_page)(void *ctx); // a zeroed, 4 KiB-aligned table
    void *ctx;
};
enum { EPT_LARGE_NONE, EPT_LARGE_2M, EPT_LARGE_1G }; // the largest page ept_map() may use
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned large);
uint64_t ept_pointer(const struct ept *e); // WB, 4-level walk, no A/D
uint64_t *ept_leaf(const struct ept *e, uint64_t gpa); // the 4 KiB entry, or NULL

// shadow.c: shadow paging, a virtual TLB for the guest (paging=shadow)
void shadow_pool(uint64_t (*pages)[512], unsigned n); // the tables' pages (hv/run/guest.c)
// Empty tables, before a run; roles: one set per WP. ident: the real CR3 while the
// guest's own paging is off (ident_map_build()).
void shadow_reset(bool roles, uint64_t ident);
uint64_t shadow_root_for(bool wp); // ...for a guest whose CR0.WP reads wp (at set-up)
void shadow_flush(void);         // every shadow translation dropped
void shadow_wp_changed(void);    // after the guest's CR0.WP changed
void shadow_invlpg(uint64_t gva);
int shadow_page_fault(uint64_t gva, uint32_t hw_error); // a #PF exit
struct walk_mode guest_walk_mode(void); // the guest's CR3, WP, NXE, SMEP, SMAP, AC

// paging.c: the guest's page tables, walked by the hypervisor (pure)
struct guest_mem { // guest RAM as the host sees it
    const uint8_t *ram;
    uint64_t size;
};
enum walk_format { // the guest's paging mode (SDM 3A 4.1.1, Table 4-1)
    WALK_4LEVEL,       // CR0.PG, CR4.PAE, EFER.LME: 4-level paging (the default)
    WALK_OFF,          // CR0.PG = 0: linear addresses are physical
    WALK_32BIT,        // CR0.PG, CR4.PAE = 0: 32-bit paging (4 MiB pages with CR4.PSE)
    WALK_PAE,          // CR0.PG, CR4.PAE, EFER.LME = 0: PAE paging, from four PDPTEs
};
struct walk_mode { // what decides a translation besides the tables
    uint64_t cr3;
    bool wp, nxe, smep, smap;
    bool ac;           // RFLAGS.AC, for SMAP; false for an implicit supervisor access
    bool gbpages;      // the CPU has 1 GiB pages (else PS in a PDPTE is reserved)
    unsigned maxphyaddr;
    enum walk_format format;
    bool pse;          // CR4.PSE, for 32-bit paging
    uint64_t pdpte[4]; // WALK_PAE: the PDPTE registers (SDM 3A 4.4.1), as the CPU
                       // loaded them from CR3 (under EPT, the VMCS's GUEST_PDPTEn)
};
struct walk {
    uint64_t gpa, page_size;
    unsigned levels;            // entries read: 1 (PML4E, or PDE of 32-bit paging) to 4
    unsigned entry_size;        // 8 bytes, 4 in 32-bit paging; 0 after a walk with paging off
    uint64_t entry[4], entry_gpa[4];
    bool user, writable, executable; // the combined rights of the path
    bool outside_ram;           // an entry's address left guest RAM
    uint32_t pf_error;          // the #PF error code, when the walk fails
};
// 0, or -1 with w->pf_error; access: PF_W, PF_U, PF_I as for a #PF. In mode->format.
int guest_walk(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
               unsigned access, struct walk *w);
// Copies up to n bytes at gva; returns how many could be read.
size_t guest_read(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
                  void *dst, size_t n);
// The identity map of guest RAM a multiboot kernel runs on while its paging is off
// under shadow paging: IDENT_PAGES zeroed tables in; the real CR3 (a PAE PDPT) out.
#define IDENT_PAGES 6
uint64_t ident_map_build(uint64_t (*tables)[512], uint64_t ram_size, uint64_t host_base);
