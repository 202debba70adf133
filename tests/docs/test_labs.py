"""The labs (docs/labs/): each has a question, a prediction and an expected
outcome; every number a lab predicts is what the rules in the code give,
computed here from the tables the kernel runs (hv/run/experiments.c through
tests/boot/table.py, hv/vmx/breaks.c and hv/vmx/check.c through test_break.py); the
lines a lab says its commands print contain those numbers; and the commands
print them (tests/docs/test_docs.py runs every lab's blocks, as it runs every
command of the docs, and matches their text output). These tests read the
labs only."""
import glob
import json
import math
import os
import re
import shlex
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "boot"))

import labdoc  # noqa: E402
import mbkernels  # noqa: E402
import mdblocks  # noqa: E402
import table  # noqa: E402
from test_break import bochs_regex, breaks, rules  # noqa: E402

ROOT = labdoc.ROOT
LAB_DIR = os.path.join(ROOT, "docs", "labs")
LABS = sorted(glob.glob(os.path.join(LAB_DIR, "[0-9][0-9]-*.md")))
NAMES = [os.path.basename(p) for p in LABS]
SECTIONS = ("Question", "Prediction", "Expected outcome", "Reading the outcome", "Going further")
DEFAULTS = {"toggles": 10000, "windows": 3, "threshold": 1000}
TICKS = re.compile(r"^\d+e\[CPU0\s*\] ")  # Bochs' log line prefix: instructions run, level


def lab(name):
    return os.path.join(LAB_DIR, name)


def cmdline(block):
    """The kernel command line of a `make run` in an sh block, as a dict; None
    if the block boots nothing."""
    m = re.search(r"make run .*CMDLINE='([^']*)'", block.text)
    return dict(w.split("=", 1) for w in m.group(1).split()) if m else None


def boots(path):
    """(sh block, its command line, its text output) for each block that boots."""
    out = []
    for sh in labdoc.runs(path):
        cmd = cmdline(sh)
        if cmd is not None:
            out.append((sh, cmd, sh.output.text if sh.output else ""))
    return out


def number(cmd, key):
    return int(cmd[key], 0) if key in cmd else DEFAULTS[key]


def mmu(cmd):
    if cmd.get("paging") == "shadow":
        return "shadow-" + cmd.get("shadow_wp", "roles")
    return "ept"


def owned(cmd, policy):
    """(cr0, cr4, threshold) the run of that policy has, as hv/run/experiment.c's policies()."""
    if policy == "custom":
        return int(cmd.get("cr0_owned", "0"), 0), int(cmd.get("cr4_owned", "0"), 0), None
    return table.policies(number(cmd, "threshold"))[policy]


def row_of(label):
    name = label.split("/")[0]
    return next((r for r in table.rows() if r.name == name), None)


def expected(label, cmd):
    """reason -> exits the table's rule gives a measured run, over all windows."""
    row, policy = row_of(label), label.split("/")[1] if "/" in label else "intercept"
    cr0, cr4, thr = owned(cmd, policy)
    n, w = number(cmd, "toggles"), number(cmd, "windows")
    return table.expected_by_reason(row, mmu(cmd), cr0, cr4, thr, n * w)


def pass_line(label, cmd):
    """The PASS line hv/run/experiment.c's check_measured() prints when the run
    measures what the table expects."""
    row, exp = row_of(label), expected(label, cmd)
    parts = [f"{e.reason} exits expected {exp[e.reason]}, measured {exp[e.reason]}; "
             for e in row.expect if e.applies(mmu(cmd))]
    return (f"PASS: {label}: {number(cmd, 'windows')} x {number(cmd, 'toggles')} iterations: "
            + "".join(parts) + "other exits expected 0, measured 0")


def predictions(path):
    """The rows of the Prediction section's tables."""
    return [row for t in labdoc.tables(labdoc.sections(path)["Prediction"]) for row in t]


def reason_columns(row):
    """Header cell -> exit reason, for the columns that count exits."""
    return {h: h.split()[0] for h in row if h.split() and h.split()[0] in table.REASONS}


def boot_of(path, row):
    """The boot a prediction row is about: the one whose command line has the
    `boot` cell's keys, or else the only one whose expected output has the run."""
    found = boots(path)
    if "boot" in row:
        keys = dict(w.split("=", 1) for w in row["boot"].split())
        found = [b for b in found if all(b[1].get(k) == v for k, v in keys.items())]
    else:
        found = [b for b in found if f"PASS: {row['run']}: " in b[2]]
    assert len(found) == 1, (os.path.basename(path), row, [b[1] for b in found])
    return found[0]


# ---------------------------------------------------------------------------
# Every lab: its parts, its commands, its place in the list.

@pytest.mark.parametrize("name", NAMES)
def test_lab_has_question_prediction_and_outcome(name):
    """The parts, in order (docs/labs/README.md names them): the outcome is
    stated as lines a command must print, before the reader reads why."""
    titles = list(labdoc.sections(lab(name)))
    assert titles == list(SECTIONS), titles
    runs = labdoc.runs(lab(name))
    assert runs and all(sh.section == "Expected outcome" for sh in runs), name
    assert any(sh.output for sh in runs), f"{name}: no `text output` block"
    assert "docs/README.md" in open(lab(name)).read(), f"{name} names no chapter"


def fold(text):
    """(what a student reads before the fold, the folded worked prediction,
    the numbers that prediction's tables state and the Question does not give
    in a setting such as `toggles=500`); AssertionError if the lab has no fold."""
    parts = labdoc.sections_of(text)
    head, mark, answer = parts["Prediction"].partition("\n<details>\n")
    assert mark and answer.startswith("<summary>"), \
        "the Prediction section folds its answer into <details><summary>...</summary>"
    assert "\n</details>\n" in answer, "close the <details> before the Expected outcome"
    assert not labdoc.tables(head), "a table of predictions before the fold"
    given = {n for span in re.findall(r"`([^`]*)`", parts["Question"]) for n in numbers(span)}
    predicted = {n for t in labdoc.tables(answer) for row in t for cell in row.values()
                 for n in numbers(cell)} - given - {0, 1}
    before = text[:text.index("\n<details>\n")]
    before = re.sub(r"(?m)^#.*$|\b[Ll]abs? \d+(?: and \d+)?", "", before)  # titles, "lab 3"
    return before, answer, predicted


@pytest.mark.parametrize("name", NAMES)
def test_lab_asks_for_a_prediction_before_it_gives_one(name):
    """A student commits to numbers before seeing them: the Prediction section
    opens with what to work out and where, then folds the worked prediction
    away (<details>, closed before the Expected outcome). Every table of
    predicted numbers is inside the fold, and nothing before it states one of
    their numbers (but 0 and 1, and a lab's own number) that the Question does
    not give in a setting (`toggles=500`)."""
    before, _, predicted = fold(open(lab(name)).read())
    told = sorted(predicted & numbers(before))
    assert not told, f"{name}: the text before the fold states {told}, which it predicts"


def test_a_lab_that_gives_its_answer_first_fails():
    """The rule above on altered labs: one that states a predicted number in
    its prompt, and one without the fold."""
    text = open(lab(NAMES[0])).read()
    _, _, predicted = fold(text)
    n = str(max(predicted))
    told = text.replace("\n<details>\n", f"\nIt is {n}.\n\n<details>\n", 1)
    before, _, predicted = fold(told)
    assert predicted & numbers(before) == {int(n)}
    with pytest.raises(AssertionError, match="folds its answer"):
        fold(text.replace("<details>", "", 1))


def numbers(text):
    """The numbers in text, by value."""
    from decimal import Decimal
    return {int(n, 16) if n.startswith("0x") else Decimal(n)
            for n in mdblocks.NUMBER.findall(text) if n.count(".") <= 1}


@pytest.mark.parametrize("name", NAMES)
def test_lab_commands_are_what_a_student_types(name):
    """Bochs (exact numbers) and make; no edit of vmxlab's sources: files a lab
    writes go under build/."""
    for b in labdoc.blocks(lab(name)):
        if b.kind in ("run", "no-run"):
            assert b.kind == "run", f"{name}:{b.line}: every lab command runs in Bochs"
            for line in b.text.splitlines():
                if line.startswith("make run"):
                    assert " ENGINE=bochs " in line, f"{name}:{b.line}: {line}"
            assert not re.search(r"(?<![0-9&|])>|sed -i|\bpatch\b", b.text), f"{name}:{b.line}"
        if b.kind == "file":
            assert b.env["path"].startswith("build/"), f"{name}:{b.line}"


def test_readme_lists_every_lab():
    """docs/labs/README.md links each lab once, in order; at least six."""
    text = open(os.path.join(LAB_DIR, "README.md")).read()
    linked = re.findall(r"\]\(([0-9][0-9]-[^)]+\.md)\)", text)
    assert linked == NAMES, (linked, NAMES)
    assert len(NAMES) >= 6


# ---------------------------------------------------------------------------
# Predicted exit counts: the table's rule, and the lines that show them.

# The labs whose prediction tables count exits of runs the table does not
# have (a guest from outside): their own tests below check them.
OWN_RUNS = {"05-write-a-guest.md", "09-qemu-kernel.md"}


@pytest.mark.parametrize("name", NAMES)
def test_predicted_exits_are_the_tables_rule(name):
    """Each count a prediction table gives for a measured run is what
    table.expected_by_reason() computes from hv/run/experiments.c for that
    boot's command line; and that boot's expected output has the PASS line
    check_measured() prints with exactly those counts."""
    checked = 0
    for row in predictions(lab(name)):
        cols = reason_columns(row)
        if "run" not in row or not cols:
            continue
        if row_of(row["run"]) is None:
            assert name in OWN_RUNS, f"{name}: {row['run']} is no row of hv/run/experiments.c"
            continue
        _, cmd, out = boot_of(lab(name), row)
        exp = expected(row["run"], cmd)
        for header, reason in cols.items():
            assert int(row[header]) == exp.get(reason, 0), (name, row, exp)
        assert pass_line(row["run"], cmd) in out.splitlines(), (name, pass_line(row["run"], cmd))
        checked += 1
    if name not in OWN_RUNS and any("run" in r and reason_columns(r)
                                    for r in predictions(lab(name))):
        assert checked, name


def trace_lines(out, label):
    return [l for l in out.splitlines() if l.startswith(f"trace {label} #")]


def test_trace_lab_counts_every_exit():
    """Lab 3: the exits a traced run makes are 2 HC_MARKs a window and HC_EXIT,
    the window's CR exits (the table's rule), and the MOV that sets WP again
    after an odd number of flips, if the host still owns WP then. The
    prediction, the rule and the trace lines shown agree, numbered 1 to n."""
    path = lab("03-trace-one-toggle.md")
    [(_, cmd, out)] = boots(path)
    n, w = number(cmd, "toggles"), number(cmd, "windows")
    wp = table.BITS["CR0_WP"]
    rows = [r for r in predictions(path) if "exits traced" in r]
    assert len(rows) == 3
    for row in rows:
        label = row["run"]
        cr0, _, thr = owned(cmd, label.split("/")[1])
        window = expected(label, cmd)["CR_ACCESS"]
        host_owns_wp_after = not (cr0 & wp) and not (thr and thr <= n * w)
        restore = 1 if (n * w) % 2 and host_owns_wp_after else 0
        total = 2 * w + 1 + window + restore
        assert int(row["exits traced"]) == total, (row, total)
        traced = trace_lines(out, label)
        assert [int(re.search(r" #(\d+): ", l).group(1)) for l in traced] == \
            list(range(1, total + 1)), traced
        assert sum(" CR_ACCESS (28) " in l for l in traced) == window + restore, traced


def test_exit_path_lab_costs():
    """Lab 4: both boots expect the same PASS lines; each predicted cost is
    the one the expected vmxlab-costs line gives, and that line's costs are
    its own inputs' arithmetic."""
    path = lab("04-exit-paths.md")
    runs = {cmd["exitpath"]: out for _, cmd, out in boots(path)}
    assert set(runs) == {"c", "fast"}
    assert [l for l in runs["c"].splitlines() if l.startswith("PASS:")] == \
        [l for l in runs["fast"].splitlines() if l.startswith("PASS:")]
    [costs] = [t for t in labdoc.tables(labdoc.sections(path)["Prediction"])
               if t and "exit path" in t[0]]
    for row in costs:
        out = runs[row["exit path"].split("=")[1]]
        [line] = [l for l in out.splitlines() if l.startswith("vmxlab-costs ")]
        c = json.loads(line.split(" ", 1)[1])
        n = c["iterations"]
        vmcall = (c["vmcall_ticks"] - c["native_nop_ticks"]) / n
        cr0 = (c["intercept_ticks"] - c["native_toggle_ticks"]) / n
        assert math.isclose(c["vmcall_trip_per_iter"], round(vmcall, 2)), c
        assert math.isclose(c["cr0_trip_per_iter"], round(cr0, 2)), c
        assert float(row["null VMCALL"]) == c["vmcall_trip_per_iter"], (row, c)
        assert float(row["MOV to CR0"]) == c["cr0_trip_per_iter"], (row, c)
    # The fast path's count, step by step: the steps add up to the totals.
    [steps] = [t for t in labdoc.tables(labdoc.sections(path)["Prediction"])
               if t and "step" in t[0]]
    for col in ("null VMCALL", "MOV to CR0 from RSI"):
        *parts, total = [r[col] for r in steps]
        assert sum(int(p) for p in parts if p) == int(total), (col, parts, total)
    fast = {r["exit path"]: r for r in costs}["exitpath=fast"]
    assert int(float(fast["null VMCALL"])) == int(steps[-1]["null VMCALL"])
    assert int(float(fast["MOV to CR0"])) == int(steps[-1]["MOV to CR0 from RSI"])


def test_guest_lab_exits():
    """Lab 5: the guest the lab writes makes 2 VMCALLs a window and 3 more
    (HC_PUTS, HC_REPORT, HC_EXIT), and the CR-access exits of the wp-toggle
    row's rule, under each policy; the prediction and the expected exits
    lists say so. The SDK builds the file the lab saves."""
    path = lab("05-write-a-guest.md")
    bs = labdoc.blocks(path)
    [src] = [b for b in bs if b.kind == "file"]
    guest = os.path.splitext(os.path.basename(src.env["path"]))[0]
    sdk = os.path.dirname(src.env["path"])
    assert any(f"make guest-sdk SDK={sdk}" in b.text for b in bs if b.kind == "run")
    assert any(f"make -C {sdk}" in b.text for b in bs if b.kind == "run")
    assert "hc_puts(" in src.text and "hc_report(" in src.text
    assert "measure(p, toggle_wp_loop)" in src.text
    [(sh, cmd, out)] = boots(path)
    assert f"GUEST={sdk}/{guest}.elf" in sh.text
    [cr] = [e for e in row_of("wp-toggle").expect if e.reason == "CR_ACCESS"]
    n, w = number(cmd, "toggles"), number(cmd, "windows")
    rows = predictions(path)
    assert [r["run"] for r in rows] == [f"{guest}/{p}" for p in table.policies(0)]
    for row in rows:
        cr0, cr4, thr = owned(cmd, row["run"].split("/")[1])
        exits = {"VMCALL": 2 * w + 3,
                 "CR_ACCESS": table.expected_exits(cr, cr0, cr4, thr, n * w)}
        assert (int(row["VMCALL exits"]), int(row["CR_ACCESS exits"])) == \
            (exits["VMCALL"], exits["CR_ACCESS"]), row
        listed = ", ".join(f"{k} {v}" for k, v in exits.items() if v)
        line = (f"PASS: {row['run']}: ran to its end; 1 guest check passed, 0 failed; "
                f"exits: {listed}")
        assert line in out.splitlines(), line


def test_break_lab_names_the_tables_rules():
    """Lab 6: each break's predicted rule, SDM section and CPU verdict are
    hv/vmx/breaks.c's and hv/vmx/check.c's; the expected output has the PASS line
    judge_break() prints; the Bochs lines shown are the rules' lines, in the
    order the breaks run (hv/vmx/breaks.c's)."""
    path = lab("06-break-the-vmcs.md")
    rule_table, table_order = rules(), [b[0] for b in breaks()]
    by_name = {b[0]: b for b in breaks()}
    verdicts = {"vmfail": "VMfailValid, VM-instruction error {n}",
                "exit": "VM-entry failure, exit reason {n}, qualification {q}"}
    [(sh, cmd, out)] = boots(path)
    asked = cmd["break"].split(",")
    rows = predictions(path)
    assert [r["break"] for r in rows] == asked
    assert asked == sorted(asked, key=table_order.index), "list them in the order they run"
    for row in rows:
        name, rule, how, n, q = by_name[row["break"]]
        section, _, _, bochs = rule_table[rule]
        assert (row["rule"], row["SDM 3C"]) == (rule, section), row
        assert row["CPU's verdict"] == verdicts[how].format(n=n, q=q), row
        assert any(l.startswith(f"PASS: break/{name}: the checker named {rule}; the CPU gave ")
                   for l in out.splitlines()), name
    shown = shown_bochs_lines(path)
    assert len(shown) == len(rows)
    for row, line in zip(rows, shown):
        bochs = rule_table[by_name[row["break"]][1]][3]
        assert bochs_regex(bochs).fullmatch(TICKS.sub("", "0" + line)), (row, line, bochs)


def shown_bochs_lines(path):
    """The lines of Bochs' log the break lab's expected output shows, each
    after `...` (its count of instructions, which moves with the kernel)."""
    [(_, _, out)] = boots(path)
    return [l[3:] for l in out.splitlines() if l.startswith("...e[CPU0")]


def result_counts(out, label):
    """The counts the expected vmxlab-result line of a multiboot kernel's run shows
    (elided with `...` where the lab leaves fields out): each `"key":N`, and each
    device's `"NAME":[reads,writes]` as (reads, writes)."""
    kernel, policy, paging = label.split("/")
    [line] = [l for l in out.splitlines() if l.startswith("vmxlab-result ") and
              f'"experiment":"{kernel}","policy":"{policy}","paging":"{paging}"' in l]
    counts = {k: int(v) for k, v in re.findall(r'"([\w-]+)":(\d+)', line)}
    counts.update({k: (int(r), int(w))
                   for k, r, w in re.findall(r'"([\w-]+)":\[(\d+),(\d+)\]', line)})
    return counts


def com1_setup_writes():
    """The OUTs of guest/multiboot/rt.c's com1_init(): COM1's set-up."""
    text = open(os.path.join(ROOT, "guest", "multiboot", "rt.c")).read()
    body = re.search(r"void com1_init\(void\)\n\{(.*?)\n\}", text, re.S).group(1)
    return len(re.findall(r"\boutb\(", body))


def test_qemu_kernel_lab():
    """Lab 9: a multiboot kernel under EPT, and under QEMU TCG. Each count its prediction
    gives is the one its run's expected vmxlab-result line shows (test_docs.py holds that
    line to the run), and the rules the prediction states hold: the I/O exits are an IN
    and an OUT a byte of the kernel's golden text, COM1's set-up and the exit; adaptive
    runs as intercept, the kernel making fewer WP changes than the table's threshold;
    no preset policy gives CR4. The QEMU command is the one tests/boot/mbkernels.py runs
    for the case, and its expected output has QEMU's departures (QEMU_TCG_DEVIATIONS) and
    the status (code << 1) | 1."""
    path = lab("09-qemu-kernel.md")
    [(sh, cmd, out)] = boots(path)
    case = mbkernels.CASE["prot32"]
    kernel_path = f"build/guest/multiboot/{case.kernel}"
    assert f"GUEST={kernel_path} " in sh.text and not case.args and not case.modules
    gold = mbkernels.golden(case)
    text_bytes = sum(len(line.encode()) + 1 for line in gold)
    rows = {r["run"]: r for r in predictions(path) if "run" in r}
    assert list(rows) == [f"{case.kernel}/{p}/{mmu(cmd)}" for p in table.policies(0)]
    got = {}
    for label, row in rows.items():
        c = got[label] = result_counts(out, label)
        for col, key in (("mov_to_cr0", "mov_to_cr0"), ("mov_to_cr4", "mov_to_cr4"),
                         ("CR_ACCESS exits", "CR_ACCESS"),
                         ("IO_INSTRUCTION exits", "IO_INSTRUCTION"), ("exits", "exits")):
            assert int(row[col]) == c[key], (label, col, row[col], c[key])
        com1, exit_port = c["COM1"], c["isa-debug-exit"]
        assert com1 == (text_bytes, text_bytes + com1_setup_writes()), (label, com1)
        assert c["IO_INSTRUCTION"] == sum(com1) + sum(exit_port) and exit_port == (0, 1)
        assert c["CR_ACCESS"] == c["mov_to_cr0"] + c["mov_to_cr4"]
        assert c["exits"] == c["CR_ACCESS"] + c["IO_INSTRUCTION"]
        assert f"PASS: {label}: exited with code {case.code}; its text, {len(gold)} lines: " \
            in out, label
    by_policy = {label.split("/")[1]: c for label, c in got.items()}
    wp_changes = by_policy["intercept"]["mov_to_cr0"] - by_policy["passthrough"]["mov_to_cr0"]
    assert 0 < wp_changes < owned(cmd, "adaptive")[2]
    assert by_policy["adaptive"] == by_policy["intercept"]
    assert all(cr4 == 0 for _, cr4, _ in table.policies(0).values())
    assert f"guest {next(iter(rows))}: {gold[-1]}" in out.splitlines()

    [qemu] = [b for b in labdoc.runs(path) if b.text.startswith("qemu-system-x86_64 ")]
    want = mbkernels.qemu_command(case, kernel_path, "SERIAL")
    want = [w for w in want if w not in ("-append", case.args)]
    want[want.index("file:SERIAL")] = "stdio"
    assert shlex.split(qemu.text.replace("\\\n", " ").split("||")[0]) == want
    status = (case.qemu_code << 1) | 1
    lines = qemu.output.text.splitlines()
    dev = mbkernels.deviations(case)
    assert all(q in lines for q in dev.values()) and f"exited with status {status}" in lines[-1]
    results = {r["platform"]: r for t in labdoc.tables(labdoc.sections(path)["Prediction"])
               for r in t if "platform" in r}
    assert [(r["last line"], int(r["exit code"]), int(r["status of the command"]))
            for r in results.values()] == [(gold[-1], case.code, 0),
                                           (dev[gold[-1]], case.qemu_code, status)]
