"""Boot tests of the VM-entry checker (hv/vmx/check.c) and break=NAME (hv/vmx/breaks.c)
in Bochs. The rules and the breaks come from the two tables themselves: for
each break, the checker must name exactly the break's rule, Bochs must refuse
the entry as the table says, and the line Bochs logs for its own check must be
the one the rule's row maps it to."""
import os
import re

import pytest

import table

ROOT = table.ROOT
SKYLAKE = "corei7_skylake_x"
# Where the breaks Bochs' skylake cannot have can be had: EPT without A/D
# flags, and CET.
OTHER_MODELS = ("corei7_ivy_bridge_3770k", "tigerlake")


def _c_args(text):
    """The top-level arguments of a macro call's body, split at commas outside
    strings and parentheses."""
    args, depth, cur, quoted, i = [], 0, "", False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            cur += ch
            if ch == "\\":
                cur += text[i + 1]
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted, cur = True, cur + ch
        elif ch in "([{":
            depth, cur = depth + 1, cur + ch
        elif ch in ")]}":
            depth, cur = depth - 1, cur + ch
        elif ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    args.append(cur.strip())
    return args


def _c_string(expr, macros):
    """A C string expression: literals and macro names, concatenated; None for NULL."""
    if expr == "NULL":
        return None
    out = ""
    for tok in re.findall(r'"(?:[^"\\]|\\.)*"|\w+', expr):
        out += tok[1:-1].replace('\\"', '"') if tok.startswith('"') else macros[tok]
    return out


def rules():
    """hv/vmx/check.c's check_rules[]: name -> (section, kind, qual, bochs line or None)."""
    text = open(os.path.join(ROOT, "hv", "vmx", "check.c")).read()
    macros = {m.group(1): _c_string(m.group(2), {}) for m in
              re.finditer(r'^#define (\w+) ("[^"\n]*")$', text, re.M)}
    body = text[text.index("check_rules[] = {"):]
    body = body[:body.index("\n};")]
    out = {}
    for m in re.finditer(r"R_(CTL|HOST|GUEST|MSR)\((.*?)\),(?:\n|$)", body, re.S):
        args = _c_args(m.group(2))
        if m.group(1) == "GUEST":
            name, section, qual, _, bochs, _ = args
        else:
            (name, section, _, bochs, _), qual = args, "0"
        out[_c_string(name, macros)] = (_c_string(section, macros), m.group(1), int(qual),
                                        _c_string(bochs, macros))
    return out


def breaks():
    """hv/vmx/breaks.c's entry_breaks[], in order: (name, rule, how, number, qual)."""
    text = open(os.path.join(ROOT, "hv", "vmx", "breaks.c")).read()
    body = text[text.index("entry_breaks[] = {"):]
    body = body[:body.index("\n};")]
    out = []
    for chunk in body.split("\n    { .name = ")[1:]:
        name = re.match(r'"([^"]+)"', chunk).group(1)
        rule = re.search(r'\.rule = "([^"]+)"', chunk).group(1)
        if m := re.search(r"\.cpu = VMFAIL\((\d+)\)", chunk):
            out.append((name, rule, "vmfail", int(m.group(1)), 0))
        else:
            m = re.search(r"\.cpu = FAILED\((\w+), (\d+)\)", chunk)
            out.append((name, rule, "exit", table.REASONS[m.group(1)], int(m.group(2))))
    return out


def verdict_text(how, number, qual):
    """How hv/vmx/check.c's entry_verdict_text() begins for the table's verdict."""
    if how == "vmfail":
        return f"VMfailValid, VM-instruction error {number} "
    return f"VM-entry failure, exit reason {number} ("


def bochs_regex(line):
    """Bochs' log line as the table writes it, %s %d %x standing for what varies."""
    parts = re.split(r"(%[0-9]*l*[sdxu])", line)
    return re.compile("".join((".+?" if p == "%s" else r"\S+") if p.startswith("%")
                              else re.escape(p) for p in parts))


CHECK_RE = re.compile(r"^check: SDM ([0-9.]+): (\w+): ([a-z0-9-]+): (.+)$")


def sections(serial):
    """Each break run's lines: from its "vmxlab: break/NAME: " line to its
    PASS or FAIL line, by name; and the names that were skipped."""
    out, skipped, cur = {}, [], None
    for line in serial.splitlines():
        if m := re.match(r"SKIP: break/([a-z0-9-]+): ", line):
            skipped.append(m.group(1))
        elif m := re.match(r"vmxlab: break/([a-z0-9-]+): .*; the checker must name ", line):
            cur = m.group(1)
            out[cur] = []
        elif cur:
            out[cur].append(line)
            if re.match(r"(PASS|FAIL): break/", line):
                cur = None
    return out, skipped


# What Bochs logs after the line of the check that failed: its own notes.
FOLLOW_UPS = re.compile(r"VMEXIT: Guest State Checks Failed|VMEXIT: Error when loading guest MSR")


def bochs_checks(log):
    """The line Bochs logs for each check it failed, one per refused entry:
    its error lines, less the notes that follow them (and the "invalid
    EPTPTR value" that follows its reason why)."""
    out, previous = [], ""
    for line in log.splitlines():
        m = re.match(r"\d+e\[CPU0\s*\] (.*)$", line)
        if not m:
            continue
        follow_up = FOLLOW_UPS.search(m.group(1)) or (
            previous.startswith("is_eptptr_valid:") and "invalid EPTPTR value" in line)
        previous = m.group(1)
        if not follow_up:
            out.append(m.group(1))
    return out


def check_runs(r, names, rule_table, earlier=()):
    """Every break in names ran alone, the checker named its rule, the CPU said
    what the table says, and Bochs logged the rule's line for it: its lines,
    one per break, in table order, after those of the earlier entries it
    refused, whose rules earlier names."""
    runs, _ = sections(r.serial)
    logged = bochs_checks(r.engine_log)
    for rule in earlier:
        assert logged and bochs_regex(rule_table[rule][3]).fullmatch(logged[0]), (rule, logged)
        logged = logged[1:]
    ran = [b for b in breaks() if b[0] in names]
    assert len(logged) == len(ran), (logged, [b[0] for b in ran])
    for (name, rule, how, number, qual), bochs in zip(ran, logged):
        lines = runs[name]
        section, _, _, pattern = rule_table[rule]
        named = [CHECK_RE.match(l) for l in lines if l.startswith("check: ")]
        assert named and all(named), (name, lines)
        assert {m.group(3) for m in named} == {rule}, (name, lines)
        assert {m.group(1) for m in named} == {section}, (name, lines)
        cpu = [l for l in lines if l.startswith(f"vmxlab: break/{name}: the CPU refused ")]
        assert len(cpu) == 1 and verdict_text(how, number, qual) in cpu[0], (name, lines)
        assert cpu[0].endswith(f"; the checker agrees: {rule}"), cpu
        if how == "exit":
            assert f", qualification {qual};" in cpu[0], cpu
        assert lines[-1].startswith(f"PASS: break/{name}: the checker named {rule}; "), lines
        # Bochs stops at its first failed check, and names it: the rule's line.
        assert bochs_regex(pattern).fullmatch(bochs), (name, rule, pattern, bochs)


def test_every_break_in_bochs(boot):
    """break=all in one boot: every break Bochs' skylake can have. The ones it
    cannot (it has EPT A/D flags, no CET) boot on the models that can."""
    rule_table = rules()
    all_names = [b[0] for b in breaks()]
    r = boot("bochs", cmdline="break=all")
    runs, skipped = sections(r.serial)
    assert set(runs) | set(skipped) == set(all_names) and not set(runs) & set(skipped)
    assert skipped, "every break ran: break_cannot() is never exercised"
    check_runs(r, set(runs), rule_table)
    assert r.serial.count("vmxlab: break/") >= len(runs)
    assert f"{len(runs)} passed, 0 failed, {len(skipped)} skipped" in r.serial, r.serial
    assert "baseline" not in r.serial  # break= runs no table rows unasked
    assert (r.verdict, r.status) == ("PASS", 0), r.serial
    done = set()
    for model in OTHER_MODELS:
        o = boot("bochs", cpu=model, cmdline="break=" + ",".join(skipped))
        ran, _ = sections(o.serial)
        check_runs(o, set(ran), rule_table)
        assert (o.verdict, o.status) == ("PASS", 0), o.serial
        done |= set(ran)
    assert done == set(skipped), (done, skipped)


def test_every_break_names_a_rule_bochs_checks():
    """The tables agree: each break's rule exists and is one Bochs checks, its
    verdict is that of the rule's kind; and the rules nothing breaks in Bochs
    are exactly those the table says Bochs does not check, plus the ones a
    64-bit host cannot reach or no single change can isolate."""
    rule_table = rules()
    kinds = {"CTL": ("vmfail", 7), "HOST": ("vmfail", 8),
             "GUEST": ("exit", table.REASONS["INVALID_GUEST_STATE"]),
             "MSR": ("exit", table.REASONS["MSR_LOAD_FAIL"])}
    for name, rule, how, number, qual in breaks():
        section, kind, rqual, bochs = rule_table[rule]
        assert bochs, (name, rule)
        assert (how, number) == kinds[kind], name
        assert kind != "GUEST" or qual == rqual, name
    broken = {b[1] for b in breaks()}
    unbroken = set(rule_table) - broken
    assert {n for n in unbroken if rule_table[n][3] is None} == \
        {n for n, v in rule_table.items() if v[3] is None}
    # Bochs checks these, but vmxlab's 64-bit host cannot reach them, or no
    # control vmxlab's Bochs models allow makes them fail alone.
    assert {n for n in unbroken if rule_table[n][3]} <= {"host-ss", "host-as-pcide",
                                                         "ctl-proc2-allowed0"}


def test_unknown_break_lists_the_table(boot):
    """A typo in break= stops the boot before anything runs, with every name."""
    r = boot("qemu-tcg", cmdline="break=host-cr0,rflags-bit1")
    names = ", ".join(["all"] + [b[0] for b in breaks()])
    assert (f"vmxlab: bad command line: unknown break 'host-cr0' in break= (breaks: {names})"
            in r.serial.splitlines()), r.serial
    assert (r.verdict, r.status) == ("FAIL", 1), r.serial


def test_breaks_with_table_rows(boot):
    """A comma list runs those breaks after the rows tests= names; the
    bad-entry row's broken RFLAGS is named by the checker and refused by Bochs."""
    r = boot("bochs", cmdline="tests=bad-entry break=host-cs-null,msr-load-fs-base")
    runs, skipped = sections(r.serial)
    assert list(runs) == ["host-cs-null", "msr-load-fs-base"] and not skipped
    check_runs(r, set(runs), rules(), earlier=["guest-rflags-bit1"])
    lines = r.serial.splitlines()
    bad = lines.index("check: SDM 27.3.1.4: GUEST_RFLAGS: guest-rflags-bit1: RFLAGS 0x0: "
                      "bit 1 is 0")
    assert lines[bad + 1].startswith("vmxlab: bad-entry: the entry checker finds 1 failure:")
    assert lines[bad + 2] == ("vmxlab: bad-entry: the CPU refused the entry: VM-entry failure, "
                              "exit reason 33 (invalid guest state), qualification 0; the "
                              "checker agrees: guest-rflags-bit1")
    assert "3 passed, 0 failed" in lines, r.serial
    assert (r.verdict, r.status) == ("PASS", 0)


def test_good_vmcs_passes_and_the_cost_is_shown(boot):
    """The VMCS vmxlab builds passes every rule: no "check:" line at all; the
    checker's cost is printed once, in Bochs' instructions."""
    r = boot("bochs", cmdline="tests=baseline,cpuid-loop toggles=100")
    assert not [l for l in r.serial.splitlines() if l.startswith("check:")], r.serial
    cost = re.findall(r"^vmxlab: entry checker: (\d+) rules passed in (\d+) TSC ticks "
                      r"\(instructions under Bochs\), before every VMLAUNCH, outside the "
                      r"measured windows$", r.serial, re.M)
    assert len(cost) == 1, r.serial
    assert int(cost[0][0]) == len(rules())
    assert 1000 < int(cost[0][1]) < 100000, cost
    assert (r.verdict, r.status) == ("PASS", 0)
