"""Boot tests of the virtual PC (hv/dev/, docs/guest-abi.md section 14) through the row
pc-devices (guest/pc.c), which makes the accesses a kernel written for QEMU's pc machine
makes and checks each answer, on the two paths of the APIC page (hv/exit/mmio.c): a CPU
with APIC-register virtualisation (Bochs' corei7_skylake_x) answers reads from the
virtual-APIC page and exits after writes; CPUs without it (corei7_sandy_bridge_2600k,
and core2_penryn_t9600, which has no EPT either) exit before every access, as an EPT
violation or, under shadow paging, as the #PF of the page the shadow leaves unmapped.
The guest counts its APIC accesses by kind; the run's exits must match them exactly."""
import re

import pytest

from test_vmx import outcome_lines

COUNTS_RE = re.compile(r"^guest pc-devices: pc: APIC page: reads (\d+), exiting reads (\d+), "
                       r"writes (\d+), silent writes (\d+), while disabled (\d+)$", re.M)
EXITS_RE = re.compile(r"; exits: (.*)$")


def run(boot, cpu, paging):
    r = boot("bochs", cpu=cpu, cmdline=f"tests=pc-devices paging={paging}")
    text = outcome_lines(r)["pc-devices"]
    assert text.startswith("ran to its end; 21 guest checks passed, 0 failed"), text
    assert (r.verdict, r.status) == ("PASS", 0), r.serial
    reads, exiting, writes, silent, disabled = map(int, COUNTS_RE.search(r.serial).groups())
    exits = {k: int(v) for k, v in (p.rsplit(" ", 1)
                                    for p in EXITS_RE.search(text).group(1).split(", "))}
    return (reads, exiting, writes, silent, disabled), exits


@pytest.mark.parametrize("paging", ["ept", "shadow"])
def test_apic_virtualised(boot, paging):
    """Reads the CPU answers (the TPR, ICR high) and TPR writes cost nothing; reads of
    PPR and the current count exit as APIC accesses, every other write as an APIC
    write after the fact; while the APIC is disabled its page is unmapped: EPT
    violations, or under shadow paging #PF exits (among the fills of other pages)."""
    (reads, exiting, writes, silent, disabled), exits = run(boot, "corei7_skylake_x", paging)
    assert (exits["APIC_ACCESS"], exits["APIC_WRITE"]) == (exiting, writes), exits
    if paging == "ept":
        assert exits["EPT_VIOLATION"] == disabled, exits
    else:
        assert "EPT_VIOLATION" not in exits and exits["EXCEPTION_NMI"] >= disabled, exits
    assert reads and silent and disabled


@pytest.mark.parametrize("cpu, paging", [("corei7_sandy_bridge_2600k", "ept"),
                                         ("corei7_sandy_bridge_2600k", "shadow"),
                                         ("core2_penryn_t9600", "shadow")])
def test_apic_emulated(boot, cpu, paging):
    """Without APIC-register virtualisation every access to the page exits before it
    happens and is decoded and emulated: one EPT violation each, or under shadow
    paging one #PF exit each (and the fills of the other pages)."""
    counts, exits = run(boot, cpu, paging)
    assert "APIC_ACCESS" not in exits and "APIC_WRITE" not in exits, exits
    if paging == "ept":
        assert exits["EPT_VIOLATION"] == sum(counts), (counts, exits)
    else:
        assert "EPT_VIOLATION" not in exits and exits["EXCEPTION_NMI"] >= sum(counts), exits
