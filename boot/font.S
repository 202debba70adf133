// font.S: embeds the console font, Debian kbd's Lat15-Terminus16, into the
// kernel's read-only data. The Makefile unpacks it to build/font.psf first.
// console.c hands font_psf..font_psf_end to psf_load() for framebuffer text;
// nothing else reads it, and nothing here runs.

    .section .rodata
    .globl font_psf
font_psf:
    .incbin "build/font.psf"
    .globl font_psf_end
font_psf_end:

    .section .note.GNU-stack, "", @progbits
