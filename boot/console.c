// console.c: where kprintf's text goes. COM1 always (the runner reads the
// verdict there), plus one screen: VGA text mode, or a linear framebuffer drawn
// with the PSF font from font.S (UEFI has no text mode), both through
// screen.c, which keeps the text in RAM and never reads video memory. main.c
// calls console_init_serial() first, then console_init_screen() once the
// multiboot information is parsed and the framebuffer identity mapped; a
// framebuffer is mapped write-combining here where the CPU has PAT.
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

extern const uint8_t font_psf[], font_psf_end[];

static bool serial_ok;
static bool screen; // screen.c draws the text
static char screen_name[80];

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

// The framebuffer's pages write-combining where the CPU has PAT (cpu.c): the
// console only writes it, and a full-screen scroll rewrites most of it.
static bool init_fb(const struct fb_info *f)
{
    static struct psf_font font;
    if (psf_load(font_psf, (size_t)(font_psf_end - font_psf), &font) < 0)
        return false;
    if (!screen_init_fb(f, (uint8_t *)(uintptr_t)f->addr, &font))
        return false;
    bool wc = map_write_combining(f->addr, (uint64_t)f->pitch * f->height);
    snprintf(screen_name, sizeof screen_name, "framebuffer %ux%ux%u (font %ux%u)%s", f->width,
             f->height, f->bpp, font.width, font.height, wc ? ", write-combining" : "");
    return true;
}

static bool init_vga(uint64_t addr, unsigned w, unsigned h)
{
    if (!screen_init_vga((uint16_t *)(uintptr_t)addr, w, h))
        return false;
    // Hide the blinking hardware cursor: CRTC register 0x0a, bit 5 (cursor off).
    outb(0x3d4, 0x0a);
    outb(0x3d5, 0x20);
    snprintf(screen_name, sizeof screen_name, "VGA text %ux%u", w, h);
    return true;
}

void console_init_screen(const struct fb_info *f, bool mb1)
{
    screen_off();
    if (f && f->type == 2) // EGA text: width and height count characters
        screen = init_vga(f->addr, f->width, f->height);
    else if (f && f->type == 1)
        screen = init_fb(f);
    else if (!f && mb1) // QEMU -kernel leaves the BIOS's 80x25 text mode
        screen = init_vga(VGA_TEXT, 80, 25);
}

const char *console_screen_name(void)
{
    return screen ? screen_name : "serial only";
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (serial_ok) {
            if (s[i] == '\n')
                serial_putc('\r'); // terminals want CR LF
            serial_putc(s[i]);
        }
        if (screen)
            screen_putc(s[i]);
    }
}
