// paging.c: the guest's own page tables, read by the hypervisor. guest_walk()
// translates a guest-virtual address through the guest's tables in guest RAM, as
// the CPU would: 4-level paging (SDM 3A 4.5, "4-Level Paging and 5-Level Paging"),
// and for guests that run in 32-bit mode 32-bit paging (4.3), PAE paging (4.4) or
// none; it says whether the access would be allowed (SDM 3A 4.6, "Access Rights")
// and with which #PF error code (SDM 3A 4.7) if not. trace= and the MMIO exits use
// it to fetch the bytes of the instruction that exited. Pure: every table entry is
// read through the bounds of guest RAM, so a hostile CR3 or entry can only make the
// walk fail; the host unit tests (tests/unit/test_paging.c) build tables in memory
// and walk them. ident_map_build()
// writes the identity map shadow paging runs a multiboot kernel on while its own
// paging is off.
#include "../../boot/x86.h"
#include "internal.h"

#define ADDR_MASK 0x000ffffffffff000ull // bits 51:12 of an entry

// A table entry of 8 bytes, or 4 in 32-bit paging, as one load or store: the kernel
// builds with -fno-builtin, so memcpy() would be a call to lib's byte-wise loop (a
// shadow #PF walks and marks up to 4 entries: its cost shows it), while
// __builtin_memcpy() of a constant size is a single MOV.
static uint64_t load_entry(const uint8_t *p, unsigned size)
{
    uint64_t e8;
    uint32_t e4;
    if (size == 8)
        return __builtin_memcpy(&e8, p, 8), e8;
    return __builtin_memcpy(&e4, p, 4), e4;
}

static void store_entry(uint8_t *p, uint64_t e, unsigned size)
{
    uint32_t e4 = (uint32_t)e;
    if (size == 8)
        __builtin_memcpy(p, &e, 8);
    else
        __builtin_memcpy(p, &e4, 4);
}

static bool read_entry(const struct guest_mem *m, uint64_t gpa, uint64_t *e, unsigned size)
{
    if (gpa >= m->size || m->size - gpa < size)
        return false;
    *e = load_entry(m->ram + gpa, size);
    return true;
}

// SDM 3A 4.7: W/R and U/S describe the access; I/D is set for a fetch only where
// fetches are checked apart from reads: with NXE or SMEP (never in 32-bit paging,
// whose entries have no XD bit: nxe is false there).
static uint32_t access_code(const struct walk_mode *mode, unsigned access, bool nxe)
{
    return (access & (PF_W | PF_U)) | ((access & PF_I) && (nxe || mode->smep) ? PF_I : 0);
}

// Reads the entry of one level into w; false when it is outside guest RAM.
static bool step(const struct guest_mem *m, uint64_t at, unsigned size, struct walk *w,
                 uint64_t *e)
{
    w->entry_gpa[w->levels++] = at; // counted even when outside RAM: the message names it
    w->entry_size = size;
    if (!read_entry(m, at, e, size)) {
        w->outside_ram = true;
        return false;
    }
    w->entry[w->levels - 1] = *e;
    return true;
}

// The leaf found: its page, and the rights of the whole path judged (SDM 3A 4.6.1):
// user accesses need U/S=1 all the way; writes need R/W=1, except supervisor writes
// while CR0.WP=0; fetches need XD=0 (with NXE). A supervisor fetch from a user page
// faults with SMEP; a supervisor read or write of one faults with SMAP, unless
// RFLAGS.AC allows an explicit access (mode->ac is 0 for an implicit one).
static int judge(const struct walk_mode *mode, uint64_t gva, uint64_t page, uint64_t size,
                 unsigned access, uint32_t code, bool user_ok, bool write_ok, bool exec_ok,
                 struct walk *w)
{
    bool u = access & PF_U, wr = access & PF_W, fetch = access & PF_I;
    w->gpa = page | (gva & (size - 1));
    w->page_size = size;
    w->user = user_ok;
    w->writable = write_ok;
    w->executable = exec_ok;
    bool smap_denies = mode->smap && !u && !fetch && user_ok && !mode->ac;
    bool ok = (!u || user_ok) && (!wr || write_ok || (!u && !mode->wp)) &&
              (!fetch || exec_ok) && !(fetch && !u && user_ok && mode->smep) && !smap_denies;
    if (!ok) {
        w->pf_error = PF_P | code;
        return -1;
    }
    return 0;
}

// The tables from the one at table, of the given level (3: a PML4, 1: a page directory),
// down to the leaf: 4-level paging from its PML4, PAE paging from its page directory.
static int walk_from(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
                     unsigned access, struct walk *w, uint64_t table, int top)
{
    bool user_ok = true, write_ok = true, exec_ok = true;
    uint32_t code = access_code(mode, access, mode->nxe);
    for (int level = top; level >= 0; level--) {
        unsigned index = (gva >> (12 + 9 * level)) & 511;
        uint64_t e;
        if (!step(m, table + 8 * index, 8, w, &e))
            return -1;
        if (!(e & PTE_P)) {
            w->pf_error = code;
            return -1;
        }
        // Reserved bits (SDM 3A 4.5.4, Tables 4-15 to 4-20; PAE paging's are the same
        // in its PDEs and PTEs, 4.4.2, Tables 4-8 to 4-11): address bits at and above
        // MAXPHYADDR; XD while EFER.NXE = 0; PS in a PML4E, and in a PDPTE where the
        // CPU has no 1 GiB pages; the low address bits of a 1 GiB (29:13) or 2 MiB
        // (20:13) page.
        uint64_t rsvd = ADDR_MASK & ~((1ull << mode->maxphyaddr) - 1);
        if (!mode->nxe)
            rsvd |= PTE_NX;
        if (level == 3 || (level == 2 && !mode->gbpages))
            rsvd |= PTE_PS;
        else if (level == 2 && (e & PTE_PS))
            rsvd |= 0x3fffe000;
        else if (level == 1 && (e & PTE_PS))
            rsvd |= 0x1fe000;
        if (e & rsvd) {
            w->pf_error = PF_P | PF_RSVD | code;
            return -1;
        }
        user_ok = user_ok && (e & PTE_U);
        write_ok = write_ok && (e & PTE_W);
        exec_ok = exec_ok && !(mode->nxe && (e & PTE_NX));
        bool leaf = level == 0 || ((level == 1 || level == 2) && (e & PTE_PS));
        if (leaf) {
            uint64_t size = 1ull << (12 + 9 * level);
            return judge(mode, gva, e & ADDR_MASK & ~(size - 1), size, access, code, user_ok,
                         write_ok, exec_ok, w);
        }
        table = e & ADDR_MASK;
    }
    return -1; // not reached: level 0 is a leaf
}

// 32-bit paging (SDM 3A 4.3, Tables 4-4 to 4-6): a page directory at CR3[31:12] of
// 4-byte entries, each a 4 MiB page (PS, with CR4.PSE) or a page table of 4-byte
// entries. A 4 MiB page's address is bits 31:22 of its PDE and, with PSE-36, bits
// 39:32 from PDE bits 20:13: those at and above MAXPHYADDR are reserved, as is bit
// 21. No XD: every page is executable.
static int walk_32bit(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
                      unsigned access, struct walk *w)
{
    uint32_t code = access_code(mode, access, false);
    uint64_t pde, pte;
    gva &= 0xffffffffull;
    if (!step(m, (mode->cr3 & 0xfffff000ull) + 4 * (gva >> 22), 4, w, &pde))
        return -1;
    if (!(pde & PTE_P)) {
        w->pf_error = code;
        return -1;
    }
    if ((pde & PTE_PS) && mode->pse) {
        unsigned high_bits = mode->maxphyaddr >= 40  ? 8
                             : mode->maxphyaddr > 32 ? mode->maxphyaddr - 32
                                                     : 0;
        uint64_t rsvd = (1ull << 21) | (0xffull << (13 + high_bits) & 0x1fe000);
        if (pde & rsvd) {
            w->pf_error = PF_P | PF_RSVD | code;
            return -1;
        }
        uint64_t page = (pde & 0xffc00000ull) | ((pde >> 13) & 0xff) << 32;
        return judge(mode, gva, page, 4ull << 20, access, code, pde & PTE_U, pde & PTE_W,
                     true, w);
    }
    if (!step(m, (pde & 0xfffff000ull) + 4 * ((gva >> 12) & 1023), 4, w, &pte))
        return -1;
    if (!(pte & PTE_P)) {
        w->pf_error = code;
        return -1;
    }
    return judge(mode, gva, pte & 0xfffff000ull, 4096, access, code,
                 (pde & PTE_U) && (pte & PTE_U), (pde & PTE_W) && (pte & PTE_W), true, w);
}

// PAE paging (SDM 3A 4.4, Tables 4-7 to 4-11): the PDPTE of bits 31:30, from the four
// registers the CPU loaded (and checked) at the last MOV to CR3, then 8-byte PDEs (PS:
// a 2 MiB page) and PTEs as in 4-level paging. A PDPTE has no U/S or R/W: the PDE and
// the PTE decide.
static int walk_pae(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
                    unsigned access, struct walk *w)
{
    gva &= 0xffffffffull;
    uint64_t pdpte = mode->pdpte[gva >> 30];
    if (!(pdpte & PTE_P)) {
        w->pf_error = access_code(mode, access, mode->nxe);
        return -1;
    }
    return walk_from(m, mode, gva, access, w, pdpte & ADDR_MASK, 1);
}

int guest_walk(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
               unsigned access, struct walk *w)
{
    *w = (struct walk){ 0 };
    switch (mode->format) {
    case WALK_OFF: // every access allowed, at the physical address (32 bits of it)
        w->gpa = gva & 0xffffffffull;
        w->page_size = 4096;
        w->user = w->writable = w->executable = true;
        return 0;
    case WALK_32BIT:
        return walk_32bit(m, mode, gva, access, w);
    case WALK_PAE:
        return walk_pae(m, mode, gva, access, w);
    case WALK_4LEVEL:
        break;
    }
    return walk_from(m, mode, gva, access, w, mode->cr3 & ADDR_MASK, 3);
}

void guest_walk_set_ad(uint8_t *ram, uint64_t size, const struct walk *w, bool write)
{
    for (unsigned i = 0; i < w->levels; i++) {
        uint64_t gpa = w->entry_gpa[i];
        uint64_t set = PTE_A | (write && i == w->levels - 1 ? PTE_D : 0);
        if (gpa >= size || size - gpa < w->entry_size)
            return;
        uint64_t e = load_entry(ram + gpa, w->entry_size);
        if ((e & set) != set) // written only if it changes, as the CPU does
            store_entry(ram + gpa, e | set, w->entry_size);
    }
}

size_t guest_read(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
                  void *dst, size_t n)
{
    // The hypervisor's own read, not the guest's: SMAP does not stop it.
    struct walk_mode quiet = *mode;
    quiet.smap = false;
    mode = &quiet;
    uint8_t *out = dst;
    size_t done = 0;
    while (done < n) {
        struct walk w;
        if (guest_walk(m, mode, gva + done, 0, &w) || w.gpa >= m->size)
            break;
        size_t in_page = w.page_size - (w.gpa & (w.page_size - 1));
        size_t chunk = n - done < in_page ? n - done : in_page;
        if (chunk > m->size - w.gpa)
            chunk = m->size - w.gpa;
        memcpy(out + done, m->ram + w.gpa, chunk);
        done += chunk;
    }
    return done;
}

// The shadow entry (hv/mmu/shadow.c) for the 4 KiB page of a successful walk w of
// an access (PF_W, PF_U, PF_I): what the guest's tables grant, at host-physical
// ram_base + GPA, with A and D preset, so the CPU never writes the shadow
// tables. Write-back, whatever the guest's PWT, PCD and PAT say: they are not
// copied, the entry selects PAT entry 0, which the real IA32_PAT keeps at WB
// under shadow paging (hv/exit/msr.c), and guest RAM is ordinary RAM the host maps
// write-back, so that no page ever has two memory types (SDM 3A 12.12.4,
// Programming the PAT); under EPT the "ignore PAT" bit does the same (hv/mmu/ept.c).
// Two departures in the rights (SDM 3A 4.6.1, 4.8):
// - a writable page whose D bit is clear is mapped read-only, so that its
//   first write faults and the hypervisor sets D;
// - with WP=0, a supervisor write to a page the tables make read-only is
//   mapped writable but supervisor-only, so that user accesses still fault
//   and are judged by the tables again (the real WP stays 1).
// 0 where the second cannot be made right: a user page under CR4.SMAP, whose
// supervisor-only copy would let later supervisor accesses with AC = 0
// through (hv/mmu/shadow.c stops the run, naming it).
uint64_t shadow_leaf(const struct walk *w, unsigned access, const struct walk_mode *m,
                     uint64_t ram_base)
{
    uint64_t guest = w->entry[w->levels - 1];
    uint64_t e = (ram_base + (w->gpa & ~0xfffull)) | PTE_P | PTE_A | PTE_D;
    bool user = w->user, writable = false, exec_off = m->nxe && !w->executable;
    if (w->writable) {
        writable = (access & PF_W) || (guest & PTE_D);
    } else if (!m->wp && (access & (PF_W | PF_U)) == PF_W) {
        if (w->user && m->smap)
            return 0;
        writable = true;
        user = false;
        // A user page made supervisor-only would let a supervisor fetch by
        // under SMEP: no execution from it, as KVM does; the real EFER.NXE
        // is 1 under shadow paging whatever the guest's (hv/exit/msr.c).
        if (w->user && m->smep)
            exec_off = true;
    }
    if (user)
        e |= PTE_U;
    if (writable)
        e |= PTE_W;
    if (exec_off)
        e |= PTE_NX;
    return e;
}

// The real paging while a multiboot kernel's own paging is off under shadow paging
// (hv/mmu/shadow.c): guest-linear = guest-physical, mapped onto guest RAM at
// host_base, so that the CPU, whose CR0.PG VMX keeps at 1 without "unrestricted
// guest" (SDM 3C 27.3.1.1), runs the kernel as if paging were off. PAE format, as
// KVM's shadow MMU uses for a guest outside IA-32e mode (the real EFER.LME is 0
// then, hv/exit/exit.h efer_real()): tables[0] is the PDPT (SDM 3A 4.4.1: P and the
// address only, 2:1 and 8:5 reserved), tables[1..4] a page directory for each GiB of
// the 4 GiB a 32-bit address reaches, 2 MiB pages (SDM 3A 4.4.2, Table 4-9), and
// tables[5] a page table for the last 2 MiB when RAM ends inside them. RAM only:
// every other address is not present, so the guest's access to it makes a #PF exit
// (a device, or outside RAM). Pages are user, writable and executable: with paging
// off nothing restricts an access (SDM 3A 2.5), and real SMEP and SMAP stay off
// (hv/exit/exit_cr.c real_cr4()). The tables must be zeroed; returns the PDPT's
// address, the real CR3.
uint64_t ident_map_build(uint64_t (*tables)[512], uint64_t ram_size, uint64_t host_base)
{
    const uint64_t page = PTE_P | PTE_W | PTE_U | PTE_A | PTE_D, big = 2ull << 20;
    uint64_t *pdpt = tables[0];
    if (ram_size > 4ull << 30)
        ram_size = 4ull << 30; // what a 32-bit address reaches
    for (uint64_t gpa = 0; gpa < ram_size; gpa += big) {
        unsigned gib = (unsigned)(gpa >> 30), i = (gpa >> 21) & 511;
        uint64_t *pd = tables[1 + gib];
        pdpt[gib] = (uint64_t)(uintptr_t)pd | PTE_P;
        if (ram_size - gpa >= big) {
            pd[i] = (host_base + gpa) | page | PTE_PS;
            continue;
        }
        uint64_t *pt = tables[IDENT_PAGES - 1]; // RAM ends inside this 2 MiB
        pd[i] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W | PTE_U | PTE_A;
        for (uint64_t at = gpa; at < ram_size; at += 4096)
            pt[(at >> 12) & 511] = (host_base + at) | page;
    }
    return (uint64_t)(uintptr_t)pdpt;
}
