// internal.h: what the files of hv/exit/ share among themselves and with their unit
// tests (tests/unit/test_cr.c, test_cpuid.c, test_result.c ...), and no other folder
// uses: the handlers the dispatch table names, the trace's entry points, the CR rules
// the CR-access handler applies, the MSR and CPUID tables' functions. What the rest
// of vmxlab may use is in exit.h.
#pragma once
#include "exit.h"

// exit.c
void stats_sub(struct exit_stats *d, const struct exit_stats *a, const struct exit_stats *b);
int exit_unexpected(uint32_t reason);
// A host instruction faulted on the guest's value (boot/x86.h *_safe): to the guest.
void host_fault_reflected(const char *insn, uint64_t value, int vector);

// trace.c
int traced_exit(struct guest_regs *r);
int vmx_dispatch(struct guest_regs *r);

// cr.c
enum cr0_error { CR0_OK, CR0_RESERVED_HIGH, CR0_PG_WITHOUT_PE, CR0_NW_WITHOUT_CD,
                 CR0_PG_OFF_IN_64BIT_MODE, CR0_PG_OFF_WITH_PCIDE, CR0_PG_LME_WITHOUT_PAE,
                 CR0_PG_LME_WITH_CS_L };
const char *cr0_error_name(enum cr0_error e);

// KVM's kvm_is_valid_cr0() rules, plus the SDM's for clearing PG in IA-32e
// mode (SDM 2 MOV CR; SDM 3A 2.5, 10.8.5): #GP in 64-bit mode (CS.L = 1,
// bit64), and in compatibility mode while CR4.PCIDE is 1 (SDM 3A 4.10.1); in
// compatibility mode without PCIDE it is how software leaves IA-32e mode
// (SDM 3A 10.8.5.4), not an error. Bits: PE 0, NW 29, CD 30, PG 31.
static inline enum cr0_error cr0_check(uint64_t val, bool bit64, bool pcide)
{
    if (val >> 32)
        return CR0_RESERVED_HIGH;
    if ((val & BIT(31)) && !(val & BIT(0)))
        return CR0_PG_WITHOUT_PE;
    if ((val & BIT(29)) && !(val & BIT(30)))
        return CR0_NW_WITHOUT_CD;
    if (bit64 && !(val & BIT(31)))
        return CR0_PG_OFF_IN_64BIT_MODE;
    if (pcide && !(val & BIT(31)))
        return CR0_PG_OFF_WITH_PCIDE;
    return CR0_OK;
}

// How a valid MOV to CR0 changes the paging mode (cr0_mode_change())
enum cr0_change { CR0_SAME_MODE, CR0_ENTER_IA32E, CR0_LEAVE_IA32E, CR0_PAGING_ON,
                  CR0_PAGING_OFF, CR0_REAL_MODE };
enum cr0_error cr0_mode_change(uint64_t old, uint64_t val, uint64_t efer, uint64_t cr4,
                               bool cs_l, enum cr0_change *change);
const char *cr0_change_name(enum cr0_change c);
// PAE paging outside IA-32e mode, and its PDPTEs (SDM 3A 4.4.1)
bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer);
bool pdptes_reload(uint64_t old_cr0, uint64_t cr0, uint64_t old_cr4, uint64_t cr4);
int pdptes_check(const uint64_t pdpte[4], unsigned maxphyaddr); // -1, or a bad one's index

enum cr4_error { CR4_OK, CR4_RESERVED, CR4_PAE_OFF_IN_LONG_MODE, CR4_LA57_CHANGED,
                 CR4_PCIDE_WITH_CR3_LOW_BITS, CR4_CET_WITHOUT_WP, CR4_PCIDE_OUTSIDE_IA32E };
const char *cr4_error_name(enum cr4_error e);
enum cr4_error cr4_check(uint64_t val, uint64_t old, uint64_t cr3, uint64_t valid, bool cr0_wp,
                         bool ia32e);
bool cr4_write_flushes(uint64_t old, uint64_t val);
// MOV to CR3: -1 for #GP(0), else 0 with what CR3 becomes and whether the
// write asked the TLB to be kept (bit 63 with CR4.PCIDE)
int cr3_write(uint64_t val, bool pcide, unsigned maxphyaddr, uint64_t *load, bool *noflush);

// msr.c
int handle_rdmsr(struct guest_regs *r);
int handle_wrmsr(struct guest_regs *r);
const char *msr_name(uint32_t index);

// cpuid.c
struct cpuid_view { // what the guest may see: its own CR4, and what the CPU lets run
    bool osxsave, ospke, rdtscp, rdrand, rdseed, xsaves;
    bool apic;         // IA32_APIC_BASE.EN
    bool shadow;       // paging=shadow: no protection keys
    uint32_t max_leaf; // the CPU's highest basic leaf, CPUID.0:EAX
};
void cpuid_filter(const struct cpuid_view *v, uint32_t leaf, uint32_t sub, uint32_t r[4]);
int handle_cpuid(struct guest_regs *r);
const char *xcr0_rule_broken(uint64_t v, uint64_t user); // NULL: XSETBV takes v (pure)
uint64_t guest_xcr0_components(void); // what the guest's CPUID offers it

// io.c
int handle_io(struct guest_regs *r);

// mmio.c
int handle_ept_violation(struct guest_regs *r);
int handle_apic_access(struct guest_regs *r);
int handle_apic_write(struct guest_regs *r);
