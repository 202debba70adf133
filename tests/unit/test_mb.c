// test_mb.c: host unit tests (cmocka) for boot/mb.c. Each multiboot2 test
// builds an info block tag by tag, then parses an exact-size heap copy, so
// AddressSanitizer catches any read past total_size. The multiboot v1 tests
// need 32-bit addresses, so they build their struct in a MAP_32BIT mapping.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "../../boot/boot.h"

void console_write(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static _Alignas(8) uint8_t info[8192];
static size_t info_len;
static uint8_t *copy; // what the parser sees: malloc'd, exactly as long as asked
static struct mb_info mb;
static char err[256];

static void w8(size_t off, uint8_t v) { info[off] = v; }
static void w32(size_t off, uint32_t v) { memcpy(info + off, &v, 4); }
static void w64(size_t off, uint64_t v) { memcpy(info + off, &v, 8); }

static int setup(void **state)
{
    (void)state;
    memset(info, 0, sizeof(info));
    info_len = 8; // the header; finish() fills it in
    memset(&mb, 0xa5, sizeof(mb)); // the parser must set every field
    strcpy(err, "no error");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(copy);
    copy = NULL;
    return 0;
}

// Appends a tag header for `size` bytes (its body zeroed) and returns the
// tag's offset; the next tag starts at the following 8-byte boundary.
static size_t tag(uint32_t type, uint32_t size)
{
    size_t off = info_len;
    w32(off, type);
    w32(off + 4, size);
    info_len += ALIGN_UP(size, 8);
    assert_true(info_len <= sizeof(info));
    return off;
}

static size_t string_tag(uint32_t type, const char *s)
{
    size_t n = strlen(s) + 1;
    size_t off = tag(type, 8 + n);
    memcpy(info + off + 8, s, n);
    return off;
}

static size_t module_tag(uint32_t start, uint32_t end, const char *s)
{
    size_t n = strlen(s) + 1;
    size_t off = tag(3, 16 + n);
    w32(off + 8, start);
    w32(off + 12, end);
    memcpy(info + off + 16, s, n);
    return off;
}

static size_t mmap_tag(uint32_t entry_size, unsigned count)
{
    size_t off = tag(6, 16 + entry_size * count);
    w32(off + 8, entry_size);
    for (unsigned i = 0; i < count; i++) {
        size_t e = off + 16 + i * entry_size;
        w64(e, 0x100000ull * i);
        w64(e + 8, 0x1000ull * (i + 1));
        w32(e + 16, i % 2 ? 2 : 1);
    }
    return off;
}

static size_t fb_tag(uint32_t size, uint32_t pitch, uint32_t width, uint32_t height,
                     uint8_t bpp, uint8_t type)
{
    size_t off = tag(8, size);
    w64(off + 8, 0xfd000000);
    w32(off + 16, pitch);
    w32(off + 20, width);
    w32(off + 24, height);
    w8(off + 28, bpp);
    w8(off + 29, type);
    return off;
}

static void rgb(size_t fb, uint8_t rp, uint8_t rs, uint8_t gp, uint8_t gs, uint8_t bp,
                uint8_t bs)
{
    uint8_t c[6] = { rp, rs, gp, gs, bp, bs };
    memcpy(info + fb + 32, c, 6);
}

// Adds the end tag and writes total_size.
static void finish(void)
{
    tag(0, 8);
    w32(0, (uint32_t)info_len);
}

static int parse_avail(size_t avail)
{
    free(copy);
    copy = malloc(avail ? avail : 1);
    memcpy(copy, info, avail);
    return mb2_parse(copy, avail, &mb, err, sizeof(err));
}

static int parse(void)
{
    return parse_avail(info_len);
}

static void refused(const char *message)
{
    assert_int_equal(parse(), -1);
    assert_string_equal(err, message);
}

static void test_minimal(void **state)
{
    (void)state;
    w32(4, 0xdeadbeef); // reserved: ignored
    finish();
    assert_int_equal(info_len, 16);
    assert_int_equal(parse(), 0);
    assert_string_equal(mb.cmdline, "");
    assert_string_equal(mb.loader, "");
    assert_int_equal(mb.mmap_count, 0);
    assert_int_equal(mb.mod_count, 0);
    assert_false(mb.has_fb);
    assert_int_equal(mb.rsdp, 0);
    assert_int_equal(mb.rsdp_v, 0);
    assert_false(mb.efi);
    assert_string_equal(err, "no error");
}

static void test_full(void **state)
{
    (void)state;
    size_t cmd = string_tag(1, "tests=vmxon end=halt");
    tag(21, 12); // load base address: legal, not read, skipped
    size_t ldr = string_tag(2, "GRUB 2.06");
    size_t mm = mmap_tag(24, 3);
    size_t m0 = module_tag(0x200000, 0x201234, "initrd.img");
    size_t m1 = module_tag(0x300000, 0x300010, "");
    size_t fb = fb_tag(38, 4096, 1024, 768, 32, 1);
    rgb(fb, 16, 8, 8, 8, 0, 8);
    size_t acpi2 = tag(15, 8 + 36);
    tag(14, 8 + 20); // the old RSDP after the new one must not replace it
    tag(99, 20);     // a type no spec version has yet
    tag(12, 16);     // EFI64 system table pointer
    finish();

    assert_int_equal(parse(), 0);
    assert_ptr_equal(mb.cmdline, copy + cmd + 8);
    assert_string_equal(mb.cmdline, "tests=vmxon end=halt");
    assert_ptr_equal(mb.loader, copy + ldr + 8);
    assert_string_equal(mb.loader, "GRUB 2.06");

    assert_int_equal(mb.mmap_count, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(mb.mmap[i].base, 0x100000ull * i);
        assert_int_equal(mb.mmap[i].len, 0x1000ull * (i + 1));
        assert_int_equal(mb.mmap[i].type, i % 2 ? 2 : 1);
    }
    (void)mm;

    assert_int_equal(mb.mod_count, 2);
    assert_int_equal(mb.mods[0].start, 0x200000);
    assert_int_equal(mb.mods[0].end, 0x201234);
    assert_ptr_equal(mb.mods[0].cmdline, copy + m0 + 16);
    assert_string_equal(mb.mods[0].cmdline, "initrd.img");
    assert_int_equal(mb.mods[1].start, 0x300000);
    assert_int_equal(mb.mods[1].end, 0x300010);
    assert_string_equal(mb.mods[1].cmdline, "");
    (void)m1;

    assert_true(mb.has_fb);
    assert_int_equal(mb.fb.addr, 0xfd000000);
    assert_int_equal(mb.fb.pitch, 4096);
    assert_int_equal(mb.fb.width, 1024);
    assert_int_equal(mb.fb.height, 768);
    assert_int_equal(mb.fb.bpp, 32);
    assert_int_equal(mb.fb.type, 1);
    assert_int_equal(mb.fb.red_pos, 16);
    assert_int_equal(mb.fb.red_size, 8);
    assert_int_equal(mb.fb.green_pos, 8);
    assert_int_equal(mb.fb.green_size, 8);
    assert_int_equal(mb.fb.blue_pos, 0);
    assert_int_equal(mb.fb.blue_size, 8);

    assert_int_equal(mb.rsdp, (uintptr_t)(copy + acpi2 + 8));
    assert_int_equal(mb.rsdp_v, 2);
    assert_true(mb.efi);
}

static void test_acpi(void **state)
{
    (void)state;
    size_t old = tag(14, 8 + 20);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.rsdp, (uintptr_t)(copy + old + 8));
    assert_int_equal(mb.rsdp_v, 1);
    assert_false(mb.efi);

    setup(NULL); // old first, then new: the new one wins
    tag(14, 8 + 20);
    size_t new = tag(15, 8 + 36);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.rsdp, (uintptr_t)(copy + new + 8));
    assert_int_equal(mb.rsdp_v, 2);
}

static void test_ega_text(void **state)
{
    (void)state;
    fb_tag(32, 160, 80, 25, 16, 2); // no colour fields in a text tag
    finish();
    assert_int_equal(parse(), 0);
    assert_true(mb.has_fb);
    assert_int_equal(mb.fb.type, 2);
    assert_int_equal(mb.fb.width, 80);
    assert_int_equal(mb.fb.height, 25);
    assert_int_equal(mb.fb.pitch, 160);
    assert_int_equal(mb.fb.bpp, 16);
    assert_int_equal(mb.fb.red_pos, 0);
    assert_int_equal(mb.fb.blue_size, 0);
}

static void test_each_efi_tag(void **state)
{
    (void)state;
    const uint32_t types[] = { 11, 12, 17, 18 };
    const uint32_t sizes[] = { 12, 16, 16, 8 };
    for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
        setup(NULL);
        tag(types[i], sizes[i]);
        finish();
        assert_int_equal(parse(), 0);
        assert_true(mb.efi);
    }
}

static void test_wide_mmap_entries(void **state)
{
    (void)state;
    size_t mm = mmap_tag(32, 2); // 8 bytes of a future field after each entry
    memset(info + mm + 16 + 24, 0xff, 8);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mmap_count, 2);
    assert_int_equal(mb.mmap[1].base, 0x100000);
    assert_int_equal(mb.mmap[1].len, 0x2000);
    assert_int_equal(mb.mmap[1].type, 2);
}

static void test_limits_are_inclusive(void **state)
{
    (void)state;
    mmap_tag(24, MB_MAX_MMAP);
    for (unsigned i = 0; i < MB_MAX_MODS; i++)
        module_tag(i, i + 1, "m");
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mmap_count, MB_MAX_MMAP);
    assert_int_equal(mb.mod_count, MB_MAX_MODS);
    assert_int_equal(mb.mods_ignored, 0);
    assert_int_equal(mb.mods[MB_MAX_MODS - 1].start, MB_MAX_MODS - 1);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    finish();
    assert_int_equal(parse_avail(4), -1);
    assert_string_equal(err, "multiboot2: only 4 bytes available, less than the 8-byte header");
    w32(0, 8);
    refused("multiboot2: total_size 8 is less than 16 (header and end tag)");
    w32(0, 16);
    assert_int_equal(parse_avail(15), -1); // truncated: the end tag is cut off
    assert_string_equal(err, "multiboot2: total_size 16 is more than the 15 bytes available");
}

static void test_tag_past_end(void **state)
{
    (void)state;
    string_tag(1, "0123456789012345678901234567890123456789012345678901234"); // 64 bytes
    size_t mm = tag(6, 200);
    assert_int_equal(mm, 0x48);
    info_len = mm + 96; // the info ends 96 bytes into the memory map
    w32(0, (uint32_t)info_len);
    refused("multiboot2: tag type 6 at offset 0x48 runs past the end (size 200, 96 bytes left)");

    setup(NULL); // one byte too long, where the end tag should be
    tag(99, 16);
    finish();
    w32(12, 25); // 16 bytes of its own, 8 of end tag, and 1 more
    refused("multiboot2: tag type 99 at offset 0x8 runs past the end (size 25, 24 bytes left)");
}

static void test_missing_end_tag(void **state)
{
    (void)state;
    string_tag(1, "abc");
    w32(0, (uint32_t)info_len);
    refused("multiboot2: no end tag (type 0) within total_size 24");
    // Room for only half an end tag.
    w32(0, (uint32_t)info_len + 4);
    info_len += 4;
    refused("multiboot2: no end tag (type 0) within total_size 28");
}

static void test_tag_smaller_than_header(void **state)
{
    (void)state;
    tag(1, 4);
    finish();
    refused("multiboot2: tag type 1 at offset 0x8 has size 4, less than its 8-byte header");
}

static void test_unterminated_strings(void **state)
{
    (void)state;
    size_t t = tag(1, 12);
    memcpy(info + t + 8, "abcd", 4); // zero padding follows, but outside the tag
    finish();
    refused("multiboot2: cmdline tag (type 1) at offset 0x8: string is not NUL-terminated "
            "inside the tag");

    setup(NULL);
    tag(2, 8); // no room even for the NUL
    finish();
    refused("multiboot2: boot loader name tag (type 2) at offset 0x8: string is not "
            "NUL-terminated inside the tag");

    setup(NULL);
    t = tag(3, 20);
    memcpy(info + t + 16, "initrd", 4);
    finish();
    refused("multiboot2: module tag (type 3) at offset 0x8: string is not NUL-terminated "
            "inside the tag");
}

static void test_tags_too_short(void **state)
{
    (void)state;
    tag(3, 12);
    finish();
    refused("multiboot2: module tag (type 3) at offset 0x8 has size 12, less than its 16 "
            "fixed bytes");
    setup(NULL);
    tag(6, 12);
    finish();
    refused("multiboot2: memory map tag (type 6) at offset 0x8 has size 12, less than its "
            "16 fixed bytes");
    setup(NULL);
    tag(15, 8 + 20); // a v1-sized copy in a v2 tag
    finish();
    refused("multiboot2: ACPI new RSDP tag (type 15) at offset 0x8 has size 28, less than "
            "its 44 fixed bytes");
    setup(NULL);
    fb_tag(32, 4096, 1024, 768, 32, 1); // RGB, but the colour fields are missing
    finish();
    refused("multiboot2: RGB framebuffer tag at offset 0x8 has size 32, too short for its "
            "colour fields (38)");
}

static void test_bad_mmap(void **state)
{
    (void)state;
    mmap_tag(16, 2);
    finish();
    refused("multiboot2: memory map at offset 0x8 has entry_size 16, not a multiple of 8 "
            "that is at least 24");
    setup(NULL);
    mmap_tag(28, 1);
    finish();
    refused("multiboot2: memory map at offset 0x8 has entry_size 28, not a multiple of 8 "
            "that is at least 24");
    setup(NULL);
    size_t mm = mmap_tag(24, 2);
    w32(mm + 4, 16 + 24 + 8); // one entry and a third of another
    finish();
    refused("multiboot2: memory map at offset 0x8 has 32 bytes of entries, not a whole "
            "number of 24-byte entries");
}

// One entry of a memory-map tag made by mmap_tag(24, n).
static void mmap_entry(size_t tag_off, unsigned i, uint64_t base, uint64_t len, uint32_t type)
{
    size_t e = tag_off + 16 + i * 24;
    w64(e, base);
    w64(e + 8, len);
    w32(e + 16, type);
}

static bool has_region(uint64_t base, uint64_t len, uint32_t type)
{
    for (unsigned i = 0; i < mb.mmap_count; i++)
        if (mb.mmap[i].base == base && mb.mmap[i].len == len && mb.mmap[i].type == type)
            return true;
    return false;
}

// A map longer than the table never fails the boot (UEFI maps can have
// hundreds of entries): the least useful region goes, counted.
static void test_long_mmap(void **state)
{
    (void)state;
    // 65 entries, reserved (2) and available (1) in turn: the smallest
    // reserved one, entry 1, is left out; no RAM with it.
    mmap_tag(24, MB_MAX_MMAP + 1);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mmap_count, MB_MAX_MMAP);
    assert_int_equal(mb.mmap_dropped, 1);
    assert_int_equal(mb.mmap_dropped_ram, 0);
    assert_false(has_region(0x100000, 0x2000, 2));
    for (unsigned i = 0; i <= MB_MAX_MMAP; i++)
        if (i != 1)
            assert_true(has_region(0x100000ull * i, 0x1000ull * (i + 1), i % 2 ? 2 : 1));

    // 70 available regions with gaps, each larger than the one before: the
    // first six, the smallest, are left out, 1 + 2 + ... + 6 pages of RAM.
    setup(NULL);
    size_t mm = mmap_tag(24, 70);
    for (unsigned i = 0; i < 70; i++)
        mmap_entry(mm, i, 0x200000ull * i, 0x1000ull * (i + 1), 1);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mmap_count, MB_MAX_MMAP);
    assert_int_equal(mb.mmap_dropped, 6);
    assert_int_equal(mb.mmap_dropped_ram, 21 * 0x1000);
    for (unsigned i = 0; i < 70; i++)
        assert_int_equal(has_region(0x200000ull * i, 0x1000ull * (i + 1), 1), i >= 6);

    // 200 entries, each continuing the one before: merged while the type
    // stays, so four regions and nothing left out.
    setup(NULL);
    mm = mmap_tag(24, 200);
    for (unsigned i = 0; i < 200; i++)
        mmap_entry(mm, i, 0x1000ull * i, 0x1000, i < 50 || i >= 150 ? 1 : i < 100 ? 2 : 3);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mmap_count, 4);
    assert_int_equal(mb.mmap_dropped, 0);
    assert_true(has_region(0, 50 * 0x1000, 1));
    assert_true(has_region(50 * 0x1000, 50 * 0x1000, 2));
    assert_true(has_region(100 * 0x1000, 50 * 0x1000, 3));
    assert_true(has_region(150 * 0x1000, 50 * 0x1000, 1));

    // Entries that overlap, go backwards or would wrap past 2^64 are not merged.
    setup(NULL);
    mm = mmap_tag(24, 4);
    mmap_entry(mm, 0, 0x10000, 0x1000, 1);
    mmap_entry(mm, 1, 0x10800, 0x1000, 1); // overlaps
    mmap_entry(mm, 2, ~0ull - 0xfff, 0x1000, 1);
    mmap_entry(mm, 3, 0, ~0ull, 1); // "continues" at 2^64: base + len wraps
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mmap_count, 4);
}

// ---- mb_carve(): guest RAM clear of the boot information ------------------

// One available region [B - 8 MiB, B + 4 MiB) around addr (B: addr rounded
// down to 2 MiB), and the highest 4 MiB in it, at 2 MiB steps: B if nothing
// near addr is avoided, B - 4 MiB if addr is (the first two choices hold it).
#define MiB (1ull << 20)
static uint64_t carve_around(struct mb_info *bi, uint64_t addr, const struct mem_range *avoid,
                             unsigned n)
{
    uint64_t b = addr & ~(2 * MiB - 1);
    bi->mmap[0] = (struct mem_region){ b - 8 * MiB, 12 * MiB, 1 };
    bi->mmap_count = 1;
    return mb_carve(bi, 4 * MiB, 2 * MiB, 1, UINT64_MAX, avoid, n);
}

static void test_carve_avoids_the_info_block(void **state)
{
    (void)state;
    tag(21, 12); // the block holds no string: only the block itself is in the way
    finish();
    assert_int_equal(parse(), 0);
    uint64_t at = (uintptr_t)copy + 8, b = at & ~(2 * MiB - 1);
    assert_int_equal(mb.info_start, (uintptr_t)copy);
    assert_int_equal(mb.info_end, (uintptr_t)copy + info_len);
    assert_int_equal(carve_around(&mb, at, NULL, 0), b - 4 * MiB);
    mb.info_end = mb.info_start; // as hv/run/guest.c carved before: over the block
    assert_int_equal(carve_around(&mb, at, NULL, 0), b);
}

// What carve_around() gives when addr must be avoided.
static uint64_t below(uint64_t addr)
{
    return (addr & ~(2 * MiB - 1)) - 4 * MiB;
}

// Each thing the kernel keeps using, alone near the region (the strings on a
// page of their own, far from the test's own "" and from each other's).
static void test_carve_avoids_what_the_kernel_keeps(void **state)
{
    (void)state;
    char *page = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    assert_true(page != MAP_FAILED);
    char *cmdline = strcpy(page, "tests=interrupts"), *loader = strcpy(page + 4096, "GRUB");
    char *name = strcpy(page + 8192, "hello");
    struct mb_info bi;
    memset(&bi, 0, sizeof(bi));
    bi.cmdline = bi.loader = "";
    uint64_t far = 64 * MiB; // no address of the test is near it
    assert_int_equal(carve_around(&bi, far, NULL, 0), far);

    bi.cmdline = cmdline; // strings outside the block, as multiboot v1's are
    uint64_t last = (uintptr_t)cmdline + strlen(cmdline); // its NUL
    assert_int_equal(carve_around(&bi, last, NULL, 0), below(last));
    bi.cmdline = "";
    bi.loader = loader;
    assert_int_equal(carve_around(&bi, (uintptr_t)loader, NULL, 0), below((uintptr_t)loader));
    bi.loader = "";
    bi.mod_count = 1;
    bi.mods[0] = (struct mb_module){ far + 0x1000, far + 0x2000, "" };
    assert_int_equal(carve_around(&bi, far, NULL, 0), far - 4 * MiB);
    bi.mods[0] = (struct mb_module){ 0x1000, 0x2000, name };
    assert_int_equal(carve_around(&bi, (uintptr_t)name, NULL, 0), below((uintptr_t)name));
    bi.mod_count = 0;
    bi.rsdp = far + 2 * MiB - 36; // the XSDP: 36 bytes
    assert_int_equal(carve_around(&bi, far, NULL, 0), far - 4 * MiB);
    bi.rsdp = far - 36; // ends where the highest choice starts
    assert_int_equal(carve_around(&bi, far, NULL, 0), far);
    bi.rsdp = far - 35;
    assert_int_not_equal(carve_around(&bi, far, NULL, 0), far);
    bi.rsdp = 0;
    bi.has_fb = true;
    bi.fb = (struct fb_info){ .addr = far + MiB, .pitch = 4096, .height = 768 };
    assert_int_equal(carve_around(&bi, far, NULL, 0), far - 4 * MiB);
    bi.has_fb = false;
    const struct mem_range kernel = { far + 2 * MiB - 1, far + 2 * MiB };
    assert_int_equal(carve_around(&bi, far, &kernel, 1), far - 4 * MiB);
    const struct mem_range next = { far + 4 * MiB, far + 5 * MiB }; // just after: free
    assert_int_equal(carve_around(&bi, far, &next, 1), far);
    munmap(page, 3 * 4096);
}

// Where RAM runs out: nothing that fits, a region ending at the limit, a
// floor above the region, a region at address 0 (no step below it).
static void test_carve_edges(void **state)
{
    (void)state;
    struct mb_info bi;
    memset(&bi, 0, sizeof(bi));
    bi.cmdline = bi.loader = "";
    bi.mmap_count = 1;
    bi.mmap[0] = (struct mem_region){ 16 * MiB, 4 * MiB - 1, 1 };
    assert_int_equal(mb_carve(&bi, 4 * MiB, 2 * MiB, MiB, 4096 * MiB, NULL, 0), 0);
    bi.mmap[0] = (struct mem_region){ 16 * MiB, ~0ull, 1 }; // clipped at hi
    assert_int_equal(mb_carve(&bi, 4 * MiB, 2 * MiB, MiB, 4096 * MiB, NULL, 0), 4092 * MiB);
    assert_int_equal(mb_carve(&bi, 4 * MiB, 2 * MiB, 4093 * MiB, 4096 * MiB, NULL, 0), 0);
    bi.mmap[0] = (struct mem_region){ 0, 6 * MiB, 1 };
    const struct mem_range low = { 2 * MiB - 1, 2 * MiB };
    assert_int_equal(mb_carve(&bi, 4 * MiB, 2 * MiB, 1, 4096 * MiB, &low, 1), 2 * MiB);
    const struct mem_range all = { 0, 6 * MiB };
    assert_int_equal(mb_carve(&bi, 4 * MiB, 2 * MiB, 1, 4096 * MiB, &all, 1), 0);
    bi.mmap[0].type = 2; // not RAM
    assert_int_equal(mb_carve(&bi, 4 * MiB, 2 * MiB, 1, 4096 * MiB, NULL, 0), 0);
}

// A module past MB_MAX_MODS once failed the whole boot: now only it is lost,
// counted, whatever it holds (this one ends before it starts).
static void test_too_many_modules(void **state)
{
    (void)state;
    for (unsigned i = 0; i < MB_MAX_MODS; i++)
        module_tag(i, i + 1, "m");
    module_tag(0x200000, 0x100000, "ninth");
    module_tag(7, 8, "tenth");
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.mod_count, MB_MAX_MODS);
    assert_int_equal(mb.mods_ignored, 2);
    assert_int_equal(mb.mods[MB_MAX_MODS - 1].start, MB_MAX_MODS - 1);
    assert_int_equal(mb.mmap_count, 0);
}

static void test_bad_framebuffer(void **state)
{
    (void)state;
    fb_tag(32, 0, 80, 25, 0, 2);
    finish();
    refused("multiboot2: framebuffer is 80x25 at 0 bpp: none may be 0");
    setup(NULL);
    rgb(fb_tag(38, 4096, 0, 768, 32, 1), 16, 8, 8, 8, 0, 8);
    finish();
    refused("multiboot2: framebuffer is 0x768 at 32 bpp: none may be 0");
    setup(NULL);
    rgb(fb_tag(38, 4096, 1024, 0, 32, 1), 16, 8, 8, 8, 0, 8);
    finish();
    refused("multiboot2: framebuffer is 1024x0 at 32 bpp: none may be 0");
    setup(NULL);
    rgb(fb_tag(38, 4095, 1024, 768, 32, 1), 16, 8, 8, 8, 0, 8);
    finish();
    refused("multiboot2: framebuffer pitch 4095 is less than width 1024 * bpp 32 / 8");
    setup(NULL); // 24 bpp: 3 bytes a pixel, so 3072 is exactly enough
    rgb(fb_tag(38, 3072, 1024, 768, 24, 1), 16, 8, 8, 8, 0, 8);
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.fb.pitch, 3072);
}

// Found by fuzzing (tests/fuzz, mb1 and mb2): colour channels beyond the
// pixel, which boot/screen.c would shift by 32 bits or more.
static void test_rgb_channel_outside_pixel(void **state)
{
    (void)state;
    rgb(fb_tag(38, 4096, 1024, 768, 32, 1), 16, 8, 41, 8, 0, 8);
    finish();
    refused("multiboot2: framebuffer's green channel (bit 41, 8 bits) is not inside its "
            "32-bit pixel");
    setup(NULL);
    rgb(fb_tag(38, 4096, 1024, 768, 32, 1), 16, 8, 8, 8, 32, 0); // starts past the end
    finish();
    refused("multiboot2: framebuffer's blue channel (bit 32, 0 bits) is not inside its "
            "32-bit pixel");
    setup(NULL);
    rgb(fb_tag(38, 2048, 1024, 768, 16, 1), 11, 6, 5, 6, 0, 5); // 5-6-5: red one bit too wide
    finish();
    refused("multiboot2: framebuffer's red channel (bit 11, 6 bits) is not inside its "
            "16-bit pixel");
    setup(NULL);
    rgb(fb_tag(38, 4096, 1024, 768, 32, 1), 24, 8, 16, 8, 8, 8); // reaches bit 31 exactly
    finish();
    assert_int_equal(parse(), 0);
    assert_int_equal(mb.fb.red_pos, 24);
}

// Found by fuzzing (tests/fuzz, mb1 and mb2): EGA text at other than 16 bits
// a character; with 8, the console's 16-bit cells would run past the
// framebuffer's pitch * height bytes, which is all kmain() maps.
static void test_ega_text_not_16_bits(void **state)
{
    (void)state;
    fb_tag(32, 160, 80, 25, 15, 2);
    finish();
    refused("multiboot2: EGA text framebuffer has 15 bits per character, not 16");
    setup(NULL);
    fb_tag(32, 80, 80, 25, 8, 2);
    finish();
    refused("multiboot2: EGA text framebuffer has 8 bits per character, not 16");
}

// Values that wrap past 2^32 or 2^64 where a check adds two of them.
static void test_wrapping_values(void **state)
{
    (void)state;
    // A tag of size 0xfffffff9 (aligned up, 2^32 in 32 bits) inside a small
    // info: refused as running past the end, never a step of 0.
    tag(99, 0xfffffff9);
    info_len = 32;
    w32(0, 32);
    refused("multiboot2: tag type 99 at offset 0x8 runs past the end (size 4294967289, "
            "24 bytes left)");
    // A module that ends before it starts (end - start would wrap).
    setup(NULL);
    module_tag(0x200000, 0x1fffff, "guest");
    finish();
    refused("multiboot2: module tag at offset 0x8 ends (0x1fffff) before it starts (0x200000)");
    // A framebuffer at the top of the address space: addr + pitch * height wraps.
    setup(NULL);
    size_t fb = fb_tag(38, 4096, 1024, 768, 32, 1);
    rgb(fb, 16, 8, 8, 8, 0, 8);
    w64(fb + 8, 0xfffffffffff00000ull);
    finish();
    refused("multiboot2: framebuffer at 0xfffffffffff00000 of 3145728 bytes runs past the "
            "physical address space");
    setup(NULL);
    fb = fb_tag(38, 4096, 1024, 768, 32, 1);
    rgb(fb, 16, 8, 8, 8, 0, 8);
    w64(fb + 8, (1ull << 52) - 4096ull * 768 + 1); // one byte too far
    finish();
    refused("multiboot2: framebuffer at 0xfffffffd00001 of 3145728 bytes runs past the "
            "physical address space");
    setup(NULL);
    fb = fb_tag(38, 4096, 1024, 768, 32, 1);
    rgb(fb, 16, 8, 8, 8, 0, 8);
    w64(fb + 8, (1ull << 52) - 4096ull * 768); // ends exactly at the limit
    finish();
    assert_int_equal(parse(), 0);
}

// multiboot v1: the info, its strings and its tables in the low 2 GiB.
static uint8_t *low;
static const size_t low_size = 0x10000;

static uint32_t low_addr(size_t off)
{
    return (uint32_t)(uintptr_t)(low + off);
}

static void l32(size_t off, uint32_t v) { memcpy(low + off, &v, 4); }
static void l64(size_t off, uint64_t v) { memcpy(low + off, &v, 8); }

static int mb1_setup(void **state)
{
    (void)state;
    low = mmap(NULL, low_size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED) {
        low = NULL;
        return 0;
    }
    memset(&mb, 0xa5, sizeof(mb));
    strcpy(err, "no error");
    return 0;
}

static int mb1_teardown(void **state)
{
    (void)state;
    if (low)
        munmap(low, low_size);
    return 0;
}

// An mmap entry at `off`: size field, then base, len, type.
static size_t mb1_entry(size_t off, uint32_t size, uint64_t base, uint64_t len, uint32_t type)
{
    l32(off, size);
    l64(off + 4, base);
    l64(off + 12, len);
    l32(off + 20, type);
    return off + 4 + size;
}

static void test_mb1_empty(void **state)
{
    (void)state;
    if (!low)
        skip();
    l32(0, 0); // flags: the loader filled in nothing
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_string_equal(mb.cmdline, "");
    assert_string_equal(mb.loader, "");
    assert_int_equal(mb.mmap_count, 0);
    assert_int_equal(mb.mod_count, 0);
    assert_false(mb.has_fb);
    assert_false(mb.efi);
    assert_int_equal(mb.rsdp, 0);
}

static void test_mb1_full(void **state)
{
    (void)state;
    if (!low)
        skip();
    l32(0, BIT(2) | BIT(3) | BIT(6) | BIT(9) | BIT(12));
    strcpy((char *)low + 0x1000, "tests=ept");
    l32(16, low_addr(0x1000));
    strcpy((char *)low + 0x1100, "qemu");
    l32(64, low_addr(0x1100));

    strcpy((char *)low + 0x1200, "initrd");
    l32(20, 1);
    l32(24, low_addr(0x3000));
    l32(0x3000, 0x400000);
    l32(0x3004, 0x480000);
    l32(0x3008, low_addr(0x1200));

    // Three entries, the middle one 4 bytes longer than usual: the size field
    // alone decides where the next starts. base is misaligned on purpose.
    size_t end = mb1_entry(0x2000, 20, 0, 0x9fc00, 1);
    end = mb1_entry(end, 24, 0x9fc00, 0x400, 2);
    end = mb1_entry(end, 20, 0x100000, 0x7ee0000, 1);
    l32(44, (uint32_t)(end - 0x2000));
    l32(48, low_addr(0x2000));

    l64(88, 0xfd000000);
    l32(96, 3200);
    l32(100, 800);
    l32(104, 600);
    low[108] = 32;
    low[109] = 1;
    memcpy(low + 110, (uint8_t[]){ 16, 8, 8, 8, 0, 8 }, 6);

    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_ptr_equal(mb.cmdline, low + 0x1000);
    assert_string_equal(mb.loader, "qemu");
    assert_int_equal(mb.mod_count, 1);
    assert_int_equal(mb.mods[0].start, 0x400000);
    assert_int_equal(mb.mods[0].end, 0x480000);
    assert_string_equal(mb.mods[0].cmdline, "initrd");
    assert_int_equal(mb.mmap_count, 3);
    assert_int_equal(mb.mmap[0].len, 0x9fc00);
    assert_int_equal(mb.mmap[1].base, 0x9fc00);
    assert_int_equal(mb.mmap[1].type, 2);
    assert_int_equal(mb.mmap[2].base, 0x100000);
    assert_int_equal(mb.mmap[2].len, 0x7ee0000);
    assert_int_equal(mb.mmap[2].type, 1);
    assert_true(mb.has_fb);
    assert_int_equal(mb.fb.addr, 0xfd000000);
    assert_int_equal(mb.fb.pitch, 3200);
    assert_int_equal(mb.fb.width, 800);
    assert_int_equal(mb.fb.height, 600);
    assert_int_equal(mb.fb.bpp, 32);
    assert_int_equal(mb.fb.red_pos, 16);
    assert_int_equal(mb.fb.green_pos, 8);
    assert_int_equal(mb.fb.blue_size, 8);
}

static void test_mb1_bad_mmap(void **state)
{
    (void)state;
    if (!low)
        skip();
    l32(0, BIT(6));
    l32(48, low_addr(0x2000));
    size_t end = mb1_entry(0x2000, 20, 0, 0x1000, 1);
    mb1_entry(end, 16, 0x1000, 0x1000, 1);
    l32(44, 24 + 20);
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: memory map entry at offset 0x18 has size 16, "
                             "less than 20");

    mb1_entry(end, 20, 0x1000, 0x1000, 1);
    l32(44, 24 + 20); // the second entry is cut off by mmap_length
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: memory map entry at offset 0x18 runs past "
                             "mmap_length 44");

}

// As test_long_mmap for multiboot2: merged, then the least useful left out.
static void test_mb1_long_mmap(void **state)
{
    (void)state;
    if (!low)
        skip();
    l32(0, BIT(6));
    l32(48, low_addr(0x2000));
    size_t end = 0x2000;
    for (unsigned i = 0; i <= MB_MAX_MMAP; i++)
        end = mb1_entry(end, 20, i * 0x1000ull, 0x1000, 1);
    l32(44, (uint32_t)(end - 0x2000));
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_int_equal(mb.mmap_count, 1);
    assert_int_equal(mb.mmap[0].len, (MB_MAX_MMAP + 1) * 0x1000);
    assert_int_equal(mb.mmap_dropped, 0);

    end = 0x2000; // with gaps: the first, the smallest, goes
    for (unsigned i = 0; i <= MB_MAX_MMAP; i++)
        end = mb1_entry(end, 20, i * 0x100000ull, 0x1000ull * (i + 1), 1);
    l32(44, (uint32_t)(end - 0x2000));
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_int_equal(mb.mmap_count, MB_MAX_MMAP);
    assert_int_equal(mb.mmap_dropped, 1);
    assert_int_equal(mb.mmap_dropped_ram, 0x1000);
    assert_int_equal(mb.mmap[0].base, MB_MAX_MMAP * 0x100000ull); // in the first's place
    assert_int_equal(mb.info_start, (uintptr_t)low);
    assert_int_equal(mb.info_end, (uintptr_t)low + 116);
}

static void test_mb1_too_many_modules(void **state)
{
    (void)state;
    if (!low)
        skip();
    // The first MB_MAX_MODS are read, the rest only counted: never touched,
    // as the one after them, which ends before it starts, and the 2^32 - 10
    // further entries the count claims, far past this mapping, show.
    l32(0, BIT(3));
    l32(20, UINT32_MAX);
    l32(24, low_addr(0x3000));
    for (unsigned i = 0; i <= MB_MAX_MODS; i++) {
        l32(0x3000 + 16 * i, i < MB_MAX_MODS ? 0x100000 * (i + 1) : 0x900000);
        l32(0x3000 + 16 * i + 4, i < MB_MAX_MODS ? 0x100000 * (i + 1) + 10 : 0x800000);
    }
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_int_equal(mb.mod_count, MB_MAX_MODS);
    assert_int_equal(mb.mods_ignored, UINT32_MAX - MB_MAX_MODS);
    assert_int_equal(mb.mods[MB_MAX_MODS - 1].start, 0x800000);
    assert_int_equal(mb.mods[MB_MAX_MODS - 1].end, 0x80000a);
}

static void test_mb1_wrapping_values(void **state)
{
    (void)state;
    if (!low)
        skip();
    // A memory map entry of size 0xffffffff: size + 4 wraps in 32 bits.
    l32(0, BIT(6));
    l32(44, 24);
    l32(48, low_addr(0x1000));
    l32(0x1000, 0xffffffff);
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: memory map entry at offset 0x0 runs past mmap_length 24");
    // A module that ends before it starts.
    memset(low, 0, low_size);
    l32(0, BIT(3));
    l32(20, 1);
    l32(24, low_addr(0x3000));
    l32(0x3000, 0x500000);
    l32(0x3004, 0x4fffff);
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: module 0 ends (0x4fffff) before it starts (0x500000)");
}

static void test_mb1_bad_framebuffer(void **state)
{
    (void)state;
    if (!low)
        skip();
    l32(0, BIT(12));
    l64(88, 0xb8000);
    l32(96, 100); // an 80-column text screen needs 160 bytes a row
    l32(100, 80);
    l32(104, 25);
    low[108] = 16;
    low[109] = 2;
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: framebuffer pitch 100 is less than width 80 * "
                             "bpp 16 / 8");
    l32(96, 160);
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_int_equal(mb.fb.type, 2);
    assert_int_equal(mb.fb.addr, 0xb8000);
    low[108] = 32; // found by fuzzing: EGA text is 16 bits a character
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: EGA text framebuffer has 32 bits per character, "
                             "not 16");
}

// The fuzzer's input (QEMU -kernel's info with an RGB framebuffer whose green
// channel sits at bit 41 of a 32-bit pixel), refused as in multiboot2.
static void test_mb1_rgb_channel_outside_pixel(void **state)
{
    (void)state;
    if (!low)
        skip();
    l32(0, BIT(12));
    l64(88, 0xfd000000);
    l32(96, 4096);
    l32(100, 1024);
    l32(104, 768);
    low[108] = 32;
    low[109] = 1;
    memcpy(low + 110, (uint8_t[]){ 16, 8, 41, 8, 0, 8 }, 6);
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), -1);
    assert_string_equal(err, "multiboot: framebuffer's green channel (bit 41, 8 bits) is not "
                             "inside its 32-bit pixel");
    low[112] = 8;
    assert_int_equal(mb1_parse(low, &mb, err, sizeof(err)), 0);
    assert_int_equal(mb.fb.green_pos, 8);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define T1(f) cmocka_unit_test_setup_teardown(f, mb1_setup, mb1_teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_minimal),           T(test_full),
        T(test_acpi),              T(test_ega_text),
        T(test_each_efi_tag),      T(test_wide_mmap_entries),
        T(test_limits_are_inclusive), T(test_bad_sizes),
        T(test_tag_past_end),      T(test_missing_end_tag),
        T(test_tag_smaller_than_header), T(test_unterminated_strings),
        T(test_tags_too_short),    T(test_bad_mmap),
        T(test_long_mmap),         T(test_carve_avoids_the_info_block),
        T(test_carve_avoids_what_the_kernel_keeps), T(test_carve_edges),
        T(test_too_many_modules),  T(test_bad_framebuffer),
        T(test_wrapping_values),   T(test_rgb_channel_outside_pixel),
        T(test_ega_text_not_16_bits),
        T1(test_mb1_empty),        T1(test_mb1_full),
        T1(test_mb1_bad_mmap),     T1(test_mb1_long_mmap),
        T1(test_mb1_too_many_modules),
        T1(test_mb1_wrapping_values),
        T1(test_mb1_bad_framebuffer), T1(test_mb1_rgb_channel_outside_pixel),
    };
    return cmocka_run_group_tests_name("mb", tests, NULL, NULL);
}
