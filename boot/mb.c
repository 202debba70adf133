// mb.c: reads the boot information that a multiboot2 loader (GRUB) or a
// multiboot v1 loader (QEMU -kernel) leaves in memory into a struct mb_info.
// main.c calls one of them first, with the address from EBX; the host unit
// tests call them on buffers they build. Nothing is copied: strings in mb_info
// point into the loader's memory, which must stay mapped and untouched
// (mb_carve(), which hv/run/guest.c asks for guest RAM, keeps clear of it). A
// malformed field is refused with a message: a kernel that guesses boots wrong.
#include "boot.h"

// The info is raw bytes written by the loader: no padding, any alignment, and
// read through these types whatever the compiler thinks is stored there.
#define RAW __attribute__((packed, may_alias))

// Framebuffer fields common to both versions (multiboot2 spec 3.6.11; multiboot
// 0.6.96 section 3.3, offset 88), and the colour layout an RGB one adds.
enum { FB_INDEXED, FB_RGB, FB_EGA_TEXT };
struct RAW fb_fields {
    uint64_t addr;
    uint32_t pitch, width, height; // EGA text: width and height in characters
    uint8_t bpp, type;
};
struct RAW fb_rgb {
    uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};


static void mb_clear(struct mb_info *out)
{
    memset(out, 0, sizeof(*out));
    out->cmdline = out->loader = "";
}

// Which of two regions the kernel can better do without when the table is
// full: it reads only available RAM (the RAM total, guest RAM, the entry
// checker's reads), so any other type first, then the smaller.
static bool less_useful(const struct mem_region *a, const struct mem_region *b)
{
    bool a_ram = a->type == MMAP_AVAILABLE, b_ram = b->type == MMAP_AVAILABLE;
    return a_ram != b_ram ? !a_ram : a->len < b->len;
}

// One entry of the loader's map. Firmware maps come sorted and UEFI ones in
// many small pieces, so an entry that continues the last region (same type,
// starting where it ends) extends it. A map that still has more than
// MB_MAX_MMAP regions never fails the boot: the least useful one goes.
static void mmap_add(struct mb_info *out, struct mem_region r)
{
    if (out->mmap_count) {
        struct mem_region *last = &out->mmap[out->mmap_count - 1];
        if (last->type == r.type && r.base >= last->base && r.base - last->base == last->len &&
            r.len <= UINT64_MAX - last->len) {
            last->len += r.len;
            return;
        }
    }
    if (out->mmap_count < MB_MAX_MMAP) {
        out->mmap[out->mmap_count++] = r;
        return;
    }
    struct mem_region *least = &r;
    for (unsigned i = 0; i < MB_MAX_MMAP; i++)
        if (less_useful(&out->mmap[i], least))
            least = &out->mmap[i];
    out->mmap_dropped++;
    if (least->type == MMAP_AVAILABLE)
        out->mmap_dropped_ram += least->len;
    *least = r; // a no-op when r itself is the least useful
}

// Does [base, base + size) touch [start, end), which may be empty? base +
// size does not wrap.
static bool touches(uint64_t base, uint64_t size, uint64_t start, uint64_t end)
{
    return start < end && base < end && start < base + size;
}

static bool touches_string(uint64_t base, uint64_t size, const char *s)
{
    return touches(base, size, (uintptr_t)s, (uintptr_t)s + strlen(s) + 1);
}

// Guest RAM is zeroed for every run: it must not touch what the kernel still
// reads after the boot (module names name guests; modules hold their ELF).
static bool carve_free(const struct mb_info *bi, uint64_t base, uint64_t size,
                       const struct mem_range *avoid, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (touches(base, size, avoid[i].start, avoid[i].end))
            return false;
    if (touches(base, size, bi->info_start, bi->info_end) ||
        touches_string(base, size, bi->cmdline) || touches_string(base, size, bi->loader) ||
        (bi->rsdp && touches(base, size, bi->rsdp, bi->rsdp + 36)))
        return false;
    for (unsigned i = 0; i < bi->mod_count; i++)
        if (touches(base, size, bi->mods[i].start, bi->mods[i].end) ||
            touches_string(base, size, bi->mods[i].cmdline))
            return false;
    return !(bi->has_fb && touches(base, size, bi->fb.addr,
                                   bi->fb.addr + (uint64_t)bi->fb.pitch * bi->fb.height));
}

uint64_t mb_carve(const struct mb_info *bi, uint64_t size, uint64_t align, uint64_t lo,
                  uint64_t hi, const struct mem_range *avoid, unsigned n)
{
    uint64_t best = 0;
    for (unsigned i = 0; i < bi->mmap_count; i++) {
        const struct mem_region *m = &bi->mmap[i];
        if (m->type != MMAP_AVAILABLE || m->base >= hi)
            continue;
        uint64_t room = hi - m->base; // the region's end, clipped to hi: cannot wrap
        uint64_t end = m->base + (m->len < room ? m->len : room);
        uint64_t first = m->base > lo ? m->base : lo; // the lowest base allowed
        if (end - m->base < size || end - size < first)
            continue;
        first = ALIGN_UP(first, align);
        for (uint64_t b = (end - size) & ~(align - 1); b >= first && b > best; b -= align) {
            if (carve_free(bi, b, size, avoid, n)) {
                best = b;
                break;
            }
            if (b - first < align)
                break; // the next step would pass first (or wrap below 0)
        }
    }
    return best;
}

// The physical address space, 52 bits at most (SDM 3A 4.1.4): a framebuffer
// must lie inside it, checked against the room left so nothing can wrap.
#define PHYS_LIMIT (1ull << 52)

// A zero size, or a pitch shorter than one row, would have the console draw
// outside the framebuffer. rgb is NULL unless the type is FB_RGB.
static int fb_parse(const struct fb_fields *f, const struct fb_rgb *rgb,
                    const char *who, struct mb_info *out, char *err, size_t errlen)
{
    if (!f->bpp || !f->width || !f->height)
        return errorf(err, errlen, "%s: framebuffer is %ux%u at %u bpp: none may be 0",
                    who, f->width, f->height, f->bpp);
    // Both specs fix EGA text at 16 bits a character (multiboot2 3.6.12), and
    // the console writes 16-bit cells across width * height of them.
    if (f->type == FB_EGA_TEXT && f->bpp != 16)
        return errorf(err, errlen, "%s: EGA text framebuffer has %u bits per character, "
                      "not 16", who, f->bpp);
    if (f->pitch < (uint64_t)f->width * f->bpp / 8)
        return errorf(err, errlen, "%s: framebuffer pitch %u is less than width %u * "
                    "bpp %u / 8", who, f->pitch, f->width, f->bpp);
    uint64_t bytes = (uint64_t)f->pitch * f->height; // both 32-bit: cannot wrap
    if (f->addr > PHYS_LIMIT || bytes > PHYS_LIMIT - f->addr)
        return errorf(err, errlen, "%s: framebuffer at 0x%lx of %lu bytes runs past the "
                      "physical address space", who, (uint64_t)f->addr, bytes);
    // The console shifts each colour into place (channel() in screen.c): a
    // channel outside the pixel would shift by 32 bits or more (undefined).
    if (rgb) {
        static const char *const colour[3] = { "red", "green", "blue" };
        const uint8_t ch[3][2] = { { rgb->red_pos, rgb->red_size },
                                   { rgb->green_pos, rgb->green_size },
                                   { rgb->blue_pos, rgb->blue_size } };
        for (int i = 0; i < 3; i++)
            if (ch[i][0] >= f->bpp || ch[i][1] > f->bpp - ch[i][0])
                return errorf(err, errlen, "%s: framebuffer's %s channel (bit %u, %u bits) "
                              "is not inside its %u-bit pixel", who, colour[i], ch[i][0],
                              ch[i][1], f->bpp);
    }
    out->has_fb = true;
    out->fb = (struct fb_info){
        .addr = f->addr, .pitch = f->pitch, .width = f->width,
        .height = f->height, .bpp = f->bpp, .type = f->type,
    };
    if (rgb) {
        out->fb.red_pos = rgb->red_pos;
        out->fb.red_size = rgb->red_size;
        out->fb.green_pos = rgb->green_pos;
        out->fb.green_size = rgb->green_size;
        out->fb.blue_pos = rgb->blue_pos;
        out->fb.blue_size = rgb->blue_size;
    }
    return 0;
}

// multiboot2 (spec 3.6): an 8-byte header, then tags, each starting on an
// 8-byte boundary, up to an end tag of type 0.
enum {
    MB2_END = 0, MB2_CMDLINE = 1, MB2_LOADER = 2, MB2_MODULE = 3, MB2_MMAP = 6,
    MB2_FB = 8, MB2_EFI32 = 11, MB2_EFI64 = 12, MB2_ACPI_OLD = 14,
    MB2_ACPI_NEW = 15, MB2_EFI_MMAP = 17, MB2_EFI_BS = 18,
};
struct RAW mb2_header { uint32_t total_size, reserved; };
struct RAW mb2_tag { uint32_t type, size; };
struct RAW mb2_tag_module { struct mb2_tag tag; uint32_t start, end; };
struct RAW mb2_tag_mmap { struct mb2_tag tag; uint32_t entry_size, entry_version; };
struct RAW mb2_mmap_entry { uint64_t base, len; uint32_t type, reserved; };
struct RAW mb2_tag_fb {
    struct mb2_tag tag;
    struct fb_fields f;
    uint16_t reserved;
    struct fb_rgb rgb; // only in an RGB tag
};

// The tags read here: the fixed bytes each must have before any field is
// touched, and where a NUL-terminated string fills the rest (0: none).
static const struct {
    uint32_t min, str;
    const char *name;
} mb2_kinds[] = {
    [MB2_CMDLINE] = { 8, 8, "cmdline" },
    [MB2_LOADER] = { 8, 8, "boot loader name" },
    [MB2_MODULE] = { 16, 16, "module" },
    [MB2_MMAP] = { 16, 0, "memory map" },
    [MB2_FB] = { offsetof(struct mb2_tag_fb, rgb), 0, "framebuffer" },
    [MB2_EFI32] = { 12, 0, "EFI32 system table" },
    [MB2_EFI64] = { 16, 0, "EFI64 system table" },
    [MB2_ACPI_OLD] = { 8 + 20, 0, "ACPI old RSDP" }, // ACPI 1.0 RSDP: 20 bytes
    [MB2_ACPI_NEW] = { 8 + 36, 0, "ACPI new RSDP" }, // ACPI 2.0 XSDP: 36 bytes
    [MB2_EFI_MMAP] = { 16, 0, "EFI memory map" },
    [MB2_EFI_BS] = { 8, 0, "EFI boot services not terminated" },
};

// entry_size may exceed 24 (later spec versions add fields, which we skip) but
// stays a multiple of 8 so that every entry is aligned.
static int mb2_mmap(const struct mb2_tag_mmap *t, size_t off, struct mb_info *out,
                    char *err, size_t errlen)
{
    uint32_t esize = t->entry_size, bytes = t->tag.size - sizeof(*t);
    if (esize < sizeof(struct mb2_mmap_entry) || esize % 8)
        return errorf(err, errlen, "multiboot2: memory map at offset 0x%zx has "
                    "entry_size %u, not a multiple of 8 that is at least 24", off, esize);
    if (bytes % esize)
        return errorf(err, errlen, "multiboot2: memory map at offset 0x%zx has %u bytes "
                    "of entries, not a whole number of %u-byte entries", off, bytes, esize);
    const uint8_t *first = (const uint8_t *)t + sizeof(*t);
    for (uint32_t at = 0; at < bytes; at += esize) {
        const struct mb2_mmap_entry *e = (const void *)(first + at);
        mmap_add(out, (struct mem_region){ e->base, e->len, e->type });
    }
    return 0;
}

// One tag whose header mb2_parse has already checked against total_size.
static int mb2_tag(const struct mb2_tag *t, size_t off, struct mb_info *out,
                   char *err, size_t errlen)
{
    if (t->type >= ARRAY_SIZE(mb2_kinds) || !mb2_kinds[t->type].name)
        return 0; // a tag we do not read: legal, skipped (spec 3.6.1)
    const char *name = mb2_kinds[t->type].name;
    uint32_t min = mb2_kinds[t->type].min, str = mb2_kinds[t->type].str;
    if (t->size < min)
        return errorf(err, errlen, "multiboot2: %s tag (type %u) at offset 0x%zx has "
                    "size %u, less than its %u fixed bytes", name, t->type, off, t->size, min);
    const char *s = (const char *)t + str;
    if (str && strnlen(s, t->size - str) == t->size - str)
        return errorf(err, errlen, "multiboot2: %s tag (type %u) at offset 0x%zx: string "
                    "is not NUL-terminated inside the tag", name, t->type, off);

    switch (t->type) {
    case MB2_CMDLINE:
        out->cmdline = s;
        break;
    case MB2_LOADER:
        out->loader = s;
        break;
    case MB2_MODULE: {
        const struct mb2_tag_module *m = (const void *)t;
        if (out->mod_count == MB_MAX_MODS) { // only the modules past the limit are lost
            out->mods_ignored++;
            break;
        }
        if (m->end < m->start)
            return errorf(err, errlen, "multiboot2: module tag at offset 0x%zx ends (0x%x) "
                        "before it starts (0x%x)", off, m->end, m->start);
        out->mods[out->mod_count++] = (struct mb_module){ m->start, m->end, s };
        break;
    }
    case MB2_MMAP:
        return mb2_mmap((const void *)t, off, out, err, errlen);
    case MB2_FB: {
        const struct mb2_tag_fb *f = (const void *)t;
        bool rgb = f->f.type == FB_RGB;
        if (rgb && t->size < sizeof(*f))
            return errorf(err, errlen, "multiboot2: RGB framebuffer tag at offset 0x%zx "
                        "has size %u, too short for its colour fields (%zu)",
                        off, t->size, sizeof(*f));
        return fb_parse(&f->f, rgb ? &f->rgb : NULL, "multiboot2", out, err, errlen);
    }
    case MB2_ACPI_NEW: // the RSDP copy follows the tag header
        out->rsdp = (uintptr_t)t + sizeof(*t);
        out->rsdp_v = 2;
        break;
    case MB2_ACPI_OLD: // only if no new one: the XSDP also gives the 64-bit XSDT
        if (out->rsdp_v < 2) {
            out->rsdp = (uintptr_t)t + sizeof(*t);
            out->rsdp_v = 1;
        }
        break;
    case MB2_EFI32:
    case MB2_EFI64:
    case MB2_EFI_MMAP:
    case MB2_EFI_BS:
        out->efi = true; // only the presence matters: this was a UEFI boot
        break;
    }
    return 0;
}

int mb2_parse(const void *info, size_t avail, struct mb_info *out, char *err, size_t errlen)
{
    const struct mb2_header *h = info;
    mb_clear(out);
    if (avail < sizeof(*h))
        return errorf(err, errlen, "multiboot2: only %zu bytes available, less than "
                    "the 8-byte header", avail);
    size_t total = h->total_size, off = sizeof(*h);
    if (total < 16)
        return errorf(err, errlen, "multiboot2: total_size %zu is less than 16 (header "
                    "and end tag)", total);
    if (total > avail)
        return errorf(err, errlen, "multiboot2: total_size %zu is more than the %zu "
                    "bytes available", total, avail);
    out->info_start = (uintptr_t)info;
    out->info_end = out->info_start + total;
    // Every bound below compares with the room left (total - off), never a
    // sum: off never passes total, so nothing can wrap.
    for (;;) {
        if (total - off < sizeof(struct mb2_tag))
            return errorf(err, errlen, "multiboot2: no end tag (type 0) within "
                        "total_size %zu", total);
        const struct mb2_tag *t = (const void *)((const uint8_t *)info + off);
        if (t->size < sizeof(*t))
            return errorf(err, errlen, "multiboot2: tag type %u at offset 0x%zx has "
                        "size %u, less than its 8-byte header", t->type, off, t->size);
        if (t->size > total - off)
            return errorf(err, errlen, "multiboot2: tag type %u at offset 0x%zx runs past "
                        "the end (size %u, %zu bytes left)", t->type, off, t->size,
                        total - off);
        if (t->type == MB2_END)
            return 0;
        if (mb2_tag(t, off, out, err, errlen))
            return -1;
        uint64_t step = ALIGN_UP((uint64_t)t->size, 8);
        off = step < total - off ? off + step : total;
    }
}

// multiboot v1 (spec 0.6.96 section 3.3): one struct of 32-bit physical
// addresses, which the identity map lets us use as pointers. Each flags bit
// says whether the loader filled in the fields it guards.
#define MB1_CMDLINE BIT(2)
#define MB1_MODS BIT(3)
#define MB1_MMAP BIT(6)
#define MB1_LOADER BIT(9)
#define MB1_FB BIT(12)
struct RAW mb1_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr;
    uint32_t config_table, boot_loader_name, apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
    struct fb_fields fb;
    struct fb_rgb rgb; // only for an RGB framebuffer
};
_Static_assert(offsetof(struct mb1_info, mmap_length) == 44, "mb1 mmap offset");
_Static_assert(offsetof(struct mb1_info, boot_loader_name) == 64, "mb1 loader offset");
_Static_assert(offsetof(struct mb1_info, fb) == 88, "mb1 framebuffer offset");
struct RAW mb1_module { uint32_t start, end, cmdline, reserved; };
struct RAW mb1_mmap_entry { uint32_t size; uint64_t base, len; uint32_t type; };

static const char *mb1_str(uint32_t addr)
{
    return addr ? (const char *)(uintptr_t)addr : "";
}

// Entries vary in size: each starts with its size, which does not count the
// size field itself, so the next entry is size + 4 bytes further on.
static int mb1_mmap(const struct mb1_info *mi, struct mb_info *out, char *err, size_t errlen)
{
    const uint8_t *first = (const uint8_t *)(uintptr_t)mi->mmap_addr;
    for (size_t off = 0; off < mi->mmap_length;) {
        const struct mb1_mmap_entry *e = (const void *)(first + off);
        size_t left = mi->mmap_length - off;
        if (left < sizeof(e->size) || e->size > left - sizeof(e->size))
            return errorf(err, errlen, "multiboot: memory map entry at offset 0x%zx runs "
                        "past mmap_length %u", off, mi->mmap_length);
        if (e->size < sizeof(*e) - 4)
            return errorf(err, errlen, "multiboot: memory map entry at offset 0x%zx has "
                        "size %u, less than 20", off, e->size);
        mmap_add(out, (struct mem_region){ e->base, e->len, e->type });
        off += e->size + 4;
    }
    return 0;
}

int mb1_parse(const void *info, struct mb_info *out, char *err, size_t errlen)
{
    const struct mb1_info *mi = info;
    mb_clear(out);
    out->info_start = (uintptr_t)info;
    out->info_end = out->info_start + sizeof(*mi);
    if (mi->flags & MB1_CMDLINE)
        out->cmdline = mb1_str(mi->cmdline);
    if (mi->flags & MB1_LOADER)
        out->loader = mb1_str(mi->boot_loader_name);
    if (mi->flags & MB1_MODS) {
        const struct mb1_module *m = (const void *)(uintptr_t)mi->mods_addr;
        unsigned kept = mi->mods_count < MB_MAX_MODS ? mi->mods_count : MB_MAX_MODS;
        out->mods_ignored = mi->mods_count - kept; // those past the limit are not read
        for (unsigned i = 0; i < kept; i++) {
            if (m[i].end < m[i].start)
                return errorf(err, errlen, "multiboot: module %u ends (0x%x) before it "
                            "starts (0x%x)", i, m[i].end, m[i].start);
            out->mods[i] = (struct mb_module){ m[i].start, m[i].end, mb1_str(m[i].cmdline) };
        }
        out->mod_count = kept;
    }
    if ((mi->flags & MB1_MMAP) && mb1_mmap(mi, out, err, errlen))
        return -1;
    if (mi->flags & MB1_FB)
        return fb_parse(&mi->fb, mi->fb.type == FB_RGB ? &mi->rgb : NULL, "multiboot",
                        out, err, errlen);
    return 0;
}
