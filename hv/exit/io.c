// io.c: what IN and OUT do in a guest. Every I/O instruction exits
// ("unconditional I/O exiting", hv/vmx/vmcs.c); handle_io() answers from one
// table of ports: COM1 is a UART whose output becomes the guest's console
// lines and whose receiver is always empty; port 0xf4 ends the run with the
// value written as the guest's status (as QEMU's isa-debug-exit would end a
// machine); every other port reads all ones and ignores writes, as an empty
// ISA bus does. Each port's reads and writes are counted for the result line.
// INS/OUTS are not emulated: they stop the run, saying so.
// SDM 3C 28.2.1 Table 28-5 (the I/O exit qualification); PC16550D data sheet.
#include "../../boot/boot.h"
#include "internal.h"

#define COM1 0x3f8
#define EXIT_PORT 0xf4

// The UART's registers by offset from COM1, as a guest sees them: the
// transmitter always ready (LSR: THRE and TEMT), nothing ever received.
static struct {
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    char line[160]; // a longer line is printed in pieces of 160
    size_t len;
} uart;

void io_reset_for_run(void)
{
    memset(&uart, 0, sizeof(uart));
    uart.lcr = 0x03; // 8N1
}

// The rest of a line the guest wrote without its newline, at the end of a run.
void io_flush(void)
{
    if (uart.len)
        guest_print(vcpu.label, uart.line, uart.len);
    uart.len = 0;
}

static void uart_out(unsigned reg, uint8_t v)
{
    bool dlab = uart.lcr & 0x80;
    switch (reg) {
    case 0:
        if (dlab) {
            uart.dll = v;
        } else if (v == '\n') {
            guest_print(vcpu.label, uart.line, uart.len);
            uart.len = 0;
        } else if (v != '\r') { // CR LF from a terminal-minded guest: one line
            if (uart.len == sizeof(uart.line)) { // full: out goes what is there
                guest_print(vcpu.label, uart.line, uart.len);
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

static uint8_t uart_in(unsigned reg)
{
    bool dlab = uart.lcr & 0x80;
    switch (reg) {
    case 0:
        return dlab ? uart.dll : 0; // the receive buffer: nothing came
    case 1:
        return dlab ? uart.dlm : uart.ier;
    case 2:
        return 0x01; // IIR: no interrupt pending, FIFOs off
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

static void count(uint16_t port, bool in)
{
    struct run_record *rec = vcpu.rec;
    for (unsigned i = 0; i < rec->nports; i++) {
        if (rec->ports[i].port == port) {
            rec->ports[i].count[in]++;
            return;
        }
    }
    if (rec->nports < ARRAY_SIZE(rec->ports)) {
        rec->ports[rec->nports].port = port;
        rec->ports[rec->nports].count[in] = 1;
        rec->nports++;
    } else {
        rec->other_ports++;
    }
}

int handle_io(struct guest_regs *r)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned size = (q & 7) + 1; // 1, 2 or 4 bytes
    bool in = q & BIT(3), string = q & BIT(4);
    uint16_t port = (uint16_t)(q >> 16);
    if (string) {
        char why[96];
        snprintf(why, sizeof(why), "string I/O (%s) at port 0x%x is not emulated",
                 in ? "INS" : "OUTS", port);
        return stop_run(EXIT_REASON_IO_INSTRUCTION, why);
    }
    count(port, in);
    uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
    if (!in && port == EXIT_PORT) {
        TRACE("the run ends: status 0x%lx", r->rax & mask);
        vcpu.rec->end = RUN_EXITED;
        vcpu.rec->status = r->rax & mask;
        return EXIT_STOP;
    }
    if (in) {
        uint64_t v = port >= COM1 && port < COM1 + 8 ? uart_in(port - COM1) : mask;
        // IN to EAX clears RAX's upper half; to AL or AX it leaves the rest.
        r->rax = size == 4 ? v : (r->rax & ~mask) | (v & mask);
        TRACE("read 0x%lx", v & mask);
    } else if (port >= COM1 && port < COM1 + 8) {
        uart_out(port - COM1, (uint8_t)r->rax);
        TRACE("COM1 gets 0x%lx", r->rax & 0xff);
    } else {
        TRACE("ignored");
    }
    complete_instruction();
    return EXIT_RESUME;
}
