"""test_bench_data.py: the benchmark numbers the docs show are the code's.
docs/data/bench.csv (`make bench SAVE=1`) is what docs/img/bench.svg plots;
docs/data/bench.md is its table, and README.md shows that table as it is. Under
Bochs every count is exact, so the rows the docs argue from (an intercepted
toggle on each exit path, and under each shadow paging mode) are booted again,
as scripts/bench.py boots them, and must give the committed row; the whole of
`make bench` is 18 boots, too long for make test. The README's count of the
fast path, part by part, adds up to the committed costs, against bench.py's
targets."""
import csv
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labdoc  # noqa: E402

DATA = os.path.join(ROOT, "docs", "data")


def committed_rows():
    with open(os.path.join(DATA, "bench.csv"), newline="") as f:
        return list(csv.DictReader(f))


def test_the_table_is_the_data_and_the_readme_shows_it():
    rows = [dict(r, unsafe=int(r["unsafe"]), exits_per_toggle=float(r["exits_per_toggle"]),
                 ticks_per_toggle=float(r["ticks_per_toggle"])) for r in committed_rows()]
    assert [(r["policy"], r["paging"], r["exitpath"]) for r in rows] == \
        [(pol, p, e) for pol in bench.POLICIES for p in bench.PAGING for e in bench.EXITPATHS]
    with open(os.path.join(DATA, "bench.md")) as f:
        table = f.read()
    assert table == bench.table_md(rows), "docs/data/bench.md is not the table of bench.csv"
    with open(os.path.join(ROOT, "README.md")) as f:
        assert table in f.read(), "README.md does not show docs/data/bench.md as it is"


@pytest.mark.parametrize("config", [("intercept", "ept", "c"), ("intercept", "ept", "fast"),
                                    ("intercept", "shadow-roles", "c"),
                                    ("intercept", "shadow-flush", "c")], ids="/".join)
def test_a_committed_row_is_what_a_boot_measures(config, monkeypatch):
    [row] = [r for r in committed_rows() if (r["policy"], r["paging"], r["exitpath"]) == config]
    monkeypatch.setattr(bench, "TOGGLES", int(row["toggles"]))
    measured = {k: str(v) for k, v in bench.one(*config).items()}
    assert measured == row, "docs/data/bench.csv is out of date: run `make bench SAVE=1`"


def test_the_readmes_count_of_the_fast_path_is_the_data():
    """README.md, "Benchmark", counts exitpath=fast part by part: the parts add
    up to the totals, which are the committed costs without their fractions
    (the exits handed to C), and the targets it quotes are bench.py's."""
    [fast] = [r for r in committed_rows() if (r["policy"], r["paging"], r["exitpath"]) ==
              ("intercept", "ept", "fast")]
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    [count] = [t for t in labdoc.tables(readme) if t and "part of vmx_exit_fast" in t[0]]
    for col, trip in (("MOV to CR0", "cr0_trip"), ("null VMCALL", "vmcall_trip")):
        *parts, total = [r[col] for r in count]
        assert sum(int(p) for p in parts if p) == int(total) == int(float(fast[trip])), col
    [targets] = [t for t in labdoc.tables(readme) if t and "target" in t[0]]
    results = {r["target"]: r["result"] for r in targets}
    for limit, trip in ((bench.FAST_CR0_MAX, "cr0_trip"), (bench.FAST_VMCALL_MAX, "vmcall_trip")):
        [result] = [v for k, v in results.items() if f"at most {limit} instructions" in k]
        assert result == f"met: {float(fast[trip]):.2f}", (limit, result)
