"""Bad multiboot v1 images made from the good kernels of build/guest/multiboot, one fault
each, named by the problem a loader must report, with QEMU 7.2's measured reaction: it
refuses some with a message and boots others anyway (into a crash, a hang, or as if
nothing were wrong); vmxlab refuses every one by name (issue 16) but the ELF64 file,
which it loads (the `vmxlab` field holds words of each refusal).
`/usr/bin/python3 tests/boot/mbimages.py DIR` writes them all to DIR, to try by hand."""
import os
import struct
import sys
from dataclasses import dataclass

from mbkernels import KERNELS

MB_MAGIC = 0x1BADB002
HEADER_SEARCH = 8192  # Multiboot 0.6.96 3.1: the header lies in the first 8 KiB


def _header_offset(data):
    for off in range(0, min(len(data), HEADER_SEARCH) - 11, 4):
        magic, flags, checksum = struct.unpack_from("<III", data, off)
        if magic == MB_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            return off
    raise ValueError("no multiboot header in the first 8 KiB")


def _set_flags(data, flags):
    """The header's flags, with a checksum that matches them."""
    off = _header_offset(data)
    struct.pack_into("<II", data, off + 4, flags, -(MB_MAGIC + flags) & 0xFFFFFFFF)


def _aout(data, **fields):
    """Changes the a.out-kludge address fields of the header (3.1.3) by name."""
    names = ("header_addr", "load_addr", "load_end_addr", "bss_end_addr", "entry_addr")
    off = _header_offset(data) + 12
    values = dict(zip(names, struct.unpack_from("<5I", data, off)))
    values.update({k: f(values) for k, f in fields.items()})
    struct.pack_into("<5I", data, off, *(values[n] for n in names))


# ELF32: the fields of the file header and of a program header (System V gABI).
E_ENTRY, E_PHOFF, E_PHNUM = 24, 28, 44
P_SIZE, P_OFFSET, P_PADDR, P_FILESZ, P_MEMSZ = 32, 4, 12, 16, 20


def _phdr(data, i):
    phoff, = struct.unpack_from("<I", data, E_PHOFF)
    return phoff + i * P_SIZE


def _set32(data, off, value):
    struct.pack_into("<I", data, off, value & 0xFFFFFFFF)


def _get32(data, off):
    return struct.unpack_from("<I", data, off)[0]


def _truncated(d):  # cut in the middle of segment 0's bytes
    p = _phdr(d, 0)
    del d[_get32(d, p + P_OFFSET) + _get32(d, p + P_FILESZ) // 2:]


def _bad_checksum(d):
    off = _header_offset(d) + 8
    _set32(d, off, _get32(d, off) + 1)


def _header_past_8k(d):
    d[0:0] = bytes(HEADER_SEARCH)


def _overlapping(d):  # segment 1 (.data and .bss) moved onto segment 0 (.text)
    _set32(d, _phdr(d, 1) + P_PADDR, _get32(d, _phdr(d, 0) + P_PADDR) + 0x1000)


def _too_big(d):  # segment 1's memory size past 128 MiB of RAM
    _set32(d, _phdr(d, 1) + P_MEMSZ, 200 << 20)


def _entry_outside(d):
    _set32(d, E_ENTRY, 0x100000)


def _video_mode(d):
    off = _header_offset(d)
    _set_flags(d, _get32(d, off + 4) | 1 << 2)


@dataclass(frozen=True)
class BadImage:
    name: str
    base: str      # the good image, in build/guest/multiboot
    problem: str   # what is wrong: what a loader's message must name
    change: object  # mutates the bytes of base
    qemu_message: str = None  # what QEMU 7.2 prints on stderr, if anything
    qemu_status: int = None   # its exit status; None: it runs on (HANG_SECONDS) silently
    qemu_note: str = ""       # what QEMU does, where it does not refuse
    vmxlab: str = None        # words vmxlab's refusal holds (hv/run/multiboot.c); None: it
                              # loads the image (an ELF64: QEMU refuses it, vmxlab takes it)

    def build(self):
        with open(os.path.join(KERNELS, self.base), "rb") as f:
            data = bytearray(f.read())
        self.change(data)
        return bytes(data)


HANG_SECONDS = 3
DEVIATING = 3  # startup.elf's exit status under QEMU TCG: code 1 (mbkernels.QEMU_TCG_DEVIATIONS)

BAD_IMAGES = (
    BadImage("truncated", "startup.elf", "the file ends inside a segment's bytes", _truncated,
             "Error while loading elf kernel", 1, vmxlab="truncated: segment 0's"),
    BadImage("bad-checksum", "startup.elf",
             "magic + flags + checksum is not 0 (mod 2^32): no multiboot header", _bad_checksum,
             "Error loading uncompressed kernel without PVH ELF Note", 1,
             "without a multiboot header QEMU takes an ELF file for a PVH kernel",
             vmxlab="bad checksum"),
    BadImage("header-past-8k", "flat.bin", "no multiboot header in the first 8 KiB",
             _header_past_8k, None, None,
             "loads it as an old Linux zImage (no \"HdrS\" at 0x202) and jumps into it",
             vmxlab="no multiboot header in the first 8 KiB"),
    BadImage("overlapping-segments", "startup.elf", "two PT_LOAD segments overlap",
             _overlapping, "Error while fetching elf kernel from rom", 1, vmxlab="overlap"),
    BadImage("too-big", "startup.elf", "a segment ends past the end of guest RAM (128 MiB)",
             _too_big, None, DEVIATING,
             "boots it: what lies past RAM is dropped, and the command line and the module "
             "list QEMU writes after the image land there (the kernel reads an empty command "
             "line)", vmxlab="run past the end of guest RAM"),
    BadImage("entry-outside", "startup.elf", "the entry point lies in no segment",
             _entry_outside, None, None, "jumps there and runs through zeros",
             vmxlab="lies in no segment's file bytes"),
    BadImage("load-end-before-load", "flat.bin", "load_end_addr is below load_addr",
             lambda d: _aout(d, load_end_addr=lambda v: v["load_addr"] - 0x1000),
             "invalid load_end_addr address", 1, vmxlab="is below load_addr"),
    BadImage("header-addr-mismatch", "flat.bin",
             "header_addr - load_addr is more than the header's offset in the file",
             lambda d: _aout(d, header_addr=lambda v: v["load_addr"] + 0x10000),
             "invalid header_addr address", 1,
             vmxlab="more than the header's offset"),
    BadImage("bss-end-before-load-end", "flat.bin", "bss_end_addr is below load_end_addr",
             lambda d: _aout(d, bss_end_addr=lambda v: v["load_end_addr"] - 0x1000),
             "invalid bss_end_addr address", 1, vmxlab="is below load_end_addr"),
    BadImage("aout-entry-outside", "flat.bin", "entry_addr lies outside load_addr..bss_end_addr",
             lambda d: _aout(d, entry_addr=lambda v: v["bss_end_addr"] + 0x100000),
             None, None, "jumps there and runs through zeros", vmxlab="entry_addr"),
    BadImage("video-mode", "startup.elf", "the header asks for a video mode (flags bit 2)",
             _video_mode, "multiboot knows VBE. we don't", DEVIATING,
             "warns and boots it without a video mode", vmxlab="asks for a video mode"),
    BadImage("elf64", "startup.elf64", "an ELF64 file (not converted with objcopy -O elf32-i386)",
             lambda d: None, "Cannot load x86-64 image, give a 32bit one.", 1),
)


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    for bad in BAD_IMAGES:
        path = os.path.join(sys.argv[1], bad.name)
        with open(path, "wb") as f:
            f.write(bad.build())
        print(f"{path}: {bad.problem}")
