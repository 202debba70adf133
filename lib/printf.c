// printf.c: a small vsnprintf, the formatter behind every line vmxlab prints
// (console tables, PASS/FAIL lines, vmxlab-result JSON). Pure: the host unit
// tests link it unchanged. kprintf formats into a stack buffer and hands the
// text to console_write(), which the kernel implements in boot/console.c.
#include "lib.h"

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_num(struct out *o, uint64_t v, unsigned base, bool neg,
                    unsigned width, char pad, bool left)
{
    char tmp[24];
    unsigned n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    unsigned len = n + neg;
    if (neg && pad == '0')
        put(o, '-');
    for (; !left && width > len; width--)
        put(o, pad);
    if (neg && pad != '0')
        put(o, '-');
    while (n)
        put(o, tmp[--n]);
    for (; left && width > len; width--)
        put(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        bool left = false;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = true;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        unsigned width = 0;
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (unsigned)(*fmt++ - '0');
        int lng = 0;
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0,
                    width, left ? ' ' : pad, left);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            put_num(&o, v, *fmt == 'u' ? 10 : 16, false, width,
                    left ? ' ' : pad, left);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, pad,
                    left);
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = strlen(s);
            for (; !left && width > n; width--)
                put(&o, ' ');
            while (*s)
                put(&o, *s++);
            for (; left && width > n; width--)
                put(&o, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        default: // unknown conversion: print it as is, so the bug shows
            put(&o, '%');
            if (!*fmt)
                goto done;
            put(&o, *fmt);
        }
    }
done:
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int appendf(char *buf, size_t size, int n, const char *fmt, ...)
{
    size_t used = (size_t)n < size ? (size_t)n : size;
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
    return n;
}

int errorf(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

// A line longer than the buffer is cut, and ends with "...\n" so that it still
// ends: the lines that can be long (the JSON results) are written whole with
// console_write() by their callers instead.
void kprintf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(buf)) {
        memcpy(buf + sizeof(buf) - 5, "...\n", 5);
        n = sizeof(buf) - 1;
    }
    console_write(buf, (size_t)n);
}
