// console.c: where kprintf's text goes. COM1 always (the runner reads the
// verdict there), plus one screen: VGA text mode, or a linear framebuffer drawn
// with the PSF font from font.S (UEFI has no text mode). main.c calls
// console_init_serial() first, then console_init_screen() once the multiboot
// information is parsed and the framebuffer identity mapped. A framebuffer is
// written, never read: reads from video memory are uncached and slow on a
// large UEFI screen, so the text lives in RAM (text[]) and scrolling redraws
// from there only the cells that change.
#include "boot.h"
#include "x86.h"

// 16550 UART registers, offsets from the base port (PC16550D data sheet).
#define COM1 0x3f8
#define UART_DATA 0 // THR on write; divisor low byte while DLAB is set
#define UART_IER 1  // interrupt enable; divisor high byte while DLAB is set
#define UART_FCR 2  // FIFO control
#define UART_LCR 3  // line control
#define UART_MCR 4  // modem control
#define UART_LSR 5  // line status
#define LCR_8N1 0x03
#define LCR_DLAB 0x80 // data/IER ports reach the baud divisor
#define FCR_ENABLE_CLEAR 0x07 // enable FIFOs, clear receive and transmit
#define MCR_DTR_RTS 0x03
#define LSR_THRE 0x20 // transmit holding register empty
#define LSR_TEMT 0x40 // transmitter empty: the last bit has left
#define UART_SPIN_MAX 100000

#define VGA_TEXT 0xb8000
#define VGA_ATTR 0x0700 // light grey on black, in the high byte of each cell
#define GREY 0xaa       // the VGA palette's light grey, per channel

extern const uint8_t font_psf[], font_psf_end[];

static bool serial_ok;
static enum { SCREEN_NONE, SCREEN_VGA, SCREEN_FB } screen;
static unsigned cols, rows, col, row; // screen size and cursor, in characters
static uint16_t *vga;
static struct fb_info fb;
static uint8_t *fb_base;
static uint32_t fb_fg; // the pixel value for text
static struct psf_font font;
static char screen_name[64];
#define TEXT_MAX (256 * 128) // characters: a 4K screen in an 8x16 font fits
static char text[TEXT_MAX];  // the framebuffer's characters, row by row

void console_init_serial(void)
{
    outb(COM1 + UART_IER, 0); // polled: no interrupts
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DATA, 1); // divisor 1: 115200 baud from the 1.8432 MHz clock
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
    outb(COM1 + UART_MCR, MCR_DTR_RTS);
    // With no device at the port the bus floats and reads back 0xff.
    serial_ok = inb(COM1 + UART_LSR) != 0xff;
}

static void serial_putc(char c)
{
    for (unsigned i = 0; !(inb(COM1 + UART_LSR) & LSR_THRE); i++) {
        if (i == UART_SPIN_MAX) {
            serial_ok = false; // a UART that never drains: stop waiting on it
            return;
        }
    }
    outb(COM1 + UART_DATA, (uint8_t)c);
}

// Waits until the UART has sent its last byte: end_run() calls this before it
// powers an emulator off, which would otherwise cut the verdict line short.
void console_flush(void)
{
    for (unsigned i = 0; serial_ok && i < UART_SPIN_MAX; i++)
        if (inb(COM1 + UART_LSR) & LSR_TEMT)
            return;
}

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

static void draw_char(unsigned x, unsigned y, char c)
{
    const uint8_t *g = font.glyphs + font.ascii[(uint8_t)c] * font.bytes_per_glyph;
    unsigned bytes_pp = fb.bpp / 8;
    for (unsigned gy = 0; gy < font.height; gy++, g += font.bytes_per_row) {
        uint8_t *p = fb_base + (uint64_t)(y * font.height + gy) * fb.pitch + x * font.width * bytes_pp;
        for (unsigned gx = 0; gx < font.width; gx++, p += bytes_pp)
            put_pixel(p, g[gx / 8] & (0x80 >> (gx % 8)) ? fb_fg : 0);
    }
}

// Moves every text row up one and blanks the bottom one. On a framebuffer,
// a cell is redrawn only where its character changes.
static void scroll(void)
{
    if (screen == SCREEN_VGA) {
        memmove(vga, vga + cols, (rows - 1) * cols * sizeof *vga);
        for (unsigned i = (rows - 1) * cols; i < rows * cols; i++)
            vga[i] = VGA_ATTR | ' ';
        return;
    }
    for (unsigned y = 0; y < rows; y++) {
        for (unsigned x = 0; x < cols; x++) {
            char c = y + 1 < rows ? text[(y + 1) * cols + x] : ' ';
            if (text[y * cols + x] != c) {
                text[y * cols + x] = c;
                draw_char(x, y, c);
            }
        }
    }
}

static void newline(void)
{
    col = 0;
    if (++row == rows) {
        scroll();
        row = rows - 1;
    }
}

static void screen_putc(char c)
{
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
        if (screen == SCREEN_VGA) {
            vga[row * cols + col] = VGA_ATTR | (uint8_t)c;
        } else if (text[row * cols + col] != c) {
            text[row * cols + col] = c;
            draw_char(col, row, c);
        }
        if (++col == cols)
            newline();
    }
}

static bool init_fb(const struct fb_info *f)
{
    if (f->bpp != 32 && f->bpp != 24 && f->bpp != 16)
        return false;
    if (psf_load(font_psf, (size_t)(font_psf_end - font_psf), &font) < 0)
        return false;
    fb = *f;
    fb_base = (uint8_t *)(uintptr_t)f->addr;
    fb_fg = channel(GREY, f->red_pos, f->red_size) | channel(GREY, f->green_pos, f->green_size) |
            channel(GREY, f->blue_pos, f->blue_size);
    cols = f->width / font.width;
    rows = f->height / font.height;
    if ((uint64_t)cols * rows > TEXT_MAX)
        rows = TEXT_MAX / cols; // a screen beyond 4K: use its top part
    memset(text, ' ', sizeof(text));
    memset(fb_base, 0, (size_t)f->pitch * f->height); // whatever the firmware or GRUB drew
    snprintf(screen_name, sizeof screen_name, "framebuffer %ux%ux%u (font %ux%u)", f->width,
             f->height, f->bpp, font.width, font.height);
    return true;
}

static void init_vga(uint64_t addr, unsigned w, unsigned h)
{
    vga = (uint16_t *)(uintptr_t)addr;
    cols = w;
    rows = h;
    for (unsigned i = 0; i < w * h; i++)
        vga[i] = VGA_ATTR | ' ';
    // Hide the blinking hardware cursor: CRTC register 0x0a, bit 5 (cursor off).
    outb(0x3d4, 0x0a);
    outb(0x3d5, 0x20);
    snprintf(screen_name, sizeof screen_name, "VGA text %ux%u", w, h);
}

void console_init_screen(const struct fb_info *f, bool mb1)
{
    screen = SCREEN_NONE;
    cols = rows = col = row = 0;
    if (f && f->type == 2) { // EGA text: width and height count characters
        init_vga(f->addr, f->width, f->height);
        screen = SCREEN_VGA;
    } else if (f && f->type == 1 && init_fb(f)) {
        screen = SCREEN_FB;
    } else if (!f && mb1) { // QEMU -kernel leaves the BIOS's 80x25 text mode
        init_vga(VGA_TEXT, 80, 25);
        screen = SCREEN_VGA;
    }
    if (cols == 0 || rows == 0)
        screen = SCREEN_NONE; // too small for even one character
}

const char *console_screen_name(void)
{
    return screen == SCREEN_NONE ? "serial only" : screen_name;
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (serial_ok) {
            if (s[i] == '\n')
                serial_putc('\r'); // terminals want CR LF
            serial_putc(s[i]);
        }
        if (screen != SCREEN_NONE)
            screen_putc(s[i]);
    }
}
