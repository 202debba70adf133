// test_elf.c: the guest loader (hv/run/elf.c) against images built here byte by
// byte: a good one loads exactly its segments, and each way an image can be
// wrong is refused with a message that names it, leaving guest RAM untouched.
// The wrapping cases are the ones a crafted image used to copy host memory
// into guest RAM and its own bytes over the hypervisor: p_paddr + p_memsz and
// p_offset + p_filesz past 2^64, e_phoff + e_phnum * 56 likewise.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../hv/run/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define RAM (4u << 20)
static uint8_t *ram;
static uint8_t img[8192];
static char err[200];

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

// A valid image: header, two program headers (a PT_LOAD, readable and
// executable, of 16 file bytes at GPA 0x100000 with 64 bytes in memory, and
// a PT_NOTE), and the 16 bytes. The entry point is the PT_LOAD's 17th byte.
static size_t good_image(void)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "\x7f" "ELF", 4);
    img[4] = 2; // ELFCLASS64
    img[5] = 1; // little-endian
    img[6] = 1; // version
    put(img + 16, 2, 2);        // ET_EXEC
    put(img + 18, 62, 2);       // EM_X86_64
    put(img + 24, 0x10000f, 8); // e_entry: the last file byte
    put(img + 32, 64, 8);       // e_phoff
    put(img + 54, 56, 2);       // e_phentsize
    put(img + 56, 2, 2);        // e_phnum
    uint8_t *ph = img + 64;
    put(ph, 1, 4);              // PT_LOAD
    put(ph + 4, 5, 4);          // p_flags: PF_R | PF_X
    put(ph + 8, 0x1000, 8);     // p_offset
    put(ph + 24, 0x100000, 8);  // p_paddr
    put(ph + 32, 16, 8);        // p_filesz
    put(ph + 40, 64, 8);        // p_memsz
    put(ph + 56, 4, 4);         // PT_NOTE: skipped
    memcpy(img + 0x1000, "vmxlab guest 123", 16);
    return 0x1010;
}

static uint8_t *phdr(unsigned i)
{
    return img + 64 + 56 * i;
}

static int load(size_t size, uint64_t *entry)
{
    memset(err, 0, sizeof(err));
    return elf_load(img, size, ram, RAM, entry, err, sizeof(err));
}

static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM);
    return ram ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

static bool ram_untouched(void)
{
    for (size_t i = 0; i < RAM; i++)
        if (ram[i] != 0xee)
            return false;
    return true;
}

// The image must be refused, with a message containing `words`, and RAM unchanged.
static void refused(size_t size, const char *words)
{
    uint64_t entry = 0xdead;
    memset(ram, 0xee, RAM);
    assert_int_equal(load(size, &entry), -1);
    if (!strstr(err, words))
        fail_msg("message '%s' does not say '%s'", err, words);
    assert_true(entry == 0xdead);
    assert_true(ram_untouched());
}

static void loads_its_segment_and_nothing_else(void **state)
{
    (void)state;
    size_t size = good_image();
    memset(ram, 0, RAM);
    uint64_t entry = 0;
    assert_int_equal(load(size, &entry), 0);
    assert_true(entry == 0x10000f);
    assert_memory_equal(ram + 0x100000, "vmxlab guest 123", 16);
    for (size_t i = 0; i < RAM; i++)
        if (i < 0x100000 || i >= 0x100010)
            assert_int_equal(ram[i], 0); // p_memsz beyond p_filesz stays zero
}

static void wrong_kind_of_file(void **state)
{
    (void)state;
    size_t size = good_image();
    refused(63, "truncated: 63 bytes");
    img[1] = 'X';
    refused(size, "not an ELF file");
    good_image();
    img[4] = 1;
    refused(size, "ELF class 1, not ELFCLASS64");
    good_image();
    img[5] = 2;
    refused(size, "not little-endian");
    good_image();
    put(img + 18, 3, 2); // EM_386
    refused(size, "machine 3, not x86-64");
    good_image();
    put(img + 16, 3, 2); // ET_DYN
    refused(size, "ELF type 3, not an executable");
    good_image();
    put(img + 54, 64, 2);
    refused(size, "program header size 64");
}

static void program_headers_outside_the_file(void **state)
{
    (void)state;
    size_t size = good_image();
    refused(64 + 56, "truncated: 2 program headers"); // the second is cut off
    put(img + 32, size + 1, 8);
    refused(size, "run past the end");
    good_image();
    // e_phoff + e_phnum * 56 wraps past 2^64 to 64: must not be read there.
    put(img + 32, UINT64_MAX - 2 * 56 + 1 + 64, 8);
    refused(size, "run past the end");
    good_image();
    put(img + 56, 0xffff, 2);
    refused(size, "truncated: 65535 program headers");
}

static void segments_outside_the_file(void **state)
{
    (void)state;
    size_t size = good_image();
    put(phdr(0) + 32, size - 0x1000 + 1, 8); // one byte more than the file holds
    put(phdr(0) + 40, 0x2000, 8);
    refused(size, "segment 0's");
    good_image();
    // p_offset + p_filesz wraps: offset 2^64 - 16, 32 bytes (reads before img).
    put(phdr(0) + 8, UINT64_MAX - 15, 8);
    put(phdr(0) + 32, 32, 8);
    refused(size, "run past the end of the");
    good_image();
    put(phdr(0) + 8, UINT64_MAX, 8);
    put(phdr(0) + 32, 1, 8);
    refused(size, "run past the end of the");
    good_image();
    put(phdr(0) + 32, 65, 8); // filesz > memsz
    refused(size, "more than its 64 bytes in memory");
}

static void segments_outside_guest_ram(void **state)
{
    (void)state;
    size_t size = good_image();
    put(phdr(0) + 24, RAM - 63, 8); // 64 bytes from 1 byte short of the end
    refused(size, "outside guest RAM");
    good_image();
    put(phdr(0) + 24, RAM, 8);
    put(phdr(0) + 40, 16, 8);
    refused(size, "outside guest RAM");
    good_image();
    // p_paddr + p_memsz wraps: 2^64 - 0x1000 + 0x2000 = 0x1000, "inside" RAM.
    put(phdr(0) + 24, UINT64_MAX - 0xfff, 8);
    put(phdr(0) + 40, 0x2000, 8);
    refused(size, "outside guest RAM");
    good_image();
    put(phdr(0) + 24, 0, 8);
    put(phdr(0) + 40, UINT64_MAX, 8);
    refused(size, "outside guest RAM");
    // The last byte of RAM is fine.
    good_image();
    put(phdr(0) + 24, RAM - 64, 8);
    put(img + 24, RAM - 64, 8);
    uint64_t entry;
    assert_int_equal(load(size, &entry), 0);
}

static void a_bad_later_segment_loads_nothing(void **state)
{
    (void)state;
    size_t size = good_image();
    put(phdr(1), 1, 4); // the second header becomes a PT_LOAD outside RAM
    put(phdr(1) + 8, 0x1000, 8);
    put(phdr(1) + 24, RAM, 8);
    put(phdr(1) + 32, 16, 8);
    put(phdr(1) + 40, 16, 8);
    refused(size, "segment 1");
}

static void no_segment_or_entry_outside(void **state)
{
    (void)state;
    size_t size = good_image();
    put(phdr(0), 4, 4); // no PT_LOAD left
    refused(size, "no loadable");
    good_image();
    put(img + 24, RAM, 8);
    refused(size, "entry point 0x400000 is outside guest RAM");
}

// An entry point inside guest RAM but not on code the image brings ran into
// zeros and ended as a triple fault: refused, by name, wherever it lies.
static void entry_outside_the_code(void **state)
{
    (void)state;
    const char *why = "is not in the file bytes of an executable (PF_X) PT_LOAD segment";
    size_t size = good_image();
    put(img + 24, 0x100010, 8); // one past the file bytes: the zeros up to p_memsz
    refused(size, "entry point 0x100010 is not in the file bytes");
    put(img + 24, 0x100000 + 63, 8); // the segment's last byte in memory
    refused(size, why);
    put(img + 24, 0xfffff, 8); // just below the segment
    refused(size, why);
    put(img + 24, 0x200000, 8); // guest RAM no segment covers
    refused(size, why);
    good_image();
    put(phdr(0) + 4, 6, 4); // PF_R | PF_W: data
    refused(size, why);
    put(phdr(1), 1, 4); // a second PT_LOAD, executable, holds the entry: loads
    put(phdr(1) + 4, 1, 4);
    put(phdr(1) + 8, 0x1000, 8);
    put(phdr(1) + 24, 0x300000, 8);
    put(phdr(1) + 32, 16, 8);
    put(phdr(1) + 40, 16, 8);
    put(img + 24, 0x300000, 8);
    uint64_t entry = 0;
    assert_int_equal(load(size, &entry), 0);
    assert_true(entry == 0x300000);
    good_image();
    put(img + 24, 0x100000, 8); // the first file byte
    assert_int_equal(load(size, &entry), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_its_segment_and_nothing_else),
        cmocka_unit_test(wrong_kind_of_file),
        cmocka_unit_test(program_headers_outside_the_file),
        cmocka_unit_test(segments_outside_the_file),
        cmocka_unit_test(segments_outside_guest_ram),
        cmocka_unit_test(a_bad_later_segment_loads_nothing),
        cmocka_unit_test(no_segment_or_entry_outside),
        cmocka_unit_test(entry_outside_the_code),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
