"""labdoc.py: the labs (docs/labs/*.md) read for tests/docs/test_labs.py: their
fenced blocks with the Markdown around each (the section a block is under),
the sh blocks paired with their `text output`, the sections of a lab and the
tables in them. Running the blocks is tests/docs/test_docs.py's job, for
every Markdown file; the convention is mdblocks.py's.
"""
import os
import re
import shlex
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r"^(`{3,})(.*)$")


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
