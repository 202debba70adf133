// report.c: test reporting in the kvm-unit-tests style. Each check prints
// "PASS: what was checked" or "FAIL: ..."; report_finish() prints the one
// summary line "N passed, N failed" and ends the run with PASS or FAIL.
#include "boot.h"

static unsigned passed, failed, skipped;

static void vreport(const char *tag, const char *fmt, va_list ap)
{
    char buf[256];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    kprintf("%s: %s\n", tag, buf);
}

void report(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(ok ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
}

void report_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("SKIP", fmt, ap);
    va_end(ap);
    skipped++;
}

void report_finish(void)
{
    if (skipped)
        kprintf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    else
        kprintf("%u passed, %u failed\n", passed, failed);
    end_run(failed || !passed ? VERDICT_FAIL : VERDICT_PASS);
}
