"""test_layout.py: hv/ as hv/README.md lays it out. Every folder of hv/ has its line
in hv/README.md's table, so `ls hv/` and the README say the same. And no header of
hv/ is read by every C file of hv/, nor by three in four of them, as gcc -MM reports
the headers each file reads: hv/hv.h was read by all but the device models and the
MMIO decoder (26 of 34 files), until each folder got its own header."""
import collections
import glob
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HV = os.path.join(ROOT, "hv")


def test_hv_readme_has_a_line_for_every_folder():
    with open(os.path.join(HV, "README.md")) as f:
        listed = set(re.findall(r"(?m)^\| `(\w+)/` \|", f.read()))
    folders = {d for d in os.listdir(HV) if os.path.isdir(os.path.join(HV, d))}
    assert listed == folders


def headers_of(c_file):
    gcc_include = subprocess.run(["gcc", "-print-file-name=include"], capture_output=True,
                                 text=True, check=True).stdout.strip()
    p = subprocess.run(["gcc", "-MM", "-MG", "-std=gnu11", "-ffreestanding", "-nostdinc",
                        "-isystem", gcc_include, c_file],
                       cwd=ROOT, capture_output=True, text=True, check=True)
    deps = p.stdout.split(":", 1)[1].replace("\\\n", " ").split()
    return {os.path.relpath(os.path.join(ROOT, d), ROOT) for d in deps if d.endswith(".h")}


def test_no_header_of_hv_is_read_by_every_c_file():
    files = sorted(os.path.relpath(p, ROOT)
                   for p in glob.glob(os.path.join(HV, "**", "*.c"), recursive=True))
    assert len(files) >= 30
    readers = collections.Counter(h for f in files for h in headers_of(f) if h.startswith("hv/"))
    widest, n = readers.most_common(1)[0]
    assert n * 4 < len(files) * 3, f"{widest} is read by {n} of the {len(files)} C files of hv/"
