#!/usr/bin/env python3
"""run.py: boot the vmxlab ISO in one engine, print the serial console live,
and turn how the run ended into an exit status (the verdict table in README.md).

`make run` and `make debug` call it; the boot tests import run() from it, so the
tests judge runs exactly as a user's `make run` does. Engines: bochs (software
VMX, any host), qemu-kvm (nested VMX on an Intel host), qemu-tcg (no VMX: the
boot path), qemu-uefi (QEMU TCG with OVMF firmware). `auto` picks qemu-kvm only
when the host really offers nested VMX, else bochs.
"""
import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERDICTS = {"PASS": 0, "FAIL": 1, "CRASH": 2, "TIMEOUT": 3, "UNSUPPORTED": 4}
ENGINES = ("bochs", "qemu-kvm", "qemu-tcg", "qemu-uefi")
DEFAULT_CPU = "corei7_skylake_x"
# Seconds the console may stay silent before the runner gives up (TIMEOUT).
# Silence, not the run's length: a long run is alive while it prints, and the
# kernel prints a line between windows every 2^28 ticks or so (hv/exit/exit.c).
DEFAULT_TIMEOUT = {"bochs": 300, "qemu-kvm": 120, "qemu-tcg": 60, "qemu-uefi": 120}
OVMF = "/usr/share/ovmf/OVMF.fd"
VERDICT_RE = re.compile(r"^vmxlab: verdict ([A-Z]+)\s*$", re.M)
SUMMARY_RE = re.compile(r"^\d+ passed, (\d+) failed(, \d+ skipped)?$")
BOOT_PREFIX = "vmxlab: booted by "
ENDED_LINE = "vmxlab: run ended; the machine can be switched off"


@dataclasses.dataclass
class Result:
    verdict: str   # PASS, FAIL, CRASH, TIMEOUT or UNSUPPORTED
    status: int    # the runner's exit status for that verdict
    serial: str    # everything the kernel printed on COM1
    engine: str
    seconds: float
    engine_log: str = ""  # Bochs' log, or QEMU's stderr
    engine_ended: bool = False  # the engine stopped by itself (power off, crash)
    engine_status: int = 0      # its exit status then

    def lines(self, prefix):
        """Lines starting with prefix, prefix removed."""
        return [l[len(prefix):].strip() for l in self.serial.splitlines()
                if l.startswith(prefix)]

    def json_lines(self, prefix):
        return [json.loads(l) for l in self.lines(prefix + " ")]


def verdict_of(serial, engine_ended):
    """The kernel's own verdict, judged strictly. Every line a guest prints
    starts with "guest " and has its control characters escaped (boot/report.c),
    so lines that start "vmxlab: " are the kernel's; on top of that, a run is
    PASS only if it booted once, printed one verdict, and that verdict follows
    the one summary line, which counts no failure. More than one boot or
    verdict means the machine restarted: CRASH. No verdict: CRASH if the
    engine stopped by itself (fault, reset, panic), else TIMEOUT."""
    lines = [l.rstrip() for l in serial.splitlines()]
    found = [(i, m.group(1)) for i, l in enumerate(lines) for m in [VERDICT_RE.match(l)] if m]
    if not found:
        return "CRASH" if engine_ended else "TIMEOUT"
    boots = sum(l.startswith(BOOT_PREFIX) for l in lines)
    if len(found) > 1 or boots > 1:
        return "CRASH"
    at, verdict = found[0]
    if verdict not in VERDICTS:
        return "CRASH"
    if verdict != "PASS":
        return verdict
    summaries = [l for l in lines if SUMMARY_RE.match(l)]
    before = [l for l in lines[:at] if l and not l.startswith("vmxlab: left VMX")]
    if (boots != 1 or len(summaries) != 1 or not before or before[-1] != summaries[0]
            or SUMMARY_RE.match(summaries[0]).group(1) != "0"):
        return "FAIL"
    return "PASS"


def host_has_nested_vmx():
    """/dev/kvm alone proves nothing (it may be a non-VT-x backend): require the
    vmx flag and kvm_intel's nested parameter."""
    try:
        with open("/proc/cpuinfo") as f:
            if not re.search(r"^flags\s*:.*\bvmx\b", f.read(), re.M):
                return False
        with open("/sys/module/kvm_intel/parameters/nested") as f:
            return f.read().strip() in ("Y", "1") and os.path.exists("/dev/kvm")
    except OSError:
        return False


def pick_engine(engine):
    if engine in ("", "auto"):
        return "qemu-kvm" if host_has_nested_vmx() else "bochs"
    if engine not in ENGINES:
        sys.exit(f"run.py: unknown ENGINE '{engine}': use one of auto, {', '.join(ENGINES)}")
    return engine


def bochs_cpu_models():
    """The CPU models this Bochs build knows (`bochs --help cpu`)."""
    p = subprocess.run(["bochs", "--help", "cpu"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    text = p.stdout + p.stderr
    if "Supported CPU models:" not in text:
        return []
    models = []
    for line in text.split("Supported CPU models:", 1)[1].strip().splitlines():
        if not re.fullmatch(r"[a-z0-9_]+", line.strip()):
            break
        models.append(line.strip())
    return models


def check_cpu(engine, cpu):
    if engine != "bochs" or not cpu:
        return
    models = bochs_cpu_models()
    if models and cpu not in models:
        sys.exit(f"run.py: Bochs has no CPU model '{cpu}'. Models: {', '.join(models)}")


def engine_cmdline(cmdline, guests=()):
    """The command line booted in an emulator: the user's, plus end=poweroff
    unless it says how to end, and guest=NAME,... for the guest files given,
    unless it names guests itself. The ISO itself defaults to end=halt, which
    is right for a real PC, where ports 0xf4 and 0x8900 belong to devices."""
    toks = cmdline.split()
    if guests and not any(t.startswith("guest=") for t in toks):
        toks.append("guest=" + ",".join(guest_names(guests)))
    if not any(t.startswith("end=") for t in toks):
        toks.append("end=poweroff")
    return " ".join(toks)


GUEST_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MB_MAGIC = struct.pack("<I", 0x1BADB002)  # a multiboot (v1) header's first word
MB_SEARCH = 8192                          # the header lies in a file's first 8 KiB


def is_multiboot(path):
    """Is this file a multiboot (v1) kernel rather than a vmxlab guest? The kernel's own
    rule (mbv1_is_multiboot(), hv/run/multiboot.c): the magic 0x1BADB002 at a 4-byte
    aligned offset of the first 8 KiB, or anywhere in a file that is not an ELF64."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF" and data[4:5] == b"\x02":
        data = data[:MB_SEARCH]
    at = data.find(MB_MAGIC)
    while at >= 0 and at % 4:
        at = data.find(MB_MAGIC, at + 1)
    return at >= 0


def guest_name(path):
    """A guest's name on the ISO and in guest=: a vmxlab guest's file name without .elf;
    a multiboot kernel's whole file name, the first word of its command line (as QEMU's
    -kernel and GRUB's multiboot give it)."""
    name = os.path.basename(path)
    name = name[:-4] if name.endswith(".elf") and not is_multiboot(path) else name
    if not GUEST_NAME_RE.fullmatch(name):
        sys.exit(f"run.py: guest file name '{name}' must be 1 to 32 of A-Z a-z 0-9 _ - .")
    return name


def header_number(path, name):
    """The number a C header defines as NAME (#define NAME 123, or (123u << 20))."""
    with open(os.path.join(ROOT, path)) as f:
        m = re.search(rf"^#define {name} \(?(\d+)u?(?: << (\d+))?\)?", f.read(), re.M)
    return int(m.group(1)) << int(m.group(2) or 0)


def max_modules():
    """MB_MAX_MODS of boot/boot.h: the GRUB modules the kernel reads."""
    return header_number("boot/boot.h", "MB_MAX_MODS")


def guest_names(guests):
    """The names of the guest files, refused before anything boots if two are
    the same (both would be copied to one path on the ISO, and the one asked
    for by name might not be the one that runs) or if there are more than the
    kernel reads (it would ignore those past its limit)."""
    if len(guests) > max_modules():
        sys.exit(f"run.py: {len(guests)} guest files, but the kernel reads at most "
                 f"{max_modules()} GRUB modules (MB_MAX_MODS in boot/boot.h): boot the "
                 "others in another run")
    names = {}
    for g in guests:
        n = guest_name(g)
        if n in names:
            sys.exit(f"run.py: guest files '{names[n]}' and '{g}' have the same name '{n}' "
                     "(the file name without .elf names the GRUB module and guest=): "
                     "rename one")
        names[n] = g
    return list(names)


def module_items(spec):
    """GUEST_MODULES read as QEMU reads -initrd: "FILE ARGS" items separated by commas,
    ",," standing for a comma in an item (QEMU's get_opt_value())."""
    items, item, i = [], "", 0
    while i < len(spec):
        if spec.startswith(",,", i):
            item, i = item + ",", i + 2
        elif spec[i] == ",":
            items, item, i = items + [item], "", i + 1
        else:
            item, i = item + spec[i], i + 1
    return items + [item] if item else items


def grub_words(text, what):
    """text as the words of a module2 line, which GRUB joins again with one space each
    (grub_create_loader_cmdline()). GRUB quotes a word that holds a space and puts a
    backslash before ' " and \\: so only words of printable ASCII without those, one
    space apart, reach the guest exactly as given."""
    words = text.split(" ") if text else []
    if any(not re.fullmatch(r"[!-~]+", w) or set(w) & set("'\"\\") for w in words):
        sys.exit(f"run.py: {what} '{text}' would not reach the guest as it is: GRUB joins "
                 "the words of a module line with one space and escapes quotes and "
                 "backslashes; use words of printable ASCII without ' \" \\, one space apart")
    return words


def guest_modules(guests, args="", modules=""):
    """The GRUB modules that carry the guest files: (file, path on the ISO, the words of
    its module string) each, and the names for guest=. A vmxlab guest goes to
    /boot/guests/NAME.elf with the string NAME; a multiboot kernel to /boot/guests/NAME
    with "NAME ARGS" (args: GUEST_ARGS, its command line after its name), and each of its
    modules (modules: GUEST_MODULES, as QEMU's -initrd) to /boot/guests/FILE with
    "NAME:FILE ARGS", FILE without its folders. Refused before anything boots: what GRUB
    would change, two files for one path, more modules than the kernel reads."""
    names = guest_names(guests)
    mods = [[g, f"/boot/guests/{n}" + ("" if is_multiboot(g) else ".elf"), [n]]
            for g, n in zip(guests, names)]
    items = module_items(modules)
    if args or items:
        if len(guests) != 1 or not is_multiboot(guests[0]):
            sys.exit("run.py: GUEST_ARGS and GUEST_MODULES go with one GUEST, a multiboot "
                     "kernel (a vmxlab guest, an ELF64 without a multiboot header, takes "
                     f"neither); given: {' '.join(guests) or 'no GUEST'}")
        mods[0][2] += grub_words(args, "GUEST_ARGS")
    for item in items:
        path, space, rest = item.partition(" ")
        if not os.path.isfile(path):
            sys.exit(f"run.py: module file '{path}' (GUEST_MODULES item '{item}') does not "
                     "exist")
        file = os.path.basename(path)
        if not GUEST_NAME_RE.fullmatch(file):
            sys.exit(f"run.py: module file name '{file}' must be 1 to 32 of A-Z a-z 0-9 _ - .")
        same = [m[0] for m in mods if os.path.basename(m[1]) == file]
        if same:
            sys.exit(f"run.py: '{same[0]}' and '{path}' would both be /boot/guests/{file} on "
                     "the ISO: rename one")
        words = grub_words(file + space + rest, "the module string")
        mods.append([path, f"/boot/guests/{file}", [f"{names[0]}:{words[0]}"] + words[1:]])
    if len(mods) > max_modules():
        sys.exit(f"run.py: {len(mods)} GRUB modules (the guest files and GUEST_MODULES), but "
                 f"the kernel reads at most {max_modules()} (MB_MAX_MODS in boot/boot.h)")
    return names, [tuple(m) for m in mods]


# MiB of RAM an engine gets: the guest's RAM (guest_mem=, else its default: 4 for vmxlab
# guests, GUEST_RAM_SIZE; 128 for multiboot kernels, as QEMU's -m) and what vmxlab needs
# besides it (itself, GRUB's modules, the tables it builds, the firmware's areas),
# rounded up to HOST_MEM_STEP; HOST_MEM_MIN at least, what the engines always had.
# Bochs 2.7 backs at most BOCHS_HOST_MAX of it with host memory ("memory: host=", taken
# as the guest first touches it): a run that touches more ends in a Bochs panic.
HOST_MEM_MIN, HOST_MEM_VMXLAB, HOST_MEM_STEP, BOCHS_HOST_MAX = 256, 128, 64, 2048


def engine_mem(cmdline, guests=()):
    mem = header_number("guest/abi.h", "GUEST_RAM_SIZE") >> 20
    if any(is_multiboot(g) for g in guests):
        mem = header_number("hv/run/multiboot.h", "MBV1_DEFAULT_MEM_MIB")
    for tok in cmdline.split():
        key, _, val = tok.partition("=")
        if key == "guest_mem" and re.fullmatch(r"0[xX][0-9a-fA-F]+|[0-9]+", val):
            mem = int(val, 16 if val[1:2] in ("x", "X") else 10)  # else the kernel refuses it
    need = -(-(mem + HOST_MEM_VMXLAB) // HOST_MEM_STEP) * HOST_MEM_STEP
    return max(HOST_MEM_MIN, need)


def grub_cfg(cmdline, modules=()):
    """scripts/grub.cfg with the default entry's command line replaced, and a
    module2 line for each (file, path on the ISO, words) of modules (guest_modules())."""
    if "'" in cmdline or "\n" in cmdline:
        sys.exit("run.py: CMDLINE may not contain quotes or newlines")
    with open(os.path.join(ROOT, "scripts", "grub.cfg")) as f:
        text = f.read()
    args = " ".join(f"'{tok}'" for tok in cmdline.split())
    word = lambda w: w if GUEST_NAME_RE.fullmatch(w) else f"'{w}'"  # noqa: E731
    mods = "".join(f"\n    module2 {path} {' '.join(map(word, words))}"
                   for _, path, words in modules)
    return re.sub(r"^(\s*multiboot2 /boot/vmxlab\.elf)\b.*$",
                  lambda m: f"{m.group(1)} {args}{mods}", text, count=1, flags=re.M)


def make_iso(iso, cmdline, workdir, guests=(), guest_args="", modules=""):
    """A copy of the built ISO, made by scripts/mkiso.sh from the same kernel,
    whose grub.cfg's first entry carries cmdline and loads each guest file in
    guests, and a multiboot kernel's modules, as GRUB modules (guest_modules())."""
    tree = os.path.join(workdir, "iso")
    os.makedirs(os.path.join(tree, "boot", "grub"))
    shutil.copy(os.path.join(os.path.dirname(iso), "iso", "boot", "vmxlab.elf"),
                os.path.join(tree, "boot", "vmxlab.elf"))
    _, mods = guest_modules(guests, guest_args, modules)
    for file, path, _ in mods:
        os.makedirs(os.path.join(tree, "boot", "guests"), exist_ok=True)
        shutil.copy(file, os.path.join(tree, path.lstrip("/")))
    with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(grub_cfg(cmdline, mods))
    out = os.path.join(workdir, "run.iso")
    subprocess.run([os.path.join(ROOT, "scripts", "mkiso.sh"), out, tree], check=True)
    return out


def engine_command(engine, cpu, iso, workdir, debug=False, qmp=None, mem=HOST_MEM_MIN):
    """The engine's command line, booting iso with mem MiB of RAM."""
    serial = os.path.join(workdir, "serial.out")
    if engine == "bochs":
        with open(os.path.join(ROOT, "scripts", "bochsrc.in")) as f:
            rc = f.read()
        for key, val in (("CPU", cpu or DEFAULT_CPU), ("ISO", iso), ("SERIAL", serial),
                         ("LOG", os.path.join(workdir, "bochs.log")), ("MEM", str(mem)),
                         ("HOST_MEM", str(min(mem, BOCHS_HOST_MAX)))):
            rc = rc.replace(f"@{key}@", val)
        with open(os.path.join(workdir, "bochsrc"), "w") as f:
            f.write(rc)
        cmd = ["bochs", "-q", "-f", os.path.join(workdir, "bochsrc")]
        if not debug:  # continue at the debugger's first prompt, quit at the end
            with open(os.path.join(workdir, "rc"), "w") as f:
                f.write("c\nquit\n")
            cmd += ["-rc", os.path.join(workdir, "rc")]
        return cmd, serial
    cmd = ["qemu-system-x86_64", "-m", str(mem), "-cdrom", iso, "-boot", "d",
           "-display", "none", "-no-reboot", "-serial", f"file:{serial}", "-monitor", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if engine == "qemu-kvm":
        cmd += ["-enable-kvm", "-cpu", "host"]
    if engine == "qemu-uefi":
        cmd += ["-bios", OVMF]
    if qmp:
        cmd += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    if debug:
        cmd += ["-s", "-S"]
    return cmd, serial


def qmp_command(path, command, **args):
    """One QMP command over the monitor socket (handshake, then the command)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        f = s.makefile("rw")
        f.readline()
        for msg in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": args}):
            f.write(json.dumps(msg) + "\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "return" in reply or "error" in reply:
                    break
        return reply


def run(iso, engine="auto", cpu="", cmdline="", timeout=None, echo=False, screendump=None,
        keep=False, as_built=False, guests=(), guest_args="", guest_modules=""):
    """Boot iso once and return a Result. timeout: seconds the serial console
    may stay silent before the run ends as TIMEOUT (no limit on the whole run).
    echo=True prints the serial console live.
    screendump (QEMU engines) saves the screen as a PPM file once the verdict is in:
    pass end=halt in cmdline so that the machine is still there to be looked at.
    keep=True keeps the run's folder (serial.out, bochs.log, the ISO) and says where.
    as_built=True boots the ISO itself, as a USB stick made from it would boot
    (its first entry, end=halt), instead of a copy with CMDLINE and end=poweroff.
    guests: guest files to put on the copy as GRUB modules (guest=); guest_args and
    guest_modules: the one guest's command line and modules, if it is a multiboot kernel
    (GUEST_ARGS, and GUEST_MODULES as QEMU's -initrd: guest_modules())."""
    engine = pick_engine(engine)
    check_cpu(engine, cpu)
    iso = os.path.abspath(iso)
    timeout = timeout or DEFAULT_TIMEOUT[engine]
    workdir = tempfile.mkdtemp(prefix="vmxlab-run-")
    try:
        return _run(iso, engine, cpu, cmdline, timeout, echo, screendump, workdir, as_built,
                    guests, guest_args, guest_modules)
    finally:
        if keep:
            print(f"run.py: kept the run's folder: {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(iso, engine, cpu, cmdline, timeout, echo, screendump, workdir, as_built, guests,
         guest_args, guest_modules):
    run_iso = iso if as_built else make_iso(iso, engine_cmdline(cmdline, guests), workdir,
                                            guests, guest_args, guest_modules)
    qmp = os.path.join(workdir, "qmp.sock") if screendump else None
    cmd, serial_path = engine_command(engine, cpu, run_iso, workdir, qmp=qmp,
                                      mem=engine_mem(cmdline, guests))
    env = dict(os.environ, TERM="dumb")
    start = time.monotonic()
    out_file = open(os.path.join(workdir, "engine.out"), "w+b")  # the engine's own output
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                            stdout=out_file, stderr=subprocess.STDOUT,
                            start_new_session=True)
    serial, seen, verdict_at, ended, heard = "", 0, None, False, start
    while True:
        ended = proc.poll() is not None
        now = time.monotonic()
        if os.path.exists(serial_path):
            with open(serial_path, "rb") as f:
                f.seek(seen)
                chunk = f.read().decode("utf-8", "replace")
            seen += len(chunk.encode("utf-8", "replace"))
            serial += chunk
            if chunk:
                heard = now
            if echo and chunk:
                sys.stdout.write(chunk.replace("\r", ""))
                sys.stdout.flush()
        if ended:
            break
        if verdict_at is None and VERDICT_RE.search(serial):
            verdict_at = now
        # After its verdict the kernel powers off, or halts and says so
        # (end=halt): then the run is over. Failing both, wait a moment.
        if verdict_at is not None and (ENDED_LINE in serial or now - verdict_at > 3):
            if screendump:
                time.sleep(1.0)  # let the last line reach the screen
                qmp_command(qmp, "screendump", filename=screendump)
            break
        if now - heard > timeout:  # silent that long: hung, however long it ran
            break
        time.sleep(0.05)
    if not ended:
        os.killpg(proc.pid, signal.SIGKILL)  # Bochs ignores SIGTERM under "term"
        proc.wait()
    out_file.seek(0)
    log = out_file.read().decode("utf-8", "replace")
    out_file.close()
    bochs_log = os.path.join(workdir, "bochs.log")
    if os.path.exists(bochs_log):
        with open(bochs_log, errors="replace") as f:
            log += f.read()
    verdict = verdict_of(serial.replace("\r", ""), ended or verdict_at is not None)
    return Result(verdict, VERDICTS[verdict], serial.replace("\r", ""), engine,
                  time.monotonic() - start, log, ended, proc.returncode if ended else 0)


def debug(iso, engine, cpu, cmdline, guests=(), guest_args="", guest_modules=""):
    engine = pick_engine(engine)
    check_cpu(engine, cpu)
    iso = os.path.abspath(iso)
    workdir = tempfile.mkdtemp(prefix="vmxlab-debug-")
    run_iso = make_iso(iso, engine_cmdline(cmdline, guests), workdir, guests, guest_args,
                       guest_modules)
    cmd, serial = engine_command(engine, cpu, run_iso, workdir, debug=True,
                                 mem=engine_mem(cmdline, guests))
    print(f"run.py: serial console goes to {serial} (tail -f it in another terminal)")
    if engine == "bochs":
        print("run.py: Bochs stops at its debugger prompt: 'c' continues, Ctrl-C breaks in,"
              " 'r' shows registers, 'help' lists commands")
        os.execvpe(cmd[0], cmd, dict(os.environ, TERM=os.environ.get("TERM", "xterm")))
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        subprocess.call(["gdb", "-q", "-x", os.path.join(ROOT, "scripts", "gdbinit")], cwd=ROOT)
    finally:
        qemu.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("iso")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--cpu", default="", help=f"Bochs CPU model (default {DEFAULT_CPU})")
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds without console output before the run ends as TIMEOUT "
                    f"(default {', '.join(f'{e} {t}' for e, t in DEFAULT_TIMEOUT.items())})")
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the run's folder (logs)")
    ap.add_argument("--guest", action="append", default=[],
                    help="a guest file (a vmxlab guest ELF or a multiboot kernel) to boot as "
                    "a GRUB module and run (guest=); repeatable")
    ap.add_argument("--guest-args", default="",
                    help="the multiboot kernel's command line after its name (QEMU's -append)")
    ap.add_argument("--guest-modules", default="",
                    help="the multiboot kernel's modules as QEMU's -initrd takes them: "
                    "'FILE ARGS,FILE ARGS'")
    args = ap.parse_args()
    for g in args.guest:
        if not os.path.isfile(g):
            sys.exit(f"run.py: guest file '{g}' does not exist")
    guest_modules(args.guest, args.guest_args, args.guest_modules)  # refused before booting
    if args.debug:
        return debug(args.iso, args.engine, args.cpu, args.cmdline, args.guest,
                     args.guest_args, args.guest_modules)
    engine = pick_engine(args.engine)
    check_cpu(engine, args.cpu)
    what = f"{engine}" + (f", cpu {args.cpu or DEFAULT_CPU}" if engine == "bochs" else "")
    print(f"run.py: booting {args.iso} in {what}; command line "
          f"'{engine_cmdline(args.cmdline, args.guest)}'", flush=True)
    r = run(args.iso, engine, args.cpu, args.cmdline, args.timeout, echo=True, keep=args.keep,
            guests=args.guest, guest_args=args.guest_args, guest_modules=args.guest_modules)
    vmx = [l for l in r.engine_log.splitlines() if "VMENTER FAIL" in l or "VMFAIL" in l]
    if vmx:  # Bochs names the VM-entry check or the VMX instruction that failed
        print("run.py: Bochs' log on failed VMX instructions and VM entries:\n" +
              "\n".join(vmx[:10]))
    if r.verdict == "TIMEOUT":
        print(f"run.py: no console output for {args.timeout or DEFAULT_TIMEOUT[engine]:g} s "
              "(--timeout, TIMEOUT=): the runner stopped the engine")
    if r.verdict in ("CRASH", "TIMEOUT"):
        tail = "\n".join(r.engine_log.splitlines()[-15:])
        print(f"run.py: last lines the engine printed:\n{tail}")
    print(f"run.py: verdict {r.verdict} (exit status {r.status}; {what}; {r.seconds:.1f} s)")
    return r.status


if __name__ == "__main__":
    sys.exit(main())
