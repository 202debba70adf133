// guests.S: the guest programs, embedded in the kernel as ELF files. Each is
// built from guest/ by the Makefile and loaded into guest RAM by hv/guest.c.
#define GUEST(name, file)                           \
    .globl guest_##name##_elf, guest_##name##_end;  \
    .balign 16;                                     \
guest_##name##_elf:                                 \
    .incbin file;                                   \
guest_##name##_end:

    .section .rodata
GUEST(wp_toggle, "build/guest/wp_toggle.elf")
GUEST(vmcall_loop, "build/guest/vmcall_loop.elf")
GUEST(semantics, "build/guest/semantics.elf")
GUEST(misbehave, "build/guest/misbehave.elf")

    .section .note.GNU-stack, "", @progbits
