// ept.c: building the EPT paging structures that map guest-physical to host-
// physical memory (SDM 3C 29.3). hv/run/guest.c maps the guest's RAM and nothing
// else, for each size of RAM a run needs; the unit tests build tables in host memory
// and walk them with ept_translate(). Tables are addressed as identity-mapped
// physical memory. Leaves are read/write/execute and write-back (memory type 6, SDM
// 3C 29.3.7).
#include "internal.h"

#define EPT_ADDR_MASK 0x000ffffffffff000ull
#define PAGE_4K (1ull << 12)
#define PAGE_2M (1ull << 21)
#define PAGE_1G (1ull << 30)

static uint64_t *table_of(uint64_t entry)
{
    return (uint64_t *)(uintptr_t)(entry & EPT_ADDR_MASK);
}

// The entry for gpa at the given level (3 = PML4 ... 0 = PT), creating the
// tables above it; NULL if a table cannot be allocated.
static uint64_t *walk_create(struct ept *e, uint64_t gpa, int level)
{
    uint64_t *table = e->pml4;
    for (int l = 3; l > level; l--) {
        uint64_t *entry = &table[(gpa >> (12 + 9 * l)) & 511];
        if (!(*entry & EPT_RWX)) {
            uint64_t *next = e->alloc_page(e->ctx);
            if (!next)
                return NULL;
            *entry = (uint64_t)(uintptr_t)next | EPT_RWX; // non-leaf: no memory type
        }
        table = table_of(*entry);
    }
    return &table[(gpa >> (12 + 9 * level)) & 511];
}

// Map [gpa, gpa+size) to [hpa, hpa+size) with the largest page each step
// allows: 1 GiB pages (large EPT_LARGE_1G) or 2 MiB pages (EPT_LARGE_2M and up)
// where both addresses are aligned to the page and the rest of the range holds
// it, 4 KiB pages elsewhere. The caller asks only for sizes the CPU has
// (IA32_VMX_EPT_VPID_CAP bits 16 and 17, SDM 3D A.10). Returns 0, or -1 for
// unaligned input or when the table allocator runs out.
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned large)
{
    if ((gpa | hpa | size) & (PAGE_4K - 1))
        return -1;
    while (size) {
        int level = 0; // the leaf's level: 0 a PTE, 1 a PDE (2 MiB), 2 a PDPTE (1 GiB)
        for (int l = 2; l >= 1 && !level; l--) {
            uint64_t page = l == 2 ? PAGE_1G : PAGE_2M;
            if (large >= (unsigned)l && !((gpa | hpa) & (page - 1)) && size >= page)
                level = l;
        }
        uint64_t *entry = walk_create(e, gpa, level);
        if (!entry)
            return -1;
        // Write-back with "ignore PAT" (SDM 3C 29.3.7.2, Memory Type Used for
        // Translated Guest-Physical Addresses): guest RAM is ordinary RAM
        // the host maps write-back, and the guest's PAT, PCD and PWT do not
        // make it anything else, as KVM's vmx_get_mt_mask() has it for RAM
        // without non-coherent DMA. No page then has two memory types (SDM
        // 3A 12.12.4); shadow paging does the same (hv/mmu/paging.c shadow_leaf()).
        *entry = hpa | EPT_RWX | EPT_MEMTYPE_WB | EPT_IPAT | (level ? EPT_LARGE : 0);
        uint64_t step = level == 2 ? PAGE_1G : level ? PAGE_2M : PAGE_4K;
        gpa += step;
        hpa += step;
        size -= step;
    }
    return 0;
}

uint64_t ept_translate(const struct ept *e, uint64_t gpa, bool *mapped)
{
    const uint64_t *table = e->pml4;
    for (int l = 3; l >= 0; l--) {
        uint64_t entry = table[(gpa >> (12 + 9 * l)) & 511];
        if (!(entry & EPT_RWX))
            break;
        if (l == 0 || (l <= 2 && (entry & EPT_LARGE))) {
            uint64_t offset_mask = (1ull << (12 + 9 * l)) - 1;
            *mapped = true;
            return (entry & EPT_ADDR_MASK & ~offset_mask) | (gpa & offset_mask);
        }
        table = table_of(entry);
    }
    *mapped = false;
    return 0;
}

// The 4 KiB leaf entry that maps gpa, for its owner to change (hv/exit/mmio.c takes the
// APIC-access page's away and back); NULL where no 4 KiB entry maps it.
uint64_t *ept_leaf(const struct ept *e, uint64_t gpa)
{
    uint64_t *table = e->pml4;
    for (int l = 3; l > 0; l--) {
        uint64_t entry = table[(gpa >> (12 + 9 * l)) & 511];
        if (!(entry & EPT_RWX) || (l < 3 && (entry & EPT_LARGE)))
            return NULL;
        table = table_of(entry);
    }
    return &table[(gpa >> 12) & 511];
}

// EPTP, SDM 3C 25.6.11: memory type WB (6) in bits 2:0, walk length - 1 (3)
// in bits 5:3, no accessed/dirty flags (bit 6).
uint64_t ept_pointer(const struct ept *e)
{
    return (uint64_t)(uintptr_t)e->pml4 | (3 << 3) | 6;
}
