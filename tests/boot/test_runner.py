"""The runner's own logic, without booting: verdicts from serial output, engine
choice and the per-run grub.cfg."""
import run as runner


def test_verdict_line_wins():
    assert runner.verdict_of("x\nvmxlab: verdict PASS\n", True) == "PASS"
    assert runner.verdict_of("vmxlab: verdict UNSUPPORTED\n", False) == "UNSUPPORTED"
    assert runner.verdict_of("vmxlab: verdict FAIL\n", True) == "FAIL"


def test_no_verdict_is_crash_or_timeout():
    assert runner.verdict_of("vmxlab: CRASH: exception 13\n", True) == "CRASH"
    assert runner.verdict_of("booting\n", False) == "TIMEOUT"
    assert runner.verdict_of("vmxlab: verdict MAYBE\n", True) == "CRASH"


def test_status_table():
    assert runner.VERDICTS == {"PASS": 0, "FAIL": 1, "CRASH": 2, "TIMEOUT": 3, "UNSUPPORTED": 4}


def test_grub_cfg_carries_cmdline():
    cfg = runner.grub_cfg("policy=intercept toggles=10")
    entry = [l for l in cfg.splitlines() if "multiboot2" in l]
    assert entry[0].strip() == "multiboot2 /boot/vmxlab.elf 'policy=intercept' 'toggles=10'"
    assert entry[1].strip() == "multiboot2 /boot/vmxlab.elf end=halt"  # others untouched


def test_auto_engine_does_not_trust_dev_kvm(monkeypatch):
    monkeypatch.setattr(runner, "host_has_nested_vmx", lambda: False)
    assert runner.pick_engine("auto") == "bochs"
    monkeypatch.setattr(runner, "host_has_nested_vmx", lambda: True)
    assert runner.pick_engine("auto") == "qemu-kvm"
    assert runner.pick_engine("qemu-uefi") == "qemu-uefi"


def test_unknown_bochs_model_is_refused_by_name():
    import pytest
    assert "corei7_skylake_x" in runner.bochs_cpu_models()
    with pytest.raises(SystemExit) as e:
        runner.check_cpu("bochs", "nosuchcpu")
    assert "no CPU model 'nosuchcpu'" in str(e.value)
    runner.check_cpu("bochs", "corei7_icelake_u")  # known: no exit
