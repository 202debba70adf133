// text.c: a run's console text, for multiboot kernels (their COM1 lines), kept so that
// a kernel that prints hundreds of thousands of lines neither floods the console nor
// buries the verdict: the first TEXT_FIRST lines and the last TEXT_LAST are kept, the
// rest counted, and every line hashed. The first run of a kernel is the reference; each
// later run's lines are compared with its hashes as they come, and the first line that
// differs is named with its text. Pure: hv/run/experiment.c feeds it the lines and
// prints; tests/unit/test_text.c checks it.
#include "internal.h"

// FNV-1a, 64 bits for the whole text and 32 for a line (its low half): a line hash
// locates the first difference, the whole hash and the count decide sameness.
#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
    return h;
}

void text_init(struct run_text *t, const struct run_text *ref)
{
    *t = (struct run_text){ .hash = FNV_BASIS, .ref = ref };
}

static void keep(struct text_line *k, uint64_t number, const char *s, size_t n)
{
    k->number = number;
    k->len = n < sizeof(k->s) ? (unsigned)n : sizeof(k->s);
    memcpy(k->s, s, k->len);
}

// The text of line `number` (from 1) if t kept it, else NULL.
const struct text_line *text_kept(const struct run_text *t, uint64_t number)
{
    if (number >= 1 && number <= TEXT_FIRST && number <= t->lines)
        return &t->first[number - 1];
    const struct text_line *k = &t->last[(number - 1) % TEXT_LAST];
    return number > TEXT_FIRST && number <= t->lines && k->number == number ? k : NULL;
}

void text_line(struct run_text *t, const char *s, size_t n)
{
    uint64_t number = ++t->lines;
    uint32_t h = (uint32_t)fnv(FNV_BASIS, s, n);
    t->hash = fnv(fnv(t->hash, s, n), "\n", 1);
    if (number <= TEXT_FIRST)
        keep(&t->first[number - 1], number, s, n);
    else
        keep(&t->last[(number - 1) % TEXT_LAST], number, s, n);
    if (number <= TEXT_HASHED)
        t->line_hash[number - 1] = h;
    const struct run_text *ref = t->ref;
    if (!ref || t->differs_at)
        return;
    // Past the reference's end, or past the lines whose hashes it kept, a difference
    // is still found by the count and the whole hash (text_finish()), at the end.
    if (number > ref->lines) {
        t->differs_at = number;
        keep(&t->differing, number, s, n);
    } else if (number <= TEXT_HASHED && ref->line_hash[number - 1] != h) {
        t->differs_at = number;
        keep(&t->differing, number, s, n);
    }
}

// After the run's last line: a text shorter than the reference's differs at its end;
// one whose lines all matched as far as hashes were kept, but not the whole hash,
// differs somewhere past TEXT_HASHED (differs_past).
void text_finish(struct run_text *t)
{
    const struct run_text *ref = t->ref;
    if (!ref || t->differs_at)
        return;
    if (t->lines < ref->lines)
        t->differs_at = t->lines + 1; // t->differing stays empty: the end of the text
    else if (t->hash != ref->hash)
        t->differs_past = true;
}

bool text_same(const struct run_text *t)
{
    return t->ref && !t->differs_at && !t->differs_past && t->lines == t->ref->lines &&
           t->hash == t->ref->hash;
}
