// guest.c: the guest's memory and one guest run. guest_ram_init() carves the
// guest's RAM out of the multiboot memory map and maps it, and only it, with
// EPT where the CPU has it (else only shadow paging maps it, hv/mmu/shadow.c);
// guest_run() loads a guest ELF image into that RAM (hv/run/elf.c), sets up
// the VMCS and runs the guest until it ends (HC_EXIT), a handler stops it, or
// it uses up its budget, and leaves what happened in a struct run_record. The
// ABI the guests follow is guest/abi.h and docs/guest-abi.md.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../dev/dev.h"
#include "../exit/exit.h"
#include "../mmu/mmu.h"
#include "internal.h"

#define MiB2 (2ull << 20)

static uint64_t ept_pool[8][512] __attribute__((aligned(4096)));
static unsigned ept_used;
static struct ept ept;
static void *vmcs_region;
static unsigned runs;

static uint64_t *ept_alloc(void *ctx)
{
    (void)ctx;
    return ept_used < ARRAY_SIZE(ept_pool) ? ept_pool[ept_used++] : NULL;
}

// The highest 2 MiB-aligned stretch of available RAM from 16 MiB to 4 GiB
// (identity-mapped by boot/entry.S) that holds the guest, clear of the kernel
// and of everything the loader left that the kernel still reads (mb_carve()):
// guest RAM is zeroed before every run.
static uint64_t carve_guest_ram(void)
{
    extern char kernel_start[], kernel_end[];
    const struct mem_range kernel = { (uint64_t)kernel_start, (uint64_t)kernel_end };
    return mb_carve(&boot_info, GUEST_RAM_SIZE, MiB2, 16ull << 20, 4ull << 30, &kernel, 1);
}

// Extended state (SDM 1 13): VMX switches neither XCR0 nor any state
// component, and a guest may have written any component the CPU has, even one
// outside XCR0 (WRPKRU needs only CR4.PKE; clearing an XCR0 bit keeps its
// state, SDM 1 13.3). So XCR0 is set to every user component the CPU supports
// (CPUID.(0DH,0), without the supervisor ones: xcr0_user_components()), an
// XRSTOR with an all-zero XSTATE_BV puts each in its initial state (SDM 1
// 13.8.1: PKRU 0, the vector registers 0), and XCR0 goes back to its reset
// value, x87 alone. CPUID.(0DH,0):ECX is the size of the XSAVE area for all of
// them; every byte of it stays 0, the header included, but MXCSR, which XRSTOR
// loads from memory for SSE and AVX. xstate_init() checks the size once.
static uint8_t xs_init[16384] __attribute__((aligned(64)));
static uint64_t xs_all; // every user component; 0 without XSAVE

static void xstate_init(void)
{
    if (!(read_cr4() & CR4_OSXSAVE)) // boot/cpu.c sets it where the CPU has XSAVE
        return;
    uint32_t d0[4], d1[4];
    cpuid(0xd, 0, d0);
    cpuid(0xd, 1, d1);
    if (d0[2] > sizeof(xs_init)) {
        kprintf("vmxlab: this CPU's XSAVE area for all its state components is %u bytes "
                "(CPUID.(0DH,0):ECX), more than the %zu bytes hv/run/guest.c keeps to reset "
                "them between runs: enlarge xs_init\n", d0[2], sizeof(xs_init));
        end_run(VERDICT_UNSUPPORTED);
    }
    xs_all = xcr0_user_components(d0, d1);
    xs_init[24] = 0x80; // MXCSR 0x1f80: every SIMD exception masked
    xs_init[25] = 0x1f;
}

static void reset_extended_state(void)
{
    if (!xs_all)
        return; // no XSAVE: the FXRSTOR of reset_machine_state() covers x87 and SSE
    asm volatile("xsetbv" ::"c"(0), "a"((uint32_t)xs_all), "d"((uint32_t)(xs_all >> 32)));
    asm volatile("xrstor64 %0" ::"m"(xs_init), "a"((uint32_t)xs_all),
                 "d"((uint32_t)(xs_all >> 32)));
    asm volatile("xsetbv" ::"c"(0), "a"(1), "d"(0));
}

void guest_ram_init(bool shadow_boot)
{
    uint64_t base = carve_guest_ram();
    if (!base) {
        kprintf("vmxlab: no %u MiB of free RAM below 4 GiB for the guest "
                "(give the machine more memory)\n", GUEST_RAM_SIZE >> 20);
        end_run(VERDICT_FAIL);
    }
    vcpu.ram = (uint8_t *)base;
    vmcs_region = vmx_alloc_region();
    xstate_init();
    if (!vmx_has_ept()) { // shadow paging only (hv/mmu/shadow.c)
        kprintf("vmxlab: guest RAM: %u MiB at host 0x%lx; this CPU has no usable EPT: "
                "shadow paging maps it\n", GUEST_RAM_SIZE >> 20, base);
        return;
    }
    memset(ept_pool, 0, sizeof(ept_pool));
    ept.pml4 = ept_alloc(NULL);
    ept.alloc_page = ept_alloc;
    bool large = caps.ept_2m && cfg.ept_pages == EPT_PAGES_2M;
    if (ept_map(&ept, 0, base, GUEST_RAM_SIZE, large)) {
        kprintf("vmxlab: building EPT failed\n");
        end_run(VERDICT_CRASH);
    }
    invept_context(ept_pointer(&ept));
    kprintf("vmxlab: guest RAM: %u MiB at host 0x%lx, mapped by EPT (%u tables, %s pages%s)%s\n",
            GUEST_RAM_SIZE >> 20, base, ept_used, large ? "2 MiB" : "4 KiB",
            !caps.ept_2m ? ": this CPU has no 2 MiB EPT pages" : "",
            shadow_boot ? " for the runs under EPT; this boot's rows use shadow paging" : "");
    apic_ept_init(&ept); // the APIC page too, where the CPU virtualises it (hv/exit/mmio.c)
}

// The built-in guests, a table that the Makefile generates (build/guests.S)
// from hv/run/experiments.c: every guest an experiment names, and no other.
extern const struct guest_image builtin_guests[];
extern const uint64_t nbuiltin_guests;

// Guests from outside: GRUB modules, each named by its command line
// (module2 /boot/guests/NAME.elf NAME). Only modules inside the identity map
// (below 4 GiB) are usable; mb.c has checked that each ends after it starts.
static struct guest_image modules[MB_MAX_MODS];

const struct guest_image *guest_image_find(const char *name)
{
    for (uint64_t i = 0; i < nbuiltin_guests; i++)
        if (!strcmp(builtin_guests[i].name, name))
            return &builtin_guests[i];
    return NULL;
}

const struct guest_image *guest_module_find(const char *name, char *err, size_t errlen)
{
    // A name must pick one module. Two of one name (a hand-written grub.cfg
    // can have them) would leave it to the order which one runs: none does.
    unsigned same = 0;
    for (unsigned i = 0; i < boot_info.mod_count; i++)
        same += !strcmp(boot_info.mods[i].cmdline, name);
    if (same > 1) {
        errorf(err, errlen, "%u GRUB modules are named '%s', so vmxlab cannot tell which one "
               "to run: give each module its own name", same, name);
        return NULL;
    }
    for (unsigned i = 0; i < boot_info.mod_count; i++) {
        const struct mb_module *m = &boot_info.mods[i];
        if (strcmp(m->cmdline, name))
            continue;
        if (m->end > (4ull << 30)) {
            errorf(err, errlen, "GRUB put module '%s' at 0x%lx-0x%lx, above the 4 GiB vmxlab "
                   "maps", name, m->start, m->end);
            return NULL;
        }
        modules[i] = (struct guest_image){ m->cmdline, (const uint8_t *)(uintptr_t)m->start,
                                           (const uint8_t *)(uintptr_t)m->end };
        return &modules[i];
    }
    if (boot_info.mods_ignored) // the name may be one of them: say so before the list
        errorf(err, errlen, "no GRUB module named '%s' among the %d vmxlab reads "
               "(MB_MAX_MODS), and it ignored %u more (modules read: ", name, MB_MAX_MODS,
               boot_info.mods_ignored);
    else
        errorf(err, errlen, "no GRUB module named '%s' (modules: ", name);
    for (unsigned i = 0; i < boot_info.mod_count; i++) {
        char esc[96]; // a module's name comes from outside: shown escaped
        const char *c = boot_info.mods[i].cmdline;
        escape_text(esc, sizeof(esc), c, strlen(c));
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, "%s'%s'", i ? ", " : "", esc);
    }
    size_t len = strlen(err);
    snprintf(err + len, errlen - len, "%s)", boot_info.mod_count ? "" : "none");
    return NULL;
}

// Each run's budget of exits and of TSC ticks: enough for every built-in
// experiment at its largest (toggles=10^8 in 16 windows, every iteration
// exiting a few times, at a few hundred ticks each), never so much that a
// guest looping on exits, or spinning without any, holds the boot. The
// command line (max_exits=, max_ticks=) overrides both; a row may ask for less.
static uint64_t exit_budget(const struct guest_run *run)
{
    if (cfg.max_exits != CFG_NOT_GIVEN)
        return cfg.max_exits;
    if (run->max_exits)
        return run->max_exits;
    return 4 * run->iterations * (run->windows ? run->windows : 1) + 100000;
}

static uint64_t tick_budget(const struct guest_run *run)
{
    if (cfg.max_ticks != CFG_NOT_GIVEN)
        return cfg.max_ticks;
    if (run->max_ticks)
        return run->max_ticks;
    return RUN_TICKS + 1000 * run->iterations * (run->windows ? run->windows : 1);
}

// What VMX does not switch between host and guest, and so carries over from
// one guest run to the next unless it is reset: extended state and XCR0
// (reset_extended_state()), the debug address registers and DR6 (DR7 and IA32_DEBUGCTL come
// from the VMCS), CR2, the MSRs the guest reaches directly (hv/exit/msr.c), and the
// x87/SSE registers, which FXRSTOR reloads from their state after FNINIT: FCW
// 0x37f, MXCSR 0x1f80, the rest 0 (SDM 1 Table 10-2, FXSAVE image; SDM 3A
// 10.1.1, Processor State After Reset). CR8 is virtual (hv/exit/exit_cr.c) and
// starts at 0 with struct vcpu; the devices (hv/dev/) start from their reset().
// Every run starts from this one defined state.
static void reset_machine_state(void)
{
    reset_extended_state();
    static uint8_t fx_init[512] __attribute__((aligned(16)));
    fx_init[0] = 0x7f; // FCW 0x037f: every x87 exception masked
    fx_init[1] = 0x03;
    fx_init[24] = 0x80; // MXCSR 0x1f80: every SIMD exception masked
    fx_init[25] = 0x1f;
    asm volatile("fxrstor64 %0" ::"m"(fx_init));
    uint64_t zero = 0, dr6 = DR6_INIT;
    asm volatile("mov %0, %%dr0\n\t"
                 "mov %0, %%dr1\n\t"
                 "mov %0, %%dr2\n\t"
                 "mov %0, %%dr3\n\t"
                 "mov %1, %%dr6" ::"r"(zero), "r"(dr6));
    write_cr2(0);
    msr_reset_for_run();
    msr_reset_emulated();
    platform_reset(GUEST_RAM_SIZE); // the devices (hv/dev/), their clock from now
}

bool guest_run(const struct guest_image *img, const struct guest_run *run,
               struct run_record *rec)
{
    *rec = (struct run_record){ .end = RUN_STOPPED };
    memset(vcpu.ram, 0, GUEST_RAM_SIZE); // every run starts from a clean machine
    uint64_t entry;
    char err[160];
    if (elf_load(img->start, (size_t)(img->end - img->start), vcpu.ram, GUEST_RAM_SIZE,
                 &entry, err, sizeof(err))) {
        report(false, "%s: guest image '%s' refused: %s", run->label, img->name, err);
        return false;
    }
    const struct guest_header *hdr = (const void *)(vcpu.ram + GUEST_LOAD_GPA);
    if (hdr->magic != GUEST_HEADER_MAGIC) {
        report(false, "%s: guest image '%s' refused: no guest header (magic \"VMXGEST1\") at "
               "guest-physical 0x%x: link it with the guest runtime", run->label, img->name,
               GUEST_LOAD_GPA);
        return false;
    }
    struct guest_params *params = (void *)(vcpu.ram + GUEST_PARAMS_GPA);
    params->iterations = run->iterations;
    params->windows = run->windows;
    params->flags = run->flags;
    params->seed = cfg.seed;
    bool shadow = run->mmu != MMU_EPT;
    unsigned missing = (unsigned)vmx_controls_for(shadow);
    if (missing) {
        report(false, "%s: paging=shadow needs the %s '%s', which this CPU lacks", run->label,
               ctl_kind_name(CTL_PROC), ctl_bit_name(CTL_PROC, missing));
        return false;
    }
    params->host = (ctl_on(CTL_PROC2, CTL_PROC2_RDRAND_EXITING) ? HOST_RDRAND_EXITS : 0) |
                   (ctl_on(CTL_PROC2, CTL_PROC2_RDSEED_EXITING) ? HOST_RDSEED_EXITS : 0) |
                   (ctl_on(CTL_PROC2, CTL_PROC2_RDTSCP) ? HOST_RDTSCP : 0) |
                   (shadow ? HOST_SHADOW_PAGING : 0) |
                   (shadow && (run->cr0_owned & CR0_WP) ? HOST_WP_UNSAFE : 0);

    struct cr_setup cr;
    vm_setup_cr(&caps, shadow, run->cr0_owned, &cr);
    uint8_t *ram = vcpu.ram;
    vcpu = (struct vcpu){
        .label = run->label, .cr0_owned = run->cr0_owned, .cr4_owned = run->cr4_owned,
        .cr0_shadow = cr.cr0, .cr4_shadow = cr.cr4, .wp_left = run->wp_threshold,
        .rec = rec, .ram = ram, .expect_stop = run->expect_stop,
        .exits_left = exit_budget(run), .max_ticks = tick_budget(run), .trace_left = cfg.trace,
        .cr0_keep = cr.cr0_keep, .cr0_force = cr.cr0_force, .cr4_force = cr.cr4_force,
        .shadow = shadow, .guest_cr3 = hdr->cr3, .efer = EFER_LME | EFER_LMA,
    };
    if (shadow)
        shadow_reset(run->mmu == MMU_SHADOW_ROLES);
    // What makes a MOV to CR0 more than a write, for exitpath=fast: shadow
    // tables that follow WP, adaptive's countdown, and CET's need for WP once
    // the guest could set CR4.CET (through exits or owning it).
    vcpu.cr0_plain = !shadow && !vcpu.wp_left &&
                     !((cr4_guest_bits | run->cr4_owned) & CR4_CET);
    uint64_t nmis = events.nmis, extints = events.extints, wd = events.watchdog_nmis;
    reset_machine_state();
    vmcs_load(vmcs_region);
    struct host_state host;
    host_state_now(&host);
    // A fresh VPID per run: no stale guest translations from the last run.
    struct vm_setup s = { .caps = &caps, .ctls = &ctls, .host = &host, .hdr = hdr,
                          .rip = entry, .eptp = ept_pointer(&ept),
                          .msr_bitmap = (uint64_t)msr_bitmap,
                          .vapic_page = (uint64_t)vapic_page,
                          .apic_access_page = (uint64_t)apic_access_page,
                          .cr3 = shadow ? shadow_root_for(cr.cr0 & CR0_WP) : hdr->cr3,
                          .shadow = shadow, .efer = vcpu.efer,
                          .cr = cr, .cr0_owned = run->cr0_owned,
                          .cr4_owned = run->cr4_owned, .vpid = (uint16_t)(++runs % 0xffff + 1) };
    vmcs_setup(&s);
    entry_prepare(run->label, run->brk); // break=, then the entry checker (hv/vmx/entry.c)
    if (ctl_on(CTL_PROC2, CTL_PROC2_VPID))
        invvpid_context(s.vpid, false); // nothing cached for this VPID from a last use
    struct guest_regs regs = { .rdi = GUEST_PARAMS_GPA };
    if (cfg.disturb == DISTURB_TIMER)
        pic_unmask_timer(true);
    // Without a VMX-preemption timer, a guest that spins without exits is
    // ended by the PIT's tick, sent as an NMI (which exits whatever the
    // guest's IF, SDM 3C 26.2): each NMI exit reads the TSC (hv/exit/exit.c).
    vcpu.nmi_watchdog = !ctl_on(CTL_PIN, CTL_PIN_PREEMPTION_TIMER);
    events.nmi_watchdog = vcpu.nmi_watchdog && cfg.disturb != DISTURB_NMI;
    if (cfg.disturb == DISTURB_NMI || vcpu.nmi_watchdog)
        timer_as_nmi(true);
    if (cfg.fault == FAULT_VMX_GP) // a bug in VMX root operation, with a VMCS current
        fault_on_purpose(cfg.fault);
    vcpu.progress_at = rdtsc();
    vcpu.deadline = vcpu.progress_at + vcpu.max_ticks;
    if (vcpu.deadline < vcpu.max_ticks)
        vcpu.deadline = UINT64_MAX; // no wrap: the TSC will not get there
    arm_watchdog(vcpu.max_ticks);
    int launched = vmx_run(&regs);
    if (cfg.disturb == DISTURB_NMI || vcpu.nmi_watchdog)
        timer_as_nmi(false);
    events.nmi_watchdog = false; // an NMI still on its way is the watchdog's, but rare
    pic_unmask_timer(false);
    if (launched && !entry_launch_failed(run->expect_stop, rec))
        vmx_fail("VMLAUNCH", entry);
    vmcs_clear(vmcs_region);
    entry_checked(run->brk != NULL); // a broken VMCS is judged by its own row
    dev_end_all(); // COM1's unfinished line
    rec->all = vcpu.stats;
    rec->nmis = events.nmis - nmis;
    rec->extints = events.extints - extints;
    rec->watchdog_nmis = events.watchdog_nmis - wd;
    return true;
}
