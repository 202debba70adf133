"""labdoc.py: the labs (docs/labs/*.md) read for tests/docs/test_labs.py: their
code blocks as the doc test reads them (mdblocks.py), the commands with the
output each shows, the sections of a lab and the tables in them. Running the
blocks is tests/docs/test_docs.py's job, for every Markdown file.
"""
import os
import re

import mdblocks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE = re.compile(r"^(`{3,})(.*)$")


def blocks(path):
    """The code blocks of a lab, in order. Stricter than the rest of the docs: a
    command's `text output` follows it with no sentence between."""
    found, errors = mdblocks.blocks(os.path.relpath(path, ROOT), open(path).read())
    errors += [f"{b.where}: a `text output` block must come directly after the sh block"
               for b in found if b.kind == "output" and b.after_prose]
    if errors:
        raise AssertionError("\n".join(errors))
    return found


def runs(path):
    """The sh blocks that run (each with .output, its `text output` or None)."""
    return [b for b in blocks(path) if b.kind == "run"]


def sections(path):
    """`## ` heading -> its text, in order."""
    return sections_of(open(path).read())


def sections_of(text):
    out, cur = {}, None
    for line in text.split("\n"):
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
