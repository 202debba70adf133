"""Boot tests of the access-rights matrix (guest/matrix.c, row access-matrix)
and of the comparison of records (hv/matrix.c, hv/experiment.c) in Bochs. The
number of entries comes from guest/abi.h (MATRIX_ENTRIES, which the guest
checks against its own enumeration), never from a number typed here."""
import re

import table
from test_vmx import POLICIES, SKYLAKE, check_boot

ENTRIES = table.BITS["MATRIX_ENTRIES"]
DIFF_RE = re.compile(r"^(\S+) vs (\S+): 1 of (\d+) entries differ; entry (\d+) \(D differs\): "
                     r"(.*): reference (.*) D=(\d); this run (.*) D=(\d)$")


def test_every_policy_records_the_same_matrix(boot):
    """policy=all: three runs, each checked against the guest's reading of the
    SDM (every guest check passes); the first is the reference and the other
    two are identical to it, entry by entry."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="tests=access-matrix")
    check_boot(r, tests="access-matrix")
    first = f"access-matrix/{POLICIES[0]}"
    assert (f"vmxlab: {first}: {ENTRIES} entries recorded: the reference for the other runs "
            "of access-matrix") in r.serial.splitlines(), r.serial
    compared = [l for l in r.lines("PASS:") if " vs " in l]
    assert compared == [f"access-matrix/{p} vs {first}: {ENTRIES} entries identical"
                        for p in POLICIES[1:]], r.serial
    for p in POLICIES:
        assert re.search(rf"^guest access-matrix/{p}: access matrix: {ENTRIES} entries in "
                         r"\d+ TSC ticks$", r.serial, re.M), r.serial


def test_a_corrupted_entry_fails_by_name(boot):
    """corrupt_record=N flips the D bit of entry N in every run compared with
    the reference: each comparison fails, naming that entry, its inputs and
    both outcomes; the reference run itself and the guests' checks pass."""
    n = ENTRIES - 1
    r = boot("bochs", cpu=SKYLAKE, cmdline=f"tests=access-matrix corrupt_record={n}")
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial
    failed = r.lines("FAIL:")
    assert len(failed) == len(POLICIES) - 1, r.serial
    for p, line in zip(POLICIES[1:], failed):
        m = DIFF_RE.match(line)
        assert m, line
        run, ref, of, entry, inputs, ref_out, ref_d, run_out, run_d = m.groups()
        assert (run, ref, int(of), int(entry)) == (f"access-matrix/{p}",
                                                   f"access-matrix/{POLICIES[0]}", ENTRIES, n)
        assert inputs.startswith(("4 KiB page, PDE ", "2 MiB page, PDE ")), inputs
        assert ref_out == run_out and {ref_d, run_d} == {"0", "1"}, line
    for p in POLICIES:
        assert re.search(rf"^PASS: access-matrix/{p}: ran to its end; \d+ guest checks passed, "
                         "0 failed", r.serial, re.M), r.serial


def test_a_corrupted_entry_beyond_the_record_is_refused(boot):
    """corrupt_record= past the last entry is a clear FAIL, not a quiet pass."""
    r = boot("bochs", cpu=SKYLAKE, cmdline=f"tests=access-matrix corrupt_record={ENTRIES}")
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial
    assert r.lines("FAIL:") == [f"access-matrix/{p}: corrupt_record={ENTRIES}: this run "
                                f"recorded only {ENTRIES} entries" for p in POLICIES[1:]], r.serial


def test_one_run_is_only_a_reference(boot):
    """With a single policy there is nothing to compare with: no comparison
    line, and the run passes on its own checks."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="tests=access-matrix policy=passthrough")
    check_boot(r, tests="access-matrix", policies=("passthrough",))
    assert not [l for l in r.serial.splitlines() if " vs " in l], r.serial


def test_a_record_that_wraps_past_2_64_stops_the_run(boot):
    """HC_RECORD checks the buffer against the room left in guest RAM, so a
    length that wraps GPA + length past 2^64 is refused, not copied."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="tests=bad-record")
    check_boot(r, tests="bad-record")
    assert ("PASS: bad-record: HC_RECORD with a buffer whose end wraps past 2^64: stopped as "
            "expected: hypercall 5 with a bad buffer 0x1000 (18446744073709549568 bytes): "
            "outside guest RAM") in r.serial.splitlines(), r.serial
