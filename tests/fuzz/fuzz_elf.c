// fuzz_elf.c: libFuzzer harness for elf_load() (hv/run/elf.c), the guest loader,
// with guest RAM of the size guest_run() gives it. The input is the ELF file,
// read from an exact-size heap copy. A reference of the rules elf.c states
// (in 128-bit arithmetic, where nothing wraps) says whether the image must
// load; a refused image runs against read-only RAM, so any write faults; a
// loaded one must leave RAM exactly as its segments say, nothing outside
// them. Guard pages fence RAM. Run by `make fuzz` and `make test`.
#include <sys/mman.h>

#include "fuzz.h"

#include "../../hv/run/internal.h"
#include "../../guest/abi.h"

#define RAM GUEST_RAM_SIZE
#define PAGE 4096
#define ERRLEN 160 // guest_run()'s buffer

typedef unsigned __int128 u128;

static uint8_t *ram, *want; // guest RAM, and what it must hold after a load

static uint8_t *fenced(size_t size)
{
    uint8_t *p = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "mmap");
    check(!mprotect(p + PAGE, size, PROT_READ | PROT_WRITE), "mprotect");
    return p + PAGE; // zero, as guest_run() leaves RAM, and not yet backed by pages

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
    bool in_code = false; // the entry is a file byte of a PF_X segment
    for (uint64_t i = 0; i < phnum; i++) {
        size_t ph = phoff + i * 56;
        if (le_at(img, size, ph, 4) != 1)
            continue;
        loads++;
        u128 off = le_at(img, size, ph + 8, 8), paddr = le_at(img, size, ph + 24, 8);
        u128 filesz = le_at(img, size, ph + 32, 8), memsz = le_at(img, size, ph + 40, 8);
        if (filesz > memsz || off + filesz > size || paddr + memsz > RAM)
            return false;
        if ((le_at(img, size, ph + 4, 4) & 1) && paddr <= *entry && *entry < paddr + filesz)
            in_code = true;
    }
    return loads && *entry < RAM && in_code;
}

// What to do with each PT_LOAD of an image that must load, in file order.
enum step { COPY, RESTORE, OPEN, COMPARE };

static void each_load(const uint8_t *img, size_t size, enum step step)
{
    uint64_t phoff = le_at(img, size, 32, 8), phnum = le_at(img, size, 56, 2);
    for (uint64_t i = 0; i < phnum; i++) {
        size_t ph = phoff + i * 56;
        if (le_at(img, size, ph, 4) != 1)
            continue;
        uint64_t off = le_at(img, size, ph + 8, 8), paddr = le_at(img, size, ph + 24, 8);
        uint64_t filesz = le_at(img, size, ph + 32, 8);
        uint64_t first = paddr & ~(uint64_t)(PAGE - 1);
        uint64_t pages = ALIGN_UP(paddr + filesz, PAGE) - first; // bytes of whole pages
        if (!filesz)
            continue;
        if (step == COPY) // where the loader must write: in want
            memcpy(want + paddr, img + off, filesz);
        if (step == RESTORE) { // zero again, and unbacked: mprotect stays cheap
            check(!madvise(want + first, pages, MADV_DONTNEED), "madvise");
            check(!madvise(ram + first, pages, MADV_DONTNEED), "madvise");
        }
        if (step == OPEN) // the pages it may write: writable
            check(!mprotect(ram + first, pages, PROT_READ | PROT_WRITE), "mprotect");
        if (step == COMPARE) // the rest is read-only, so unchanged if there was no fault
            check(!memcmp(ram + first, want + first, pages), "guest RAM around 0x%llx is not "
                  "what the segments say", (unsigned long long)paddr);
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

    // RAM is read-only but for the pages the segments' file bytes go to.
    check(!mprotect(ram, RAM, PROT_READ), "mprotect");
    if (load)
        each_load(img, size, OPEN);
    int rc = elf_load(img, size, ram, RAM, &entry, err, sizeof(err));
    check(!mprotect(ram, RAM, PROT_READ | PROT_WRITE), "mprotect");
    if (!load) {
        check(rc == -1, "an image the rules refuse was loaded (returned %d)", rc);
        check_refusal(err, sizeof(err));
    } else {
        check(rc == 0, "an image the rules accept was refused: %s", rc ? err : "");
        check(entry == ref_entry, "entry 0x%llx, the header says 0x%llx",
              (unsigned long long)entry, (unsigned long long)ref_entry);
        each_load(img, size, COPY);
        each_load(img, size, COMPARE);
        each_load(img, size, RESTORE);
    }
    free(img);
    return 0;
}
