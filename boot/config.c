// config.c: the kernel's own command-line keys, their defaults and the values
// cmdline_parse() leaves in cfg. main.c parses the boot command line into cfg
// before running tests; the test runner asks config_test_selected() per test
// and end_run() reads cfg.end. Defaults hold when the line is empty.
#include "boot.h"

struct config cfg = {
    .tests = "", // every test
    .end = END_POWEROFF,
    .policy = POLICY_ALL,
    .toggles = 10000,
    .threshold = 1000,
    .cr0_owned = CFG_NOT_GIVEN,
    .cr4_owned = CFG_NOT_GIVEN,
};

// Indexed by enum fault_mode.
static const char *const fault_choices[] = {
    [FAULT_NONE] = "none", [FAULT_UD] = "ud", [FAULT_GP] = "gp", [FAULT_PF] = "pf",
    [FAULT_DE] = "de", NULL,
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
    [END_POWEROFF] = "poweroff",
    [END_HALT] = "halt",
    NULL,
};

const struct cfg_key config_keys[] = {
    { .name = "tests", .type = CFG_STR, .dst = &cfg.tests,
      .help = "comma-separated names of the tests to run (default: all)" },
    { .name = "end", .type = CFG_ENUM, .dst = &cfg.end, .choices = end_choices,
      .help = "poweroff: end the emulator with the verdict as exit status; "
              "halt: stop with the verdict on screen, as on real hardware" },
    { .name = "fault", .type = CFG_ENUM, .dst = &cfg.fault, .choices = fault_choices,
      .help = "fault on purpose after boot (ud, gp, pf, de) to see the crash report; "
              "default none" },
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
};
const size_t config_nkeys = ARRAY_SIZE(config_keys);

// Exact match against one comma-separated item: "vmx" does not select "vmxon".
bool config_test_selected(const char *name)
{
    const char *item = cfg.tests;
    if (!*item)
        return true;
    for (;;) {
        size_t len = 0;
        while (item[len] && item[len] != ',')
            len++;
        if (strncmp(item, name, len) == 0 && name[len] == '\0')
            return true;
        if (!item[len])
            return false;
        item += len + 1;
    }
}
