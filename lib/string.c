// string.c: the few C string routines the freestanding kernel needs. gcc may
// emit calls to memset/memcpy/memmove/memcmp itself, so these must exist even
// where the source never names them.
#include "lib.h"

// REP STOSB / REP MOVSB: one instruction for the whole block, which CPUs with
// fast strings (and Bochs) run far faster than a byte loop; zeroing 4 MiB of
// guest RAM before every run is the largest job here.
void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    // 8 bytes a step where the block allows it (REP STOSQ): Bochs counts each
    // step as an instruction, and zeroing guest RAM before every run is 4 MiB.
    // (The 32-bit test kernels of guest/multiboot have no STOSQ: bytes there.)
#ifdef __x86_64__
    if (!(((uintptr_t)d | n) & 7)) {
        uint64_t q = 0x0101010101010101ull * (uint8_t)c;
        size_t words = n / 8;
        asm volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(q) : "memory");
        return dst;
    }
#endif
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

int strcmp(const char *a, const char *b)
{
    return strncmp(a, b, (size_t)-1);
}
