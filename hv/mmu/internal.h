// internal.h: what the files of hv/mmu/ share among themselves and with their unit
// tests (tests/unit/test_ept.c, test_paging.c), and no other folder uses: the bits
// of an EPT entry, the walk of EPT tables in software, and the steps of shadow
// paging that build on the guest's walk. What the rest of vmxlab may use is in
// mmu.h.
#pragma once
#include "mmu.h"

// ept.c
#define EPT_RWX 7ull
#define EPT_MEMTYPE_WB (6ull << 3)
#define EPT_IPAT (1ull << 6) // ignore PAT: the leaf's memory type alone decides
#define EPT_LARGE (1ull << 7)
uint64_t ept_translate(const struct ept *e, uint64_t gpa, bool *mapped);

// shadow.c
uint64_t shadow_root(void);      // the real CR3 for the guest's current WP

// paging.c
// Sets A in every entry w used and D in its leaf for a write, in guest RAM, as
// the CPU does for a translation it uses (SDM 3A 4.8).
void guest_walk_set_ad(uint8_t *ram, uint64_t size, const struct walk *w, bool write);
// The shadow entry for the page of a successful walk of an access (hv/mmu/shadow.c),
// or 0 where shadow paging cannot give the guest what it asks (SMAP with WP=0).
uint64_t shadow_leaf(const struct walk *w, unsigned access, const struct walk_mode *m,
                     uint64_t ram_base);
