"""Guests from outside the table: one added as docs/guest-abi.md says (one
file, one row) in a scratch copy of the tree; one built with the guest SDK
and booted as a GRUB module (make run GUEST=...); and broken ELF files, each
refused by name. Also trace=, which prints exits decoded."""
import importlib.util
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

import table

ROW = '''    { .name = "scratch-probe", .guest = "scratch_probe", .runs = ONCE, .measured = true,
      .what = "a guest only this test knows",
      .expect = { { EXIT_REASON_CPUID, 3, 0, 0 } } },
'''
PROBE = '''// scratch_probe.c: a guest only tests/boot/test_guests.py knows: three
// CPUIDs an iteration, in windows.
#include "rt/guest.h"

static uint64_t three_cpuids(uint64_t n)
{
    return cpuid_loop(3 * n);
}

int guest_main(struct guest_params *p)
{
    return measure(p, three_cpuids);
}
'''


def make(*args, cwd):
    p = subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def test_a_new_guest_is_one_file_and_one_row(boot, tmp_path):
    """In a scratch copy: add guest/scratch_probe.c and one row to
    hv/run/experiments.c, nothing else. It builds, it is embedded, it runs, and
    its exits are checked against the row (the table reader sees it too)."""
    tree = tmp_path / "tree"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if os.path.exists(os.path.join(ROOT, f)):
            os.makedirs(tree / os.path.dirname(f), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), tree / f)
    (tree / "guest" / "scratch_probe.c").write_text(PROBE)
    rows = (tree / "hv" / "run" / "experiments.c").read_text()
    at = rows.index("\n};", rows.index("experiments[] = {"))
    (tree / "hv" / "run" / "experiments.c").write_text(rows[:at + 1] + ROW + rows[at + 1:])
    make("-j2", "all", cwd=tree)
    assert "scratch_probe" in (tree / "build" / "guests.S").read_text()

    spec = importlib.util.spec_from_file_location("scratch_table", tree / "tests/boot/table.py")
    scratch_table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scratch_table)
    [row] = [r for r in scratch_table.rows() if r.name == "scratch-probe"]
    assert row.measured and row.expect[0].reason == "CPUID" and row.expect[0].per_iter == 3

    import run as runner
    r = runner.run(str(tree / "build" / "vmxlab.iso"), engine="bochs",
                   cmdline="tests=scratch-probe toggles=50")
    want = 3 * 50 * 3  # windows x iterations x per_iter, as the row says
    assert (f"PASS: scratch-probe: 3 x 50 iterations: CPUID exits expected {want}, "
            f"measured {want}; other exits expected 0, measured 0") in r.serial, r.serial
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def test_a_misplaced_guest_name_does_not_build(tmp_path):
    """A row that names a guest with no source stops the build, saying so."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns("build", ".git", "__pycache__"))
    rows = (tree / "hv" / "run" / "experiments.c").read_text()
    at = rows.index("\n};", rows.index("experiments[] = {"))
    bad = ROW.replace('"scratch_probe"', '"no_such_guest"')
    (tree / "hv" / "run" / "experiments.c").write_text(rows[:at + 1] + bad + rows[at + 1:])
    p = subprocess.run(["make", "-n", "all"], cwd=tree, capture_output=True, text=True)
    assert p.returncode != 0
    assert ("hv/run/experiments.c names the guest 'no_such_guest', but there is no "
            "guest/no_such_guest.c or guest/no_such_guest.S") in p.stderr, p.stderr


def sdk_build(folder, sources={}):
    """A copy of the SDK that `make guest-sdk` makes, in folder, with the
    guests in sources (NAME: C text) added to hello.c, each built to NAME.elf."""
    make("guest-sdk", cwd=ROOT)
    shutil.copytree(os.path.join(ROOT, "build", "guest-sdk"), folder)
    for f in folder.glob("*.elf"):
        f.unlink()
    for name, text in sources.items():
        (folder / f"{name}.c").write_text(text)
    make(cwd=folder)
    return folder


@pytest.fixture(scope="module")
def sdk_guest(tmp_path_factory):
    """hello.elf, built outside the tree with the SDK."""
    return sdk_build(tmp_path_factory.mktemp("sdk") / "sdk") / "hello.elf"


def test_guest_from_the_sdk_runs_as_a_module(boot, sdk_guest):
    """make run GUEST=hello.elf: a GRUB module, guest=hello, every policy, the
    same lines as a built-in guest (its output, its result line, its exits)."""
    r = boot("bochs", cmdline="toggles=20", guests=[str(sdk_guest)])
    assert "guest=hello" in r.serial
    for policy in ("intercept", "passthrough", "adaptive"):
        assert f"guest hello/{policy}: hello from a guest built with the vmxlab SDK" in r.serial
        assert re.search(rf"^PASS: hello/{policy}: ran to its end; 1 guest check passed, 0 "
                         r"failed; exits: CPUID 60, VMCALL 9$", r.serial, re.M), r.serial
    res = [j for j in r.json_lines("vmxlab-result") if j["experiment"] == "hello"]
    assert [j["policy"] for j in res] == ["intercept", "passthrough", "adaptive"]
    assert all(j["exits_by_reason"] == {"CPUID": 60} for j in res), res
    assert not any(l.startswith("PASS: wp-toggle") for l in r.serial.splitlines())
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


ONE_WINDOW = '''// onewin.c: one window of CPUIDs, whatever windows= asks for.
#include "guest/rt/guest.h"

int guest_main(struct guest_params *p)
{
    struct guest_params one = *p;
    one.windows = 1;
    return measure(&one, cpuid_loop);
}
'''
HUGE_CLAIM = '''// huge.c: claims two windows of 2^64 - 1 ticks each, one iteration each.
#include "guest/rt/guest.h"

int guest_main(struct guest_params *p)
{
    (void)p;
    for (int i = 0; i < 2; i++) {
        hc_mark_begin();
        hc_mark_end(1, ~0ull);
    }
    return 0;
}
'''


NOPS = '''// nops.c: windows of a loop without exits (guest/toggle.S nop_loop, 3
// instructions an iteration), long ones.
#include "guest/rt/guest.h"

uint64_t nop_loop(uint64_t n);

int guest_main(struct guest_params *p)
{
    return measure(p, nop_loop);
}
'''


def test_a_long_run_says_it_goes_on_between_windows(boot, tmp_path):
    """The runner ends a boot whose console is silent for its TIMEOUT, so a
    run says it goes on at the end of a window once PROGRESS_TICKS (hv/exit/exit.h)
    have passed since its start or its last such line: at the places the
    window's ticks say under Bochs, and never inside a window (the window
    after the line takes exactly as long as the one before it)."""
    with open(os.path.join(ROOT, "hv", "exit", "exit.h")) as f:
        every = 1 << int(re.search(r"#define PROGRESS_TICKS \(1ull << (\d+)\)", f.read())[1])
    sdk = sdk_build(tmp_path / "sdk", {"nops": NOPS})
    n = every // 3 * 6 // 10  # 3 ticks an iteration: a window is 0.6 of the interval
    r = boot("bochs", cmdline=f"policy=intercept toggles={n} windows=3",
             guests=[str(sdk / "nops.elf")])
    [res] = r.json_lines("vmxlab-result")
    want, since = [], 0
    for i, t in enumerate(res["ticks"]):  # the TSC between windows adds little
        since += t
        if since >= every:
            want.append(f"vmxlab: nops/intercept: window {i + 1} done, the run goes on")
            since = 0
    assert len(want) == 1, res  # after window 2
    lines = r.serial.splitlines()
    assert [l for l in lines if "the run goes on" in l] == want, r.serial
    assert lines.index(want[-1]) < lines.index(next(l for l in lines if l.startswith(
        "PASS: nops/intercept: ran to its end")))
    assert res["ticks"][2] == res["ticks"][1], res  # window 3 follows a line, 2 does not
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def test_the_table_takes_the_windows_a_guest_made(boot, tmp_path):
    """A guest from guest= makes the windows it likes: the table of measured
    runs divides by those, not by windows= (one window of 20 CPUIDs exiting
    once each is 1.00 exit per iteration, not 0.33), says how many there were,
    and marks the times as the guest's claim, as its result line does. Two
    windows claimed at 2^64 - 1 ticks have that median (their sum wrapped)."""
    sdk = sdk_build(tmp_path / "sdk", {"onewin": ONE_WINDOW, "huge": HUGE_CLAIM})
    r = boot("bochs", cmdline="policy=intercept toggles=20",
             guests=[str(sdk / "onewin.elf"), str(sdk / "huge.elf")])
    rows = {l.split()[0]: l for l in r.serial.splitlines() if l.startswith("  ")}
    assert re.fullmatch(r"  onewin/intercept +20 +1\.00 +[0-9.]+ +[0-9.]+  \(1 window\)  "
                        r"\(guest's claim\)", rows["onewin/intercept"]), r.serial
    res = {j["experiment"]: j for j in r.json_lines("vmxlab-result")}
    assert (res["onewin"]["windows"], res["onewin"]["exits"]) == (1, 20), res
    assert res["onewin"]["guest_claim"] is True
    top = 2**64 - 1
    assert res["huge"]["ticks"] == [top, top] and res["huge"]["ticks_median"] == top, res
    assert re.fullmatch(rf"  huge/intercept +1 +0\.00 +{top}\.00 +{top}\.00  "
                        r"\(2 windows\)  \(guest's claim\)", rows["huge/intercept"]), r.serial
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def elf_phdr_load(data):
    """Offset of the first PT_LOAD program header."""
    phoff = int.from_bytes(data[32:40], "little")
    for i in range(int.from_bytes(data[56:58], "little")):
        at = phoff + 56 * i
        if int.from_bytes(data[at:at + 4], "little") == 1:
            return at
    raise AssertionError("no PT_LOAD")


def test_broken_guest_files_are_refused_by_name(boot, sdk_guest, tmp_path):
    """Each kind of wrong file is refused with a message that names what is
    wrong; the boot goes on to the next and ends FAIL, never CRASH."""
    good = sdk_guest.read_bytes()
    broken = {}
    b = bytearray(good); b[4] = 1
    broken["class32"] = (b, "ELF class 1, not ELFCLASS64 (2)")
    b = bytearray(good); b[18] = 3; b[19] = 0
    broken["machine"] = (b, "machine 3, not x86-64 (62)")
    broken["truncated"] = (good[:200], "truncated:")
    b = bytearray(good); at = elf_phdr_load(b)
    b[at + 24:at + 32] = (0x800000).to_bytes(8, "little")
    broken["outside"] = (b, "is outside guest RAM (0 to 0x400000)")
    b = bytearray(good); b[24:32] = (0x300000).to_bytes(8, "little")  # RAM, no segment
    broken["entry"] = (b, "entry point 0x300000 is not in the file bytes of an executable "
                          "(PF_X) PT_LOAD segment: the guest would start outside its code")
    broken["noheader"] = (good.replace(b"VMXGEST1", b"\0" * 8),
                          "no guest header (magic \"VMXGEST1\")")
    broken["notelf"] = (b"#!/bin/sh\necho not a guest\n", "not an ELF file")
    files = []
    for name, (data, _) in broken.items():
        (tmp_path / f"{name}.elf").write_bytes(bytes(data))
        files.append(str(tmp_path / f"{name}.elf"))
    r = boot("bochs", cmdline="policy=intercept", guests=files)
    for name, (_, words) in broken.items():
        line = [l for l in r.lines("FAIL:") if l.startswith(f"{name}/intercept: ")]
        assert len(line) == 1 and f"guest image '{name}' refused: " in line[0], r.serial
        assert words in line[0], (words, line[0])
    assert "guest module" not in r.serial and "CRASH" not in r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


def test_two_modules_of_one_name_run_neither(boot, sdk_guest, tmp_path, monkeypatch):
    """A hand-written grub.cfg may give two modules one name: guest= cannot say
    which it means, so neither runs and each run asked for fails, naming the
    name (the first module once ran, and passed). The runner refuses such
    files itself, so its grub.cfg is rewritten here."""
    import run as runner
    other = tmp_path / "other.elf"
    other.write_bytes(b"a second file, not a guest")
    written = runner.grub_cfg
    monkeypatch.setattr(runner, "grub_cfg", lambda cmdline, modules=(): written(
        cmdline, modules).replace("/boot/guests/other.elf other", "/boot/guests/other.elf hello"))
    r = boot("bochs", cmdline="guest=hello", guests=[str(sdk_guest), str(other)])
    fails = [l for l in r.serial.splitlines() if l.startswith(("PASS:", "FAIL:"))]
    assert fails == [f"FAIL: hello/{p}: guest 'hello' refused: 2 GRUB modules are named "
                     "'hello', so vmxlab cannot tell which one to run: give each module its "
                     "own name" for p in ("intercept", "passthrough", "adaptive")], r.serial
    assert "guest hello" not in r.serial  # hello.elf never ran
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


def test_modules_past_the_limit_are_named_not_run(boot, sdk_guest, tmp_path, monkeypatch):
    """A module past MB_MAX_MODS once failed the whole boot: now the kernel
    reads the first ones, says it ignored the others, and a guest= name among
    those fails by name. The runner refuses that many files, so its grub.cfg
    gets the extra module here."""
    import run as runner
    n = runner.max_modules()
    files = []
    for i in range(n):
        files.append(tmp_path / f"m{i}.elf")
        shutil.copy(sdk_guest, files[-1])
    last = f"/boot/guests/m{n - 1}.elf"
    written = runner.grub_cfg
    monkeypatch.setattr(runner, "grub_cfg", lambda cmdline, modules=(): written(
        cmdline, modules).replace(f"{last} m{n - 1}", f"{last} m{n - 1}\n    module2 {last} past"))
    r = boot("bochs", cmdline="policy=intercept toggles=20 guest=m0,past",
             guests=[str(f) for f in files])
    assert (f"vmxlab: the loader gave {n + 1} modules; vmxlab reads the first {n} "
            f"(MB_MAX_MODS) and ignores the other 1") in r.serial.splitlines(), r.serial
    read = ", ".join(f"'m{i}'" for i in range(n))
    assert [l for l in r.serial.splitlines() if l.startswith(("PASS:", "FAIL:"))] == [
        "PASS: m0/intercept: ran to its end; 1 guest check passed, 0 failed; exits: CPUID 60, "
        "VMCALL 9",
        f"FAIL: past/intercept: guest 'past' refused: no GRUB module named 'past' among the {n} "
        f"vmxlab reads (MB_MAX_MODS), and it ignored 1 more (modules read: {read})"], r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


def test_a_missing_module_is_named(boot):
    r = boot("bochs", cmdline="policy=intercept guest=nowhere")
    assert ("FAIL: nowhere/intercept: guest 'nowhere' refused: no GRUB module named "
            "'nowhere' (modules: none)") in r.serial, r.serial
    assert (r.verdict, r.status) == ("FAIL", 1)


def test_trace_prints_exits_decoded(boot):
    """trace=5: five lines per run, each with the reason, RIP, the instruction
    bytes read through the guest's page tables, the decoded qualification and
    what the handler did."""
    r = boot("bochs", cmdline="tests=wp-toggle,plain-io policy=intercept trace=5 toggles=10")
    runs = ("wp-toggle/intercept", "plain-io/intercept")
    for label in runs:
        lines = [l for l in r.serial.splitlines() if l.startswith(f"trace {label} #")]
        assert [l.split(":")[0] for l in lines] == [f"trace {label} #{i}" for i in range(1, 6)]
    assert re.search(r"^trace wp-toggle/intercept #2: CR_ACCESS \(28\) at RIP 0x[0-9a-f]+ "
                     r"\[0f 22 c6\]: MOV to CR0 from RSI; CR0 <- 0x80000033 \(the real CR0 "
                     r"0x80000033, the shadow 0x80000033\)$", r.serial, re.M), r.serial
    assert re.search(r"^trace wp-toggle/intercept #1: VMCALL \(18\) at RIP 0x[0-9a-f]+ "
                     r"\[0f 01 c1\]: hypercall 3 \(HC_MARK\)$", r.serial, re.M), r.serial
    assert re.search(r"^trace plain-io/intercept #1: CPUID \(10\) .*\[0f a2\]: CPUID leaf "
                     r"0x40000000, subleaf 0x0; EAX 0x40000001 EBX 0x6c786d76 ECX 0x6261 "
                     r"EDX 0x0$", r.serial, re.M), r.serial
    assert (r.verdict, r.status) == ("PASS", 0), r.serial
