// internal.h: what the files of hv/run/ share among themselves and with their unit
// tests (tests/unit/test_result.c, test_matrix.c, test_elf.c ...), and no other
// folder uses: the table of experiments, the result line, the access-matrix records,
// the ELF loader and the host steps the table names. What the rest of vmxlab may use
// is in run.h.
#pragma once
#include "../dev/dev.h"
#include "../vcpu.h"
#include "run.h"

// guest.c
const struct guest_image *guest_module_find(const char *name, char *err, size_t errlen);
uint64_t guest_ram_for(bool multiboot); // bytes of RAM a run of that kind gets
void guest_ram_init(bool shadow_boot); // shadow_boot: paging=shadow, EPT only for some rows
#define RUN_TICKS (1ull << 30) // a run's tick budget before its size adds to it (guest.c)

// result.c: the machine-readable result line (pure)
void fmt_ratio(char *buf, size_t size, uint64_t num, uint64_t den);        // "12.34"
void fmt_signed_ratio(char *buf, size_t size, int64_t num, uint64_t den);  // "-0.50"
struct window_summary {
    uint64_t iterations;        // per window
    uint64_t min_ticks, median_ticks;
    struct exit_stats exits;    // summed over the windows
    uint64_t smis, disturbances;
};
void windows_summarize(const struct run_record *r, struct window_summary *w);
int result_json(const char *experiment, const char *policy, const char *paging, bool claimed,
                const struct run_record *r, char *buf, size_t size);
// The result line of a multiboot kernel's run: how it ended, its exits, the devices it
// reached (devices: what dev_counts_json() wrote, hv/dev/dev.h), its ticks and its text.
struct run_text;
int mb_result_json(const char *kernel, const char *policy, const char *paging,
                   const struct run_record *r, const struct run_text *t,
                   const char *devices, char *buf, size_t size);

// matrix.c: two records of the access-rights matrix (struct matrix_entry,
// guest/abi.h), compared entry by entry (pure)
struct matrix_diff {
    size_t ref_entries, run_entries; // whole entries in each record
    size_t differing;                // entries, of those both have, that differ
    bool ragged;                     // a length that is not a whole number of entries
};
// Fills *d, and writes the first `show` differences in words to text, one a
// line ("entry 17 (D differs): 4 KiB page, ...: reference ...; this run ...").
void matrix_compare(const void *ref, size_t ref_len, const void *run, size_t run_len,
                    unsigned show, struct matrix_diff *d, char *text, size_t size);
static inline bool matrix_identical(const struct matrix_diff *d)
{
    return !d->ragged && !d->differing && d->ref_entries == d->run_entries;
}

// text.c: a multiboot kernel's console text, kept and compared with a reference run's
// (pure). The first TEXT_FIRST lines and the last TEXT_LAST are kept, TEXT_LINE bytes of
// each; every line up to TEXT_HASHED is hashed, and the whole text.
#define TEXT_FIRST 100
#define TEXT_LAST 20
#define TEXT_LINE 160 // hv/dev/serial.c's longest line
#define TEXT_HASHED (1u << 18)
struct text_line {
    uint64_t number;      // from 1
    unsigned len;
    char s[TEXT_LINE];
};
struct run_text {
    const struct run_text *ref; // the reference run's text, or NULL: this is it
    uint64_t lines, hash;       // lines so far; FNV-1a 64 of the text, a newline each
    struct text_line first[TEXT_FIRST], last[TEXT_LAST]; // last: a ring, by number
    uint64_t differs_at;        // the first line that differs from ref's, or 0
    struct text_line differing; // its text here (len 0: this text ended before it)
    bool differs_past;          // it differs after the lines whose hashes are kept
    uint32_t line_hash[TEXT_HASHED];
};
void text_init(struct run_text *t, const struct run_text *ref);
void text_line(struct run_text *t, const char *s, size_t n); // one line, no newline
void text_finish(struct run_text *t);
bool text_same(const struct run_text *t); // equal to its reference's, line by line
const struct text_line *text_kept(const struct run_text *t, uint64_t number); // or NULL

// mbrun.c: a multiboot kernel's runs (hv/run/experiment.c runs them)
#define MB_RUN_EXITS (1ull << 32) // a run's budget of exits and TSC ticks unless max_exits=,
#define MB_RUN_TICKS (1ull << 40) // max_ticks= say otherwise: kernels that run for minutes
void mb_kernel_begin(void); // before a kernel's first run: it will be the reference
void mb_run_begin(void);    // before each run: its text is kept from now on
void mb_run_refused(void);  // ...unless it never ran
bool mb_judge(const char *kernel, const char *policy, enum mmu mmu, const char *label,
              const struct run_record *rec);
void mb_table(void);        // every kernel's runs side by side

// elf.c: the guest loader (pure)
int elf_load(const uint8_t *img, size_t size, uint8_t *ram, uint64_t ram_size,
             uint64_t *entry, char *err, size_t errlen);

// experiments.c: the one table of experiments. Each row is run by
// experiment.c, once or under each CR ownership policy, and its outcome is
// checked against what the row expects.
struct exit_expect { // exits of one reason, over all windows of a measured run
    uint8_t reason;    // EXIT_REASON_*
    uint8_t per_iter;  // exits per iteration while the deciding bit is host-owned
    uint8_t cr;        // 0 or 4: which control register holds the deciding bit;
    uint32_t bit;      //   no exits while the guest owns it (bit 0: always exits)
    uint8_t mmus;      // the paging modes it holds under (BIT(MMU_*)); 0: all
    bool once;         // at most one such exit in the whole run: the first
};
enum runs_under {
    ONCE,
    EACH_POLICY,
    EACH_POLICY_AND_PAGING, // each policy under EPT (where the CPU has it), then each
                            // policy shadow paging allows, with shadow_wp=roles and flush
};
struct experiment {
    const char *name;   // tests= name; runs are labelled "name" or "name/policy"
    const char *group;  // tests= also selects a whole group ("bad-guest")
    const char *guest;  // the guest image (guest/NAME.c or .S), or NULL: host step
    void (*host)(void); // the host step, where guest is NULL
    const char *what;   // what it checks or measures
    enum runs_under runs;
    uint64_t flags;     // guest_params.flags
    bool measured;      // windows of cfg.toggles iterations, exits counted
    struct exit_expect expect[3];
    struct {            // how the run must end; all zero: the guest exits with 0
        enum run_end end;
        uint64_t status;  // RUN_EXITED
        uint32_t reason;  // RUN_STOPPED: the exit reason that stops it...
        bool shadow_differs; // ...unless under shadow paging this one does:
        uint32_t shadow_reason;
    } outcome;
    const char *brk;    // a break= name (hv/vmx/breaks.c) applied before its VM entry
    uint64_t max_exits, max_ticks; // the run's budget, where not the default
    bool show_exits;    // not measured, but its line gives its exits by reason
    bool compare_records; // the first run's HC_RECORD record is the reference; every
                          // later run of the row must record the same (hv/run/matrix.c)
    bool external;      // a guest from a GRUB module (guest=): no expectations of
                        // exits; ending by HLT passes; windows are reported if made
    bool multiboot;     // a multiboot kernel from a GRUB module: judged by its exit code
                        // and its text against its first run's (hv/run/mbrun.c)
    bool paging_off;    // the guest turns its paging off, which under EPT needs
                        // "unrestricted guest": without it the row runs under shadow paging
};
extern const struct experiment experiments[];
extern const size_t nexperiments;

// experiment.c
void host_vmx_caps(void);    // host steps the table names
void host_vmcs_fields(void);
void host_text_sum(void);    // the hypervisor's code and data, before the hostile guests
void host_text_check(void);  // ...and after
