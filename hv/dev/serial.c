// serial.c: COM1, the 16550 UART at 0x3f8-0x3ff that guests print on (PC16550D data
// sheet). What a guest writes to the transmitter becomes its console lines, each handed
// to dev_guest_text(), which the run prints behind the guest's label, escaped; the
// receiver is always empty and the transmitter always ready. Its registers take bytes
// only, as QEMU's (hw/char/serial.c): dev.c splits wider accesses. dev.c calls it
// through dev_com1: reset before each run; end() hands over an unfinished line.
#include "dev.h"

// The UART's registers by offset from 0x3f8, as a guest sees them: the transmitter
// always ready (LSR: THRE and TEMT), nothing ever received.
static struct {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    bool fifo; // FCR bit 0: the FIFOs are enabled, which IIR bits 7:6 show
    char line[160]; // a longer line is printed in pieces of 160
    size_t len;
} uart;

static void uart_reset(const struct dev_machine *m)
{
    (void)m;
    memset(&uart, 0, sizeof(uart));
    uart.lcr = 0x03; // 8N1
}

// The rest of a line the guest wrote without its newline, at the end of a run.
static void uart_end(void)
{
    if (uart.len)
        dev_guest_text(uart.line, uart.len);
    uart.len = 0;
}

static void uart_write(uint64_t reg, unsigned size, uint64_t value)
{
    (void)size;
    uint8_t v = (uint8_t)value;
    bool dlab = uart.lcr & 0x80;
    switch (reg) {
    case 0:
        if (dlab) {
            uart.dll = v;
        } else if (v == '\n') {
            dev_guest_text(uart.line, uart.len);
            uart.len = 0;
        } else if (v != '\r') { // CR LF from a terminal-minded guest: one line
            if (uart.len == sizeof(uart.line)) { // full: out goes what is there
                dev_guest_text(uart.line, uart.len);
                uart.len = 0;
            }
            uart.line[uart.len++] = (char)v;
        }
        break;
    case 1:
        if (dlab)
            uart.dlm = v;
        else
            uart.ier = v & 0x0f;
        break;
    case 2: // FCR: only its enable is seen (IIR); the FIFOs hold nothing to reset
        uart.fifo = v & 1;
        break;
    case 3:
        uart.lcr = v;
        break;
    case 4:
        uart.mcr = v & 0x1f;
        break;
    case 7:
        uart.scr = v;
        break;
    }
}

// IER: the interrupts COM1 (IRQ 4) is asked to raise.
uint8_t uart_irq_enables(void) { return uart.ier; }

static uint64_t uart_read(uint64_t reg, unsigned size)
{
    (void)size;
    bool dlab = uart.lcr & 0x80;
    switch (reg) {
    case 0:
        return dlab ? uart.dll : 0; // the receive buffer: nothing came
    case 1:
        return dlab ? uart.dlm : uart.ier;
    case 2: // IIR: no interrupt pending; bits 7:6 set while FCR enables the FIFOs (QEMU)
        return uart.fifo ? 0xc1 : 0x01;
    case 3:
        return uart.lcr;
    case 4:
        return uart.mcr;
    case 5:
        return 0x60; // LSR: transmitter empty and ready, no data, no errors
    case 6:
        return 0xb0; // MSR: CTS, DSR and DCD asserted: someone is listening
    default:
        return uart.scr;
    }
}

const struct dev dev_com1 = {
    .name = "COM1", .space = DEV_PIO, .base = 0x3f8, .len = 8, .sizes = 1,
    .read = uart_read, .write = uart_write, .reset = uart_reset, .end = uart_end,
};
