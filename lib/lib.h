// lib.h: freestanding helpers shared by the kernel, the host unit tests and
// (string functions only) the guests. Nothing here touches hardware: the
// kernel supplies console_write() for kprintf, the unit tests supply their own.
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define BIT(n) (1ull << (n))

// string.c
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

// printf.c: %[-0][width][l|ll|z]{d,u,x,s,c,p,%}; snprintf always NUL-terminates
// and returns the length it wanted, as C99 does.
#ifdef HOST_TEST
// Host unit tests link libc too (cmocka uses it): rename ours so both coexist
// and the tests exercise this implementation, not libc's.
#define vsnprintf lib_vsnprintf
#define snprintf lib_snprintf
#define kprintf lib_kprintf
#endif
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// snprintf at the end of what buf holds, n the characters wanted so far: returns the
// new total, which, as snprintf's, counts what a short buffer could not take.
int appendf(char *buf, size_t size, int n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// snprintf into an error buffer, then return -1: the parsers' one failure path.
int errorf(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Provided by whoever links lib/printf.c with kprintf: the kernel's console.
void console_write(const char *s, size_t n);
