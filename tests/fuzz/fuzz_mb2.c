// fuzz_mb2.c: libFuzzer harness for mb2_parse() (boot/mb.c), the multiboot2
// information GRUB leaves at EBX. The input is the information block itself.
// It is parsed from an exact-size heap copy, so AddressSanitizer sees any read
// past the end; whatever it accepts must lie inside the block (memory regions:
// from an entry's start to an entry's end, as merged); and with only
// total_size bytes available, as kmain() passes, the answer must be the same.
// Built and run by `make fuzz` and `make test` (tests/fuzz/README.md).
#include "fuzz.h"

#include "../../boot/boot.h"
#include "mb_check.h"

#define ERRLEN 160 // kmain()'s buffer

// An entry of a memory-map tag starts at an 8-byte boundary of the block
// (tags and entries both do), with base, length and type in 20 bytes.
static const uint8_t *block;
static size_t block_size;

static bool entry_edge(uint64_t at, uint32_t type, bool end)
{
    for (size_t off = 8; off + 20 <= block_size; off += 8) {
        uint64_t base = le_at(block, block_size, off, 8);
        if (le_at(block, block_size, off + 16, 4) == type &&
            (end ? base + le_at(block, block_size, off + 8, 8) : base) == at)
            return true;
    }
    return false;
}

// Everything mb2_parse returns points into the block or is a fixed "".
static void check_accepted(const struct mb_info *mb, const uint8_t *info, size_t size)
{
    check(mb->cmdline && mb->loader, "a NULL string");
    check(string_inside(mb->cmdline, info, size) || !*mb->cmdline,
          "the command line does not lie inside the information block");
    check(string_inside(mb->loader, info, size) || !*mb->loader,
          "the loader name does not lie inside the information block");
    check(mb->mod_count <= MB_MAX_MODS, "%u modules", mb->mod_count);
    for (unsigned i = 0; i < mb->mod_count; i++) {
        check(mb->mods[i].start <= mb->mods[i].end, "module %u ends before it starts", i);
        check(mb->mods[i].end >> 32 == 0, "module %u: a 64-bit address from 32-bit fields", i);
        check(string_inside(mb->mods[i].cmdline, info, size),
              "module %u's string does not lie inside the information block", i);
    }
    block = info;
    block_size = size;
    check_mmap(mb, entry_edge);
    // mb_carve() keeps guest RAM clear of the block: all total_size bytes.
    check(mb->info_start == (uintptr_t)info &&
          mb->info_end - mb->info_start == le_at(info, size, 0, 4),
          "the information block is not where it was, total_size long");
    if (mb->has_fb)
        check_fb(&mb->fb);
    check(mb->rsdp_v <= 2, "RSDP version %u", mb->rsdp_v);
    if (mb->rsdp_v)
        check(inside((const void *)(uintptr_t)mb->rsdp, mb->rsdp_v == 2 ? 36 : 20, info, size),
              "the ACPI RSDP (version %u) does not lie inside the block", mb->rsdp_v);
    else
        check(!mb->rsdp, "an RSDP address without a version");
}

// The same answer from two copies of one block: every field equal, every
// pointer at the same offset from its copy's start.
static uint64_t rel(const void *p, const uint8_t *base, size_t size)
{
    return inside(p, 0, base, size) ? (uintptr_t)p - (uintptr_t)base : UINT64_MAX;
}

static void check_same(const struct mb_info *a, const uint8_t *abase, size_t asize,
                       const struct mb_info *b, const uint8_t *bbase, size_t bsize)
{
    check(rel(a->cmdline, abase, asize) == rel(b->cmdline, bbase, bsize) &&
          !strcmp(a->cmdline, b->cmdline), "the command line differs");
    check(rel(a->loader, abase, asize) == rel(b->loader, bbase, bsize) &&
          !strcmp(a->loader, b->loader), "the loader name differs");
    check(a->mod_count == b->mod_count && a->mods_ignored == b->mods_ignored,
          "the module count differs");
    for (unsigned i = 0; i < a->mod_count; i++)
        check(a->mods[i].start == b->mods[i].start && a->mods[i].end == b->mods[i].end &&
              rel(a->mods[i].cmdline, abase, asize) == rel(b->mods[i].cmdline, bbase, bsize),
              "module %u differs", i);
    check(a->mmap_count == b->mmap_count && a->mmap_dropped == b->mmap_dropped &&
          a->mmap_dropped_ram == b->mmap_dropped_ram, "the memory map's length differs");
    for (unsigned i = 0; i < a->mmap_count; i++)
        check(a->mmap[i].base == b->mmap[i].base && a->mmap[i].len == b->mmap[i].len &&
              a->mmap[i].type == b->mmap[i].type, "memory region %u differs", i);
    check(a->has_fb == b->has_fb, "one has a framebuffer, the other not");
    const struct fb_info *f = &a->fb, *g = &b->fb;
    if (a->has_fb)
        check(f->addr == g->addr && f->pitch == g->pitch && f->width == g->width &&
              f->height == g->height && f->bpp == g->bpp && f->type == g->type &&
              f->red_pos == g->red_pos && f->red_size == g->red_size &&
              f->green_pos == g->green_pos && f->green_size == g->green_size &&
              f->blue_pos == g->blue_pos && f->blue_size == g->blue_size,
              "the framebuffer differs");
    check(a->rsdp_v == b->rsdp_v && rel((void *)(uintptr_t)a->rsdp, abase, asize) ==
          rel((void *)(uintptr_t)b->rsdp, bbase, bsize), "the RSDP differs");
    check(a->efi == b->efi, "one says UEFI, the other not");
}

static int parse(const uint8_t *data, size_t size, size_t avail, uint8_t **copy,
                 struct mb_info *mb, char *err)
{
    *copy = malloc(avail ? avail : 1);
    memcpy(*copy, data, avail < size ? avail : size);
    memset(mb, 0xa5, sizeof(*mb)); // each field must be set, none left as it was
    memset(err, 0x5a, ERRLEN);     // not NUL-terminated until the parser writes one
    int rc = mb2_parse(*copy, avail, mb, err, ERRLEN);
    check(rc == 0 || rc == -1, "returned %d", rc);
    if (rc)
        check_refusal(err, ERRLEN);
    else
        check_accepted(mb, *copy, avail);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *all, *exact = NULL;
    struct mb_info mb, mb_exact;
    char err[ERRLEN], err_exact[ERRLEN];
    int rc = parse(data, size, size, &all, &mb, err);

    // kmain() passes total_size as what is available (up to 64 KiB): the
    // bytes after it must change nothing.
    size_t total = le_at(data, size, 0, 4);
    if (size >= 8 && total <= size) {
        int rc_exact = parse(data, size, total, &exact, &mb_exact, err_exact);
        check(rc_exact == rc, "accepted with %s, refused with %s: %s",
              rc ? "total_size bytes" : "more", rc ? "more" : "total_size bytes",
              rc ? err : err_exact);
        if (!rc)
            check_same(&mb, all, size, &mb_exact, exact, total);
        else if (total >= 16) // below, one says total_size is short, the other avail
            check(!strcmp(err, err_exact), "refused for two reasons: '%s', '%s'", err,
                  err_exact);
    }
    free(all);
    free(exact);
    return 0;
}
