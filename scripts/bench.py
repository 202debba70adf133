#!/usr/bin/env python3
"""bench.py: `make bench`. Boots vmxlab in Bochs once per configuration,
policy x paging (ept, shadow-roles, shadow-flush) x exit path (c, fast), and
writes build/bench/bench.csv, a Markdown table (bench.md, the README's results
table) and bench.png (gnuplot): VM exits and instructions per WP toggle. Under
Bochs one TSC tick is one instruction, so every number is exact and the same
on every host. Shadow paging refuses the policies that give the guest CR0.WP;
they run here with unsafe=1 and are marked so. Then it checks the targets
(README, "Benchmark") and says which hold; a missed target is a finding, and
the exit status stays 0. TOGGLES= sets the toggles per run (default 10000).
With SAVE=1 (`make bench SAVE=1`) it also copies bench.csv and bench.md into
docs/data/, the data the README's table and docs/img/bench.svg (`make docs`,
docs/diagrams/bench.gp) are made from; tests/docs checks them against a boot.
It also boots each multiboot kernel of guest/multiboot (issue 16) once, as
tests/boot/mbkernels.py's cases run them, under every policy and paging mode
(unsafe=1 lets shadow paging run all three), and writes each run's ending, exits
and ticks to build/bench/mbkernels.csv and .md; its target: spin.elf, 10^8
instructions without an exit, takes at most 1.1 times as many ticks under EPT."""
import concurrent.futures
import csv
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as runner  # noqa: E402
sys.path.insert(0, os.path.join(runner.ROOT, "tests", "boot"))
import mbkernels  # noqa: E402  the kernels' cases: one source for the tests and here

ROOT = runner.ROOT
OUT = os.path.join(ROOT, "build", "bench")
ISO = os.path.join(ROOT, "build", "vmxlab.iso")
POLICIES = ("intercept", "passthrough", "adaptive")
PAGING = ("ept", "shadow-roles", "shadow-flush")
EXITPATHS = ("c", "fast")
TOGGLES = int(os.environ.get("TOGGLES") or 10000)
CPU = os.environ.get("CPU") or runner.DEFAULT_CPU
# The fast path's targets (README, "Benchmark"): instructions per intercepted
# toggle and per null VMCALL round trip, loop subtracted, under exitpath=fast
# (tests/boot/test_exitpath.py holds every boot to them too).
FAST_CR0_MAX, FAST_VMCALL_MAX = 60, 36
FIELDS = ["policy", "paging", "exitpath", "unsafe", "toggles", "exits_per_toggle",
          "cr_exits", "pf_fills", "ticks_per_toggle", "native_ticks_per_toggle",
          "cr0_trip", "vmcall_trip"]


def cmdline(policy, paging, exitpath):
    mmu = ("paging=ept" if paging == "ept" else
           f"paging=shadow shadow_wp={paging.split('-')[1]}")
    unsafe = paging != "ept" and policy != "intercept"
    return (f"policy={policy} {mmu} exitpath={exitpath} toggles={TOGGLES} windows=1 "
            f"threshold={TOGGLES // 10} tests=baseline,wp-toggle"
            + (" unsafe=1" if unsafe else "")), unsafe


def one(policy, paging, exitpath):
    line, unsafe = cmdline(policy, paging, exitpath)
    r = runner.run(ISO, "bochs", CPU, line, timeout=1800)
    if r.verdict != "PASS":
        sys.exit(f"bench: {line}: verdict {r.verdict}\n{r.serial[-2000:]}")
    [res] = [j for j in r.json_lines("vmxlab-result") if j["experiment"] == "wp-toggle"]
    assert res["paging"] == paging, res
    [base] = r.json_lines("vmxlab-baseline")
    [costs] = r.json_lines("vmxlab-costs") or [{}]
    row = dict(policy=policy, paging=paging, exitpath=exitpath, unsafe=int(unsafe),
               toggles=TOGGLES, exits_per_toggle=round(res["exits"] / TOGGLES, 4),
               cr_exits=res["exits_by_reason"].get("CR_ACCESS", 0),
               pf_fills=res["pf_exits"].get("filled", 0),
               ticks_per_toggle=res["per_iter_min"],
               native_ticks_per_toggle=base["native_toggle_per_iter"],
               cr0_trip=costs.get("cr0_trip_per_iter", ""),
               vmcall_trip=costs.get("vmcall_trip_per_iter", ""))
    print(f"bench: {policy:11} {paging:12} {exitpath:4}: {row['exits_per_toggle']:.4f} exits, "
          f"{row['ticks_per_toggle']:.2f} instructions per toggle", flush=True)
    return row


# The multiboot kernels, each as its case in tests/boot/mbkernels.py runs it (chatty with
# fewer lines: 200000 take an hour per run under Bochs).
MB_CASES = tuple(mbkernels.CASE[n] for n in ("spin", "flat", "prot32", "leave64", "startup")) + \
    (mbkernels.Case("chatty-1000", "chatty.elf", "lines=1000"),)
MB_FIELDS = ["kernel", "policy", "paging", "end", "exit_code", "text", "exits", "cr_exits",
             "io_exits", "pf_fills", "ticks"]
# spin.elf's target (issue 16): under EPT, at most this many ticks per instruction of
# its loop, every exit of the run included.
SPIN_MAX_RATIO = 1.1


def spin_instructions():
    """spin.c's loop, counted as bench counts the toggle loop: its default iterations
    times its instructions, one to each string of its asm block."""
    with open(os.path.join(ROOT, "guest", "multiboot", "spin.c")) as f:
        src = f.read()
    n = int(re.search(r"uint32_t n = (\d+);", src).group(1))
    block = re.search(r"asm volatile\((.*?)\n\s*:", src, re.S).group(1)
    insns = re.findall(r'"([^"]*)"', block)
    assert all(";" not in i for i in insns), insns  # one instruction a string
    return n, len(insns)


def mb_one(case):
    """One boot of a kernel: its nine runs (the first, intercept under EPT, the reference
    for the text of the others), each run's ending, exits and ticks."""
    mods = ",".join(os.path.join(mbkernels.DATA, m) for m in case.modules)
    line = "unsafe=1" + (f" guest_mem={case.mem}" if case.mem != 128 else "")
    r = runner.run(ISO, "bochs", CPU, line, timeout=1800,
                   guests=[os.path.join(mbkernels.KERNELS, case.kernel)],
                   guest_args=case.args, guest_modules=mods)
    rows = []
    for j in r.json_lines("vmxlab-result"):
        if j.get("kernel") != "multiboot":
            continue
        rows.append(dict(kernel=case.name, policy=j["policy"], paging=j["paging"], end=j["end"],
                         exit_code="" if j["exit_code"] is None else j["exit_code"],
                         text=j["text"], exits=j["exits"],
                         cr_exits=j["exits_by_reason"].get("CR_ACCESS", 0),
                         io_exits=j["exits_by_reason"].get("IO_INSTRUCTION", 0),
                         pf_fills=j["pf_exits"].get("filled", 0), ticks=j["ticks"]))
    if not rows:
        sys.exit(f"bench: {case.name}: no run\n{r.serial[-2000:]}")
    print(f"bench: {case.name:12}: {len(rows)} runs, {sum(x['end'] == 'exited' for x in rows)} "
          "exited", flush=True)
    return rows


def mb_table_md(rows):
    """The multiboot kernels' runs, one line each."""
    out = ["| kernel | policy | paging | end | exit code | text | exits | CR | I/O | #PF fills "
           "| ticks |", "|---|---|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['kernel']} | {r['policy']} | {r['paging']} | {r['end']} | "
                   f"{r['exit_code']} | {r['text']} | {r['exits']} | {r['cr_exits']} | "
                   f"{r['io_exits']} | {r['pf_fills']} | {r['ticks']} |")
    return "\n".join(out) + "\n"


def plot(rows, png_path):
    """Instructions per toggle, one cluster per policy, one bar per paging mode
    and exit path (log scale: flush costs a refill per toggle)."""
    configs = [(p, e) for p in PAGING for e in EXITPATHS]
    dat = os.path.join(OUT, "bench.dat")
    by = {(r["policy"], r["paging"], r["exitpath"]): r for r in rows}
    with open(dat, "w") as f:
        f.write("policy " + " ".join(f"{p}/{e}" for p, e in configs) + "\n")
        for pol in POLICIES:
            f.write(pol + " " + " ".join(str(by[(pol, p, e)]["ticks_per_toggle"])
                                         for p, e in configs) + "\n")
    cols = ", ".join(f"'' using {i + 2} title columnhead" if i else
                     f"'{dat}' using 2:xtic(1) title columnhead" for i in range(len(configs)))
    script = f"""
set terminal png size 1100,500
set output '{png_path}'
set title "vmxlab: a CR0.WP toggle under Bochs, {TOGGLES} toggles (1 tick = 1 instruction)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [1:*]
set ylabel 'instructions per toggle (log scale)'
set key outside right
set grid ytics
plot {cols}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def table_md(rows):
    """The README's results table."""
    out = ["| policy | paging | exit path | exits/toggle | #PF fills | instructions/toggle |",
           "|---|---|---|---:|---:|---:|"]
    for r in rows:
        pol = r["policy"] + (" (unsafe=1)" if r["unsafe"] else "")
        out.append(f"| {pol} | {r['paging']} | {r['exitpath']} | {r['exits_per_toggle']:.4f} | "
                   f"{r['pf_fills']} | {r['ticks_per_toggle']:.2f} |")
    return "\n".join(out) + "\n"


def write_tables(name, fields, rows, md):
    """OUT/NAME.csv and OUT/NAME.md (the table md() makes) from rows; their paths."""
    paths = {k: os.path.join(OUT, f"{name}.{k}") for k in ("csv", "md")}
    with open(paths["csv"], "w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(rows)
    with open(paths["md"], "w") as f:
        f.write(md(rows))
    return paths


def main():
    os.makedirs(OUT, exist_ok=True)
    jobs = [(pol, p, e) for pol in POLICIES for p in PAGING for e in EXITPATHS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        rows = list(pool.map(lambda j: one(*j), jobs))
        mb_rows = [row for rs in pool.map(mb_one, MB_CASES) for row in rs]
    paths = write_tables("bench", FIELDS, rows, table_md)
    paths["png"] = os.path.join(OUT, "bench.png")
    plot(rows, paths["png"])
    mb_paths = write_tables("mbkernels", MB_FIELDS, mb_rows, mb_table_md)
    print(f"bench: wrote {paths['csv']}, {paths['md']}, {paths['png']}, {mb_paths['csv']} and "
          f"{mb_paths['md']}")
    if os.environ.get("SAVE") == "1":
        data = os.path.join(ROOT, "docs", "data")
        os.makedirs(data, exist_ok=True)
        for k in ("csv", "md"):
            shutil.copyfile(paths[k], os.path.join(data, f"bench.{k}"))
        print(f"bench: copied bench.csv and bench.md to {os.path.relpath(data, ROOT)}/: "
              "run `make docs` for the plot, and put bench.md in README.md")

    by = {(r["policy"], r["paging"], r["exitpath"]): r for r in rows}
    checks = []
    for e in EXITPATHS:
        i, p = by[("intercept", "ept", e)], by[("passthrough", "ept", e)]
        checks += [
            (p["cr_exits"] == 0, f"ept, {e}: passthrough makes 0 CR exits"),
            (p["ticks_per_toggle"] == p["native_ticks_per_toggle"],
             f"ept, {e}: passthrough costs {p['ticks_per_toggle']:.2f}, the native "
             f"{p['native_ticks_per_toggle']:.2f}"),
        ]
    fast, c = by[("intercept", "ept", "fast")], by[("intercept", "ept", "c")]
    checks += [
        (fast["cr0_trip"] <= FAST_CR0_MAX,
         f"exitpath=fast: an intercepted toggle costs {fast['cr0_trip']:.2f} instructions "
         f"(loop subtracted) <= {FAST_CR0_MAX}"),
        (fast["vmcall_trip"] <= FAST_VMCALL_MAX,
         f"exitpath=fast: a null VMCALL round trip costs {fast['vmcall_trip']:.2f} "
         f"instructions <= {FAST_VMCALL_MAX}"),
        (fast["cr0_trip"] < c["cr0_trip"] and fast["vmcall_trip"] < c["vmcall_trip"],
         f"exitpath=fast is cheaper than c: {fast['cr0_trip']:.2f} < {c['cr0_trip']:.2f}, "
         f"{fast['vmcall_trip']:.2f} < {c['vmcall_trip']:.2f}"),
        (by[("intercept", "shadow-roles", "c")]["pf_fills"] == 1,
         "shadow-roles: one #PF fill in the whole run"),
        (by[("intercept", "shadow-flush", "c")]["pf_fills"] == TOGGLES,
         f"shadow-flush: one #PF fill per toggle ({TOGGLES})"),
    ]
    n, per_iter = spin_instructions()
    for pol in POLICIES:
        [spin] = [r for r in mb_rows if (r["kernel"], r["policy"], r["paging"]) ==
                  ("spin", pol, "ept")]
        checks.append((spin["end"] == "exited" and spin["exit_code"] == 0 and
                       spin["ticks"] <= SPIN_MAX_RATIO * n * per_iter,
                       f"ept, {pol}: spin.elf takes {spin['ticks']} ticks, "
                       f"{spin['ticks'] / (n * per_iter):.4f} times its {n} x {per_iter} "
                       f"instructions (<= {SPIN_MAX_RATIO})"))
    for good, what in checks:
        print(f"bench: target {'met' if good else 'MISSED'}: {what}")
    print(f"bench: {sum(g for g, _ in checks)} targets met, "
          f"{sum(not g for g, _ in checks)} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
