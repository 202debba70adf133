// vcpu.h: the one virtual CPU and the record of one guest run, the state the parts of
// hv/ share: the exit handlers (hv/exit/) keep struct vcpu and fill the run's struct
// run_record, shadow paging (hv/mmu/shadow.c) reads the guest's CR3 and WP from it,
// the runner (hv/run/) sets it up and reads the record, and the fast exit path
// (hv/vmx/exit_fast.S) takes its offsets through hv/vmx/asm_offsets.c. Defined in
// hv/exit/exit.c.
#pragma once
#include "vmx/vmx.h" // EXIT_REASON_MAX

// exit.c: exits counted by reason and by kind
enum cr_kind { // CR-access exits by what the guest did (SDM 3C Table 28-3)
    CR_MOV_TO_CR0, CR_MOV_TO_CR3, CR_MOV_FROM_CR3, CR_MOV_TO_CR4, CR_MOV_TO_CR8,
    CR_MOV_FROM_CR8, CR_CLTS, CR_LMSW, CR_KINDS
};
enum pf_kind { // #PF exits under shadow paging (hv/mmu/shadow.c), by what came of them
    PF_FILLED,    // the guest's tables allow the access: a shadow entry was filled
    PF_REFLECTED, // they do not: the guest got its #PF
    PF_KINDS
};
struct exit_stats {
    uint64_t by_reason[EXIT_REASON_MAX];
    uint64_t cr[CR_KINDS];
    uint64_t pf[PF_KINDS];
    uint64_t shadow_flushes; // times the shadow tables were emptied
};

// How a guest run ended, and what it measured: filled in by the exit handlers.
enum run_end {
    RUN_EXITED,    // the guest ended itself (HC_EXIT, or OUT to port 0xf4): see status
    RUN_STOPPED,   // the hypervisor stopped it: see reason and why
    RUN_TIMED_OUT, // it used up its budget of exits or time
    RUN_HALTED,    // it executed HLT: nothing would ever wake it (see why)
};
#define MAX_WINDOWS 16
struct window { // one MARK_BEGIN .. MARK_END
    uint64_t iterations, ticks; // what the guest passed to MARK_END
    uint64_t smis;              // SMIs counted by MSR 0x34 inside the window
    uint64_t disturbances;      // NMIs and external interrupts inside the window
    struct exit_stats exits;    // exits strictly between the two hypercalls
};
struct run_record {
    enum run_end end;
    uint64_t status;         // RUN_EXITED: the guest's status, full width
    uint32_t reason;         // RUN_STOPPED: the exit reason (bit 31: failed entry)
    char why[160];           // RUN_STOPPED, RUN_TIMED_OUT: in words
    struct exit_stats all;   // every exit of the run
    uint64_t ticks;          // TSC ticks from VMLAUNCH to the run's end, exits included
    struct window win[MAX_WINDOWS];
    unsigned windows;        // MARK_ENDs seen (at most MAX_WINDOWS are kept)
    uint64_t nmis, extints;  // events that reached the hypervisor during the run
    uint64_t watchdog_nmis;  // the NMI watchdog's ticks (no VMX-preemption timer)
    unsigned checks_passed, checks_failed; // the guest's HC_REPORTs
    uint64_t cr0_owned_at_end, cr4_owned_at_end;
    struct {                 // I/O by port (hv/exit/io.c): reads [1] and writes [0]
        uint16_t port;
        uint64_t count[2];
    } ports[16];
    unsigned nports;
    uint64_t other_ports;    // accesses to ports beyond the first 16 seen
    uint8_t *record;         // what the guest handed over with HC_RECORD (exit.c's
    size_t record_len;       //   buffer, valid until the next run), or NULL and 0
};

// exit.c: the state of the one virtual CPU, as the exit handlers see it
struct vcpu {
    const char *label;             // "experiment/policy", for reports
    uint64_t cr0_owned, cr4_owned; // guest-owned bits (the masks' complement)
    uint64_t cr0_shadow, cr4_shadow; // what the guest sees for host-owned bits
    uint64_t cr0_keep, cr0_force;  // real CR0 = (written & keep) | force: the fixed bits
    uint64_t cr4_force;            // bits the real CR4 always has: FIXED0, MCE
    uint64_t wp_left;              // adaptive: WP toggles until WP is handed over (0: never)
    uint64_t exits_left;           // the run's budget of exits
    uint64_t deadline, max_ticks;  // the TSC at which the run's time is up, and its budget
    struct exit_stats stats;       // every exit of this run
    struct exit_stats mark;        // stats at MARK_BEGIN
    uint64_t mark_smis, mark_disturbances;
    uint64_t progress_at;          // the TSC at the run's start or its last progress line
    struct run_record *rec;        // where the run's outcome goes
    uint64_t trace_left, trace_seen; // trace=: exits still to print, and printed
    bool tracing;                  // this exit is printed: handlers say what they did
    bool expect_stop;              // the run is meant to be stopped: say so, not FAIL
    bool nmi_watchdog;             // no VMX-preemption timer: the PIT's NMIs bound the run
    bool shadow;                   // paging=shadow (hv/mmu/shadow.c): a CR0.WP change must
                                   // rebuild or switch the shadow page tables
    bool cr0_plain;                // a valid MOV to CR0 is only written: no shadow paging,
                                   // no WP hand-over pending, no CR4.CET (hv/vmx/exit_fast.S)
    uint8_t *ram;                  // host address of guest-physical 0
    uint64_t ram_size;             // bytes of guest RAM, from guest-physical 0
    bool multiboot;                // a multiboot kernel (hv/run/multiboot.c): it knows
                                   // nothing of vmxlab (no hypercalls)
    uint64_t guest_cr3;            // paging=shadow: the CR3 the guest wrote (the real
                                   // CR3 is hv/mmu/shadow.c's)
    uint64_t efer;                 // IA32_EFER as the guest sees it (hv/exit/msr.c)
};
extern struct vcpu vcpu;
