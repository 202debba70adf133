// elf.c: the guest loader. guest_run() (hv/run/guest.c) hands it a guest image
// and the guest's RAM; it checks that the image is a 64-bit x86-64 ELF
// executable whose PT_LOAD segments all lie inside the file and inside guest
// RAM, and copies them there. Pure: the host unit tests (tests/unit/test_elf.c)
// feed it hostile images.
// Every bound is checked against the room left, never against a sum that
// could wrap past 2^64 (the bug a crafted image once used to copy itself over
// the hypervisor). ELF-64 Object File Format 1.5: the header (section 2 and 3)
// and program headers (section 8).
#include "internal.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define PT_LOAD 1
#define PF_X 1 // p_flags: the segment holds code
#define ET_EXEC 2
#define EM_X86_64 62

// Little-endian fields at any alignment: the image is untrusted bytes.
static uint64_t le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i--;)
        v = v << 8 | p[i];
    return v;
}

// Is [start, start + len) inside [0, limit)? Without computing start + len.
static bool fits(uint64_t start, uint64_t len, uint64_t limit)
{
    return start <= limit && len <= limit - start;
}

int elf_load(const uint8_t *img, size_t size, uint8_t *ram, uint64_t ram_size,
             uint64_t *entry, char *err, size_t errlen)
{
    if (size < 4 || img[0] != 0x7f || img[1] != 'E' || img[2] != 'L' || img[3] != 'F')
        return errorf(err, errlen, "not an ELF file (no \\x7fELF at its start)");
    if (size < EHDR_SIZE)
        return errorf(err, errlen, "truncated: %zu bytes, less than a 64-byte ELF header",
                      size);
    if (img[4] != 2)
        return errorf(err, errlen, "ELF class %u, not ELFCLASS64 (2): build the guest as a "
                      "64-bit ELF", img[4]);
    if (img[5] != 1)
        return errorf(err, errlen, "ELF data encoding %u, not little-endian (1)", img[5]);
    uint64_t type = le(img + 16, 2), machine = le(img + 18, 2);
    if (machine != EM_X86_64)
        return errorf(err, errlen, "machine %lu, not x86-64 (62)", machine);
    if (type != ET_EXEC)
        return errorf(err, errlen, "ELF type %lu, not an executable (2): link it with "
                      "guest/guest.ld", type);
    uint64_t e_entry = le(img + 24, 8), phoff = le(img + 32, 8);
    uint64_t phentsize = le(img + 54, 2), phnum = le(img + 56, 2);
    if (phentsize != PHDR_SIZE)
        return errorf(err, errlen, "program header size %lu, not %u", phentsize, PHDR_SIZE);
    if (phoff > size || phnum > (size - phoff) / PHDR_SIZE)
        return errorf(err, errlen, "truncated: %lu program headers at offset 0x%lx run past "
                      "the end of the %zu-byte file", phnum, phoff, size);

    // Check everything before copying anything, so a refused image leaves
    // guest RAM as it was.
    // The first instruction must be code the image brings: inside the file
    // bytes of a segment marked executable. Past them a segment is zeros
    // (add %al,(%rax) over and over), and elsewhere guest RAM is zero too: the
    // guest would fault before it has set up an IDT, and end as a triple
    // fault instead of being refused here by name. The entry is compared with
    // p_paddr, where the loader puts the bytes: guests run identity-mapped
    // (guest/guest.ld links them where they load; docs/guest-abi.md, 2).
    // PF_X is the ELF's own word that a segment is code (ELF-64 8, Table 17,
    // "Segment Attributes"); the guest's paging does not enforce it (EFER.NXE
    // is 0), so an entry in data is a linker's mistake, caught here.
    unsigned loads = 0;
    bool entry_in_code = false;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !loads)
            return errorf(err, errlen, "no loadable (PT_LOAD) segment");
        if (pass == 1 && e_entry >= ram_size)
            return errorf(err, errlen, "entry point 0x%lx is outside guest RAM", e_entry);
        if (pass == 1 && !entry_in_code)
            return errorf(err, errlen, "entry point 0x%lx is not in the file bytes of an "
                          "executable (PF_X) PT_LOAD segment: the guest would start outside "
                          "its code", e_entry);
        for (uint64_t i = 0; i < phnum; i++) {
            const uint8_t *ph = img + phoff + i * PHDR_SIZE;
            if (le(ph, 4) != PT_LOAD)
                continue;
            uint64_t off = le(ph + 8, 8), paddr = le(ph + 24, 8);
            uint64_t filesz = le(ph + 32, 8), memsz = le(ph + 40, 8);
            if (pass == 1) {
                memcpy(ram + paddr, img + off, filesz);
                continue;
            }
            loads++;
            if ((le(ph + 4, 4) & PF_X) && e_entry >= paddr && e_entry - paddr < filesz)
                entry_in_code = true;
            if (filesz > memsz)
                return errorf(err, errlen, "segment %lu has %lu file bytes, more than its "
                              "%lu bytes in memory", i, filesz, memsz);
            if (!fits(off, filesz, size))
                return errorf(err, errlen, "truncated: segment %lu's %lu bytes at offset "
                              "0x%lx run past the end of the %zu-byte file", i, filesz, off,
                              size);
            if (!fits(paddr, memsz, ram_size))
                return errorf(err, errlen, "segment %lu (0x%lx bytes at guest-physical "
                              "0x%lx) is outside guest RAM (0 to 0x%lx)", i, memsz, paddr,
                              ram_size);
        }
    }
    *entry = e_entry;
    return 0;
}
