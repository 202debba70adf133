// guest.c: the guest's memory and one guest run. guest_ram_init() carves the
// guest's RAM out of the multiboot memory map and maps it, and only it, with
// EPT; guest_run() loads a guest ELF image into that RAM, sets up the VMCS and
// runs the guest until it ends (HC_EXIT) or a handler stops it. The ABI the
// guests follow is guest/abi.h and docs/guest-abi.md.
#include "../boot/boot.h"
#include "../boot/x86.h"
#include "../guest/abi.h"
#include "hv.h"

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

// The highest 2 MiB-aligned stretch of available RAM below 4 GiB (identity-
// mapped by boot/entry.S) that holds the guest and does not touch the kernel.
static uint64_t carve_guest_ram(void)
{
    extern char kernel_start[], kernel_end[];
    uint64_t best = 0;
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct mem_region *m = &boot_info.mmap[i];
        if (m->type != MMAP_AVAILABLE)
            continue;
        uint64_t end = m->base + m->len < (4ull << 30) ? m->base + m->len : (4ull << 30);
        if (end < GUEST_RAM_SIZE)
            continue;
        uint64_t base = (end - GUEST_RAM_SIZE) & ~(MiB2 - 1);
        bool overlaps_kernel = base < (uint64_t)kernel_end &&
                               base + GUEST_RAM_SIZE > (uint64_t)kernel_start;
        if (base >= m->base && base >= (16ull << 20) && !overlaps_kernel && base > best)
            best = base;
    }
    return best;
}

static void invept_all(uint64_t eptp)
{
    struct { uint64_t eptp, zero; } desc = { eptp, 0 };
    uint64_t type = caps.invept_single ? 1 : 2; // single-context, else all-context
    bool cf, zf;
    asm volatile("invept %[d], %[t]" : "=@ccc"(cf), "=@ccz"(zf)
                 : [d] "m"(desc), [t] "r"(type) : "memory");
    if (cf || zf)
        vmx_fail("INVEPT", type);
}

void guest_ram_init(void)
{
    uint64_t base = carve_guest_ram();
    if (!base) {
        kprintf("vmxlab: no %u MiB of free RAM below 4 GiB for the guest "
                "(give the machine more memory)\n", GUEST_RAM_SIZE >> 20);
        end_run(VERDICT_FAIL);
    }
    vcpu.ram = (uint8_t *)base;
    ept.pml4 = ept_alloc(NULL);
    ept.alloc_page = ept_alloc;
    memset(ept_pool, 0, sizeof(ept_pool));
    if (ept_map(&ept, 0, base, GUEST_RAM_SIZE)) {
        kprintf("vmxlab: building EPT failed\n");
        end_run(VERDICT_CRASH);
    }
    if (caps.invept)
        invept_all(ept_pointer(&ept));
    vmcs_region = vmx_alloc_region();
    kprintf("vmxlab: guest RAM: %u MiB at host 0x%lx, mapped by EPT (%u tables, 2 MiB pages)\n",
            GUEST_RAM_SIZE >> 20, base, ept_used);
}

// Copies the ELF's PT_LOAD segments to their guest-physical addresses.
// Returns the entry point, or 0 after saying what is wrong with the image.
static uint64_t load_elf(const struct guest_image *img)
{
    struct elf64_ehdr {
        uint8_t ident[16];
        uint16_t type, machine;
        uint32_t version;
        uint64_t entry, phoff, shoff;
        uint32_t flags;
        uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
    } eh;
    struct elf64_phdr {
        uint32_t type, flags;
        uint64_t offset, vaddr, paddr, filesz, memsz, align;
    } ph;
    size_t size = (size_t)(img->end - img->start);
    if (size < sizeof(eh))
        goto bad;
    memcpy(&eh, img->start, sizeof(eh));
    if (memcmp(eh.ident, "\x7f" "ELF\x02", 5) || eh.machine != 62 ||
        eh.phentsize != sizeof(ph) || eh.phoff + (uint64_t)eh.phnum * sizeof(ph) > size)
        goto bad;
    for (unsigned i = 0; i < eh.phnum; i++) {
        memcpy(&ph, img->start + eh.phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type != 1) // PT_LOAD
            continue;
        if (ph.paddr + ph.memsz > GUEST_RAM_SIZE || ph.filesz > ph.memsz ||
            ph.offset + ph.filesz > size)
            goto bad;
        memcpy(vcpu.ram + ph.paddr, img->start + ph.offset, ph.filesz);
    }
    return eh.entry;
bad:
    kprintf("vmxlab: guest image '%s' is not a 64-bit ELF that fits in guest RAM\n", img->name);
    return 0;
}

int guest_run(const struct guest_image *img, const struct guest_run *run)
{
    memset(vcpu.ram, 0, GUEST_RAM_SIZE); // every run starts from a clean machine
    uint64_t entry = load_elf(img);
    const struct guest_header *hdr = (const void *)(vcpu.ram + GUEST_LOAD_GPA);
    if (!entry || hdr->magic != GUEST_HEADER_MAGIC) {
        if (entry)
            kprintf("vmxlab: guest image '%s' has no guest header at 0x%x\n", img->name,
                    GUEST_LOAD_GPA);
        report(false, "%s: guest image '%s' loads", run->label, img->name);
        return -1;
    }
    struct guest_params *params = (void *)(vcpu.ram + GUEST_PARAMS_GPA);
    params->iterations = run->iterations;
    params->flags = run->flags;

    const uint64_t cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    const uint64_t cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    uint8_t *ram = vcpu.ram;
    vcpu = (struct vcpu){
        .label = run->label, .cr0_owned = run->cr0_owned, .cr4_owned = run->cr4_owned,
        .cr0_shadow = cr0, .cr4_shadow = cr4, .wp_left = run->wp_threshold,
        .result = run->result, .status = -1, .ram = ram, .expect_stop = run->expect_stop,
        // The fixed-bit rule (hv/vmx.c) folded with cr0_normalize() for set_cr0().
        .cr0_keep = CR0_DEFINED & caps.raw.cr0_fixed1,
        .cr0_force = (CR0_ET | caps.raw.cr0_fixed0) & caps.raw.cr0_fixed1,
    };
    vmcs_load(vmcs_region);
    // A fresh VPID per run: no stale guest translations from the last run.
    struct vm_setup s = { .hdr = hdr, .rip = entry, .eptp = ept_pointer(&ept), .cr0 = cr0,
                          .cr4 = cr4, .cr0_owned = run->cr0_owned,
                          .cr4_owned = run->cr4_owned, .vpid = (uint16_t)(++runs) };
    vmcs_setup(&s);
    if (run->bad_rflags) // bad-guest test: RFLAGS bit 1 must be 1 (SDM 3C 27.3.1.4)
        vmwrite(GUEST_RFLAGS, 0);
    struct guest_regs regs = { .rdi = GUEST_PARAMS_GPA };
    if (vmx_run(&regs))
        vmx_fail("VMLAUNCH", entry);
    vmcs_clear(vmcs_region);
    return vcpu.status;
}
