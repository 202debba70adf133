// fuzz.h: what the libFuzzer harnesses in tests/fuzz share. Each harness
// (fuzz_NAME.c) is linked with the kernel's own C files, as tests/unit does,
// and includes this once: it supplies the console kprintf writes to (kept, so
// a harness can judge what the kernel would have printed) and check(), which
// aborts with a message when a parser breaks its contract, so that libFuzzer
// saves the input as a crash. No state is kept between inputs but the console.
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// "no crash" is not enough: each harness states what the parser promises.
#define check(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "\ncontract broken (%s:%d): ", __FILE__, __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
            abort();                                                              \
        }                                                                         \
    } while (0)

// What kprintf() sent to the console since the harness last cleared it: one
// boot's worth of lines at most, the rest is counted but dropped.
static char console[16384];
static size_t console_len;

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, console_len++)
        if (console_len < sizeof(console) - 1)
            console[console_len] = s[i];
    console[console_len < sizeof(console) ? console_len : sizeof(console) - 1] = '\0';
}

static inline void console_clear(void)
{
    console_len = 0;
    console[0] = '\0';
}

// Printable ASCII, plus newlines where lines may end: what may reach the
// serial line and the screen, where a stray control byte would garble the
// output or a newline start a line the runner would take for the kernel's.
static inline bool printable(const char *s, size_t n, bool newlines)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= ' ' && s[i] <= '~') || (newlines && s[i] == '\n')))
            return false;
    return true;
}

// A parser's refusal: a message that says something, NUL-terminated inside
// its buffer, one printable line.
static inline void check_refusal(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);
    check(n < errlen, "the error message is not NUL-terminated in its %zu bytes", errlen);
    check(n > 0, "refused without a message");
    check(printable(err, n, false), "the error message is not one printable line: '%s'", err);
}

// Is [p, p + n) inside [base, base + size)? Without forming p + n.
static inline bool inside(const void *p, size_t n, const void *base, size_t size)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && a - b <= size && n <= size - (a - b);
}

// A NUL-terminated string that starts, and ends, inside [base, base + size).
static inline bool string_inside(const char *s, const void *base, size_t size)
{
    if (!inside(s, 0, base, size))
        return false;
    size_t room = size - (size_t)((uintptr_t)s - (uintptr_t)base);
    return strnlen(s, room) < room;
}

// Little-endian reads of fuzzer bytes, zero past the end.
static inline uint64_t le_at(const uint8_t *d, size_t size, size_t off, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i--;)
        v = v << 8 | (off + i < size ? d[off + i] : 0);
    return v;
}
