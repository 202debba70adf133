// paging.c: the guest's own page tables, read by the hypervisor. guest_walk()
// translates a guest-virtual address through the guest's 4-level tables (SDM
// 3A 4.5, "4-Level Paging and 5-Level Paging") in guest RAM, as the CPU would,
// and says whether the access would be allowed (SDM 3A 4.6, "Access Rights")
// and with which #PF error code (SDM 3A 4.7) if not. trace= uses it to fetch
// the bytes of the instruction that exited. Pure: every table entry is read
// through the bounds of guest RAM, so a hostile CR3 or entry can only make the
// walk fail; the host unit tests (tests/unit/test_paging.c) build tables in
// memory and walk them. ident_map_build() writes the identity map shadow paging
// runs a multiboot kernel on while its own paging is off.
#include "../../boot/x86.h"
#include "internal.h"

#define ADDR_MASK 0x000ffffffffff000ull // bits 51:12 of an entry

static bool read_entry(const struct guest_mem *m, uint64_t gpa, uint64_t *e)
{
    if (gpa >= m->size || m->size - gpa < 8)
        return false;
    memcpy(e, m->ram + gpa, 8);
    return true;
}

int guest_walk(const struct guest_mem *m, const struct walk_mode *mode, uint64_t gva,
               unsigned access, struct walk *w)
{
    *w = (struct walk){ 0 };
    bool user_ok = true, write_ok = true, exec_ok = true;
    bool u = access & PF_U, wr = access & PF_W, fetch = access & PF_I;
    // SDM 3A 4.7: W/R and U/S describe the access; I/D is set for a fetch
    // only where fetches are checked apart from reads: with NXE or SMEP.
    uint32_t code = (access & (PF_W | PF_U)) | (fetch && (mode->nxe || mode->smep) ? PF_I : 0);
    uint64_t table = mode->cr3 & ADDR_MASK;
    for (int level = 3; level >= 0; level--) {
        unsigned index = (gva >> (12 + 9 * level)) & 511;
        uint64_t at = table + 8 * index, e;
        w->levels++;
        w->entry_gpa[3 - level] = at;
        if (!read_entry(m, at, &e)) {
            w->outside_ram = true;
            return -1;
        }
        w->entry[3 - level] = e;
        if (!(e & PTE_P)) {
            w->pf_error = code;
            return -1;
        }
        // Reserved bits (SDM 3A 4.5.4, Tables 4-15 to 4-20): address bits at
        // and above MAXPHYADDR; XD while EFER.NXE = 0; PS in a PML4E, and in
        // a PDPTE where the CPU has no 1 GiB pages; the low address bits of
        // a 1 GiB (29:13) or 2 MiB (20:13) page.
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
            uint64_t offset_mask = (1ull << (12 + 9 * level)) - 1;
            w->gpa = (e & ADDR_MASK & ~offset_mask) | (gva & offset_mask);
            w->page_size = offset_mask + 1;
            break;
        }
        table = e & ADDR_MASK;
    }
    w->user = user_ok;
    w->writable = write_ok;
    w->executable = exec_ok;
    // SDM 3A 4.6.1: user accesses need U/S=1 all the way; writes need R/W=1,
    // except supervisor writes while CR0.WP=0; fetches need XD=0 (with NXE).
    // A supervisor fetch from a user page faults with SMEP; a supervisor read
    // or write of one faults with SMAP, unless RFLAGS.AC allows an explicit
    // access (mode->ac is 0 for an implicit one).
    bool smap_denies = mode->smap && !u && !fetch && user_ok && !mode->ac;
    bool ok = (!u || user_ok) && (!wr || write_ok || (!u && !mode->wp)) &&
              (!fetch || exec_ok) && !(fetch && !u && user_ok && mode->smep) && !smap_denies;
    if (!ok) {
        w->pf_error = PF_P | code;
        return -1;
    }
    return 0;
}

void guest_walk_set_ad(uint8_t *ram, uint64_t size, const struct walk *w, bool write)
{
    for (unsigned i = 0; i < w->levels; i++) {
        uint64_t gpa = w->entry_gpa[i], e;
        uint64_t set = PTE_A | (write && i == w->levels - 1 ? PTE_D : 0);
        if (gpa >= size || size - gpa < 8)
            return;
        memcpy(&e, ram + gpa, 8);
        if ((e & set) != set) { // written only if it changes, as the CPU does
            e |= set;
            memcpy(ram + gpa, &e, 8);
        }
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
