// multiboot.c: the multiboot (v1) loader. mbv1_load() takes a kernel built for QEMU's
// -kernel, its command line and its modules, checks all of it against guest RAM, then
// loads it as QEMU 7.2 does (hw/i386/multiboot.c and its option ROM,
// pc-bios/optionrom/multiboot.S): by the ELF program headers or the header's address
// fields, the memory map at 0x9000, the information block at 0x9500, and the module list,
// strings and modules after the image. Pure: the run calls it, and so do the host tests;
// a refused request leaves guest RAM as it was. Multiboot 0.6.96 is "the spec" below.
#include "multiboot.h"

#define PAGE 4096u
#define GiB4 (1ull << 32)
#define PT_LOAD 1
#define PF_X 1 // p_flags: the segment holds code
#define MOD_ENTRY 16 // a module's entry in the list: start, end, string, reserved (3.3)

// Little-endian fields at any alignment: the image is untrusted bytes.
static uint64_t le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i--;)
        v = v << 8 | p[i];
    return v;
}

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

// Is [start, start + len) inside [0, limit)? Without computing start + len.
static bool fits(uint64_t start, uint64_t len, uint64_t limit)
{
    return start <= limit && len <= limit - start;
}

// --- The memory map ----------------------------------------------------------------------

uint64_t mbv1_ram_below_4g(uint64_t ram_size)
{
    // QEMU hw/i386/pc_piix.c (pc_init1): the RAM below 4 GiB ends at 3.5 GiB at most;
    // once RAM reaches that, the split moves down to 3 GiB (gigabyte alignment) and the
    // rest starts at 4 GiB. Measured: -m 3583 lies all below 4 GiB, -m 3584 is 3 GiB
    // there and 512 MiB from 4 GiB.
    return ram_size >= 0xe0000000ull ? 0xc0000000ull : ram_size;
}

unsigned mbv1_memory_map(uint64_t ram_size, struct mbv1_region map[MBV1_MAX_REGIONS])
{
    if (ram_size < MBV1_MIN_RAM)
        return 0;
    uint64_t low = mbv1_ram_below_4g(ram_size);
    unsigned n = 0;
    // SeaBIOS's E820 map, which QEMU's option ROM copies with int 0x15 (EAX 0xe820): the
    // EBDA takes the last KiB below 640 KiB; 0xa0000-0xeffff (the VGA window, option
    // ROMs) is not listed; the BIOS at 0xf0000 is reserved; SeaBIOS keeps the top 128 KiB
    // of the RAM below 4 GiB for its tables, and the 256 KiB BIOS flash ends at 4 GiB.
    // Measured with 6, 32, 128, 1024, 3583, 3584, 4096 and 8192 MiB, an Intel CPU (an AMD
    // one adds the HyperTransport hole at 1012 GiB: vmxlab's guests see Intel).
    map[n++] = (struct mbv1_region){ 0, 0x9fc00, MBV1_AVAILABLE, "the RAM below 640 KiB" };
    map[n++] = (struct mbv1_region){ 0x9fc00, 0x400, MBV1_RESERVED, "the EBDA" };
    map[n++] = (struct mbv1_region){ 0xf0000, 0x10000, MBV1_RESERVED, "the BIOS" };
    map[n++] = (struct mbv1_region){ 0x100000, low - 0x120000, MBV1_AVAILABLE,
                                     "the RAM from 1 MiB" };
    map[n++] = (struct mbv1_region){ low - 0x20000, 0x20000, MBV1_RESERVED,
                                     "SeaBIOS's tables" };
    map[n++] = (struct mbv1_region){ 0xfffc0000, 0x40000, MBV1_RESERVED, "the BIOS flash" };
    if (ram_size > low)
        map[n++] = (struct mbv1_region){ GiB4, ram_size - low, MBV1_AVAILABLE,
                                         "the RAM above 4 GiB" };
    return n;
}

// --- What the plan holds ------------------------------------------------------------------

struct seg {
    unsigned index;             // its program header, for messages
    uint64_t off, paddr, filesz, memsz;
};

struct layout {
    struct mbv1_region map[MBV1_MAX_REGIONS];
    unsigned nmap;
    uint64_t ram_size, low;     // guest RAM, and the part of it below 4 GiB
    struct seg segs[MBV1_MAX_LOADS];
    unsigned nsegs;
    uint64_t entry;
    uint64_t image_start, image_end;
    uint64_t tail, strings_end, end; // after the image: list, strings; all of it with modules
};

// --- The header (3.1) -----------------------------------------------------------------------

// The first header in the first 8 KiB: magic, flags and checksum summing to 0 (3.1.2).
// Where there is none, the message says what is there instead.
static int find_header(const uint8_t *img, size_t size, size_t *at, char *err, size_t errlen)
{
    size_t window = size < MBV1_SEARCH ? size : MBV1_SEARCH;
    size_t bad = SIZE_MAX;
    for (size_t off = 0; off + 12 <= window; off += 4) {
        if (le(img + off, 4) != MBV1_MAGIC)
            continue;
        uint32_t sum = (uint32_t)(MBV1_MAGIC + le(img + off + 4, 4) + le(img + off + 8, 4));
        if (!sum) {
            *at = off;
            return 0;
        }
        if (bad == SIZE_MAX)
            bad = off;
    }
    if (bad != SIZE_MAX)
        return errorf(err, errlen, "bad checksum: the multiboot magic 0x1BADB002 at offset "
                      "0x%zx has magic + flags + checksum = 0x%x, not 0 (mod 2^32)", bad,
                      (uint32_t)(MBV1_MAGIC + le(img + bad + 4, 4) + le(img + bad + 8, 4)));
    for (size_t off = 0; off + 4 <= size; off += 4) {
        if (le(img + off, 4) != MBV1_MAGIC)
            continue;
        if (off + 12 > size)
            return errorf(err, errlen, "truncated: the multiboot header at offset 0x%zx is "
                          "cut off by the end of the %zu-byte file", off, size);
        return errorf(err, errlen, "no multiboot header in the first 8 KiB: the magic "
                      "0x1BADB002 is at offset 0x%zx, past them (Multiboot 0.6.96, 3.1.1)", off);
    }
    return errorf(err, errlen, "no multiboot header: no magic 0x1BADB002 at a 4-byte "
                  "aligned offset of the first 8 KiB");
}

bool mbv1_is_multiboot(const uint8_t *img, size_t size)
{
    bool elf64 = size > 4 && !memcmp(img, "\x7f" "ELF", 4) && img[4] == 2;
    size_t scan = elf64 && size > MBV1_SEARCH ? MBV1_SEARCH : size;
    for (size_t off = 0; off + 4 <= scan; off += 4)
        if (le(img + off, 4) == MBV1_MAGIC)
            return true;
    return false;
}

// Bits 0-15 of the flags are requirements: a loader that cannot meet one must refuse the
// image; bits 16-31 are optional (3.1.2). vmxlab always aligns modules (bit 0) and gives
// the memory information (bit 1), has no display for a video mode (bit 2), and knows
// no other requirement.
static int check_flags(uint32_t flags, char *err, size_t errlen)
{
    if (flags & MBV1_HDR_VIDEO)
        return errorf(err, errlen, "the header asks for a video mode (flags bit 2), and "
                      "vmxlab gives its guests no display: bits 0-15 are requirements a "
                      "loader must meet or refuse (Multiboot 0.6.96, 3.1.2); QEMU boots it without "
                      "one");
    uint32_t unknown = flags & 0xffffu & ~(MBV1_HDR_ALIGN_MODS | MBV1_HDR_MEMINFO);
    if (unknown)
        return errorf(err, errlen, "the header's flags 0x%x require what vmxlab does not "
                      "know (bits 0x%x): bits 0-15 are requirements a loader must meet or "
                      "refuse (Multiboot 0.6.96, 3.1.2)", flags, unknown);
    return 0;
}

// --- The image: by the header's address fields (3.1.3) ------------------------------------

// As QEMU reads them: the file from the header's offset less (header_addr - load_addr)
// goes to load_addr, up to load_end_addr (0: to the end of the file), then zeros up to
// bss_end_addr (0: no bss), and the kernel starts at entry_addr.
static int aout_image(const uint8_t *img, size_t size, size_t hdr, struct layout *l,
                      char *err, size_t errlen)
{
    if (size - hdr < 32)
        return errorf(err, errlen, "truncated: the header's address fields (flags bit 16) "
                      "at offset 0x%zx run past the end of the %zu-byte file", hdr + 12, size);
    const uint8_t *h = img + hdr;
    uint32_t header_addr = (uint32_t)le(h + 12, 4), load_addr = (uint32_t)le(h + 16, 4);
    uint32_t load_end = (uint32_t)le(h + 20, 4), bss_end = (uint32_t)le(h + 24, 4);
    uint32_t entry = (uint32_t)le(h + 28, 4);
    if (header_addr < load_addr)
        return errorf(err, errlen, "load_addr 0x%x is above header_addr 0x%x: Multiboot "
                      "0.6.96 (3.1.3) wants load_addr <= header_addr", load_addr, header_addr);
    if (header_addr - load_addr > hdr)
        return errorf(err, errlen, "header_addr - load_addr is 0x%x, more than the header's "
                      "offset 0x%zx in the file: the image would start before the file does",
                      header_addr - load_addr, hdr);
    size_t text = hdr - (header_addr - load_addr); // where the image starts in the file
    uint64_t load_size = size - text;
    if (load_end) {
        if (load_end < load_addr)
            return errorf(err, errlen, "load_end_addr 0x%x is below load_addr 0x%x",
                          load_end, load_addr);
        load_size = load_end - load_addr;
        if (load_size > size - text)
            return errorf(err, errlen, "truncated: load_end_addr 0x%x asks for 0x%lx bytes "
                          "from offset 0x%zx, and the %zu-byte file has 0x%zx there",
                          load_end, load_size, text, size, size - text);
    }
    if (!fits(load_addr, load_size, GiB4))
        return errorf(err, errlen, "the image (0x%lx bytes at load_addr 0x%x) reaches past "
                      "4 GiB", load_size, load_addr);
    uint64_t mem_size = load_size;
    if (bss_end) {
        if (bss_end < load_addr + load_size)
            return errorf(err, errlen, "bss_end_addr 0x%x is below load_end_addr 0x%lx",
                          bss_end, load_addr + load_size);
        mem_size = bss_end - load_addr;
    }
    if (entry < load_addr || entry - load_addr >= load_size)
        return errorf(err, errlen, "entry_addr 0x%x lies outside the bytes loaded from the "
                      "file, 0x%x to 0x%lx (load_addr to load_end_addr): the kernel would "
                      "start outside its code", entry, load_addr, load_addr + load_size);
    l->segs[0] = (struct seg){ 0, text, load_addr, load_size, mem_size };
    l->nsegs = 1;
    l->entry = entry;
    return 0;
}

// --- The image: by its ELF program headers --------------------------------------------------

// ELF32 (System V gABI) and ELF64 (ELF-64 Object File Format 1.5): the same fields at
// other offsets and widths.
struct elf_shape {
    unsigned ehsize, phsize, machine;
    unsigned entry, phoff, phentsize, phnum, word; // offsets in the file header; word width
    unsigned p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz; // in a program header
};
static const struct elf_shape elf32 = { 52, 32, 3, 24, 28, 42, 44, 4, 24, 4, 8, 12, 16, 20 };
static const struct elf_shape elf64 = { 64, 56, 62, 24, 32, 54, 56, 8, 4, 8, 16, 24, 32, 40 };

static int elf_image(const uint8_t *img, size_t size, struct layout *l, bool *is64,
                     char *err, size_t errlen)
{
    if (size < 5 || memcmp(img, "\x7f" "ELF", 4))
        return errorf(err, errlen, "not an ELF file, and the multiboot header has no "
                      "address fields (flags bit 16): nothing says where its bytes go");
    if (img[4] != 1 && img[4] != 2)
        return errorf(err, errlen, "ELF class %u, neither ELFCLASS32 (1) nor ELFCLASS64 (2)",
                      img[4]);
    *is64 = img[4] == 2;
    const struct elf_shape *e = *is64 ? &elf64 : &elf32;
    if (size < e->ehsize)
        return errorf(err, errlen, "truncated: %zu bytes, less than an ELF%u header (%u "
                      "bytes)", size, *is64 ? 64 : 32, e->ehsize);
    if (img[5] != 1)
        return errorf(err, errlen, "ELF data encoding %u, not little-endian (1)", img[5]);
    uint64_t type = le(img + 16, 2), machine = le(img + 18, 2);
    // QEMU loads ELF32 i386 images only; vmxlab takes ELF64 x86-64 images as well (the
    // spec leaves the ELF class open), with the same 32-bit entry.
    if (machine != e->machine)
        return errorf(err, errlen, "an ELF%u file for machine %lu, not %s (%u)",
                      *is64 ? 64 : 32, machine, *is64 ? "x86-64" : "i386", e->machine);
    if (type != 2 && type != 3) // ET_EXEC, or ET_DYN as GRUB takes it: loaded where it says
        return errorf(err, errlen, "ELF type %lu, not an executable (2 or 3)", type);
    uint64_t e_entry = le(img + e->entry, e->word), phoff = le(img + e->phoff, e->word);
    uint64_t phentsize = le(img + e->phentsize, 2), phnum = le(img + e->phnum, 2);
    if (phentsize != e->phsize)
        return errorf(err, errlen, "program header size %lu, not %u", phentsize, e->phsize);
    if (phoff > size || phnum > (size - phoff) / e->phsize)
        return errorf(err, errlen, "truncated: %lu program headers at offset 0x%lx run past "
                      "the end of the %zu-byte file", phnum, phoff, size);
    uint64_t entry = e_entry;
    bool moved = false;
    for (uint64_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + i * e->phsize;
        if (le(ph, 4) != PT_LOAD)
            continue;
        uint64_t off = le(ph + e->p_offset, e->word), vaddr = le(ph + e->p_vaddr, e->word);
        uint64_t paddr = le(ph + e->p_paddr, e->word), filesz = le(ph + e->p_filesz, e->word);
        uint64_t memsz = le(ph + e->p_memsz, e->word);
        if (filesz > memsz)
            return errorf(err, errlen, "segment %lu has 0x%lx file bytes, more than its "
                          "0x%lx bytes in memory", i, filesz, memsz);
        if (!memsz) // nothing to load: QEMU skips such segments too
            continue;
        if (!fits(off, filesz, size))
            return errorf(err, errlen, "truncated: segment %lu's 0x%lx bytes at offset 0x%lx "
                          "run past the end of the %zu-byte file", i, filesz, off, size);
        if (!fits(paddr, memsz, GiB4))
            return errorf(err, errlen, "segment %lu (0x%lx bytes at 0x%lx) reaches past "
                          "4 GiB: a multiboot kernel starts with paging off, below 4 GiB", i,
                          memsz, paddr);
        if (l->nsegs == MBV1_MAX_LOADS)
            return errorf(err, errlen, "more than %d loadable segments (MBV1_MAX_LOADS)",
                          MBV1_MAX_LOADS);
        l->segs[l->nsegs++] = (struct seg){ (unsigned)i, off, paddr, filesz, memsz };
        // e_entry is a virtual address. Where the code segment's differ from its
        // physical ones, QEMU (load_elf) and GRUB move the entry along with the code:
        // the kernel starts with paging off.
        if (!moved && (le(ph + e->p_flags, 4) & PF_X) && vaddr != paddr && e_entry >= vaddr &&
            e_entry - vaddr < filesz) {
            entry = e_entry - vaddr + paddr;
            moved = true;
        }
    }
    if (!l->nsegs)
        return errorf(err, errlen, "no loadable (PT_LOAD) segment with bytes in memory");
    for (unsigned i = 0; i < l->nsegs; i++)
        for (unsigned j = i + 1; j < l->nsegs; j++) {
            const struct seg *a = &l->segs[i], *b = &l->segs[j];
            if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
                return errorf(err, errlen, "segments %u (0x%lx-0x%lx) and %u (0x%lx-0x%lx) "
                              "overlap", a->index, a->paddr, a->paddr + a->memsz - 1, b->index,
                              b->paddr, b->paddr + b->memsz - 1);
        }
    // The first instruction must be one the file brings: past a segment's file bytes
    // are zeros, which run as ADD until the kernel faults with no IDT of its own.
    for (unsigned i = 0; i < l->nsegs; i++)
        if (entry >= l->segs[i].paddr && entry - l->segs[i].paddr < l->segs[i].filesz) {
            l->entry = entry;
            return 0;
        }
    return errorf(err, errlen, "the entry point 0x%lx lies in no segment's file bytes: the "
                  "kernel would start outside its code", entry);
}

// --- Where it all goes ----------------------------------------------------------------------

// [gpa, gpa + len) must be RAM the memory map gives as available, below 4 GiB, and not
// on the page of the information block. what names it in the message.
static int place(const struct layout *l, uint64_t gpa, uint64_t len, const char *what,
                 char *err, size_t errlen)
{
    if (!fits(gpa, len, GiB4))
        return errorf(err, errlen, "%s (0x%lx bytes at 0x%lx) reach past 4 GiB", what, len,
                      gpa);
    uint64_t end = gpa + len;
    if (gpa < MBV1_INFO_PAGE_END && MBV1_MMAP_GPA < end)
        return errorf(err, errlen, "%s (0x%lx-0x%lx) overlap 0x9000-0x9fff, where the memory "
                      "map and the information block go", what, gpa, end - 1);
    if (end > l->low)
        return errorf(err, errlen, "%s (0x%lx-0x%lx) run past the end of guest RAM%s at "
                      "0x%lx (guest_mem=%lu)", what, gpa, end - 1,
                      l->low < l->ram_size ? " below 4 GiB" : "", l->low, l->ram_size >> 20);
    for (unsigned i = 0; i < l->nmap; i++) {
        const struct mbv1_region *r = &l->map[i];
        if (r->type == MBV1_AVAILABLE && gpa >= r->base && end <= r->base + r->len)
            return 0;
    }
    for (unsigned i = 0; i < l->nmap; i++) {
        const struct mbv1_region *r = &l->map[i];
        if (r->type != MBV1_AVAILABLE && gpa < r->base + r->len && r->base < end)
            return errorf(err, errlen, "%s (0x%lx-0x%lx) overlap %s (0x%lx-0x%lx, reserved in "
                          "the memory map)", what, gpa, end - 1, r->what, r->base,
                          r->base + r->len - 1);
    }
    return errorf(err, errlen, "%s (0x%lx-0x%lx) overlap 0xa0000-0xeffff, which is not RAM "
                  "(the VGA window and option ROMs)", what, gpa, end - 1);
}

static const char *or_empty(const char *s) { return s ? s : ""; }

// The list, strings and modules that follow the image, as QEMU packs them: the list (16
// bytes a module) at the first page boundary past the image, each module's string, the
// command line, the boot loader's name; then each module on the next page boundary.
// QEMU rounds the image's size, not its end: the two agree when it loads at a page
// boundary, and where it does not, the spec's page-aligned modules (flags bit 0) win.
static uint64_t strings_size(const struct mbv1_request *rq)
{
    uint64_t n = MOD_ENTRY * (uint64_t)rq->nmods;
    for (unsigned i = 0; i < rq->nmods && n <= GiB4; i++)
        n += strlen(or_empty(rq->mods[i].string)) + 1;
    return n + strlen(or_empty(rq->name)) + 1 + strlen(or_empty(rq->args)) + 1 +
           sizeof(MBV1_LOADER_NAME);
}

static int plan(const struct mbv1_request *rq, uint64_t ram_size, struct layout *l,
                struct mbv1_loaded *out, char *err, size_t errlen)
{
    *l = (struct layout){ .ram_size = ram_size, .low = mbv1_ram_below_4g(ram_size) };
    if (ram_size < MBV1_MIN_RAM || ram_size % PAGE)
        return errorf(err, errlen, "guest RAM of 0x%lx bytes: a multiboot guest needs whole "
                      "pages, 2 MiB at least", ram_size);
    l->nmap = mbv1_memory_map(ram_size, l->map);
    const uint8_t *img = rq->image;
    size_t hdr = 0;
    if (find_header(img, rq->size, &hdr, err, errlen))
        return -1;
    uint32_t flags = (uint32_t)le(img + hdr + 4, 4);
    if (check_flags(flags, err, errlen))
        return -1;
    bool is64 = false;
    if ((flags & MBV1_HDR_ADDRS) ? aout_image(img, rq->size, hdr, l, err, errlen)
                                 : elf_image(img, rq->size, l, &is64, err, errlen))
        return -1;
    l->image_start = UINT64_MAX;
    for (unsigned i = 0; i < l->nsegs; i++) {
        const struct seg *s = &l->segs[i];
        char what[48];
        snprintf(what, sizeof(what), (flags & MBV1_HDR_ADDRS) ? "the image's bytes" :
                 "segment %u's bytes", s->index);
        if (place(l, s->paddr, s->memsz, what, err, errlen))
            return -1;
        l->image_start = s->paddr < l->image_start ? s->paddr : l->image_start;
        l->image_end = s->paddr + s->memsz > l->image_end ? s->paddr + s->memsz : l->image_end;
    }
    l->tail = ALIGN_UP(l->image_end, PAGE);
    l->strings_end = l->end = l->tail + strings_size(rq);
    for (unsigned i = 0; i < rq->nmods && l->end <= GiB4; i++)
        l->end = ALIGN_UP(l->end, PAGE) + (rq->mods[i].size < GiB4 ? rq->mods[i].size : GiB4);
    char what[64];
    snprintf(what, sizeof(what), "the module list, the strings and %u module%s after the image",
             rq->nmods, rq->nmods == 1 ? "" : "s");
    if (place(l, l->tail, l->end - l->tail, what, err, errlen))
        return -1;
    *out = (struct mbv1_loaded){
        .entry = (uint32_t)l->entry, .info = MBV1_INFO_GPA,
        .image_start = (uint32_t)l->image_start, .image_end = (uint32_t)l->image_end,
        .end = (uint32_t)l->end, .header_flags = flags,
        .format = (flags & MBV1_HDR_ADDRS) ? MBV1_AOUT : is64 ? MBV1_ELF64 : MBV1_ELF32,
    };
    return 0;
}

int mbv1_plan(const struct mbv1_request *rq, uint64_t ram_size, struct mbv1_loaded *out,
              char *err, size_t errlen)
{
    struct layout l;
    return plan(rq, ram_size, &l, out, err, errlen);
}

// --- Writing it -------------------------------------------------------------------------

// Copies s and its NUL to *at, moves *at past them, and returns where s went.
static uint32_t put_string(uint8_t *ram, uint64_t *at, const char *s)
{
    uint64_t gpa = *at;
    size_t n = strlen(s) + 1;
    memcpy(ram + gpa, s, n);
    *at += n;
    return (uint32_t)gpa;
}

// mem_upper: the RAM from 1 MiB up to the first hole, in KiB, as the option ROM finds
// it: through available regions below 4 GiB that continue one another (3.3).
static uint32_t mem_upper(const struct layout *l)
{
    uint64_t top = 0x100000;
    for (unsigned i = 0; i < l->nmap; i++) {
        const struct mbv1_region *r = &l->map[i];
        if (r->type == MBV1_AVAILABLE && r->base <= top && top < r->base + r->len &&
            r->base + r->len <= GiB4) {
            top = r->base + r->len;
            i = (unsigned)-1; // the map need not be sorted: look again from the start
        }
    }
    return (uint32_t)((top - 0x100000) >> 10);
}

int mbv1_load(const struct mbv1_request *rq, uint8_t *ram, uint64_t ram_size,
              struct mbv1_loaded *out, char *err, size_t errlen)
{
    struct layout l;
    if (plan(rq, ram_size, &l, out, err, errlen))
        return -1;
    for (unsigned i = 0; i < l.nsegs; i++) {
        const struct seg *s = &l.segs[i];
        memcpy(ram + s->paddr, rq->image + s->off, s->filesz);
        memset(ram + s->paddr + s->filesz, 0, s->memsz - s->filesz); // the spec: bss is zeroed
    }

    // After the image: the list and strings, then the modules on page boundaries.
    memset(ram + l.tail, 0, l.end - l.tail);
    uint64_t str = l.tail + MOD_ENTRY * (uint64_t)rq->nmods, at = l.strings_end;
    for (unsigned i = 0; i < rq->nmods; i++) {
        const struct mbv1_module *m = &rq->mods[i];
        uint8_t *entry = ram + l.tail + MOD_ENTRY * i;
        uint64_t start = ALIGN_UP(at, PAGE);
        if (m->size) // an empty module may come without bytes
            memcpy(ram + start, m->data, m->size);
        at = start + m->size;
        put(entry, start, 4);                                       // mod_start
        put(entry + 4, at, 4);                                      // mod_end: one past it
        put(entry + 8, put_string(ram, &str, or_empty(m->string)), 4); // string
    }
    // The command line as QEMU builds it: the kernel's file name, a space, the
    // arguments (the space even when there are none).
    uint64_t cmdline = str;
    put_string(ram, &str, or_empty(rq->name));
    ram[str - 1] = ' ';
    put_string(ram, &str, or_empty(rq->args));
    uint32_t loader = put_string(ram, &str, MBV1_LOADER_NAME);

    // The page of the memory map and the information block (3.3), the rest zero.
    memset(ram + MBV1_MMAP_GPA, 0, MBV1_INFO_PAGE_END - MBV1_MMAP_GPA);
    for (unsigned i = 0; i < l.nmap; i++) {
        uint8_t *e = ram + MBV1_MMAP_GPA + MBV1_MMAP_ENTRY * i;
        put(e, MBV1_MMAP_ENTRY - 4, 4); // size: the bytes that follow it
        put(e + 4, l.map[i].base, 8);
        put(e + 12, l.map[i].len, 8);
        put(e + 20, l.map[i].type, 4);
    }
    uint8_t *info = ram + MBV1_INFO_GPA;
    put(info + 0, MBV1_INFO_FLAGS, 4);
    put(info + 4, l.map[0].len >> 10, 4); // mem_lower: 639, int 0x12's answer under SeaBIOS
    put(info + 8, mem_upper(&l), 4);
    put(info + 12, MBV1_BOOT_DEVICE, 4);
    put(info + 16, cmdline, 4);
    put(info + 20, rq->nmods, 4);       // mods_count
    put(info + 24, l.tail, 4);          // mods_addr: where the list is, even when empty
    put(info + 44, MBV1_MMAP_ENTRY * l.nmap, 4); // mmap_length
    put(info + 48, MBV1_MMAP_GPA, 4);  // mmap_addr
    put(info + 64, loader, 4);         // boot_loader_name
    return 0;
}
