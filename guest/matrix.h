// matrix.h: one entry of the access-rights matrix (struct matrix_entry,
// guest/abi.h) in words, so that the guest's oracle (guest/matrix.c) and the
// hypervisor's comparison of records (hv/run/matrix.c) describe an entry the same
// way: "4 KiB page, PDE U=1 W=0 XD=0, PTE U=1 W=1 XD=0, WP=0 NXE=1, CPL 3
// write" and "#PF(0x7), CR2 0x8000000000, A=0 D=0". Freestanding, no
// printf: both sides compile it. Text is cut at the buffer's end, never overrun.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "abi.h"

// A bounded string: len counts what was put, even past the end; buf is
// always NUL-terminated within size (size > 0).
struct text {
    char *buf;
    size_t size, len;
};

static inline void text_put(struct text *t, const char *s)
{
    for (; *s; s++, t->len++)
        if (t->len + 1 < t->size)
            t->buf[t->len] = *s;
    t->buf[t->len + 1 < t->size ? t->len : t->size - 1] = '\0';
}

static inline void text_num(struct text *t, uint64_t v, unsigned base) // base 10, or 16 with 0x
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    char s[28], *p = s;
    if (base == 16) {
        *p++ = '0';
        *p++ = 'x';
    }
    while (n)
        *p++ = digits[--n];
    *p = '\0';
    text_put(t, s);
}

static inline void mx_put_bits(struct text *t, const char *entry, uint8_t bits)
{
    text_put(t, entry);
    text_put(t, (bits & MX_U) ? " U=1" : " U=0");
    text_put(t, (bits & MX_W) ? " W=1" : " W=0");
    text_put(t, (bits & MX_XD) ? " XD=1" : " XD=0");
}

// The MOV-to-CR cases (MX_CR3_BIT63 and after) touch no page: their
// inputs are the instruction and the mode, their outcome the fault and the
// register read back.
static inline int mx_is_cr_case(const struct matrix_entry *e)
{
    return e->access >= MX_CR3_BIT63;
}

// The level whose entry maps the page: its A bit is the leaf's.
static inline uint8_t mx_leaf_a(const struct matrix_entry *e)
{
    return e->page == MX_PAGE_4K ? MX_A_PTE : e->page == MX_PAGE_2M ? MX_A_PDE : MX_A_PDPTE;
}

// What was set up: page size, the bits of each entry that maps it, CR0.WP,
// EFER.NXE, the CR4 bits set, CPL and the access.
static inline void mx_put_inputs(struct text *t, const struct matrix_entry *e)
{
    static const char *const access[] = {
        [MX_READ] = " read", [MX_WRITE] = " write", [MX_EXEC] = " execute",
        [MX_WRITE_EXEC] = " write, then execute",
        [MX_PUSH_GP] = " #GP delivered onto it", [MX_PUSH_PF] = " #PF delivered onto it",
        [MX_PUSH_DB] = " single-step #DB delivered onto it",
        [MX_WRITE_SMAP_READ] = " write with SMAP=0, then read",
        [MX_CR3_BIT63] = "MOV to CR3 with bit 63 set",
        [MX_CR3_HIGH] = "MOV to CR3 with bit MAXPHYADDR set",
        [MX_CR3_BOTH] = "MOV to CR3 with bits 63 and MAXPHYADDR set",
        [MX_CR0_PG_OFF] = "MOV to CR0 clearing PG in 64-bit mode",
        [MX_CR0_PG_OFF_COMPAT] = "MOV to CR0 clearing PG in compatibility mode",
    };
    const char *what = e->access <= MX_CR0_PG_OFF_COMPAT ? access[e->access]
                                                          : " (unknown access)";
    if (mx_is_cr_case(e)) {
        text_put(t, what);
        text_put(t, (e->mode & MX_PCIDE) ? ", PCIDE=1" : ", PCIDE=0");
        return;
    }
    static const char *const page[] = { [MX_PAGE_4K] = "4 KiB page, PDE",
                                         [MX_PAGE_2M] = "2 MiB page, PDE",
                                         [MX_PAGE_1G] = "1 GiB page, PDPTE" };
    mx_put_bits(t, e->page <= MX_PAGE_1G ? page[e->page] : "(unknown page), PDE", e->pde);
    if (e->page == MX_PAGE_4K)
        mx_put_bits(t, ", PTE", e->pte);
    text_put(t, (e->mode & MX_WP) ? ", WP=1" : ", WP=0");
    text_put(t, (e->mode & MX_NXE) ? " NXE=1" : " NXE=0");
    text_put(t, (e->mode & MX_SMEP) ? " SMEP=1" : "");
    text_put(t, (e->mode & MX_SMAP) ? " SMAP=1" : "");
    text_put(t, (e->mode & MX_CPL3) ? ", CPL 3" : ", CPL 0");
    text_put(t, what);
    if (e->mode & MX_A_CLEAR)
        text_put(t, ", all A clear");
}

// What happened: the fault (or none), CR2 (or the register a MOV-to-CR case
// read back), the leaf's A and D, and the A bits of the levels above the
// leaf when they are not all set.
static inline void mx_put_outcome(struct text *t, const struct matrix_entry *e)
{
    if (e->faulted == MX_NOT_RUN) {
        text_put(t, "not run: this CPU lacks what it needs");
        return;
    }
    if (!e->faulted) {
        text_put(t, "no fault");
    } else {
        if (e->vector == 14) {
            text_put(t, "#PF(");
        } else {
            text_put(t, "vector ");
            text_num(t, e->vector, 10);
            text_put(t, " (");
        }
        text_num(t, e->error, 16);
        text_put(t, ")");
    }
    if (mx_is_cr_case(e)) {
        text_put(t, e->access <= MX_CR3_BOTH ? ", CR3 " : ", CR0 ");
        text_num(t, e->cr2, 16);
        if (e->accessed || e->dirty) { // no page is touched: shown only if set
            text_put(t, ", A bits ");
            text_num(t, e->accessed, 16);
            text_put(t, e->dirty ? " D=1" : " D=0");
        }
        return;
    }
    if (e->faulted || e->cr2) {
        text_put(t, ", CR2 ");
        text_num(t, e->cr2, 16);
    }
    uint8_t leaf = mx_leaf_a(e);
    text_put(t, (e->accessed & leaf) ? ", A=1" : ", A=0");
    text_put(t, e->dirty ? " D=1" : " D=0");
    uint8_t upper = (uint8_t)((leaf - 1) & ~e->accessed);
    if (upper) { // levels above the leaf whose A is clear
        text_put(t, " (A clear in");
        text_put(t, (upper & MX_A_PML4E) ? " PML4E" : "");
        text_put(t, (upper & MX_A_PDPTE) ? " PDPTE" : "");
        text_put(t, (upper & MX_A_PDE) ? " PDE" : "");
        text_put(t, ")");
    }
}
