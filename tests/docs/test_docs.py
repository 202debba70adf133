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
bench, make fuzz ...), so it runs alone among the doc blocks (a lock file).

The prose is checked too (test_prose_states_only_numbers_it_shows): every
number of the kinds a run prints that a paragraph, list or table states must
be shown in a code block of the same file or of a file it links to, or be a
literal of the code; mdblocks.py's "Numbers in prose" says the rule and what
it leaves out. Since each `text output` block is matched against its run, a
number the prose repeats from it is held to the run as well: when the output
changes, refresh.py mends the block and this test then names the sentences
that still say the old number.

So are the names the prose gives, in every Markdown file of the tree
(test_prose_names_only_paths_and_functions_that_exist): each path must exist
and each `name()` be defined in the tree, so that moving a file or renaming a
function fails here until the prose follows; mdblocks.py's "Names in prose"
says the rule."""
import fcntl
import functools
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

# Where the numbers the prose may state without a block live: the code's
# constants (the prose names 0xf4 or 1024 because the code says so) and the
# limits the boot tests hold a run to. Comments are left out: a number in a
# comment is prose too. The committed bench data counts for the files that show
# its table, which test_bench_data.py holds to it and to the code.
CODE = ["boot", "hv", "guest", "lib", "scripts", "Makefile", "linker.ld", "tests/boot"]
DATA = {"README.md": ["docs/data/bench.csv"], "docs/data/bench.md": ["docs/data/bench.csv"]}
SOURCE_NUMBER = re.compile(r"(?<![\w.])(0x[0-9a-fA-F]+|\d+(?:\.\d+)?)[uUlL]*(?![\w.])")


@functools.lru_cache(maxsize=None)
def code_numbers(tops=tuple(CODE)):
    found = set()
    for top in tops:
        paths = [os.path.join(ROOT, top)] if not os.path.isdir(os.path.join(ROOT, top)) else \
            [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(ROOT, top)) for f in fs]
        for p in paths:
            try:
                text = open(p).read()
            except UnicodeDecodeError:
                continue
            if re.search(r"\.(c|h|S|ld)$", p):
                text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.S)
            else:   # shell, Python, make, GRUB and Bochs configurations
                text = re.sub(r"(?m)(^|\s)#[^\n]*", " ", text)
            found.update(m.group(1).lower() if m.group(1).startswith("0x") else m.group(1)
                         for m in SOURCE_NUMBER.finditer(text))
    return found


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


def shown_to(quote):
    """What a quote may repeat: the numbers of the code, of the data its file
    shows, and of the code blocks of its file and of the files it links to."""
    shown = code_numbers() | code_numbers(tuple(DATA.get(quote.path, ())))
    for p in (quote.path,) + quote.links:
        if p in PARSED:
            shown |= mdblocks.shown_numbers(PARSED[p][0])
    return shown


def prose_errors(path, text):
    """What is wrong with the numbers of one Markdown file's prose."""
    quotes, errors = mdblocks.prose_numbers(path, text)
    for q in quotes:
        if not mdblocks.shows(q.number, shown_to(q)):
            linked = "".join(f" or {p}" for p in q.links)
            errors.append(f"{q.where}: the prose says {q.number}, which no code block of "
                          f"{q.path}{linked} shows, nor the code: quote the output it comes "
                          "from as it is, point to it instead, or say where the number comes "
                          "from in a `<!-- not from a run: N (why) -->` comment before the "
                          "paragraph")
    return errors


@pytest.mark.parametrize("path", FILES)
def test_prose_states_only_numbers_it_shows(path):
    """A number a sentence repeats from a run's output must be what that
    output shows: one the prose states and no block shows has drifted, or
    was never checked (mdblocks.py, "Numbers in prose")."""
    with open(os.path.join(ROOT, path)) as f:
        errors = prose_errors(path, f.read())
    assert not errors, "\n".join(errors)


def test_a_changed_number_in_prose_fails():
    """The check above catches drift: every number the prose repeats from a
    block, changed (a digit appended), is no longer shown; and each file with
    the first of them changed so fails the check, naming it."""
    mutated = 0
    for path in FILES:
        with open(os.path.join(ROOT, path)) as f:
            text = f.read()
        quotes = [q for q in mdblocks.prose_numbers(path, text)[0]
                  if not mdblocks.shows(q.number, code_numbers())]
        for q in quotes:
            assert not mdblocks.shows(q.number + "9", shown_to(q)), f"{q.where}: {q.number}9"
        if not quotes:
            continue
        q = quotes[0]
        lines = text.split("\n")
        token = re.compile(r"(?<![\w.])" + re.escape(q.number) + r"(?!\w|\.\d)")
        lines[q.line - 1], n = token.subn(q.number + "9", lines[q.line - 1], count=1)
        assert n == 1, q
        errors = prose_errors(path, "\n".join(lines))
        assert any(f"{q.where}: the prose says {q.number}9," in e for e in errors), errors
        mutated += 1
    assert mutated >= 10, "the docs quote runs in fewer files than they did"


# Every Markdown file of the tree, for the names its prose gives (mdblocks.py, "Names in
# prose"): the book and the README, and the READMEs beside the code.
def markdown_files():
    out = []
    for d, dirs, fs in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in ("build", "__pycache__") and x[0] != "."]
        out += [os.path.relpath(os.path.join(d, f), ROOT) for f in fs if f.endswith(".md")]
    return sorted(out)


NAMED_FILES = markdown_files()


@functools.lru_cache(maxsize=None)
def defined_functions():
    sources = []
    for top in ("boot", "hv", "guest", "lib", "scripts", "tests"):
        for d, dirs, fs in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [x for x in dirs if x != "__pycache__"]
            for f in fs:
                if re.search(r"\.(c|h|S|py|sh)$", f):
                    with open(os.path.join(d, f), errors="replace") as fh:
                        sources.append((f, fh.read()))
    return frozenset(mdblocks.definitions(sources))


def name_errors(path, text):
    """What is wrong with the paths and functions one Markdown file names."""
    names, errors = mdblocks.named(path, text)
    for n in names:
        if n.kind == "function" and not mdblocks.function_defined(n.name, defined_functions()):
            errors.append(f"{n.where}: `{n.name}` is defined nowhere in the tree (no C "
                          "function or macro, assembly label, Python def or shell function "
                          "of that name): say the name it has now, or, for another "
                          "project's, name the project before it in the sentence")
        elif n.kind != "function" and not mdblocks.path_exists(ROOT, n.target):
            errors.append(f"{n.where}: {n.name} does not exist" +
                          (f" ({n.target} from the top)" if n.target != n.name else "") +
                          ": say where it is now, or give it a `<!-- not in the tree: ... "
                          "(why) -->` comment before the paragraph")
    return errors


@pytest.mark.parametrize("path", NAMED_FILES)
def test_prose_names_only_paths_and_functions_that_exist(path):
    """Every path (file or folder) and every `name()` the prose names must be in the
    tree: moving or renaming code cannot leave stale names behind."""
    with open(os.path.join(ROOT, path)) as f:
        errors = name_errors(path, f.read())
    assert not errors, "\n".join(errors)


def test_a_renamed_path_or_function_in_prose_fails():
    """The check above catches a move: in each file, the first path and the first
    function of the tree it names, renamed (an x added to the file name, to the
    function's name), fail it, each named."""
    files, kinds = 0, set()
    for path in NAMED_FILES:
        with open(os.path.join(ROOT, path)) as f:
            text = f.read()
        lines = text.split("\n")
        quoted = [n for n in mdblocks.named(path, text)[0]
                  if "`" + n.name + "`" in lines[n.line - 1] and "*" not in n.name and
                  not n.target.startswith("build/") and
                  not any(p in mdblocks.PLACEHOLDERS for p in re.split(r"[\W_]", n.name))]
        picked = []
        for kind, rename in (("path", lambda w: re.sub(r"(\.\w+)?$", r"x\1", w, count=1)),
                             ("function", lambda w: w[:-2] + "x()")):
            first = next((n for n in quoted if n.kind == kind), None)
            if first:
                picked.append((first, rename(first.name)))
        for n, new in picked:
            lines[n.line - 1] = lines[n.line - 1].replace(f"`{n.name}`", f"`{new}`", 1)
        errors = name_errors(path, "\n".join(lines))
        for n, new in picked:
            assert any(e.startswith(f"{n.where}: ") and new in e for e in errors), (n, errors)
            kinds.add(n.kind)
        files += bool(picked)
    assert kinds == {"path", "function"} and files >= 20, (kinds, files)


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
