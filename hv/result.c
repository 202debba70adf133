// result.c: the one-line machine-readable result of a toggle run,
// "vmxlab-result {json}", which the boot tests and `make bench` read.
// Pure: unit-tested. Called by hv/experiment.c after each run.
#include "hv.h"

// num/den with two decimals, rounded half up, without floating point. The
// whole part is divided out first so that num * 100 cannot overflow for large
// tick counts; the remainder * 100 fits while den < 2^64 / 100.
void fmt_ratio(char *buf, size_t size, uint64_t num, uint64_t den)
{
    if (!den) {
        snprintf(buf, size, "0.00");
        return;
    }
    uint64_t whole = num / den;
    uint64_t hundredths = (num % den * 100 + den / 2) / den; // 0..100
    if (hundredths == 100) { // rounded up to the next whole number
        whole++;
        hundredths = 0;
    }
    snprintf(buf, size, "%lu.%02lu", whole, hundredths);
}

// snprintf at the end of what buf already holds (n characters wanted so far),
// so that a short buffer still yields the full wanted length, as snprintf does.
__attribute__((format(printf, 4, 5)))
static int append(char *buf, size_t size, int n, const char *fmt, ...)
{
    size_t used = (size_t)n < size ? (size_t)n : size;
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
    return n;
}

int result_json(const struct run_result *r, char *buf, size_t size)
{
    char tpt[32];
    fmt_ratio(tpt, sizeof(tpt), r->ticks, r->toggles);
    int n = append(buf, size, 0, "{\"policy\":\"%s\",\"toggles\":%lu,\"exits\":%lu,"
                   "\"exits_by_reason\":{", r->policy, r->toggles, r->window.total);
    const char *sep = "";
    for (uint32_t i = 0; i < EXIT_REASON_MAX; i++) {
        if (!r->window.by_reason[i])
            continue;
        n = append(buf, size, n, "%s\"%s\":%lu", sep, exit_reason_name(i),
                   r->window.by_reason[i]);
        sep = ",";
    }
    return append(buf, size, n,
                  "},\"cr_exits\":%lu,\"cr_detail\":{\"mov_to_cr0\":%lu,\"clts\":%lu,"
                  "\"lmsw\":%lu,\"mov_to_cr4\":%lu},\"ticks\":%lu,\"ticks_per_toggle\":%s,"
                  "\"cr0_guest_owned\":%lu}",
                  r->window.by_reason[EXIT_REASON_CR_ACCESS], r->window.cr_mov_to_cr0,
                  r->window.cr_clts, r->window.cr_lmsw, r->window.cr_mov_to_cr4, r->ticks,
                  tpt, r->cr0_guest_owned);
}
