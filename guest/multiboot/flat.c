// flat.c: the kernel of flat.bin, a flat image without ELF headers that a multiboot loader
// can place only through the address fields of its header (flags bit 16, the "a.out
// kludge", Multiboot 0.6.96 3.1.3; entry.S assembled with MB_HDR_ADDRS). The Makefile
// appends 4 KiB of 0xaa past load_end_addr: the loader must neither load them nor leave
// anything but zeros up to bss_end_addr. Exit code 0 if every check passed, else 1.
#include "mbk.h"

#define SAY(...) kprintf("flat: " __VA_ARGS__)

// The header as entry.S wrote it: magic, flags, checksum, then the address fields.
struct aout_header {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};
extern const struct aout_header mb_header;
extern char _start[];

// Nothing writes here: its bytes must read as zero whatever the loader did before.
static volatile uint8_t untouched[4096] __attribute__((section(".bss.untouched")));
static const uint32_t loaded = 0x600dda7a; // .data-like constant: the image did arrive

unsigned kmain(struct mb_info *mbi, const char *args)
{
    (void)mbi;
    const struct aout_header *h = &mb_header;
    SAY("header flags 0x%x; arguments '%s'\n", h->flags, args);
    report((h->flags & MB_HDR_ADDRS) && h->header_addr == (uintptr_t)h &&
               h->load_addr == (uintptr_t)image_start && h->load_end_addr == (uintptr_t)load_end &&
               h->bss_end_addr == (uintptr_t)bss_end && h->entry_addr == (uintptr_t)_start,
           "flat: the header sits where header_addr says, in the image load_addr starts");
    report(*(volatile const uint32_t *)&loaded == 0x600dda7a,
           "flat: the image's constants arrived");
    // From load_end_addr to the end of untouched: the gap before .bss and untouched
    // itself, which the file's 0xaa bytes would cover had they been loaded.
    bool zero = true;
    for (volatile uint8_t *p = (volatile uint8_t *)load_end; p < untouched + sizeof(untouched); p++)
        zero = zero && *p == 0;
    report(zero, "flat: nothing past load_end_addr was loaded; .bss reads 0");
    report_summary();
    return report_failed() != 0;
}
