"""test_docs.py: every command shown in README.md and in docs/ (every Markdown
file under it: the book, the labs) runs in `make test`, and the output it shows
is checked, so the docs cannot drift from the code. mdblocks.py reads the
convention (its opening comment says it); here each `sh` block is one test,
named file:line, run from the repository root with bash -e, and its
`text output` block, if any, matched against what it printed. Blocks of one
file run in order on one pytest worker (xdist_group, `--dist loadgroup` in the
Makefile), so a block may use what the one before made; files run side by side.

Blocks that boot the kernel (`make run`, scripts/run.py) run side by side with
everything: the build is done before pytest starts, so make finds nothing to do,
and the runner boots a copy of the ISO in a folder of its own. A block that
runs any other make target writes into the shared build/ (make guest-sdk, make
bench, make fuzz ...), so it runs alone among the doc blocks (a lock file)."""
import fcntl
import glob
import os
import re
import shlex
import subprocess
import time

import pytest

import mdblocks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in
                               glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
TIMEOUT = 300   # seconds for one block: make test has 10 minutes for everything
SHOWN = 80      # lines of output shown when a block fails


def parse(path):
    with open(os.path.join(ROOT, path)) as f:
        return mdblocks.blocks(path, f.read())


PARSED = {path: parse(path) for path in FILES}


def params(kind):
    return [pytest.param(b, id=b.where, marks=pytest.mark.xdist_group(b.path))
            for path in FILES for b in PARSED[path][0] if b.kind == kind]


def reader_env(extra):
    """The environment of a reader's shell: what `make test` itself passes down
    (MAKEFLAGS, MAKELEVEL, variables given on its command line such as V=1)
    would change what make prints inside a block."""
    env = dict(os.environ)
    flags = env.get("MAKEFLAGS", "")
    for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", flags.partition(" -- ")[2] or flags):
        env.pop(name, None)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(name, None)
    env.update(extra)
    return env


# make targets that only read build/ once `make all` has run.
READ_ONLY_TARGETS = {"run", "all", "iso"}


def runs_alone(script):
    """True if the block writes into the shared tree: any make target but those
    above, make -C, or the scripts that write under build/."""
    if re.search(r"scripts/(bench\.py|fuzz\.sh)", script):
        return True
    for m in re.finditer(r"(?:^|[\s;&|(])make\b([^\n;&|)]*)", script):
        try:
            words = shlex.split(m.group(1))
        except ValueError:
            return True
        if "-C" in words or any(w.startswith("--directory") for w in words):
            return True
        targets = [w for w in words if not w.startswith("-") and "=" not in w]
        if any(t not in READ_ONLY_TARGETS for t in targets):
            return True
    return False


def shown(output):
    lines = output.splitlines()
    cut = f"[{len(lines) - SHOWN} lines before]\n" if len(lines) > SHOWN else ""
    return cut + "\n".join(lines[-SHOWN:])


@pytest.mark.parametrize("path", FILES)
def test_every_code_block_says_what_it_is(path):
    """An unknown info string, an indented code block, a text output with no sh
    block before it: each would let a command go unchecked."""
    errors = PARSED[path][1]
    assert not errors, "\n".join(errors)


def write_files_before(block):
    """The `file=PATH` blocks of the file that come before block: written out,
    as the reader who follows the page has saved them by now."""
    for b in PARSED[block.path][0]:
        if b.line >= block.line:
            break
        if b.kind == "file":
            path = os.path.join(ROOT, b.env["path"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(b.text)


@pytest.mark.parametrize("block", params("run"))
def test_sh_block_runs_and_shows_its_output(block):
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    write_files_before(block)
    with open(os.path.join(ROOT, "build", "docs-test.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if runs_alone(block.text) else fcntl.LOCK_SH)
        start = time.monotonic()
        try:
            p = subprocess.run(["bash", "-e", "-c", block.text, block.where], cwd=ROOT,
                               env=reader_env(block.env), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", timeout=TIMEOUT)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout
            pytest.fail(f"{block.where}: still running after {TIMEOUT} s:\n{block.text}\n"
                        f"--- its output:\n{shown(out or '')}")
    took = time.monotonic() - start
    assert p.returncode == 0, (f"{block.where}: exit status {p.returncode} after {took:.0f} s:\n"
                               f"{block.text}\n--- its output:\n{shown(p.stdout)}")
    if block.output is not None:
        problem = mdblocks.match_output(block.output.text, p.stdout)
        assert problem is None, (f"{block.output.where}: the output of {block.where} "
                                 f"does not show it: {problem}\n--- the output:\n{shown(p.stdout)}")


@pytest.mark.parametrize("block", params("no-run"))
def test_sh_no_run_block_is_valid_bash(block):
    p = subprocess.run(["bash", "-n", "-c", block.text, block.where], capture_output=True,
                       text=True)
    assert p.returncode == 0, f"{block.where}: bash -n:\n{p.stderr}"
