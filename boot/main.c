// main.c: kmain(), where boot/entry.S lands in long mode with the boot stack,
// identity paging of 0-4 GiB and interrupts off. It brings up the consoles and
// descriptor tables, reads the loader's information and the command line,
// reports what the CPU offers for VMX, runs the experiment (hv/run/experiment.c)
// and ends the run with a verdict: every way out of the kernel is end_run().
#include "boot.h"
#include "x86.h"
#include "../hv/run/run.h"
#include "../hv/vmx/vmx.h"

struct mb_info boot_info;

// Every name in tests= must be a test: a typo must not turn into a run of nothing.
static const char *unknown_test(void)
{
    static char name[32];
    const char *p = cfg.tests, *item;
    size_t n;
    while (list_next(&p, &item, &n)) {
        if (!experiment_name_known(item, n)) {
            size_t len = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
            memcpy(name, item, len);
            name[len] = '\0';
            return name;
        }
    }
    return NULL;
}

// Every way out of the kernel. VMX is left first (INIT is blocked in VMX
// operation, SDM 3C 24.8, so a machine left there would not even reset
// cleanly). The emulators' exit ports are written only when end=poweroff asks
// for it: on a real PC, ports 0xf4 and 0x8900 belong to whatever device the
// firmware put there.
__attribute__((noreturn)) void end_run(enum verdict v)
{
    vmx_leave();
    kprintf("vmxlab: verdict %s\n", verdict_name(v));
    if (cfg.end == END_POWEROFF) {
        console_flush();
        outl(0xf4, verdict_qemu_code(v)); // QEMU: isa-debug-exit device
        for (const char *p = "Shutdown"; *p; p++)
            outb(0x8900, *p); // Bochs: its shutdown port
    }
    kprintf("vmxlab: run ended; the machine can be switched off\n");
    for (;;)
        asm volatile("cli; hlt");
}

// fault=: the exception report (boot/cpu.c) is part of what a reader should
// see work; each of these raises the named exception in the kernel itself
// (vmx-gp: a #GP in VMX root operation, which hv/run/experiment.c asks for).
// fault=stack: each call holds a page of stack until the guard page stops it.
static __attribute__((noinline)) uint64_t deeper(uint64_t n)
{
    volatile uint8_t page[4096];
    page[0] = (uint8_t)n;
    if (n == UINT64_MAX) // never: it keeps the call from becoming a loop
        return 0;
    return deeper(n + 1) + page[0];
}

void fault_on_purpose(unsigned how)
{
    kprintf("vmxlab: fault=%s: faulting on purpose\n",
            (const char *[]){ "none", "ud", "gp", "pf", "de", "vmx-gp", "stack" }[how]);
    volatile uint64_t zero = 0;
    switch (how) {
    case FAULT_UD:
        asm volatile("ud2");
        break;
    case FAULT_GP: // a non-canonical address
    case FAULT_VMX_GP:
        (void)*(volatile uint64_t *)0x8000000000000000ull;
        break;
    case FAULT_PF: // above the identity-mapped 4 GiB
        (void)*(volatile uint64_t *)(64ull << 30);
        break;
    case FAULT_DE:
        asm volatile("div %1" ::"a"(1ull), "r"(zero), "d"(0ull));
        break;
    case FAULT_STACK:
        kprintf("vmxlab: %lu\n", deeper(0));
        break;
    }
}

static void read_boot_info(uint32_t magic, uint64_t info)
{
    char err[160];
    int rc;
    if (magic == MB2_BOOT_MAGIC) {
        // Trust total_size only as far as a sane bound; mb2_parse checks the rest.
        uint32_t total = *(const uint32_t *)info;
        rc = mb2_parse((const void *)info, total < 65536 ? total : 65536, &boot_info,
                       err, sizeof(err));
    } else if (magic == MB1_BOOT_MAGIC) {
        rc = mb1_parse((const void *)info, &boot_info, err, sizeof(err));
    } else {
        snprintf(err, sizeof(err),
                 "unknown boot magic 0x%x: boot vmxlab with GRUB (multiboot2) "
                 "or QEMU -kernel (multiboot)", magic);
        rc = -1;
    }
    if (rc) {
        kprintf("vmxlab: bad boot information: %s\n", err);
        end_run(VERDICT_FAIL);
    }
}

__attribute__((noreturn)) void kmain(uint32_t magic, uint64_t info)
{
    console_init_serial();
    cpu_init();
    read_boot_info(magic, info);
    struct mb_info *bi = &boot_info;
    if (bi->has_fb)
        map_identity(bi->fb.addr, (uint64_t)bi->fb.pitch * bi->fb.height);
    console_init_screen(bi->has_fb ? &bi->fb : NULL, magic == MB1_BOOT_MAGIC);

    uint64_t ram = 0;
    for (unsigned i = 0; i < bi->mmap_count; i++)
        if (bi->mmap[i].type == MMAP_AVAILABLE)
            ram += bi->mmap[i].len;
    // The loader's strings are shown escaped: a newline in them must not
    // start a line that looks like the kernel's own (a verdict, say).
    char shown[256];
    escape_text(shown, sizeof(shown), bi->loader, strlen(bi->loader));
    kprintf("vmxlab: booted by %s via %s on %s, %lu MiB of RAM\n",
            *bi->loader ? shown : "an unnamed loader",
            magic == MB2_BOOT_MAGIC ? "multiboot2" : "multiboot",
            bi->efi ? "UEFI" : "BIOS", ram >> 20);
    if (bi->mods_ignored) // guest_module_find() says so again for a guest= name not read
        kprintf("vmxlab: the loader gave %u modules; vmxlab reads the first %d (MB_MAX_MODS) "
                "and ignores the other %u\n", bi->mod_count + bi->mods_ignored, MB_MAX_MODS,
                bi->mods_ignored);
    if (bi->mmap_dropped)
        kprintf("vmxlab: memory map: %u regions left out, beyond the %d vmxlab keeps (other "
                "types first, then the smallest): %lu KiB of RAM not counted or used\n",
                bi->mmap_dropped, MB_MAX_MMAP, bi->mmap_dropped_ram >> 10);
    if (bi->has_fb)
        kprintf("vmxlab: loader's framebuffer: type %u, %ux%u, %u bpp, pitch %u, at 0x%lx\n",
                bi->fb.type, bi->fb.width, bi->fb.height, bi->fb.bpp, bi->fb.pitch,
                bi->fb.addr);
    if (bi->has_fb && !strcmp(console_screen_name(), "serial only"))
        kprintf("vmxlab: cannot draw on that framebuffer (vmxlab draws EGA text, or RGB "
                "at 16, 24 or 32 bpp): the screen stays blank\n");
    kprintf("vmxlab: console: serial COM1, %s\n", console_screen_name());
    mask_interrupt_sources();
    escape_text(shown, sizeof(shown), bi->cmdline, strlen(bi->cmdline));
    kprintf("vmxlab: command line: '%s'\n", shown);

    static char strbuf[256];
    char err[320]; // room for the list of every key, after an unknown one
    if (cmdline_parse(bi->cmdline, config_keys, config_nkeys, strbuf, sizeof(strbuf),
                      err, sizeof(err))) {
        kprintf("vmxlab: bad command line: %s\n", err);
        end_run(VERDICT_FAIL);
    }
    const char *bad = unknown_test();
    if (bad) {
        kprintf("vmxlab: bad command line: unknown test '%s' in tests=\n", bad);
        end_run(VERDICT_FAIL);
    }
    if (!breaks_check_names()) // hv/vmx/entry.c: it names the unknown one, and lists them all
        end_run(VERDICT_FAIL);

    if (cfg.fault != FAULT_NONE && cfg.fault != FAULT_VMX_GP)
        fault_on_purpose(cfg.fault);

    struct caps_raw raw;
    caps_read(&raw);
    caps_decode(&raw, &caps);
    caps_print(&caps);
    char json[640];
    caps_json(&caps, json, sizeof(json));
    kprintf("vmxlab-caps %s\n", json);
    const char *why = caps_unsupported(&caps);
    if (why) {
        kprintf("vmxlab: UNSUPPORTED: %s.\n", why);
        end_run(VERDICT_UNSUPPORTED);
    }

    experiments_run();
    report_finish();
}
