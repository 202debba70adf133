// io.c: the I/O exit. Every IN and OUT exits ("unconditional I/O exiting", hv/vmx/vmcs.c);
// handle_io() decodes the exit qualification (SDM 3C 28.2.1 Table 28-5), counts the
// access by port for the run's result line, has the devices answer it (dev_pio(),
// hv/dev/dev.c: COM1, port 0xf4, an empty bus elsewhere) and completes the instruction.
// It gives the devices what they do to a run (dev.h: console lines, the machine's end).
// INS/OUTS are not emulated: they stop the run, saying so.
#include "../../boot/boot.h"
#include "../dev/dev.h"
#include "../run/run.h"
#include "internal.h"

// Set by dev_guest_exit() while a device answers an access: the run ends there.
static bool machine_ended;

void dev_guest_text(const char *text, size_t len)
{
    guest_text(text, len); // hv/run/mbrun.c: printed, or kept for a multiboot kernel
}

// The guest's status, full width (isa-debug-exit's 1, 2 or 4 bytes). `how` matters for
// the codes above 32 bits (dev.h), which no device of the table gives yet.
void dev_guest_exit(uint64_t code, const char *how)
{
    (void)how;
    TRACE("the run ends: status 0x%lx", code);
    vcpu.rec->end = RUN_EXITED;
    vcpu.rec->status = code;
    machine_ended = true;
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
    uint64_t v = in ? 0 : r->rax & mask;
    const struct dev *d = dev_pio(port, size, !in, &v);
    if (machine_ended) { // the OUT ended the machine: nothing to complete
        machine_ended = false;
        return EXIT_STOP;
    }
    if (in) {
        // IN to EAX clears RAX's upper half; to AL or AX it leaves the rest.
        r->rax = size == 4 ? v : (r->rax & ~mask) | (v & mask);
        TRACE("read 0x%lx", v & mask);
    } else if (d) {
        TRACE("%s gets 0x%lx", d->name, v);
    } else {
        TRACE("ignored");
    }
    complete_instruction();
    return EXIT_RESUME;
}
