"""Boot tests: the ISO in Bochs on several CPU models, in QEMU TCG (no VMX), in
QEMU with OVMF (UEFI), and with bad command lines. Each asserts the verdict, the
runner's exit status and exact values the machine makes exact."""
import re

import pytest

# What Bochs 2.7's CPU models report (../shared/FACTS.md, read off the MSRs).
# Every model: IA32_FEATURE_CONTROL 0x5, CR0 fixed0 0x80000021, CR4 fixed0 0x2000.
MODELS = {
    "corei7_skylake_x": dict(revision=0x2B, ept=1, vpid=1, unrestricted_guest=1, ept_ad=1),
    "corei7_icelake_u": dict(revision=4, ept=1, vpid=1, unrestricted_guest=1, ept_ad=1),
    "corei5_lynnfield_750": dict(revision=0x2B, ept=1, vpid=1, unrestricted_guest=0, ept_ad=0),
    "core2_penryn_t9600": dict(revision=0x2B, ept=0, vpid=0, unrestricted_guest=0, ept_ad=0),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_bochs_capability_table(boot, model):
    r = boot("bochs", cpu=model, cmdline="tests=vmx-caps")
    caps = r.json_lines("vmxlab-caps")
    assert len(caps) == 1, r.serial
    c = caps[0]
    assert c["vendor"] == "GenuineIntel"
    assert c["vmx"] == 1
    assert c["feature_control"] == 0x5
    assert c["vmcs_size"] == 4096 and c["memtype"] == 6 and c["true_ctls"] == 1
    assert c["cr0_fixed0"] == 0x80000021 and c["cr4_fixed0"] == 0x2000
    for key, want in MODELS[model].items():
        assert c[key] == want, (key, c)
    # The human-readable table is there too, with the same revision.
    assert "VMX capabilities" in r.serial
    rev = MODELS[model]["revision"]
    assert re.search(rf"^\s+VMCS revision id\s+0x{rev:x}$", r.serial, re.M), r.serial
    assert "1 passed, 0 failed" in r.serial.splitlines()  # vmx-caps: one line, every check
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def test_qemu_tcg_has_no_vmx(boot):
    r = boot("qemu-tcg")
    assert "CPUID.1:ECX.VMX            no" in r.serial
    assert "vmxlab: UNSUPPORTED: this CPU does not offer Intel VMX" in r.serial
    assert "ENGINE=bochs" in r.serial  # tells the user what to do
    assert (r.verdict, r.status) == ("UNSUPPORTED", 4), r.serial


def test_qemu_uefi_boot(boot, tmp_path):
    """GRUB EFI, multiboot2 and the framebuffer console drawn with the PSF font."""
    shot = tmp_path / "screen.ppm"
    r = boot("qemu-uefi", cmdline="end=halt", screendump=str(shot))
    assert "via multiboot2 on UEFI" in r.serial, r.serial
    # The framebuffer mapped write-combining: IA32_PAT read back as written
    # (boot/cpu.c map_write_combining()); text drawn through it below.
    assert re.search(r"^vmxlab: console: serial COM1, framebuffer \d+x\d+x\d+ \(font 8x16\), "
                     r"write-combining$", r.serial, re.M), r.serial
    assert "vmxlab: UNSUPPORTED: this CPU does not offer Intel VMX" in r.serial
    assert r.verdict == "UNSUPPORTED"
    # The screen shows text: lit pixels in the first text rows, dark far below.
    width, height, pixels = read_ppm(shot)
    lit = lambda y0, y1: sum(1 for y in range(y0, y1) for x in range(0, width, 2)
                             if pixels[(y * width + x) * 3 + 1] > 100)
    assert lit(0, 16) > 200, "no text drawn in the first row"
    assert lit(height - 16, height) == 0


def read_ppm(path):
    data = path.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:  # P6, width, height, maxval, separated by white space
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    assert fields[0] == b"P6"
    return int(fields[1]), int(fields[2]), data[pos + 1:]


def test_qemu_kernel_multiboot1(boot):
    """QEMU's -kernel loads multiboot v1 images: the a.out-kludge header works."""
    import os, subprocess, tempfile
    from conftest import ROOT
    with tempfile.TemporaryDirectory() as d:
        serial = os.path.join(d, "serial")
        p = subprocess.run(["qemu-system-x86_64", "-kernel", os.path.join(ROOT, "build", "kernel.elf"),
                            "-append", "tests=vmx-caps end=poweroff", "-display", "none",
                            "-no-reboot",
                            "-serial", f"file:{serial}", "-device",
                            "isa-debug-exit,iobase=0xf4,iosize=0x04"], timeout=60)
        out = open(serial).read().replace("\r", "")
    assert "via multiboot on BIOS" in out, out
    assert "command line: '" in out and "tests=vmx-caps end=poweroff'" in out
    assert "vmxlab: verdict UNSUPPORTED" in out
    assert p.returncode == (4 << 1) | 1


@pytest.mark.parametrize("cmdline,message", [
    ("nosuchkey=1", "unknown key 'nosuchkey'"),
    ("tests", "'tests' is not key=value"),
    ("end=sometimes", "bad value 'sometimes' for end"),
    ("tests=no-such-test", "unknown test 'no-such-test' in tests="),
])
def test_bad_command_line(boot, cmdline, message):
    r = boot("qemu-tcg", cmdline=cmdline)
    assert "vmxlab: bad command line: " in r.serial
    assert message in r.serial, r.serial
    assert (r.verdict, r.status) == ("FAIL", 1)


def test_bad_command_line_bochs(boot):
    r = boot("bochs", cmdline="nosuchkey=1")
    assert "unknown key 'nosuchkey'" in r.serial
    assert (r.verdict, r.status) == ("FAIL", 1)


@pytest.mark.parametrize("args,status,verdict", [
    (["--engine", "qemu-tcg"], 4, "UNSUPPORTED"),
    (["--engine", "qemu-tcg", "--cmdline", "nosuchkey=1"], 1, "FAIL"),
])
def test_runner_exit_status(args, status, verdict):
    """The runner as a user calls it: its exit status is the verdict's number."""
    import subprocess, sys
    from conftest import ROOT, ISO
    p = subprocess.run([sys.executable, f"{ROOT}/scripts/run.py", *args, ISO],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == status, p.stdout
    assert p.stdout.splitlines()[-1].startswith(f"run.py: verdict {verdict} (exit status {status};")


def test_iso_as_built_halts_and_leaves_the_exit_ports_alone(boot):
    """The ISO's own first entry (what a USB stick boots) says end=halt: the
    verdict stays on screen and nothing is written to ports 0xf4 or 0x8900,
    so QEMU's isa-debug-exit never ends the machine. The runner's copy adds
    end=poweroff, and QEMU then ends with (verdict << 1) | 1."""
    import os
    from conftest import ROOT
    cfg = open(os.path.join(ROOT, "build", "iso", "boot", "grub", "grub.cfg")).read()
    first = [l.strip() for l in cfg.splitlines() if l.strip().startswith("multiboot2")][0]
    assert first == "multiboot2 /boot/vmxlab.elf end=halt", first
    r = boot("qemu-tcg", as_built=True)
    assert "command line: 'end=halt'" in r.serial, r.serial
    assert r.serial.rstrip().endswith("vmxlab: run ended; the machine can be switched off")
    assert not r.engine_ended, "QEMU ended by itself: something wrote its exit port"
    assert (r.verdict, r.status) == ("UNSUPPORTED", 4)
    copy = boot("qemu-tcg")
    assert "end=poweroff'" in copy.serial
    assert copy.engine_ended and copy.engine_status == (4 << 1) | 1
    assert (copy.verdict, copy.status) == ("UNSUPPORTED", 4)


def test_bochs_amd_model_has_no_vmx(boot):
    r = boot("bochs", cpu="ryzen")
    assert "CPUID.1:ECX.VMX            no" in r.serial
    assert "vmxlab: UNSUPPORTED: this CPU does not offer Intel VMX" in r.serial
    assert (r.verdict, r.status) == ("UNSUPPORTED", 4), r.serial


@pytest.mark.parametrize("fault,vector,name", [
    ("ud", 6, "#UD invalid opcode"),
    ("gp", 13, "#GP general protection"),
    ("pf", 14, "#PF page fault"),
    ("de", 0, "#DE divide error"),
])
def test_exception_report_is_a_crash_not_a_triple_fault(boot, fault, vector, name):
    """The IDT catches the exception, prints the frame and ends the run as CRASH."""
    r = boot("qemu-tcg", cmdline=f"fault={fault}")
    assert f"vmxlab: CRASH: exception {vector} ({name}), error code 0x0" in r.serial, r.serial
    assert re.search(r"^  rip [0-9a-f]{16}  cs 0008  rflags", r.serial, re.M)
    assert re.search(r"^  rax [0-9a-f]{16}  rbx", r.serial, re.M)
    if fault == "pf":  # CR2 holds the address that faulted: 64 GiB
        assert re.search(r"cr2 0000001000000000", r.serial), r.serial
    assert (r.verdict, r.status) == ("CRASH", 2)


def test_stack_overflow_is_reported(boot):
    """fault=stack: the boot stack runs into its unmapped guard page; the #PF
    cannot be delivered on that stack, so the double fault arrives on its own
    stack (IST) and the report names the overflow, instead of the stack
    silently rewriting the page tables below it."""
    r = boot("qemu-tcg", cmdline="fault=stack")
    assert "vmxlab: CRASH: exception 8 (#DF double fault)" in r.serial, r.serial
    assert "the boot stack overflowed into its guard page" in r.serial, r.serial
    assert (r.verdict, r.status) == ("CRASH", 2)


def test_runner_timeout(boot):
    """No verdict before the timeout: the runner kills the engine, says TIMEOUT."""
    r = boot("bochs", timeout=0.3)  # GRUB alone takes longer than this
    assert "vmxlab: verdict" not in r.serial
    assert (r.verdict, r.status) == ("TIMEOUT", 3)


def test_runner_timeout_on_silence(boot):
    """A guest that spins without exits and a tick budget it will not use up
    (max_ticks=2^62): the kernel is fine but says nothing more after the run
    starts, and the runner ends the boot one silence limit later."""
    r = boot("bochs", cmdline=f"tests=bad-spin max_ticks={1 << 62}", timeout=15)
    assert r.serial.splitlines()[-1].startswith("vmxlab: entry checker: "), r.serial
    assert (r.verdict, r.status) == ("TIMEOUT", 3), r.serial
    assert r.seconds >= 15


def test_qemu_bios_vga_text_console(boot, tmp_path):
    """BIOS boot: GRUB leaves VGA text mode and the kernel writes to it: each
    row of the screen holds text exactly where the serial lines, wrapped at
    80 columns, put some (the last 24 rows of them, had they scrolled), and
    the rest are dark."""
    shot = tmp_path / "screen.ppm"
    r = boot("qemu-tcg", cmdline="end=halt", screendump=str(shot))
    assert "vmxlab: loader's framebuffer: type 2, 80x25, 16 bpp, pitch 160, at 0xb8000" in r.serial
    assert "console: serial COM1, VGA text 80x25" in r.serial
    width, height, pixels = read_ppm(shot)
    lit = lambda y0, y1: sum(1 for y in range(y0, y1) for x in range(0, width, 2)
                             if pixels[(y * width + x) * 3 + 1] > 100)
    row = height // 25  # VGA text: 25 rows of characters
    # A line of L characters takes L // 80 + 1 rows (the 80th character
    # wraps); the cursor waits on a blank row after the last.
    text = [i * 80 < len(l) for l in r.serial.splitlines() for i in range(len(l) // 80 + 1)]
    want = (text + [False])[-25:]
    want += [False] * (25 - len(want))
    assert [lit(y * row, (y + 1) * row) > 0 for y in range(25)] == want, r.serial
    assert r.verdict == "UNSUPPORTED"
