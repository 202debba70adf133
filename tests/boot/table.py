"""The table of experiments (hv/run/experiments.c), read the way the kernel reads
it, so that the boot tests take their expectations from the table instead of
repeating its numbers: which runs a boot makes, and how many exits of which
reason each measured run must have, as a function of the command line."""
import os
import re
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _defines(path):
    """NAME -> int for the `#define NAME (1u << n)` and `#define NAME n` lines."""
    out = {}
    for m in re.finditer(r"^#define (\w+) \(?(\d+)(?:ull|ul|u)?(?: << (\d+))?\)?", open(path).read(),
                         re.M):
        out[m.group(1)] = int(m.group(2)) << int(m.group(3) or 0)
    return out


def _exit_reasons():
    text = open(os.path.join(ROOT, "hv", "vmx", "vmx.h")).read()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"EXIT_REASON_(\w+) = (\d+),", text)}


BITS = _defines(os.path.join(ROOT, "boot", "x86.h"))
BITS.update(_defines(os.path.join(ROOT, "guest", "abi.h")))
HV = _defines(os.path.join(ROOT, "hv", "run", "internal.h"))  # RUN_TICKS, ...
REASONS = _exit_reasons()
REASON_NAMES = {v: k for k, v in REASONS.items()}


# The paging modes of a run (hv/vmx/vmx.h enum mmu), as the result lines name them.
MMUS = ("ept", "shadow-roles", "shadow-flush")
# experiments.c's names for sets of them.
MMU_SETS = {"EPT": {"ept"}, "SHADOW_ROLES": {"shadow-roles"},
            "SHADOW_FLUSH": {"shadow-flush"}, "SHADOW": {"shadow-roles", "shadow-flush"}}


@dataclass
class Expect:
    reason: str     # "CR_ACCESS"
    per_iter: int
    cr: int         # 0 or 4
    bit: int        # 0: always exits
    mmus: set = None  # the paging modes it holds under; None: all
    once: bool = False

    def applies(self, mmu):
        return self.mmus is None or mmu in self.mmus


@dataclass
class Row:
    name: str
    group: str = ""
    guest: str = ""
    host: bool = False
    each_policy: bool = False
    each_paging: bool = False  # also under each paging mode
    measured: bool = False
    expect: list = field(default_factory=list)
    outcome: str = "exited"   # exited, stopped, timed out, halted
    status: int = 0
    stop_reason: str = ""     # "HLT", or "FAILED_VMENTRY|INVALID_GUEST_STATE"
    shadow_stop_reason: str = ""  # where it differs under shadow paging
    flags: str = ""           # .flags as written; _value() reads it


def _value(text):
    """A C constant expression of the table: a name from x86.h/abi.h, a number
    (with u/ull suffixes), or shifts and ors of those."""
    text = re.sub(r"(\d)u?ll?\b|(\d)u\b", r"\1\2", text.strip())
    text = re.sub(r"[A-Z_][A-Z0-9_]*", lambda m: str(BITS[m.group(0)]), text)
    if not re.fullmatch(r"[0-9a-fx <|()]+", text):
        raise ValueError(f"not a constant: {text}")
    return eval(text)  # digits, hex, <<, | and parentheses only


def rows():
    text = open(os.path.join(ROOT, "hv", "run", "experiments.c")).read()
    body = text[text.index("experiments[] = {"):]
    body = body[:body.index("\n};")]
    out = []
    for chunk in body.split("\n    { .name = ")[1:]:
        r = Row(name=re.match(r'"([^"]+)"', chunk).group(1))
        if m := re.search(r'\.group = "([^"]+)"', chunk):
            r.group = m.group(1)
        if m := re.search(r'\.guest = "([^"]+)"', chunk):
            r.guest = m.group(1)
        if m := re.search(r"\.flags = ([^,\n]+),", chunk):
            r.flags = m.group(1)
        r.host = ".host = " in chunk
        r.each_policy = ".runs = EACH_POLICY" in chunk
        r.each_paging = ".runs = EACH_POLICY_AND_PAGING" in chunk
        r.measured = ".measured = true" in chunk
        for m in re.finditer(r"\{ EXIT_REASON_(\w+), (\d+), (\d+), (\w+)(?:, (\w+))?(, AT_MOST_ONCE)? \}",
                             chunk):
            r.expect.append(Expect(m.group(1), int(m.group(2)), int(m.group(3)),
                                   _value(m.group(4)),
                                   MMU_SETS[m.group(5)] if m.group(5) else None,
                                   bool(m.group(6))))
        if m := re.search(r"STOPPED\((\w+)\)", chunk):
            r.outcome, r.stop_reason = "stopped", m.group(1)
        elif m := re.search(r"\.outcome = \{ RUN_STOPPED, 0, ([^,}]+), true,\s+([^}]+)\}", chunk):
            r.outcome = "stopped"
            r.stop_reason = "|".join(re.findall(r"EXIT_REASON_(\w+)", m.group(1)))
            r.shadow_stop_reason = "|".join(re.findall(r"EXIT_REASON_(\w+)", m.group(2)))
        elif m := re.search(r"\.outcome = \{ RUN_STOPPED, 0, ([^}]+)\}", chunk):
            r.outcome = "stopped"
            r.stop_reason = "|".join(re.findall(r"EXIT_REASON_(\w+)", m.group(1)))
        elif m := re.search(r"\.outcome = \{ RUN_TIMED_OUT", chunk):
            r.outcome = "timed out"
        elif m := re.search(r"\.outcome = \{ RUN_HALTED", chunk):
            r.outcome = "halted"
        elif m := re.search(r"\.outcome = \{ RUN_EXITED, ([^,}]+)", chunk):
            r.status = _value(m.group(1))
        out.append(r)
    return out


# The presets of hv/run/experiment.c's policies(): CR0/CR4 bits the guest owns,
# and the adaptive threshold (None where there is none).
def policies(threshold):
    return {
        "intercept": (0, 0, None),
        "passthrough": (BITS["CR0_WP"] | BITS["CR0_TS"], 0, None),
        "adaptive": (0, 0, threshold),
    }


def expected_exits(e, cr0_owned, cr4_owned, threshold, iterations):
    """hv/run/experiment.c's expected_exits(), the rule the table's comment states."""
    n = iterations * e.per_iter
    owned = cr4_owned if e.cr == 4 else cr0_owned
    if e.bit and owned & e.bit:
        n = 0
    elif e.bit and threshold and e.cr == 0 and e.bit == BITS["CR0_WP"]:
        n = min(threshold, n)
    return min(n, 1) if e.once else n


def expected_by_reason(row, mmu, cr0_owned, cr4_owned, threshold, iterations):
    """reason -> exits a measured run of row must make under paging mode mmu."""
    out = {}
    for e in row.expect:
        if e.applies(mmu):
            out[e.reason] = out.get(e.reason, 0) + expected_exits(
                e, cr0_owned, cr4_owned, threshold, iterations)
    return out


def selected(row, tests):
    """config_test_selected() for a tests= value ("" selects all)."""
    if not tests:
        return True
    names = tests.split(",")
    return row.name in names or (row.group and row.group in names)


CR4_PAGING = sum(BITS[f"CR4_{b}"] for b in ("PSE", "PAE", "PGE", "LA57", "PCIDE", "SMEP",
                                             "SMAP", "PKE"))


def shadow_allows(owned):
    """hv/run/experiment.c's shadow_refuses() negated, for (cr0, cr4, threshold)."""
    cr0, cr4, thr = owned
    return not (cr0 & BITS["CR0_WP"]) and not thr and not (cr4 & CR4_PAGING)


def runs(tests="", policy_names=("intercept", "passthrough", "adaptive"), mmu="ept",
         ept=True, owned=None):
    """(row, policy, paging mode, label) of every guest run a boot makes, in
    order: mmu is the boot's paging mode; rows that run under each paging mode
    run under EPT (if the CPU has it) and both shadow modes, under the policies
    shadow paging allows (owned: policy -> (cr0, cr4, threshold))."""
    owned = owned or policies(1)
    out = []
    for r in rows():
        if r.host or not selected(r, tests):
            continue
        if r.each_paging:
            for m in (("ept",) if ept else ()) + ("shadow-roles", "shadow-flush"):
                out += [(r, p, m, f"{r.name}/{p}/{m}") for p in policy_names
                        if m == "ept" or shadow_allows(owned.get(p, (0, 0, None)))]
        elif r.each_policy:
            out += [(r, p, mmu, f"{r.name}/{p}") for p in policy_names]
        else:
            out.append((r, "intercept", mmu, r.name))
    return out


def labels(tests="", policy_names=("intercept", "passthrough", "adaptive"), **kw):
    """The labels of every guest run a boot makes, in order."""
    return [label for _, _, _, label in runs(tests, policy_names, **kw)]
