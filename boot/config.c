// config.c: the kernel's own command-line keys, their defaults and the values
// cmdline_parse() leaves in cfg. main.c parses the boot command line into cfg
// before running tests; the test runner asks config_test_selected() per test
// and end_run() reads cfg.end. Defaults hold when the line is empty.
#include "boot.h"

struct config cfg = {
    .tests = "", // every test
    .end = END_POWEROFF,
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
