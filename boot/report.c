// report.c: test reporting in the kvm-unit-tests style. Each check prints
// "PASS: what was checked" or "FAIL: ..."; report_finish() prints the one
// summary line "N passed, N failed" and ends the run with PASS or FAIL.
// Checks a guest makes (HC_REPORT) count the same way; their lines are printed
// when they fail, or always with verbose=1. Text that comes from a guest goes
// through escape_text(), so a guest can never print a line that reads like the
// kernel's own (a forged "vmxlab: verdict PASS", say).
#include "boot.h"

static unsigned passed, failed, skipped;

static void vreport(const char *tag, const char *fmt, va_list ap)
{
    char buf[320];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    kprintf("%s: %s\n", tag, buf);
}

void report(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(ok ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
    if (ok)
        passed++;
    else
        failed++;
}

void report_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("SKIP", fmt, ap);
    va_end(ap);
    skipped++;
}

// Printable ASCII stays as it is, but for the backslash, which escapes; every
// other byte becomes \n, \r, \t or \xNN. dst is always NUL-terminated; the
// return value is the number of source bytes consumed.
size_t escape_text(char *dst, size_t size, const char *src, size_t n)
{
    size_t out = 0, i = 0;
    if (!size)
        return 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        char esc[5];
        size_t len;
        if (c >= ' ' && c <= '~' && c != '\\') {
            esc[0] = (char)c;
            len = 1;
        } else if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            len = 2;
        } else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = "0123456789abcdef"[c >> 4];
            esc[3] = "0123456789abcdef"[c & 15];
            len = 4;
        }
        if (out + len >= size)
            break;
        memcpy(dst + out, esc, len);
        out += len;
    }
    dst[out] = '\0';
    return i;
}

void report_guest(bool ok, const char *label, const char *text)
{
    if (ok)
        passed++;
    else
        failed++;
    if (ok && !cfg.verbose)
        return;
    char esc[256];
    escape_text(esc, sizeof(esc), text, strlen(text));
    kprintf("%s: %s: %s\n", ok ? "PASS" : "FAIL", label, esc);
}

// One console line per line of guest text; a line longer than a console line
// continues on the next, each with the prefix.
void guest_print(const char *label, const char *text, size_t n)
{
    while (n) {
        size_t len = 0;
        while (len < n && text[len] != '\n')
            len++;
        const char *p = text;
        size_t left = len;
        do {
            char esc[200];
            size_t used = escape_text(esc, sizeof(esc), p, left);
            kprintf("guest %s: %s\n", label, esc);
            p += used;
            left -= used;
        } while (left);
        text += len;
        n -= len;
        if (n) { // the newline itself
            text++;
            n--;
        }
    }
}

void report_finish(void)
{
    if (skipped)
        kprintf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    else
        kprintf("%u passed, %u failed\n", passed, failed);
    end_run(failed || !passed ? VERDICT_FAIL : VERDICT_PASS);
}
