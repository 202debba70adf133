// run.h: what hv/run/ offers the rest of vmxlab, grouped by file as xv6's defs.h does:
// boot/main.c runs the table of experiments, hv/vmx/entry.c runs a guest once per
// break=. Guest images, one guest run and the table's entry points; what only hv/run/
// (and its unit tests) use is in internal.h.
#pragma once
#include "../vmx/vmx.h" // enum mmu

struct run_record;  // hv/vcpu.h
struct entry_break; // hv/vmx/internal.h

// guest.c: guest memory and one guest run
struct mbv1_request; // hv/run/multiboot.h
struct guest_image {
    const char *name;
    const uint8_t *start, *end; // the file: built in (guests.S) or a GRUB module
    const struct mbv1_request *mb; // a multiboot kernel: what to load; NULL: a vmxlab guest
};
const struct guest_image *guest_image_find(const char *name);  // built in
struct guest_run {
    const char *label;
    enum mmu mmu;
    uint64_t iterations, windows, flags; // struct guest_params
    uint64_t cr0_owned, cr4_owned;
    uint64_t wp_threshold;         // 0: never hand WP over
    bool expect_stop;              // the guest is meant to misbehave
    const struct entry_break *brk; // break= (hv/vmx/breaks.c): broken before VMLAUNCH
    uint64_t max_exits, max_ticks; // the run's budget; 0: the default for its size
};
// Runs img once; false if the image did not load (already reported).
bool guest_run(const struct guest_image *img, const struct guest_run *run,
               struct run_record *rec);

// mbrun.c: one line of a guest's console (from hv/exit/io.c): printed, or for a
// multiboot kernel kept and compared
void guest_text(const char *text, size_t len);

// experiment.c: running the table, once VMX is known to be there
bool experiment_name_known(const char *name, size_t len);
void experiments_run(void);
