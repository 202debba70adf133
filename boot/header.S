// header.S: the two boot headers loaders look for in the first 8 KiB.
// multiboot2 is what GRUB uses (BIOS and UEFI); multiboot v1 with the a.out
// kludge lets `qemu-system-x86_64 -kernel` load this 64-bit ELF as a flat image.
// Both enter _start (boot/entry.S) in 32-bit protected mode, paging off.
// Specs: Multiboot2 3.1 (header tags), Multiboot 0.6.96 3.1 (header).

#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS ((1 << 1) | (1 << 16)) // memory info, a.out-kludge addresses

    .section .multiboot, "a"
    .align 8
mb2_header:
    .long MB2_MAGIC, MB2_ARCH_I386, mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    // No framebuffer tag: on BIOS GRUB then leaves VGA text mode alone (a
    // framebuffer tag makes it pick a VBE graphics mode). On UEFI, which has no
    // text mode, GRUB passes the GOP framebuffer anyway (grub.cfg loads efi_gop).
    .short 0, 0 // end tag
    .long 8
mb2_header_end:

    .align 4
mb1_header:
    .long MB1_MAGIC, MB1_FLAGS, -(MB1_MAGIC + MB1_FLAGS)
    .long mb1_header, kernel_start, kernel_load_end, kernel_end, _start

    .section .note.GNU-stack, "", @progbits
