// fuzz_elf.c: libFuzzer harness for elf_load() (hv/elf.c), the guest loader,
// with guest RAM of the size guest_run() gives it. The input is the ELF file,
// read from an exact-size heap copy. A reference of the rules elf.c states
// (in 128-bit arithmetic, where nothing wraps) says whether the image must
// load; a refused image runs against read-only RAM, so any write faults; a
// loaded one must leave RAM exactly as its segments say, nothing outside
// them. Guard pages fence RAM. Run by `make fuzz` and `make test`.
#include <sys/mman.h>

#include "fuzz.h"

#include "../../hv/hv.h"
#include "../../guest/abi.h"

#define RAM GUEST_RAM_SIZE
#define PAGE 4096
#define FILL 0xa5 // RAM's bytes before a load: no segment byte may be mistaken for one
#define ERRLEN 160 // guest_run()'s buffer

typedef unsigned __int128 u128;

static uint8_t *ram, *want; // guest RAM, and what it must hold after a load

static uint8_t *fenced(size_t size)
{
    uint8_t *p = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap");
    check(!mprotect(p + PAGE, size, PROT_READ | PROT_WRITE), "mprotect");
    memset(p + PAGE, FILL, size);
    return p + PAGE;
}

// ELF-64 (Object File Format 1.5): must the image load into RAM bytes?
static bool must_load(const uint8_t *img, size_t size, uint64_t *entry)
{
    if (size < 64 || memcmp(img, "\x7f" "ELF", 4) || img[4] != 2 || img[5] != 1 ||
        le_at(img, size, 16, 2) != 2 || le_at(img, size, 18, 2) != 62 ||
        le_at(img, size, 54, 2) != 56)
        return false;
    uint64_t phoff = le_at(img, size, 32, 8), phnum = le_at(img, size, 56, 2);
    *entry = le_at(img, size, 24, 8);
    if ((u128)phoff + (u128)phnum * 56 > size)
        return false;
    unsigned loads = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        size_t ph = phoff + i * 56;
        if (le_at(img, size, ph, 4) != 1)
            continue;
        loads++;
        u128 off = le_at(img, size, ph + 8, 8), paddr = le_at(img, size, ph + 24, 8);
        u128 filesz = le_at(img, size, ph + 32, 8), memsz = le_at(img, size, ph + 40, 8);
        if (filesz > memsz || off + filesz > size || paddr + memsz > RAM)
            return false;
    }
    return loads && *entry < RAM;
}

// Each PT_LOAD's file bytes, in order, or FILL where RAM already had it.
static void apply(const uint8_t *img, size_t size, uint8_t *mem, bool restore)
{
    uint64_t phoff = le_at(img, size, 32, 8), phnum = le_at(img, size, 56, 2);
    for (uint64_t i = 0; i < phnum; i++) {
        size_t ph = phoff + i * 56;
        if (le_at(img, size, ph, 4) != 1)
            continue;
        uint64_t off = le_at(img, size, ph + 8, 8), paddr = le_at(img, size, ph + 24, 8);
        uint64_t filesz = le_at(img, size, ph + 32, 8);
        if (restore)
            memset(mem + paddr, FILL, filesz);
        else
            memcpy(mem + paddr, img + off, filesz);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram) {
        ram = fenced(RAM);
        want = fenced(RAM);
    }
    uint8_t *img = malloc(size ? size : 1);
    memcpy(img, data, size);
    char err[ERRLEN];
    memset(err, 0x5a, sizeof(err));
    uint64_t entry = 0, ref_entry = 0;
    bool load = must_load(img, size, &ref_entry);

    if (!load) { // read-only: a refusal must not have written a byte
        check(!mprotect(ram, RAM, PROT_READ), "mprotect");
        int rc = elf_load(img, size, ram, RAM, &entry, err, sizeof(err));
        check(!mprotect(ram, RAM, PROT_READ | PROT_WRITE), "mprotect");
        check(rc == -1, "an image the rules refuse was loaded (returned %d)", rc);
        check_refusal(err, sizeof(err));
    } else {
        int rc = elf_load(img, size, ram, RAM, &entry, err, sizeof(err));
        check(rc == 0, "an image the rules accept was refused: %s", rc ? err : "");
        check(entry == ref_entry, "entry 0x%llx, the header says 0x%llx",
              (unsigned long long)entry, (unsigned long long)ref_entry);
        apply(img, size, want, false);
        check(!memcmp(ram, want, RAM), "guest RAM after the load is not what the segments say");
        apply(img, size, ram, true);
        apply(img, size, want, true);
    }
    free(img);
    return 0;
}
