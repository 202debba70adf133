"""exitpath=fast (hv/vmx/exit_fast.S) against exitpath=c, in Bochs. The fast path
finishes a null VMCALL and a MOV to CR0 itself and hands every other exit to
the C path, so every row of the table must pass under it with the very PASS
lines and exit counts of the C path; the rows whose exits must fall through
(compatibility mode, single step, the #GP and the registers of cr0-readback,
adaptive's hand-over, the run budgets) are among them. That the fast path is
really taken shows in the cost: fewer instructions per exit, and no more
than the targets of `make bench` (scripts/bench.py)."""
import re

import pytest

from test_vmx import FAST, check_boot, check_refused, results, summary

import bench  # scripts/bench.py, on the path through conftest.py: the fast path's targets
import table

def boot_both(boot, cmdline):
    return {path: boot("bochs", cmdline=f"{cmdline} exitpath={path}") for path in ("c", "fast")}


def without_ticks(result):
    """A vmxlab-result line without what the exit path changes: the times."""
    return {k: v for k, v in result.items() if "tick" not in k and "per_iter" not in k}


def timeless(lines):
    """PASS lines without what time changes: pc-devices polls port 0x61 until the PIT's
    1 ms has passed (guest/pc.c), as many times as the exits' cost allows."""
    return [re.sub(r"\d+ accesses to other ports|IO_INSTRUCTION \d+", "(polls)", line)
            if line.startswith("pc-devices:") else line for line in lines]


def test_every_row_as_under_c_and_cheaper(boot):
    """The default rows under every policy: both paths pass, with the same PASS
    lines in the same order and the same exits, by reason, in every result.
    And the fast path is really taken: an intercepted toggle and a null
    VMCALL cost fewer instructions (Bochs: one tick each, loops subtracted),
    and no more than `make bench`'s targets for the fast path."""
    runs = boot_both(boot, FAST)  # every row, each policy, short windows
    for path, r in runs.items():
        check_boot(r)
        want = "fast" if path == "fast" else "C"
        assert re.search(rf"^vmxlab: VMX on \(.*, exit path {want}\)$", r.serial, re.M), r.serial
    c, fast = runs["c"], runs["fast"]
    assert timeless(fast.lines("PASS:")) == timeless(c.lines("PASS:"))
    assert summary(fast) == summary(c)
    rc, rf = results(c), results(fast)
    assert list(rf) == list(rc)
    for label in rc:
        assert without_ticks(rf[label]) == without_ticks(rc[label]), label
    [cc], [cf] = c.json_lines("vmxlab-costs"), fast.json_lines("vmxlab-costs")
    assert cf["unit"] == cc["unit"] == "instructions"
    assert cf["cr0_trip_per_iter"] < cc["cr0_trip_per_iter"], (cf, cc)
    assert cf["vmcall_trip_per_iter"] < cc["vmcall_trip_per_iter"], (cf, cc)
    assert cf["cr0_trip_per_iter"] <= bench.FAST_CR0_MAX, cf
    assert cf["vmcall_trip_per_iter"] <= bench.FAST_VMCALL_MAX, cf


def test_fall_through_rows_pass(boot):
    """Exits the fast path must leave to C: a MOV to CR0 in compatibility mode,
    one with TF set (and after MOV SS), one from RSP; and those it finishes
    itself: from every other register, NW with CD, the #GPs. Every check of
    those rows is printed (verbose=1) and passes, under each policy."""
    tests = "compat-mode,single-step,cr0-readback"
    r = boot("bochs", cmdline=f"tests={tests} exitpath=fast verbose=1")
    check_boot(r, tests=tests)
    assert "exit path fast)" in r.serial, r.serial
    for policy in table.policies(0):
        for check in ("compatibility mode: MOV to CR0 from EBX ignores RBX[63:32] and lands",
                      "compatibility mode: MOV to CR0 at 0xfffffffd lands and RIP wraps to 0",
                      "TF set: one #DB (DR6.BS) right after the MOV to CR0, which lands",
                      "TF set, MOV SS, MOV to CR0: one #DB (DR6.BS) right after the MOV to "
                      "CR0, not later",
                      "MOV to CR0 from each of the 16 general registers, RSP too, flipping WP "
                      "and back: CR0 reads back each value written",
                      "MOV to CR0 setting CD and NW together lands and reads back",
                      "MOV to CR0 setting NW without CD raises #GP(0) and changes nothing",
                      "MOV to CR0 with reserved bit 63 set raises #GP(0)"):
            assert any(l.endswith(f"/{policy}: {check}") for l in r.lines("PASS:")), (policy, check)


@pytest.mark.parametrize("threshold", [1, 6])
def test_adaptive_hand_over(boot, threshold):
    """The threshold-th WP change is handed to C, which hands WP over; the
    changes before it are counted down in the fast path."""
    r = boot("bochs", cmdline=f"policy=adaptive tests=wp-toggle toggles=7 windows=1 "
                              f"threshold={threshold} exitpath=fast")
    res = check_boot(r, tests="wp-toggle", policies=("adaptive",), n=7, w=1, t=threshold)
    assert res["wp-toggle/adaptive"]["cr0_guest_owned"] == "0x10000"


def test_budgets_are_exact(boot):
    """A run may make exactly max_exits exits, as under C: the null VMCALLs
    the fast path counts down take the same share of the budget. The baseline
    run's exits beyond its loop are counted with trace=, which prints each
    exit (and turns the fast path off)."""
    n = 1500
    t = boot("bochs", cmdline="tests=baseline toggles=1 windows=1 trace=100 exitpath=fast")
    assert "exit path C (trace= is on)" in t.serial, t.serial
    extra = len([l for l in t.serial.splitlines() if l.startswith("trace baseline #")]) - 1
    total = n + extra
    cmd = f"tests=baseline toggles={n} windows=1 exitpath=fast"
    ok = boot("bochs", cmdline=f"{cmd} max_exits={total}")
    check_boot(ok, tests="baseline", policies=("intercept",), n=n, w=1)
    # One exit short: the run is stopped at its last exit (HC_EXIT, C's); far
    # short: inside the loop, at a null VMCALL, which the fast path leaves to C
    # once the budget is spent.
    for budget in (total - 1, n // 2):
        short = boot("bochs", cmdline=f"{cmd} max_exits={budget}")
        assert short.lines("FAIL:") == ["baseline: timed out: used up its budget of exits "
                                        "(max_exits=)"], (budget, short.serial)
    # The TSC budget, read every 1024 exits: null hypercalls forever, mostly
    # in the fast path, still end on time.
    r = boot("bochs", cmdline="tests=bad-exit-flood max_ticks=300000 exitpath=fast")
    check_boot(r, tests="bad-exit-flood")
    assert ("PASS: bad-exit-flood: null hypercalls forever: timed out as expected: used up its "
            "budget of 300000 TSC ticks (max_ticks=)") in r.serial.splitlines(), r.serial


def test_bad_exitpath_refused(boot):
    r = boot("bochs", cmdline="exitpath=asm")
    check_refused(r, "bad value 'asm' for exitpath: expected one of c, fast")
