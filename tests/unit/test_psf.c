// test_psf.c: host unit tests (cmocka) for boot/psf.c. Loads the real console
// font the kernel embeds (FONT_PSF, unpacked by the Makefile), small fonts
// built here byte by byte (PSF1 and PSF2, with and without unicode tables),
// and broken ones, each copied into a buffer of exactly its size so ASan
// catches any read past the end. Run by `make unit`; leaves nothing behind.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/boot.h"

#ifndef FONT_PSF
#define FONT_PSF "build/font.psf"
#endif

// The Makefile links lib/printf.c into every unit test; its kprintf needs a
// console. Nothing here prints through it.
void console_write(const char *s, size_t n)
{
    fwrite(s, 1, n, stdout);
}

// psf_load on a heap copy of exactly n bytes: one byte more read is an ASan error.
static int load(const void *data, size_t n, struct psf_font *f)
{
    void *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, data, n);
    int r = psf_load(copy, n, f);
    free(copy); // f->glyphs dangles now: callers only look at the numbers
    return r;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static bool glyph_blank(const struct psf_font *f, unsigned g)
{
    for (uint32_t i = 0; i < f->bytes_per_glyph; i++)
        if (f->glyphs[g * f->bytes_per_glyph + i])
            return false;
    return true;
}

// ---- the real font --------------------------------------------------------

static uint8_t *real_font;
static size_t real_size;

static int read_real_font(void **state)
{
    (void)state;
    FILE *fp = fopen(FONT_PSF, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open %s (run make first)\n", FONT_PSF);
        return -1;
    }
    real_font = malloc(1 << 20);
    real_size = fread(real_font, 1, 1 << 20, fp);
    fclose(fp);
    return real_size > 0 ? 0 : -1;
}

static int free_real_font(void **state)
{
    (void)state;
    free(real_font);
    return 0;
}

static void test_real_font(void **state)
{
    (void)state;
    struct psf_font f;
    assert_int_equal(psf_load(real_font, real_size, &f), 0);
    assert_int_equal(f.width, 8);
    assert_int_equal(f.height, 16);
    assert_true(f.count == 256 || f.count == 512);
    assert_int_equal(f.bytes_per_row, 1);
    assert_int_equal(f.bytes_per_glyph, 16);
    assert_ptr_equal(f.glyphs, real_font + 4); // PSF1: glyphs follow the 4-byte header

    // Every printable character other than space has its own non-blank glyph.
    for (unsigned c = '!'; c <= '~'; c++) {
        assert_true(f.ascii[c] < f.count);
        assert_false(glyph_blank(&f, f.ascii[c]));
        for (unsigned d = '!'; d < c; d++)
            assert_int_not_equal(f.ascii[c], f.ascii[d]);
    }
    assert_memory_not_equal(f.glyphs + f.ascii['A'] * 16, f.glyphs + f.ascii['B'] * 16, 16);
    assert_true(glyph_blank(&f, f.ascii[' ']));
    // Lat15's table gives no glyph to control characters: they get '?'. An
    // identity mapping (table ignored) would give them glyph 1, a smiley.
    assert_int_equal(f.ascii[1], f.ascii['?']);
    assert_int_equal(f.ascii[0x7f], f.ascii['?']);
}

// Cut inside the glyphs, or one byte short of the end of the unicode table.
static void test_real_font_truncated(void **state)
{
    (void)state;
    struct psf_font f;
    assert_int_equal(load(real_font, 4 + 256 * 16 - 1, &f), -1);
    assert_int_equal(load(real_font, 4 + 100, &f), -1);
    assert_int_equal(load(real_font, real_size - 1, &f), -1);
    assert_int_equal(load(real_font, real_size - 2, &f), -1);
    assert_int_equal(load(real_font, real_size, &f), 0);
}

// ---- PSF2 built by hand ---------------------------------------------------

// Four glyphs 10x3 (2 bytes a row, so 6 a glyph) behind a 40-byte header
// (8 bytes more than the minimum, which psf_load must skip), then a table:
//   glyph 0: U+00E9 (UTF-8 c3 a9)
//   glyph 1: 'A' 'a'
//   glyph 2: 'B', then a sequence "C x" that must not map 'C' or 'x'
//   glyph 3: '?', and a second claim on 'A' that glyph 1 already holds
static size_t build_psf2(uint8_t *b, bool table)
{
    static const uint8_t unicode[] = {
        0xc3, 0xa9, 0xff,
        'A', 'a', 0xff,
        'B', 0xfe, 'C', 'x', 0xff,
        '?', 'A', 0xff,
    };
    memset(b, 0, 40);
    b[0] = 0x72, b[1] = 0xb5, b[2] = 0x4a, b[3] = 0x86;
    put32(b + 8, 40);         // headersize
    put32(b + 12, table);     // flags: unicode table
    put32(b + 16, 4);         // length (glyph count)
    put32(b + 20, 6);         // charsize
    put32(b + 24, 3);         // height
    put32(b + 28, 10);        // width
    for (unsigned i = 0; i < 4 * 6; i++)
        b[40 + i] = (uint8_t)(0x10 + i); // glyph g starts with byte 0x10 + 6g
    size_t n = 40 + 4 * 6;
    if (table) {
        memcpy(b + n, unicode, sizeof unicode);
        n += sizeof unicode;
    }
    return n;
}

static void test_psf2_table(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = build_psf2(b, true);
    struct psf_font f;
    assert_int_equal(psf_load(b, n, &f), 0);
    assert_int_equal(f.count, 4);
    assert_int_equal(f.width, 10);
    assert_int_equal(f.height, 3);
    assert_int_equal(f.bytes_per_row, 2);
    assert_int_equal(f.bytes_per_glyph, 6);
    assert_ptr_equal(f.glyphs, b + 40);
    assert_int_equal(f.glyphs[2 * 6], 0x10 + 12);

    assert_int_equal(f.ascii['A'], 1);
    assert_int_equal(f.ascii['a'], 1);
    assert_int_equal(f.ascii['B'], 2);
    assert_int_equal(f.ascii['?'], 3);
    // Only in a sequence, or absent: the '?' glyph.
    assert_int_equal(f.ascii['C'], 3);
    assert_int_equal(f.ascii['x'], 3);
    assert_int_equal(f.ascii['Z'], 3);
    assert_int_equal(f.ascii[0], 3);
    // The second byte of U+00E9 is not the character 0x29 ')'.
    assert_int_equal(f.ascii[')'], 3);
}

// No table: identity while there are glyphs, then glyph 0 since '?' (63) has none.
static void test_psf2_no_table(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = build_psf2(b, false);
    struct psf_font f;
    assert_int_equal(psf_load(b, n, &f), 0);
    for (unsigned c = 0; c < 4; c++)
        assert_int_equal(f.ascii[c], c);
    assert_int_equal(f.ascii[4], 0);
    assert_int_equal(f.ascii['A'], 0);
    assert_int_equal(f.ascii['?'], 0);
}

static void test_psf2_malformed(void **state)
{
    (void)state;
    uint8_t b[256];
    struct psf_font f;
    size_t n = build_psf2(b, true);
    assert_int_equal(load(b, n, &f), 0);

    assert_int_equal(load(b, 31, &f), -1);          // truncated header
    assert_int_equal(load(b, 40 + 4 * 6 - 1, &f), -1); // truncated glyphs
    assert_int_equal(load(b, n - 1, &f), -1);       // last separator missing
    assert_int_equal(load(b, n - 3, &f), -1);       // last entry cut short

    uint8_t c[256];
#define MUTATE(off, val)          \
    do {                          \
        memcpy(c, b, n);          \
        put32(c + (off), (val));  \
        assert_int_equal(load(c, n, &f), -1); \
    } while (0)
    MUTATE(0, 0x864ab573);     // bad magic
    MUTATE(8, 31);             // headersize smaller than the header
    MUTATE(8, 1000);           // headersize past the end
    MUTATE(16, 0);             // no glyphs
    MUTATE(16, 5);             // one glyph more than the data holds
    MUTATE(16, 0xffffffff);    // count * charsize would overflow 32 bits
    MUTATE(20, 5);             // charsize smaller than 2 bytes x 3 rows
    MUTATE(20, 0xffffffff);
    MUTATE(24, 0);             // height 0
    MUTATE(28, 0);             // width 0
    MUTATE(28, 0xfffffffa);    // (width + 7) / 8 would wrap around
#undef MUTATE
}

// ---- PSF1 built by hand ---------------------------------------------------

// 256 or 512 glyphs of 2 rows; glyph g's first byte is g & 0xff. With a
// table, glyph 5 is 'A', glyph 7 is 'B' plus the sequence "C", glyph 9 is
// '?', and every other glyph has an empty entry.
static uint8_t *build_psf1(size_t *size, bool table, bool mode512)
{
    unsigned count = mode512 ? 512 : 256;
    uint8_t *b = calloc(1, 4 + count * 2 + count * 2 + 16);
    b[0] = 0x36, b[1] = 0x04;
    b[2] = (uint8_t)((mode512 ? 1 : 0) | (table ? 2 : 0));
    b[3] = 2;
    for (unsigned g = 0; g < count; g++)
        b[4 + 2 * g] = (uint8_t)g;
    size_t n = 4 + count * 2;
    for (unsigned g = 0; table && g < count; g++) {
        if (g == 5)
            put16(b + n, 'A'), n += 2;
        if (g == 7) {
            put16(b + n, 'B'), put16(b + n + 2, 0xfffe), put16(b + n + 4, 'C');
            n += 6;
        }
        if (g == 9)
            put16(b + n, '?'), n += 2;
        put16(b + n, 0xffff), n += 2;
    }
    *size = n;
    return b;
}

static void test_psf1_table(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = build_psf1(&n, true, true);
    struct psf_font f;
    assert_int_equal(load(b, n, &f), 0);
    assert_int_equal(f.count, 512);
    assert_int_equal(f.width, 8);
    assert_int_equal(f.height, 2);
    assert_int_equal(f.bytes_per_glyph, 2);
    assert_int_equal(f.ascii['A'], 5);
    assert_int_equal(f.ascii['B'], 7);
    assert_int_equal(f.ascii['?'], 9);
    assert_int_equal(f.ascii['C'], 9); // only in a sequence
    assert_int_equal(f.ascii['D'], 9);
    b[2] = 0x01 | 0x04; // mode 512 + HASSEQ: also announces a table
    assert_int_equal(load(b, n, &f), 0);
    assert_int_equal(f.ascii['A'], 5);

    assert_int_equal(load(b, n - 1, &f), -1); // half a code point at the end
    assert_int_equal(load(b, n - 2, &f), -1); // last separator missing
    assert_int_equal(load(b, 4 + 512 * 2 - 1, &f), -1); // truncated glyphs
    assert_int_equal(load(b, 3, &f), -1);     // truncated header
    b[1] = 0x05;
    assert_int_equal(load(b, n, &f), -1);     // bad magic
    free(b);
}

static void test_psf1_no_table(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = build_psf1(&n, false, false);
    struct psf_font f;
    assert_int_equal(load(b, n, &f), 0);
    assert_int_equal(f.count, 256);
    for (unsigned c = 0; c < 128; c++)
        assert_int_equal(f.ascii[c], c);
    b[3] = 0; // charsize 0: no rows at all
    assert_int_equal(load(b, n, &f), -1);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_font),
        cmocka_unit_test(test_real_font_truncated),
        cmocka_unit_test(test_psf2_table),
        cmocka_unit_test(test_psf2_no_table),
        cmocka_unit_test(test_psf2_malformed),
        cmocka_unit_test(test_psf1_table),
        cmocka_unit_test(test_psf1_no_table),
    };
    return cmocka_run_group_tests_name("psf", tests, read_real_font, free_real_font);
}
