"""The multiboot v1 test kernels of guest/multiboot and how each is run: the cases (kernel,
command line, modules, RAM, exit code), the console text each must print, stored once in
tests/boot/golden/CASE.txt (the SDM's text: QEMU_TCG_DEVIATIONS names where QEMU 7.2 TCG
prints otherwise), and QEMU TCG, the reference platform. test_mbkernels.py runs the cases
in QEMU; the vmxlab boot tests of issue 16 compare with the same golden files."""
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNELS = os.path.join(ROOT, "build", "guest", "multiboot")
DATA = os.path.join(ROOT, "tests", "boot", "mbdata")  # the module files
GOLDEN = os.path.join(ROOT, "tests", "boot", "golden")


@dataclass(frozen=True)
class Case:
    name: str            # the golden file is GOLDEN/name.txt
    kernel: str          # a file of build/guest/multiboot
    args: str = ""       # the command line after the kernel's name (QEMU's -append)
    modules: tuple = ()  # "FILE ARGS" for each module, FILE in tests/boot/mbdata (-initrd)
    mem: int = 128       # MiB of RAM (QEMU's -m, vmxlab's guest_mem=)
    code: int = 0        # the exit code the kernel writes to port 0xf4
    qemu_code: int = None  # the same under QEMU TCG, where a deviation changes it
    timeout: int = 30    # seconds QEMU may take


CASES = (
    Case("startup", "startup.elf", "exit=0 mode=full",
         modules=("env.txt greeting=hello", "words.txt")),
    Case("startup-exit7", "startup.elf", "exit=7", mem=32, code=7),
    Case("startup-1g", "startup.elf", "exit=0", modules=("words.txt one two",), mem=1024),
    Case("prot32", "prot32.elf", qemu_code=1),
    Case("flat", "flat.bin", "loaded by its address fields"),
    Case("spin", "spin.elf"),
    Case("chatty", "chatty.elf", timeout=60),
    Case("leave64", "leave64.elf"),
)
CASE = {c.name: c for c in CASES}

# Where QEMU 7.2 TCG departs from the SDM, measured with these kernels: for a kernel, the
# line its golden file holds, the line QEMU prints instead, and why. A case whose golden
# file holds such a line expects QEMU's; one that QEMU no longer prints fails the test, so
# a QEMU that is fixed shows here.
RSVD = ("QEMU TCG reports a reserved-bit page fault without P (error code 0x8): SDM 3A 4.7 "
        "sets P in every RSVD fault, since only a present entry can have reserved bits")
QEMU_TCG_DEVIATIONS = (
    ("startup.elf",
     "PASS: APIC: IA32_APIC_BASE reads 0xfee00100 with EN cleared, 0xfee00900 with EN set "
     "again; CPUID.1:EDX.APIC 1",
     "FAIL: APIC: IA32_APIC_BASE reads 0xfee00100 with EN cleared, 0xfee00100 with EN set "
     "again; CPUID.1:EDX.APIC 0",
     "QEMU's apic_set_base() keeps the APIC disabled once EN was cleared (\"if disabled, "
     "cannot be enabled again\") and clears CPUID.1:EDX.APIC; SDM 3A 11.4.3 lets software "
     "set EN again on CPUs with FSB interrupt delivery, as KVM does"),
    ("startup.elf",
     "PASS: paging: EFER.NXE=0: read through a PTE with bit 63 set: #PF(0x9) CR2 0x8000002000",
     "FAIL: paging: EFER.NXE=0: read through a PTE with bit 63 set: #PF(0x9) CR2 0x8000002000 "
     "expected, got #PF(0x8) CR2 0x8000002000", RSVD),
    ("startup.elf",
     "PASS: CR0: NW=1 with CD=0: #GP(0x0)",
     "FAIL: CR0: NW=1 with CD=0: #GP(0x0) expected, got no fault",
     "QEMU TCG's MOV to CR0 takes NW=1 with CD=0; the SDM (Vol. 2, MOV to CR0) raises #GP(0)"),
    ("startup.elf", "32 passed, 0 failed", "29 passed, 3 failed", "the three lines above"),
    ("prot32.elf",
     "PASS: 32-bit paging: read through a 4 MiB PDE with bit 21 set: #PF(0x9) CR2 0x40800000",
     "FAIL: 32-bit paging: read through a 4 MiB PDE with bit 21 set: #PF(0x9) CR2 0x40800000 "
     "expected, got #PF(0x8) CR2 0x40800000", RSVD),
    ("prot32.elf",
     "PASS: PAE paging: EFER.NXE=0: read through a PTE with bit 63 set: #PF(0x9) CR2 0x40002000",
     "FAIL: PAE paging: EFER.NXE=0: read through a PTE with bit 63 set: #PF(0x9) CR2 0x40002000 "
     "expected, got #PF(0x8) CR2 0x40002000", RSVD),
    ("prot32.elf",
     "PASS: PAE paging: MOV to CR3 with a PDPTE whose bit 1 is set: #GP(0x0)",
     "FAIL: PAE paging: MOV to CR3 with a PDPTE whose bit 1 is set: #GP(0x0) expected, got "
     "no fault",
     "QEMU TCG does not load the PDPTEs when CR3 is written (SDM 3A 4.4.1 does, and raises "
     "#GP(0) for a reserved bit in a present one); it reads them at each walk"),
    ("prot32.elf",
     "PASS: PAE paging: CR3 still points at the good PDPTEs",
     "FAIL: PAE paging: CR3 still points at the good PDPTEs", "the line above"),
    ("prot32.elf", "22 passed, 0 failed", "18 passed, 4 failed", "the four lines above"),
)


def deviations(case):
    """golden line -> QEMU's line, for this case's kernel."""
    return {gold: qemu for kernel, gold, qemu, _ in QEMU_TCG_DEVIATIONS if kernel == case.kernel}


# --- Golden files ----------------------------------------------------------------------
#
# One console line per line. A run of more lines than FOLD_OVER is kept as its first and
# last FOLD_KEEP lines around one line "... N lines, sha256 HEX": N lines whose text, each
# with its newline, has that SHA-256.

FOLD_OVER, FOLD_KEEP = 1000, 20
FOLDED = re.compile(r"^\.\.\. (\d+) lines, sha256 ([0-9a-f]{64})$")


def _sha(lines):
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


def fold(lines):
    if len(lines) <= FOLD_OVER:
        return list(lines)
    middle = lines[FOLD_KEEP:-FOLD_KEEP]
    return (lines[:FOLD_KEEP] + [f"... {len(middle)} lines, sha256 {_sha(middle)}"] +
            lines[-FOLD_KEEP:])


def golden(case):
    with open(os.path.join(GOLDEN, case.name + ".txt")) as f:
        return f.read().splitlines()


def first_difference(expected, lines):
    """None if lines match the golden lines expected, else where and how they differ."""
    at = 0
    for want in expected:
        m = FOLDED.match(want)
        if m:
            n = int(m.group(1))
            got = lines[at:at + n]
            if len(got) < n or _sha(got) != m.group(2):
                return f"lines {at + 1} to {at + n}: not the {n} lines of the golden hash"
            at += n
            continue
        if at >= len(lines):
            return f"line {at + 1}: expected {want!r}, got the end of the output"
        if lines[at] != want:
            return f"line {at + 1}: expected {want!r}, got {lines[at]!r}"
        at += 1
    if at < len(lines):
        return f"line {at + 1}: expected the end of the output, got {lines[at]!r}"
    return None


# --- QEMU --------------------------------------------------------------------------------

# An Intel CPU, as vmxlab's guests see one: with an AMD vendor (qemu64's own) QEMU adds a
# reserved region at 1012 GiB (the HyperTransport hole) to the memory map.
QEMU_CPU = "qemu64,vendor=GenuineIntel"


def qemu_command(case, kernel_path, serial, cpu=QEMU_CPU):
    """QEMU's command for a case. It runs in DATA, so that the module strings are
    "FILE ARGS" as the table gives them: the kernels print where they land."""
    cmd = ["qemu-system-x86_64", "-machine", "pc", "-cpu", cpu, "-m", str(case.mem),
           "-kernel", kernel_path, "-append", case.args,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
           "-serial", f"file:{serial}", "-display", "none", "-no-reboot"]
    if case.modules:
        cmd += ["-initrd", ",".join(case.modules)]
    return cmd


@dataclass
class QemuRun:
    status: int   # QEMU's exit status: (code << 1) | 1 after a write of code to port 0xf4
    lines: list   # the serial console
    stderr: str


def run_qemu(case, kernel_path=None, timeout=None, cpu=QEMU_CPU):
    kernel_path = kernel_path or os.path.join(KERNELS, case.kernel)
    if not os.path.exists(kernel_path):
        raise FileNotFoundError(f"{kernel_path} is missing: run `make mbkernels` first")
    with tempfile.TemporaryDirectory() as tmp:
        serial = os.path.join(tmp, "serial")
        p = subprocess.run(qemu_command(case, kernel_path, serial, cpu), cwd=DATA,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout or case.timeout)
        text = open(serial, errors="replace").read() if os.path.exists(serial) else ""
    return QemuRun(p.returncode, text.splitlines(), p.stderr)


def write_golden(case):
    """Runs case in QEMU and writes its golden file: QEMU's lines, deviations undone."""
    r = run_qemu(case)
    undo = {qemu: gold for gold, qemu in deviations(case).items()}
    lines = [undo.get(line, line) for line in r.lines]
    with open(os.path.join(GOLDEN, case.name + ".txt"), "w") as f:
        f.write("".join(line + "\n" for line in fold(lines)))
    want = case.code if case.qemu_code is None else case.qemu_code
    return r.status == (want << 1) | 1, r.status


# `/usr/bin/python3 tests/boot/mbkernels.py [CASE ...]` runs the cases in QEMU (after
# `make mbkernels`) and rewrites their golden files from what QEMU printed, deviations
# undone: review the diff before committing it.
if __name__ == "__main__":
    for name in sys.argv[1:] or CASE:
        ok, status = write_golden(CASE[name])
        print(f"{name}: golden written; QEMU exit status {status}{'' if ok else ' (unexpected)'}")
