"""Boot tests of the VMX experiment (hv/experiment.c) in Bochs: the exits each
CR0 ownership policy causes, the CR0 semantics checks under every policy, the
command-line keys that choose a policy, and the CPU without EPT that cannot run
it. Bochs counts exits and checks exactly, so those are asserted exactly. Tick
counts are not (they change whenever the exit path gets faster): only that they
are positive, consistent with their ratios, and in the right order."""
import re

import pytest

SKYLAKE = "corei7_skylake_x"
FAST = "toggles=2000 threshold=300"  # small counts keep each boot at a few seconds

# What the semantics guest (guest/semantics.c) reports, in order, after "<policy>: ".
WP_CHECKS = [
    "WP=1: a supervisor write to a read-only page raises #PF",
    "WP=1: the #PF error code is 0x3 (P=1 protection, W=1 write, U/S=0 supervisor)",
    "WP=1: the faulting write leaves memory unchanged",
    "WP=0: the same write to the read-only page succeeds and the value lands",
    "WP=1 again (MOV to CR0): the write raises #PF again and does not land",
]
TS_CHECKS = [
    "TS=1 (MOV to CR0): an SSE instruction (xorps) raises #NM",
    "CLTS: CR0.TS reads back 0",
    "TS=0 after CLTS: the same SSE instruction runs without a fault",
]
READBACK_CHECKS = [
    "CR0 at entry reads PE|MP|ET|NE|WP|PG (0x80010033), as abi.h says",
    "MOV to CR0 flipping WP: CR0 reads back exactly the value written",
    "MOV to CR0 flipping WP back: CR0 reads back the entry value",
    "MOV to CR0 setting TS: CR0 reads back exactly the value written",
    "CLTS: CR0 reads back the previous value with only TS cleared",
    "LMSW PE|MP|TS: CR0 bits 3:0 read back as written, all other bits unchanged",
    "LMSW 0: PE stays 1 (LMSW cannot clear PE)",
    "LMSW 0: MP, EM and TS read back 0, all other bits unchanged",
    "MOV to CR0 with reserved bit 63 set raises #GP(0)",
    "the faulting MOV to CR0 leaves CR0 unchanged",
]
FINISHED = "semantics guest finished with every check passing"
SEMANTICS = WP_CHECKS + TS_CHECKS + READBACK_CHECKS + [FINISHED]

VMX_CAPS_PASSES = 5  # experiment.c's test_vmx_caps
# experiment.c's bad_guests(): each misdeed of guest/misbehave.c and the exit
# reason that must stop it.
BAD_GUEST = [
    ("HLT", "HLT"),
    ("OUT to port 0x80", "IO_INSTRUCTION"),
    ("WRMSR to IA32_APIC_BASE", "MSR_WRITE"),
    ("a read outside guest RAM", "EPT_VIOLATION"),
    ("an exception with an empty IDT", "TRIPLE_FAULT"),
    ("an unknown hypercall", "VMCALL"),
    ("HC_PUTS with a pointer outside guest RAM", "VMCALL"),
]
VMCS_FIELDS = ("vmcs-fields: 93 writable fields round-trip through VMWRITE/VMREAD "
               "(0 not supported by this CPU)")
WP, TS = 1 << 16, 1 << 3  # CR0 bits


def toggle_line(toggles, cr_exits):
    """toggle_run()'s PASS line, after "<policy>: "."""
    return (f"{toggles} WP toggles cause {cr_exits} CR-access exits (expected {cr_exits}) "
            "and no other exits")


def passes(r, policy):
    """The PASS lines of one policy's runs, in order, without "PASS: <policy>: "."""
    return [l[len(policy) + 2:] for l in r.lines("PASS:") if l.startswith(policy + ": ")]


def summary(r):
    """The one summary line, or None."""
    found = [l for l in r.serial.splitlines()
             if re.fullmatch(r"\d+ passed, \d+ failed(, \d+ skipped)?", l)]
    assert len(found) <= 1, r.serial
    return found[0] if found else None


def results(r):
    """The vmxlab-result lines by policy: each policy at most once."""
    by_policy = {}
    for j in r.json_lines("vmxlab-result"):
        assert j["policy"] not in by_policy, r.serial
        by_policy[j["policy"]] = j
    return by_policy


def ratio(num, den):
    """hv/result.c's fmt_ratio(): two decimals, rounded half up."""
    hundredths = (num * 100 + den // 2) // den
    return float(f"{hundredths // 100}.{hundredths % 100:02d}")


def check_result(j, toggles, cr_exits, cr0_guest_owned):
    """One vmxlab-result line: every exit is a MOV to CR0, and nothing else exits."""
    assert j["toggles"] == toggles, j
    assert j["exits"] == j["cr_exits"] == cr_exits, j
    assert j["exits_by_reason"] == ({"CR_ACCESS": cr_exits} if cr_exits else {}), j
    assert j["cr_detail"] == {"mov_to_cr0": cr_exits, "clts": 0, "lmsw": 0, "mov_to_cr4": 0}, j
    assert j["cr0_guest_owned"] == cr0_guest_owned, j
    assert j["ticks"] > 0, j
    assert j["ticks_per_toggle"] == ratio(j["ticks"], toggles), j


def check_table_row(r, policy, toggles, cr_exits, wp_owner):
    """toggle_run()'s human-readable row agrees with its JSON line."""
    row = re.compile(rf"^  {policy} +toggles {toggles} +exits {cr_exits} +CR exits {cr_exits} "
                     rf"+ticks/toggle [0-9.]+ +WP {wp_owner}-owned when the loop ended$", re.M)
    assert row.search(r.serial), r.serial


def check_passed(r, n):
    """No FAIL line, exactly n PASS lines, the summary, the verdict, the status."""
    assert r.lines("FAIL:") == [], r.serial
    assert len(r.lines("PASS:")) == n, r.serial
    assert summary(r) == f"{n} passed, 0 failed", r.serial
    assert (r.verdict, r.status) == ("PASS", 0), r.serial


def check_refused(r, message):
    """A command line refused before VMX is turned on: one message, FAIL, status 1."""
    assert f"vmxlab: bad command line: {message}\n" in r.serial, r.serial
    assert "VMX on" not in r.serial
    assert r.lines("FAIL:") == [] and summary(r) is None, r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


# policy=all on every Bochs model with usable EPT: Ice Lake has VMCS revision 4,
# Lynnfield has no unrestricted guest, no EPT A/D bits and no 1 GiB EPT pages.
@pytest.mark.parametrize("model,revision", [(SKYLAKE, 0x2B), ("corei7_icelake_u", 0x4),
                                            ("corei5_lynnfield_750", 0x2B)])
def test_every_policy(boot, model, revision):
    r = boot("bochs", cpu=model, cmdline=FAST)
    assert f"vmxlab: VMX on (VMCS revision 0x{revision:x}," in r.serial, r.serial
    assert VMCS_FIELDS in r.lines("PASS:"), r.serial
    assert "baseline: 2000 null VMCALLs cause 2000 VMCALL exits and no others" in r.lines("PASS:")

    [base] = r.json_lines("vmxlab-baseline")
    assert base["toggles"] == 2000
    assert base["native_ticks_per_toggle"] > 0 and base["vmcall_ticks"] > 0, base

    res = results(r)
    assert list(res) == ["intercept", "passthrough", "adaptive"], r.serial
    check_result(res["intercept"], 2000, 2000, 0)
    check_result(res["passthrough"], 2000, 0, WP | TS)
    check_result(res["adaptive"], 2000, 300, WP)  # WP handed over after 300 toggles
    check_table_row(r, "intercept", 2000, 2000, "host")
    check_table_row(r, "passthrough", 2000, 0, "guest")
    check_table_row(r, "adaptive", 2000, 300, "guest")
    # Without exits the guest's loop runs exactly as fast as the host's own.
    assert res["passthrough"]["ticks_per_toggle"] == base["native_ticks_per_toggle"], r.serial
    assert res["passthrough"]["ticks"] < res["adaptive"]["ticks"] < res["intercept"]["ticks"]
    assert base["native_ticks_per_toggle"] < res["intercept"]["ticks_per_toggle"] < 400

    [costs] = r.json_lines("vmxlab-costs")
    assert set(costs) == {"cr0_specific_ticks", "cr0_write_to_vmcall_ratio"}, costs
    assert costs["cr0_write_to_vmcall_ratio"] > 0, costs

    # Each policy: its toggle run, then every semantics check, all passing.
    for policy, cr_exits in (("intercept", 2000), ("passthrough", 0), ("adaptive", 300)):
        assert passes(r, policy) == [toggle_line(2000, cr_exits)] + SEMANTICS, policy
    check_passed(r, VMX_CAPS_PASSES + 1 + 1 + 3 * (1 + len(SEMANTICS)) + len(BAD_GUEST) + 1)  # 75


def test_odd_toggle_count(boot):
    """An odd count ends with WP flipped, and each toggle still exits once; a
    threshold above the count never hands WP over, so adaptive is intercept."""
    r = boot("bochs", cmdline="tests=baseline,wp-toggle toggles=7 threshold=8")
    [base] = r.json_lines("vmxlab-baseline")
    assert base["toggles"] == 7
    res = results(r)
    check_result(res["intercept"], 7, 7, 0)
    check_result(res["passthrough"], 7, 0, WP | TS)
    check_result(res["adaptive"], 7, 7, 0)
    # The table row agrees with the JSON: WP was still host-owned when the loop
    # ended (the guest's write restoring WP afterwards is the 8th toggle).
    assert re.search(r"^  adaptive +toggles 7 .* WP host-owned when the loop ended$",
                     r.serial, re.M), r.serial
    assert res["passthrough"]["ticks_per_toggle"] == base["native_ticks_per_toggle"], r.serial
    assert passes(r, "adaptive") == [toggle_line(7, 7)]
    check_passed(r, 1 + 3)


@pytest.mark.parametrize("threshold,cr_exits", [(7, 7), (6, 6)])
def test_adaptive_threshold_reached(boot, threshold, cr_exits):
    """The threshold-th toggle still exits and hands WP over; later ones do not exit."""
    r = boot("bochs", cmdline=f"policy=adaptive tests=wp-toggle toggles=7 threshold={threshold}")
    res = results(r)
    assert list(res) == ["adaptive"], r.serial
    check_result(res["adaptive"], 7, cr_exits, WP)
    check_table_row(r, "adaptive", 7, cr_exits, "guest")
    check_passed(r, 1)


@pytest.mark.parametrize("cmdline,cr_exits,owned", [
    ("cr0_owned=0x10000", 0, WP),  # cr0_owned= alone implies policy=custom
    ("policy=custom cr0_owned=0x8 cr4_owned=0", 2000, TS),
])
def test_custom_policy(boot, cmdline, cr_exits, owned):
    r = boot("bochs", cmdline=f"{cmdline} toggles=2000")
    res = results(r)
    assert list(res) == ["custom"], r.serial
    check_result(res["custom"], 2000, cr_exits, owned)
    assert passes(r, "custom") == [toggle_line(2000, cr_exits)] + SEMANTICS
    assert r.json_lines("vmxlab-costs") == []  # costs need an intercept run
    check_passed(r, VMX_CAPS_PASSES + 1 + 1 + 1 + len(SEMANTICS) + len(BAD_GUEST) + 1)  # 35


@pytest.mark.parametrize("cmdline,message", [
    ("cr0_owned=0x1", "cr0_owned=0x1: CR0 bit 0 (PE) cannot be guest-owned: "
                      "VMX fixes it to 1 (IA32_VMX_CR_FIXED0)"),
    ("policy=custom cr0_owned=0x80010000", "cr0_owned=0x80010000: CR0 bit 31 (PG) cannot be "
                                           "guest-owned: VMX fixes it to 1 (IA32_VMX_CR_FIXED0)"),
    ("cr0_owned=0x40", "cr0_owned=0x40: CR0 bit 6 (reserved) cannot be guest-owned: "
                       "it is reserved"),
    # VMXE: VMX operation needs it set, so the guest may not clear it.
    ("cr4_owned=0x2000", "cr4_owned=0x2000: CR4 bit 13 (VMXE) cannot be guest-owned: "
                         "VMX fixes it to 1 (IA32_VMX_CR_FIXED0)"),
    ("policy=intercept cr0_owned=0x10000", "cr0_owned= and cr4_owned= go with policy=custom, "
                                           "not policy=intercept"),
])
def test_ownership_refused(boot, cmdline, message):
    check_refused(boot("bochs", cmdline=cmdline), message)


def test_no_ept_is_unsupported(boot):
    r = boot("bochs", cpu="core2_penryn_t9600", cmdline="toggles=7")
    assert "vmxlab: UNSUPPORTED: this CPU's VMX has no usable EPT (4-level, write-back). " \
           "CR0.WP pass-through needs EPT" in r.serial, r.serial
    assert "Use a CPU with EPT (Bochs: CPU=corei7_skylake_x)" in r.serial
    assert "VMX on" not in r.serial
    assert len(r.lines("PASS:")) == VMX_CAPS_PASSES and r.lines("FAIL:") == [], r.serial
    assert summary(r) is None
    assert (r.verdict, r.status) == ("UNSUPPORTED", 4), r.serial


@pytest.mark.parametrize("cmdline,message", [
    ("policy=bogus", "bad value 'bogus' for policy: expected one of all, intercept, "
                     "passthrough, adaptive, custom"),
    ("threshold=abc", "bad value 'abc' for threshold: expected a number from 1 to 100000000"),
    ("toggles=0", "bad value '0' for toggles: expected a number from 1 to 100000000"),
])
def test_bad_experiment_keys(boot, cmdline, message):
    r = boot("bochs", cmdline=cmdline)
    check_refused(r, message)
    assert "VMX capabilities" not in r.serial  # refused before anything else ran


def test_only_toggle_runs(boot):
    r = boot("bochs", cmdline=f"tests=wp-toggle {FAST}")
    assert r.json_lines("vmxlab-baseline") == [] and r.json_lines("vmxlab-costs") == []
    res = results(r)
    check_result(res["intercept"], 2000, 2000, 0)
    check_result(res["passthrough"], 2000, 0, WP | TS)
    check_result(res["adaptive"], 2000, 300, WP)
    assert r.lines("PASS:") == [f"{p}: {toggle_line(2000, n)}" for p, n in
                                (("intercept", 2000), ("passthrough", 0), ("adaptive", 300))]
    check_passed(r, 3)


def test_only_wp_semantics(boot):
    r = boot("bochs", cmdline="tests=wp-semantics")
    assert results(r) == {} and r.json_lines("vmxlab-baseline") == []
    for policy in ("intercept", "passthrough", "adaptive"):
        assert passes(r, policy) == WP_CHECKS + [FINISHED], policy
    check_passed(r, 3 * (len(WP_CHECKS) + 1))


def test_only_vmcs_fields(boot):
    r = boot("bochs", cmdline="tests=vmcs-fields")
    assert r.lines("PASS:") == [VMCS_FIELDS], r.serial
    assert results(r) == {} and r.json_lines("vmxlab-baseline") == []
    check_passed(r, 1)


def test_bad_guests_are_stopped_cleanly(boot):
    """Each misdeed ends its run with the right exit reason and a clear message;
    unexpected exits dump the VMCS; the boot itself carries on and passes."""
    r = boot("bochs", cmdline="tests=bad-guest")
    lines = [l for l in r.serial.splitlines() if l.startswith(("PASS:", "FAIL:"))]
    assert lines == [f"PASS: bad-guest: {what} stops the run (exit reason {reason})"
                     for what, reason in BAD_GUEST] + [
        "PASS: bad-guest: an invalid guest state (RFLAGS bit 1 clear) is reported as a "
        "failed VM entry (exit reason 33 with bit 31)"], r.serial
    assert ("vmxlab: bad-guest: VM entry failed: exit reason 33 (INVALID_GUEST_STATE), "
            "qualification 0 (no further information)") in r.serial
    # five unexpected exits and the failed entry each dump the VMCS
    assert r.serial.count("VMCS dump (fields this CPU supports):") == 6
    assert "vmxlab: the guest touched GPA 0x800000, outside its 4 MiB of RAM" in r.serial
    assert "misbehave: the hypervisor let that pass" not in r.serial
    assert f"{len(BAD_GUEST) + 1} passed, 0 failed" in r.serial.splitlines()
    assert (r.verdict, r.status) == ("PASS", 0)
