// shadow.c: shadow paging (paging=shadow), for CPUs without EPT and to show
// why the CR0.WP change needs EPT. The guest's CR3 is never loaded: the real
// CR3 points at tables built here that map guest-virtual straight to host-
// physical, filled one 4 KiB page at a time as the guest touches memory: a
// virtual TLB. hv/exit/exit.c sends every guest #PF here (exception bitmap bit 14)
// and INVLPG, hv/exit/exit_cr.c every MOV to/from CR3, CR0.WP and CR4 paging-bit
// or SMAP change, hv/exit/msr.c every EFER.NXE change. guest_run() (hv/run/guest.c)
// calls shadow_reset() before each run, with the pool of table pages it sized for
// the run's RAM (shadow_pool()). While a multiboot kernel's own paging is off, the
// real CR3 is instead an identity map of its RAM (hv/mmu/paging.c
// ident_map_build()); the MOV to CR0 that sets PG with EFER.LME switches to the
// shadow tables (hv/exit/exit_cr.c), one that clears it switches back.
//
// What a shadow entry may grant is what the guest's own tables grant (walked
// by hv/mmu/paging.c), with two twists (SDM 3A 4.6, 4.8):
// - Dirty bits: a writable page whose D bit is clear is mapped read-only, so
//   the first write faults here and sets D in the guest's entry, as the CPU
//   would have.
// - CR0.WP: the real CR0.WP stays 1 (the hypervisor owns it, hv/run/guest.c);
//   guest WP=0 is emulated: a supervisor write to a page the guest's tables
//   make read-only is mapped writable but supervisor-only (U=0), so that user
//   accesses still fault and are judged by the guest's tables again. Such an
//   entry is wrong as soon as WP is 1 again: a WP change either empties the
//   tables (shadow_wp=flush) or switches to a second set kept for the other
//   WP value (shadow_wp=roles, KVM's role.cr0_wp). This is why KVM intercepts
//   CR0.WP whenever it shadows the guest's paging.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../dev/dev.h"
#include "../exit/exit.h"
#include "internal.h"

#define ADDR_MASK 0x000ffffffffff000ull
// Upper levels grant everything; the leaf alone says what is allowed. A and
// D are set from the start so that the CPU never writes the shadow tables.
#define UPPER (PTE_P | PTE_W | PTE_U | PTE_A)
// A shadow PDPTE under which some 4 KiB entry copies a guest 1 GiB page: bit
// 9, which the CPU ignores in a PDPTE that references a page directory (SDM
// 3A 4.5, Table 4-17), so that INVLPG can drop all of that page.
#define FROM_1G (1ull << 9)

#define LOG_MAX 2048

// The pool of table pages (hv/run/guest.c sizes it for the run's RAM), handed out
// in order. Free pages are all zero: every entry ever written is in the log, and a
// flush clears just those, so that emptying the tables costs what was filled, not
// the pool's size.
static uint64_t (*pool)[512];
static unsigned pool_size, pool_used;
static uint64_t *written[LOG_MAX];
static unsigned nwritten;
static bool log_overflow; // more entries than the log holds: clear whole pages
static uint64_t *root[2]; // roles: one per CR0.WP value; flush: root[1] only
static bool roles;
static uint64_t ident_root; // the real CR3 while the guest's paging is off (0: never)
// The same, for hv/vmx/exit_fast.S: the real CR3 by the guest's WP, and whether a
// WP change may simply switch (roles) rather than flush (C's work).
uint64_t shadow_root_by_wp[2];
bool shadow_roles;

static uint64_t *page_alloc(void)
{
    return pool_used < pool_size ? pool[pool_used++] : NULL;
}

void shadow_pool(uint64_t (*pages)[512], unsigned n)
{
    memset(pages, 0, (size_t)n * 4096); // what the loader left there
    pool = pages;
    pool_size = n;
    pool_used = 0;
    nwritten = 0;
    log_overflow = false;
}

static void set_entry(uint64_t *slot, uint64_t val)
{
    if (!*slot) { // already logged if not zero
        if (nwritten < LOG_MAX)
            written[nwritten++] = slot;
        else
            log_overflow = true;
    }
    *slot = val;
}

// Every translation dropped: what a full TLB flush does (and what the CPU
// may do at any time, SDM 3A 4.10.4.4). New, empty roots.
static void flush_all(void)
{
    if (log_overflow)
        memset(pool, 0, (size_t)pool_used * 4096);
    else
        for (unsigned i = 0; i < nwritten; i++)
            *written[i] = 0;
    nwritten = 0;
    log_overflow = false;
    pool_used = 0;
    root[1] = page_alloc();
    root[0] = roles ? page_alloc() : root[1];
    shadow_root_by_wp[0] = (uint64_t)(uintptr_t)root[0];
    shadow_root_by_wp[1] = (uint64_t)(uintptr_t)root[1];
    shadow_roles = roles;
    vcpu.stats.shadow_flushes++;
}

static unsigned current_role(void)
{
    return roles ? (read_shadowed_cr0() & CR0_WP) != 0 : 1;
}

// The real CR3: the shadow tables for the guest's WP, or the identity map while its
// paging is off (PG is host-owned: the read shadow holds the guest's).
uint64_t shadow_root(void)
{
    if (!(vcpu.cr0_shadow & CR0_PG))
        return ident_root;
    return (uint64_t)(uintptr_t)root[current_role()];
}

// The same before the VMCS holds the guest's CR0: for a guest whose CR0.WP reads wp
// (a vmxlab guest, with paging from the start).
uint64_t shadow_root_for(bool wp)
{
    return (uint64_t)(uintptr_t)root[roles ? wp : 1];
}

void shadow_reset(bool by_roles, uint64_t ident)
{
    roles = by_roles;
    ident_root = ident;
    flush_all();
    vcpu.stats.shadow_flushes = 0;
}

void shadow_flush(void)
{
    flush_all();
    vmwrite(GUEST_CR3, shadow_root());
    TRACE("shadow tables emptied");
}

// MOV to CR0 changed WP (hv/exit/exit_cr.c).
void shadow_wp_changed(void)
{
    if (!(vcpu.cr0_shadow & CR0_PG))
        return; // the identity map knows no WP: paging is off
    if (roles) {
        vmwrite(GUEST_CR3, shadow_root());
        TRACE("shadow tables switched to the WP=%u set", current_role());
    } else {
        shadow_flush();
    }
}

// The shadow PTE slot for gva under r, creating the tables above it; NULL
// when the pool is used up. page_size is the guest's page that gva is in.
static uint64_t *slot_of(uint64_t *r, uint64_t gva, uint64_t page_size)
{
    uint64_t *table = r;
    for (int level = 3; level > 0; level--) {
        uint64_t *e = &table[(gva >> (12 + 9 * level)) & 511];
        if (!(*e & PTE_P)) {
            uint64_t *next = page_alloc();
            if (!next)
                return NULL;
            set_entry(e, (uint64_t)(uintptr_t)next | UPPER);
        }
        if (level == 2 && page_size == 1ull << 30)
            *e |= FROM_1G; // logged already: it is not zero
        table = (uint64_t *)(uintptr_t)(*e & ADDR_MASK);
    }
    return &table[(gva >> 12) & 511];
}

// INVLPG: the translation of gva's page is gone, in every set of tables, all
// of it (SDM 3A 4.10.4.1: INVLPG invalidates the whole page; 4.10.2.3: even
// where the TLB holds a large page as several smaller ones). The shadow
// splits the guest's pages into 4 KiB entries, and the guest may have
// changed or cleared the entry that mapped the page, so its size is known
// only from the shadow: the whole 1 GiB under a PDPTE marked FROM_1G goes,
// else the whole 2 MiB its shadow page table covers (the guest may have
// mapped gva with a 2 MiB page). Dropping more than asked is what a TLB may
// always do.
void shadow_invlpg(uint64_t gva)
{
    uint64_t span = 2ull << 20;
    for (unsigned i = 0; i < (roles ? 2u : 1u); i++) {
        uint64_t *table = root[i];
        for (int level = 3; level > 1 && table; level--) {
            uint64_t *e = &table[(gva >> (12 + 9 * level)) & 511];
            if (level == 2 && (*e & FROM_1G)) { // its tables wait for the next flush
                *e = 0;
                span = 1ull << 30;
                table = NULL;
                break;
            }
            table = *e & PTE_P ? (uint64_t *)(uintptr_t)(*e & ADDR_MASK) : NULL;
        }
        if (table) // the PDE; its page table, still logged, waits for the next flush
            table[(gva >> 21) & 511] = 0;
    }
    TRACE("shadow translations of 0x%lx's %s dropped", gva & ~(span - 1),
          span == 2ull << 20 ? "2 MiB" : "1 GiB");
}

// What the guest sees of its own paging controls (for hv/exit/trace.c and
// hv/exit/mmio.c too, under EPT as well): CPUID.80000001H:EDX[26] says whether it has
// 1 GiB pages. Its paging mode from CR0.PG, EFER.LMA and CR4.PAE (SDM 3A 4.1.1); in PAE
// paging the PDPTE registers, which under EPT the VMCS holds (SDM 3C 25.4.2), else
// the four entries at CR3, read for this walk.
struct walk_mode guest_walk_mode(void)
{
    uint64_t cr4 = cr_visible(vmread(GUEST_CR4), vcpu.cr4_shadow, vcpu.cr4_owned);
    uint64_t cr0 = read_shadowed_cr0(), cr3 = guest_cr3();
    struct walk_mode m = { .cr3 = cr3,
                           .wp = cr0 & CR0_WP,
                           .nxe = guest_efer() & EFER_NXE,
                           .smep = cr4 & CR4_SMEP,
                           .smap = cr4 & CR4_SMAP,
                           .ac = vmread(GUEST_RFLAGS) & RFLAGS_AC,
                           .gbpages = caps.raw.cpuid_ext1[3] & BIT(26),
                           .maxphyaddr = caps.maxphyaddr,
                           .pse = cr4 & CR4_PSE };
    if (!(cr0 & CR0_PG))
        m.format = WALK_OFF;
    else if (!(guest_efer() & EFER_LMA))
        m.format = cr4 & CR4_PAE ? WALK_PAE : WALK_32BIT;
    if (m.format == WALK_PAE && !vcpu.shadow) {
        for (int i = 0; i < 4; i++)
            m.pdpte[i] = vmread(GUEST_PDPTE(i));
    } else if (m.format == WALK_PAE) {
        uint64_t at = cr3 & 0xffffffe0ull;
        if (at <= vcpu.ram_size - sizeof(m.pdpte))
            memcpy(m.pdpte, vcpu.ram + at, sizeof(m.pdpte));
    }
    return m;
}

// A #PF into the guest. If it arose while the CPU was delivering another
// event (IDT-vectoring information valid, SDM 3C 28.2.4, Information for VM
// Exits That Occur During Event Delivery), the two combine as on the CPU
// (SDM 3A 6.15, Interrupt 8, Table 6-5; KVM's kvm_multiple_exception() and
// exception_class()): a #PF while delivering a #PF is a #DF; a #PF while
// delivering a #DF is a triple fault; a #PF while delivering anything else, a
// contributory exception (#DE, #TS, #NP, #SS, #GP) or a benign event, is
// handled serially: the #PF is delivered, and the first event is not. A
// fault comes back when its instruction runs again; a trap (a single-step
// #DB) is gone, on the CPU as here. Only hardware exceptions (type 3) count:
// INT n, INT3 and INTO are benign whatever their vector.
static int inject_pf(uint64_t gva, uint32_t error)
{
    uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
    write_cr2(gva); // an exception that exits leaves CR2 alone (SDM 3C 28.1)
    vcpu.stats.pf[PF_REFLECTED]++;
    if ((idt & BIT(31)) && ((idt >> 8) & 7) == 3) {
        unsigned v = idt & 0xff;
        if (v == VEC_DF)
            return stop_run(EXIT_REASON_TRIPLE_FAULT, "a #PF while delivering a #DF: "
                            "triple fault");
        if (v == VEC_PF) {
            TRACE("a #PF while delivering a #PF: #DF");
            inject_exception(VEC_DF, 0);
            return EXIT_RESUME;
        }
    }
    TRACE("the guest's own tables refuse: #PF 0x%x at 0x%lx", error, gva);
    inject_exception(VEC_PF, error);
    return EXIT_RESUME;
}

// The event the CPU was delivering when the fill's #PF exited is delivered
// again (SDM 3C 28.2.4, 27.6): the fill has made its path present.
static void redeliver(void)
{
    uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO);
    if (!(idt & BIT(31)))
        return;
    unsigned type = (idt >> 8) & 7;
    vmwrite(VM_ENTRY_INTR_INFO, idt & ~(uint32_t)BIT(12));
    if (idt & BIT(11))
        vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
    if (type == 4 || type == 5 || type == 6) // INT n, INT1, INT3/INTO: their length
        vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));
    TRACE("event 0x%x delivered again", idt);
}

// A #PF in the guest, from the exception bitmap: the shadow entry is missing
// or grants too little. The guest's tables decide: either they allow the
// access (fill the entry, set A and D in the guest's entries, resume at the
// same instruction) or they do not (the guest gets the #PF it would have had
// without a hypervisor: error code and CR2 from the guest's tables).
int shadow_page_fault(uint64_t gva, uint32_t hw_error)
{
    // "NMI unblocking due to IRET" (SDM 3C 28.2.3) needs no care here: with
    // NMI exiting every NMI is the host's (hv/exit/exit.c), so the guest never
    // has NMIs blocked for an IRET to unblock.
    char why[160];
    if (!(vcpu.cr0_shadow & CR0_PG)) { // the identity map: linear = guest-physical
        // It maps RAM only: device memory (the APIC's page) faults here on every access,
        // which is emulated as under EPT (hv/exit/mmio.c keeps the virtual-APIC page, if
        // any, in step with the model).
        if (gva >= vcpu.ram_size && dev_claiming(DEV_MMIO, gva))
            return mmio_exit(gva, hw_error & (PF_W | PF_U | PF_I), EXIT_REASON_EXCEPTION_NMI);
        snprintf(why, sizeof(why), "a #PF at 0x%lx while the guest's paging is off: %s "
                 "(shadow paging; RIP 0x%lx)", gva, gva < vcpu.ram_size ? "in guest RAM, "
                 "which the identity map holds" : "outside guest RAM", vmread(GUEST_RIP));
        return stop_run(EXIT_REASON_EXCEPTION_NMI, why);
    }
    struct walk_mode m = guest_walk_mode();
    if (vmread(IDT_VECTORING_INFO) & BIT(31))
        m.ac = false; // the delivery's accesses are implicit: SMAP ignores AC (SDM 3A 4.6)
    struct guest_mem mem = { vcpu.ram, vcpu.ram_size };
    unsigned access = hw_error & (PF_W | PF_U | PF_I);
    struct walk w;
    int denied = guest_walk(&mem, &m, gva, access, &w);
    if (w.outside_ram) {
        snprintf(why, sizeof(why), "the guest's page tables for 0x%lx lead to GPA 0x%lx, "
                 "outside its %lu MiB of RAM (shadow paging)", gva,
                 w.entry_gpa[w.levels - 1], vcpu.ram_size >> 20);
        return stop_run(EXIT_REASON_EXCEPTION_NMI, why);
    }
    if (denied)
        return inject_pf(gva, w.pf_error);
    // The host-physical address of guest-physical 0, as this page's entry sees it.
    uint64_t base = (uint64_t)(uintptr_t)vcpu.ram;
    if (w.gpa >= vcpu.ram_size) { // the counterpart of an EPT violation
        // Device memory: the CPU's APIC virtualisation where it has it, mapped like RAM
        // but to the APIC-access page; else every access exits here and is emulated,
        // with A and D set as the CPU would (hv/exit/mmio.c).
        uint64_t hpa = apic_access_hpa(w.gpa);
        if (hpa) {
            base = hpa - (w.gpa & ~0xfffull);
        } else if (dev_claiming(DEV_MMIO, w.gpa)) {
            guest_walk_set_ad(vcpu.ram, vcpu.ram_size, &w, access & PF_W);
            return mmio_exit(w.gpa, access, EXIT_REASON_EXCEPTION_NMI);
        } else {
            snprintf(why, sizeof(why), "0x%lx maps GPA 0x%lx, outside its %lu MiB of RAM "
                     "(shadow paging; RIP 0x%lx)", gva, w.gpa, vcpu.ram_size >> 20,
                     vmread(GUEST_RIP));
            return stop_run(EXIT_REASON_EXCEPTION_NMI, why);
        }
    }
    guest_walk_set_ad(vcpu.ram, vcpu.ram_size, &w, access & PF_W);
    w.entry[w.levels - 1] |= PTE_A | (access & PF_W ? PTE_D : 0);
    uint64_t leaf = shadow_leaf(&w, access, &m, base);
    if (!leaf) {
        snprintf(why, sizeof(why), "CR0.WP=0 with CR4.SMAP=1: a supervisor write (RFLAGS.AC=1) "
                 "to the read-only user page at 0x%lx is not emulated under shadow paging "
                 "(RIP 0x%lx)", gva, vmread(GUEST_RIP));
        return stop_run(EXIT_REASON_EXCEPTION_NMI, why);
    }
    uint64_t *slot = slot_of(root[current_role()], gva, w.page_size);
    if (!slot) { // the pool is used up: start again from empty tables
        shadow_flush();
        slot = slot_of(root[current_role()], gva, w.page_size);
    }
    if (*slot == leaf) {
        // The entry was already this: the CPU refused for a reason the walk
        // does not model (protection keys; SMAP for an implicit access the
        // exit does not show as one, a descriptor-table read say). Its
        // verdict, and its error code, are the guest's: the real CR4 carries
        // the guest's bits, the real EFER.NXE is 1 whatever the guest's.
        return inject_pf(gva, m.nxe || m.smep ? hw_error : hw_error & ~(uint32_t)PF_I);
    }
    set_entry(slot, leaf);
    vcpu.stats.pf[PF_FILLED]++;
    TRACE("shadow entry for 0x%lx: 0x%lx (GPA 0x%lx)", gva & ~(uint64_t)0xfff, leaf, w.gpa);
    redeliver();
    return EXIT_RESUME;
}
