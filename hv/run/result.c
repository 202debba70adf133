// result.c: the one-line machine-readable result of a measured run,
// "vmxlab-result {json}", which the boot tests and `make bench` read, and the
// numbers behind it: ratios with two decimals, the fastest and median window; and
// the result of a multiboot kernel's run (mb_result_json()). Pure: unit-tested.
// Called by hv/run/experiment.c after each measured run, hv/run/mbrun.c after each
// multiboot run.
#include "../exit/exit.h"
#include "internal.h"

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

// The members of a JSON object of counters, "NAME":count for each nonzero one,
// named by name(i): exits by reason, CR exits and #PF exits by kind.
static int append_counts(char *buf, size_t size, int n, const uint64_t *count, uint32_t kinds,
                         const char *(*name)(uint32_t))
{
    const char *sep = "";
    for (uint32_t i = 0; i < kinds; i++) {
        if (!count[i])
            continue;
        n = appendf(buf, size, n, "%s\"%s\":%lu", sep, name(i), count[i]);
        sep = ",";
    }
    return n;
}

// num/den for a difference that may be negative: "-0.50".
void fmt_signed_ratio(char *buf, size_t size, int64_t num, uint64_t den)
{
    uint64_t mag = num < 0 ? 0 - (uint64_t)num : (uint64_t)num;
    char tmp[32];
    fmt_ratio(tmp, sizeof(tmp), mag, den);
    snprintf(buf, size, "%s%s", num < 0 && strcmp(tmp, "0.00") ? "-" : "", tmp);
}

// The windows of one run: iterations per window (the first window's; a guest
// that varies them is caught by experiment.c), the fastest and the median
// window's ticks, and the exits summed over all windows kept.
void windows_summarize(const struct run_record *r, struct window_summary *w)
{
    *w = (struct window_summary){ 0 };
    unsigned n = r->windows < MAX_WINDOWS ? r->windows : MAX_WINDOWS;
    if (!n)
        return;
    uint64_t ticks[MAX_WINDOWS];
    w->iterations = r->win[0].iterations;
    for (unsigned i = 0; i < n; i++) {
        ticks[i] = r->win[i].ticks;
        stats_add(&w->exits, &r->win[i].exits);
        w->smis += r->win[i].smis;
        w->disturbances += r->win[i].disturbances;
        if (r->win[i].iterations != w->iterations)
            w->iterations = 0;
    }
    for (unsigned i = 1; i < n; i++) // insertion sort: at most 16 windows
        for (unsigned j = i; j && ticks[j - 1] > ticks[j]; j--) {
            uint64_t t = ticks[j];
            ticks[j] = ticks[j - 1];
            ticks[j - 1] = t;
        }
    w->min_ticks = ticks[0];
    // The mean of the middle two, rounded down, without their sum: a guest
    // may claim windows of up to 2^64 - 1 ticks, and two of them wrap.
    uint64_t lo = ticks[(n - 1) / 2], hi = ticks[n / 2]; // one window if n is odd
    w->median_ticks = lo + (hi - lo) / 2;
}

// claimed: the guest came from outside (guest=), so its windows' ticks and
// iterations are its word alone; a built-in guest times them with vmxlab's own
// window code (guest/toggle.S, guest/rt/rt.c measure()).
int result_json(const char *experiment, const char *policy, const char *paging, bool claimed,
                const struct run_record *r, char *buf, size_t size)
{
    struct window_summary w;
    windows_summarize(r, &w);
    char mn[32], md[32];
    fmt_ratio(mn, sizeof(mn), w.min_ticks, w.iterations);
    fmt_ratio(md, sizeof(md), w.median_ticks, w.iterations);
    int n = appendf(buf, size, 0, "{\"experiment\":\"%s\",\"policy\":\"%s\",\"paging\":\"%s\","
                   "\"iterations\":%lu,\"windows\":%u,\"exits\":%lu,\"exits_by_reason\":{",
                   experiment, policy, paging, w.iterations, r->windows, stats_total(&w.exits));
    n = append_counts(buf, size, n, w.exits.by_reason, EXIT_REASON_MAX, exit_reason_name);
    n = appendf(buf, size, n, "},\"cr_exits\":{");
    n = append_counts(buf, size, n, w.exits.cr, CR_KINDS, cr_kind_name);
    n = appendf(buf, size, n, "},\"pf_exits\":{");
    n = append_counts(buf, size, n, w.exits.pf, PF_KINDS, pf_kind_name);
    n = appendf(buf, size, n, "},\"shadow_flushes\":%lu,\"ticks\":[", w.exits.shadow_flushes);
    for (unsigned i = 0; i < r->windows && i < MAX_WINDOWS; i++)
        n = appendf(buf, size, n, "%s%lu", i ? "," : "", r->win[i].ticks);
    return appendf(buf, size, n,
                  "],\"ticks_min\":%lu,\"ticks_median\":%lu,\"per_iter_min\":%s,"
                  "\"per_iter_median\":%s,\"smis\":%lu,\"nmis\":%lu,\"extints\":%lu,"
                  "\"cr0_guest_owned\":\"0x%lx\",\"cr4_guest_owned\":\"0x%lx\","
                  "\"guest_claim\":%s}",
                  w.min_ticks, w.median_ticks, mn, md, w.smis, r->nmis, r->extints,
                  r->cr0_owned_at_end, r->cr4_owned_at_end, claimed ? "true" : "false");
}

// A multiboot kernel's run (hv/run/mbrun.c): how it ended (exit_code: the code it wrote
// to isa-debug-exit, null where it ended otherwise), every exit by reason and kind,
// the accesses to each device and to nothing (devices: dev_counts_json()'s members,
// hv/dev/dev.h), the run's TSC ticks, and its console text: lines, FNV-1a hash, and how
// it compares with the kernel's first run ("reference", "same", "differs" at a line).
int mb_result_json(const char *kernel, const char *policy, const char *paging,
                   const struct run_record *r, const struct run_text *t,
                   const char *devices, char *buf, size_t size)
{
    static const char *const ends[] = { [RUN_EXITED] = "exited", [RUN_STOPPED] = "stopped",
                                        [RUN_TIMED_OUT] = "timed out", [RUN_HALTED] = "halted" };
    int n = appendf(buf, size, 0, "{\"experiment\":\"%s\",\"policy\":\"%s\",\"paging\":\"%s\","
                    "\"kernel\":\"multiboot\",\"end\":\"%s\",\"exit_code\":", kernel, policy,
                    paging, ends[r->end]);
    n = r->end == RUN_EXITED && !(r->status >> 32) ? appendf(buf, size, n, "%lu", r->status)
                                                     : appendf(buf, size, n, "null");
    n = appendf(buf, size, n, ",\"exits\":%lu,\"exits_by_reason\":{", stats_total(&r->all));
    n = append_counts(buf, size, n, r->all.by_reason, EXIT_REASON_MAX, exit_reason_name);
    n = appendf(buf, size, n, "},\"cr_exits\":{");
    n = append_counts(buf, size, n, r->all.cr, CR_KINDS, cr_kind_name);
    n = appendf(buf, size, n, "},\"pf_exits\":{");
    n = append_counts(buf, size, n, r->all.pf, PF_KINDS, pf_kind_name);
    n = appendf(buf, size, n, "},\"shadow_flushes\":%lu,%s", r->all.shadow_flushes, devices);
    const char *text = !t->ref ? "reference" : text_same(t) ? "same" : "differs";
    n = appendf(buf, size, n, ",\"ticks\":%lu,\"text_lines\":%lu,\"text_hash\":\"0x%016lx\","
               "\"text\":\"%s\"", r->ticks, t->lines, t->hash, text);
    if (t->ref && !text_same(t) && t->differs_at)
        n = appendf(buf, size, n, ",\"text_differs_at\":%lu", t->differs_at);
    return appendf(buf, size, n, "}");
}
