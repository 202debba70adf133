"""Boot tests of what a guest's values may do to the host and to the next
guest: every extended state component, PKRU among them, starts each run in
its initial state whatever the run before left, inside XCR0 or outside it
(rows state-dirty, state-check); CPUID promises only what works, on models
with and without the speculation controls, and the hypervisors' leaves are
vmxlab's alone (hostile-cpuid-msr-io); and a host instruction that faults on
a bad value in VMX root resumes at its fixup (host-fixups, the exception table
of boot/x86.h)."""
import pytest

from test_vmx import SKYLAKE, check_boot

ICELAKE, TIGERLAKE = "corei7_icelake_u", "tigerlake"
LYNNFIELD = "corei5_lynnfield_750"  # no XSAVE
STATE = "tests=state-dirty,state-check"


@pytest.mark.parametrize("model,paging", [(SKYLAKE, "ept"), (TIGERLAKE, "ept"),
                                          (TIGERLAKE, "shadow")])
def test_extended_state_starts_initial(boot, model, paging):
    """state-dirty loads every component its CPUID offers beyond SSE (AVX,
    AVX-512, PKRU) with a pattern, writes PKRU with WRPKRU where there is PKU
    (tigerlake), and leaves XCR0 at x87|SSE; the next run finds XCR0 = 1 and
    every component in its initial state, PKRU 0. Under shadow paging CPUID hides
    protection keys (hv/exit/cpuid.c: the shadow walk does not apply them), so the
    guest has no PKRU to write or read there."""
    r = boot("bochs", cpu=model, cmdline=f"{STATE} paging={paging} verbose=1")
    check_boot(r, tests=STATE[6:], mmu="shadow-roles" if paging == "shadow" else "ept")
    lines = r.lines("PASS: state-check: ")
    for check in ("XCR0 is 1 (x87 alone) at entry",
                  "every extended state component beyond SSE (AVX, AVX-512, PKRU, ...) is in "
                  "its initial state at entry"):
        assert check in lines, r.serial
    has_pku = model == TIGERLAKE and paging == "ept"
    assert ("PKRU reads 0 at entry (RDPKRU)" in lines) == has_pku, r.serial


@pytest.mark.parametrize("model", [SKYLAKE, ICELAKE, TIGERLAKE])
def test_cpuid_promises_only_what_works(boot, model):
    """Icelake and tigerlake have the speculation-control bits in leaf 7
    (IA32_SPEC_CTRL, IA32_ARCH_CAPABILITIES, ...): CPUID hides them, since the
    MSRs raise #GP. Skylake answers leaves past its last one (0x40000100 among
    them) with its leaf 0x16: the guest reads 0 there."""
    r = boot("bochs", cpu=model, cmdline="tests=hostile-cpuid-msr-io")
    check_boot(r, tests="hostile-cpuid-msr-io")
    assert "hostile:" not in r.serial  # no broken promise was spelled out


@pytest.mark.parametrize("model", [SKYLAKE, LYNNFIELD])
def test_host_faults_resume_at_their_fixups(boot, model):
    """In VMX root, a WRMSR of IA32_EFER with a reserved bit and an XSETBV
    without x87 raise #GP (13): the exception table resumes each at its fixup,
    the register unchanged; the valid values then complete."""
    r = boot("bochs", cpu=model, cmdline="tests=host-fixups")
    check_boot(r, tests="host-fixups")
    if model == SKYLAKE:
        want = ("WRMSR of IA32_EFER with bit 63 and XSETBV of XCR0 0 raised "
                "exceptions 13 and 13 in VMX root and resumed at their fixups; the valid values "
                "completed (0, 0)")
    else:
        want = ("WRMSR of IA32_EFER with bit 63 raised exception 13 in VMX "
                "root and resumed at its fixup, EFER unchanged; the valid value completed (0); "
                "no XSAVE here")
    assert r.lines("PASS: host-fixups: ") == [want], r.serial
