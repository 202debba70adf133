// experiment.c: vmxlab's experiment. kmain() calls experiments_run() once the
// CPU is known to offer VMX: it checks the remaining requirements (EPT), turns
// VMX on, runs the baselines and, for each CR0 ownership policy, the WP toggle
// guest (counting exits) and the semantics guest (checking that WP and TS still
// mean what they should), prints a table and one JSON line per run, and turns
// VMX off. kmain() then prints the summary line and the verdict.
#include "../boot/boot.h"
#include "../boot/x86.h"
#include "../guest/abi.h"
#include "hv.h"

extern const uint8_t guest_wp_toggle_elf[], guest_wp_toggle_end[];
extern const uint8_t guest_vmcall_loop_elf[], guest_vmcall_loop_end[];
extern const uint8_t guest_semantics_elf[], guest_semantics_end[];
static const struct guest_image wp_toggle = { "wp_toggle", guest_wp_toggle_elf,
                                              guest_wp_toggle_end };
static const struct guest_image vmcall_loop = { "vmcall_loop", guest_vmcall_loop_elf,
                                                guest_vmcall_loop_end };
static const struct guest_image semantics = { "semantics", guest_semantics_elf,
                                              guest_semantics_end };
extern const uint8_t guest_misbehave_elf[], guest_misbehave_end[];
static const struct guest_image misbehave = { "misbehave", guest_misbehave_elf,
                                              guest_misbehave_end };

uint64_t toggle_wp_loop(uint64_t n); // guest/toggle.S, shared with the guest

// The tests, selectable with tests=name,name on the command line.
const struct ktest ktests[] = {
    { "vmx-caps", "the capability MSRs are self-consistent" },
    { "vmcs-fields", "every writable VMCS field round-trips through VMWRITE/VMREAD" },
    { "baseline", "native toggle loop and null VMCALL round trip" },
    { "wp-toggle", "exits and ticks per CR0.WP toggle, per policy" },
    { "wp-semantics", "#PF on a read-only page iff CR0.WP, per policy" },
    { "ts-semantics", "#NM from SSE iff CR0.TS, CLTS clears it, per policy" },
    { "cr0-readback", "CR0 reads back what MOV, CLTS and LMSW wrote, per policy" },
    { "bad-guest", "a guest that breaks the rules is stopped cleanly, for the right reason" },
};
const size_t nktests = ARRAY_SIZE(ktests);

struct policy_run {
    const char *name;
    uint64_t cr0_owned, cr4_owned, wp_threshold;
};

static struct {
    uint64_t native_ticks, vmcall_ticks, intercept_ticks; // totals for cfg.toggles
    bool have_native, have_vmcall, have_intercept;
} costs;

// What the CPU reports must at least be self-consistent (SDM 3D A.1, A.7, A.8).
static void test_vmx_caps(void)
{
    report(caps.revision != 0, "vmx-caps: VMCS revision id is not zero");
    report(caps.vmcs_size > 0 && caps.vmcs_size <= 4096,
           "vmx-caps: VMCS region size %u is 1 to 4096 bytes", caps.vmcs_size);
    report(caps.memtype == 6, "vmx-caps: VMCS memory type is write-back");
    report((caps.raw.cr0_fixed0 & (CR0_PE | CR0_NE | CR0_PG)) == (CR0_PE | CR0_NE | CR0_PG),
           "vmx-caps: CR0 fixed0 includes PE, NE and PG");
    report(caps.raw.cr4_fixed0 & CR4_VMXE, "vmx-caps: CR4 fixed0 includes VMXE");
}

static void baselines(void)
{
    // Natively, in VMX root operation: the very loop the guest runs.
    uint64_t cr0 = read_cr0();
    costs.native_ticks = toggle_wp_loop(cfg.toggles);
    write_cr0(cr0); // an odd count leaves WP flipped
    costs.have_native = true;

    struct run_result r = { .policy = "baseline" };
    struct guest_run run = { .label = "baseline", .iterations = cfg.toggles,
                             .cr0_owned = CR0_WP | CR0_TS, .result = &r };
    int status = guest_run(&vmcall_loop, &run);
    report(status == 0 && r.window.by_reason[EXIT_REASON_VMCALL] == cfg.toggles &&
           r.window.total == cfg.toggles,
           "baseline: %lu null VMCALLs cause %lu VMCALL exits and no others", cfg.toggles,
           r.window.by_reason[EXIT_REASON_VMCALL]);
    costs.vmcall_ticks = r.ticks;
    costs.have_vmcall = status == 0;
    char native[32], vmcall[32];
    fmt_ratio(native, sizeof(native), costs.native_ticks, cfg.toggles);
    fmt_ratio(vmcall, sizeof(vmcall), costs.vmcall_ticks, cfg.toggles);
    kprintf("vmxlab-baseline {\"toggles\":%lu,\"native_ticks_per_toggle\":%s,"
            "\"vmcall_ticks\":%s}\n", cfg.toggles, native, vmcall);
}

static void toggle_run(const struct policy_run *p)
{
    struct run_result r = { .policy = p->name };
    struct guest_run run = { .label = p->name, .iterations = cfg.toggles,
                             .cr0_owned = p->cr0_owned, .cr4_owned = p->cr4_owned,
                             .wp_threshold = p->wp_threshold, .result = &r };
    int status = guest_run(&wp_toggle, &run);
    if (status != 0 || !vcpu.marked) {
        report(false, "%s: wp-toggle guest ran to its end", p->name);
        return;
    }
    // Every toggle exits while WP is host-owned; none once the guest owns it.
    uint64_t expect = (p->cr0_owned & CR0_WP) ? 0
                      : p->wp_threshold && p->wp_threshold < cfg.toggles ? p->wp_threshold
                      : cfg.toggles;
    uint64_t cr_exits = r.window.by_reason[EXIT_REASON_CR_ACCESS];
    report(cr_exits == expect && r.window.total == expect,
           "%s: %lu WP toggles cause %lu CR-access exits (expected %lu) and no other exits",
           p->name, cfg.toggles, cr_exits, expect);
    char json[1024], tpt[32];
    result_json(&r, json, sizeof(json));
    kprintf("vmxlab-result %s\n", json);
    fmt_ratio(tpt, sizeof(tpt), r.ticks, r.toggles);
    kprintf("  %-12s toggles %-9lu exits %-9lu CR exits %-9lu ticks/toggle %-9s "
            "WP %s-owned when the loop ended\n", p->name, r.toggles, r.window.total, cr_exits,
            tpt, (r.cr0_guest_owned & CR0_WP) ? "guest" : "host");
    if (!p->cr0_owned && !p->wp_threshold) {
        costs.intercept_ticks = r.ticks;
        costs.have_intercept = true;
    }
}

static void semantics_run(const struct policy_run *p)
{
    uint64_t flags = (config_test_selected("wp-semantics") ? GP_WP_SEMANTICS : 0) |
                     (config_test_selected("ts-semantics") ? GP_TS_SEMANTICS : 0) |
                     (config_test_selected("cr0-readback") ? GP_CR0_READBACK : 0);
    if (!flags)
        return;
    struct guest_run run = { .label = p->name, .flags = flags, .cr0_owned = p->cr0_owned,
                             .cr4_owned = p->cr4_owned, .wp_threshold = p->wp_threshold };
    int status = guest_run(&semantics, &run);
    report(status == 0, "%s: semantics guest finished with every check passing", p->name);
}

// A misbehaving guest must end its run with a clear message and the right
// exit reason: never a skipped instruction, a hang, or a hypervisor crash.
static void bad_guests(void)
{
    static const struct {
        uint64_t action;
        uint32_t reason;
        const char *what;
    } bad[] = {
        { BAD_HLT, EXIT_REASON_HLT, "HLT" },
        { BAD_IO, EXIT_REASON_IO_INSTRUCTION, "OUT to port 0x80" },
        { BAD_WRMSR, EXIT_REASON_MSR_WRITE, "WRMSR to IA32_APIC_BASE" },
        { BAD_EPT, EXIT_REASON_EPT_VIOLATION, "a read outside guest RAM" },
        { BAD_TRIPLE_FAULT, EXIT_REASON_TRIPLE_FAULT, "an exception with an empty IDT" },
        { BAD_HYPERCALL, EXIT_REASON_VMCALL, "an unknown hypercall" },
        { BAD_POINTER, EXIT_REASON_VMCALL, "HC_PUTS with a pointer outside guest RAM" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct guest_run run = { .label = "bad-guest", .flags = bad[i].action,
                                 .expect_stop = true };
        int status = guest_run(&misbehave, &run);
        report(status == -1 && vcpu.stop_reason == bad[i].reason,
               "bad-guest: %s stops the run (exit reason %s)", bad[i].what,
               exit_reason_name(bad[i].reason));
    }
    // And the hypervisor's own mistake: a guest state VM entry refuses.
    struct guest_run run = { .label = "bad-guest", .flags = BAD_HLT, .expect_stop = true,
                             .bad_rflags = true };
    int status = guest_run(&misbehave, &run);
    report(status == -1 && vcpu.stop_reason == (EXIT_REASON_FAILED_VMENTRY |
                                                EXIT_REASON_INVALID_GUEST_STATE),
           "bad-guest: an invalid guest state (RFLAGS bit 1 clear) is reported as a "
           "failed VM entry (exit reason 33 with bit 31)");
}

// The policies one boot runs: policy=all runs the three presets in turn.
static unsigned policies(struct policy_run *out)
{
    const struct policy_run presets[] = {
        [POLICY_INTERCEPT] = { "intercept", 0, 0, 0 },
        [POLICY_PASSTHROUGH] = { "passthrough", CR0_WP | CR0_TS, 0, 0 },
        [POLICY_ADAPTIVE] = { "adaptive", 0, 0, cfg.threshold },
        [POLICY_CUSTOM] = { "custom", cfg.cr0_owned == CFG_NOT_GIVEN ? 0 : cfg.cr0_owned,
                            cfg.cr4_owned == CFG_NOT_GIVEN ? 0 : cfg.cr4_owned, 0 },
    };
    if (cfg.policy != POLICY_ALL) {
        out[0] = presets[cfg.policy];
        return 1;
    }
    out[0] = presets[POLICY_INTERCEPT];
    out[1] = presets[POLICY_PASSTHROUGH];
    out[2] = presets[POLICY_ADAPTIVE];
    return 3;
}

// cr0_owned=/cr4_owned= go with policy=custom (which they imply), and only
// with bits VMX lets a guest own.
static void check_ownership_keys(void)
{
    bool given = cfg.cr0_owned != CFG_NOT_GIVEN || cfg.cr4_owned != CFG_NOT_GIVEN;
    if (given && cfg.policy == POLICY_ALL)
        cfg.policy = POLICY_CUSTOM;
    if (given && cfg.policy != POLICY_CUSTOM) {
        kprintf("vmxlab: bad command line: cr0_owned= and cr4_owned= go with policy=custom, "
                "not policy=%s\n", policy_names[cfg.policy]);
        end_run(VERDICT_FAIL);
    }
    unsigned bit;
    const char *why;
    if (cfg.cr0_owned != CFG_NOT_GIVEN &&
        cr0_owned_check(cfg.cr0_owned, caps.raw.cr0_fixed0, caps.raw.cr0_fixed1, &bit, &why)) {
        kprintf("vmxlab: bad command line: cr0_owned=0x%lx: CR0 bit %u (%s) cannot be "
                "guest-owned: %s\n", cfg.cr0_owned, bit, cr0_bit_name(bit), why);
        end_run(VERDICT_FAIL);
    }
    if (cfg.cr4_owned != CFG_NOT_GIVEN &&
        cr4_owned_check(cfg.cr4_owned, caps.raw.cr4_fixed0, caps.raw.cr4_fixed1, &bit, &why)) {
        kprintf("vmxlab: bad command line: cr4_owned=0x%lx: CR4 bit %u (%s) cannot be "
                "guest-owned: %s\n", cfg.cr4_owned, bit, cr4_bit_name(bit), why);
        end_run(VERDICT_FAIL);
    }
}

static void print_costs(void)
{
    if (!costs.have_native || !costs.have_vmcall || !costs.have_intercept)
        return;
    char ratio[32], specific[32];
    // Per toggle: intercepted - native - one null VMCALL round trip (never
    // below zero, whatever a noisy TSC on real hardware says).
    uint64_t exit_part = costs.intercept_ticks > costs.native_ticks
                             ? costs.intercept_ticks - costs.native_ticks : 0;
    fmt_ratio(specific, sizeof(specific),
              exit_part > costs.vmcall_ticks ? exit_part - costs.vmcall_ticks : 0,
              cfg.toggles);
    fmt_ratio(ratio, sizeof(ratio), exit_part, costs.vmcall_ticks);
    kprintf("vmxlab: CR0-specific cost of an intercepted toggle: %s ticks "
            "(intercepted - native - null VMCALL)\n", specific);
    kprintf("vmxlab: intercepted CR0 write / null VMCALL round trip: %s "
            "(KVM on Skylake-SP: about 1.6)\n", ratio);
    kprintf("vmxlab-costs {\"cr0_specific_ticks\":%s,\"cr0_write_to_vmcall_ratio\":%s}\n",
            specific, ratio);
}

void experiments_run(void)
{
    if (config_test_selected("vmx-caps"))
        test_vmx_caps();
    bool vmx_tests = false;
    for (size_t i = 1; i < nktests; i++)
        vmx_tests |= config_test_selected(ktests[i].name);
    if (!vmx_tests)
        return;

    // KVM makes CR0.WP guest-owned only with EPT: with shadow paging, the
    // hypervisor's own page tables encode WP and must see every change.
    if (!caps.ept || !caps.ept_4level || !caps.ept_wb) {
        kprintf("vmxlab: UNSUPPORTED: this CPU's VMX has no usable EPT (4-level, "
                "write-back). CR0.WP pass-through needs EPT, as in KVM: without it the "
                "hypervisor shadows the guest's page tables, which encode WP, so every WP "
                "write must exit. Use a CPU with EPT (Bochs: CPU=corei7_skylake_x).\n");
        end_run(VERDICT_UNSUPPORTED);
    }
    check_ownership_keys();
    vmx_controls_init();
    vmx_on();
    kprintf("vmxlab: VMX on (VMCS revision 0x%x, VPID %s, watchdog %s)\n", caps.revision,
            ctls.vpid ? "on" : "off", ctls.timer ? "VMX-preemption timer" : "none");
    if (config_test_selected("vmcs-fields"))
        vmcs_selftest();
    guest_ram_init();
    if (config_test_selected("baseline"))
        baselines();

    struct policy_run runs[3];
    unsigned n = policies(runs);
    if (config_test_selected("wp-toggle"))
        kprintf("CR0.WP toggle runs (%lu toggles each; under Bochs 1 tick = 1 instruction):\n",
                cfg.toggles);
    for (unsigned i = 0; i < n; i++) {
        if (config_test_selected("wp-toggle"))
            toggle_run(&runs[i]);
        semantics_run(&runs[i]);
    }
    print_costs();
    if (config_test_selected("bad-guest"))
        bad_guests();
    vmx_off();
}
