// mbrun.c: what is particular to the runs of a multiboot kernel (guest= naming one,
// docs/guest-abi.md section 15), which hv/run/experiment.c runs under each policy and
// paging mode: its console text (guest_text(), fed by the COM1 model through
// hv/exit/io.c; kept and compared by hv/run/text.c), the verdict of each run
// (mb_judge(): exit code 0, and the text of the kernel's first run), its result line,
// and the table that puts the runs side by side (mb_table()). Keeps the texts of the
// kernel being run and one row of the table per run, nothing else.
#include "../../boot/boot.h"
#include "../dev/dev.h"
#include "../exit/exit.h"
#include "internal.h"

// The first run of a kernel is the reference (texts[0]); each later one is compared
// with it (texts[1]). text_now is the text of the run going on, NULL between them.
static struct run_text texts[2];
static struct run_text *text_now;
static bool have_reference;
static char reference_label[64];

void mb_kernel_begin(void)
{
    have_reference = false;
}

void mb_run_begin(void)
{
    text_now = have_reference ? &texts[1] : &texts[0];
    text_init(text_now, have_reference ? &texts[0] : NULL);
}

// A run that did not start (guest_run() refused it): no text of its own.
void mb_run_refused(void)
{
    text_now = NULL;
}

// One line of a guest's console (hv/exit/io.c dev_guest_text()). A vmxlab guest's is
// printed; a multiboot kernel's is kept, and printed after the run (show()) if it is
// the reference: so no run's ticks include the console's work, and every run of a
// kernel is timed alike. A kernel that prints for minutes says that it goes on, as
// windows do (PROGRESS_TICKS).
void guest_text(const char *text, size_t len)
{
    struct run_text *t = text_now;
    if (!t) {
        guest_print(vcpu.label, text, len);
        return;
    }
    text_line(t, text, len);
    if (rdtsc() - vcpu.progress_at >= PROGRESS_TICKS) {
        kprintf("vmxlab: %s: %lu lines of text so far, the run goes on\n", vcpu.label,
                t->lines);
        vcpu.progress_at = rdtsc();
    }
}

// After the reference run: its text, the first TEXT_FIRST lines and the last TEXT_LAST,
// with one line between them that counts those not shown.
static void show(const struct run_text *t, const char *label)
{
    uint64_t tail = t->lines > TEXT_FIRST + TEXT_LAST ? t->lines - TEXT_LAST + 1 : 1;
    for (uint64_t n = 1; n <= t->lines; n++) {
        if (n == TEXT_FIRST + 1 && tail > n) {
            kprintf("vmxlab: %s: %lu lines of its text not shown (lines %u to %lu)\n", label,
                    tail - n, TEXT_FIRST + 1, tail - 1);
            n = tail;
        }
        const struct text_line *k = text_kept(t, n);
        guest_print(label, k->s, k->len);
    }
}

// One guest line in a message, escaped (a guest cannot forge the kernel's lines).
static void quoted(char *buf, size_t size, const struct text_line *k)
{
    char esc[96];
    escape_text(esc, sizeof(esc), k->s, k->len);
    snprintf(buf, size, "'%s'", esc);
}

// What the run's text is, in words: the reference, the same as it, or where it differs.
static bool text_verdict(const struct run_text *t, char *buf, size_t size)
{
    if (!t->ref) {
        snprintf(buf, size, "the reference for the kernel's other runs");
        return true;
    }
    if (text_same(t)) {
        snprintf(buf, size, "the same as %s's", reference_label);
        return true;
    }
    if (t->differs_past) {
        snprintf(buf, size, "differs from %s's past line %u (only the hashes of the first "
                 "%u lines are kept)", reference_label, TEXT_HASHED, TEXT_HASHED);
        return false;
    }
    char there[112] = "not kept", here[112] = "the end of its text";
    const struct text_line *k = text_kept(t->ref, t->differs_at);
    if (k)
        quoted(there, sizeof(there), k);
    else if (t->differs_at > t->ref->lines)
        snprintf(there, sizeof(there), "the end of its text");
    if (t->differing.len)
        quoted(here, sizeof(here), &t->differing);
    snprintf(buf, size, "differs from %s's at line %lu: %s there, %s here", reference_label,
             t->differs_at, there, here);
    return false;
}

// How the run ended, in words; true only for exit code 0 through isa-debug-exit,
// QEMU's convention for success (a Bochs shutdown request or a reset ends the
// machine without a code: hv/dev/dev.h DEV_EXIT_*).
static bool ending(const struct run_record *rec, char *buf, size_t size)
{
    static const char *const ends[] = { [RUN_EXITED] = "exited", [RUN_STOPPED] = "stopped",
                                        [RUN_TIMED_OUT] = "timed out", [RUN_HALTED] = "halted" };
    if (rec->end != RUN_EXITED) {
        snprintf(buf, size, "%s: %s", ends[rec->end], rec->why);
        return false;
    }
    if (rec->status >> 32)
        snprintf(buf, size, "ended the machine without an exit code (0x%lx: %s)", rec->status,
                 rec->status == DEV_EXIT_RESET ? "a reset request" : "a power-off request");
    else if (rec->status)
        snprintf(buf, size, "exited with code %lu, a failure (QEMU would exit with status "
                 "%lu)", rec->status, rec->status << 1 | 1);
    else
        snprintf(buf, size, "exited with code 0");
    return rec->status == 0;
}

// The runs side by side, one cell each (mb_table()).
struct mb_cell {
    char kernel[33];
    const char *policy;
    enum mmu mmu;
    uint64_t exits, ticks;
    bool ok;
};
static struct mb_cell cells[8 * 3 * MMUS];
static unsigned ncells;

// The run's verdict: one PASS or FAIL line, after the reference's text (a stopped run
// too: stop_run() leaves it to this), and its result line. The run's text is done with.
bool mb_judge(const char *kernel, const char *policy, enum mmu mmu, const char *label,
              const struct run_record *rec)
{
    struct run_text *t = text_now;
    text_now = NULL;
    text_finish(t);
    if (!t->ref)
        show(t, label);
    char end[200], text[320];
    bool ok = ending(rec, end, sizeof(end));
    ok &= text_verdict(t, text, sizeof(text));
    report(ok, "%s: %s; its text, %lu lines: %s", label, end, t->lines, text);
    if (!t->ref) {
        have_reference = true;
        snprintf(reference_label, sizeof(reference_label), "%s", label);
    }
    // The devices' counts (hv/dev/dev.c), for the result line: at most 16 devices and 16
    // unclaimed places, each well under 64 characters, fit.
    static char devices[2048];
    dev_counts_json(devices, sizeof(devices));
    // What the kernel touched that no device of the virtual PC emulates, named in
    // words after its verdict (docs/guest-abi.md section 14: ports nobody claims read
    // all ones and drop writes).
    struct dev_unclaimed first;
    if (dev_unclaimed_list(&first, 1)) { // the first such place is always kept
        static char words[1024];
        dev_counts_text(words, sizeof(words));
        kprintf("vmxlab: %s: devices: %s\n", label, words);
    }
    static char json[4096];
    int n = mb_result_json(kernel, policy, mmu_name(mmu), rec, t, devices, json, sizeof(json));
    console_write("vmxlab-result ", 14);
    console_write(json, n < (int)sizeof(json) ? (size_t)n : sizeof(json) - 1);
    console_write("\n", 1);
    if (ncells < ARRAY_SIZE(cells)) {
        struct mb_cell *c = &cells[ncells++];
        *c = (struct mb_cell){ .policy = policy, .mmu = mmu, .exits = stats_total(&rec->all),
                               .ticks = rec->ticks, .ok = ok };
        snprintf(c->kernel, sizeof(c->kernel), "%s", kernel);
    }
    return ok;
}

// Per kernel, its runs side by side: a row per paging mode, a column per policy; each
// cell the run's exits and TSC ticks (instructions under Bochs).
void mb_table(void)
{
    for (unsigned i = 0; i < ncells; i++) {
        bool first = true;
        for (unsigned j = 0; j < i && first; j++)
            first = strcmp(cells[j].kernel, cells[i].kernel);
        if (!first)
            continue;
        const char *pols[3];
        unsigned npol = 0;
        for (unsigned j = i; j < ncells; j++) {
            bool seen = strcmp(cells[j].kernel, cells[i].kernel);
            for (unsigned k = 0; k < npol && !seen; k++)
                seen = !strcmp(pols[k], cells[j].policy);
            if (!seen && npol < ARRAY_SIZE(pols))
                pols[npol++] = cells[j].policy;
        }
        kprintf("vmxlab: %s: exits / TSC ticks of each run, policies side by side (*: the "
                "run failed; -: not run):\n  %-14s", cells[i].kernel, "paging");
        for (unsigned k = 0; k < npol; k++)
            kprintf(" %24s", pols[k]);
        kprintf("\n");
        for (enum mmu m = 0; m < MMUS; m++) {
            bool any = false;
            for (unsigned j = i; j < ncells && !any; j++)
                any = !strcmp(cells[j].kernel, cells[i].kernel) && cells[j].mmu == m;
            if (!any)
                continue;
            kprintf("  %-14s", mmu_name(m));
            for (unsigned k = 0; k < npol; k++) {
                const struct mb_cell *c = NULL;
                for (unsigned j = i; j < ncells && !c; j++)
                    if (!strcmp(cells[j].kernel, cells[i].kernel) && cells[j].mmu == m &&
                        !strcmp(cells[j].policy, pols[k]))
                        c = &cells[j];
                char cell[40] = "-";
                if (c)
                    snprintf(cell, sizeof(cell), "%lu / %lu%s", c->exits, c->ticks,
                             c->ok ? "" : " *");
                kprintf(" %24s", cell);
            }
            kprintf("\n");
        }
    }
}
