// config.c: the kernel's own command-line keys, their defaults and the values
// cmdline_parse() leaves in cfg. main.c parses the boot command line into cfg
// before running tests; the test runner asks config_test_selected() per test
// and end_run() reads cfg.end. Defaults hold when the line is empty.
#include "boot.h"

struct config cfg = {
    .tests = "", // every test
    .guest = "", // none from outside
    .breaks = "", // nothing broken on purpose
    .end = END_HALT, // a real PC's ports 0xf4 and 0x8900 belong to its devices
    .windows = 3,
    .policy = POLICY_ALL,
    .toggles = 10000,
    .threshold = 1000,
    .cr0_owned = CFG_NOT_GIVEN,
    .cr4_owned = CFG_NOT_GIVEN,
    .max_exits = CFG_NOT_GIVEN,
    .max_ticks = CFG_NOT_GIVEN,
    .corrupt_record = CFG_NOT_GIVEN,
    .exitpath = EXITPATH_C,
    .seed = 1,
    .guest_mem = CFG_NOT_GIVEN, // by the guest: 128 MiB for a multiboot kernel, else 4
};

// Indexed by enum fault_mode.
static const char *const fault_choices[] = {
    [FAULT_NONE] = "none", [FAULT_UD] = "ud", [FAULT_GP] = "gp", [FAULT_PF] = "pf",
    [FAULT_DE] = "de", [FAULT_VMX_GP] = "vmx-gp", [FAULT_STACK] = "stack", NULL,
};

// Indexed by enum policy.
const char *const policy_names[] = {
    [POLICY_ALL] = "all",
    [POLICY_INTERCEPT] = "intercept",
    [POLICY_PASSTHROUGH] = "passthrough",
    [POLICY_ADAPTIVE] = "adaptive",
    [POLICY_CUSTOM] = "custom",
    NULL,
};

// Indexed by enum end_mode: cmdline_parse stores the index of the match.
static const char *const end_choices[] = {
    [END_HALT] = "halt",
    [END_POWEROFF] = "poweroff",
    NULL,
};

static const char *const disturb_choices[] = {
    [DISTURB_NONE] = "none",
    [DISTURB_TIMER] = "timer",
    [DISTURB_NMI] = "nmi",
    NULL,
};

static const char *const exitpath_choices[] = {
    [EXITPATH_C] = "c",
    [EXITPATH_FAST] = "fast",
    NULL,
};

static const char *const ept_page_choices[] = {
    [EPT_PAGES_2M] = "2m",
    [EPT_PAGES_4K] = "4k",
    NULL,
};

static const char *const paging_choices[] = {
    [PAGING_AUTO] = "auto",
    [PAGING_EPT] = "ept",
    [PAGING_SHADOW] = "shadow",
    NULL,
};

static const char *const shadow_wp_choices[] = {
    [SHADOW_WP_ROLES] = "roles",
    [SHADOW_WP_FLUSH] = "flush",
    NULL,
};

const struct cfg_key config_keys[] = {
    { .name = "tests", .type = CFG_STR, .dst = &cfg.tests,
      .help = "comma-separated names of the tests to run (default: all)" },
    { .name = "guest", .type = CFG_STR, .dst = &cfg.guest,
      .help = "comma-separated names of guest ELFs GRUB loaded as modules "
              "(module2 /boot/guests/NAME.elf NAME): run them under each policy, and no "
              "table rows unless tests= names some" },
    { .name = "trace", .type = CFG_UINT, .dst = &cfg.trace, .min = 0, .max = 1000000,
      .help = "print the first N exits of each guest run, decoded: reason, qualification, "
              "RIP and instruction bytes, and what the handler did (default 0)" },
    { .name = "verbose", .type = CFG_UINT, .dst = &cfg.verbose, .min = 0, .max = 1,
      .help = "1: print every guest check and every VMCS dump, also where a stop was "
              "expected (default 0)" },
    { .name = "end", .type = CFG_ENUM, .dst = &cfg.end, .choices = end_choices,
      .help = "halt (the default): stop with the verdict on screen, as on real hardware; "
              "poweroff: end the emulator with the verdict as exit status (writes the "
              "emulators' exit ports 0xf4 and 0x8900)" },
    { .name = "fault", .type = CFG_ENUM, .dst = &cfg.fault, .choices = fault_choices,
      .help = "fault on purpose after boot (ud, gp, pf, de; stack: overflow the boot "
              "stack into its guard page), or in VMX root operation with the first guest's "
              "VMCS current (vmx-gp), to see the crash report; default none" },
    { .name = "policy", .type = CFG_ENUM, .dst = &cfg.policy, .choices = policy_names,
      .help = "CR0 ownership: intercept (WP, TS host-owned), passthrough (guest-owned), "
              "adaptive (WP handed over after threshold= toggles), custom (cr0_owned=, "
              "cr4_owned=), all (each preset in turn; the default)" },
    { .name = "toggles", .type = CFG_UINT, .dst = &cfg.toggles, .min = 1, .max = 100000000,
      .help = "CR0.WP flips in each toggle run (default 10000)" },
    { .name = "threshold", .type = CFG_UINT, .dst = &cfg.threshold, .min = 1,
      .max = 100000000, .help = "adaptive: WP toggles before WP is guest-owned (default 1000)" },
    { .name = "cr0_owned", .type = CFG_UINT, .dst = &cfg.cr0_owned, .min = 0,
      .max = 0xffffffff, .help = "policy=custom: CR0 bits the guest owns (e.g. 0x10008)" },
    { .name = "cr4_owned", .type = CFG_UINT, .dst = &cfg.cr4_owned, .min = 0,
      .max = 0xffffffff, .help = "policy=custom: CR4 bits the guest owns (default 0)" },
    { .name = "windows", .type = CFG_UINT, .dst = &cfg.windows, .min = 1, .max = 16,
      .help = "measured windows per run; results give the minimum and the median "
              "(default 3)" },
    { .name = "ept_pages", .type = CFG_ENUM, .dst = &cfg.ept_pages,
      .choices = ept_page_choices,
      .help = "2m: map guest RAM with 2 MiB EPT pages where the CPU has them (the "
              "default); 4k: 4 KiB pages only" },
    { .name = "paging", .type = CFG_ENUM, .dst = &cfg.paging, .choices = paging_choices,
      .help = "how guest memory is translated: ept (the CPU walks the guest's tables, "
              "then EPT), shadow (the hypervisor walks them and fills shadow tables on #PF "
              "exits), auto (the default: ept where the CPU has it, else shadow)" },
    { .name = "shadow_wp", .type = CFG_ENUM, .dst = &cfg.shadow_wp, .choices = shadow_wp_choices,
      .help = "paging=shadow: what a CR0.WP change does: roles (the default) switches "
              "between one set of shadow tables per WP value, as KVM's role.cr0_wp; flush "
              "empties the shadow tables" },
    { .name = "unsafe", .type = CFG_UINT, .dst = &cfg.unsafe, .min = 0, .max = 1,
      .help = "1: run what paging=shadow refuses (CR0.WP guest-owned) anyway, to see what "
              "breaks; the guests must detect it (default 0)" },
    { .name = "max_exits", .type = CFG_UINT, .dst = &cfg.max_exits, .min = 1,
      .max = UINT64_MAX - 1,
      .help = "VM exits a guest run may make before it is ended as timed out (default: "
              "4 per iteration of its windows, plus 100000)" },
    { .name = "max_ticks", .type = CFG_UINT, .dst = &cfg.max_ticks, .min = 1,
      .max = UINT64_MAX - 1,
      .help = "TSC ticks a guest run may take before it is ended as timed out (default: "
              "2^30, plus 1000 per iteration of its windows)" },
    { .name = "disturb", .type = CFG_ENUM, .dst = &cfg.disturb, .choices = disturb_choices,
      .help = "to test vmxlab itself: timer lets the PIT's interrupt through the 8259 "
              "while guests run; nmi sends the PIT's tick as an NMI through the I/O APIC. "
              "Both must be counted, mark the runs disturbed and never reach a guest "
              "(default none)" },
    { .name = "corrupt_record", .type = CFG_UINT, .dst = &cfg.corrupt_record, .min = 0,
      .max = 1000000,
      .help = "to test vmxlab itself: flip the D bit of entry N in the record of every run "
              "that is compared with a reference run (rows with records, access-matrix), so "
              "that the comparison must fail and name the entry (default: none)" },
    { .name = "exitpath", .type = CFG_ENUM, .dst = &cfg.exitpath, .choices = exitpath_choices,
      .help = "c (the default): every VM exit goes through hv/vmx/exit_stub.S to the C handlers; "
              "fast: hv/vmx/exit_fast.S handles a null VMCALL and a MOV to CR0 in assembly "
              "first, and hands every other exit to the C path (C again while trace= is on)" },
    { .name = "break", .type = CFG_STR, .dst = &cfg.breaks,
      .help = "comma-separated names from the table of hv/vmx/breaks.c, or all: for each, one "
              "run of a guest whose VMCS has that one thing broken right before VM entry, "
              "to set the entry checker's rules beside the CPU's verdict; no table rows "
              "unless tests= names some" },
    { .name = "seed", .type = CFG_UINT, .dst = &cfg.seed, .min = 0, .max = UINT64_MAX - 1,
      .help = "where the hostile guest's random CR writes, CPUID leaves, MSRs and I/O ports "
              "start (rows hostile-*): the same seed gives the same misdeeds (default 1)" },
    { .name = "guest_mem", .type = CFG_UINT, .dst = &cfg.guest_mem, .min = GUEST_MEM_MIN_MIB,
      .max = GUEST_MEM_MAX_MIB,
      .help = "MiB of RAM each guest run gets (default: 128 for a multiboot kernel, as "
              "QEMU's -m; 4 for a vmxlab guest, GUEST_RAM_SIZE); at most what the "
              "machine's memory map has free besides vmxlab" },
};
const size_t config_nkeys = ARRAY_SIZE(config_keys);

// Exact match against one comma-separated item: "vmx" does not select "vmxon".
bool config_test_selected(const char *name)
{
    return !*cfg.tests || list_has(cfg.tests, name);
}
