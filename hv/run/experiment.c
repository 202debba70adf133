// experiment.c: runs the table of hv/run/experiments.c. kmain() calls
// experiments_run() once the CPU is known to offer VMX: it checks the rest of
// what vmxlab needs (the controls; EPT, or else shadow paging, and the
// policies each allows), turns VMX on, times the native loops,
// then runs each selected row once or under each CR ownership policy, checks
// its outcome against what the row expects and prints expected next to
// measured, one line a run (and one JSON line per measured run). It ends with
// the costs, a table of the measured runs and the count of runs, and turns
// VMX off; kmain() then prints the summary line and the verdict.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../exit/exit.h"
#include "internal.h"
#include "multiboot.h"

uint64_t toggle_wp_loop(uint64_t n); // guest/toggle.S, shared with the guests
uint64_t nop_loop(uint64_t n);

// The CR ownership policies (policy=): which CR0/CR4 bits the guest owns, and
// for adaptive after how many WP changes WP is handed over.
struct policy_def {
    const char *name;
    uint64_t cr0_owned, cr4_owned, threshold;
    bool unsafe; // run under shadow paging though it breaks it (unsafe=1)
};

// The paging of this boot's runs (paging=, shadow_wp=), chosen by choose_mmu(),
// and of the run at hand (rows that run under each paging mode differ).
static enum mmu boot_mmu, run_mmu;

// What the summary table and the costs need from the measured runs.
struct measured {
    char label[48];
    uint64_t per_window, exits, min_ticks, median_ticks; // per_window: iterations
    unsigned windows; // the windows the run made (those kept), whatever windows= asked
    bool disturbed;
    bool claimed; // a guest from guest=: its windows are its own word (result_json())
};
static struct measured table[24];
static unsigned ntable;
static struct {
    uint64_t toggle, nop; // the fastest window of each native loop, cfg.toggles iterations
    bool have;
} native;
static unsigned runs_ok, runs_bad, runs_by_end[RUN_HALTED + 1];
static unsigned runs_refused; // images refused before they ran: failed, and no ending
static const char *tick_unit = "TSC ticks";

static bool selected(const struct experiment *e)
{
    return config_test_selected(e->name) || (e->group && config_test_selected(e->group));
}

bool experiment_name_known(const char *name, size_t len)
{
    for (size_t i = 0; i < nexperiments; i++) {
        const struct experiment *e = &experiments[i];
        if ((strlen(e->name) == len && !strncmp(e->name, name, len)) ||
            (e->group && strlen(e->group) == len && !strncmp(e->group, name, len)))
            return true;
    }
    return false;
}

// What the CPU reports must at least be self-consistent (SDM 3D A.1, A.7, A.8).
void host_vmx_caps(void)
{
    bool cr0_ok = (caps.raw.cr0_fixed0 & (CR0_PE | CR0_NE | CR0_PG)) ==
                  (CR0_PE | CR0_NE | CR0_PG);
    bool ok = caps.revision != 0 && caps.vmcs_size > 0 && caps.vmcs_size <= 4096 &&
              caps.memtype == 6 && cr0_ok && (caps.raw.cr4_fixed0 & CR4_VMXE);
    report(ok, "vmx-caps: VMCS revision id 0x%x (not 0), region %u bytes (1 to 4096), memory "
           "type %u (write-back is 6); CR0 fixed0 %s PE, NE and PG, CR4 fixed0 %s VMXE",
           caps.revision, caps.vmcs_size, caps.memtype, cr0_ok ? "has" : "lacks one of",
           caps.raw.cr4_fixed0 & CR4_VMXE ? "has" : "lacks");
}

void host_vmcs_fields(void)
{
    vmcs_selftest();
}

// The hypervisor's code and read-only data, FNV-1a over every byte: nothing a
// guest does may change them (issue: nothing outside guest RAM is touched).
// The first host step of the hostile suite takes the sum, the last compares.
extern const uint8_t text_start[], text_end[], rodata_start[], rodata_end[]; // linker.ld

static uint64_t fnv1a(uint64_t h, const uint8_t *from, const uint8_t *to)
{
    for (const uint8_t *b = from; b < to; b++)
        h = (h ^ *b) * 0x100000001b3ull;
    return h;
}

static uint64_t text_sum(void)
{
    return fnv1a(fnv1a(0xcbf29ce484222325ull, text_start, text_end), rodata_start, rodata_end);
}

static uint64_t text_sum_before;
static bool text_summed;

void host_text_sum(void)
{
    text_sum_before = text_sum();
    text_summed = true;
    kprintf("vmxlab: text-sum: the hypervisor's code and read-only data summed before the "
           "hostile guests: %lu bytes, FNV-1a 0x%lx\n",
           (uint64_t)(text_end - text_start) + (uint64_t)(rodata_end - rodata_start),
           text_sum_before);
}

void host_text_check(void)
{
    uint64_t now = text_sum();
    if (!text_summed) {
        report(false, "text-check: no sum to compare with (select text-sum too, or the group "
               "bad-guest)");
        return;
    }
    report(now == text_sum_before, "text-check: the hypervisor's code and read-only data are "
           "unchanged after the hostile guests (FNV-1a 0x%lx, before 0x%lx)", now,
           text_sum_before);
}

// Under Bochs the TSC advances by exactly one per instruction; on silicon, and
// under a hypervisor that makes CPUID exit, ten CPUIDs take thousands of
// ticks. So a short count names the unit honestly.
static bool tsc_counts_instructions(void)
{
    uint32_t lo0, hi0, lo1, hi1;
    asm volatile("lfence; rdtsc\n\t"
                 "mov %%eax, %0\n\t"
                 "mov %%edx, %1\n\t"
                 ".rept 10\n\t"
                 "xor %%eax, %%eax\n\t"
                 "cpuid\n\t"
                 ".endr\n\t"
                 "lfence; rdtsc"
                 : "=&r"(lo0), "=&r"(hi0), "=a"(lo1), "=d"(hi1)
                 :
                 : "rbx", "rcx", "memory");
    uint64_t t0 = (uint64_t)hi0 << 32 | lo0, t1 = (uint64_t)hi1 << 32 | lo1;
    return t1 - t0 < 100;
}

// Natively, in VMX root operation: the very loops the guests time, each the
// fastest of cfg.windows windows, so that every measured run can subtract the
// cost of its own loop (hv/run/experiment.c's costs, README "Benchmark").
static void time_native_loops(void)
{
    uint64_t cr0 = read_cr0();
    native.toggle = native.nop = UINT64_MAX;
    for (uint64_t w = 0; w < cfg.windows; w++) {
        uint64_t t = toggle_wp_loop(cfg.toggles);
        write_cr0(cr0); // an odd count leaves WP flipped
        uint64_t n = nop_loop(cfg.toggles);
        native.toggle = t < native.toggle ? t : native.toggle;
        native.nop = n < native.nop ? n : native.nop;
    }
    native.have = true;
    char t[32], n[32];
    fmt_ratio(t, sizeof(t), native.toggle, cfg.toggles);
    fmt_ratio(n, sizeof(n), native.nop, cfg.toggles);
    kprintf("vmxlab-baseline {\"iterations\":%lu,\"unit\":\"%s\",\"native_toggle_ticks\":%lu,"
            "\"native_toggle_per_iter\":%s,\"native_nop_ticks\":%lu,\"native_nop_per_iter\":%s}\n",
            cfg.toggles, tick_unit, native.toggle, t, native.nop, n);
}

static bool expect_applies(const struct exit_expect *x, enum mmu m)
{
    return !x->mmus || (x->mmus & BIT(m));
}

static uint64_t expected_exits(const struct exit_expect *x, const struct policy_def *p, uint64_t n)
{
    uint64_t all = n * x->per_iter, want = all;
    uint64_t owned = x->cr == 4 ? p->cr4_owned : p->cr0_owned;
    if (x->bit && (owned & x->bit))
        want = 0;
    else if (x->bit && p->threshold && x->cr == 0 && x->bit == CR0_WP)
        want = p->threshold < all ? p->threshold : all;
    return x->once && want > 1 ? 1 : want;
}

static void label_of(char *buf, size_t size, const struct experiment *e, const struct policy_def *p)
{
    if (e->runs == EACH_POLICY_AND_PAGING)
        snprintf(buf, size, "%s/%s/%s", e->name, p->name, mmu_name(run_mmu));
    else if (e->runs == EACH_POLICY)
        snprintf(buf, size, "%s/%s", e->name, p->name);
    else
        snprintf(buf, size, "%s", e->name);
}

// A measured run: W windows of N iterations, exits by reason against the row.
static bool check_measured(const struct experiment *e, const struct policy_def *p, const char *label,
                           const struct run_record *rec)
{
    struct window_summary ws;
    windows_summarize(rec, &ws);
    uint64_t n = cfg.toggles * cfg.windows;
    if (rec->windows != cfg.windows || ws.iterations != cfg.toggles) {
        report(false, "%s: the guest measured %u windows of %lu iterations, not %lu of %lu",
               label, rec->windows, ws.iterations, cfg.windows, cfg.toggles);
        return false;
    }
    char text[256];
    size_t len = 0;
    bool ok = true;
    struct exit_stats rest = ws.exits;
    for (size_t i = 0; i < ARRAY_SIZE(e->expect) && e->expect[i].per_iter; i++) {
        const struct exit_expect *x = &e->expect[i];
        if (!expect_applies(x, run_mmu))
            continue;
        uint64_t want = expected_exits(x, p, n), got = ws.exits.by_reason[x->reason];
        ok = ok && want == got;
        rest.by_reason[x->reason] = 0;
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s exits expected %lu, "
                                "measured %lu; ", exit_reason_name(x->reason), want, got);
    }
    uint64_t others = stats_total(&rest);
    ok &= others == 0;
    snprintf(text + len, sizeof(text) - len, "other exits expected 0, measured %lu", others);
    report(ok, "%s: %lu x %lu iterations: %s", label, cfg.windows, cfg.toggles, text);
    return ok;
}

static void print_result(const struct experiment *e, const struct policy_def *p, const char *label,
                         const struct run_record *rec)
{
    static char json[2048]; // written whole: longer than a kprintf line can be
    int n = result_json(e->name, e->runs == ONCE ? "" : p->name, mmu_name(run_mmu),
                        e->external, rec, json, sizeof(json));
    console_write("vmxlab-result ", 14);
    console_write(json, n < (int)sizeof(json) ? (size_t)n : sizeof(json) - 1);
    console_write("\n", 1);
    struct window_summary ws;
    windows_summarize(rec, &ws);
    if (ntable < ARRAY_SIZE(table)) {
        struct measured *m = &table[ntable++];
        snprintf(m->label, sizeof(m->label), "%s", label);
        m->per_window = ws.iterations;
        m->windows = rec->windows < MAX_WINDOWS ? rec->windows : MAX_WINDOWS;
        m->exits = stats_total(&ws.exits);
        m->min_ticks = ws.min_ticks;
        m->median_ticks = ws.median_ticks;
        m->disturbed = ws.smis || ws.disturbances || rec->nmis || rec->extints;
        m->claimed = e->external;
    }
}

static const char *end_name(enum run_end end)
{
    static const char *const names[] = { [RUN_EXITED] = "exited", [RUN_STOPPED] = "stopped",
                                         [RUN_TIMED_OUT] = "timed out",
                                         [RUN_HALTED] = "halted" };
    return names[end];
}

// The I/O a run did, port by port (hv/exit/io.c), for its line: " I/O: 0x80 out 3, ...".
static void describe_io(char *buf, size_t size, const struct run_record *rec)
{
    size_t n = 0;
    buf[0] = '\0';
    const unsigned shown = 4; // a guest that scans ports gets a count, not a list
    uint64_t more = rec->other_ports;
    for (unsigned i = 0; i < rec->nports && n < size; i++) {
        if (i >= shown) {
            more += rec->ports[i].count[0] + rec->ports[i].count[1];
            continue;
        }
        n += (size_t)snprintf(buf + n, size - n, "%s0x%x in %lu out %lu", i ? ", " : "; I/O: ",
                              rec->ports[i].port, rec->ports[i].count[1],
                              rec->ports[i].count[0]);
    }
    if (more && n < size)
        snprintf(buf + n, size - n, ", %lu accesses to other ports", more);
}

// Every exit of a run by reason, for its line: "; exits: CPUID 3, ...".
static void describe_exits(char *buf, size_t size, const struct exit_stats *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < EXIT_REASON_MAX && n < size; i++)
        if (s->by_reason[i])
            n += (size_t)snprintf(buf + n, size - n, "%s%s %lu", n ? ", " : "; exits: ",
                                  exit_reason_name(i), s->by_reason[i]);
}

// Rows with .compare_records: a record later runs are compared with, and the
// run that made it. Static, like the run's own record (hv/exit/exit.c).
struct reference {
    const struct experiment *row; // whose run made it; NULL: empty
    char label[48];
    size_t len;
    uint8_t data[HC_RECORD_MAX];
};
static struct reference reference;

// Where a run of a .compare_records row finds the record it is compared with:
// one slot, which holds the first run of the row in this boot that ended well.
// A slot that holds no run of this row is empty for it: this run fills it and
// becomes the reference -- but where the CPU has EPT, only a run under EPT,
// where the CPU itself decides, may (NULL: this run has no reference). The
// one place that chooses.
static struct reference *reference_for(const struct experiment *e, const struct policy_def *p)
{
    (void)p;
    if (reference.row != e && run_mmu != MMU_EPT && vmx_has_ept())
        return NULL;
    return &reference;
}

// The run's HC_RECORD record against the reference, entry by entry
// (hv/run/matrix.c): one PASS or FAIL line, and the first differences in words.
static bool compare_records(const struct experiment *e, const struct policy_def *p,
                            const char *label, const struct run_record *rec)
{
    if (rec->end != RUN_EXITED)
        return true; // judged already; a run that did not end well is no reference
    const size_t es = sizeof(struct matrix_entry);
    struct reference *ref = reference_for(e, p);
    if (!ref) {
        report(false, "%s: no run under EPT recorded a reference to compare with", label);
        return false;
    }
    if (ref->row != e) {
        if (!rec->record_len) {
            report(false, "%s: recorded nothing (HC_RECORD): no reference for the later "
                   "runs of %s", label, e->name);
            return false;
        }
        ref->row = e;
        snprintf(ref->label, sizeof(ref->label), "%s", label);
        ref->len = rec->record_len;
        memcpy(ref->data, rec->record, rec->record_len);
        kprintf("vmxlab: %s: %zu entries recorded: the reference for the other runs of %s\n",
                label, rec->record_len / es, e->name);
        return true;
    }
    if (cfg.corrupt_record != CFG_NOT_GIVEN) { // to show that a difference is caught
        if (cfg.corrupt_record >= rec->record_len / es) {
            report(false, "%s: corrupt_record=%lu: this run recorded only %zu entries", label,
                   cfg.corrupt_record, rec->record_len / es);
            return false;
        }
        rec->record[cfg.corrupt_record * es + offsetof(struct matrix_entry, dirty)] ^= 1;
    }
    static char text[2048];
    struct matrix_diff d;
    matrix_compare(ref->data, ref->len, rec->record, rec->record_len, 4, &d, text,
                   sizeof(text));
    if (matrix_identical(&d)) {
        report(true, "%s vs %s: %zu entries identical", label, ref->label, d.run_entries);
        return true;
    }
    // One line per difference; the first goes into the FAIL line.
    char *end = text + strlen(text), *line = text;
    for (char *c = text; c < end; c++)
        if (*c == '\n')
            *c = '\0';
    report(false, "%s vs %s: %zu of %zu entries differ; %s", label, ref->label,
           d.differing, d.ref_entries < d.run_entries ? d.ref_entries : d.run_entries, line);
    for (line += strlen(line) + 1; line < end; line += strlen(line) + 1)
        kprintf("vmxlab: %s: also %s\n", label, line);
    return false;
}

// How the run ended, against how the row says it must end.
static void judge(const struct experiment *e, const struct policy_def *p, const char *label,
                  const struct run_record *rec)
{
    bool ok;
    runs_by_end[rec->end]++;
    if (e->multiboot) { // its exit code and its text (hv/run/mbrun.c)
        ok = mb_judge(e->name, p->name, run_mmu, label, rec);
    } else if (e->outcome.end != RUN_EXITED) { // the row expects a stop, a timeout or HLT
        uint32_t reason = run_mmu != MMU_EPT && e->outcome.shadow_differs
                              ? e->outcome.shadow_reason : e->outcome.reason;
        ok = rec->end == e->outcome.end && (rec->end != RUN_STOPPED || rec->reason == reason);
        if (ok)
            report(true, "%s: %s: %s as expected: %s", label, e->what, end_name(rec->end),
                   rec->why);
        else
            report(false, "%s: %s: expected to be %s (exit reason %u), but it %s%s%s", label,
                   e->what, end_name(e->outcome.end), reason, end_name(rec->end),
                   *rec->why ? ": " : "", rec->why);
    } else if (rec->end == RUN_STOPPED) {
        ok = false; // stop_run() has said why, as a FAIL
    } else if (rec->end != RUN_EXITED && !(e->external && rec->end == RUN_HALTED)) {
        ok = false;
        report(false, "%s: %s: %s", label, end_name(rec->end), rec->why);
    } else if (rec->status != e->outcome.status) {
        ok = false;
        report(false, "%s: the guest ended with status 0x%lx (%s), expected 0x%lx", label,
               rec->status, rec->status ? "it gave up" : "success", e->outcome.status);
    } else if (e->outcome.status) { // a row about the status itself
        ok = true;
        report(true, "%s: %s: the guest's status 0x%lx arrived whole (a failure, "
               "expected here)", label, e->what, rec->status);
    } else if (e->measured) {
        ok = check_measured(e, p, label, rec);
        print_result(e, p, label, rec);
    } else {
        char io[320];
        describe_io(io, sizeof(io), rec);
        if (e->show_exits)
            describe_exits(io + strlen(io), sizeof(io) - strlen(io), &rec->all);
        ok = rec->checks_failed == 0;
        report(ok, "%s: ran to its end; %u guest check%s passed, %u failed%s", label,
               rec->checks_passed, rec->checks_passed == 1 ? "" : "s", rec->checks_failed, io);
        if (e->external && rec->windows) // it measured: the same result line
            print_result(e, p, label, rec);
    }
    if (e->compare_records)
        ok &= compare_records(e, p, label, rec);
    if (ok)
        runs_ok++;
    else
        runs_bad++;
    struct window_summary ws;
    windows_summarize(rec, &ws);
    uint64_t wd = e->measured ? rec->watchdog_nmis : 0; // they matter to timings only
    if (rec->nmis || rec->extints || ws.smis || wd)
        kprintf("vmxlab: %s: disturbed: %lu NMIs, %lu external interrupts, %lu watchdog "
                "NMIs, %lu SMIs in windows during the run; the guest saw none, its times "
                "are not representative\n", label, rec->nmis, rec->extints, wd, ws.smis);
}

static void run_row(const struct experiment *e, const struct policy_def *p, enum mmu mmu)
{
    char label[64], err[256] = "no such built-in guest"; // room for a list of modules
    if (e->paging_off && mmu == MMU_EPT && !caps.unrestricted_guest) {
        kprintf("vmxlab: %s: under EPT its paging off would need \"unrestricted guest\", "
                "which this CPU lacks: it runs under shadow paging\n", e->name);
        mmu = MMU_SHADOW_ROLES;
    }
    run_mmu = mmu;
    label_of(label, sizeof(label), e, p);
    const struct guest_image *img = e->external ? guest_module_find(e->guest, err, sizeof(err))
                                                : guest_image_find(e->guest);
    if (!img) {
        report(false, "%s: guest '%s' refused: %s", label, e->guest, err);
        runs_bad++;
        runs_refused++;
        return;
    }
    struct guest_run run = {
        .label = label, .mmu = mmu,
        .flags = e->flags, .cr0_owned = p->cr0_owned,
        .cr4_owned = p->cr4_owned, .wp_threshold = p->threshold,
        .expect_stop = e->outcome.end != RUN_EXITED,
        .brk = e->brk ? break_find(e->brk, strlen(e->brk)) : NULL,
        .iterations = e->measured || e->external ? cfg.toggles : 0,
        .windows = e->measured || e->external ? cfg.windows : 0,
        .max_exits = e->max_exits, .max_ticks = e->max_ticks,
    };
    static struct run_record rec; // ~12 KiB: not on the boot stack
    if (e->multiboot)
        mb_run_begin();
    if (!guest_run(img, &run, &rec)) {
        if (e->multiboot)
            mb_run_refused();
        runs_bad++;
        runs_refused++;
        return;
    }
    judge(e, p, label, &rec);
}

static const char *shadow_refuses(const struct policy_def *p);

// A multiboot kernel (docs/guest-abi.md section 15): under each policy, and each paging
// mode with paging=auto (else the one paging= names), its first run the reference for
// the others' text. Shadow paging runs the policies it allows, and with unsafe=1 the
// others too (the boot said why they are unsafe when paging=shadow). An image the
// loader refuses is refused once, for all of them.
static void run_multiboot(const struct guest_image *img, const char *name,
                          const struct policy_def *pols, unsigned npol)
{
    const struct experiment e = { .name = name, .guest = name,
                                  .runs = EACH_POLICY_AND_PAGING, .external = true,
                                  .multiboot = true, .what = "a multiboot kernel",
                                  .max_exits = MB_RUN_EXITS, .max_ticks = MB_RUN_TICKS };
    struct mbv1_loaded plan;
    char err[200];
    if (mbv1_plan(img->mb, guest_ram_for(true), &plan, err, sizeof(err))) {
        report(false, "%s: multiboot kernel '%s' refused: %s", name, name, err);
        runs_bad++;
        runs_refused++;
        return;
    }
    mb_kernel_begin();
    const enum mmu all[] = { MMU_EPT, MMU_SHADOW_ROLES, MMU_SHADOW_FLUSH };
    const enum mmu *modes = cfg.paging == PAGING_AUTO ? all : &boot_mmu;
    size_t nmodes = cfg.paging == PAGING_AUTO ? ARRAY_SIZE(all) : 1;
    for (size_t m = 0; m < nmodes; m++) {
        if (modes[m] == MMU_EPT && !vmx_has_ept())
            continue; // paging=auto on a CPU without EPT: shadow paging only
        for (unsigned j = 0; j < npol; j++)
            if (modes[m] == MMU_EPT || cfg.unsafe || !shadow_refuses(&pols[j]))
                run_row(&e, &pols[j], modes[m]);
    }
}

// guest=NAME,NAME: each a guest ELF GRUB loaded as a module, run under each
// policy like a row of the table, with the same counters and lines, but with
// no expectations of its exits: it passes by ending with status 0 (HC_EXIT or
// port 0xf4) or HLT, and by its own checks (HC_REPORT). A multiboot kernel is
// run_multiboot()'s.
static void run_modules(const struct policy_def *pols, unsigned npol)
{
    static char name[33];
    const char *p = cfg.guest, *item;
    size_t n;
    while (list_next(&p, &item, &n)) {
        bool plain = n && n < sizeof(name);
        for (size_t i = 0; plain && i < n; i++) {
            char c = item[i];
            plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        }
        if (!plain) {
            kprintf("vmxlab: bad command line: guest names in guest= are 1 to 32 of "
                    "A-Z a-z 0-9 _ - .\n");
            end_run(VERDICT_FAIL);
        }
        memcpy(name, item, n);
        name[n] = '\0';
        char err[256];
        const struct guest_image *img = guest_module_find(name, err, sizeof(err));
        if (img && img->mb) {
            run_multiboot(img, name, pols, npol);
            continue;
        }
        const struct experiment e = { .name = name, .guest = name, .runs = EACH_POLICY,
                                      .show_exits = true, .external = true,
                                      .what = "a guest from a GRUB module" };
        for (unsigned j = 0; j < npol; j++)
            run_row(&e, &pols[j], boot_mmu);
    }
}

// CR4 bits that change how linear addresses translate (SDM 3A 4.1.1, 4.6):
// under shadow paging the hypervisor must see each change, since its tables
// are the guest's TLB and its entries are built for the current rules.
#define CR4_PAGING (CR4_PSE | CR4_PAE | CR4_PGE | CR4_LA57 | CR4_PCIDE | CR4_SMEP | \
                    CR4_SMAP | CR4_PKE)

// Why shadow paging cannot run policy p, or NULL. The rule is KVM's: it
// gives CR0.WP to the guest only with EPT, because "CR0.WP needs to be
// intercepted when KVM is shadowing legacy paging in order to construct
// shadow PTEs with the correct protections" (vmx_l1_guest_owned_cr0_bits()).
static const char *shadow_refuses(const struct policy_def *p)
{
    if ((p->cr0_owned & CR0_WP) || p->threshold)
        return "CR0.WP must stay host-owned under shadow paging: the shadow entries "
               "encode WP (a supervisor write to a read-only page is allowed only while "
               "WP=0), so every WP change must exit to rebuild or switch them; KVM lets "
               "the guest own WP only with EPT (vmx_l1_guest_owned_cr0_bits())";
    if (p->cr4_owned & CR4_PAGING)
        return "CR4's paging bits (PSE PAE PGE LA57 PCIDE SMEP SMAP PKE) must stay "
               "host-owned under shadow paging: the shadow tables are the guest's TLB and "
               "must be rebuilt when the rules they were built by change";
    return NULL;
}

// paging=, shadow_wp=: EPT where the CPU has it (vmx_controls_init() kept
// the control), unless shadow paging is asked for.
static void choose_mmu(void)
{
    bool ept = vmx_has_ept();
    if (cfg.paging == PAGING_EPT && !ept) {
        kprintf("vmxlab: UNSUPPORTED: paging=ept, but this CPU's VMX has no usable EPT "
                "(4-level walks, write-back tables). paging=shadow, or paging=auto (the "
                "default), runs the experiment with shadow paging.\n");
        end_run(VERDICT_UNSUPPORTED);
    }
    if (cfg.paging == PAGING_EPT || (cfg.paging == PAGING_AUTO && ept))
        boot_mmu = MMU_EPT;
    else
        boot_mmu = cfg.shadow_wp == SHADOW_WP_FLUSH ? MMU_SHADOW_FLUSH : MMU_SHADOW_ROLES;
}

// Under shadow paging, the policies that give the guest what it must not
// own: policy=all leaves them out, saying why; asked for by name they are
// refused; unsafe=1 runs them anyway, and the guests must see the breakage.
static unsigned shadow_filter(struct policy_def *pols, unsigned n)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < n; i++) {
        const char *why = shadow_refuses(&pols[i]);
        if (!why) {
            pols[kept++] = pols[i];
            continue;
        }
        if (cfg.unsafe) {
            kprintf("vmxlab: unsafe=1: policy %s runs under shadow paging although %s\n",
                    pols[i].name, why);
            pols[i].unsafe = true;
            pols[kept++] = pols[i];
        } else if (cfg.policy == POLICY_ALL) {
            kprintf("vmxlab: paging=shadow: policy %s is not run: %s (unsafe=1 runs it, "
                    "to show what breaks)\n", pols[i].name, why);
        } else {
            kprintf("vmxlab: refused: policy=%s with paging=shadow: %s. Use paging=ept, or "
                    "unsafe=1 to see what breaks.\n", pols[i].name, why);
            end_run(VERDICT_FAIL);
        }
    }
    return kept;
}

// A row that compares paging modes: each of the boot's policies under EPT
// (where the CPU has it: the CPU decides, the reference), then each that
// shadow paging allows (unsafe=1 or not) under both ways of handling WP.
static void run_each_paging(const struct experiment *e, const struct policy_def *pols,
                            unsigned npol)
{
    static const enum mmu order[] = { MMU_EPT, MMU_SHADOW_ROLES, MMU_SHADOW_FLUSH };
    for (size_t m = 0; m < ARRAY_SIZE(order); m++) {
        if (order[m] == MMU_EPT && !vmx_has_ept()) {
            kprintf("vmxlab: %s: this CPU has no EPT: the first run under shadow paging is "
                    "the reference, and the guest's own reading of the SDM checks each run\n",
                    e->name);
            continue;
        }
        for (unsigned j = 0; j < npol; j++)
            if (order[m] == MMU_EPT || !shadow_refuses(&pols[j]))
                run_row(e, &pols[j], order[m]);
    }
}

// The policies one boot runs: policy=all runs the three presets in turn.
static unsigned policies(struct policy_def *out)
{
    const struct policy_def presets[] = {
        [POLICY_INTERCEPT] = { "intercept", 0, 0, 0, false },
        [POLICY_PASSTHROUGH] = { "passthrough", CR0_WP | CR0_TS, 0, 0, false },
        [POLICY_ADAPTIVE] = { "adaptive", 0, 0, cfg.threshold, false },
        [POLICY_CUSTOM] = { "custom", cfg.cr0_owned == CFG_NOT_GIVEN ? 0 : cfg.cr0_owned,
                            cfg.cr4_owned == CFG_NOT_GIVEN ? 0 : cfg.cr4_owned, 0, false },
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
    if (cfg.cr4_owned != CFG_NOT_GIVEN && (cfg.cr4_owned & CR4_MCE)) {
        kprintf("vmxlab: bad command line: cr4_owned=0x%lx: CR4 bit 6 (MCE) cannot be "
                "guest-owned: vmxlab keeps it set while a guest runs, so that a machine "
                "check reaches the host instead of shutting the processor down\n",
                cfg.cr4_owned);
        end_run(VERDICT_FAIL);
    }
}

// The cost of an intercepted MOV to CR0 beyond a null VMCALL round trip: each
// timed run minus the cost of its own loop without the exit, so that only the
// two exit paths are compared. Signed: a negative number is a finding, not
// something to hide. Every input is printed, so it can be recomputed.
static void print_costs(void)
{
    const struct measured *icpt = NULL, *vmcall = NULL;
    for (unsigned i = 0; i < ntable; i++) {
        if (!strcmp(table[i].label, "wp-toggle/intercept"))
            icpt = &table[i];
        if (!strcmp(table[i].label, "baseline"))
            vmcall = &table[i];
    }
    if (!icpt || !vmcall || !native.have)
        return;
    int64_t cr0_trip = (int64_t)(icpt->min_ticks - native.toggle);
    int64_t vmcall_trip = (int64_t)(vmcall->min_ticks - native.nop);
    char specific[32], ratio[32], cr0[32], nul[32];
    fmt_signed_ratio(specific, sizeof(specific), cr0_trip - vmcall_trip, cfg.toggles);
    fmt_signed_ratio(cr0, sizeof(cr0), cr0_trip, cfg.toggles);
    fmt_signed_ratio(nul, sizeof(nul), vmcall_trip, cfg.toggles);
    fmt_signed_ratio(ratio, sizeof(ratio), cr0_trip, vmcall_trip > 0 ? (uint64_t)vmcall_trip : 0);
    kprintf("vmxlab: per iteration, loops subtracted: intercepted MOV to CR0 %s, null VMCALL "
            "%s, difference %s %s; the MOV to CR0 costs %s times the VMCALL (under Bochs a VM "
            "transition costs one instruction, on silicon it dominates)\n", cr0, nul, specific,
            tick_unit, ratio);
    kprintf("vmxlab-costs {\"unit\":\"%s\",\"iterations\":%lu,\"intercept_ticks\":%lu,"
            "\"native_toggle_ticks\":%lu,\"vmcall_ticks\":%lu,\"native_nop_ticks\":%lu,"
            "\"cr0_trip_per_iter\":%s,\"vmcall_trip_per_iter\":%s,"
            "\"cr0_specific_per_iter\":%s,\"cr0_to_vmcall_ratio\":%s}\n",
            tick_unit, cfg.toggles, icpt->min_ticks, native.toggle, vmcall->min_ticks,
            native.nop, cr0, nul, specific, ratio);
}

// Just above the summary line: the measured runs, and where they ran.
static void print_summary_table(void)
{
    const char *caveat = caps_nested_caveat(&caps);
    if (caveat)
        kprintf("vmxlab: note: %s\n", caveat);
    if (!ntable)
        return;
    kprintf("vmxlab: TSC %s, %s", caps.invariant_tsc ? "invariant" : "not invariant",
            tick_unit);
    if (caps.tsc_hz && strcmp(tick_unit, "instructions"))
        kprintf(", %lu MHz", caps.tsc_hz / 1000000);
    kprintf("; per iteration, fastest and median of %lu windows:\n", cfg.windows);
    // Nanoseconds too where the TSC's frequency is known and it counts time.
    bool ns = caps.tsc_hz && strcmp(tick_unit, "instructions");
    kprintf("  %-24s %10s %12s %10s %10s%s\n", "run", "iterations", "exits/iter", "min", "median",
            ns ? "     ns min" : "");
    for (unsigned i = 0; i < ntable; i++) {
        const struct measured *m = &table[i];
        uint64_t per_window = m->per_window;
        // Over the windows the run made: a guest from guest= need not make
        // windows= of them. Its claimed counts may not multiply out: then the
        // product stops at 2^64 - 1.
        uint64_t all = m->windows && per_window > UINT64_MAX / m->windows
                           ? UINT64_MAX : per_window * m->windows;
        char e[32], mn[32], md[32], nsec[32] = "", other[24] = "";
        fmt_ratio(e, sizeof(e), m->exits, all);
        fmt_ratio(mn, sizeof(mn), m->min_ticks, per_window);
        fmt_ratio(md, sizeof(md), m->median_ticks, per_window);
        if (ns) { // ns = ticks * 1000 / (MHz * iterations)
            nsec[0] = ' ';
            fmt_ratio(nsec + 1, sizeof(nsec) - 1, m->min_ticks * 1000,
                      per_window * (caps.tsc_hz / 1000000));
        }
        if (m->windows != cfg.windows)
            snprintf(other, sizeof(other), "  (%u window%s)", m->windows,
                     m->windows == 1 ? "" : "s");
        kprintf("  %-24s %10lu %12s %10s %10s%s%s%s%s\n", m->label, per_window, e, mn, md, nsec,
                other, m->disturbed ? "  (disturbed)" : "", m->claimed ? "  (guest's claim)" : "");
    }
}

void experiments_run(void)
{
    // guest= and break=: no rows unless tests= asks for some
    bool outside = *cfg.guest || *cfg.breaks, rows = !outside || *cfg.tests;
    if (rows && config_test_selected("vmx-caps"))
        host_vmx_caps();
    bool vmx_needed = outside;
    for (size_t i = 0; rows && i < nexperiments; i++)
        vmx_needed |= experiments[i].host != host_vmx_caps && selected(&experiments[i]);
    if (!vmx_needed)
        return;

    check_ownership_keys();
    vmx_controls_init();
    choose_mmu();
    struct policy_def pols[3];
    unsigned npol = policies(pols);
    if (boot_mmu != MMU_EPT)
        npol = shadow_filter(pols, npol);
    vmx_on();
    kprintf("vmxlab: VMX on (VMCS revision 0x%x, paging %s, VPID %s, watchdog %s, exit path "
            "%s)\n", caps.revision, mmu_name(boot_mmu),
            boot_mmu == MMU_EPT && ctl_on(CTL_PROC2, CTL_PROC2_VPID) ? "on" : "off",
            ctl_on(CTL_PIN, CTL_PIN_PREEMPTION_TIMER) ? "VMX-preemption timer"
                                                      : "the PIT's tick as an NMI",
            exitpath_fast() ? "fast" : cfg.exitpath == EXITPATH_FAST ? "C (trace= is on)" : "C");
    guest_ram_init(boot_mmu != MMU_EPT);
    tick_unit = tsc_counts_instructions() ? "instructions" : "TSC ticks";

    for (size_t i = 0; rows && i < nexperiments; i++) {
        const struct experiment *e = &experiments[i];
        if (e->host == host_vmx_caps || !selected(e))
            continue;
        if (e->host) {
            e->host();
            continue;
        }
        if (e->measured && !native.have)
            time_native_loops();
        static const struct policy_def once = { "intercept", 0, 0, 0, false };
        if (e->runs == EACH_POLICY_AND_PAGING)
            run_each_paging(e, pols, npol);
        else
            for (unsigned j = 0; j < (e->runs == EACH_POLICY ? npol : 1); j++)
                run_row(e, e->runs == EACH_POLICY ? &pols[j] : &once, boot_mmu);
    }
    if (*cfg.guest)
        run_modules(pols, npol);
    if (*cfg.breaks)
        breaks_run(boot_mmu, &runs_ok, &runs_bad, runs_by_end); // hv/vmx/entry.c
    print_costs();
    vmx_off();
    print_summary_table();
    mb_table();
    // Passed and failed runs, then every run by how it ended: the endings add
    // up to the runs, the refused ones included.
    kprintf("vmxlab: runs: %u as expected, %u not; %u exited, %u halted, %u stopped by the "
            "hypervisor, %u timed out", runs_ok, runs_bad, runs_by_end[RUN_EXITED],
            runs_by_end[RUN_HALTED], runs_by_end[RUN_STOPPED], runs_by_end[RUN_TIMED_OUT]);
    if (runs_refused)
        kprintf(", %u refused before running", runs_refused);
    kprintf("\n");
}
