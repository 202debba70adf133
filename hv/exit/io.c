// io.c: the I/O exit, and the devices' side of a run. Every IN and OUT exits
// ("unconditional I/O exiting", hv/vmx/vmcs.c); handle_io() decodes the exit
// qualification (SDM 3C 28.2.1 Table 28-5), counts the access by port for the run's line,
// has the devices answer it (dev_pio(), hv/dev/dev.c: QEMU's pc machine, an empty bus
// elsewhere) and completes the instruction. INS/OUTS are not emulated: they stop the
// run, saying so. platform_reset() (hv/run/guest.c, before each run) gives the devices
// their machine and its clock; dev_guest_text() and dev_guest_exit() are what the
// devices do to a run (dev.h: console lines, the machine's end).
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

// The guest's status, full width (isa-debug-exit's 1, 2 or 4 bytes), or a code above
// 32 bits for a reset or a power-off (dev.h DEV_EXIT_*), which `how` names in the
// record's why.
void dev_guest_exit(uint64_t code, const char *how)
{
    TRACE("the run ends: status 0x%lx, %s", code, how);
    vcpu.rec->end = RUN_EXITED;
    vcpu.rec->status = code;
    snprintf(vcpu.rec->why, sizeof(vcpu.rec->why), "%s", how);
    machine_ended = true;
}

// The devices' time (dev_machine.now_ns): the TSC ticks since the run was set up, at a
// nominal DEV_TSC_HZ, 1 GHz, so one tick is one nanosecond. The guest's own TSC runs
// at the same rate (its offset aside), so a kernel that times its TSC against the PIT,
// the APIC timer or the clock measures 1 GHz, which CPUID leaf 0x15 says too
// (hv/exit/cpuid.c). Under Bochs, whose TSC counts instructions, every run sees the same
// times at the same instructions; on silicon the guest's second is 10^9 TSC ticks,
// however long that is. The host's TSC, not the guest's: a guest that writes its TSC
// moves its offset, not the devices' clock, which never runs backwards.
_Static_assert(DEV_TSC_HZ == 1000000000ull, "now_ns() counts one nanosecond per tick");
static uint64_t run_start;
static uint64_t now_ns(void) { return rdtsc() - run_start; }

void platform_reset(uint64_t ram_size)
{
    const struct dev_machine m = { .ram_size = ram_size, .cpus = 1, .now_ns = now_ns };
    run_start = rdtsc();
    dev_reset_all(&m);
    apic_reset(); // the CPU's view of the APIC (hv/exit/mmio.c)
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
