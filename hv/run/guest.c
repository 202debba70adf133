// guest.c: the guest's memory and one guest run. guest_ram_init() carves the
// guest's RAM out of the multiboot memory map, as much as the largest guest of the
// boot needs, and the page tables that map it; guest_run() maps the run's RAM (EPT
// where the CPU has it, else only shadow paging maps it, hv/mmu/shadow.c), loads a
// guest into it, a vmxlab guest ELF (hv/run/elf.c) or a multiboot kernel
// (hv/run/multiboot.c), sets up the VMCS and runs the guest until it ends, a handler
// stops it, or it uses up its budget, and leaves what happened in a struct
// run_record. The ABIs the guests follow are guest/abi.h and docs/guest-abi.md.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../dev/dev.h"
#include "../exit/exit.h"
#include "../mmu/mmu.h"
#include "internal.h"
#include "multiboot.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

// Guest RAM and its page tables, host memory carved once per boot. Each run maps
// the RAM it gets (ram_map()): EPT for exactly that much, and for a multiboot kernel
// under shadow paging the identity map of it; the shadow tables come from a pool
// sized for the largest RAM. The tables are page-sized, zeroed before use.
static struct {
    uint64_t base, max;         // host address of guest-physical 0; bytes carved
    uint64_t (*tables)[512];    // EPT, identity map, shadow pool, in that order
    unsigned ept_pages, shadow_pages;
    uint64_t mapped;            // the RAM size the EPT and identity map are built for
    unsigned ept_used;
    uint64_t ident_cr3;         // ident_map_build()'s PDPT for that size
} mem;
static struct ept ept;
static void *vmcs_region;
static unsigned runs;

static uint64_t *ept_alloc(void *ctx)
{
    (void)ctx;
    return mem.ept_used < mem.ept_pages ? mem.tables[mem.ept_used++] : NULL;
}

// Page tables for up to `ram` bytes of RAM below 4 GiB. EPT with 4 KiB pages at
// worst (ept_pages=4k): a PML4, a PDPT, a page directory per GiB and a page table per
// 2 MiB, and a directory and a table for the local APIC's page (apic_ept_init()). Shadow tables: a guest that touches all its RAM through one mapping needs a
// page table per 2 MiB and a directory per GiB, twice with shadow_wp=roles, and what
// maps its tables, stacks and tests elsewhere (64 pages, what the 4 MiB guests use);
// past that the pool is emptied and refilled (hv/mmu/shadow.c), slower but correct.
static unsigned ept_tables_for(uint64_t ram)
{
    return (unsigned)(2 + (ram + GiB - 1) / GiB + (ram + 2 * MiB - 1) / (2 * MiB) + 2);
}

static unsigned shadow_tables_for(uint64_t ram)
{
    return (unsigned)(2 * (2 + (ram + GiB - 1) / GiB + (ram + 2 * MiB - 1) / (2 * MiB)) + 64);
}

// The RAM a guest run gets: guest_mem= MiB, else its kind's default (docs/guest-abi.md
// section 15): 128 MiB for a multiboot kernel, as QEMU's -m; 4 MiB for a vmxlab guest.
uint64_t guest_ram_for(bool multiboot)
{
    if (cfg.guest_mem != CFG_NOT_GIVEN)
        return cfg.guest_mem * MiB;
    return multiboot ? MBV1_DEFAULT_MEM_MIB * MiB : GUEST_RAM_SIZE;
}

// The most RAM a run of this boot asks for: a multiboot kernel among guest= makes it
// 128 MiB (the modules are known at boot; guest_module_find() reads them again).
static uint64_t ram_needed(void)
{
    uint64_t most = guest_ram_for(false);
    const char *p = cfg.guest, *item;
    size_t n;
    char name[33], err[256];
    while (list_next(&p, &item, &n)) {
        if (n >= sizeof(name))
            continue; // refused by name when its turn comes (hv/run/experiment.c)
        memcpy(name, item, n);
        name[n] = '\0';
        const struct guest_image *img = guest_module_find(name, err, sizeof(err));
        if (img && img->mb && guest_ram_for(true) > most)
            most = guest_ram_for(true);
    }
    return most;
}

// The free RAM below 4 GiB in the boot's memory map, for the message that says why
// guest RAM does not fit.
static uint64_t ram_below_4g(void)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct mem_region *m = &boot_info.mmap[i];
        if (m->type == MMAP_AVAILABLE && m->base < 4 * GiB)
            sum += (m->base + m->len < 4 * GiB ? m->base + m->len : 4 * GiB) - m->base;
    }
    return sum;
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

// The highest stretch of available RAM from 16 MiB to 4 GiB (identity-mapped by
// boot/entry.S) that holds size bytes at the alignment, clear of the kernel, of
// everything the loader left that the kernel still reads (mb_carve()) and of avoid:
// guest RAM is zeroed before every run.
static uint64_t carve(uint64_t size, uint64_t align, const struct mem_range *avoid)
{
    extern char kernel_start[], kernel_end[];
    const struct mem_range clear[2] = { { (uint64_t)kernel_start, (uint64_t)kernel_end },
                                        avoid ? *avoid : (struct mem_range){ 0, 0 } };
    return mb_carve(&boot_info, size, align, 16 * MiB, 4 * GiB, clear, avoid ? 2 : 1);
}

// EPT for the run's RAM, where it is not already: [0, ram) onto guest RAM with the
// largest pages the CPU has (ept_pages=4k: 4 KiB only), and nothing else mapped, so
// that every other guest-physical address makes an EPT violation (a device, or a
// stop). For a multiboot kernel under shadow paging, the identity map (IDENT_PAGES
// after the EPT tables) of the same RAM. The guest's TLB entries of the old tables go
// (INVEPT). Returns the number of EPT tables, for the line that says so.
static void ram_map(uint64_t ram, bool say, const char *why)
{
    if (mem.mapped == ram)
        return;
    mem.mapped = ram;
    memset(mem.tables, 0, (size_t)(mem.ept_pages + IDENT_PAGES) * 4096);
    mem.ident_cr3 = ident_map_build(mem.tables + mem.ept_pages, ram, mem.base);
    if (!vmx_has_ept()) {
        if (say)
            kprintf("vmxlab: guest RAM: %lu MiB at host 0x%lx; this CPU has no usable EPT: "
                    "shadow paging maps it\n", ram / MiB, mem.base);
        return;
    }
    mem.ept_used = 0;
    ept.pml4 = ept_alloc(NULL);
    ept.alloc_page = ept_alloc;
    unsigned large = cfg.ept_pages == EPT_PAGES_4K || !caps.ept_2m ? EPT_LARGE_NONE
                     : caps.ept_1g ? EPT_LARGE_1G : EPT_LARGE_2M;
    if (ept_map(&ept, 0, mem.base, ram, large)) {
        kprintf("vmxlab: building EPT failed\n");
        end_run(VERDICT_CRASH);
    }
    invept_context(ept_pointer(&ept));
    bool gib = large == EPT_LARGE_1G && !(mem.base & (GiB - 1)) && ram >= GiB;
    if (say)
        kprintf("vmxlab: guest RAM: %lu MiB at host 0x%lx, mapped by EPT (%u tables, %s pages%s)"
                "%s\n", ram / MiB, mem.base, mem.ept_used,
                gib ? "1 GiB" : large ? "2 MiB" : "4 KiB",
                !caps.ept_2m ? ": this CPU has no 2 MiB EPT pages" : "", why);
    apic_ept_init(&ept); // the APIC page too, where the CPU virtualises it (hv/exit/mmio.c)
}

void guest_ram_init(bool shadow_boot)
{
    uint64_t ram = ram_needed();
    if (ram > mbv1_ram_below_4g(ram)) {
        kprintf("vmxlab: guest_mem=%lu: with 3584 MiB or more QEMU's pc machine puts RAM at "
                "4 GiB and up, and vmxlab backs guest RAM with host memory below 4 GiB only: "
                "ask for at most 3583\n", ram / MiB);
        end_run(VERDICT_FAIL);
    }
    mem.max = ram;
    mem.ept_pages = ept_tables_for(ram);
    mem.shadow_pages = shadow_tables_for(ram);
    // 1 GiB EPT pages need guest RAM at a GiB boundary: tried first where they can help.
    if (ram >= GiB && caps.ept_1g && vmx_has_ept() && cfg.ept_pages == EPT_PAGES_2M)
        mem.base = carve(ram, GiB, NULL);
    if (!mem.base)
        mem.base = carve(ram, 2 * MiB, NULL);
    uint64_t table_bytes = (uint64_t)(mem.ept_pages + IDENT_PAGES + mem.shadow_pages) * 4096;
    const struct mem_range guest = { mem.base, mem.base + ram };
    uint64_t tables = mem.base ? carve(table_bytes, 4096, &guest) : 0;
    if (!mem.base || !tables) {
        kprintf("vmxlab: guest RAM: no %lu MiB of free RAM below 4 GiB in one piece, with %lu "
                "KiB for its page tables (guest_mem=%s%lu): this machine has %lu MiB of free "
                "RAM below 4 GiB in all (its memory map), less the kernel and its modules; "
                "give it more memory, or the guest less\n", ram / MiB, table_bytes >> 10,
                cfg.guest_mem == CFG_NOT_GIVEN ? "not given, so " : "", ram / MiB,
                ram_below_4g() / MiB);
        end_run(VERDICT_FAIL);
    }
    mem.tables = (uint64_t(*)[512])(uintptr_t)tables;
    shadow_pool(mem.tables + mem.ept_pages + IDENT_PAGES, mem.shadow_pages);
    vcpu.ram = (uint8_t *)(uintptr_t)mem.base;
    vmcs_region = vmx_alloc_region();
    xstate_init();
    ram_map(ram, true, vmx_has_ept() && shadow_boot
                           ? " for the runs under EPT; this boot's rows use shadow paging" : "");
}

// The built-in guests, a table that the Makefile generates (build/guests.S)
// from hv/run/experiments.c: every guest an experiment names, and no other.
extern const struct guest_image builtin_guests[];
extern const uint64_t nbuiltin_guests;

// Guests from outside: GRUB modules. A vmxlab guest's module string is its name
// (module2 /boot/guests/NAME.elf NAME); a multiboot kernel's is its name and its
// arguments (NAME ARGS), and its modules' NAME:FILE ARGS (hv/run/mbreq.c). Which one a
// name picks is the image's to say: mbv1_is_multiboot(). Only modules inside the
// identity map (below 4 GiB) are usable; mb.c has checked that each ends after it
// starts.
static struct guest_image modules[MB_MAX_MODS];
static struct mbv1_request mb_request; // the multiboot kernel last found, and its modules
static struct mbv1_module mb_modules[MB_MAX_MODS];

const struct guest_image *guest_image_find(const char *name)
{
    for (uint64_t i = 0; i < nbuiltin_guests; i++)
        if (!strcmp(builtin_guests[i].name, name))
            return &builtin_guests[i];
    return NULL;
}

// The module whose string is the multiboot kernel name with its arguments, if its
// bytes are a multiboot kernel's: then its request, or NULL and why not in err.
static const struct guest_image *multiboot_find(const char *name, char *err, size_t errlen,
                                                bool *is_mb)
{
    size_t n = strlen(name);
    *is_mb = false;
    for (unsigned i = 0; i < boot_info.mod_count && !*is_mb; i++) {
        const struct mb_module *m = &boot_info.mods[i];
        *is_mb = !strncmp(m->cmdline, name, n) && (!m->cmdline[n] || m->cmdline[n] == ' ') &&
                 m->end <= 4 * GiB &&
                 mbv1_is_multiboot((const uint8_t *)(uintptr_t)m->start,
                                   (size_t)(m->end - m->start));
    }
    if (!*is_mb || mbv1_request_from_modules(&boot_info, name, &mb_request, mb_modules,
                                             MB_MAX_MODS, err, errlen))
        return NULL;
    modules[0] = (struct guest_image){ name, mb_request.image,
                                       mb_request.image + mb_request.size, &mb_request };
    return &modules[0];
}

const struct guest_image *guest_module_find(const char *name, char *err, size_t errlen)
{
    bool is_mb;
    const struct guest_image *mb = multiboot_find(name, err, errlen, &is_mb);
    if (is_mb)
        return mb;
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
                                           (const uint8_t *)(uintptr_t)m->end, NULL };
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
    platform_reset(vcpu.ram_size); // the devices (hv/dev/), their clock from now
}

// The descriptor table QEMU's multiboot option ROM (pc-bios/optionrom/multiboot.S)
// leaves GDTR pointing at, with the kernel's CS 0x08 and data 0x10 in it, as QEMU 7.2
// shows it to a kernel (guest/multiboot/README.md, probe=1): a kernel that reloads a
// segment register before its own LGDT finds what it had. Placed where QEMU's is, at
// 0xcb2b8 in the option ROMs' range, which the memory map gives as no RAM and the
// loader keeps images out of (hv/run/multiboot.c). The entry's ESP is the option
// ROM's too (the specification leaves both undefined).
#define MB_GDT_GPA 0xcb2b8u
#define MB_ESP 0x6f08u
static const uint64_t mb_gdt[] = {
    0,
    0x00cf9a000000ffffull, // 0x08: code, base 0, limit 4 GiB, 32-bit, execute/read
    0x00cf92000000ffffull, // 0x10: data, base 0, limit 4 GiB, read/write
    0x00009e000000ffffull, // 0x18: 16-bit code, conforming, limit 64 KiB
    0x000092000000ffffull, // 0x20: 16-bit data, limit 64 KiB
};

// The guest into guest RAM and where it starts: a vmxlab guest by its ELF program
// headers, with its guest header and struct guest_params; a multiboot kernel as
// QEMU loads it, EAX and EBX as the specification wants them (3.2). false: refused,
// said as a FAIL.
static bool load(const struct guest_image *img, const struct guest_run *run,
                 struct guest_entry *g, struct guest_regs *regs, uint64_t *cr3)
{
    char err[200];
    if (img->mb) {
        struct mbv1_loaded l;
        if (mbv1_load(img->mb, vcpu.ram, vcpu.ram_size, &l, err, sizeof(err))) {
            report(false, "%s: multiboot kernel '%s' refused: %s", run->label, img->name, err);
            return false;
        }
        memcpy(vcpu.ram + MB_GDT_GPA, mb_gdt, sizeof(mb_gdt));
        *g = (struct guest_entry){ .prot32 = true, .rip = l.entry, .rsp = MB_ESP,
                                   .gdt_base = MB_GDT_GPA, .gdt_limit = sizeof(mb_gdt) - 1,
                                   .idt_base = 0, .idt_limit = 0x3ff };
        *regs = (struct guest_regs){ .rax = MBV1_BOOT_MAGIC, .rbx = l.info };
        *cr3 = 0;
        return true;
    }
    uint64_t entry;
    if (elf_load(img->start, (size_t)(img->end - img->start), vcpu.ram, vcpu.ram_size,
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
    params->host = (ctl_on(CTL_PROC2, CTL_PROC2_RDRAND_EXITING) ? HOST_RDRAND_EXITS : 0) |
                   (ctl_on(CTL_PROC2, CTL_PROC2_RDSEED_EXITING) ? HOST_RDSEED_EXITS : 0) |
                   (ctl_on(CTL_PROC2, CTL_PROC2_RDTSCP) ? HOST_RDTSCP : 0) |
                   (shadow ? HOST_SHADOW_PAGING : 0) |
                   (shadow && (run->cr0_owned & CR0_WP) ? HOST_WP_UNSAFE : 0);
    *g = (struct guest_entry){ .rip = entry, .rsp = hdr->rsp, .gdt_base = hdr->gdt_base,
                               .gdt_limit = hdr->gdt_limit, .idt_base = hdr->idt_base,
                               .idt_limit = hdr->idt_limit };
    *regs = (struct guest_regs){ .rdi = GUEST_PARAMS_GPA };
    *cr3 = hdr->cr3;
    return true;
}

bool guest_run(const struct guest_image *img, const struct guest_run *run,
               struct run_record *rec)
{
    *rec = (struct run_record){ .end = RUN_STOPPED };
    bool mb = img->mb, shadow = run->mmu != MMU_EPT;
    // A multiboot kernel starts with paging off: under EPT only "unrestricted guest"
    // lets the CPU run that (SDM 3C 25.6.2, 27.3.1.1). KVM, on a CPU without it, runs
    // such a guest on an identity map as shadow paging here does; vmxlab sends it there.
    if (mb && !shadow && !caps.unrestricted_guest) {
        report(false, "%s: multiboot kernel '%s' refused: it starts in 32-bit protected "
               "mode with paging off, which under EPT needs the VMX control \"unrestricted "
               "guest\", and this CPU lacks it; try paging=shadow", run->label, img->name);
        return false;
    }
    unsigned missing = (unsigned)vmx_controls_for(shadow, mb);
    if (missing) {
        report(false, "%s: paging=shadow needs the %s '%s', which this CPU lacks", run->label,
               ctl_kind_name(CTL_PROC), ctl_bit_name(CTL_PROC, missing));
        return false;
    }
    uint64_t ram = guest_ram_for(mb);
    char why[96];
    snprintf(why, sizeof(why), " for %s", run->label);
    ram_map(ram, true, why);
    vcpu.ram_size = ram;
    memset(vcpu.ram, 0, ram); // every run starts from a clean machine
    struct guest_entry g;
    struct guest_regs regs;
    uint64_t guest_cr3;
    if (!load(img, run, &g, &regs, &guest_cr3))
        return false;

    struct cr_setup cr;
    vm_setup_cr(&caps, shadow, mb, run->cr0_owned, &cr);
    uint8_t *ram_at = vcpu.ram;
    vcpu = (struct vcpu){
        .label = run->label, .cr0_owned = run->cr0_owned, .cr4_owned = run->cr4_owned,
        .cr0_shadow = cr.cr0, .cr4_shadow = cr.cr4, .wp_left = run->wp_threshold,
        .rec = rec, .ram = ram_at, .ram_size = ram, .multiboot = mb,
        .expect_stop = run->expect_stop,
        .exits_left = exit_budget(run), .max_ticks = tick_budget(run), .trace_left = cfg.trace,
        .cr0_keep = cr.cr0_keep, .cr0_force = cr.cr0_force, .cr4_force = cr.cr4_force,
        .shadow = shadow, .guest_cr3 = guest_cr3, .efer = mb ? 0 : EFER_LME | EFER_LMA,
    };
    if (shadow)
        shadow_reset(run->mmu == MMU_SHADOW_ROLES, mem.ident_cr3);
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
    struct vm_setup s = { .caps = &caps, .ctls = &ctls, .host = &host, .entry = g,
                          .eptp = ept_pointer(&ept), .msr_bitmap = (uint64_t)msr_bitmap,
                          .vapic_page = (uint64_t)vapic_page,
                          .apic_access_page = (uint64_t)apic_access_page,
                          .cr3 = !shadow ? guest_cr3 : mb ? mem.ident_cr3
                                 : shadow_root_for(cr.cr0 & CR0_WP),
                          .shadow = shadow, .efer = vcpu.efer,
                          .cr = cr, .cr0_owned = run->cr0_owned,
                          .cr4_owned = run->cr4_owned, .vpid = (uint16_t)(++runs % 0xffff + 1) };
    vmcs_setup(&s);
    entry_prepare(run->label, run->brk); // break=, then the entry checker (hv/vmx/entry.c)
    if (ctl_on(CTL_PROC2, CTL_PROC2_VPID))
        invvpid_context(s.vpid, false); // nothing cached for this VPID from a last use
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
    uint64_t t0 = vcpu.progress_at = rdtsc();
    vcpu.deadline = t0 + vcpu.max_ticks;
    if (vcpu.deadline < vcpu.max_ticks)
        vcpu.deadline = UINT64_MAX; // no wrap: the TSC will not get there
    arm_watchdog(vcpu.max_ticks);
    int launched = vmx_run(&regs);
    rec->ticks = rdtsc() - t0;
    if (cfg.disturb == DISTURB_NMI || vcpu.nmi_watchdog)
        timer_as_nmi(false);
    events.nmi_watchdog = false; // an NMI still on its way is the watchdog's, but rare
    pic_unmask_timer(false);
    if (launched && !entry_launch_failed(run->expect_stop, rec))
        vmx_fail("VMLAUNCH", g.rip);
    vmcs_clear(vmcs_region);
    entry_checked(run->brk != NULL); // a broken VMCS is judged by its own row
    dev_end_all(); // COM1's unfinished line
    rec->all = vcpu.stats;
    rec->nmis = events.nmis - nmis;
    rec->extints = events.extints - extints;
    rec->watchdog_nmis = events.watchdog_nmis - wd;
    return true;
}
