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


def prose_numbers(path, text):
    """(quotes, errors) of one Markdown file: each quote a number of its prose
    that the rule above holds to what the docs show; each error 'path:line:
    what' (arithmetic that does not hold, a comment that names a number its
    block does not state)."""
    quotes, errors = [], []
    marker = None   # (numbers, line, level) of a `not from a run` comment
    scope = None    # (marker, the token type that ends its block, level)
    used = set()
    here = os.path.dirname(path)

    def close_marker():
        nonlocal marker, scope
        m = scope[0] if scope else marker
        if m is not None:
            unused = [n for n in m[0] if n not in used]
            if unused:
                errors.append(f"{path}:{m[1]}: the comment excuses {', '.join(unused)}, "
                              "which the block after it does not state")
        marker, scope = None, None
        used.clear()

    for tok in MarkdownIt("commonmark").parse(text):
        if tok.type == "html_block" and MARKER.search(tok.content):
            close_marker()
            body = MARKER.search(tok.content).group(1)
            nums = re.match(r"((?:(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)*)[,\s]*)+)(.*)", body, re.S)
            if not nums or not nums.group(2).strip():
                errors.append(f"{path}:{tok.map[0] + 1}: a `not from a run` comment names "
                              "its numbers, then says where they come from")
                continue
            marker = (set(NUMBER.findall(nums.group(1))), tok.map[0] + 1, tok.level)
            continue
        if marker is not None and tok.nesting == 1 and tok.level == marker[2]:
            scope, marker = (marker, tok.type.replace("_open", "_close"), tok.level), None
        elif scope is not None and tok.nesting == -1 and tok.level == scope[2] \
                and tok.type == scope[1]:
            close_marker()
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
        excused = scope[0][0] if scope else set()
        for m in NUMBER.finditer(s):
            n = m.group(1)
            if not quotable(n) or any(a <= m.start() < b for a, b in skip):
                continue
            if n in excused:
                used.add(n)
                continue
            quotes.append(Quote(path, tok.map[0] + s[:m.start()].count("\n") + 1, n, links))
    close_marker()
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
