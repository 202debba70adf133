"""test_bench_data.py: the benchmark numbers the docs show are the code's.
docs/data/bench.csv (`make bench SAVE=1`) is what docs/img/bench.svg plots;
docs/data/bench.md is its table, and README.md shows that table as it is. Under
Bochs every count is exact, so the rows the docs argue from (an intercepted
toggle on each exit path, and under each shadow paging mode) are booted again,
as scripts/bench.py boots them, and must give the committed row; the whole of
`make bench` is 18 boots, too long for make test."""
import csv
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench  # noqa: E402

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
