// verdict.c: names and machine codes of the verdicts a run can end with.
// Pure (unit-tested on the host); end_run() in boot/main.c uses it to tell the
// emulator, and scripts/run.py maps the same names to its exit status.
#include "boot.h"

static const char *const names[] = {
    [VERDICT_PASS] = "PASS",
    [VERDICT_FAIL] = "FAIL",
    [VERDICT_CRASH] = "CRASH",
    [VERDICT_TIMEOUT] = "TIMEOUT",
    [VERDICT_UNSUPPORTED] = "UNSUPPORTED",
};

const char *verdict_name(enum verdict v)
{
    return (unsigned)v < ARRAY_SIZE(names) ? names[v] : "CRASH";
}

// QEMU's isa-debug-exit turns a write of v into exit status (v << 1) | 1, so
// every verdict, PASS included, gives an odd status the runner can undo.
uint32_t verdict_qemu_code(enum verdict v)
{
    return (unsigned)v < ARRAY_SIZE(names) ? (uint32_t)v : VERDICT_CRASH;
}
