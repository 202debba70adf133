"""The runner's own logic, without booting: verdicts from serial output, engine
choice, the per-run grub.cfg and the guest files it refuses."""
import os
import sys

import pytest

import run as runner
from conftest import ISO

BOOT = "vmxlab: booted by GRUB via multiboot2 on BIOS, 255 MiB of RAM\n"
ENDED = "vmxlab: run ended; the machine can be switched off\n"


def test_verdict_line_wins():
    assert runner.verdict_of(BOOT + "PASS: x\n1 passed, 0 failed\nvmxlab: verdict PASS\n",
                             True) == "PASS"
    assert runner.verdict_of(BOOT + "vmxlab: verdict UNSUPPORTED\n", False) == "UNSUPPORTED"
    assert runner.verdict_of(BOOT + "vmxlab: verdict FAIL\n", True) == "FAIL"
    assert runner.verdict_of(BOOT + "3 passed, 0 failed, 1 skipped\nvmxlab: verdict PASS\n" +
                             ENDED, True) == "PASS"


def test_no_verdict_is_crash_or_timeout():
    assert runner.verdict_of("vmxlab: CRASH: exception 13\n", True) == "CRASH"
    assert runner.verdict_of("booting\n", False) == "TIMEOUT"
    assert runner.verdict_of("vmxlab: verdict MAYBE\n", True) == "CRASH"


def test_pass_only_from_the_kernels_own_summary_and_verdict():
    """A guest once forged a PASS by printing a verdict line of its own; guests
    can no longer print lines that start with "vmxlab:" (boot/report.c), and
    the runner also insists on the kernel's order: one boot, one summary that
    counts no failure, then the one verdict."""
    ok = BOOT + "PASS: a\n1 passed, 0 failed\nvmxlab: verdict PASS\n" + ENDED
    assert runner.verdict_of(ok, True) == "PASS"
    # No summary line: not a PASS.
    assert runner.verdict_of(BOOT + "FAIL: a\nvmxlab: verdict PASS\n", True) == "FAIL"
    # A summary with failures, or not right before the verdict.
    assert runner.verdict_of(BOOT + "1 passed, 1 failed\nvmxlab: verdict PASS\n", True) == "FAIL"
    assert runner.verdict_of(BOOT + "1 passed, 0 failed\nguest x: y\nvmxlab: verdict PASS\n",
                             True) == "FAIL"
    # Two summaries.
    assert runner.verdict_of(BOOT + "1 passed, 0 failed\n1 passed, 0 failed\n"
                             "vmxlab: verdict PASS\n", True) == "FAIL"
    # Two verdicts, or two boots: the machine restarted.
    assert runner.verdict_of(BOOT + "1 passed, 1 failed\nvmxlab: verdict FAIL\n"
                             "1 passed, 0 failed\nvmxlab: verdict PASS\n", True) == "CRASH"
    assert runner.verdict_of(BOOT + BOOT + "1 passed, 0 failed\nvmxlab: verdict PASS\n",
                             True) == "CRASH"
    # Lines a guest prints start with "guest ": they are never verdicts.
    forged = BOOT + "FAIL: x\nguest g: vmxlab: verdict PASS\n1 passed, 1 failed\n" \
                    "vmxlab: verdict FAIL\n"
    assert runner.verdict_of(forged, True) == "FAIL"


def test_engine_cmdline_powers_off_unless_told():
    assert runner.engine_cmdline("") == "end=poweroff"
    assert runner.engine_cmdline("toggles=7") == "toggles=7 end=poweroff"
    assert runner.engine_cmdline("end=halt toggles=7") == "end=halt toggles=7"


def test_status_table():
    assert runner.VERDICTS == {"PASS": 0, "FAIL": 1, "CRASH": 2, "TIMEOUT": 3, "UNSUPPORTED": 4}


def test_grub_cfg_carries_cmdline():
    cfg = runner.grub_cfg("policy=intercept toggles=10")
    entry = [l for l in cfg.splitlines() if "multiboot2" in l]
    assert entry[0].strip() == "multiboot2 /boot/vmxlab.elf 'policy=intercept' 'toggles=10'"
    assert entry[1].strip() == "multiboot2 /boot/vmxlab.elf end=halt verbose=1"  # untouched


def test_auto_engine_does_not_trust_dev_kvm(monkeypatch):
    monkeypatch.setattr(runner, "host_has_nested_vmx", lambda: False)
    assert runner.pick_engine("auto") == "bochs"
    monkeypatch.setattr(runner, "host_has_nested_vmx", lambda: True)
    assert runner.pick_engine("auto") == "qemu-kvm"
    assert runner.pick_engine("qemu-uefi") == "qemu-uefi"


def test_unknown_bochs_model_is_refused_by_name():
    assert "corei7_skylake_x" in runner.bochs_cpu_models()
    with pytest.raises(SystemExit) as e:
        runner.check_cpu("bochs", "nosuchcpu")
    assert "no CPU model 'nosuchcpu'" in str(e.value)
    runner.check_cpu("bochs", "corei7_icelake_u")  # known: no exit


def test_two_guests_of_one_name_are_refused_before_booting(tmp_path):
    """make run GUEST='a/dup.elf b/dup.elf' once copied both to one path on the
    ISO: one never ran, and nothing said so."""
    files = []
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "dup.elf").write_bytes(b"not booted")
        files.append(str(tmp_path / d / "dup.elf"))
    with pytest.raises(SystemExit) as e:
        runner.run(ISO, engine="bochs", guests=files)
    assert str(e.value) == (f"run.py: guest files '{files[0]}' and '{files[1]}' have the same "
                            "name 'dup' (the file name without .elf names the GRUB module and "
                            "guest=): rename one")


def test_more_guests_than_the_kernel_reads_are_refused(tmp_path):
    """The kernel reads MB_MAX_MODS modules (boot/boot.h) and ignores the rest:
    the runner says so before booting instead."""
    n = runner.max_modules()
    files = []
    for i in range(n + 1):
        (tmp_path / f"g{i}.elf").write_bytes(b"not booted")
        files.append(str(tmp_path / f"g{i}.elf"))
    with pytest.raises(SystemExit) as e:
        runner.run(ISO, engine="bochs", guests=files)
    assert str(e.value) == (f"run.py: {n + 1} guest files, but the kernel reads at most {n} "
                            "GRUB modules (MB_MAX_MODS in boot/boot.h): boot the others in "
                            "another run")
    assert runner.guest_names(files[:-1]) == [f"g{i}" for i in range(n)]


KERNELS = os.path.join(runner.ROOT, "build", "guest", "multiboot")
MBDATA = os.path.join(runner.ROOT, "tests", "boot", "mbdata")


def test_a_multiboot_kernel_its_arguments_and_modules_as_grub_lines():
    """A multiboot kernel keeps its file name, the first word of its command line as QEMU
    and GRUB give it; GUEST_ARGS follow it in its module string, and each GUEST_MODULES
    item, read as QEMU's -initrd, becomes a module whose string is the kernel's name, a
    colon, and the item with its file's folders left out."""
    kernel = os.path.join(KERNELS, "startup.elf")
    env, words = os.path.join(MBDATA, "env.txt"), os.path.join(MBDATA, "words.txt")
    names, mods = runner.guest_modules([kernel], "exit=0 mode=full",
                                       f"{env} greeting=hello,{words}")
    assert names == ["startup.elf"]
    assert mods == [(kernel, "/boot/guests/startup.elf", ["startup.elf", "exit=0", "mode=full"]),
                    (env, "/boot/guests/env.txt", ["startup.elf:env.txt", "greeting=hello"]),
                    (words, "/boot/guests/words.txt", ["startup.elf:words.txt"])]
    lines = [l.strip() for l in runner.grub_cfg("guest=startup.elf", mods).splitlines()
             if "module2" in l]
    assert lines == ["module2 /boot/guests/startup.elf startup.elf 'exit=0' 'mode=full'",
                     "module2 /boot/guests/env.txt 'startup.elf:env.txt' 'greeting=hello'",
                     "module2 /boot/guests/words.txt 'startup.elf:words.txt'"]
    # A vmxlab guest's line is as it always was.
    assert runner.guest_modules([os.path.join(runner.ROOT, "build", "guest", "wp_toggle.elf")]) == (
        ["wp_toggle"], [(os.path.join(runner.ROOT, "build", "guest", "wp_toggle.elf"),
                   "/boot/guests/wp_toggle.elf", ["wp_toggle"])])


def test_guest_modules_read_as_qemu_reads_initrd():
    assert runner.module_items("") == []
    assert runner.module_items("a.txt x=1,b.txt") == ["a.txt x=1", "b.txt"]
    assert runner.module_items("a.txt x=1,,2,b.txt,") == ["a.txt x=1,2", "b.txt"]


@pytest.mark.parametrize("args,modules,message", [
    ("a  b", "", "GUEST_ARGS 'a  b' would not reach the guest as it is"),
    ("say='hi'", "", "GUEST_ARGS 'say='hi'' would not reach the guest as it is"),
    (" a", "", "GUEST_ARGS ' a' would not reach the guest as it is"),
    ("", "{data}/env.txt a\\b", "the module string 'env.txt a\\b' would not reach the guest"),
    ("", "{data}/nosuch.txt", "module file '{data}/nosuch.txt' (GUEST_MODULES item "
                              "'{data}/nosuch.txt') does not exist"),
    ("", "{data}/env.txt,{data}/env.txt", "'{data}/env.txt' and '{data}/env.txt' would both "
                                          "be /boot/guests/env.txt on the ISO: rename one"),
    ("", "{kernels}/startup.elf", "'{kernels}/startup.elf' and '{kernels}/startup.elf' would "
                                  "both be /boot/guests/startup.elf on the ISO: rename one"),
])
def test_what_grub_or_the_iso_would_change_is_refused(args, modules, message):
    kernel = os.path.join(KERNELS, "startup.elf")
    fill = {"data": MBDATA, "kernels": KERNELS}
    with pytest.raises(SystemExit) as e:
        runner.guest_modules([kernel], args, modules.format(**fill))
    assert message.format(**fill) in str(e.value)


def test_arguments_and_modules_go_with_one_multiboot_kernel(tmp_path):
    guest = os.path.join(runner.ROOT, "build", "guest", "wp_toggle.elf")
    kernel = os.path.join(KERNELS, "startup.elf")
    for guests in ([guest], [kernel, os.path.join(KERNELS, "spin.elf")], []):
        with pytest.raises(SystemExit) as e:
            runner.guest_modules(guests, "x=1")
        assert "GUEST_ARGS and GUEST_MODULES go with one GUEST, a multiboot kernel" in \
            str(e.value)
    # The kernel and its modules together: at most MB_MAX_MODS.
    n = runner.max_modules()
    for i in range(n):
        (tmp_path / f"m{i}.txt").write_text("a module")
    assert len(runner.guest_modules([kernel], "", str(tmp_path / "m0.txt"))[1]) == 2
    with pytest.raises(SystemExit) as e:
        runner.guest_modules([kernel], "", ",".join(str(tmp_path / f"m{i}.txt")
                                                    for i in range(n)))
    assert str(e.value) == (f"run.py: {n + 1} GRUB modules (the guest files and "
                            f"GUEST_MODULES), but the kernel reads at most {n} "
                            "(MB_MAX_MODS in boot/boot.h)")


def test_engine_memory_follows_guest_mem(tmp_path):
    """The engine gets the guest's RAM and 128 MiB for vmxlab, in steps of 64 MiB, and
    never less than the 256 MiB it always had; Bochs backs at most 2048 MiB of it."""
    kernel = os.path.join(KERNELS, "startup.elf")
    assert runner.engine_mem("") == 256
    assert runner.engine_mem("", [kernel]) == 256  # 128 by default for a multiboot kernel
    assert runner.engine_mem("guest_mem=1024", [kernel]) == 1152
    assert runner.engine_mem("guest_mem=0x400 tests=x") == 1152
    assert runner.engine_mem("guest_mem=3584") == 3712
    assert runner.engine_mem("guest_mem=1000") == 1152
    assert runner.engine_mem("guest_mem=lots") == 256  # the kernel refuses it by name
    cmd, _ = runner.engine_command("qemu-tcg", "", "x.iso", str(tmp_path), mem=1152)
    assert cmd[cmd.index("-m") + 1] == "1152"
    for mem, host in ((256, 256), (3712, 2048)):
        runner.engine_command("bochs", "", "x.iso", str(tmp_path), mem=mem)
        rc = (tmp_path / "bochsrc").read_text().splitlines()
        assert f"memory: guest={mem}, host={host}" in rc


def fake_engine(monkeypatch, script):
    """The runner's loop, with a Python script for the engine: it gets the
    serial file's path and writes to it as an emulated COM1 would."""
    def command(engine, cpu, iso, workdir, debug=False, qmp=None, mem=None):
        serial = f"{workdir}/serial.out"
        return [sys.executable, "-c", script, serial], serial
    monkeypatch.setattr(runner, "engine_command", command)


SPEAKS = """import sys, time
out = open(sys.argv[1], "w", buffering=1)
out.write({first!r})
for i in range({lines}):
    time.sleep(0.2)
    out.write(f"vmxlab: run: window {{i}} done, the run goes on\\n")
out.write({last!r})
time.sleep({then})
"""


def test_a_long_run_that_speaks_is_not_cut_off(monkeypatch):
    """The limit is on silence, not on the run: 3 s of a line every 0.2 s
    under a 1 s limit ends with its verdict (it once ended as TIMEOUT)."""
    fake_engine(monkeypatch, SPEAKS.format(first=BOOT, lines=15, then=0,
                                           last="1 passed, 0 failed\nvmxlab: verdict PASS\n" +
                                           ENDED))
    r = runner.run("unused.iso", engine="bochs", timeout=1, as_built=True)
    assert (r.verdict, r.status) == ("PASS", 0), r.serial
    assert r.seconds >= 3 and r.serial.count("the run goes on") == 15


def test_silence_ends_a_run_as_timeout(monkeypatch):
    """A run that speaks for 2 s, then says nothing: TIMEOUT one limit after
    its last line, not before, and not at its end (it would sleep 60 s)."""
    fake_engine(monkeypatch, SPEAKS.format(first=BOOT, lines=10, then=60, last=""))
    r = runner.run("unused.iso", engine="bochs", timeout=1, as_built=True)
    assert (r.verdict, r.status) == ("TIMEOUT", 3), r.serial
    assert r.serial.count("the run goes on") == 10
    assert 3 <= r.seconds < 10, r.seconds
