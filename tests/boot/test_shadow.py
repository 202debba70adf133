"""Boot tests of shadow paging (hv/mmu/shadow.c, paging=shadow): every row of the
table passes under both ways of handling a CR0.WP change, with the exits the
table states for each (the CR exits plus the #PF fills the mode implies); a
CPU without EPT runs the experiment with shadow paging instead of stopping;
the policies that would give the guest CR0.WP are refused, naming the rule,
and with unsafe=1 the guest detects what breaks; what shadow paging does not
emulate (leaving IA-32e mode, SMAP with WP=0) stops the run by name; an
EFER.NXE change empties the tables."""
import re

import pytest

import table
from conftest import ROOT
from test_vmx import FAST, N, SKYLAKE, T, W, check_boot, outcome_lines

PENRYN = "core2_penryn_t9600"  # VMX without EPT, VPID or the preemption timer
REFUSED = "CR0.WP must stay host-owned under shadow paging"


@pytest.mark.parametrize("mode,exitpath", [("roles", "fast"), ("flush", "c")])
def test_every_row_under_shadow_paging(boot, mode, exitpath):
    """All rows, exits exact: with flush each WP change empties the tables and
    the window's code page is filled again; with roles the WP=0 tables are
    filled once for the whole run. The two WP-owning policies are left out,
    saying why. One mode runs with each exit path (the fast path hands WP
    changes to C under shadow paging; everything else it finishes itself)."""
    r = boot("bochs", cpu=SKYLAKE,
             cmdline=f"{FAST} paging=shadow shadow_wp={mode} exitpath={exitpath}")
    assert f"vmxlab: VMX on (VMCS revision 0x2b, paging shadow-{mode}, VPID off," in r.serial
    for policy in ("passthrough", "adaptive"):
        assert f"vmxlab: paging=shadow: policy {policy} is not run: {REFUSED}" in r.serial
    res = check_boot(r, policies=("intercept",), mmu=f"shadow-{mode}")
    fills = res["wp-toggle/intercept"]["pf_exits"]["filled"]
    assert fills == (N * W if mode == "flush" else 1), fills
    assert res["cr4-toggle/intercept"]["shadow_flushes"] == N * W


def test_cpu_without_ept_runs_with_shadow_paging(boot):
    """Penryn has VMX but no EPT, no VPID and no VMX-preemption timer: paging
    defaults to shadow, the PIT's NMI is the watchdog, and everything passes."""
    r = boot("bochs", cpu=PENRYN, cmdline=FAST)
    assert ("vmxlab: VMX on (VMCS revision 0x2b, paging shadow-roles, VPID off, watchdog "
            "the PIT's tick as an NMI, exit path C)") in r.serial, r.serial
    assert "this CPU has no usable EPT: shadow paging maps it" in r.serial
    check_boot(r, policies=("intercept",), mmu="shadow-roles", ept=False)
    runs = outcome_lines(r)
    assert runs["bad-spin"].startswith("a loop without exits: timed out as expected"), runs


def test_paging_ept_without_ept_is_unsupported(boot):
    r = boot("bochs", cpu=PENRYN, cmdline="paging=ept")
    assert "vmxlab: UNSUPPORTED: paging=ept, but this CPU's VMX has no usable EPT" in r.serial
    assert (r.verdict, r.status) == ("UNSUPPORTED", 4), r.serial


@pytest.mark.parametrize("cmdline,rule", [
    ("policy=passthrough", REFUSED),
    ("policy=adaptive", REFUSED),
    ("cr0_owned=0x10000", REFUSED),
    ("cr4_owned=0x80", "CR4's paging bits (PSE PAE PGE LA57 PCIDE SMEP SMAP PKE) must stay "
                       "host-owned under shadow paging"),
])
def test_wp_owning_policies_are_refused(boot, cmdline, rule):
    """Asked for by name, a policy shadow paging cannot run ends the boot
    before any guest runs, naming the rule and what to do instead."""
    r = boot("bochs", cpu=SKYLAKE, cmdline=f"{cmdline} paging=shadow")
    policy = cmdline.split("=")[1] if cmdline.startswith("policy=") else "custom"
    assert f"vmxlab: refused: policy={policy} with paging=shadow: {rule}" in r.serial, r.serial
    assert "Use paging=ept, or unsafe=1 to see what breaks." in r.serial
    assert "VMX on" not in r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


def test_unsafe_passthrough_breakage_is_detected(boot):
    """unsafe=1 runs passthrough under shadow paging: WP flips without an exit,
    so a write under WP=0 goes through a read-only shadow entry without
    setting the guest's Dirty bit. The guest names what broke, and the run
    passes because it did."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="policy=passthrough paging=shadow unsafe=1 "
                                           "tests=wp-semantics,wp-toggle " + FAST)
    assert "vmxlab: unsafe=1: policy passthrough runs under shadow paging although" in r.serial
    label = "wp-semantics/passthrough"
    assert ("broken, as expected under unsafe=1: WP=0: a write to a clean writable page "
            "sets its PTE's Accessed and Dirty bits") in r.lines(f"guest {label}: "), r.serial
    assert ("unsafe=1: CR0.WP owned by the guest under shadow paging broke the WP checks "
            "named above, as it must") in r.lines(f"guest {label}: "), r.serial
    assert f"PASS: {label}: ran to its end; 1 guest check passed, 0 failed" in r.serial
    # WP is the guest's: its toggles neither exit nor touch the shadow tables.
    [j] = [j for j in r.json_lines("vmxlab-result") if j["experiment"] == "wp-toggle"]
    assert (j["exits"], j["paging"]) == (0, "shadow-roles"), j
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def test_shadow_trace_names_fills_and_reflected_faults(boot):
    """trace= shows what each #PF exit came to: a fill, or the guest's own #PF."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="paging=shadow tests=wp-semantics trace=40")
    traced = "\n".join(r.lines("trace wp-semantics/intercept"))
    assert "EXCEPTION_NMI (0) at RIP" in traced and "#PF at 0x" in traced, traced
    assert "shadow entry for 0x" in traced, traced
    assert "the guest's own tables refuse: #PF 0x3 at" in traced, traced
    assert "INVLPG (14)" in traced, traced
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def test_leaving_ia32e_mode_is_emulated(boot):
    """Clearing CR0.PG in compatibility mode is how software leaves IA-32e mode
    (SDM 3A 10.8.5.4), not a #GP: vmxlab emulates it (EFER.LMA and the "IA-32e
    mode guest" entry control follow), and setting PG again re-enters IA-32e mode,
    under EPT (with "unrestricted guest", turned on then) as under shadow paging
    (the identity map of guest RAM while paging is off). The guest reads the
    states itself; the trace shows the handler's steps."""
    for paging in ("ept", "shadow"):
        r = boot("bochs", cpu=SKYLAKE, cmdline=f"tests=leave-long-mode paging={paging} trace=40")
        check_boot(r, tests="leave-long-mode", policies=("intercept",),
                   mmu="ept" if paging == "ept" else "shadow-roles")
        assert "PASS: leave-long-mode: ran to its end; 2 guest checks passed, 0 failed" in \
            r.serial, r.serial
        assert re.search(r"^trace leave-long-mode #\d+: CR_ACCESS \(28\) .*: MOV to CR0 from "
                         r"RAX; IA-32e mode left \(EFER\.LMA 0\), paging off; CR0 <- 0x10033",
                         r.serial, re.M), r.serial
        assert re.search(r"^trace leave-long-mode #\d+: CR_ACCESS \(28\) .*: MOV to CR0 from "
                         r"RAX; IA-32e mode entered \(EFER\.LMA 1\); CR0 <- 0x80010033",
                         r.serial, re.M), r.serial


def test_an_efer_nxe_change_empties_the_shadow_tables(boot):
    """The shadow entries were built by the old NXE's rules, so a WRMSR that
    changes EFER.NXE empties them (under EPT nothing is owed). The guest reads
    its own EFER, not the real one, whose NXE is 1 under shadow paging."""
    r = boot("bochs", cpu=SKYLAKE, cmdline="tests=access-matrix policy=intercept trace=60")
    for mmu in ("ept", "shadow-roles", "shadow-flush"):
        traced = r.lines(f"trace access-matrix/intercept/{mmu} ")
        [rd] = [l for l in traced if "MSR_READ" in l][:1]
        assert rd.endswith("RDMSR MSR 0xc0000080 (IA32_EFER); EDX:EAX <- 0x500"), rd
        [wr] = [l for l in traced if "MSR_WRITE" in l][:1]
        emptied = "; shadow tables emptied" if mmu != "ept" else ""
        assert wr.endswith(f"WRMSR MSR 0xc0000080 (IA32_EFER){emptied}; IA32_EFER <- 0xd00"), wr
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


SMAP_WP0 = '''// smap_wp0.c: CR0.WP = 0, CR4.SMAP = 1, RFLAGS.AC = 1: a supervisor write to
// a read-only user page, which the CPU lets through (SDM 3A 4.6.1).
#include "guest/rt/guest.h"

static volatile uint64_t page[512] __attribute__((aligned(4096)));

int guest_main(struct guest_params *p)
{
    (void)p;
    uint64_t *pte = &low_pt[(uint64_t)page >> 12];
    *pte = (*pte | PTE_U) & ~(uint64_t)PTE_W;
    invlpg(page);
    write_cr4(read_cr4() | CR4_SMAP);
    write_cr0(read_cr0() & ~(uint64_t)CR0_WP);
    asm volatile("stac; movq $1, %0; clac" : "=m"(page[0]));
    write_cr0(read_cr0() | CR0_WP);
    write_cr4(read_cr4() & ~(uint64_t)CR4_SMAP);
    return !hc_report(page[0] == 1, "WP=0, SMAP=1, AC=1: the supervisor write landed");
}
'''


def test_smap_with_wp0_is_refused_by_name(boot, tmp_path):
    """A WP=0 copy of a user page is supervisor-only, and SMAP would let later
    supervisor accesses with AC=0 through it: shadow paging cannot give the
    guest SMAP with WP=0 and AC=1, and stops the run, naming it. Under EPT
    the CPU does it, and the guest's check passes. (Built with the SDK.)"""
    from test_guests import make
    make("guest-sdk", f"SDK={tmp_path / 'sdk'}", cwd=ROOT)
    (tmp_path / "sdk" / "smap_wp0.c").write_text(SMAP_WP0)
    make(cwd=tmp_path / "sdk")
    elf = str(tmp_path / "sdk" / "smap_wp0.elf")
    r = boot("bochs", cpu=SKYLAKE, cmdline="policy=intercept", guests=[elf])
    assert ("PASS: smap_wp0/intercept: ran to its end; 1 guest check passed, 0 failed; "
            "exits: VMCALL 2, CR_ACCESS 4" in r.serial.splitlines()), r.serial
    r = boot("bochs", cpu=SKYLAKE, cmdline="policy=intercept paging=shadow", guests=[elf])
    assert re.search(r"^FAIL: smap_wp0/intercept: stopped: CR0\.WP=0 with CR4\.SMAP=1: a "
                     r"supervisor write \(RFLAGS\.AC=1\) to the read-only user page at 0x[0-9a-f]+ "
                     r"is not emulated under shadow paging \(RIP 0x[0-9a-f]+\)$",
                     r.serial, re.M), r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial
