// multiboot.h: the multiboot (v1) loader's interface. A guest module that is a kernel
// built for `qemu-system-x86_64 -kernel` is loaded by mbv1_load() (multiboot.c) into
// guest RAM as QEMU 7.2 loads it, with the information block and memory map QEMU gives
// it; mbv1_request_from_modules() (mbreq.c) gathers its bytes, command line and modules
// from GRUB's modules. Both are pure: tests/unit/test_multiboot.c and
// tests/fuzz/fuzz_mbv1.c run them on the host. docs/guest-abi.md, section 15, is the
// contract a kernel sees.
#pragma once
#include "../../lib/lib.h"

// --- The platform (Multiboot 0.6.96; QEMU 7.2 with SeaBIOS, measured) -------------------

#define MBV1_MAGIC 0x1badb002u      // the header's magic (3.1.2)
#define MBV1_BOOT_MAGIC 0x2badb002u // EAX at the kernel's entry (3.2)
#define MBV1_SEARCH 8192            // the header lies in the file's first 8 KiB (3.1.1)
#define MBV1_MMAP_GPA 0x9000u       // the memory map: QEMU's option ROM writes it here
#define MBV1_INFO_GPA 0x9500u       // the information block (3.3): EBX at the entry
#define MBV1_INFO_SIZE 88           // its fields up to the VBE ones, as QEMU writes them
#define MBV1_INFO_PAGE_END 0xa000u  // 0x9000-0x9fff is vmxlab's: no segment may touch it
#define MBV1_INFO_FLAGS 0x24fu      // memory sizes, boot device, command line, modules,
                                    // memory map, boot loader name (QEMU's set)
#define MBV1_BOOT_DEVICE 0x8000ffffu // QEMU's: BIOS drive 0x80, no partition
#define MBV1_LOADER_NAME "qemu"     // QEMU's name: kernels test for it, vmxlab is its stand-in
#define MBV1_MMAP_ENTRY 24          // a map entry: its size field (20), then 20 bytes
#define MBV1_MIN_RAM (2ull << 20)   // guest_mem=2: below it the map has no RAM at 1 MiB
#define MBV1_DEFAULT_MEM_MIB 128    // guest_mem= for a multiboot kernel: QEMU's -m default
#define MBV1_MAX_LOADS 32           // PT_LOAD segments an image may have
#define MBV1_MAX_REGIONS 8          // entries of the memory map

// Header flags (3.1.2): bits 0-15 are requirements the loader must meet or refuse.
#define MBV1_HDR_ALIGN_MODS (1u << 0) // modules on page boundaries (always so here)
#define MBV1_HDR_MEMINFO (1u << 1)    // mem_* and the memory map (always given)
#define MBV1_HDR_VIDEO (1u << 2)      // a video mode: refused, vmxlab has no display
#define MBV1_HDR_ADDRS (1u << 16)     // the address fields say where the image goes

// --- The memory map QEMU's pc machine gives (a region of it: E820 types 1 and 2) ------

#define MBV1_AVAILABLE 1
#define MBV1_RESERVED 2
struct mbv1_region {
    uint64_t base, len;
    uint32_t type;    // MBV1_AVAILABLE or MBV1_RESERVED
    const char *what; // for messages: "the EBDA", "RAM above 4 GiB", ...
};
// The RAM below 4 GiB for a guest of ram_size bytes: all of it, or 3 GiB when it is
// 3.5 GiB or more (the rest starts at 4 GiB), as QEMU's pc machine splits it.
uint64_t mbv1_ram_below_4g(uint64_t ram_size);
// The memory map, in address order; returns the number of regions (<= MBV1_MAX_REGIONS).
unsigned mbv1_memory_map(uint64_t ram_size, struct mbv1_region map[MBV1_MAX_REGIONS]);

// --- Loading ----------------------------------------------------------------------------

struct mbv1_module {
    const uint8_t *data; // its bytes
    size_t size;
    const char *string;  // "FILE ARGS", as QEMU's -initrd item: the guest's mods[].string
};
struct mbv1_request {
    const uint8_t *image; // the kernel's file
    size_t size;
    const char *name;     // its file name: the command line is "NAME ARGS"
    const char *args;     // its arguments ("" for none), QEMU's -append
    const struct mbv1_module *mods;
    unsigned nmods;
};
enum mbv1_format { MBV1_ELF32, MBV1_ELF64, MBV1_AOUT }; // AOUT: by the address fields
struct mbv1_loaded {
    uint32_t entry;                   // EIP at the entry
    uint32_t info;                    // EBX at the entry: MBV1_INFO_GPA
    uint32_t image_start, image_end;  // the kernel in guest RAM, its bss included
    uint32_t end;          // one past the last byte written after the image (modules)
    uint32_t header_flags; // the multiboot header's flags
    enum mbv1_format format;
};
// Is this image meant for the multiboot loader rather than elf_load() (hv/elf.c)? Yes
// if the magic 0x1BADB002 lies 4-byte aligned in its first 8 KiB, whatever the checksum
// says, or anywhere in a file that is not an ELF64 file: a vmxlab guest is an ELF64
// without one, so a damaged multiboot kernel gets the multiboot loader's message.
bool mbv1_is_multiboot(const uint8_t *img, size_t size);
// Checks the request against guest RAM of ram_size bytes and says where everything
// goes, writing nothing: 0, or -1 with a message naming the problem in err.
int mbv1_plan(const struct mbv1_request *rq, uint64_t ram_size, struct mbv1_loaded *out,
              char *err, size_t errlen);
// mbv1_plan(), then the load. ram holds guest-physical address g at ram[g] for every g
// below mbv1_ram_below_4g(ram_size); the loader writes only there: the image, its bss
// zeroed, the page 0x9000-0x9fff (memory map and information block), and what follows
// the image (module list, strings, modules). A refused request writes nothing.
int mbv1_load(const struct mbv1_request *rq, uint8_t *ram, uint64_t ram_size,
              struct mbv1_loaded *out, char *err, size_t errlen);

// --- mbreq.c: a multiboot guest's pieces among GRUB's modules -----------------------------

// The kernel is the module whose string's first word is name ("NAME ARGS"); its modules
// are those whose string is "NAME:FILE ARGS", in GRUB's order, each handed to the guest
// as "FILE ARGS". mods has room for max. 0, or -1 with a message in err.
struct mb_info;
int mbv1_request_from_modules(const struct mb_info *bi, const char *name,
                              struct mbv1_request *rq, struct mbv1_module *mods,
                              unsigned max, char *err, size_t errlen);
