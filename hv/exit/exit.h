// exit.h: what hv/exit/ offers the rest of vmxlab, grouped by file as xv6's defs.h
// does: the names of exit reasons and the counters' helpers, the steps a handler
// elsewhere (shadow paging's #PF) takes, the CR0/CR4 rules the runner and the fast
// exit path share, the guest's MSRs and XCR0 as a run sets them up. Included by
// hv/mmu/shadow.c, hv/run/, hv/vmx/ where it programs what exits, and the unit tests;
// what only hv/exit/ uses is in internal.h.
#pragma once
#include "../vcpu.h"

// exit.c: the exit-reason table, counters and dispatch
const char *exit_reason_name(uint32_t reason);
const char *cr_kind_name(uint32_t k); // an enum cr_kind
const char *pf_kind_name(uint32_t k); // an enum pf_kind
uint64_t stats_total(const struct exit_stats *s);
void stats_add(struct exit_stats *d, const struct exit_stats *a);

// A long run says it goes on once this many TSC ticks have passed since its start or
// its last such line (exit.c window_close(), hv/run/experiment.c guest_text()).
#define PROGRESS_TICKS (1ull << 28)

// The handlers' common steps (exit.c). Each returns what the handler returns.
int stop_run(uint32_t reason, const char *why);
void inject_exception(unsigned vector, uint32_t error);
void host_fixups(void); // the row host-fixups: the exception table, in VMX root
// Its VM-entry interruption information (SDM 3C 25.8.3): vector 7:0, type 3
// (hardware exception) in 10:8, "deliver error code" 11, valid 31.
#define HW_EXCEPTION_INFO(vector, has_error) \
    ((vector) | (3u << 8) | ((has_error) ? 1u << 11 : 0) | 1u << 31)
uint64_t read_shadowed_cr0(void);          // CR0 as a guest MOV from CR0 reads it
uint64_t guest_cr3(void);                  // CR3 as a guest MOV from CR3 reads it
extern uint64_t cr4_guest_bits;            // CR4 bits a guest may set (cr4_guest_valid)

// trace.c: trace=N prints the first N exits of each run, decoded
void trace_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TRACE(...)                                        \
    do {                                                  \
        if (__builtin_expect(vcpu.tracing, 0))            \
            trace_note(__VA_ARGS__);                      \
    } while (0)

// cr.c: CR0/CR4 semantics and ownership (pure)
#define CR0_DEFINED 0xe005003full // PE MP EM TS ET NE WP AM NW CD PG
// cr0_check()'s rules (internal.h) for a guest in 64-bit mode, folded for the hot path
// into one comparison in the usual case: of the bits CR0_LM_RULED, valid means exactly
// PE and PG set (NW clear, nothing above bit 31); with NW set, CD must be set
// too. hv/vmx/exit_fast.S makes the same two comparisons.
// tests/unit/test_cr.c checks that it agrees with cr0_check(val, true, *).
#define CR0_LM_RULED (~0xffffffffull | BIT(31) | BIT(29) | BIT(0)) // 63:32, PG, NW, PE
static inline bool cr0_valid_in_long_mode(uint64_t val)
{
    uint64_t m = val & CR0_LM_RULED;
    return m == (BIT(31) | BIT(0)) || (m == (BIT(31) | BIT(29) | BIT(0)) && (val & BIT(30)));
}

// MOV to CR0 ignores writes to reserved bits 31:0 and ET reads as 1 (SDM 3A 2.5).
static inline uint64_t cr0_normalize(uint64_t val)
{
    return (val & CR0_DEFINED) | BIT(4);
}

// What a guest MOV from CR reads: guest-owned bits from the real register,
// host-owned bits from the read shadow (SDM 3C 25.6.6).
static inline uint64_t cr_visible(uint64_t real, uint64_t shadow, uint64_t guest_owned)
{
    return (real & guest_owned) | (shadow & ~guest_owned);
}
// 0 if every bit in owned may be guest-owned, else the first bit that may not;
// *why says why (SDM 3C 25.6.6 with the CR0/CR4 fixed-bit MSRs)
int cr0_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why);
int cr4_owned_check(uint64_t owned, uint64_t fixed0, uint64_t fixed1, unsigned *bit,
                    const char **why);
const char *cr0_bit_name(unsigned bit);
const char *cr4_bit_name(unsigned bit);
uint64_t cr4_guest_valid(uint64_t fixed1, const uint32_t leaf1[4], const uint32_t leaf7[4]);

// cpuid.c: the same for this CPU, as the guest's CPUID shows it (paging=shadow: no PKE)
uint64_t guest_cr4_valid(bool shadow);

// io.c: the devices of a run (hv/dev/)
void platform_reset(uint64_t ram_size); // before each run: reset, the clock from now

// mmio.c: device memory (the local APIC's page), emulated or virtualised by the CPU
struct ept;
extern struct guest_regs *exit_regs; // the exit's registers, for mmio_exit()
// The instruction at RIP accessed gpa (access: PF_W, PF_I as for a #PF) and exited
// before it did: emulated, RIP moved on (EXIT_RESUME_RELOAD), or the run stopped
// (EXIT_STOP); -1 where no device claims gpa, for the caller's own message.
int mmio_exit(uint64_t gpa, unsigned access, uint32_t reason);
uint64_t apic_access_hpa(uint64_t gpa); // shadow paging: map gpa's page there, or 0
void apic_ept_init(struct ept *e);      // map the APIC page in EPT, if the CPU virtualises it
void apic_reset(void);                  // before each run (platform_reset())
void apic_base_changed(uint64_t old);   // after a WRMSR to IA32_APIC_BASE took
uint64_t guest_cr8(void);               // MOV from CR8: TPR[7:4]
void guest_cr8_set(uint64_t val);       // MOV to CR8
extern uint8_t apic_access_page[4096], vapic_page[4096];

// msr.c: RDMSR/WRMSR in the guest, one table of MSRs
extern uint8_t msr_bitmap[4096];
void msr_bitmap_init(void);
void msr_reset_for_run(void);   // the MSRs VMX does not switch, to 0
void msr_reset_emulated(void);  // the values msr.c keeps, to their reset values
uint64_t guest_efer(void);      // IA32_EFER as the guest sees it
void efer_load(void);           // the real IA32_EFER for it (VMCS, or the shared MSR)
// The real IA32_EFER for the guest's: under shadow paging NXE is always 1 where
// the CPU has it (hv/exit/msr.c says why); LME only with LMA, as KVM's
// update_transition_efer() has it: the guest's LME matters only when it sets CR0.PG,
// which exits (hv/exit/exit_cr.c), and under shadow paging the real paging is on all
// along, where a real LME would make it IA-32e paging. Pure: vmcs_build() uses it too.
static inline uint64_t efer_real(uint64_t guest, bool shadow, bool nx)
{
    uint64_t real = guest & ((guest & EFER_LMA) ? ~0ull : ~(uint64_t)EFER_LME);
    return real | (shadow && nx ? EFER_NXE : 0);
}
// WRMSR to IA32_EFER: 0 and the guest's new EFER, or -1 for #GP(0) (pure, cr.c).
int efer_write(uint64_t old, uint64_t val, bool paging, bool nx, uint64_t *out);

// cpuid.c: what CPUID answers a guest
// XCR0: the user state components CPUID.(0DH,0) and (0DH,1) leave for it (pure)
uint64_t xcr0_user_components(const uint32_t leaf_d0[4], const uint32_t leaf_d1[4]);
