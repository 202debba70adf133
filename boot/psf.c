// psf.c: reads a PC Screen Font, PSF1 or PSF2 (the formats of the console
// fonts in Debian's kbd package), into a struct psf_font: where the glyph
// bitmaps are, how big they are, and which glyph draws each ASCII character.
// Called by console.c for the framebuffer console and by tests/unit/test_psf.c.
// Pure and allocation-free: the result points into the caller's buffer.
#include "boot.h"

// PSF1: a 4-byte header, then 256 or 512 glyphs 8 pixels wide, a byte a row.
#define PSF1_MAGIC0 0x36
#define PSF1_MAGIC1 0x04
#define PSF1_MODE512 0x01    // 512 glyphs instead of 256
#define PSF1_MODEHASTAB 0x02 // a unicode table follows the glyphs
#define PSF1_MODEHASSEQ 0x04 // the same, and it may hold sequences
#define PSF1_SEPARATOR 0xffff
#define PSF1_STARTSEQ 0xfffe

// PSF2: a 32-byte little-endian header (headersize may say more), any glyph
// size, and a unicode table in UTF-8.
#define PSF2_MAGIC 0x864ab572 // bytes 72 b5 4a 86
#define PSF2_HAS_UNICODE_TABLE 0x01
#define PSF2_SEPARATOR 0xff
#define PSF2_STARTSEQ 0xfe

#define UNMAPPED 0xffff // in ascii[] while the table is read; never a glyph (count <= 0xffff)

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// The unicode table has one entry per glyph, in glyph order: the code points
// the glyph draws, then optionally STARTSEQ and sequences of combining code
// points, then SEPARATOR. Only single code points below 128 matter here, and
// the first glyph that claims one keeps it. PSF1 entries are 16-bit; PSF2 ones
// are UTF-8 bytes, where every byte of a multi-byte character is >= 0x80 and
// 0xfe/0xff never occur, so a byte below 0x80 is a whole ASCII character.
static int read_table(const uint8_t *p, const uint8_t *end, unsigned unit, struct psf_font *f)
{
    uint32_t sep = unit == 2 ? PSF1_SEPARATOR : PSF2_SEPARATOR;
    uint32_t startseq = unit == 2 ? PSF1_STARTSEQ : PSF2_STARTSEQ;
    for (uint32_t g = 0; g < f->count; g++) {
        bool in_seq = false;
        for (;;) {
            if ((size_t)(end - p) < unit)
                return -1; // the table runs off the end of the file
            uint32_t u = unit == 2 ? p[0] | (uint32_t)p[1] << 8 : p[0];
            p += unit;
            if (u == sep)
                break;
            if (u == startseq)
                in_seq = true;
            else if (!in_seq && u < 128 && f->ascii[u] == UNMAPPED)
                f->ascii[u] = (uint16_t)g;
        }
    }
    return 0;
}

int psf_load(const void *data, size_t size, struct psf_font *font)
{
    const uint8_t *p = data;
    uint64_t header, charsize;
    unsigned unit; // bytes per unicode table element
    bool has_table;

    if (size >= 4 && p[0] == PSF1_MAGIC0 && p[1] == PSF1_MAGIC1) {
        header = 4;
        font->count = p[2] & PSF1_MODE512 ? 512 : 256;
        has_table = p[2] & (PSF1_MODEHASTAB | PSF1_MODEHASSEQ);
        charsize = p[3];
        font->height = p[3];
        font->width = 8;
        unit = 2;
    } else if (size >= 32 && le32(p) == PSF2_MAGIC) {
        header = le32(p + 8);
        has_table = le32(p + 12) & PSF2_HAS_UNICODE_TABLE;
        font->count = le32(p + 16);
        charsize = le32(p + 20);
        font->height = le32(p + 24);
        font->width = le32(p + 28);
        unit = 1;
        if (header < 32)
            return -1;
    } else {
        return -1;
    }

    // No console font has glyphs over 255 pixels or more than 65535 of them;
    // refusing such values keeps every product below far from overflow and
    // every glyph index within ascii[]'s uint16_t.
    if (font->width == 0 || font->width > 255 || font->height == 0 || font->height > 255 ||
        font->count == 0 || font->count > 0xffff)
        return -1;
    font->bytes_per_row = (font->width + 7) / 8;
    if (charsize < (uint64_t)font->bytes_per_row * font->height)
        return -1; // a glyph smaller than its own bitmap
    font->bytes_per_glyph = (uint32_t)charsize;
    uint64_t glyph_end = header + font->count * charsize;
    if (glyph_end > size)
        return -1;
    font->glyphs = p + header;

    for (unsigned c = 0; c < 128; c++)
        font->ascii[c] = (has_table || c >= font->count) ? UNMAPPED : c;
    if (has_table && read_table(p + glyph_end, p + size, unit, font) < 0)
        return -1;
    uint16_t fallback = font->ascii['?'] == UNMAPPED ? 0 : font->ascii['?'];
    for (unsigned c = 0; c < 128; c++)
        if (font->ascii[c] == UNMAPPED)
            font->ascii[c] = fallback;
    return 0;
}
