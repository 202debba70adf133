// fuzz_mb1.c: libFuzzer harness for mb1_parse() (boot/mb.c), the multiboot v1
// information QEMU's -kernel leaves at EBX: a struct of 32-bit physical
// addresses. The harness lays out the loader's memory from the input below
// 2 GiB, each piece the parser may read ending just before an unmapped page,
// so reading one byte more than the info describes faults; it then checks
// that what was accepted is what the info says (memory regions: from an
// entry's start to an entry's end, as merged). Run by `make fuzz`/`make test`.
//
// Input: the info struct (mb1_info, 116 bytes; zero past the input's end),
// then, taken in this order from the rest as the flags ask for them:
// min(mods_count, MB_MAX_MODS) module entries of 16 bytes, so that reading an
// entry past those the parser keeps faults; mmap_length bytes of memory
// map (more than 64 KiB: input skipped); NUL-terminated strings for the
// command line, the loader's name and each module, for each address field
// that is not 0. The harness writes the real addresses into those fields.
#include <sys/mman.h>

#include "fuzz.h"

#include "../../boot/boot.h"
#include "mb_check.h"

#define ERRLEN 160 // kmain()'s buffer
#define PAGE 4096
#define MODS_MAX MB_MAX_MODS // entries laid out: those beyond must not be read
#define MMAP_MAX 65536
#define STR_MAX (PAGE - 1)

// Field offsets, multiboot 0.6.96 section 3.3.
enum {
    O_FLAGS = 0, O_CMDLINE = 16, O_MODS_COUNT = 20, O_MODS_ADDR = 24, O_MMAP_LENGTH = 44,
    O_MMAP_ADDR = 48, O_LOADER = 64, O_FB = 88, O_FB_TYPE = 109, O_RGB = 110, INFO_SIZE = 116,
};
#define F_CMDLINE (1u << 2)
#define F_MODS (1u << 3)
#define F_MMAP (1u << 6)
#define F_LOADER (1u << 9)
#define F_FB (1u << 12)

// The arena: slots of data pages, each followed by an unmapped guard page.
enum { SLOT_INFO, SLOT_MODS, SLOT_MMAP, SLOT_STR, NSLOTS = SLOT_STR + 2 + MODS_MAX };
static uint8_t *slot_end[NSLOTS];

static void arena_init(void)
{
    size_t pages[NSLOTS], total = 1; // a guard page first
    for (int i = 0; i < NSLOTS; i++) {
        pages[i] = i == SLOT_MMAP ? MMAP_MAX / PAGE : 1;
        total += pages[i] + 1;
    }
    uint8_t *a = mmap(NULL, total * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                      -1, 0);
    check(a != MAP_FAILED, "no memory below 2 GiB");
    uint8_t *p = a + PAGE;
    for (int i = 0; i < NSLOTS; i++) {
        check(!mprotect(p, pages[i] * PAGE, PROT_READ | PROT_WRITE), "mprotect");
        p += pages[i] * PAGE;
        slot_end[i] = p;
        p += PAGE;
    }
}

// The input, consumed front to back; zero bytes once it runs out.
struct cursor {
    const uint8_t *d;
    size_t size, at;
};

static const uint8_t *place(int slot, struct cursor *c, size_t n)
{
    uint8_t *p = slot_end[slot] - n;
    for (size_t i = 0; i < n; i++, c->at++)
        p[i] = c->at < c->size ? c->d[c->at] : 0;
    return p;
}

static const char *place_string(int slot, struct cursor *c)
{
    size_t n = 0;
    while (c->at + n < c->size && c->d[c->at + n] && n < STR_MAX)
        n++;
    char *p = (char *)slot_end[slot] - n - 1;
    memcpy(p, c->d + c->at, n);
    p[n] = '\0';
    c->at += n + (c->at + n < c->size); // past the NUL, if there was one
    return p;
}

static uint32_t addr32(const void *p)
{
    return (uint32_t)(uintptr_t)p;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

// An entry of the map: size (4 bytes), then base, length and type, all
// inside mmap_length, at any offset (the size fields decide).
static const uint8_t *map;
static size_t map_length;

static bool entry_edge(uint64_t at, uint32_t type, bool end)
{
    for (size_t off = 0; off + 24 <= map_length; off++) {
        uint64_t base = le_at(map, map_length, off + 4, 8);
        if (le_at(map, map_length, off + 20, 4) == type &&
            (end ? base + le_at(map, map_length, off + 12, 8) : base) == at)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        arena_init();
        ready = true;
    }
    uint32_t flags = le_at(data, size, O_FLAGS, 4);
    uint32_t mods_count = le_at(data, size, O_MODS_COUNT, 4);
    uint32_t mmap_length = le_at(data, size, O_MMAP_LENGTH, 4);
    uint8_t fb_type = le_at(data, size, O_FB_TYPE, 1);
    if ((flags & F_MMAP) && mmap_length > MMAP_MAX)
        return 0;

    // The struct reaches only as far as the flags say: the framebuffer
    // fields with bit 12, the colour fields for an RGB one.
    size_t info_size = !(flags & F_FB) ? O_FB : fb_type == 1 ? INFO_SIZE : O_RGB;
    struct cursor c = { data, size, 0 };
    uint8_t *info = (uint8_t *)place(SLOT_INFO, &c, info_size);
    c.at = INFO_SIZE;

    unsigned nmods = 0;
    uint8_t *mods = NULL;
    if (flags & F_MODS) {
        nmods = mods_count < MODS_MAX ? mods_count : MODS_MAX;
        mods = (uint8_t *)place(SLOT_MODS, &c, nmods * 16);
        put32(info + O_MODS_ADDR, addr32(mods));
    }
    const uint8_t *mmap_data = NULL;
    if (flags & F_MMAP) {
        mmap_data = place(SLOT_MMAP, &c, mmap_length);
        put32(info + O_MMAP_ADDR, addr32(mmap_data));
    }
    const char *cmdline = NULL, *loader = NULL, *mod_str[MODS_MAX] = { 0 };
    if ((flags & F_CMDLINE) && le_at(info, info_size, O_CMDLINE, 4)) {
        cmdline = place_string(SLOT_STR, &c);
        put32(info + O_CMDLINE, addr32(cmdline));
    }
    if ((flags & F_LOADER) && le_at(info, info_size, O_LOADER, 4)) {
        loader = place_string(SLOT_STR + 1, &c);
        put32(info + O_LOADER, addr32(loader));
    }
    for (unsigned i = 0; i < nmods; i++) {
        if (le_at(mods, nmods * 16, i * 16 + 8, 4)) {
            mod_str[i] = place_string(SLOT_STR + 2 + i, &c);
            put32(mods + i * 16 + 8, addr32(mod_str[i]));
        }
    }

    struct mb_info mb;
    char err[ERRLEN];
    memset(&mb, 0xa5, sizeof(mb));
    memset(err, 0x5a, sizeof(err));
    int rc = mb1_parse(info, &mb, err, sizeof(err));
    check(rc == 0 || rc == -1, "returned %d", rc);
    if (rc) {
        check_refusal(err, sizeof(err));
        return 0;
    }

    // Accepted: exactly what the info says, nothing from anywhere else.
    check(cmdline ? mb.cmdline == cmdline : mb.cmdline && !*mb.cmdline,
          "the command line is not the one the info points to");
    check(loader ? mb.loader == loader : mb.loader && !*mb.loader,
          "the loader name is not the one the info points to");
    // The first MB_MAX_MODS modules are read, the others only counted.
    uint32_t given = (flags & F_MODS) ? mods_count : 0;
    check(mb.mod_count == (given < MB_MAX_MODS ? given : MB_MAX_MODS) &&
          mb.mod_count + mb.mods_ignored == given, "%u modules read and %u ignored, the info "
          "says %u", mb.mod_count, mb.mods_ignored, given);
    for (unsigned i = 0; i < mb.mod_count; i++) {
        const struct mb_module *m = &mb.mods[i];
        check(m->start == le_at(mods, nmods * 16, i * 16, 4) &&
              m->end == le_at(mods, nmods * 16, i * 16 + 4, 4), "module %u moved", i);
        check(m->start <= m->end, "module %u ends before it starts", i);
        check(mod_str[i] ? m->cmdline == mod_str[i] : m->cmdline && !*m->cmdline,
              "module %u's string is not the one its entry points to", i);
    }
    check(mmap_data || !mb.mmap_count, "memory regions without a memory map");
    map = mmap_data;
    map_length = (flags & F_MMAP) ? mmap_length : 0;
    check_mmap(&mb, entry_edge);
    check(mb.info_start == (uintptr_t)info && mb.info_end == (uintptr_t)info + INFO_SIZE,
          "the info struct is not where it was");
    check(mb.has_fb == !!(flags & F_FB), "a framebuffer %s, flags 0x%x",
          mb.has_fb ? "made up" : "dropped", flags);
    if (mb.has_fb) {
        check(mb.fb.addr == le_at(info, info_size, O_FB, 8) && mb.fb.type == fb_type,
              "the framebuffer moved");
        check_fb(&mb.fb);
    }
    check(!mb.rsdp && !mb.rsdp_v && !mb.efi, "multiboot v1 says nothing of ACPI or EFI");
    return 0;
}
