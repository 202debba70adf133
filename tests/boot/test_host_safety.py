"""Boot tests of what a guest's values may do to the host: a host instruction
that faults on a bad value in VMX root resumes at its fixup (host-fixups, the
exception table of boot/x86.h)."""
import pytest

from test_vmx import SKYLAKE, check_boot

LYNNFIELD = "corei5_lynnfield_750"  # no XSAVE


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
