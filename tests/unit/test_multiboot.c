// test_multiboot.c: the multiboot loader (hv/run/multiboot.c) and the gathering of a
// multiboot guest's modules (hv/run/mbreq.c), against kernels built here byte by byte.
// The memory maps and the information block are the ones QEMU 7.2 gave the startup kernel
// (tests/boot/golden, guest/multiboot/README.md), for every RAM size measured; a good image
// loads exactly its segments and what follows them; each way an image or a request can be
// wrong is refused with a message that names it, guest RAM read-only meanwhile, so that
// any write would crash the test.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../boot/boot.h"
#include "../../hv/run/multiboot.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define MiB (1ull << 20)
#define LOW_MAX (3ull << 30) // the most RAM below 4 GiB any size here has
static uint8_t *ram;         // guest RAM below 4 GiB, pages made only where written
static uint8_t img[0x4000];
static char err[256];

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i--;)
        v = v << 8 | p[i];
    return v;
}

static int setup(void **state)
{
    (void)state;
    ram = mmap(NULL, LOW_MAX, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return ram == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return munmap(ram, LOW_MAX);
}

// Every test starts from RAM that is zero again and writable.
static int fresh(void **state)
{
    (void)state;
    memset(err, 0, sizeof(err));
    return madvise(ram, LOW_MAX, MADV_DONTNEED) || mprotect(ram, LOW_MAX, PROT_READ | PROT_WRITE);
}

// --- Kernels -------------------------------------------------------------------------------

// The multiboot header at off: magic, flags, checksum.
static void header(size_t off, uint32_t flags)
{
    put(img + off, MBV1_MAGIC, 4);
    put(img + off + 4, flags, 4);
    put(img + off + 8, -(MBV1_MAGIC + flags), 4);
}

#define ENTRY 0x400010
#define TEXT_GPA 0x400000
#define DATA_GPA 0x401000
#define IMAGE_END 0x403000 // .bss included: the data segment is 0x2000 bytes in memory

// A kernel as the tree's are built: ELF32 (or ELF64), the header at the start of its code
// segment (file offset 0x1000, 0x100 bytes at 0x400000, read and execute), a data segment
// of 0x10 file bytes at 0x401000 and 0x2000 in memory, a PT_NOTE between the two, and the
// entry 16 bytes into the code. Returns its size.
static size_t kernel(bool elf64)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "\x7f" "ELF", 4);
    img[4] = elf64 ? 2 : 1;
    img[5] = 1; // little-endian
    img[6] = 1;
    put(img + 16, 2, 2);                // ET_EXEC
    put(img + 18, elf64 ? 62 : 3, 2);   // EM_X86_64, EM_386
    unsigned w = elf64 ? 8 : 4, ph0 = elf64 ? 64 : 52, phsize = elf64 ? 56 : 32;
    put(img + 24, ENTRY, w);
    put(img + (elf64 ? 32 : 28), ph0, w);             // e_phoff
    put(img + (elf64 ? 54 : 42), phsize, 2);          // e_phentsize
    put(img + (elf64 ? 56 : 44), 3, 2);               // e_phnum
    const uint64_t segs[3][5] = { // type, offset, paddr, filesz, memsz
        { 1, 0x1000, TEXT_GPA, 0x100, 0x100 }, { 4, 0, 0, 0, 0 },
        { 1, 0x1100, DATA_GPA, 0x10, 0x2000 } };
    for (unsigned i = 0; i < 3; i++) {
        uint8_t *ph = img + ph0 + i * phsize;
        put(ph, segs[i][0], 4);
        put(ph + (elf64 ? 4 : 24), i ? 6 : 5, 4);     // p_flags: R X, or R W
        put(ph + (elf64 ? 8 : 4), segs[i][1], w);     // p_offset
        put(ph + (elf64 ? 16 : 8), segs[i][2], w);    // p_vaddr
        put(ph + (elf64 ? 24 : 12), segs[i][2], w);   // p_paddr
        put(ph + (elf64 ? 32 : 16), segs[i][3], w);   // p_filesz
        put(ph + (elf64 ? 40 : 20), segs[i][4], w);   // p_memsz
    }
    header(0x1000, MBV1_HDR_ALIGN_MODS | MBV1_HDR_MEMINFO);
    for (unsigned i = 12; i < 0x100; i++)
        img[0x1000 + i] = (uint8_t)i; // the "code"
    memcpy(img + 0x1100, "data of a kernel", 16);
    return 0x1110;
}

static uint8_t *phdr(unsigned i) { return img + 52 + 32 * i; } // of the ELF32 kernel

// A flat kernel placed by its header's address fields (3.1.3), as flat.bin: the header at
// offset 0x40, the image from the file's start at 0x100000, 0x200 bytes loaded
// (load_end_addr), zeros to 0x101000 (bss_end_addr), entry at 0x100080; 0x100 more bytes
// in the file that must not arrive.
#define AOUT_GPA 0x100000
static size_t flat(void)
{
    memset(img, 0, sizeof(img));
    header(0x40, MBV1_HDR_MEMINFO | MBV1_HDR_ADDRS);
    put(img + 0x4c, AOUT_GPA + 0x40, 4); // header_addr
    put(img + 0x50, AOUT_GPA, 4);        // load_addr
    put(img + 0x54, AOUT_GPA + 0x200, 4); // load_end_addr
    put(img + 0x58, AOUT_GPA + 0x1000, 4); // bss_end_addr
    put(img + 0x5c, AOUT_GPA + 0x80, 4);  // entry_addr
    for (unsigned i = 0x60; i < 0x200; i++)
        img[i] = 0x11;
    memset(img + 0x200, 0xaa, 0x100);
    return 0x300;
}

// --- Loading -------------------------------------------------------------------------------

static char env[] = "greeting=hello from a module\nsecond=22\nx\n"; // 41 bytes
static uint8_t words[6000];
static struct mbv1_module mods[2] = {
    { (const uint8_t *)env, sizeof(env) - 1, "env.txt greeting=hello" },
    { words, sizeof(words), "words.txt" },
};

static struct mbv1_request request(size_t size, const char *args, unsigned nmods)
{
    return (struct mbv1_request){ img, size, "startup.elf", args, mods, nmods };
}

static struct mbv1_loaded loaded;

static int load(const struct mbv1_request *rq, uint64_t mem_mib)
{
    return mbv1_load(rq, ram, mem_mib * MiB, &loaded, err, sizeof(err));
}

// The request must be refused with a message holding words, RAM never written: it is
// read-only meanwhile. mbv1_plan() says the same.
static void refused(const struct mbv1_request *rq, uint64_t mem_mib, const char *words)
{
    struct mbv1_loaded planned;
    char said[sizeof(err)];
    assert_int_equal(mbv1_plan(rq, mem_mib * MiB, &planned, said, sizeof(said)), -1);
    assert_int_equal(mprotect(ram, LOW_MAX, PROT_READ), 0);
    int rc = load(rq, mem_mib);
    assert_int_equal(mprotect(ram, LOW_MAX, PROT_READ | PROT_WRITE), 0);
    assert_int_equal(rc, -1);
    assert_string_equal(err, said);
    if (!strstr(err, words))
        fail_msg("message '%s' does not say '%s'", err, words);
}

static void refused_image(size_t size, const char *words)
{
    struct mbv1_request rq = request(size, "", 0);
    refused(&rq, 128, words);
}

static uint32_t info(unsigned off) { return (uint32_t)get(ram + MBV1_INFO_GPA + off, 4); }

// The memory map the information block points at, entry by entry: its size field must be
// 20 and the rest must be the region.
static void map_is(const uint64_t (*want)[3], unsigned n)
{
    assert_int_equal(info(48), MBV1_MMAP_GPA);
    assert_int_equal(info(44), 24 * n);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = ram + MBV1_MMAP_GPA + 24 * i;
        assert_int_equal(get(e, 4), 20);
        assert_true(get(e + 4, 8) == want[i][0]);
        assert_true(get(e + 12, 8) == want[i][1]);
        assert_int_equal(get(e + 20, 4), want[i][2]);
    }
}

// --- The memory map (QEMU 7.2, SeaBIOS, an Intel CPU; measured) ----------------------------

#define LOW_REGIONS(top)                                                         \
    { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },           \
        { 0x100000, (top) - 0x120000, 1 }, { (top) - 0x20000, 0x20000, 2 },      \
        { 0xfffc0000, 0x40000, 2 }

static void memory_maps_as_measured(void **state)
{
    (void)state;
    // The golden files and guest/multiboot/README.md print these as first-last byte:
    // 128 MiB ends 0x7fdffff available, 0x7fe0000-0x7ffffff reserved; 3.5 GiB has
    // 0xbffe0000-0xbfffffff reserved and 0x100000000-0x11fffffff available.
    static const struct { uint64_t mib; unsigned n; uint64_t want[7][3]; } cases[] = {
        { 6, 6, { LOW_REGIONS(6 * MiB) } },
        { 32, 6, { LOW_REGIONS(32 * MiB) } },
        { 128, 6, { LOW_REGIONS(128 * MiB) } },
        { 1024, 6, { LOW_REGIONS(1024 * MiB) } },
        { 3583, 6, { LOW_REGIONS(3583 * MiB) } },
        { 3584, 7, { LOW_REGIONS(3072 * MiB), { 1ull << 32, 512 * MiB, 1 } } },
        { 4096, 7, { LOW_REGIONS(3072 * MiB), { 1ull << 32, 1024 * MiB, 1 } } },
        { 8192, 7, { LOW_REGIONS(3072 * MiB), { 1ull << 32, 5120 * MiB, 1 } } },
    };
    for (unsigned c = 0; c < ARRAY_SIZE(cases); c++) {
        struct mbv1_region map[MBV1_MAX_REGIONS];
        unsigned n = mbv1_memory_map(cases[c].mib * MiB, map);
        assert_int_equal(n, cases[c].n);
        for (unsigned i = 0; i < n; i++) {
            assert_true(map[i].base == cases[c].want[i][0]);
            assert_true(map[i].len == cases[c].want[i][1]);
            assert_int_equal(map[i].type, cases[c].want[i][2]);
        }
        // What the kernel is handed: the same map at 0x9000, and the sizes from it.
        fresh(NULL);
        struct mbv1_request rq = request(kernel(false), "", 0);
        assert_int_equal(load(&rq, cases[c].mib), 0);
        map_is(cases[c].want, n);
        assert_int_equal(info(4), 639); // mem_lower
        assert_int_equal(info(8), (cases[c].want[3][1]) >> 10); // mem_upper: the RAM at 1 MiB
    }
    assert_int_equal(mbv1_memory_map(MBV1_MIN_RAM - 4096, NULL), 0);
    assert_true(mbv1_ram_below_4g(3583 * MiB) == 3583 * MiB);
    assert_true(mbv1_ram_below_4g(3584 * MiB) == 3072 * MiB);
}

// --- What the kernel finds -----------------------------------------------------------------

// tests/boot/golden/startup.txt: -append 'exit=0 mode=full', -initrd 'env.txt
// greeting=hello,words.txt', 128 MiB. "image end" is the page past .bss.
static void information_block_as_qemu_writes_it(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(words); i++)
        words[i] = (uint8_t)('a' + i % 26);
    struct mbv1_request rq = request(kernel(false), "exit=0 mode=full", 2);
    memset(ram + 0x9000, 0x77, 0x1000); // what was there before goes
    memset(ram + TEXT_GPA, 0x66, 0x5000); // the bss and the gaps after the image: zeroed
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.entry, ENTRY);
    assert_int_equal(loaded.info, 0x9500);
    assert_int_equal(loaded.image_start, TEXT_GPA);
    assert_int_equal(loaded.image_end, IMAGE_END);
    assert_int_equal(loaded.header_flags, 3);
    assert_int_equal(loaded.format, MBV1_ELF32);
    const uint32_t end = IMAGE_END; // already on a page boundary
    assert_int_equal(loaded.end, end + 0x2000 + sizeof(words));
    const uint32_t block[22] = {
        0x24f, 639, 129920, 0x8000ffff, end + 0x41, 2, end, 0, 0, 0, 0,
        144, 0x9000, 0, 0, 0, end + 0x5e, 0, 0, 0, 0, 0,
    };
    for (unsigned i = 0; i < 22; i++)
        assert_int_equal(info(4 * i), block[i]);
    static const uint64_t map128[6][3] = { LOW_REGIONS(128 * MiB) };
    map_is(map128, 6);
    for (unsigned i = 0x9000 + 144; i < 0xa000; i++)
        if (i < 0x9500 || i >= 0x9500 + 88)
            assert_int_equal(ram[i], 0);
    // The list, then the strings packed, each with its NUL, then the modules, each on
    // the next page boundary.
    const uint32_t list[2][4] = { { end + 0x1000, end + 0x1000 + 41, end + 0x20, 0 },
                                  { end + 0x2000, end + 0x2000 + 6000, end + 0x37, 0 } };
    for (unsigned m = 0; m < 2; m++)
        for (unsigned f = 0; f < 4; f++)
            assert_int_equal(get(ram + end + 16 * m + 4 * f, 4), list[m][f]);
    static const char strings[] = "env.txt greeting=hello\0words.txt\0"
                                  "startup.elf exit=0 mode=full\0qemu";
    assert_memory_equal(ram + end + 0x20, strings, sizeof(strings));
    for (unsigned i = end + 0x20 + sizeof(strings); i < end + 0x1000; i++)
        assert_int_equal(ram[i], 0);
    assert_memory_equal(ram + end + 0x1000, env, 41);
    assert_memory_equal(ram + end + 0x2000, words, sizeof(words));
    // The kernel's own bytes: its segments, the bss zero; between them, what was there.
    assert_memory_equal(ram + TEXT_GPA, img + 0x1000, 0x100);
    assert_memory_equal(ram + DATA_GPA, "data of a kernel", 16);
    for (unsigned i = TEXT_GPA + 0x100; i < end; i++)
        if (i < DATA_GPA)
            assert_int_equal(ram[i], 0x66);
        else if (i >= DATA_GPA + 16)
            assert_int_equal(ram[i], 0);
}

// No modules, no arguments: the list is empty where it would be, the command line is
// "NAME " with its space (QEMU builds it with "%s %s").
static void no_arguments_no_modules(void **state)
{
    (void)state;
    struct mbv1_request rq = request(kernel(false), "", 0);
    rq.args = NULL; // as ""
    assert_int_equal(load(&rq, 32), 0);
    assert_int_equal(info(20), 0);
    assert_int_equal(info(24), IMAGE_END);
    assert_int_equal(info(16), IMAGE_END);
    assert_memory_equal(ram + IMAGE_END, "startup.elf \0qemu", 18);
    assert_int_equal(loaded.end, IMAGE_END + 18);
    assert_int_equal(info(8), 31616); // startup-exit7.txt: 32 MiB
}

// A module of no bytes takes no page: the next starts where it does (QEMU rounds the
// end up, and an empty module ends where it starts).
static void empty_module(void **state)
{
    (void)state;
    struct mbv1_module two[2] = { { NULL, 0, "empty" }, { (const uint8_t *)"x", 1, "x y" } };
    struct mbv1_request rq = request(kernel(false), "a", 2);
    rq.mods = two;
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(get(ram + IMAGE_END, 4), IMAGE_END + 0x1000);
    assert_int_equal(get(ram + IMAGE_END + 4, 4), IMAGE_END + 0x1000);
    assert_int_equal(get(ram + IMAGE_END + 16, 4), IMAGE_END + 0x1000);
    assert_int_equal(ram[IMAGE_END + 0x1000], 'x');
}

// 3.5 GiB: 3 GiB below 4 GiB and 512 MiB above; mem_upper stops at the first hole.
static void split_at_4g(void **state)
{
    (void)state;
    struct mbv1_request rq = request(kernel(false), "", 0);
    assert_int_equal(load(&rq, 3584), 0);
    assert_int_equal(info(44), 168);
    assert_int_equal(info(8), 3144576);
    assert_int_equal(get(ram + 0x9000 + 6 * 24 + 4, 8), 1ull << 32);
}

// vmxlab takes the ELF64 file objcopy would turn into the ELF32 one, and loads the same.
static void elf64_as_elf32(void **state)
{
    (void)state;
    struct mbv1_request rq = request(kernel(false), "a=1", 1);
    assert_int_equal(load(&rq, 128), 0);
    struct mbv1_loaded l32 = loaded;
    uint8_t *copy = malloc(0x4000);
    memcpy(copy, ram + TEXT_GPA, 0x4000);
    fresh(NULL);
    rq = request(kernel(true), "a=1", 1);
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.format, MBV1_ELF64);
    loaded.format = MBV1_ELF32;
    assert_memory_equal(&loaded, &l32, sizeof(loaded));
    assert_memory_equal(ram + TEXT_GPA, copy, 0x4000);
    free(copy);
}

// The entry point is a virtual address: where the code segment's differ from its
// physical ones, the kernel starts at the physical address, as QEMU and GRUB start it.
static void entry_moves_with_its_segment(void **state)
{
    (void)state;
    size_t size = kernel(false);
    put(phdr(0) + 8, 0xc0400000, 4); // p_vaddr of the code
    put(img + 24, 0xc0400010, 4);
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.entry, ENTRY);
    put(phdr(0) + 24, 4, 4); // not executable: the entry stays virtual, outside the image
    refused_image(size, "the entry point 0xc0400010 lies in no segment's file bytes");
}

// The address fields: the file from the header's offset less (header_addr - load_addr),
// up to load_end_addr, zeros to bss_end_addr, entry_addr.
static void by_the_address_fields(void **state)
{
    (void)state;
    size_t size = flat();
    memset(ram + AOUT_GPA, 0x55, 0x2000);
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.format, MBV1_AOUT);
    assert_int_equal(loaded.entry, AOUT_GPA + 0x80);
    assert_int_equal(loaded.image_start, AOUT_GPA);
    assert_int_equal(loaded.image_end, AOUT_GPA + 0x1000);
    assert_memory_equal(ram + AOUT_GPA, img, 0x200);
    for (unsigned i = 0x200; i < 0x1000; i++) // the 0xaa bytes past load_end_addr: not loaded
        assert_int_equal(ram[AOUT_GPA + i], 0);
    assert_memory_equal(ram + AOUT_GPA + 0x1000, "startup.elf \0qemu", 18);
    // load_end_addr 0: the file to its end; bss_end_addr 0: no bss.
    fresh(NULL);
    put(img + 0x54, 0, 4);
    put(img + 0x58, 0, 4);
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.image_end, AOUT_GPA + 0x300);
    assert_memory_equal(ram + AOUT_GPA, img, 0x300);
    assert_memory_equal(ram + AOUT_GPA + 0x1000, "startup.elf \0qemu", 18);
    // The header 0x40 bytes into the image, the image 0x20 bytes into the file.
    fresh(NULL);
    flat();
    put(img + 0x50, AOUT_GPA + 0x20, 4);
    assert_int_equal(load(&rq, 128), 0);
    assert_memory_equal(ram + AOUT_GPA + 0x20, img + 0x20, 0x1e0);
    assert_int_equal(ram[AOUT_GPA + 0x1f], 0);
}

// --- Refusals ------------------------------------------------------------------------------

static void no_header(void **state)
{
    (void)state;
    size_t size = kernel(false);
    memset(img + 0x1000, 0, 12);
    refused_image(size, "no multiboot header: no magic 0x1BADB002 at a 4-byte aligned offset "
                        "of the first 8 KiB");
    kernel(false);
    put(img + 0x1008, get(img + 0x1008, 4) + 1, 4);
    refused_image(size, "bad checksum: the multiboot magic 0x1BADB002 at offset 0x1000 has "
                        "magic + flags + checksum = 0x1, not 0 (mod 2^32)");
    kernel(false);
    memset(img + 0x1000, 0, 12);
    header(0x2000, 3); // 12 bytes past the first 8 KiB
    refused_image(0x200c, "no multiboot header in the first 8 KiB: the magic 0x1BADB002 is at "
                          "offset 0x2000, past them");
    header(0x1ff4, 3); // the last offset whose 12 bytes lie in the first 8 KiB: found
    size = 0x2000;
    put(phdr(0) + 4, 0x1ff4, 4);
    put(phdr(0) + 16, 12, 4);
    put(phdr(0) + 20, 12, 4);
    put(phdr(2) + 16, 0, 4);
    put(img + 24, TEXT_GPA, 4);
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
    header(0x1ff8, 3); // cut off by the end of the file
    memset(img + 0x1ff4, 0, 4);
    refused_image(0x2000, "truncated: the multiboot header at offset 0x1ff8 is cut off by the "
                          "end of the 8192-byte file");
    refused_image(0, "no multiboot header");
    // A magic off the 4-byte grid is no header.
    kernel(false);
    memmove(img + 0x1002, img + 0x1000, 12);
    refused_image(0x1110, "no multiboot header:");
}

static void flags_that_are_requirements(void **state)
{
    (void)state;
    size_t size = kernel(false);
    header(0x1000, 7);
    refused_image(size, "the header asks for a video mode (flags bit 2)");
    header(0x1000, 0xb);
    refused_image(size, "the header's flags 0xb require what vmxlab does not know (bits 0x8)");
    header(0x1000, 0x8003);
    refused_image(size, "(bits 0x8000)");
    header(0x1000, 0xfffe0003); // bits 17-31 are optional: ignored
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.header_flags, 0xfffe0003);
}

static void not_a_kernel_vmxlab_takes(void **state)
{
    (void)state;
    size_t size = kernel(false);
    img[1] = 'X';
    refused_image(size, "not an ELF file, and the multiboot header has no address fields");
    kernel(false);
    img[4] = 3;
    refused_image(size, "ELF class 3, neither ELFCLASS32 (1) nor ELFCLASS64 (2)");
    kernel(false);
    img[5] = 2;
    refused_image(size, "ELF data encoding 2, not little-endian (1)");
    kernel(false);
    put(img + 18, 62, 2); // an x32 file
    refused_image(size, "an ELF32 file for machine 62, not i386 (3)");
    kernel(true);
    put(img + 18, 3, 2);
    refused_image(size, "an ELF64 file for machine 3, not x86-64 (62)");
    kernel(false);
    put(img + 16, 1, 2);
    refused_image(size, "ELF type 1, not an executable (2 or 3)");
    kernel(false);
    put(img + 16, 3, 2); // ET_DYN, loaded where it says
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
    kernel(false);
    put(img + 42, 40, 2);
    refused_image(size, "program header size 40, not 32");
    // An ELF32 file of 48 bytes with the multiboot header in them.
    memset(img, 0, sizeof(img));
    memcpy(img, "\x7f" "ELF\x01\x01", 6);
    header(0x20, 3);
    refused_image(48, "truncated: 48 bytes, less than an ELF32 header (52 bytes)");
    img[4] = 2;
    refused_image(48, "truncated: 48 bytes, less than an ELF64 header (64 bytes)");
    kernel(false);
    refused_image(100, "no multiboot header"); // the header lies past the file's end
}

static void truncated_files(void **state)
{
    (void)state;
    size_t size = kernel(false);
    refused_image(size - 1, "truncated: segment 2's 0x10 bytes at offset 0x1100 run past the "
                            "end of the 4367-byte file");
    put(img + 44, 0xffff, 2);
    refused_image(size, "truncated: 65535 program headers at offset 0x34 run past the end of "
                        "the 4368-byte file");
    kernel(true);
    // ELF64: e_phoff + e_phnum * 56 and p_offset + p_filesz past 2^64.
    put(img + 32, UINT64_MAX - 56 + 1, 8);
    refused_image(size, "program headers at offset 0xffffffffffffffc8 run past the end");
    kernel(true);
    put(img + 64 + 8, UINT64_MAX - 15, 8);
    put(img + 64 + 32, 32, 8);
    refused_image(size, "truncated: segment 0's 0x20 bytes at offset 0xfffffffffffffff0");
}

static void segments(void **state)
{
    (void)state;
    size_t size = kernel(false);
    put(phdr(0) + 16, 0x101, 4);
    refused_image(size, "segment 0 has 0x101 file bytes, more than its 0x100 bytes in memory");
    kernel(false);
    put(phdr(0), 4, 4);
    put(phdr(2), 4, 4);
    refused_image(size, "no loadable (PT_LOAD) segment with bytes in memory");
    kernel(false);
    put(phdr(2) + 12, TEXT_GPA + 0x80, 4);
    refused_image(size, "segments 0 (0x400000-0x4000ff) and 2 (0x400080-0x40207f) overlap");
    kernel(false);
    put(phdr(2) + 20, 0, 4); // an empty segment is skipped, as QEMU skips it
    put(phdr(2) + 16, 0, 4);
    put(phdr(2) + 12, TEXT_GPA, 4);
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
    assert_int_equal(loaded.image_end, TEXT_GPA + 0x100);
    // More PT_LOADs than MBV1_MAX_LOADS.
    kernel(false);
    put(img + 44, MBV1_MAX_LOADS + 1, 2);
    put(img + 28, 0x2000, 4);
    for (unsigned i = 0; i <= MBV1_MAX_LOADS; i++) {
        uint8_t *ph = img + 0x2000 + 32 * i;
        put(ph, 1, 4);
        put(ph + 4, 0x1000, 4);
        put(ph + 12, TEXT_GPA + 0x1000 * i, 4);
        put(ph + 16, 0x100, 4);
        put(ph + 20, 0x100, 4);
        put(ph + 24, 5, 4);
    }
    refused_image(0x2000 + 32 * (MBV1_MAX_LOADS + 1), "more than 32 loadable segments");
}

static void entry_point(void **state)
{
    (void)state;
    size_t size = kernel(false);
    put(img + 24, 0x100000, 4);
    refused_image(size, "the entry point 0x100000 lies in no segment's file bytes: the kernel "
                        "would start outside its code");
    put(img + 24, DATA_GPA + 0x10, 4); // in the bss: zeros
    refused_image(size, "the entry point 0x401010 lies in no");
    put(img + 24, DATA_GPA + 0xf, 4); // the last file byte of the data segment
    struct mbv1_request rq = request(size, "", 0);
    assert_int_equal(load(&rq, 128), 0);
}

// Segments must lie in RAM the memory map gives as available, below 4 GiB, off the page
// of the information block.
static void where_segments_may_go(void **state)
{
    (void)state;
    size_t size = kernel(false);
    put(phdr(2) + 20, 200 * MiB, 4);
    refused_image(size, "segment 2's bytes (0x401000-0xcc00fff) run past the end of guest RAM "
                        "at 0x8000000 (guest_mem=128)");
    put(phdr(2) + 20, 0xc0000000, 4);
    struct mbv1_request rq = request(size, "", 0);
    refused(&rq, 3584, "segment 2's bytes (0x401000-0xc0400fff) run past the end of guest RAM "
                       "below 4 GiB at 0xc0000000 (guest_mem=3584)");
    kernel(false);
    kernel(false);
    put(phdr(2) + 12, 0x7fe0000 - 0x10, 4); // into SeaBIOS's tables at the top of 128 MiB
    refused_image(size, "segment 2's bytes (0x7fdfff0-0x7fe1fef) overlap SeaBIOS's tables "
                        "(0x7fe0000-0x7ffffff, reserved in the memory map)");
    put(phdr(2) + 12, 0x9f000, 4);
    refused_image(size, "overlap the EBDA (0x9fc00-0x9ffff, reserved in the memory map)");
    put(phdr(2) + 12, 0xa0000, 4);
    refused_image(size, "segment 2's bytes (0xa0000-0xa1fff) overlap 0xa0000-0xeffff, which is "
                        "not RAM (the VGA window and option ROMs)");
    put(phdr(2) + 12, 0x8000, 4);
    refused_image(size, "segment 2's bytes (0x8000-0x9fff) overlap 0x9000-0x9fff, where the "
                        "memory map and the information block go");
    put(phdr(2) + 12, 0xa000, 4); // just past it, below 640 KiB: fine
    assert_int_equal(load(&rq, 128), 0);
    kernel(true);
    put(img + 64 + 56 * 2 + 24, 0xfffff000, 8);
    refused_image(size, "segment 2 (0x2000 bytes at 0xfffff000) reaches past 4 GiB");
    kernel(true);
    put(img + 64 + 56 * 2 + 24, UINT64_MAX - 0xfff, 8); // p_paddr + p_memsz wraps to 0x1000
    refused_image(size, "reaches past 4 GiB");
}

// What follows the image must fit as well: the list, the strings, the modules.
static void modules_that_do_not_fit(void **state)
{
    (void)state;
    struct mbv1_module big[2] = { { NULL, 100 * MiB, "big.img" }, { NULL, 30 * MiB, "b" } };
    struct mbv1_request rq = request(kernel(false), "", 2);
    rq.mods = big;
    refused(&rq, 128, "the module list, the strings and 2 modules after the image "
                      "(0x403000-0x8603fff) run past the end of guest RAM at 0x8000000");
    big[0].size = SIZE_MAX; // never added up past 2^64
    refused(&rq, 128, "reach past 4 GiB");
    rq.nmods = 1;
    refused(&rq, 8192, "reach past 4 GiB");
    // The image's end so close to the top that the strings cross into SeaBIOS's tables.
    kernel(false);
    put(phdr(2) + 12, 0x7fdd000, 4); // the image ends at 0x7fdf000, the strings after it
    struct mbv1_request edge = request(0x1110, "more words", 0);
    assert_int_equal(load(&edge, 128), 0);
    assert_int_equal(loaded.end, 0x7fdf000 + 28);
    put(phdr(2) + 12, 0x7fdd000 + 0x10, 4); // the strings start at 0x7fe0000
    refused(&edge, 128, "the module list, the strings and 0 modules after the image "
                        "(0x7fe0000-0x7fe001b) overlap SeaBIOS's tables");
}

static void address_fields(void **state)
{
    (void)state;
    size_t size = flat();
    refused_image(0x5c, "truncated: the header's address fields (flags bit 16) at offset 0x4c "
                        "run past the end of the 92-byte file");
    put(img + 0x50, AOUT_GPA + 0x41, 4);
    refused_image(size, "load_addr 0x100041 is above header_addr 0x100040");
    flat();
    put(img + 0x4c, AOUT_GPA + 0x10040, 4);
    refused_image(size, "header_addr - load_addr is 0x10040, more than the header's offset 0x40 "
                        "in the file: the image would start before the file does");
    flat();
    put(img + 0x54, AOUT_GPA - 0x1000, 4);
    refused_image(size, "load_end_addr 0xff000 is below load_addr 0x100000");
    flat();
    put(img + 0x54, AOUT_GPA + 0x301, 4);
    refused_image(size, "truncated: load_end_addr 0x100301 asks for 0x301 bytes from offset 0x0, "
                        "and the 768-byte file has 0x300 there");
    flat();
    put(img + 0x58, AOUT_GPA + 0x1ff, 4);
    refused_image(size, "bss_end_addr 0x1001ff is below load_end_addr 0x100200");
    flat();
    put(img + 0x5c, AOUT_GPA + 0x200, 4); // in the bss
    refused_image(size, "entry_addr 0x100200 lies outside the bytes loaded from the file, "
                        "0x100000 to 0x100200 (load_addr to load_end_addr)");
    put(img + 0x5c, AOUT_GPA - 1, 4);
    refused_image(size, "entry_addr 0xfffff lies outside");
    flat();
    put(img + 0x4c, 0xffffff40, 4);
    put(img + 0x50, 0xffffff00, 4);
    put(img + 0x54, 0, 4);
    put(img + 0x58, 0, 4);
    put(img + 0x5c, 0xffffff80, 4);
    refused_image(size, "the image (0x300 bytes at load_addr 0xffffff00) reaches past 4 GiB");
    put(img + 0x4c, 0xc0040, 4);
    put(img + 0x50, 0xc0000, 4);
    put(img + 0x5c, 0xc0080, 4);
    refused_image(size, "the image's bytes (0xc0000-0xc02ff) overlap 0xa0000-0xeffff, which "
                        "is not RAM");
}

static void guest_ram_sizes(void **state)
{
    (void)state;
    struct mbv1_request rq = request(kernel(false), "", 0);
    assert_int_equal(mbv1_load(&rq, ram, MBV1_MIN_RAM - 4096, &loaded, err, sizeof(err)), -1);
    assert_string_equal(err, "guest RAM of 0x1ff000 bytes: a multiboot guest needs whole pages, "
                             "2 MiB at least");
    assert_int_equal(mbv1_load(&rq, ram, 128 * MiB + 1, &loaded, err, sizeof(err)), -1);
    // 2 MiB: the RAM at 1 MiB is 0x100000-0x1dffff, too small for a kernel at 4 MiB.
    refused(&rq, 2, "run past the end of guest RAM at 0x200000 (guest_mem=2)");
}

// Messages fit any buffer: cut, NUL-terminated.
static void small_error_buffer(void **state)
{
    (void)state;
    size_t size = kernel(false);
    put(img + 24, 0x100000, 4);
    struct mbv1_request rq = request(size, "", 0);
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(mbv1_load(&rq, ram, 128 * MiB, &loaded, small, sizeof(small)), -1);
    assert_string_equal(small, "the ent");
}

// --- Which loader: multiboot, or the vmxlab guest loader (hv/elf.c) -------------------------

static void which_loader(void **state)
{
    (void)state;
    size_t size = kernel(false);
    assert_true(mbv1_is_multiboot(img, size));
    put(img + 0x1008, 0, 4); // bad checksum: still the multiboot loader's, to say so
    assert_true(mbv1_is_multiboot(img, size));
    memset(img + 0x1000, 0, 12); // an ELF32 without the magic: the vmxlab loader's
    assert_false(mbv1_is_multiboot(img, size));
    header(0x2000, 3); // past 8 KiB of a file that is no ELF64: the multiboot loader's
    assert_true(mbv1_is_multiboot(img, 0x200c));
    kernel(true);
    assert_true(mbv1_is_multiboot(img, size));
    memset(img + 0x1000, 0, 12);
    header(0x2000, 3); // past 8 KiB of an ELF64: a vmxlab guest that holds the number
    assert_false(mbv1_is_multiboot(img, 0x200c));
    memmove(img + 0x1002, img + 0x2000, 12); // off the 4-byte grid
    memset(img + 0x2000, 0, 12);
    assert_false(mbv1_is_multiboot(img, 0x200c));
    assert_false(mbv1_is_multiboot(img, 0));
    assert_false(mbv1_is_multiboot((const uint8_t *)"\x02\xb0\xad\x1b", 3));
    assert_true(mbv1_is_multiboot((const uint8_t *)"\x02\xb0\xad\x1b", 4));
}

// --- A multiboot guest's pieces among GRUB's modules (mbreq.c) -------------------------------

static struct mb_info bi;

static void module(const char *string, const void *data, size_t size)
{
    bi.mods[bi.mod_count++] = (struct mb_module){ (uintptr_t)data, (uintptr_t)data + size,
                                                  string };
}

static int gather(const char *name, struct mbv1_request *rq, struct mbv1_module *out,
                  unsigned max)
{
    return mbv1_request_from_modules(&bi, name, rq, out, max, err, sizeof(err));
}

static void request_from_grub_modules(void **state)
{
    (void)state;
    // GRUB's modules lie below 4 GiB: so do these, at an address of their own.
    char *low = mmap((void *)0x40000000, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    assert_ptr_equal(low, (void *)0x40000000);
    char *k = low, *e = low + 16, *w = low + 32, *o = low + 48;
    memset(&bi, 0, sizeof(bi));
    module("k.elf:env.txt greeting=hello", e, 3); // before its kernel: order is GRUB's
    module("k.elf exit=0 mode=full", k, 6);
    module("k.elf.old", o, 5);                    // another guest, whose name starts alike
    module("k", o, 5);
    module("k.elf:words.txt", w, 5);
    struct mbv1_request rq;
    struct mbv1_module out[4];
    assert_int_equal(gather("k.elf", &rq, out, 4), 0);
    assert_ptr_equal(rq.image, k);
    assert_int_equal(rq.size, 6);
    assert_string_equal(rq.name, "k.elf");
    assert_string_equal(rq.args, "exit=0 mode=full");
    assert_int_equal(rq.nmods, 2);
    assert_ptr_equal(rq.mods, out);
    assert_ptr_equal(out[0].data, e);
    assert_int_equal(out[0].size, 3);
    assert_string_equal(out[0].string, "env.txt greeting=hello");
    assert_ptr_equal(out[1].data, w);
    assert_string_equal(out[1].string, "words.txt");
    assert_int_equal(gather("k", &rq, out, 4), 0); // "k.elf..." is not k's
    assert_ptr_equal(rq.image, o);
    assert_string_equal(rq.args, "");
    assert_int_equal(rq.nmods, 0);
    assert_int_equal(gather("k.elf", &rq, out, 1), -1);
    assert_string_equal(err, "'k.elf' has more than 1 modules");
    assert_int_equal(gather("x", &rq, out, 4), -1);
    assert_string_equal(err, "no GRUB module named 'x' (a kernel's string is 'NAME ARGS', its "
                             "modules' 'NAME:FILE ARGS')");
    module("k extra", o, 5);
    assert_int_equal(gather("k", &rq, out, 4), -1);
    assert_string_equal(err, "2 GRUB modules are named 'k', so vmxlab cannot tell which one to "
                             "run: give each module its own name");
    module("k.elf: x", o, 5);
    assert_int_equal(gather("k.elf", &rq, out, 4), -1);
    assert_string_equal(err, "GRUB module 6's string names no file after 'k.elf:'");
    bi.mods[6].cmdline = "k.elf:";
    assert_int_equal(gather("k.elf", &rq, out, 4), -1);
    bi.mods[6] = (struct mb_module){ 0xfffff000, 0x100001000, "k.elf:high" };
    assert_int_equal(gather("k.elf", &rq, out, 4), -1);
    assert_string_equal(err, "GRUB put module 2 of 'k.elf' at 0xfffff000-0x100001000, above the "
                             "4 GiB vmxlab maps");
    bi.mods[6] = (struct mb_module){ 0xfffff000, 0x100001000, "k.elf" };
    bi.mods[1].cmdline = "k.elf.not";
    assert_int_equal(gather("k.elf", &rq, out, 4), -1);
    assert_string_equal(err, "GRUB put the kernel at 0xfffff000-0x100001000, above the 4 GiB "
                         "vmxlab maps");
    bi.mods_ignored = 1;
    assert_int_equal(gather("k", &rq, out, 4), -1);
    assert_string_equal(err, "GRUB loaded 1 modules more than the 8 vmxlab reads (MB_MAX_MODS): "
                             "some of 'k's may be among them");
    munmap(low, 4096);
}

#define T(f) cmocka_unit_test_setup(f, fresh)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(memory_maps_as_measured),   T(information_block_as_qemu_writes_it),
        T(no_arguments_no_modules),   T(empty_module),
        T(split_at_4g),               T(elf64_as_elf32),
        T(entry_moves_with_its_segment), T(by_the_address_fields),
        T(no_header),                 T(flags_that_are_requirements),
        T(not_a_kernel_vmxlab_takes), T(truncated_files),
        T(segments),                  T(entry_point),
        T(where_segments_may_go),     T(modules_that_do_not_fit),
        T(address_fields),            T(guest_ram_sizes),
        T(small_error_buffer),        T(which_loader),
        T(request_from_grub_modules),
    };
    return cmocka_run_group_tests_name("multiboot", tests, setup, teardown);
}
