// cmdline.c: checks a kernel command line ("key=value key=value") against a
// table of known keys and stores each value where its table entry points.
// main.c calls it once with config.c's keys; the unit tests use their own.
// Pure: it writes only the keys' targets and strbuf, and stops at the first
// mistake with a message naming the token (or the byte, if it is not printable
// ASCII), so a typo never passes unnoticed.
#include "boot.h"

#define TOKEN_MAX 256 // longest token plus its NUL; a long tests= list fits

bool list_next(const char **cursor, const char **item, size_t *len)
{
    const char *p = *cursor;
    if (!*p)
        return false;
    size_t n = 0;
    while (p[n] && p[n] != ',')
        n++;
    *item = p;
    *len = n;
    *cursor = p + n + (p[n] == ',');
    return true;
}

bool list_has(const char *list, const char *name)
{
    const char *item;
    size_t n;
    while (list_next(&list, &item, &n))
        if (strlen(name) == n && !strncmp(item, name, n))
            return true;
    return false;
}


// Adds to a message errorf() began: for the lists of valid names.
__attribute__((format(printf, 3, 4)))
static void append(char *err, size_t errlen, const char *fmt, ...)
{
    if (!errlen)
        return;
    size_t n = strlen(err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - n, fmt, ap);
    va_end(ap);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char *find(char *s, char c)
{
    while (*s && *s != c)
        s++;
    return *s ? s : NULL;
}

// Decimal, or hex after "0x"; no sign, no spaces. False on anything else, and
// on a value that does not fit in 64 bits rather than wrapping around.
static bool parse_uint(const char *s, uint64_t *out)
{
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        char lower = *s | 0x20;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && lower >= 'a' && lower <= 'f')
            d = (unsigned)(lower - 'a' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

// Stores one value, converted as the key's type says. *used counts the bytes
// of strbuf that earlier CFG_STR values took.
static int set_value(const struct cfg_key *k, const char *val, char *strbuf,
                     size_t strbuf_size, size_t *used, char *err, size_t errlen)
{
    switch (k->type) {
    case CFG_UINT: {
        uint64_t v;
        if (!parse_uint(val, &v) || v < k->min || v > k->max)
            return errorf(err, errlen, "bad value '%s' for %s: expected a number from "
                        "%lu to %lu", val, k->name, k->min, k->max);
        *(uint64_t *)k->dst = v;
        return 0;
    }
    case CFG_ENUM:
        for (unsigned i = 0; k->choices[i]; i++) {
            if (strcmp(val, k->choices[i]) == 0) {
                *(unsigned *)k->dst = i;
                return 0;
            }
        }
        errorf(err, errlen, "bad value '%s' for %s: expected one of ", val, k->name);
        for (unsigned i = 0; k->choices[i]; i++)
            append(err, errlen, "%s%s", i ? ", " : "", k->choices[i]);
        return -1;
    case CFG_STR: {
        size_t n = strlen(val) + 1;
        if (n > strbuf_size - *used)
            return errorf(err, errlen, "no room to keep the value of %s: the %zu bytes "
                        "of string space are used up", k->name, strbuf_size);
        char *copy = strbuf + *used;
        memcpy(copy, val, n);
        *used += n;
        *(const char **)k->dst = copy;
        return 0;
    }
    }
    return errorf(err, errlen, "key %s has an unknown type %d", k->name, (int)k->type);
}

int cmdline_parse(const char *line, const struct cfg_key *keys, size_t nkeys,
                  char *strbuf, size_t strbuf_size, char *err, size_t errlen)
{
    uint64_t seen = 0; // bit i: keys[i] was given, so a second time is an error
    size_t used = 0;
    if (nkeys > 64)
        return errorf(err, errlen, "%zu keys, more than the 64 cmdline_parse tracks", nkeys);
    // Every key and value is ASCII; any other byte (a control character, or
    // UTF-8) is a mistake, and must not reach the console inside a message.
    for (size_t i = 0; line[i]; i++)
        if (!is_space(line[i]) && (line[i] < ' ' || line[i] > '~'))
            return errorf(err, errlen, "byte 0x%02x at column %zu is not printable ASCII, "
                          "which is all the command line takes", (uint8_t)line[i], i + 1);

    for (bool first = true;; first = false) {
        while (is_space(*line))
            line++;
        if (!*line)
            return 0;
        size_t len = 0;
        while (line[len] && !is_space(line[len]))
            len++;
        char tok[TOKEN_MAX];
        size_t keep = len < sizeof(tok) ? len : sizeof(tok) - 1;
        memcpy(tok, line, keep);
        tok[keep] = '\0';
        line += len;
        if (keep < len) {
            tok[32] = '\0'; // the start is enough to find it, and keeps err short
            return errorf(err, errlen, "'%s...' is longer than %d characters", tok,
                        TOKEN_MAX - 1);
        }

        char *eq = find(tok, '=');
        if (first && !eq && find(tok, '/'))
            continue; // the kernel's own path, which GRUB or QEMU may pass first
        if (!eq)
            return errorf(err, errlen, "'%s' is not key=value", tok);
        if (!eq[1])
            return errorf(err, errlen, "'%s' has an empty value", tok);
        *eq = '\0'; // tok is now the key alone

        size_t i = 0;
        while (i < nkeys && strcmp(tok, keys[i].name) != 0)
            i++;
        if (i == nkeys) {
            errorf(err, errlen, "unknown key '%s' (known keys: ", tok);
            for (size_t j = 0; j < nkeys; j++)
                append(err, errlen, "%s%s", j ? ", " : "", keys[j].name);
            append(err, errlen, ")");
            return -1;
        }
        if (seen & BIT(i))
            return errorf(err, errlen, "key '%s' given twice", tok);
        seen |= BIT(i);
        if (set_value(&keys[i], eq + 1, strbuf, strbuf_size, &used, err, errlen))
            return -1;
    }
}
