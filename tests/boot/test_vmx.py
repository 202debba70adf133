"""Boot tests of the experiment (hv/run/experiment.c running hv/run/experiments.c) in
Bochs. Which runs a boot makes and the exits each measured run must cause come
from the table itself (tests/boot/table.py reads it), so adding a row to the
table changes no number here. Bochs counts exits and checks exactly, so those
are asserted exactly; its TSC counts instructions, so costs are exact too, but
they change whenever the exit path does: only their relations are asserted."""
import re

import pytest

import table

SKYLAKE = "corei7_skylake_x"
N, W, T = 2000, 3, 300
FAST = f"toggles={N} threshold={T}"  # small counts keep each boot at a few seconds
POLICIES = ("intercept", "passthrough", "adaptive")
MEASURED_RE = re.compile(r"^(\d+) x (\d+) iterations: (.*)$")
PAIR_RE = re.compile(r"(\w+) exits expected (\d+), measured (\d+)")
CHECKS_RE = re.compile(r"^ran to its end; (\d+) guest checks? passed, 0 failed(;.*)?$")


def summary(r):
    """The one summary line, or None."""
    found = [l for l in r.serial.splitlines()
             if re.fullmatch(r"\d+ passed, \d+ failed(, \d+ skipped)?", l)]
    assert len(found) <= 1, r.serial
    return found[0] if found else None


def outcome_lines(r):
    """label -> the text after "PASS: label: " of each run's last line; asserts
    that there is no FAIL line at all, and, unless the boot had verbose=1 (which
    adds a line per guest check), that no run has two lines."""
    assert r.lines("FAIL:") == [], r.serial
    verbose = "verbose=1" in r.serial.split("vmxlab: command line: ", 1)[-1].splitlines()[0]
    out = {}
    host_steps = {row.name for row in table.rows() if row.host}
    for line in r.lines("PASS:"):
        label, _, text = line.partition(": ")
        if label in host_steps or label.startswith("vmx-caps") or label.startswith("vmcs-fields"):
            continue
        if " vs " in label:  # a run's record compared with another's: test_matrix.py
            continue
        assert verbose or label not in out, (label, r.serial)
        out[label] = text
    return out


def results(r):
    """vmxlab-result lines by label ("experiment/policy" or "experiment")."""
    out = {}
    for j in r.json_lines("vmxlab-result"):
        label = f"{j['experiment']}/{j['policy']}" if j["policy"] else j["experiment"]
        assert label not in out, r.serial
        out[label] = j
    return out


def check_boot(r, tests="", policies=POLICIES, owned=None, n=N, w=W, t=T, mmu="ept", ept=True):
    """Every run the table says this boot makes, ended as its row expects, and
    each measured run caused exactly the exits the row's rule gives under the
    boot's paging mode (mmu: "ept", "shadow-roles" or "shadow-flush"; ept:
    whether the CPU has EPT, for the rows that run under each mode)."""
    owned = owned or table.policies(t)
    runs, res = outcome_lines(r), results(r)
    planned = table.runs(tests, policies, mmu=mmu, ept=ept, owned=owned)
    want = [label for _, _, _, label in planned]
    assert list(runs) == want, (list(runs), want)
    for row, p, mmu, label in planned:
        text = runs[label]
        if row.outcome in ("stopped", "timed out", "halted"):
            assert f": {row.outcome} as expected: " in text, (label, text)
            shadow_stop = row.shadow_stop_reason and mmu != "ept"
            if shadow_stop and row.shadow_stop_reason == "EXCEPTION_NMI":
                assert "(shadow paging" in text, (label, text)
        elif row.status:
            assert text.endswith(f"the guest's status {row.status:#x} arrived whole "
                                 "(a failure, expected here)"), (label, text)
        elif row.measured:
            m = MEASURED_RE.match(text)
            assert m and (int(m.group(1)), int(m.group(2))) == (w, n), (label, text)
            pairs = {k: (int(a), int(b)) for k, a, b in PAIR_RE.findall(m.group(3))}
            cr0, cr4, thr = owned[p] if row.each_policy else (0, 0, None)
            expected = table.expected_by_reason(row, mmu, cr0, cr4, thr, n * w)
            assert pairs == {**{k: (v, v) for k, v in expected.items()},
                             "other": (0, 0)}, (label, text)
            j = res[label]
            assert (j["iterations"], j["windows"], j["paging"]) == (n, w, mmu), j
            assert j["exits_by_reason"] == {k: v for k, v in expected.items() if v}, j
            assert j["exits"] == sum(expected.values()), j
        else:
            assert CHECKS_RE.match(text), (label, text)
    # The summary counts every check: the kernel's PASS lines and the guests'
    # (which have lines of their own only with verbose=1).
    guest_checks = sum(int(m.group(1)) for t_ in runs.values() for m in [CHECKS_RE.match(t_)] if m)
    kernel_lines = len(r.lines("PASS:")) - (guest_checks if "verbose=1" in r.serial else 0)
    assert summary(r) == f"{kernel_lines + guest_checks} passed, 0 failed", r.serial
    assert (r.verdict, r.status) == ("PASS", 0), r.serial
    return res


def test_default_run(boot):
    """What `make run` prints: every row, a short output ending with the table
    of measured runs just above the summary, no VMCS dump."""
    r = boot("bochs", cpu=SKYLAKE)
    res = check_boot(r, n=10000, t=1000)
    lines = r.serial.splitlines()
    assert len(lines) < 150, len(lines)
    assert "VMCS dump" not in r.serial
    at = lines.index(summary(r))
    assert lines[at + 1] == "vmxlab: verdict PASS"
    assert lines[at - 1].startswith("vmxlab: runs: ") and " as expected, 0 not;" in lines[at - 1]
    rows = [l.split()[0] for l in lines[:at] if re.match(r"^  \S+ +\d+ +[\d.]+ +[\d.]+ +[\d.]+$", l)]
    assert rows == list(res), rows
    # Without exits the guest's loop runs exactly as fast as the host's own.
    [base] = r.json_lines("vmxlab-baseline")
    assert res["wp-toggle/passthrough"]["per_iter_min"] == base["native_toggle_per_iter"]
    assert base["unit"] == "instructions"  # Bochs: the TSC counts instructions
    # A guest with no hypercalls of its own: its COM1 text is shown.
    for policy in POLICIES:
        assert (f"guest plain-io/{policy}: plain_io: CPUID, MSRs, COM1 and empty ports "
                "answered as documented") in lines


@pytest.mark.parametrize("model,revision", [("corei7_icelake_u", 0x4),
                                            ("corei5_lynnfield_750", 0x2B)])
def test_other_models(boot, model, revision):
    """VMCS revision 4; a CPU without unrestricted guest, EPT A/D or 1 GiB pages."""
    r = boot("bochs", cpu=model, cmdline=FAST)
    assert f"vmxlab: VMX on (VMCS revision 0x{revision:x}," in r.serial, r.serial
    check_boot(r)


def test_costs_are_recomputable(boot):
    """vmxlab-costs: each timed loop minus its own loop without the exit, from
    the printed fields, to the digit; signed."""
    r = boot("bochs", cmdline=f"tests=baseline,wp-toggle policy=intercept {FAST}")
    [c] = r.json_lines("vmxlab-costs")
    [base] = r.json_lines("vmxlab-baseline")
    res = results(r)
    assert c["intercept_ticks"] == res["wp-toggle/intercept"]["ticks_min"]
    assert c["vmcall_ticks"] == res["baseline"]["ticks_min"]
    assert (c["native_toggle_ticks"], c["native_nop_ticks"]) == (
        base["native_toggle_ticks"], base["native_nop_ticks"])
    cr0 = c["intercept_ticks"] - c["native_toggle_ticks"]
    nul = c["vmcall_ticks"] - c["native_nop_ticks"]
    assert c["cr0_trip_per_iter"] == round(cr0 / N, 2)
    assert c["vmcall_trip_per_iter"] == round(nul / N, 2)
    assert c["cr0_specific_per_iter"] == round((cr0 - nul) / N, 2)
    assert c["cr0_to_vmcall_ratio"] == round(cr0 / nul, 2)
    # Under Bochs a loop costs its instruction count: 4 per toggle, 3 per NOP.
    assert (base["native_toggle_per_iter"], base["native_nop_per_iter"]) == (4.0, 3.0)


def test_ept_4k_pages(boot):
    """ept_pages=4k: guest RAM in 4 KiB EPT pages; every check, the same exits."""
    r = boot("bochs", cmdline=f"ept_pages=4k {FAST}")
    assert "mapped by EPT (5 tables, 4 KiB pages)" in r.serial, r.serial
    check_boot(r)


def test_odd_toggle_count(boot):
    """An odd count ends with WP flipped, and each toggle still exits once; a
    threshold above the count never hands WP over, so adaptive is intercept."""
    r = boot("bochs", cmdline="tests=baseline,wp-toggle toggles=7 threshold=22 windows=3")
    res = check_boot(r, tests="baseline,wp-toggle", n=7, t=22)
    assert res["wp-toggle/adaptive"]["cr0_guest_owned"] == "0x0"


@pytest.mark.parametrize("threshold", [7, 6, 1])
def test_adaptive_threshold_reached(boot, threshold):
    """The threshold-th toggle still exits and hands WP over; later ones do not."""
    r = boot("bochs", cmdline=f"policy=adaptive tests=wp-toggle toggles=7 windows=1 "
                              f"threshold={threshold}")
    res = check_boot(r, tests="wp-toggle", policies=("adaptive",), n=7, w=1, t=threshold)
    assert res["wp-toggle/adaptive"]["cr0_guest_owned"] == "0x10000"


@pytest.mark.parametrize("cmdline,cr0,cr4", [
    ("cr0_owned=0x10000", 0x10000, 0),  # cr0_owned= alone implies policy=custom
    ("policy=custom cr0_owned=0x8 cr4_owned=0x80", 0x8, 0x80),
])
def test_custom_policy(boot, cmdline, cr0, cr4):
    r = boot("bochs", cmdline=f"{cmdline} {FAST}")
    res = check_boot(r, policies=("custom",), owned={"custom": (cr0, cr4, None)})
    assert res["wp-toggle/custom"]["cr0_guest_owned"] == hex(cr0)
    assert res["wp-toggle/custom"]["cr4_guest_owned"] == hex(cr4)


def check_refused(r, message):
    """A command line refused before VMX is turned on: one message, FAIL, status 1."""
    assert f"vmxlab: bad command line: {message}\n" in r.serial, r.serial
    assert "VMX on" not in r.serial
    assert r.lines("FAIL:") == [] and summary(r) is None, r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


@pytest.mark.parametrize("cmdline,message", [
    ("cr0_owned=0x1", "cr0_owned=0x1: CR0 bit 0 (PE) cannot be guest-owned: "
                      "VMX fixes it to 1 (IA32_VMX_CR0_FIXED0)"),
    ("cr0_owned=0x40", "cr0_owned=0x40: CR0 bit 6 (reserved) cannot be guest-owned: "
                       "it is reserved"),
    ("cr4_owned=0x2000", "cr4_owned=0x2000: CR4 bit 13 (VMXE) cannot be guest-owned: "
                         "VMX fixes it to 1 (IA32_VMX_CR4_FIXED0)"),
    ("cr4_owned=0x40", "cr4_owned=0x40: CR4 bit 6 (MCE) cannot be guest-owned: vmxlab keeps "
                       "it set while a guest runs"),
    ("policy=intercept cr0_owned=0x10000", "cr0_owned= and cr4_owned= go with policy=custom, "
                                           "not policy=intercept"),
])
def test_ownership_refused(boot, cmdline, message):
    r = boot("bochs", cmdline=cmdline)
    assert f"vmxlab: bad command line: {message}" in r.serial, r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


@pytest.mark.parametrize("cmdline,message", [
    ("policy=bogus", "bad value 'bogus' for policy: expected one of all, intercept, "
                     "passthrough, adaptive, custom"),
    ("toggles=0", "bad value '0' for toggles: expected a number from 1 to 100000000"),
    ("ept_pages=1g", "bad value '1g' for ept_pages: expected one of 2m, 4k"),
])
def test_bad_experiment_keys(boot, cmdline, message):
    r = boot("bochs", cmdline=cmdline)
    check_refused(r, message)
    assert "VMX capabilities" not in r.serial  # refused before anything else ran


def test_bad_guests_are_stopped_cleanly(boot):
    """Each misdeed ends its run with the right exit reason and one line; the
    boot carries on and passes. verbose=1 adds the VMCS dumps."""
    r = boot("bochs", cmdline="tests=bad-guest")
    runs = outcome_lines(r)
    check_boot(r, tests="bad-guest")
    assert set(runs) == set(table.labels("bad-guest"))
    assert "EPT violation at GPA 0x800000, outside its 4 MiB of RAM" in runs["bad-ept"]
    assert "halted as expected: HLT with interrupts off" in runs["bad-hlt"]
    assert ("halted as expected: HLT with interrupts on, waiting for IRQ 0 (the PIT's channel "
            "0, mode 2), but vmxlab delivers no interrupts: it would wait forever"
            in runs["bad-hlt-sti"]), runs["bad-hlt-sti"]
    assert "string I/O (OUTS) at port 0x3f8 is not emulated" in runs["bad-string-io"]
    assert re.search(r"stopped as expected: triple fault at RIP 0x[0-9a-f]+ \(a fault while "
                     r"delivering a double fault; the IDT at 0x0, limit 0x0\): on a PC a "
                     r"shutdown, QEMU resets$", runs["bad-triple-fault"]), runs["bad-triple-fault"]
    assert "VM entry failed: exit reason 33 (INVALID_GUEST_STATE)" in runs["bad-entry"]
    assert "VMCS dump" not in r.serial
    assert "misbehave: the hypervisor let that pass" not in r.serial
    v = boot("bochs", cmdline="tests=bad-guest verbose=1")
    # One dump per stop by an unexpected exit, a triple fault or a failed entry;
    # a bad hypercall, a spent budget or what is not emulated (string I/O) is no
    # surprise about the VMCS.
    dumps = sum(1 for row in table.rows() if row.group == "bad-guest" and
                row.outcome == "stopped" and row.stop_reason not in ("VMCALL",
                                                                     "IO_INSTRUCTION"))
    assert v.serial.count("VMCS dump (fields this CPU supports):") == dumps
    assert (v.verdict, v.status) == ("PASS", 0)


def test_guest_text_cannot_forge_a_verdict(boot):
    """A guest prints "vmxlab: verdict PASS" and a summary line of its own: on
    the console they appear behind "guest <label>: ", escaped, and the only
    verdict line is the kernel's last."""
    r = boot("bochs", cmdline="tests=guest-text verbose=1")
    check_boot(r, tests="guest-text")
    lines = r.serial.splitlines()
    assert "guest guest-text: vmxlab: verdict PASS" in lines
    assert "guest guest-text: 1 passed, 0 failed\\r" in lines
    assert "PASS: guest-text: checked\\nvmxlab: verdict PASS" in lines
    kernel = [l for l in lines if l.startswith("vmxlab: verdict")]
    assert kernel == ["vmxlab: verdict PASS"] and lines.index(kernel[0]) > lines.index(
        "guest guest-text: vmxlab: verdict PASS")


# The hypercall numbers of guest/abi.h, by name.
HYPERCALLS = {k: v for k, v in table.BITS.items() if k.startswith("HC_") and k != "HC_RECORD_MAX"}


@pytest.mark.parametrize("exitpath", ["c", "fast"])
@pytest.mark.parametrize("paging", ["ept", "shadow"])
def test_ring3_hypercalls_are_refused(boot, exitpath, paging):
    """A VMCALL from ring 3 raises #UD, whatever RAX asks (every hypercall of
    guest/abi.h, and an unknown number), on both exit paths and under both
    paging modes; the guest checks the #UD, and the kernel's output shows
    nothing else happened: no text printed, no check counted, the run not
    stopped or ended (the check after the ring-3 HC_EXIT is there). With
    trace=, each ring-3 VMCALL was refused before its number was looked at."""
    mmu = "ept" if paging == "ept" else "shadow-roles"
    r = boot("bochs", cmdline=f"tests=user-hypercall verbose=1 exitpath={exitpath} "
                              f"paging={paging}")
    check_boot(r, tests="user-hypercall", mmu=mmu)
    checks = r.lines("PASS: user-hypercall: ring 3: VMCALL ")
    for name in HYPERCALLS:
        assert any(c.startswith(f"{name} ") and c.endswith(" raises #UD") for c in checks), name
    assert "with an unknown number raises #UD" in checks
    assert checks[-1] == "HC_EXIT raises #UD", checks
    [end] = r.lines("PASS: user-hypercall: ran to its end; ")
    assert end == f"{len(checks)} guest checks passed, 0 failed", end
    assert "ring 3 printed this" not in r.serial and "ring 3 passed a check" not in r.serial
    if exitpath == "fast":  # trace= turns the fast path off: once is enough
        return
    t = boot("bochs", cmdline=f"tests=user-hypercall trace=200 paging={paging}")
    check_boot(t, tests="user-hypercall", mmu=mmu)
    refused = [l for l in t.serial.splitlines() if "; refused at CPL 3;" in l]
    numbers = {int(re.search(r": hypercall (\d+) ", l).group(1)) for l in refused}
    assert len(refused) == len(checks), refused
    known = set(HYPERCALLS.values())
    assert known < numbers and len(numbers - known) == 1, refused  # and the unknown one
    assert all(l.endswith("; refused at CPL 3; exception 6 injected, error code 0x0")
               for l in refused), refused


def test_nmis_and_interrupts_never_reach_the_guest(boot):
    """A guest that enables interrupts and waits sees none of the host's. With
    disturb=timer the PIT's IRQ0 reaches the CPU while it waits, with
    disturb=nmi the same tick comes as an NMI through the I/O APIC: each one
    exits (external-interrupt or NMI exiting), is counted and marks the run
    disturbed; the guest's handlers for vectors 2 and 32-255 never run, and
    its exit counts stay exact. (Bochs 2.7 leaves NMIs blocked after the first
    NMI exit, whatever the host's IRET does, so there it is one NMI.)"""
    quiet = boot("bochs", cmdline="tests=interrupts")
    check_boot(quiet, tests="interrupts")
    assert "disturbed" not in quiet.serial
    for disturb, what in (("timer", r"0 NMIs, (\d+) external interrupts"),
                          ("nmi", r"(\d+) NMIs, 0 external interrupts")):
        r = boot("bochs", cmdline=f"tests=interrupts disturb={disturb}")
        check_boot(r, tests="interrupts")
        m = re.search(rf"vmxlab: interrupts: disturbed: {what}", r.serial)
        assert m and int(m.group(1)) > 0, r.serial


def interrupts_wait():
    """The interrupts row's .flags: the TSC ticks its guest waits with IF = 1."""
    return table._value(next(r for r in table.rows() if r.name == "interrupts").flags)


def test_interrupts_waits_well_within_the_tick_budget():
    """A wait in ticks fits a run's budget (RUN_TICKS, hv/run/guest.c tick_budget())
    on any CPU, where a count of PAUSEs, each up to ~140 cycles on silicon,
    would not: the row asks for at most a quarter of it."""
    assert 0 < interrupts_wait() <= table.HV["RUN_TICKS"] // 4


def test_interrupts_waits_its_ticks(boot):
    """The guest's wait is .flags ticks, no fewer and not much more: with a
    budget of exactly the wait the run times out (the guest's own start costs
    ticks too), with 2^20 ticks more it ends in time."""
    wait = interrupts_wait()
    short = boot("bochs", cmdline=f"tests=interrupts max_ticks={wait}")
    assert (f"FAIL: interrupts: timed out: used up its budget of {wait} TSC ticks"
            in short.serial), short.serial
    enough = boot("bochs", cmdline=f"tests=interrupts max_ticks={wait + (1 << 20)}")
    check_boot(enough, tests="interrupts")


def armed_by_grub(monkeypatch, timer_count):
    """The runner's grub.cfg with interrupt sources armed just before `boot`,
    as firmware may leave them (GRUB's write_dword, module memrw): the local
    APIC enabled, its timer one-shot at vector 0x40 after timer_count ticks,
    its thermal entry at 0x41, and the I/O APIC's pin 4 (COM1's IRQ, silent:
    the kernel polls) at 0x44."""
    import run as runner
    arm = ["write_dword 0xfee000f0 0x1ff", "write_dword 0xfee003e0 0xb",
           "write_dword 0xfee00320 0x40", f"write_dword 0xfee00380 {timer_count:#x}",
           "write_dword 0xfee00330 0x41", "write_dword 0xfec00000 0x18",
           "write_dword 0xfec00010 0x44"]
    plain = runner.grub_cfg
    monkeypatch.setattr(runner, "grub_cfg", lambda cmdline, modules=(): re.sub(
        r"^(\s*)boot$", lambda m: "".join(f"{m.group(1)}{a}\n" for a in arm) + m.group(0),
        plain(cmdline, modules), count=1, flags=re.M))


MASKED = ("vmxlab: masked 3 interrupt sources the firmware left armed: local APIC timer, "
          "thermal sensor; I/O APIC pin 4")


def test_armed_interrupt_sources_are_masked_bochs(boot, monkeypatch):
    """Firmware's armed sources are masked before the first run, so no run is
    disturbed for nothing. In Bochs the APIC timer counts instructions: 2^24
    of them fire it after the kernel has started (about 2.7 * 10^6 in) and
    before the interrupts row's wait ends, so unmasked it would disturb a run.
    A boot with nothing armed prints no such line."""
    assert "masked" not in boot("bochs", cmdline="tests=vmx-caps").serial
    armed_by_grub(monkeypatch, 1 << 24)
    r = boot("bochs", cmdline=f"tests=baseline,interrupts {FAST}")
    assert MASKED in r.serial.splitlines(), r.serial
    check_boot(r, tests="baseline,interrupts")
    assert "disturbed" not in r.serial, r.serial


def test_armed_interrupt_sources_are_masked_qemu(boot, monkeypatch):
    """QEMU's APICs too (no VMX there: the boot ends UNSUPPORTED). Its APIC
    timer runs on the clock, so it is armed for seconds: it must not fire
    while GRUB still runs with interrupts on."""
    armed_by_grub(monkeypatch, 0xffffffff)
    r = boot("qemu-tcg")
    assert MASKED in r.serial.splitlines(), r.serial
    assert r.verdict == "UNSUPPORTED", r.serial


def test_crash_in_vmx_root_leaves_vmx(boot):
    """fault=vmx-gp: a #GP in VMX root operation, just before the first guest's
    VMLAUNCH, with its VMCS current. The crash report, then VMCLEAR and VMXOFF
    on the way out (INIT is blocked in VMX operation), then CRASH."""
    r = boot("bochs", cmdline="fault=vmx-gp tests=wp-toggle")
    lines = r.serial.splitlines()
    crash = lines.index("vmxlab: CRASH: exception 13 (#GP general protection), error code 0x0")
    left = lines.index("vmxlab: left VMX operation (VMCLEAR, VMXOFF)")
    assert lines.index("vmxlab: fault=vmx-gp: faulting on purpose") < crash < left
    assert lines[left + 1] == "vmxlab: verdict CRASH"
    assert (r.verdict, r.status) == ("CRASH", 2), r.serial
