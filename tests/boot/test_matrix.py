"""Boot tests of the access-rights matrix (guest/matrix.c, row access-matrix)
and of the comparison of records (hv/run/matrix.c, hv/run/experiment.c) in Bochs. The
number of entries comes from guest/abi.h (MATRIX_ENTRIES, which the guest
checks against its own enumeration), never from a number typed here. The row
runs under each policy with EPT, where the CPU decides (the reference), then
under shadow paging with both ways of handling WP, where the hypervisor does:
every record must be identical to the reference, entry by entry."""
import re

import table
from test_vmx import POLICIES, SKYLAKE, check_boot

ENTRIES = table.BITS["MATRIX_ENTRIES"]
DIFF_RE = re.compile(r"^(\S+) vs (\S+): 1 of (\d+) entries differ; entry (\d+) \(D differs\): "
                     r"(.*): reference (.*) D=(\d); this run (.*) D=(\d)$")


SHADOW = ("shadow-roles", "shadow-flush")
FIRST = f"access-matrix/{POLICIES[0]}/ept"
# The runs compared with the reference: the other policies under EPT, and the
# one policy shadow paging allows under each shadow mode.
COMPARED = [f"access-matrix/{p}/ept" for p in POLICIES[1:]] + \
           [f"access-matrix/intercept/{m}" for m in SHADOW]


def test_every_policy_and_paging_mode_records_the_same_matrix(boot):
    """policy=all: three runs under EPT and two under shadow paging, each
    checked against the guest's reading of the SDM (every guest check passes);
    the first EPT run is the reference and the other four are identical to it,
    entry by entry: shadow paging decides exactly as the CPU does."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="tests=access-matrix")
    check_boot(r, tests="access-matrix")
    assert (f"vmxlab: {FIRST}: {ENTRIES} entries recorded: the reference for the other runs "
            "of access-matrix") in r.serial.splitlines(), r.serial
    compared = [l for l in r.lines("PASS:") if " vs " in l]
    assert compared == [f"{run} vs {FIRST}: {ENTRIES} entries identical"
                        for run in COMPARED], r.serial
    v = boot("bochs", cpu=SKYLAKE, cmdline="tests=access-matrix policy=intercept verbose=1")
    for run in [FIRST] + COMPARED[-2:]:
        assert re.search(rf"^PASS: {run}: access matrix: {ENTRIES} entries \(MATRIX_ENTRIES\) "
                         r"recorded in \d+ TSC ticks$", v.serial, re.M), v.serial


def test_without_ept_the_shadow_modes_agree(boot):
    """Penryn has no EPT: the roles run is the reference, the flush run is
    compared with it, and the guest's own oracle checks both."""
    r = boot("bochs", cpu="core2_penryn_t9600", cmdline="tests=access-matrix")
    check_boot(r, tests="access-matrix", policies=("intercept",), mmu="shadow-roles", ept=False)
    assert ("vmxlab: access-matrix: this CPU has no EPT: the first run under shadow paging is "
            "the reference, and the guest's own reading of the SDM checks each run") in r.serial
    assert [l for l in r.lines("PASS:") if " vs " in l] == [
        f"access-matrix/intercept/shadow-flush vs access-matrix/intercept/shadow-roles: "
        f"{ENTRIES} entries identical"], r.serial


def test_a_corrupted_entry_fails_by_name(boot):
    """corrupt_record=N flips the D bit of entry N in every run compared with
    the reference: each comparison fails, naming that entry, its inputs and
    both outcomes; the reference run itself and the guests' checks pass."""
    n = ENTRIES - 1
    r = boot("bochs", cpu=SKYLAKE, cmdline=f"tests=access-matrix corrupt_record={n}")
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial
    failed = r.lines("FAIL:")
    assert len(failed) == len(COMPARED), r.serial
    for want, line in zip(COMPARED, failed):
        m = DIFF_RE.match(line)
        assert m, line
        run, ref, of, entry, inputs, ref_out, ref_d, run_out, run_d = m.groups()
        assert (run, ref, int(of), int(entry)) == (want, FIRST, ENTRIES, n)
        assert inputs.startswith(("4 KiB page, PDE ", "2 MiB page, PDE ")), inputs
        assert ref_out == run_out and {ref_d, run_d} == {"0", "1"}, line
    for run in [FIRST] + COMPARED:
        assert re.search(rf"^PASS: {run}: ran to its end; \d+ guest checks passed, "
                         "0 failed", r.serial, re.M), r.serial


def test_a_corrupted_entry_beyond_the_record_is_refused(boot):
    """corrupt_record= past the last entry is a clear FAIL, not a quiet pass."""
    r = boot("bochs", cpu=SKYLAKE, cmdline=f"tests=access-matrix corrupt_record={ENTRIES}")
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial
    assert r.lines("FAIL:") == [f"{run}: corrupt_record={ENTRIES}: this run "
                                f"recorded only {ENTRIES} entries" for run in COMPARED], r.serial


def test_one_run_is_only_a_reference(boot):
    """Passthrough alone: shadow paging refuses it, so its EPT run has nothing
    to be compared with: no comparison line, and it passes on its own checks."""
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
