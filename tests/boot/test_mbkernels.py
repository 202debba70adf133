"""The multiboot v1 test kernels (guest/multiboot) under their reference platform,
`qemu-system-x86_64 -kernel` with TCG: each case of mbkernels.CASES must print its golden
text (with QEMU TCG's known deviations from the SDM put back) and end with its exact exit
status; each bad image of mbimages.BAD_IMAGES must meet QEMU's recorded reaction. The
golden files are what vmxlab must print for the same cases (issue 16)."""
import os
import re
import subprocess

import pytest

import mbimages
import mbkernels
from mbkernels import CASES, QEMU_TCG_DEVIATIONS


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_qemu_runs_case(case):
    r = mbkernels.run_qemu(case)
    swap = mbkernels.deviations(case)
    expected = [swap.get(line, line) for line in mbkernels.golden(case)]
    difference = mbkernels.first_difference(expected, r.lines)
    assert difference is None, f"{case.name}: {difference}\n" + "\n".join(r.lines[-40:])
    code = case.code if case.qemu_code is None else case.qemu_code
    assert r.status == (code << 1) | 1, (r.status, r.stderr)
    # The kernel's own summary agrees with its PASS and FAIL lines.
    passed = sum(line.startswith("PASS: ") for line in r.lines)
    failed = sum(line.startswith("FAIL: ") for line in r.lines)
    summaries = [line for line in r.lines if re.fullmatch(r"\d+ passed, \d+ failed", line)]
    assert summaries in ([], [f"{passed} passed, {failed} failed"]), summaries


def test_golden_files_are_the_sdms():
    """No golden file holds a FAIL line, and each deviation names a line some golden
    file holds for that kernel."""
    for case in CASES:
        assert not [line for line in mbkernels.golden(case) if line.startswith("FAIL")], case
    for kernel, gold, _, why in QEMU_TCG_DEVIATIONS:
        assert why and any(gold in mbkernels.golden(c) for c in CASES if c.kernel == kernel), gold


def test_golden_compare():
    """The comparison names the first difference, and a folded run must match in count
    and hash."""
    lines = [f"line {i}" for i in range(1, 3001)] + ["end"]
    gold = mbkernels.fold(lines)
    assert len(gold) == 2 * mbkernels.FOLD_KEEP + 1
    assert mbkernels.first_difference(gold, lines) is None
    assert "lines 21 to 2981" in mbkernels.first_difference(gold, lines[:1000] + lines[1001:])
    changed = lines[:500] + ["line x"] + lines[501:]
    assert "not the 2961 lines" in mbkernels.first_difference(gold, changed)
    assert mbkernels.first_difference(gold, lines[:-1]) == \
        "line 3001: expected 'end', got the end of the output"
    assert "got 'more'" in mbkernels.first_difference(gold, lines + ["more"])


@pytest.mark.parametrize("bad", mbimages.BAD_IMAGES, ids=[b.name for b in mbimages.BAD_IMAGES])
def test_qemu_on_bad_image(bad, tmp_path):
    """QEMU's reaction, as the table records it: vmxlab must refuse each by name instead."""
    image = tmp_path / bad.name
    image.write_bytes(bad.build())
    case = mbkernels.Case(bad.name, str(image))
    try:
        r = mbkernels.run_qemu(case, kernel_path=str(image),
                               timeout=mbimages.HANG_SECONDS if bad.qemu_status is None else 30)
    except subprocess.TimeoutExpired:
        assert bad.qemu_status is None, f"{bad.name}: QEMU did not exit"
        return
    assert bad.qemu_status is not None, f"{bad.name}: QEMU exited with {r.status}: {r.stderr}"
    assert r.status == bad.qemu_status, (r.status, r.stderr)
    if bad.qemu_message:
        assert r.stderr.strip().splitlines() == [f"qemu-system-x86_64: {bad.qemu_message}"]
    else:
        assert r.stderr == ""


def readme_excerpts():
    """The blocks of guest/multiboot/README.md that show what QEMU prints: a first line
    "# KERNEL, -m MIB, -append 'ARGS'[, -cpu CPU]", then lines of the kernel's output."""
    with open(os.path.join(mbkernels.ROOT, "guest", "multiboot", "README.md")) as f:
        blocks = re.findall(r"^```text\n(.*?)^```", f.read(), re.S | re.M)
    head = re.compile(r"# (\S+), -m (\d+), -append '([^']*)'(?:, -cpu (\S+))?")
    out = []
    for block in blocks:
        lines = block.splitlines()
        m = head.fullmatch(lines[0])
        assert m, f"a text block of guest/multiboot/README.md without its QEMU line: {lines[0]}"
        out.append(pytest.param(m.groups(), lines[1:], id=lines[0][2:]))
    return out


@pytest.mark.parametrize("run,lines", readme_excerpts())
def test_readme_shows_what_qemu_prints(run, lines):
    kernel, mem, args, cpu = run
    r = mbkernels.run_qemu(mbkernels.Case("readme", kernel, args, mem=int(mem)),
                           cpu=cpu or mbkernels.QEMU_CPU)
    starts = [i for i, line in enumerate(r.lines) if line == lines[0]]
    assert any(r.lines[i:i + len(lines)] == lines for i in starts), "\n".join(r.lines)
