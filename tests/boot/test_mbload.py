"""The multiboot loader (hv/run/multiboot.c) on its own, without booting, through the host
program build/tests/mbv1_load (tests/boot/mbv1_load.c): every case of mbkernels.CASES loads,
and what the startup kernel prints about its information block, modules and memory map,
worked out here from the loaded bytes as startup.c works it out, is what QEMU gave it (the
golden files and guest/multiboot/README.md); each bad image of mbimages.BAD_IMAGES is refused
with a message naming its problem, or loads where the table says vmxlab takes it. The runner
(scripts/run.py) tells a multiboot kernel from a vmxlab guest as mbv1_is_multiboot() does."""
import glob
import json
import os
import struct
import subprocess

import pytest

import mbimages
import mbkernels
import run as runner
from mbkernels import CASES, DATA, KERNELS, ROOT
from test_mbkernels import readme_excerpts

TOOL = os.path.join(ROOT, "build", "tests", "mbv1_load")


def load(kernel, mem, name, args, modules=()):
    """The tool's JSON for kernel (a path) in mem MiB, the command line "name args" and
    modules given as QEMU's -initrd items, "FILE ARGS" with FILE in tests/boot/mbdata."""
    if not os.path.exists(TOOL):
        pytest.fail(f"{TOOL} is missing: run `make unit-run` (or `make test`)")
    cmd = [TOOL, str(mem), kernel, name, args]
    for item in modules:
        cmd += [os.path.join(DATA, item.split(" ")[0]), item]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode in (0, 1) and not p.stderr, (p.returncode, p.stderr)
    d = json.loads(p.stdout)
    assert (p.returncode == 1) == ("refused" in d), d
    return d


def load_case(case):
    return load(os.path.join(KERNELS, case.kernel), case.mem, case.kernel, case.args,
                case.modules)


# --- What startup.c prints about the information block -----------------------------------

def _u32(mem, off):
    return struct.unpack_from("<I", mem, off)[0]


def _cstr(mem, off):
    return mem[off:mem.index(b"\0", off)].decode()


def _base_name(s):
    """rt.c base_name(): the first word's last path component, then the rest."""
    word, _, rest = s.partition(" ")
    return word.rsplit("/", 1)[-1], (" " + rest if " " in s else "")


MMAP_TYPES = ("?", "available", "reserved", "ACPI", "NVS", "bad")


def startup_lines(d):
    """The lines of startup.c's info_block(), modules() and memory_map() that describe
    what the loader wrote (not its PASS lines), from the loaded RAM in d."""
    page, tail = bytes.fromhex(d["info_page"]), bytes.fromhex(d["tail"])
    end = (d["image_end"] + 4095) & ~4095  # "image end": the page boundary past .bss

    def at(gpa):  # the bytes from gpa on, in the page at 0x9000 or after the image
        return (page, gpa - 0x9000) if gpa < 0xa000 else (tail, gpa - end)

    info = d["info"]
    flags, lower, upper, boot_device, cmdline, count, mods = (
        _u32(*at(info + 4 * i)) for i in range(7))
    length, mmap = _u32(*at(info + 44)), _u32(*at(info + 48))
    name, rest = _base_name(_cstr(*at(cmdline)))
    out = [f"startup: info: at {info:#x}, flags {flags:#x}",
           f"startup: info: mem_lower {lower} KiB, mem_upper {upper} KiB, "
           f"boot_device {boot_device:#x}",
           f"startup: info: command line at image end + {cmdline - end:#x}: '{name}{rest}'",
           f"startup: info: the kernel's name '{name}', its arguments '{rest.lstrip(' ')}'",
           f"startup: info: modules: {count}, listed at image end + {mods - end:#x}"]
    for i in range(count):
        start, stop, string = (_u32(*at(mods + 16 * i + 4 * f)) for f in range(3))
        s_name, s_rest = _base_name(_cstr(*at(string)))
        data = tail[start - end:stop - end]
        first, h = b"", 0
        while len(first) < 60 and len(first) < len(data) and 32 <= data[len(first)] < 127:
            first += data[len(first):len(first) + 1]
        for b in data:
            h = (h * 31 + b) & 0xFFFFFFFF
        out += [f"startup: module {i}: string at image end + {string - end:#x}: "
                f"'{s_name}{s_rest}'",
                f"startup: module {i}: at image end + {start - end:#x}, {len(data)} bytes, "
                f"hash 0x{h:08x}, first line '{first.decode()}'"]
    out.append(f"startup: info: memory map at {mmap:#x}, {length} bytes")
    for off in range(0, length, 24):
        size, base, size_len, kind = struct.unpack_from("<IQQI", page, mmap - 0x9000 + off)
        assert size == 20
        out.append(f"startup:   0x{base:010x}-0x{base + size_len - 1:010x} "
                   f"{MMAP_TYPES[kind if kind < len(MMAP_TYPES) else 0]}")
    return out


def _about_the_loader(line):
    return line.startswith(("startup: info: ", "startup: module ", "startup:   0x"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_case_loads(case):
    """Every kernel of the QEMU cases loads with its command line, modules and RAM; the
    startup kernel's lines about what it was given are its golden file's, as QEMU gave
    them (the lines it prints in between are its own checks)."""
    d = load_case(case)
    assert "refused" not in d and d["multiboot"], d
    assert d["image_start"] <= d["entry"] < d["image_end"] <= d["end"], d
    assert d["format"] == ("aout" if case.kernel == "flat.bin" else "elf32")
    if case.kernel == "startup.elf":
        golden = [line for line in mbkernels.golden(case) if _about_the_loader(line)]
        assert startup_lines(d) == golden


@pytest.mark.parametrize("run,lines", [p for p in readme_excerpts() if p.values[0][3] is None])
def test_readme_excerpts_from_the_loader(run, lines):
    """guest/multiboot/README.md's QEMU excerpts (Intel CPU: 128 MiB with probe=1, the
    memory map of 3.5 GiB) say the same of the loader's work."""
    kernel, mem, args, _ = run
    d = load(os.path.join(KERNELS, kernel), int(mem), kernel, args)
    mine = startup_lines(d)
    theirs = [line for line in lines if _about_the_loader(line)]
    assert theirs and all(line in mine for line in theirs), (theirs, mine)


def test_elf64_loads_as_its_elf32_copy():
    """startup.elf64 and its objcopy -O elf32-i386 copy, startup.elf, hold the same
    segments: loaded, they leave the same bytes (QEMU refuses the ELF64 file)."""
    case = mbkernels.CASE["startup"]
    d32 = load(os.path.join(KERNELS, "startup.elf"), 128, "k", case.args, case.modules)
    d64 = load(os.path.join(KERNELS, "startup.elf64"), 128, "k", case.args, case.modules)
    assert (d32["format"], d64["format"]) == ("elf32", "elf64")
    for key in ("entry", "image_start", "image_end", "end", "image_fnv", "info_page", "tail"):
        assert d32[key] == d64[key], key


@pytest.mark.parametrize("bad", mbimages.BAD_IMAGES, ids=[b.name for b in mbimages.BAD_IMAGES])
def test_bad_image_is_refused_by_name(bad, tmp_path):
    """Each bad image, in QEMU's default 128 MiB, is refused with a message holding the
    words its row names (the message is the user's only clue), or loads where the row
    says vmxlab takes it."""
    image = tmp_path / bad.name
    image.write_bytes(bad.build())
    d = load(str(image), 128, bad.name, "")
    assert d["multiboot"], "the run would hand it to the vmxlab guest loader instead"
    if bad.vmxlab is None:
        assert "refused" not in d, d
    else:
        assert bad.vmxlab in d.get("refused", ""), d


def test_runner_and_loader_tell_kernels_from_guests(tmp_path):
    """run.py's is_multiboot() (it names and places the files) and mbv1_is_multiboot()
    (the kernel picks the loader with it) agree: on every kernel and bad image, which are
    multiboot, and on every vmxlab guest the build embeds, which are not."""
    files = sorted(glob.glob(os.path.join(KERNELS, "*.elf*")) +
                   [os.path.join(KERNELS, "flat.bin")])
    for bad in mbimages.BAD_IMAGES:
        (tmp_path / bad.name).write_bytes(bad.build())
        files.append(str(tmp_path / bad.name))
    guests = sorted(glob.glob(os.path.join(ROOT, "build", "guest", "*.elf")))
    assert len(files) > 12 and len(guests) > 10
    for path in files + guests:
        d = load(path, 128, "k", "")
        assert d["multiboot"] == runner.is_multiboot(path) == (path not in guests), path
