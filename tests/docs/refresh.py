#!/usr/bin/python3
"""refresh.py: after a change to what vmxlab prints, bring the docs' checked
outputs up to date, for a person to review: `/usr/bin/python3 tests/docs/refresh.py
docs/06-exit-path.md [README.md ...]` runs each sh block of the files, in
order, as the doc test does, and rewrites each `text output` line the output
no longer shows with the output line most like it. Lines that still match
(`...` and in-line `...` included) stay as written. It never decides alone:
`git diff` shows every line it changed, and a block it cannot mend is named.
Then it names the sentences whose numbers no block shows any more (the doc
test's prose check): those a person rewrites."""
import difflib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdblocks  # noqa: E402
import test_docs  # noqa: E402

ROOT = test_docs.ROOT


def mend(expected, output):
    """expected's lines, each kept if output shows it, else replaced by the
    output line most like it (if any is alike enough)."""
    got = output.splitlines()
    out = []
    for w in expected.splitlines():
        if w.strip() == "..." or any(mdblocks._line_matches(w, g) for g in got):
            out.append(w)
            continue
        best = max(got, key=lambda g: difflib.SequenceMatcher(None, w, g).ratio(), default=None)
        if best is not None and difflib.SequenceMatcher(None, w, best).ratio() > 0.6:
            out.append(best)
        else:
            out.append(w)
    return "\n".join(out) + "\n"


def refresh(path):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    found, errors = mdblocks.blocks(path, text)
    if errors:
        sys.exit("\n".join(errors))
    lines = text.splitlines(keepends=True)
    edits = []  # (first line index of the output block's content, old, new)
    for b in found:
        if b.kind == "file":
            p = os.path.join(ROOT, b.env["path"])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(b.text)
        if b.kind != "run":
            continue
        p = subprocess.run(["bash", "-e", "-c", b.text], cwd=ROOT,
                           env=test_docs.reader_env(b.env), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        if p.returncode:
            print(f"{b.where}: exit status {p.returncode}: mend the command by hand")
            continue
        if b.output is None or mdblocks.match_output(b.output.text, p.stdout) is None:
            continue
        new = mend(b.output.text, p.stdout)
        problem = mdblocks.match_output(new, p.stdout)
        print(f"{b.output.where}: {'mended' if problem is None else 'still wrong: ' + problem}")
        edits.append((b.output.line, b.output.text, new))
    for line, old, new in reversed(edits):  # the content starts after the fence
        start = line
        n = len(old.splitlines())
        lines[start:start + n] = [l + "\n" for l in new.splitlines()]
    with open(os.path.join(ROOT, path), "w") as f:
        f.write("".join(lines))
    test_docs.PARSED[path] = test_docs.parse(path)
    for e in test_docs.prose_errors(path, "".join(lines)):
        print(e)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        refresh(arg)
