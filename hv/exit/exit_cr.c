// exit_cr.c: the CR-access exit (basic reason 28), which vmx_exit_handler()
// (hv/exit/exit.c) dispatches here: MOV to CR0 (the hot path of an intercepted WP
// toggle), CLTS and LMSW when they touch host-owned CR0 bits, MOV to CR4 for
// host-owned CR4 bits, MOV to/from CR8 (always intercepted: the guest's TPR is
// virtual) and MOV to/from CR3 where the CPU forces CR3 exiting. Each write is
// checked by the rules of hv/exit/cr.c and either lands (real register, read shadow)
// or raises #GP(0) with the register unchanged, as on the CPU. A multiboot kernel
// changes its paging mode through MOV to CR0 (set_cr0_modes(): IA-32e mode in and
// out, paging on and off, the PDPTEs of PAE paging).
// SDM 3C 26.1.3 (what exits), 28.2.1 Table 28-3 (the exit qualification),
// 25.6.6 (guest/host masks and read shadows); SDM 2 MOV CR, CLTS, LMSW.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../mmu/mmu.h"
#include "internal.h"

// Adaptive policy: the guest has toggled WP often enough; from now on WP is
// the guest's, and its toggles no longer exit.
static __attribute__((noinline)) void hand_over_wp(void)
{
    vcpu.cr0_owned |= CR0_WP;
    vmwrite(CR0_GUEST_HOST_MASK, ~vcpu.cr0_owned);
    if (vcpu.shadow) { // unsafe=1: from now on the real WP is the guest's
        vcpu.cr0_keep |= CR0_WP & caps.raw.cr0_fixed1;
        vcpu.cr0_force &= ~(uint64_t)CR0_WP;
        vmwrite(GUEST_CR0, (vmread(GUEST_CR0) & ~(uint64_t)CR0_WP) |
                               (vcpu.cr0_shadow & CR0_WP));
    }
}

// CR4 as the guest reads it: guest-owned bits from the real register.
static uint64_t guest_cr4(void)
{
    return cr_visible(vmread(GUEST_CR4), vcpu.cr4_shadow, vcpu.cr4_owned);
}

// CR4.CET needs CR0.WP (SDM 3A 2.5): clearing WP while CET is 1 is #GP(0).
static inline bool cet_forbids(uint64_t val)
{
    return __builtin_expect((vcpu.cr4_shadow | vcpu.cr4_owned) & CR4_CET, 0) &&
           !(val & CR0_WP) && (guest_cr4() & CR4_CET);
}

// The guest's TLB, as VPID tags it, after a write that flushes on the CPU
// (SDM 3A 4.10.4.1, Operations that Invalidate TLBs and Paging-Structure
// Caches). Without VPID, every VM entry and exit already flushes VPID 0's
// mappings (SDM 3C 29.1.2), so nothing is owed.
static void flush_guest_tlb(bool keep_global)
{
    if (!ctl_on(CTL_PROC2, CTL_PROC2_VPID))
        return;
    uint64_t vpid = vmread(VIRTUAL_PROCESSOR_ID);
    invvpid_context(vpid, keep_global);
}

// The real CR4 for the guest's val: what VMX and the host need besides (FIXED0,
// MCE; under shadow paging PAE, vcpu.cr4_force). While a multiboot kernel's paging
// is off under shadow paging, the real paging is vmxlab's identity map of guest
// RAM (hv/mmu/shadow.c), whose entries are user pages: SMEP, SMAP and protection
// keys, which mean nothing without the guest's paging, stay off, as KVM's
// vmx_set_cr4() keeps them for a guest without paging.
static uint64_t real_cr4(uint64_t val)
{
    uint64_t real = (val | vcpu.cr4_force) & caps.raw.cr4_fixed1;
    if (vcpu.shadow && !(vcpu.cr0_shadow & CR0_PG))
        real &= ~(uint64_t)(CR4_SMEP | CR4_SMAP | CR4_PKE);
    return real;
}

// PAE paging outside IA-32e mode under EPT: the CPU takes the PDPTEs from the VMCS
// at VM entry (SDM 3C 27.3.2.4, Loading Page-Directory-Pointer-Table Entries), so a
// MOV to CR0 or CR4 the hypervisor emulates loads them from guest memory at CR3 as
// the CPU would (SDM 3A 4.4.1), KVM's load_pdptrs(). -1: a present one has a reserved
// bit, or CR3 points outside guest RAM (where the bus reads all ones): #GP(0).
static int load_pdptes(uint64_t cr3)
{
    uint64_t gpa = cr3 & 0xffffffe0u, pdpte[4];
    if (gpa >= vcpu.ram_size || vcpu.ram_size - gpa < sizeof(pdpte))
        return -1;
    memcpy(pdpte, vcpu.ram + gpa, sizeof(pdpte));
    int bad = pdptes_check(pdpte, caps.maxphyaddr);
    if (bad >= 0) {
        TRACE("PDPTE%d 0x%lx sets reserved bits", bad, pdpte[bad]);
        return -1;
    }
    for (int i = 0; i < 4; i++)
        vmwrite(GUEST_PDPTE(i), pdpte[i]);
    TRACE("PDPTEs loaded from 0x%lx", gpa);
    return 0;
}

// The write of val to CR0, once it is known to be valid: the real CR0 and the read
// shadow, the end of the instruction, and what follows a WP change. Inlined into the
// hot path (set_cr0()) and into set_cr0_modes().
static inline __attribute__((always_inline)) int cr0_land(uint64_t val, bool is64)
{
    uint64_t shadow = cr0_normalize(val), old = vcpu.cr0_shadow;
    vmwrite(GUEST_CR0, (val & vcpu.cr0_keep) | vcpu.cr0_force);
    vmwrite(CR0_READ_SHADOW, shadow);
    vcpu.cr0_shadow = shadow;
    TRACE("CR0 <- 0x%lx (the real CR0 0x%lx, the shadow 0x%lx)", val,
          (val & vcpu.cr0_keep) | vcpu.cr0_force, shadow);
    complete_instruction_in(is64);
    if (__builtin_expect(vcpu.shadow, 0) && ((shadow ^ old) & CR0_WP))
        shadow_wp_changed(); // the shadow entries encode WP (hv/mmu/shadow.c)
    if (vcpu.wp_left && ((shadow ^ old) & CR0_WP) && !--vcpu.wp_left) {
        hand_over_wp();
        TRACE("WP handed over to the guest");
    }
    return EXIT_RESUME;
}

// A MOV to CR0 outside 64-bit mode, or one cr0_valid_in_long_mode() does not pass:
// the rules of the mode the guest is in (cr0_check(); SDM 2 MOV CR), then what the
// write does to its paging mode (cr0_mode_change(), SDM 3A 10.8.5 and 4.1), as KVM's
// kvm_set_cr0() with vmx_set_cr0(), enter_lmode() and exit_lmode(). CR0.PE and PG
// are host-owned under every policy, so every such change exits and comes here:
// - IA-32e mode entered (PG set with EFER.LME): EFER.LMA and the "IA-32e mode guest"
//   entry control follow (SDM 3C 25.8.1, 27.3.1.1: they must agree at VM entry);
// - IA-32e mode left (PG cleared in compatibility mode, SDM 3A 10.8.5.4): both
//   cleared again; under EPT paging off needs "unrestricted guest";
// - paging on outside IA-32e mode: under EPT the CPU walks the guest's 32-bit or PAE
//   tables, with the PDPTEs loaded here; shadow paging walks only 4-level tables,
//   and stops the run, naming it;
// - PE cleared (real mode): not emulated, the run stops, naming it.
// Under shadow paging a change of PG switches the real paging between the identity
// map of guest RAM and the 4-level shadow tables (shadow_flush()). A refused write
// raises #GP(0) with CR0 unchanged, as on the CPU.
static __attribute__((noinline, cold)) int set_cr0_modes(uint64_t val, bool is64)
{
    uint64_t old = read_shadowed_cr0(), cr4 = guest_cr4(), efer = vcpu.efer;
    enum cr0_change change = CR0_SAME_MODE;
    enum cr0_error e = cr0_check(val, is64, cr4 & CR4_PCIDE);
    if (e == CR0_OK)
        e = cr0_mode_change(old, val, efer, cr4, vmread(GUEST_CS_AR_BYTES) & BIT(13), &change);
    if (e != CR0_OK || cet_forbids(val)) {
        TRACE("CR0 0x%lx refused: %s", val, e != CR0_OK ? cr0_error_name(e)
                                                        : "WP cleared while CR4.CET is 1");
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    char why[160];
    if (change == CR0_REAL_MODE) {
        snprintf(why, sizeof(why), "MOV to CR0 of 0x%lx clears PE: real mode is not emulated "
                 "(RIP 0x%lx)", val, vmread(GUEST_RIP));
        return stop_run(EXIT_REASON_CR_ACCESS, why);
    }
    // Under EPT paging off needs "unrestricted guest": a vmxlab guest, which started
    // without it, gets it now, and the real CR0's PE and PG follow the guest's.
    if ((change == CR0_LEAVE_IA32E || change == CR0_PAGING_OFF) && !vcpu.shadow) {
        if (!vmx_unrestricted_guest()) {
            snprintf(why, sizeof(why), "MOV to CR0 of 0x%lx turns paging off, which under "
                     "EPT needs the VMX control \"unrestricted guest\", and this CPU lacks "
                     "it (paging=shadow runs it; RIP 0x%lx)", val, vmread(GUEST_RIP));
            return stop_run(EXIT_REASON_CR_ACCESS, why);
        }
        vcpu.cr0_force &= ~(uint64_t)(CR0_PE | CR0_PG);
    }
    if (change == CR0_PAGING_ON && vcpu.shadow) {
        snprintf(why, sizeof(why), "MOV to CR0 of 0x%lx turns on %s paging outside IA-32e "
                 "mode: 32-bit paging under paging=shadow is not emulated (paging=ept runs "
                 "it; RIP 0x%lx)", val, cr4 & CR4_PAE ? "PAE" : "32-bit", vmread(GUEST_RIP));
        return stop_run(EXIT_REASON_CR_ACCESS, why);
    }
    if (change == CR0_ENTER_IA32E)
        efer |= EFER_LMA;
    else if (change == CR0_LEAVE_IA32E)
        efer &= ~(uint64_t)EFER_LMA;
    if (!vcpu.shadow && pae_paging(val, cr4, efer) && pdptes_reload(old, val, cr4, cr4) &&
        load_pdptes(vmread(GUEST_CR3))) {
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    if (change != CR0_SAME_MODE) {
        TRACE("%s", cr0_change_name(change));
        vcpu.efer = efer;
        efer_load();
        vmx_set_ia32e_guest(efer & EFER_LMA);
    }
    int ret = cr0_land(val, is64);
    if (change == CR0_SAME_MODE)
        return ret;
    flush_guest_tlb(false); // a MOV to CR0 that changes PG flushes (SDM 3A 4.10.4.1)
    if (vcpu.shadow) { // the identity map or the 4-level shadow tables, CR4 for them
        vmwrite(GUEST_CR4, real_cr4(cr4));
        shadow_flush();
    }
    return ret;
}

// The write of val to the guest's CR0, validated as KVM's kvm_is_valid_cr0()
// plus the rules for PG in IA-32e mode (internal.h), and CR4.CET's need for WP.
// Inlined: this is the whole cost of an intercepted toggle beyond a round trip.
// In 64-bit mode PG stays 1 (clearing it is #GP), so the paging mode never changes
// here; everything else is set_cr0_modes()'s.
static inline __attribute__((always_inline)) int set_cr0(uint64_t val, bool is64)
{
    if (__builtin_expect(!is64 || !cr0_valid_in_long_mode(val), 0) || cet_forbids(val))
        return set_cr0_modes(val, is64);
    return cr0_land(val, true);
}

// CR4: hv/exit/cr.c's cr4_check() says whether the write is one the CPU would
// take, given what the guest's CPUID offers and its current mode. Under EPT, a write
// that leaves PAE paging on outside IA-32e mode may load the PDPTEs (load_pdptes()).
static int set_cr4(uint64_t val)
{
    uint64_t old = guest_cr4(), cr0 = read_shadowed_cr0();
    // Under shadow paging CPUID hides protection keys (hv/exit/cpuid.c): CR4.PKE too.
    uint64_t valid = cr4_guest_bits & ~(vcpu.shadow ? (uint64_t)CR4_PKE : 0);
    enum cr4_error e = cr4_check(val, old, guest_cr3(), valid, cr0 & CR0_WP,
                                 vcpu.efer & EFER_LMA);
    if (e != CR4_OK) {
        TRACE("CR4 0x%lx refused: %s", val, cr4_error_name(e));
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    if (!vcpu.shadow && pae_paging(cr0, val, vcpu.efer) && pdptes_reload(cr0, cr0, old, val) &&
        load_pdptes(vmread(GUEST_CR3))) {
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    TRACE("CR4 <- 0x%lx (the shadow)%s", val, cr4_write_flushes(old, val) ? ", TLB flushed" : "");
    vmwrite(GUEST_CR4, real_cr4(val));
    vmwrite(CR4_READ_SHADOW, val);
    vcpu.cr4_shadow = val;
    if (cr4_write_flushes(old, val)) {
        flush_guest_tlb(!((old & ~val) & (CR4_PGE | CR4_PCIDE)));
        if (vcpu.shadow) // the shadow tables are the guest's TLB
            shadow_flush();
    } else if (vcpu.shadow && ((old ^ val) & CR4_SMAP)) {
        // No TLB flush on the CPU, which checks SMAP at each access; but a
        // WP=0 copy of a user page (hv/mmu/paging.c shadow_leaf()) made while
        // SMAP was 0 is supervisor-only, and SMAP would not see it as a user
        // page. KVM keys such pages by smap_andnot_wp in their role.
        shadow_flush();
    }
    complete_instruction();
    return EXIT_RESUME;
}

// CR8 is the local APIC's TPR, bits 7:4 of it (SDM 3A 11.8.6.1): hv/exit/mmio.c keeps
// the two one register. Bits 63:4 of CR8 are reserved (#GP).
static int mov_to_cr8(uint64_t val)
{
    if (val >> 4) {
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    guest_cr8_set(val);
    TRACE("TPR <- %lu", val);
    complete_instruction();
    return EXIT_RESUME;
}

// MOV from CR8/CR3 writes a general register. RSP lives in the VMCS; a
// callee-saved register must be reloaded by the stub (EXIT_RESUME_RELOAD).
static int write_gpr(struct guest_regs *r, unsigned reg, uint64_t val, bool l)
{
    if (!l)
        val = (uint32_t)val; // outside 64-bit mode the destination is 32 bits
    TRACE("%s <- 0x%lx", reg == 4 ? "RSP" : "the register", val);
    complete_instruction();
    if (reg == 4) {
        vmwrite(GUEST_RSP, val);
        return EXIT_RESUME;
    }
    ((uint64_t *)r)[reg] = val;
    return EXIT_RESUME_RELOAD;
}

// With paging=shadow, and where CPUs without TRUE controls force CR3-load
// exiting: the write lands if cr3_write() (hv/exit/cr.c) lets it, and flushes what
// MOV to CR3 flushes (non-global entries, none with bit 63 and CR4.PCIDE, SDM
// 3A 4.10.4.1). Under shadow paging the guest's CR3 is kept here and the
// shadow tables are its TLB: they are emptied, global entries too (a TLB may
// always drop more).
static int mov_to_cr3(uint64_t val)
{
    uint64_t load;
    bool noflush;
    if (cr3_write(val, guest_cr4() & CR4_PCIDE, caps.maxphyaddr, &load, &noflush)) {
        TRACE("CR3 0x%lx refused: a reserved bit set", val);
        inject_exception(VEC_GP, 0);
        return EXIT_RESUME;
    }
    if (vcpu.shadow) {
        vcpu.guest_cr3 = load;
        TRACE("the guest's CR3 <- 0x%lx", load);
        shadow_flush();
    } else {
        // Where the CPU forces CR3-load exiting: PAE paging outside IA-32e mode
        // loads the PDPTEs at every MOV to CR3 (SDM 3A 4.4.1).
        if (pae_paging(read_shadowed_cr0(), guest_cr4(), vcpu.efer) && load_pdptes(load)) {
            inject_exception(VEC_GP, 0);
            return EXIT_RESUME;
        }
        vmwrite(GUEST_CR3, load);
        if (!noflush)
            flush_guest_tlb(true);
    }
    complete_instruction();
    return EXIT_RESUME;
}

// Exit qualification for control-register accesses, SDM 3C Table 28-3:
// bits 3:0 CR number, 5:4 access type (0 MOV to CR, 1 MOV from CR, 2 CLTS,
// 3 LMSW), 11:8 general register, 31:16 LMSW source data.
static __attribute__((noinline)) int handle_cr_other(struct guest_regs *r, uint64_t q)
{
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    bool l = guest_64bit();
    uint64_t val = reg == 4 ? vmread(GUEST_RSP) : ((uint64_t *)r)[reg];
    if (!l)
        val = (uint32_t)val; // MOV CR outside 64-bit mode moves 32 bits

    if (type == 2) { // CLTS: exits only when TS is host-owned and set
        vcpu.stats.cr[CR_CLTS]++;
        return set_cr0(read_shadowed_cr0() & ~(uint64_t)CR0_TS, l);
    }
    if (type == 3) { // LMSW: loads MP, EM, TS; sets PE but never clears it
        vcpu.stats.cr[CR_LMSW]++;
        uint64_t old = read_shadowed_cr0(), src = (q >> 16) & 0xf;
        return set_cr0((old & ~0xeull) | (src & 0xe) | ((old | src) & CR0_PE), l);
    }
    switch (cr | type << 4) {
    case 0x04:
        vcpu.stats.cr[CR_MOV_TO_CR4]++;
        return set_cr4(val);
    case 0x08:
        vcpu.stats.cr[CR_MOV_TO_CR8]++;
        return mov_to_cr8(val);
    case 0x18:
        vcpu.stats.cr[CR_MOV_FROM_CR8]++;
        return write_gpr(r, reg, guest_cr8(), l);
    case 0x03:
        vcpu.stats.cr[CR_MOV_TO_CR3]++;
        return mov_to_cr3(val);
    case 0x13:
        vcpu.stats.cr[CR_MOV_FROM_CR3]++;
        return write_gpr(r, reg, guest_cr3(), l);
    }
    return exit_unexpected(EXIT_REASON_CR_ACCESS);
}

// The hot path, kept short: MOV to CR0 has bits 7:0 of the qualification all
// zero (CR 0, access type 0); everything else goes to handle_cr_other().
int handle_cr(struct guest_regs *r)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    if (__builtin_expect(q & 0xff, 0))
        return handle_cr_other(r, q);
    vcpu.stats.cr[CR_MOV_TO_CR0]++;
    unsigned reg = (q >> 8) & 15;
    uint64_t val = reg == 4 ? vmread(GUEST_RSP) : ((uint64_t *)r)[reg];
    if (__builtin_expect(!guest_64bit(), 0)) // outside 64-bit mode the source is 32 bits
        return set_cr0_modes((uint32_t)val, false);
    return set_cr0(val, true);
}
