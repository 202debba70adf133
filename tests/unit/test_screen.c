// test_screen.c: host unit tests (cmocka) for boot/screen.c, the console's
// text on VGA text cells or a framebuffer, and for the PAT value and entry
// bits that make the framebuffer write-combining (boot/x86.h). The screens
// are fake video memory in plain buffers: poisoned just before a scroll, so
// a scroll that read video memory instead of its text in RAM would copy the
// poison. Run by `make unit`; leaves nothing behind.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "../../boot/boot.h"
#include "../../boot/x86.h"

// The Makefile links lib/printf.c into every unit test; its kprintf needs a
// console. Nothing here prints through it.
void console_write(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static void put(const char *s)
{
    while (*s)
        screen_putc(*s++);
}

// ---- VGA text: 80x25 cells of character | attribute 0x07 << 8 -------------

#define VGA_COLS 80
#define VGA_ROWS 25
#define POISON16 0xdead
static uint16_t vga[VGA_COLS * VGA_ROWS + 16]; // 16 cells past the screen: never written

static char vga_row_char(unsigned y)
{
    return (char)('A' + y % 26); // each row differs from the next
}

static void test_vga_scroll_reads_no_video_memory(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vga); i++)
        vga[i] = POISON16;
    assert_true(screen_init_vga(vga, VGA_COLS, VGA_ROWS));
    for (unsigned i = 0; i < VGA_COLS * VGA_ROWS; i++)
        assert_int_equal(vga[i], 0x0700 | ' ');
    // Every row full of its own letter, but for the last cell; then video
    // memory poisoned, and the last cell, whose wrap scrolls the screen.
    for (unsigned y = 0; y < VGA_ROWS; y++)
        for (unsigned x = 0; x < VGA_COLS; x++)
            if (y < VGA_ROWS - 1 || x < VGA_COLS - 1)
                screen_putc(vga_row_char(y));
    for (unsigned i = 0; i < VGA_COLS * VGA_ROWS; i++)
        vga[i] = POISON16;
    screen_putc(vga_row_char(VGA_ROWS - 1));
    // Every cell changed (each row takes the next one's letter, the last
    // goes blank), so every cell was written, from the text in RAM.
    for (unsigned y = 0; y < VGA_ROWS; y++)
        for (unsigned x = 0; x < VGA_COLS; x++)
            assert_int_equal(vga[y * VGA_COLS + x],
                             0x0700 | (y + 1 < VGA_ROWS ? vga_row_char(y + 1) : ' '));
    for (size_t i = VGA_COLS * VGA_ROWS; i < ARRAY_SIZE(vga); i++)
        assert_int_equal(vga[i], POISON16);

    // Only what changes is written: the cursor is at the blank bottom row's
    // start; after "Z\n" its second cell is still blank, and still poisoned.
    const unsigned last = (VGA_ROWS - 1) * VGA_COLS;
    vga[last + 1] = POISON16;
    put("Z\n");
    assert_int_equal(vga[last + 1], POISON16);
    assert_int_equal(vga[last - VGA_COLS], 0x0700 | 'Z');
    assert_int_equal(vga[last - VGA_COLS + 1], 0x0700 | ' ');
    assert_int_equal(vga[last], 0x0700 | ' ');
}

static void test_vga_text(void **state)
{
    (void)state;
    assert_true(screen_init_vga(vga, VGA_COLS, VGA_ROWS));
    put("a\tb\r\xc3\n~");
    assert_int_equal(vga[0], 0x0700 | '?'); // byte 0xc3, over the 'a' that '\r' went back to
    assert_int_equal(vga[8], 0x0700 | 'b');                    // a tab stops at column 8
    assert_int_equal(vga[VGA_COLS], 0x0700 | '~');
    assert_false(screen_init_vga(vga, 0, VGA_ROWS));
    screen_putc('x'); // no screen: nothing written
    assert_int_equal(vga[VGA_COLS], 0x0700 | '~');
}

// ---- a framebuffer: 4x3 characters of an 8x2 font, 32 bpp, padded rows ----

#define FB_COLS 4
#define FB_ROWS 3
#define GW 8
#define GH 2
#define FB_W (FB_COLS * GW)
#define FB_H (FB_ROWS * GH)
#define PITCH (FB_W * 4 + 16) // 16 bytes past each row: never written
#define GREY 0xaaaaaau        // light grey in x8r8g8b8
static uint8_t fbmem[PITCH * FB_H];
static uint8_t glyphs[128 * GH];

static const struct psf_font *tiny_font(void)
{
    static struct psf_font f = { .glyphs = glyphs, .count = 128, .width = GW, .height = GH,
                                 .bytes_per_glyph = GH, .bytes_per_row = 1 };
    for (unsigned c = 0; c < 128; c++) {
        glyphs[c * GH] = (uint8_t)c; // row 0: the code's bits, row 1 their complement
        glyphs[c * GH + 1] = (uint8_t)~c;
        f.ascii[c] = (uint16_t)c;
    }
    return &f;
}

static uint32_t pixel(unsigned px, unsigned py)
{
    uint32_t v;
    memcpy(&v, fbmem + py * PITCH + px * 4, 4);
    return v;
}

// The pixel a cell holding c has at (gx, gy) of its glyph.
static uint32_t drawn(char c, unsigned gx, unsigned gy)
{
    return glyphs[(uint8_t)c * GH + gy] & (0x80 >> gx) ? GREY : 0;
}

static void test_fb_scroll_reads_no_video_memory(void **state)
{
    (void)state;
    const struct fb_info f = { .addr = 0, .pitch = PITCH, .width = FB_W, .height = FB_H,
                               .bpp = 32, .type = 1, .red_pos = 16, .red_size = 8,
                               .green_pos = 8, .green_size = 8, .blue_pos = 0,
                               .blue_size = 8 };
    memset(fbmem, 0x5a, sizeof(fbmem));
    assert_true(screen_init_fb(&f, fbmem, tiny_font()));
    for (size_t i = 0; i < sizeof(fbmem); i++)
        assert_int_equal(fbmem[i], 0); // cleared, padding too: pitch * height bytes
    put("AAAABBBBCCC");
    memset(fbmem, 0x5a, sizeof(fbmem));
    screen_putc('C'); // the last cell: its wrap scrolls
    const char want[FB_ROWS] = { 'B', 'C', ' ' };
    for (unsigned py = 0; py < FB_H; py++) {
        for (unsigned px = 0; px < FB_W; px++)
            assert_int_equal(pixel(px, py), drawn(want[py / GH], px % GW, py % GH));
        for (unsigned i = FB_W * 4; i < PITCH; i++)
            assert_int_equal(fbmem[py * PITCH + i], 0x5a);
    }
    struct fb_info bad = f;
    bad.bpp = 8;
    assert_false(screen_init_fb(&bad, fbmem, tiny_font()));
}

// ---- PAT: the framebuffer's memory type ------------------------------------

static void test_pat(void **state)
{
    (void)state;
    // PA1 write-combining, the rest as at power-up (WB, WT, UC-, UC, twice).
    assert_int_equal(PAT_KERNEL, 0x0007040600070106ull);
    // WB is PA0 (no bit), WC PA1 (PWT), UC- PA2 (PCD), UC PA3 (PCD | PWT).
    assert_int_equal(pat_pte_bits(PAT_KERNEL, MT_WB, false), 0);
    assert_int_equal(pat_pte_bits(PAT_KERNEL, MT_WC, false), PTE_PWT);
    assert_int_equal(pat_pte_bits(PAT_KERNEL, MT_WC, true), PTE_PWT);
    assert_int_equal(pat_pte_bits(PAT_KERNEL, MT_UC_MINUS, false), PTE_PCD);
    assert_int_equal(pat_pte_bits(PAT_KERNEL, MT_UC, true), PTE_PCD | PTE_PWT);
    assert_int_equal(pat_pte_bits(PAT_RESET, MT_WC, false), ~0ull); // none at power-up
    // An entry from PA4 up needs the PAT bit: bit 7 in a 4 KiB page's entry,
    // bit 12 in a 2 MiB page's (where bit 7 is PS).
    uint64_t pa5_wc = (PAT_RESET & ~(0xffull << 40)) | (uint64_t)MT_WC << 40;
    assert_int_equal(pat_pte_bits(pa5_wc, MT_WC, false), 0x80 | PTE_PWT);
    assert_int_equal(pat_pte_bits(pa5_wc, MT_WC, true), 0x1000 | PTE_PWT);
    uint64_t pa7_wp = (PAT_RESET & ~(0xffull << 56)) | (uint64_t)MT_WP << 56;
    assert_int_equal(pat_pte_bits(pa7_wp, MT_WP, true), 0x1000 | PTE_PCD | PTE_PWT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vga_scroll_reads_no_video_memory),
        cmocka_unit_test(test_vga_text),
        cmocka_unit_test(test_fb_scroll_reads_no_video_memory),
        cmocka_unit_test(test_pat),
    };
    return cmocka_run_group_tests_name("screen", tests, NULL, NULL);
}
