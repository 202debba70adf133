"""mdblocks.py: the docs' command convention, read from Markdown. test_docs.py
runs what it finds; test_mdblocks.py tests it on made-up Markdown. The Markdown
is parsed as CommonMark (python3-markdown-it), as a forge renders it, so a block
inside a list item or a quote is found as a reader sees it.

Every code block in README.md and docs/ is fenced, with one of these info strings:
  sh                     run from the repository root with bash -e
  sh env="VAR=value ..." the same, with those variables added
  sh no-run              only checked by bash -n (the sentence before says why)
  text output            directly after a sh block: lines its output must show,
                         in order; a line `...` stands for any number of lines,
                         and `...` inside a line for any characters
  text, c, asm, ...      shown, never run (DISPLAY below)
  c file=PATH, ...       shown, and written to PATH (under build/) before the
                         next sh block of the file runs: code a reader saves
Anything else, an unfenced (indented) code block included, is an error, so a
typo cannot silently keep a command from being run.

The prose around the blocks is read for the numbers it repeats from them:
prose_numbers() below, whose comment ("Numbers in prose") gives the rule."""
import os
import re
import shlex
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from markdown_it import MarkdownIt

# Languages a block may be shown in without being run. Shell is not among them:
# a shell command is `sh` (run) or `sh no-run` (checked), never only shown.
DISPLAY = {"text", "c", "asm", "make", "python", "json", "dot", "gnuplot", "diff", "csv", "ld"}


@dataclass
class Block:
    path: str              # the Markdown file, relative to the repository root
    line: int              # the line of the opening fence, from 1
    kind: str              # "run", "no-run", "output" or "display"
    info: str
    text: str
    env: dict = field(default_factory=dict)
    output: "Block" = None  # for "run": the text output block that follows
    section: str = ""       # the `## ` heading it stands under
    after_prose: bool = False  # prose between the previous code block and this one

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def parse_info(info):
    """(kind, env) for a fence's info string; ValueError says what is wrong."""
    words = info.split(None, 1)
    if not words:
        raise ValueError("a fenced block without an info string: say what it is "
                         "(sh, sh no-run, text output, text ...)")
    lang, rest = words[0], (words[1].strip() if len(words) > 1 else "")
    if lang == "sh":
        if rest == "":
            return "run", {}
        if rest == "no-run":
            return "no-run", {}
        m = re.fullmatch(r'env="([^"]*)"', rest)
        if m:
            env = {}
            for word in shlex.split(m.group(1)):
                name, eq, value = word.partition("=")
                if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    raise ValueError(f"env=: {word!r} is not VAR=value")
                env[name] = value
            if not env:
                raise ValueError("env=\"\" names no variable")
            return "run", env
        raise ValueError(f"unknown sh block {info!r}: sh, sh no-run or sh env=\"VAR=value ...\"")
    if lang == "text" and rest == "output":
        return "output", {}
    if lang in DISPLAY and rest == "":
        return "display", {}
    m = re.fullmatch(r"file=(\S+)", rest)
    if lang in DISPLAY and m:
        if not m.group(1).startswith("build/") or ".." in m.group(1):
            raise ValueError(f"file={m.group(1)}: a reader's files go under build/")
        return "file", {"path": m.group(1)}
    raise ValueError(f"unknown info string {info!r}: sh, sh no-run, sh env=\"...\", "
                     f"text output, or one of {', '.join(sorted(DISPLAY))} to show code")


def blocks(path, text):
    """(blocks, errors) of one Markdown file: each error is 'path:line: what'."""
    found, errors = [], []
    prev = None      # the last code block, None after an error
    prose = False    # a paragraph, heading, list or table since prev
    section, in_h2 = "", False
    for tok in MarkdownIt("commonmark").parse(text):
        if tok.type in ("paragraph_open", "heading_open", "table_open", "html_block"):
            prose = True
        if tok.type == "heading_open":
            in_h2 = tok.tag == "h2"
        elif tok.type == "inline" and in_h2:
            section, in_h2 = tok.content.strip(), False
        if tok.type == "code_block":
            errors.append(f"{path}:{tok.map[0] + 1}: an indented code block: fence it "
                          "(```sh, ```sh no-run, ```text ...) so the doc test knows "
                          "whether to run it")
            prev = None
            continue
        if tok.type != "fence":
            continue
        line = tok.map[0] + 1
        try:
            kind, env = parse_info(tok.info.strip())
        except ValueError as e:
            errors.append(f"{path}:{line}: {e}")
            prev = None
            continue
        b = Block(path, line, kind, tok.info.strip(), tok.content, env, section=section,
                  after_prose=prose)
        after_run = prev is not None and prev.kind == "run"
        if kind == "output":
            if not after_run or prev.output is not None:
                errors.append(f"{path}:{line}: a text output block must follow a sh block, "
                              "with no other code block between")
            else:
                prev.output = b
        elif kind == "display" and b.info == "text" and after_run and not prose:
            errors.append(f"{path}:{line}: a text block right after a sh block: make it "
                          "`text output` to have it checked, or put a sentence between")
        found.append(b)
        prev, prose = b, False
    return found, errors


def _line_matches(want, got):
    """One expected line against one output line: equal, but for trailing blanks
    and for `...` inside the expected line, which stands for any characters."""
    want, got = want.rstrip(), got.rstrip()
    if "..." not in want:
        return want == got
    parts = want.split("...")
    return re.fullmatch(".*".join(re.escape(p) for p in parts), got, re.S) is not None


def match_output(expected, output):
    """None if output shows the expected lines, else what is missing. The lines
    of expected must come in order and next to each other, except where a line
    `...` lets any number of lines (none included) stand between; the first may
    be anywhere, and any lines may follow the last."""
    want = expected.splitlines()
    got = output.splitlines()
    # Groups of adjacent lines, split at the `...` lines.
    groups, cur = [], []
    for w in want:
        if w.strip() == "...":
            if cur:
                groups.append(cur)
            cur = []
        else:
            cur.append(w)
    if cur:
        groups.append(cur)
    pos = 0
    for g in groups:
        for start in range(pos, len(got) - len(g) + 1):
            if all(_line_matches(w, got[start + i]) for i, w in enumerate(g)):
                pos = start + len(g)
                break
        else:
            # Say which line of the group is the first that cannot be found.
            for n in range(len(g), 0, -1):
                if any(all(_line_matches(w, got[s + i]) for i, w in enumerate(g[:n]))
                       for s in range(pos, len(got) - n + 1)):
                    return (f"after the output's line {pos}, the lines above match up to\n  "
                            f"{g[n - 1]}\nbut the next expected line does not follow:\n  {g[n]}")
            return f"not in the output (after its line {pos}):\n  {g[0]}"
    return None


# ---------------------------------------------------------------------------
# Numbers in prose. A number the prose repeats from a run can drift from the
# run while every block still passes, so the prose is read too. Every number
# of the kinds runs print (quotable(): three digits or more, a decimal point,
# or 0x) that a paragraph, list item, table, heading or plain `text` block
# (shown, checked by nothing) states must be one the reader sees where a test
# holds it: in a code block of the same file, or of a Markdown file the same
# paragraph links to (a run's `text output`, its command, code shown), or,
# for constants, in the code (test_docs.py says which files). It counts as
# shown as written or rounded: 140 for 140.01, 1.4 for 1.40; hex by value.
# Not quotes, and recognised as such:
#   - section numbers of a citation: after "SDM", a volume (3A ... 3D),
#     "specification" or "Format", up to the end of its parentheses, of its
#     sentence or of its table cell ("SDM 3C 27.2 to 27.4"); and any number
#     with two dots (28.2.5);
#   - versions ("Linux 6.4", "Bochs 2.7") and dates ("20 March 2023");
#   - the result of arithmetic the sentence shows, "(1400059 − 40005) / 10000
#     = 136.01", which is checked by doing it (its operands are numbers too);
#   - numbers that a comment right before a paragraph, list or table names,
#     with where they come from: `<!-- not from a run: 11.55, 7.32 (patch
#     3/6's runtimes) -->`. A comment that names a number its block does not
#     state is an error, so it cannot outlive its text.
# A smaller integer (2 MiB, 16 pushes) is not checked: where a run prints it,
# point to the block ("the count the PASS line gives") rather than repeat it.
NUMBER = re.compile(r"(?<![\w.])(0x[0-9a-fA-F]+|\d+(?:\.\d+)*)(?!\w)")
CITATION = re.compile(r"\b(?:SDM|3[A-D]|[Ss]pecification|Format)\b")
VERSION = re.compile(r"\b(?:Linux|Bochs|Debian|QEMU|GRUB|Python|Multiboot2?)\s+\d+(?:\.\d+)*")
DATE = re.compile(r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|"
                  r"September|October|November|December) \d{4}\b")
MARKER = re.compile(r"<!--\s*not from a run:\s*(.*?)\s*-->", re.S)
CITATION_END = re.compile(r"\.(?=\s|$)|\|")
# An arithmetic expression ending in `= result`: numbers, operators, brackets.
ARITHMETIC = re.compile(r"(?<![\w.])((?:[\d.]+|[()+\-−×*/]|[ \t\n])+?)=\s*(\d+(?:\.\d+)?)"
                        r"(?!\w|\.\d)")


def quotable(number):
    """True for the kinds of numbers runs print: hex, one decimal point, three
    digits or more (but two dots: a section, 28.2.5)."""
    dots = number.count(".")
    return dots < 2 and (number.startswith("0x") or dots == 1 or len(number) >= 3)


@dataclass
class Quote:
    path: str
    line: int
    number: str
    links: tuple = ()   # the Markdown files its paragraph links to, from the root

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def _blank(text, start, end):
    """text with [start, end) made spaces, its newlines kept, so that offsets
    still give lines."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _citations(text):
    """The [start, end) spans of text that cite a section of a document."""
    spans = []
    for m in CITATION.finditer(text):
        depth, end = 0, None
        for i in range(m.start() - 1, -1, -1):   # inside parentheses?
            depth += {")": 1, "(": -1}.get(text[i], 0)
            if depth < 0:
                break
        if depth < 0:   # up to the bracket that closes them
            depth = 0
            for i in range(m.end(), len(text)):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                if depth < 0:
                    end = i
                    break
        if end is None:   # up to the end of the sentence or of the table cell
            s = CITATION_END.search(text, m.end())
            end = s.start() if s else len(text)
        spans.append((m.start(), end))
    return spans


def _value(number):
    return ("hex", int(number, 16)) if number.startswith("0x") else ("dec", Decimal(number))


def shows(number, shown):
    """True if one of the numbers in shown is number, as written or rounded to
    as many decimals as number has."""
    kind, want = _value(number)
    places = len(number.partition(".")[2]) if kind == "dec" else 0
    for s in shown:
        k, got = _value(s)
        if k != kind:
            continue
        if got == want or (kind == "dec" and len(s.partition(".")[2]) > places and
                           got.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP) == want):
            return True
    return False


def arithmetic(text):
    """(start of result, result, what the expression gives) for each
    `expression = result` in text whose expression has an operator."""
    out = []
    for m in ARITHMETIC.finditer(text):
        expr = m.group(1).strip()
        while expr.count("(") > expr.count(")") and expr.startswith("("):
            expr = expr[1:].strip()   # the bracket of the sentence, not of the sum
        if not re.search(r"\d", expr) or not re.search(r"[+\-−×*/]", expr):
            continue
        py = re.sub(r"(\d+(?:\.\d+)?)", r'Fraction("\1")',
                    expr.replace("−", "-").replace("×", "*"))
        try:
            value = eval(py, {"Fraction": Fraction, "__builtins__": {}})
        except (SyntaxError, ZeroDivisionError, TypeError):
            continue
        out.append((m.start(2), m.group(2), value))
    return out


def _holds(result, value):
    places = len(result.partition(".")[2])
    got = Decimal(value.numerator) / Decimal(value.denominator)
    return got.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP) == Decimal(result)


class Excuses:
    """What a comment right before a paragraph, list or table excuses in that block
    (`<!-- not from a run: ... -->`, `<!-- not in the tree: ... -->`): the names
    parse() reads from its body (None: the comment is malformed, and form says
    how it should read), and an error for each one the block does not have (verb:
    what the block does with them). take() reads each token; excused() asks."""

    def __init__(self, path, errors, comment, parse, form, verb):
        self.path, self.errors, self.verb = path, errors, verb
        self.comment, self.parse, self.form = comment, parse, form
        self.marker = None   # (names, line, level) of the comment, until its block opens
        self.scope = None    # (marker, the token type that ends its block, level)
        self.used = set()

    def take(self, tok):
        """True if tok is such a comment, now read; else it may open or end a block."""
        m = self.comment.search(tok.content) if tok.type == "html_block" else None
        if m is None:
            self.step(tok)
            return False
        self.close()
        names = self.parse(m.group(1))
        if names is None:
            self.errors.append(f"{self.path}:{tok.map[0] + 1}: {self.form}")
        else:
            self.marker = (names, tok.map[0] + 1, tok.level)
        return True

    def close(self):
        m = self.scope[0] if self.scope else self.marker
        if m is not None:
            unused = [n for n in m[0] if n not in self.used]
            if unused:
                self.errors.append(f"{self.path}:{m[1]}: the comment excuses "
                                   f"{', '.join(unused)}, which the block after it does "
                                   f"not {self.verb}")
        self.marker, self.scope = None, None
        self.used.clear()

    def step(self, tok):
        if self.marker is not None and tok.nesting == 1 and tok.level == self.marker[2]:
            self.scope = (self.marker, tok.type.replace("_open", "_close"), tok.level)
            self.marker = None
        elif self.scope is not None and tok.nesting == -1 and tok.level == self.scope[2] \
                and tok.type == self.scope[1]:
            self.close()

    def excused(self, name):
        if self.scope is not None and name in self.scope[0][0]:
            self.used.add(name)
            return True
        return False


def prose_numbers(path, text):
    """(quotes, errors) of one Markdown file: each quote a number of its prose
    that the rule above holds to what the docs show; each error 'path:line:
    what' (arithmetic that does not hold, a comment that names a number its
    block does not state)."""
    def parse(body):
        nums = re.match(r"((?:(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)*)[,\s]*)+)(.*)", body, re.S)
        return set(NUMBER.findall(nums.group(1))) if nums and nums.group(2).strip() else None

    quotes, errors = [], []
    excuses = Excuses(path, errors, MARKER, parse, "a `not from a run` comment names its "
                      "numbers, then says where they come from", "state")
    here = os.path.dirname(path)
    for tok in MarkdownIt("commonmark").parse(text):
        if excuses.take(tok):
            continue
        if tok.type == "fence" and tok.info.strip() == "text":   # shown, checked by nothing
            quotes += [Quote(path, tok.map[0] + 2 + tok.content[:m.start()].count("\n"), n)
                       for m in NUMBER.finditer(tok.content) for n in [m.group(1)]
                       if quotable(n)]
        if tok.type != "inline":
            continue
        s = tok.content
        links = tuple(sorted({os.path.normpath(os.path.join(here, t.split("#")[0]))
                              for t in re.findall(r"\]\(([^)\s]+\.md(?:#[^)]*)?)\)", s)}))
        # What a reader does not read as prose: link targets, URLs, comments.
        for pat in (r"\]\([^)]*\)", r"<https?://[^>]*>", r"<!--.*?-->"):
            for m in reversed(list(re.finditer(pat, s, re.S))):
                s = _blank(s, m.start() + (1 if pat.startswith(r"\]") else 0), m.end())
        s = s.replace("`", " ")
        skip = _citations(s) + [m.span() for pat in (VERSION, DATE) for m in pat.finditer(s)]
        for start, result, value in arithmetic(s):
            line = tok.map[0] + s[:start].count("\n") + 1
            if _holds(result, value):
                skip.append((start, start + len(result)))
            else:
                errors.append(f"{path}:{line}: the sum that gives {result} gives "
                              f"{float(value):.6g}")
        for m in NUMBER.finditer(s):
            n = m.group(1)
            if not quotable(n) or any(a <= m.start() < b for a, b in skip):
                continue
            if not excuses.excused(n):
                quotes.append(Quote(path, tok.map[0] + s[:m.start()].count("\n") + 1, n,
                                    links))
    excuses.close()
    return quotes, errors


def shown_numbers(found):
    """The numbers of the code blocks a reader sees checked or as code: every
    block but plain `text` (shown, and checked by nothing). A word of two hex
    digits or more counts as hex too: a VMCS dump prints `7fefff`, which the
    prose calls 0x7fefff."""
    shown = set()
    for b in found:
        if b.info != "text":
            shown.update(n for n in NUMBER.findall(b.text) if n.count(".") <= 1)
            shown.update("0x" + w.lower() for w in re.findall(r"\b[0-9a-fA-F]{2,}\b", b.text))
    return shown


# ---------------------------------------------------------------------------
# Names in prose. A path or a function the prose names goes stale when the code
# moves while every block still passes, so the prose is read for names too.
# named() below finds, in paragraphs, lists, tables and headings (not code blocks):
#   - paths: a `code span` or an unquoted word whose first component is one of the
#     repository's own top-level entries (TOP; unquoted, it must end in an extension
#     or a slash), and every
#     link target that is not a URL or an anchor, relative to its file. A `:123`
#     line or a `#anchor` is dropped; a * is a glob, a NAME or CASE component a
#     placeholder (then its folder must exist). build/ is what make writes: named
#     there, a path is the build's and is not checked.
#   - functions: a `code span` that is exactly `name()`.
# test_docs.py holds each to the tree: a path must exist (file or folder); a
# function must be defined there (definitions(): a C function or function-like
# macro, a function a header declares, an assembly label, a Python def, a shell
# function).
# Not vmxlab's, and recognised as such: a name in a sentence that names, before it,
# another project (OTHERS: "KVM's `kvm_set_cr0()`", "QEMU's `docs/specs/fw_cfg.rst`"),
# and the names a comment right before a paragraph, list or table gives, with why:
# `<!-- not in the tree: guest/scratch_probe.c (the file test_guests.py writes) -->`.
# A comment that names what its block does not is an error, so it cannot outlive
# its text.
TOP = tuple(sorted({e for e in os.listdir(os.path.join(os.path.dirname(__file__), "..", ".."))
                    if not e.startswith(".")} | {"build"}))
OTHERS = re.compile(r"\b(?:KVM|Linux|QEMU|Bochs|SeaBIOS|Xen|ACRN|Firecracker|kvmtool|"
                    r"kvm-unit-tests|xv6|SimpleVisor|MiniVisor|BitVisor|rust-vmm|Pintos|"
                    r"GRUB|glibc|libc)\b")
NOT_OURS = re.compile(r"<!--\s*not in the tree:\s*(.*?)\s*-->", re.S)
PLACEHOLDERS = ("NAME", "CASE")
# An unquoted word is a path when it ends in a file's extension or in a slash
# ("guest/host mask" is not one).
PATH_WORD = re.compile(r"(?<![\w./`-])((?:" + "|".join(re.escape(t) for t in TOP) +
                       r")/(?:[\w.*-]+/)*(?:[\w*-]+\.\w+)?)(?![\w/])")


@dataclass
class Name:
    path: str         # the Markdown file
    line: int
    kind: str         # "path", "link" or "function"
    name: str         # as written: `hv/exit/io.c`, `../img/x.svg`, `handle_io`
    target: str = ""  # for paths and links: from the repository root

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def _others_before(s, start):
    """True if the sentence around s[start] names another project before it."""
    begin = max(s.rfind(". ", 0, start), s.rfind(".\n", 0, start))
    return OTHERS.search(s, begin + 1, start) is not None


def named(path, text):
    """(names, errors) of one Markdown file: the paths, links and functions its
    prose names (the rule above), each error 'path:line: what'."""
    def parse(body):
        m = re.match(r"(.*?)\s*\(([^()]+)\)$", body, re.S)
        return {n.strip() for n in m.group(1).split(",") if n.strip()} if m else None

    names, errors = [], []
    excuses = Excuses(path, errors, NOT_OURS, parse, "a `not in the tree` comment names its "
                      "paths and functions, then says why in brackets", "name")
    here = os.path.dirname(path)

    def add(kind, name, target, line, s, start):
        if not excuses.excused(name) and not _others_before(s, start):
            names.append(Name(path, line, kind, name, target))

    for tok in MarkdownIt("commonmark").enable("table").parse(text):
        if excuses.take(tok) or tok.type != "inline":
            continue
        s, line0 = tok.content, (tok.map[0] + 1 if tok.map else 1)
        spans = list(re.finditer(r"`([^`]+)`", s))
        for m in spans:
            word, line = m.group(1).strip(), line0 + s[:m.start()].count("\n")
            f = re.fullmatch(r"([A-Za-z_]\w*)\(\)", word)
            if f:
                add("function", f.group(1) + "()", "", line, s, m.start())
            elif re.fullmatch(r"[\w.*-]+(?:/[\w.*-]*)+(?::\d+)?", word) and \
                    word.split("/")[0] in TOP:
                add("path", word, re.sub(r":\d+$", "", word), line, s, m.start())
        # Unquoted paths, outside code spans and link targets.
        bare = s
        for m in spans + list(re.finditer(r"\]\([^)]*\)|<https?://[^>]*>", s)):
            bare = _blank(bare, m.start(), m.end())
        for m in PATH_WORD.finditer(bare):
            word = m.group(1).rstrip(".")
            add("path", word, word, line0 + s[:m.start()].count("\n"), s, m.start())
        for m in re.finditer(r"\]\(([^)\s]+)\)", s):
            t = m.group(1)
            if re.match(r"[a-z]+:", t) or t.startswith("#"):
                continue
            add("link", t, os.path.normpath(os.path.join(here, t.split("#")[0])),
                line0 + s[:m.start()].count("\n"), s, m.start())
    excuses.close()
    return names, errors


def _parts(name):
    return re.split(r"[/._-]", name)


def path_exists(root, target):
    """True if target (from the root) names something in the tree: a file or a
    folder; a glob, something that matches it; with a placeholder, its folder."""
    import glob
    if target.split("/")[0] == "build":
        return True   # made by make: the runs that print it check it
    parts = target.split("/")
    for i, part in enumerate(parts):
        if any(p in PLACEHOLDERS for p in _parts(part)):
            return os.path.isdir(os.path.join(root, *parts[:i]))
    if "*" in target:
        return bool(glob.glob(os.path.join(root, target)))
    return os.path.exists(os.path.join(root, target))


def definitions(sources):
    """The functions the tree defines, from (path, text) pairs: C functions (a
    body follows the parameters, or, in a header, a semicolon) and function-like
    macros, assembly labels, Python defs, shell functions."""
    out = set()
    for p, text in sources:
        if re.search(r"\.(c|h|S)$", p):
            text = re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.S)
            text = re.sub(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)\s*", "", text)
            ends = "{;" if p.endswith(".h") else "{"
            for m in re.finditer(r"(?m)^[A-Za-z_][^;{}()=\n]*?\b(\w+)\(", text):
                depth, i = 0, m.end() - 1
                for i in range(m.end() - 1, len(text)):
                    depth += {"(": 1, ")": -1}.get(text[i], 0)
                    if depth == 0:
                        break
                if text[i + 1:].lstrip()[:1] in ends:
                    out.add(m.group(1))
            out.update(re.findall(r"(?m)^\s*#\s*define\s+(\w+)\(", text))
            if p.endswith(".S"):
                out.update(re.findall(r"(?m)^\s*([A-Za-z_]\w*):", text))
        elif p.endswith(".py"):
            out.update(re.findall(r"(?m)^\s*def\s+(\w+)\(", text))
        elif p.endswith(".sh"):
            out.update(re.findall(r"(?m)^\s*(\w+)\(\)\s*\{", text))
    return out


def function_defined(name, defined):
    """True if name() is among the defined names; a NAME or CASE part stands for
    any word."""
    base = name[:-2]
    if not any(p in PLACEHOLDERS for p in base.split("_")):
        return base in defined
    pat = "_".join(r"\w+" if p in PLACEHOLDERS else re.escape(p) for p in base.split("_"))
    return any(re.fullmatch(pat, d) for d in defined)
