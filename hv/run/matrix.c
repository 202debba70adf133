// matrix.c: compares two records of the access-rights matrix (made by
// guest/matrix.c, an array of struct matrix_entry from guest/abi.h) entry by
// entry, and says in words where they differ. hv/run/experiment.c calls
// matrix_compare() for the rows with .compare_records, a later run against
// the reference run. Pure: tests/unit/test_matrix.c calls it on records it
// builds.
#include "../../guest/abi.h"
#include "../../guest/matrix.h"
#include "internal.h"

// The fields of an entry, by name: the inputs, then what happened.
#define FIELD(member, name, input)                                                    \
    { name, offsetof(struct matrix_entry, member),                                    \
      sizeof(((struct matrix_entry *)0)->member), input }
static const struct {
    const char *name;
    size_t offset, size;
    bool input; // what the guest set up, rather than what the access did
} fields[] = {
    FIELD(page, "page size", true),   FIELD(pde, "PDE bits", true),
    FIELD(pte, "PTE bits", true),     FIELD(mode, "mode", true),
    FIELD(access, "access", true),    FIELD(faulted, "fault", false),
    FIELD(vector, "vector", false),   FIELD(error, "error code", false),
    FIELD(cr2, "CR2", false),         FIELD(accessed, "A", false),
    FIELD(dirty, "D", false),
};
#undef FIELD

static uint64_t field(const struct matrix_entry *e, size_t i)
{
    uint64_t v = 0; // x86 is little-endian: the low bytes of v
    memcpy(&v, (const uint8_t *)e + fields[i].offset, fields[i].size);
    return v;
}

// "entry 17 (D differs): <inputs>: reference <outcome>; this run <outcome>",
// or with the inputs of each side where the inputs themselves differ.
static void describe(struct text *t, size_t index, const struct matrix_entry *ref,
                     const struct matrix_entry *run)
{
    unsigned named = 0;
    bool inputs_differ = false;
    text_put(t, "entry ");
    text_num(t, index, 10);
    text_put(t, " (");
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (field(ref, i) == field(run, i))
            continue;
        inputs_differ |= fields[i].input;
        text_put(t, named++ ? ", " : "");
        text_put(t, fields[i].name);
    }
    text_put(t, named == 1 ? " differs): " : " differ): ");
    if (inputs_differ)
        text_put(t, "reference ");
    mx_put_inputs(t, ref);
    text_put(t, inputs_differ ? ": " : ": reference ");
    mx_put_outcome(t, ref);
    text_put(t, "; this run ");
    if (inputs_differ) {
        mx_put_inputs(t, run);
        text_put(t, ": ");
    }
    mx_put_outcome(t, run);
    text_put(t, "\n");
}

void matrix_compare(const void *ref, size_t ref_len, const void *run, size_t run_len,
                    unsigned show, struct matrix_diff *d, char *text, size_t size)
{
    const size_t es = sizeof(struct matrix_entry);
    *d = (struct matrix_diff){ .ref_entries = ref_len / es, .run_entries = run_len / es,
                               .ragged = ref_len % es || run_len % es };
    struct text t = { text, size, 0 };
    text_put(&t, "");
    if (d->ragged) {
        text_put(&t, "the records are ");
        text_num(&t, ref_len, 10);
        text_put(&t, " and ");
        text_num(&t, run_len, 10);
        text_put(&t, " bytes long: not whole numbers of entries of ");
        text_num(&t, es, 10);
        text_put(&t, " bytes\n");
    }
    if (d->ref_entries != d->run_entries) {
        text_put(&t, "the reference has ");
        text_num(&t, d->ref_entries, 10);
        text_put(&t, " entries, this run ");
        text_num(&t, d->run_entries, 10);
        text_put(&t, "\n");
    }
    size_t n = d->ref_entries < d->run_entries ? d->ref_entries : d->run_entries;
    for (size_t i = 0; i < n; i++) {
        struct matrix_entry a, b;
        memcpy(&a, (const uint8_t *)ref + i * es, es);
        memcpy(&b, (const uint8_t *)run + i * es, es);
        bool same = true;
        for (size_t f = 0; f < ARRAY_SIZE(fields); f++)
            same &= field(&a, f) == field(&b, f);
        if (same)
            continue;
        if (d->differing++ < show)
            describe(&t, i, &a, &b);
    }
}
