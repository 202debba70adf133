// fuzz_cmdline.c: libFuzzer harness for cmdline_parse() (boot/cmdline.c) with
// the kernel's own keys (boot/config.c), called as kmain() calls it: the same
// string space and error buffer sizes. The input, up to its first NUL, is the
// command line. A plain reference of the documented rules says whether the
// line must be accepted; the values stored must be the line's, each inside
// its key's bounds, and every key not given keeps its default. cfg is reset
// to the defaults before each input. Run by `make fuzz` and `make test`.
#include "fuzz.h"

#include "../../boot/boot.h"

#define STRBUF 256 // kmain()'s string space
#define ERRLEN 160 // and its error buffer
#define TOKEN_MAX 255

static struct config defaults;

// What the reference makes of one key=value: its value, or NULL if not given.
struct given {
    const char *val;
    size_t len;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

// A number as the key's type takes it: decimal, or hex after 0x; no sign.
static bool number(const char *s, size_t n, uint64_t *out)
{
    unsigned base = 10;
    if (n > 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
        base = 16;
        s += 2;
        n -= 2;
    } else if (n == 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
        return false;
    }
    unsigned __int128 v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] | 0x20;
        unsigned d = s[i] >= '0' && s[i] <= '9' ? (unsigned)(s[i] - '0')
                     : base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 99;
        if (d >= base)
            return false;
        v = v * base + d;
        if (v > UINT64_MAX)
            return false;
    }
    *out = (uint64_t)v;
    return n > 0;
}

static bool value_ok(const struct cfg_key *k, const char *v, size_t n, size_t *used)
{
    uint64_t x;
    switch (k->type) {
    case CFG_UINT:
        return number(v, n, &x) && x >= k->min && x <= k->max;
    case CFG_ENUM:
        for (unsigned i = 0; k->choices[i]; i++)
            if (strlen(k->choices[i]) == n && !memcmp(k->choices[i], v, n))
                return true;
        return false;
    case CFG_STR:
        *used += n + 1;
        return *used <= STRBUF;
    }
    return false;
}

// The rules README.md and cmdline.c state: printable ASCII only, tokens split
// at spaces and tabs, each key=value with a known key given once and a valid
// non-empty value; a first token with a '/' and no '=' is the kernel's path.
// True if the line must be accepted; given[] then holds each key's value.
static bool reference(const char *line, struct given *given)
{
    size_t used = 0;
    memset(given, 0, config_nkeys * sizeof(*given));
    for (const char *p = line; *p; p++) // printable ASCII, and tabs
        if (!is_space(*p) && (*p < ' ' || *p > '~'))
            return false;
    for (bool first = true;; first = false) {
        while (is_space(*line))
            line++;
        if (!*line)
            return true;
        size_t len = 0;
        while (line[len] && !is_space(line[len]))
            len++;
        const char *tok = line, *eq = memchr(tok, '=', len);
        line += len;
        if (len > TOKEN_MAX)
            return false;
        if (first && !eq && memchr(tok, '/', len))
            continue;
        if (!eq || eq + 1 == tok + len)
            return false;
        size_t klen = (size_t)(eq - tok), i = 0;
        while (i < config_nkeys &&
               !(strlen(config_keys[i].name) == klen && !memcmp(config_keys[i].name, tok, klen)))
            i++;
        if (i == config_nkeys || given[i].val)
            return false;
        given[i] = (struct given){ eq + 1, len - klen - 1 };
        if (!value_ok(&config_keys[i], given[i].val, given[i].len, &used))
            return false;
    }
}

static size_t dst_size(const struct cfg_key *k)
{
    return k->type == CFG_UINT ? sizeof(uint64_t) : k->type == CFG_ENUM ? sizeof(unsigned)
                                                                        : sizeof(char *);
}

// Each key's value after a parse that succeeded.
static void check_key(const struct cfg_key *k, const struct given *g, const char *strbuf)
{
    size_t off = (size_t)((const char *)k->dst - (const char *)&cfg);
    check(off + dst_size(k) <= sizeof(cfg), "key %s does not store into cfg", k->name);
    if (!g->val) {
        check(!memcmp((const char *)&cfg + off, (const char *)&defaults + off, dst_size(k)),
              "%s changed, but the line does not give it", k->name);
        return;
    }
    switch (k->type) {
    case CFG_UINT: {
        uint64_t want = 0, got = *(const uint64_t *)k->dst;
        number(g->val, g->len, &want);
        check(got == want, "%s is %llu, the line says '%.*s'", k->name,
              (unsigned long long)got, (int)g->len, g->val);
        check(got >= k->min && got <= k->max, "%s is %llu, outside %llu to %llu", k->name,
              (unsigned long long)got, (unsigned long long)k->min,
              (unsigned long long)k->max);
        break;
    }
    case CFG_ENUM: {
        unsigned got = *(const unsigned *)k->dst, n = 0;
        while (k->choices[n])
            n++;
        check(got < n, "%s is choice %u of %u", k->name, got, n);
        check(strlen(k->choices[got]) == g->len && !memcmp(k->choices[got], g->val, g->len),
              "%s is '%s', the line says '%.*s'", k->name, k->choices[got], (int)g->len, g->val);
        break;
    }
    case CFG_STR: {
        const char *got = *(const char *const *)k->dst;
        check(string_inside(got, strbuf, STRBUF), "%s is not kept in the string space", k->name);
        check(strlen(got) == g->len && !memcmp(got, g->val, g->len),
              "%s is '%s', the line says '%.*s'", k->name, got, (int)g->len, g->val);
        break;
    }
    }
}

// config_test_selected(): exact matches of comma-separated items of tests=;
// a comma at the very end closes the list (it adds no empty item).
static bool selected(const char *tests, const char *name)
{
    if (!*tests)
        return true;
    size_t n = strlen(name);
    while (*tests) {
        size_t len = strcspn(tests, ",");
        if (len == n && !memcmp(tests, name, n))
            return true;
        tests += len + (tests[len] == ',');
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        defaults = cfg; // as config.c initialises it
        ready = true;
    }
    cfg = defaults;
    size_t n = strnlen((const char *)data, size);
    char *line = malloc(n + 1), *strbuf = malloc(STRBUF), *err = malloc(ERRLEN);
    memcpy(line, data, n);
    line[n] = '\0';
    memset(err, 0x5a, ERRLEN);

    struct given given[64];
    check(config_nkeys <= 64, "%zu keys", config_nkeys);
    bool want = reference(line, given);
    int rc = cmdline_parse(line, config_keys, config_nkeys, strbuf, STRBUF, err, ERRLEN);
    check(rc == 0 || rc == -1, "returned %d", rc);
    if (rc)
        check_refusal(err, ERRLEN);
    check(want == !rc, "%s a line the rules %s: '%s'%s%s", rc ? "refused" : "accepted",
          want ? "accept" : "refuse", line, rc ? ": " : "", rc ? err : "");
    if (!rc) {
        for (size_t i = 0; i < config_nkeys; i++)
            check_key(&config_keys[i], &given[i], strbuf);
        static const char *const names[] = { "", "baseline", "wp-toggle", "wp", "bad-guest" };
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
            check(config_test_selected(names[i]) == selected(cfg.tests, names[i]),
                  "tests=%s selects '%s' wrongly", cfg.tests, names[i]);
        for (const char *t = cfg.tests; *t;) { // each item given selects itself
            char item[TOKEN_MAX + 1];
            size_t len = strcspn(t, ",");
            memcpy(item, t, len);
            item[len] = '\0';
            check(config_test_selected(item), "tests=%s does not select '%s'", cfg.tests, item);
            t += len + (t[len] == ',');
        }
    }
    free(line);
    free(strbuf);
    free(err);
    return 0;
}
