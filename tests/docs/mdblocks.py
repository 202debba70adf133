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
typo cannot silently keep a command from being run."""
import re
import shlex
from dataclasses import dataclass, field

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
