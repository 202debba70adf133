"""Boot tests of the hostile-guest suite (group bad-guest in hv/run/experiments.c,
guest/hostile.c): for several seeds, every random CR write, CPUID leaf, MSR
index and I/O port gets its documented answer (the guest checks each against
guest/crmodel.h and guest/abi.h, and names the first wrong ones), every
misdeed of guest/misbehave.c ends its run as the table says, the suite goes on
to the next run each time, and the hypervisor's code and read-only data are
the same after the suite as before."""
import re

import pytest

from test_vmx import check_boot, outcome_lines

SUM_RE = re.compile(r"^PASS: text-check: the hypervisor's code and read-only data are unchanged "
                    r"after the hostile guests \(FNV-1a (0x[0-9a-f]+), before (0x[0-9a-f]+)\)$",
                    re.M)


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_hostile_suite(boot, seed):
    r = boot("bochs", cmdline=f"tests=bad-guest seed={seed}")
    check_boot(r, tests="bad-guest")
    m = SUM_RE.search(r.serial)
    assert m and m.group(1) == m.group(2), r.serial
    runs = outcome_lines(r)
    for label in ("hostile-cr/intercept", "hostile-cr/passthrough", "hostile-cr/adaptive",
                  "hostile-cpuid-msr-io", "hostile-insns", "hostile-ram-dirty",
                  "hostile-ram-check"):
        assert runs[label].startswith("ran to its end; 1 guest check passed, 0 failed"), runs
    assert "hostile:" not in r.serial  # no wrong answer was spelled out
    # The summary tells runs that passed from those that failed, and every
    # run's ending: they add up.
    m = re.search(r"^vmxlab: runs: (\d+) as expected, 0 not; (\d+) exited, (\d+) halted, "
                  r"(\d+) stopped by the hypervisor, (\d+) timed out$", r.serial, re.M)
    assert m and int(m.group(1)) == sum(map(int, m.groups()[1:])), r.serial


def test_a_seed_is_reproducible(boot):
    """The same seed makes the same misdeeds (the ports touched, in order);
    another seed makes others."""
    io = []
    for seed in (5, 5, 6):
        r = boot("bochs", cmdline=f"tests=hostile-cpuid-msr-io seed={seed}")
        check_boot(r, tests="hostile-cpuid-msr-io")
        io.append(outcome_lines(r)["hostile-cpuid-msr-io"])
    assert io[0] == io[1] != io[2], io


def test_hostile_suite_under_shadow_paging(boot):
    """The same misdeeds with shadow paging: random CR4 writes flush and refill
    the shadow tables, and a read outside RAM is found by the walk."""
    r = boot("bochs", cmdline="tests=bad-guest paging=shadow seed=3")
    check_boot(r, tests="bad-guest", policies=("intercept",), mmu="shadow-roles")
    m = SUM_RE.search(r.serial)
    assert m and m.group(1) == m.group(2), r.serial
