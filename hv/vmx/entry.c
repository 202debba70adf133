// entry.c: the VM-entry checker (hv/vmx/check.c) on the CPU, and break=NAME. hv/run/guest.c
// calls entry_prepare() between vmcs_setup() and VMLAUNCH (the run's break, then
// every rule over the VMCS, by VMREAD), entry_launch_failed() and entry_checked()
// after; hv/vmx/vmx.c and hv/exit/exit.c call entry_explain() when the CPU refuses an
// entry, to print its verdict beside the checker's. hv/run/experiment.c calls
// breaks_run() for break=. Keeps the last check's findings, nothing else.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../run/run.h"
#include "../vcpu.h"
#include "internal.h"

static struct {
    const char *label;
    struct check_summary sum;
    const struct check_rule *rules[8]; // the distinct rules that failed, the first 8
    unsigned nrules;
    bool refused;                      // the CPU refused an entry of this run,
    struct entry_verdict cpu;          // with this verdict
} last;
static bool cost_shown;
static uint8_t scratch[4096] __attribute__((aligned(4096))); // for the breaks (hv/vmx/breaks.c)

// Physical memory the checker may read: available RAM below 4 GiB, which
// boot/entry.S maps one to one. Never device memory, where a read can act.
static int ram_read(void *ctx, uint64_t pa, void *buf, size_t n)
{
    (void)ctx;
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct mem_region *m = &boot_info.mmap[i];
        if (m->type == MMAP_AVAILABLE && pa >= m->base && m->len >= n &&
            pa - m->base <= m->len - n && pa < (4ull << 30) - n) {
            memcpy(buf, (const void *)(uintptr_t)pa, n);
            return 0;
        }
    }
    return -1;
}

static uint64_t current_vmcs(void)
{
    uint64_t pa = ~0ull;
    asm volatile("vmptrst %0" : "=m"(pa) : : "cc");
    return pa == ~0ull ? 0 : pa;
}

static void print_finding(void *ctx, const struct check_finding *f)
{
    (void)ctx;
    char line[320];
    check_format(line, sizeof(line), f);
    kprintf("check: %s\n", line);
    for (unsigned i = 0; i < last.nrules; i++)
        if (last.rules[i] == f->rule)
            return;
    if (last.nrules < ARRAY_SIZE(last.rules))
        last.rules[last.nrules++] = f->rule;
}

// The names of the rules the last check found failing: "host-cs, host-tr".
static void rule_names(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < last.nrules && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                last.rules[i]->name);
}

// Every rule over the current VMCS, as this CPU's capability MSRs judge it.
static uint64_t run_check(void)
{
    struct check_env env = { .vmcs = &vmcs_cpu, .caps = &caps, .read_phys = ram_read,
                             .vmcs_pa = current_vmcs(),
                             .host_ia32e = rdmsr(MSR_EFER) & EFER_LMA };
    last.nrules = 0;
    uint64_t t0 = rdtsc();
    check_vmcs(&env, print_finding, NULL, &last.sum);
    return rdtsc() - t0;
}

// Right before a run's VMLAUNCH: its break, if it has one, then the check.
// Outside any measured window: the guest has not started.
void entry_prepare(const char *label, const struct entry_break *brk)
{
    last = (typeof(last)){ .label = label };
    if (brk) {
        memset(scratch, 0, sizeof(scratch));
        struct break_ctx b = { .vmcs = &vmcs_cpu, .caps = &caps,
                               .scratch_pa = (uint64_t)(uintptr_t)scratch, .scratch = scratch,
                               .vmcs_pa = current_vmcs() };
        brk->apply(&b);
    }
    uint64_t ticks = run_check();
    if (last.sum.findings) {
        char v[160];
        struct entry_verdict p = check_predict(&last.sum);
        entry_verdict_text(v, sizeof(v), &p);
        kprintf("vmxlab: %s: the entry checker finds %u failure%s: the CPU should refuse the "
                "entry with %s\n", label, last.sum.findings, last.sum.findings == 1 ? "" : "s",
                v);
    } else if (!cost_shown) {
        cost_shown = true;
        kprintf("vmxlab: entry checker: %lu rules passed in %lu TSC ticks (instructions under "
                "Bochs), before every VMLAUNCH, outside the measured windows\n",
                (uint64_t)check_nrules, ticks);
    }
}

// The CPU refused an entry: its verdict, and the checker's rules beside it.
// launch: it was the run's VMLAUNCH, whose VMCS entry_prepare() has just
// checked and printed; after a VMRESUME the handlers changed it: checked again.
void entry_explain(const struct entry_verdict *cpu, bool launch)
{
    char text[160], pred[160], names[160];
    last.refused = true;
    last.cpu = *cpu;
    if (!launch) {
        kprintf("vmxlab: %s: the entry checker on the VMCS the CPU refused:\n", last.label);
        run_check();
    }
    entry_verdict_text(text, sizeof(text), cpu);
    rule_names(names, sizeof(names));
    if (check_agrees(&last.sum, cpu)) {
        kprintf("vmxlab: %s: the CPU refused the entry: %s; the checker agrees: %s\n",
                last.label, text, names);
    } else if (!last.sum.findings) {
        report(false, "%s: the CPU refused the entry (%s) but no rule of the entry checker "
               "fails: the checker misses a check (hv/vmx/check.c)", last.label, text);
    } else {
        struct entry_verdict p = check_predict(&last.sum);
        entry_verdict_text(pred, sizeof(pred), &p);
        report(false, "%s: the CPU refused the entry with %s, the entry checker expected %s "
               "(%s): a checker bug (hv/vmx/check.c)", last.label, text, pred, names);
    }
}

// VMLAUNCH failed as an instruction. A run that expects to be stopped
// (break=, a bad-guest row) records it and goes on; any other run returns
// false, and vmx_fail() ends the boot.
bool entry_launch_failed(bool expected, struct run_record *rec)
{
    uint64_t err;
    if (!expected || vmread_safe(VM_INSTRUCTION_ERROR, &err))
        return false;
    struct entry_verdict cpu = { ENTRY_VMFAIL, (uint32_t)err, 0 };
    char text[160];
    entry_explain(&cpu, true);
    entry_verdict_text(text, sizeof(text), &cpu);
    rec->end = RUN_STOPPED;
    rec->reason = 0;
    snprintf(rec->why, sizeof(rec->why), "VMLAUNCH failed: %s", text);
    return true;
}

// After the run: a VMCS the checker refused but the CPU entered is a checker
// bug, unless this CPU skips that check (as Bochs skips some: the table says).
void entry_checked(bool judged_elsewhere)
{
    if (!last.sum.findings || last.refused || judged_elsewhere)
        return;
    bool unchecked = false;
    for (unsigned i = 0; i < last.nrules; i++)
        unchecked |= !last.rules[i]->bochs;
    report(false, "%s: the CPU entered a guest whose VMCS the entry checker refuses (rules "
           "above): a checker bug (hv/vmx/check.c)%s", last.label,
           unchecked ? ", or a CPU that skips that check (Bochs does not make some)" : "");
}

// break=all, or a list of names: each one a run of its own.
static bool break_selected(const struct entry_break *b)
{
    return !strcmp(cfg.breaks, "all") || list_has(cfg.breaks, b->name);
}

// Every name in break= must be in the table; the message lists them all.
bool breaks_check_names(void)
{
    const char *p = cfg.breaks, *item;
    size_t n;
    if (!strcmp(p, "all"))
        return true;
    while (list_next(&p, &item, &n)) {
        if (!break_find(item, n)) {
            char name[48];
            size_t len = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
            memcpy(name, item, len);
            name[len] = '\0';
            kprintf("vmxlab: bad command line: unknown break '%s' in break= (breaks: all",
                    name);
            for (size_t i = 0; i < entry_nbreaks; i++)
                kprintf(", %s", entry_breaks[i].name);
            kprintf(")\n");
            return false;
        }
    }
    return true;
}

static bool judge_break(const struct entry_break *b, const char *label,
                        const struct run_record *rec)
{
    char want[160], got[160], named[160];
    const struct check_rule *rule = check_rule_find(b->rule);
    bool exact = last.nrules == 1 && last.rules[0] == rule;
    bool cpu_ok = last.refused && last.cpu.how == b->cpu.how &&
                  last.cpu.number == b->cpu.number && last.cpu.qual == b->cpu.qual;
    rule_names(named, sizeof(named));
    entry_verdict_text(want, sizeof(want), &b->cpu);
    if (last.refused)
        entry_verdict_text(got, sizeof(got), &last.cpu);
    else
        snprintf(got, sizeof(got), "an entry into the guest (the run then %s)",
                 rec->end == RUN_HALTED ? "halted" : "was stopped");
    if (exact && cpu_ok)
        report(true, "%s: the checker named %s; the CPU gave %s, as the table says", label,
               b->rule, got);
    else
        report(false, "%s: the checker named %s (the table says %s); the CPU gave %s (the "
               "table says %s)", label, last.nrules ? named : "no rule", b->rule, got, want);
    return exact && cpu_ok;
}

// break=: for each selected break, one run of the misbehave guest (if it
// ever ran, it would halt) with that one thing broken, judged against the
// table: the checker names the break's rule, and nothing else; the CPU
// refuses the entry as the table says. ok, bad, by_end: the run counters of
// hv/run/experiment.c.
void breaks_run(enum mmu mmu, unsigned *ok, unsigned *bad, unsigned *by_end)
{
    const struct guest_image *img = guest_image_find("misbehave");
    if (!img) {
        report(false, "break=: the built-in guest 'misbehave' is missing");
        return;
    }
    for (size_t i = 0; i < entry_nbreaks; i++) {
        const struct entry_break *b = &entry_breaks[i];
        char label[48], why[160], want[160];
        if (!break_selected(b))
            continue;
        snprintf(label, sizeof(label), "break/%s", b->name);
        if (break_cannot(b, &caps, why, sizeof(why))) {
            report_skip("%s: %s: %s", label, b->what, why);
            continue;
        }
        entry_verdict_text(want, sizeof(want), &b->cpu);
        kprintf("vmxlab: %s: %s; the checker must name %s, the CPU must give %s\n", label,
                b->what, b->rule, want);
        // The boot's paging: should the CPU enter anyway, the guest must run
        // translated like every other (without EPT, its CR3 is not the host's).
        struct guest_run run = { .label = label, .mmu = mmu, .flags = BAD_HLT,
                                 .expect_stop = true, .brk = b };
        static struct run_record rec; // 10 KiB: not on the boot stack
        if (!guest_run(img, &run, &rec)) {
            (*bad)++;
            continue;
        }
        by_end[rec.end]++;
        if (judge_break(b, label, &rec))
            (*ok)++;
        else
            (*bad)++;
    }
}
