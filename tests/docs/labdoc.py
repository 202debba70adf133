"""The docs' command convention, for the labs (docs/labs/*.md): read a
Markdown file's fenced blocks, run them in order from the repository root,
and match each `text output` block against the output of the `sh` block it
follows. tests/docs/test_labs.py uses it; a generic doc test for every
Markdown file may replace run_file() and blocks() with its own, as long as
it keeps the convention below.

The convention (info string of the fence):
- `sh`: run with `bash -e` from the repository root, one script per block,
  the blocks of a file in order. `sh env="VAR=value ..."` adds variables.
- `sh no-run`: checked for syntax only (`bash -n`): needs a real machine.
- `text output`, directly after an `sh` block: lines its combined stdout
  and stderr must contain, in order and adjacent; a line `...` stands for
  any number of lines. Lines are compared whole, trailing blanks ignored.
- `c file=PATH` (any language with `file=`): the block is a file the reader
  saves; running the doc writes it to PATH, relative to the root, when the
  block is reached.
Other blocks are not run.
"""
import os
import re
import shlex
import subprocess
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r"^(`{3,})(.*)$")
# What an outer `make test` exports and a reader's shell has not.
MAKE_VARS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


@dataclass
class Block:
    lang: str                 # "sh", "text", "c", "" ...
    words: list               # the rest of the info string: ["output"], ["no-run"]
    attrs: dict               # key=value words: {"env": "A=1", "file": "x.c"}
    text: str
    line: int                 # the opening fence's line, 1-based
    before: str = ""          # the Markdown between the previous block and this one
    section: str = ""         # the `## ` heading it is under

    @property
    def runs(self):
        return self.lang == "sh" and "no-run" not in self.words

    @property
    def is_output(self):
        return self.lang == "text" and "output" in self.words


def parse_info(info):
    words = shlex.split(info)
    lang = words[0] if words else ""
    attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    return lang, [w for w in words[1:] if "=" not in w], attrs


def blocks(path):
    """The fenced blocks of a Markdown file, in order."""
    out, lines = [], open(path).read().split("\n")
    i, prose, section = 0, [], ""
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].startswith("## "):
                section = lines[i][3:].strip()
            prose.append(lines[i])
            i += 1
            continue
        fence, start = m.group(1), i
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        lang, words, attrs = parse_info(m.group(2))
        out.append(Block(lang, words, attrs, "\n".join(body) + "\n", start + 1,
                         "\n".join(prose), section))
        prose = []
        i += 1
    return out


def outputs_of(bs):
    """(sh block, its text output blocks) for every block that runs."""
    pairs = []
    for b in bs:
        if b.is_output:
            if not pairs or pairs[-1][0] is None or b.before.strip():
                raise AssertionError(f"line {b.line}: a `text output` block must come "
                                     "directly after an `sh` block that runs")
            pairs[-1][1].append(b)
        elif b.runs:
            pairs.append((b, []))
        else:
            pairs.append((None, []))  # any other block ends the pairing
    return [(sh, outs) for sh, outs in pairs if sh]


def match_output(expected, output):
    """None if output holds expected's lines as the convention says, else why not."""
    want = [l.rstrip() for l in expected.rstrip("\n").split("\n")]
    got = [l.rstrip() for l in output.split("\n")]
    segments, cur = [], []
    for l in want:
        if l == "...":
            segments.append(cur)
            cur = []
        else:
            cur.append(l)
    segments.append(cur)
    at = 0
    for seg in segments:
        if not seg:
            continue
        found = next((k for k in range(at, len(got) - len(seg) + 1) if got[k:k + len(seg)] == seg),
                     None)
        if found is None:
            first = next((l for l in seg if l not in got[at:]), seg[0])
            return f"expected line not found (in order) in the output: {first!r}"
        at = found + len(seg)
    return None


def environment(block):
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARS}
    if "env" in block.attrs:
        env.update(w.split("=", 1) for w in shlex.split(block.attrs["env"]))
    return env


def run_file(path, timeout=900):
    """Run a Markdown file's blocks in order; return [(sh block, output)] for
    the blocks that ran. Raises AssertionError at the first block that fails
    or whose output does not match its `text output`."""
    done, bs = [], blocks(path)
    expected = {id(sh): outs for sh, outs in outputs_of(bs)}
    for b in bs:
        where = f"{os.path.relpath(path, ROOT)}:{b.line}"
        if "file" in b.attrs:
            dest = os.path.join(ROOT, b.attrs["file"])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "w") as f:
                f.write(b.text)
        elif b.lang == "sh" and not b.runs:
            r = subprocess.run(["bash", "-n"], input=b.text, text=True, capture_output=True)
            assert r.returncode == 0, f"{where}: bash -n: {r.stderr}"
        elif b.runs:
            r = subprocess.run(["bash", "-e"], input=b.text, cwd=ROOT, env=environment(b),
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
            assert r.returncode == 0, (f"{where}: exit status {r.returncode}\n{b.text}"
                                       f"--- output:\n{r.stdout}")
            for out in expected[id(b)]:
                why = match_output(out.text, r.stdout)
                assert why is None, f"{where}: {why}\n--- output:\n{r.stdout}"
            done.append((b, r.stdout))
    return done


# Reading a lab: its sections and its Markdown tables.
def sections(path):
    """`## ` heading -> its text, in order."""
    out, cur = {}, None
    for line in open(path).read().split("\n"):
        if line.startswith("## "):
            cur = line[3:].strip()
            out[cur] = ""
        elif cur is not None:
            out[cur] += line + "\n"
    return out


def tables(markdown):
    """The pipe tables of a piece of Markdown outside code blocks: each a list
    of rows, a row a dict from header cell to cell, backquotes dropped."""
    out, cur, header, fenced = [], None, None, False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        if fenced or not line.startswith("|"):
            if cur is not None:
                out.append(cur)
            cur, header = None, None
            continue
        cells = [c.strip().replace("`", "") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header is None:
            header, cur = cells, []
        elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
            cur.append(dict(zip(header, cells)))
    if cur is not None:
        out.append(cur)
    return out
