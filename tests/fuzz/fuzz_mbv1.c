// fuzz_mbv1.c: libFuzzer harness for mbv1_plan() and mbv1_load() (hv/run/multiboot.c),
// the multiboot kernel loader. The input is the kernel file, read from an exact-size heap
// copy; its command line is fixed ("fuzz.elf a=1 b") and so are its two modules, one of 41
// bytes and one empty; guest RAM is 128 MiB (QEMU's default), or 6 MiB for inputs of odd
// length. Guard pages fence RAM, and only the pages the plan names are writable: a refused
// kernel runs against read-only RAM; a loaded one must write nothing else, start inside
// its image, and leave the information block, memory map, list, strings and modules the
// plan promised. Run by `make fuzz` and `make test`.
#include <sys/mman.h>

#include "fuzz.h"

#include "../../hv/run/multiboot.h"

#define MiB (1ull << 20)
#define RAM (128 * MiB)
#define PAGE 4096ull
#define ERRLEN 160 // as guest_run()'s buffer for elf_load()

static uint8_t *ram;
static const char env[] = "greeting=hello from a module\nsecond=22\nx\n";
static const struct mbv1_module mods[2] = {
    { (const uint8_t *)env, sizeof(env) - 1, "env.txt greeting=hello" },
    { NULL, 0, "empty.txt" },
};

static uint32_t u32(uint64_t gpa) { return (uint32_t)le_at(ram, RAM, gpa, 4); }

// Makes [start, end) of RAM writable (open) or read-only again, zero and unbacked.
static void pages(uint64_t start, uint64_t end, bool open)
{
    start &= ~(PAGE - 1);
    end = ALIGN_UP(end, PAGE);
    if (start >= end)
        return;
    if (!open)
        check(!madvise(ram + start, end - start, MADV_DONTNEED), "madvise");
    check(!mprotect(ram + start, end - start, open ? PROT_READ | PROT_WRITE : PROT_READ),
          "mprotect");
}

// What the loaded kernel finds (the spec, 3.3; QEMU's layout): every promise of the plan.
static void check_loaded(const struct mbv1_loaded *l, uint64_t ram_size)
{
    uint64_t tail = ALIGN_UP(l->image_end, PAGE);
    struct mbv1_region map[MBV1_MAX_REGIONS];
    unsigned n = mbv1_memory_map(ram_size, map);
    check(l->image_start < l->image_end && l->image_end <= tail && tail <= l->end &&
          l->end <= mbv1_ram_below_4g(ram_size), "layout 0x%x-0x%x, end 0x%x",
          l->image_start, l->image_end, l->end);
    check(l->entry >= l->image_start && l->entry < l->image_end, "entry 0x%x outside the "
          "image 0x%x-0x%x", l->entry, l->image_start, l->image_end);
    // The image may have segments on both sides of the information page (place() keeps
    // each segment off it; test_multiboot.c's refused cases): its span is no promise.
    check(l->info == MBV1_INFO_GPA && u32(l->info) == MBV1_INFO_FLAGS &&
          u32(l->info + 20) == 2 && u32(l->info + 24) == tail &&
          u32(l->info + 44) == MBV1_MMAP_ENTRY * n && u32(l->info + 48) == MBV1_MMAP_GPA,
          "information block");
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = MBV1_MMAP_GPA + MBV1_MMAP_ENTRY * i;
        check(u32(e) == 20 && le_at(ram, RAM, e + 4, 8) == map[i].base &&
              le_at(ram, RAM, e + 12, 8) == map[i].len && u32(e + 20) == map[i].type,
              "memory map entry %u", i);
    }
    check(!strcmp((char *)ram + u32(l->info + 16), "fuzz.elf a=1 b") &&
          !strcmp((char *)ram + u32(l->info + 64), "qemu"), "command line, loader name");
    for (unsigned i = 0; i < 2; i++) {
        uint32_t start = u32(tail + 16 * i), end = u32(tail + 16 * i + 4);
        check(!(start & (PAGE - 1)) && start >= tail && end - start == mods[i].size &&
              end <= l->end && !memcmp(ram + start, mods[i].data ? mods[i].data : ram, end -
              start) && !strcmp((char *)ram + u32(tail + 16 * i + 8), mods[i].string),
              "module %u", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram) { // RAM between two guard pages, read-only until the plan opens some of it
        uint8_t *p = mmap(NULL, RAM + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        check(p != MAP_FAILED, "mmap");
        ram = p + PAGE;
        pages(0, RAM, false);
    }
    uint64_t ram_size = size & 1 ? 6 * MiB : RAM;
    uint8_t *img = malloc(size ? size : 1);
    memcpy(img, data, size);
    struct mbv1_request rq = { img, size, "fuzz.elf", "a=1 b", mods, 2 };
    struct mbv1_loaded plan, got;
    char err[ERRLEN], err2[ERRLEN];
    memset(err, 0x5a, sizeof(err));
    int planned = mbv1_plan(&rq, ram_size, &plan, err, sizeof(err));
    if (planned) {
        check_refusal(err, sizeof(err));
        check(mbv1_load(&rq, ram, ram_size, &got, err2, sizeof(err2)) == -1 &&
              !strcmp(err, err2), "the load says otherwise than the plan: '%s'", err2);
    } else {
        uint64_t tail = ALIGN_UP(plan.image_end, PAGE);
        pages(plan.image_start, plan.image_end, true);
        pages(MBV1_MMAP_GPA, MBV1_INFO_PAGE_END, true);
        pages(tail, plan.end, true);
        check(!mbv1_load(&rq, ram, ram_size, &got, err2, sizeof(err2)) &&
              !memcmp(&plan, &got, sizeof(plan)), "the plan held, the load refused: '%s'", err2);
        check_loaded(&got, ram_size);
        pages(plan.image_start, plan.image_end, false);
        pages(MBV1_MMAP_GPA, MBV1_INFO_PAGE_END, false);
        pages(tail, plan.end, false);
    }
    free(img);
    return 0;
}
