// screen.c: the text console on a screen, for boot/console.c: VGA text cells,
// or a linear framebuffer drawn with a PSF font (UEFI has no text mode). The
// text lives in RAM (text[]) and video memory is only written, never read:
// reads from it are uncached and slow, and a scroll that read a large
// framebuffer would take a visible while. Scrolling moves text[] up a row and
// redraws only the cells whose character changed. Pure: console.c hands it
// the video memory, tests/unit/test_screen.c fake video memory.
#include "boot.h"

#define VGA_ATTR 0x0700 // light grey on black, in the high byte of each cell
#define GREY 0xaa       // the VGA palette's light grey, per channel
#define TEXT_MAX (256 * 128) // characters: a 4K screen in an 8x16 font fits

static enum { SCREEN_NONE, SCREEN_VGA, SCREEN_FB } kind;
static unsigned cols, rows, col, row; // screen size and cursor, in characters
static uint16_t *vga;
static struct fb_info fb;
static uint8_t *fb_base;
static uint32_t fb_fg; // the pixel value for text
static struct psf_font font;
static char text[TEXT_MAX]; // the screen's characters, row by row

// A pixel value for an 8-bit-per-channel grey, fitted to each channel's
// position and size as the loader reported them (multiboot2 spec 3.6.12).
static uint32_t channel(uint8_t v, uint8_t pos, uint8_t size)
{
    return size >= 8 ? (uint32_t)v << (pos + size - 8) : (uint32_t)(v >> (8 - size)) << pos;
}

static void put_pixel(uint8_t *p, uint32_t v)
{
    if (fb.bpp == 32) {
        *(uint32_t *)p = v;
    } else if (fb.bpp == 24) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
    } else {
        *(uint16_t *)p = (uint16_t)v;
    }
}

static void draw(unsigned x, unsigned y, char c)
{
    if (kind == SCREEN_VGA) {
        vga[y * cols + x] = VGA_ATTR | (uint8_t)c;
        return;
    }
    const uint8_t *g = font.glyphs + font.ascii[(uint8_t)c] * font.bytes_per_glyph;
    unsigned bytes_pp = fb.bpp / 8;
    for (unsigned gy = 0; gy < font.height; gy++, g += font.bytes_per_row) {
        uint8_t *p = fb_base + (uint64_t)(y * font.height + gy) * fb.pitch +
                     x * font.width * bytes_pp;
        for (unsigned gx = 0; gx < font.width; gx++, p += bytes_pp)
            put_pixel(p, g[gx / 8] & (0x80 >> (gx % 8)) ? fb_fg : 0);
    }
}

// The one way a cell changes: in text[] first, on the screen only if it did.
static void set(unsigned x, unsigned y, char c)
{
    if (text[y * cols + x] != c) {
        text[y * cols + x] = c;
        draw(x, y, c);
    }
}

// Every row up one, the bottom one blank: read from text[], never from video
// memory. Row y + 1 is read before it is itself rewritten.
static void scroll(void)
{
    for (unsigned y = 0; y < rows; y++)
        for (unsigned x = 0; x < cols; x++)
            set(x, y, y + 1 < rows ? text[(y + 1) * cols + x] : ' ');
}

static void newline(void)
{
    col = 0;
    if (++row == rows) {
        scroll();
        row = rows - 1;
    }
}

void screen_putc(char c)
{
    if (kind == SCREEN_NONE)
        return;
    if (c == '\n') {
        newline();
    } else if (c == '\r') {
        col = 0;
    } else if (c == '\t') {
        col = (col + 8) & ~7u;
        if (col >= cols)
            newline();
    } else {
        if ((uint8_t)c < ' ' || (uint8_t)c > '~')
            c = '?'; // UTF-8 bytes: ascii[] stops at 127, code page 437 is not Latin-1
        set(col, row, c);
        if (++col == cols)
            newline();
    }
}

// Blank text and a blank screen, everything written once: whatever the
// firmware or the loader drew goes.
static bool start(unsigned w, unsigned h)
{
    cols = w;
    rows = h;
    col = row = 0;
    if ((uint64_t)cols * rows > TEXT_MAX)
        rows = TEXT_MAX / cols; // a screen beyond 4K: use its top part
    if (!cols || !rows) {
        kind = SCREEN_NONE; // too small for even one character
        return false;
    }
    memset(text, ' ', sizeof(text));
    return true;
}

bool screen_init_vga(uint16_t *mem, unsigned w, unsigned h)
{
    kind = SCREEN_NONE;
    vga = mem;
    if (!start(w, h))
        return false;
    for (unsigned i = 0; i < cols * rows; i++)
        vga[i] = VGA_ATTR | ' ';
    kind = SCREEN_VGA;
    return true;
}

bool screen_init_fb(const struct fb_info *f, uint8_t *mem, const struct psf_font *pf)
{
    kind = SCREEN_NONE;
    if (f->bpp != 32 && f->bpp != 24 && f->bpp != 16)
        return false;
    fb = *f;
    fb_base = mem;
    font = *pf;
    fb_fg = channel(GREY, f->red_pos, f->red_size) | channel(GREY, f->green_pos, f->green_size) |
            channel(GREY, f->blue_pos, f->blue_size);
    if (!start(f->width / font.width, f->height / font.height))
        return false;
    memset(fb_base, 0, (size_t)f->pitch * f->height);
    kind = SCREEN_FB;
    return true;
}

void screen_off(void)
{
    kind = SCREEN_NONE;
}
