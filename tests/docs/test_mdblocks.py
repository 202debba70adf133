"""test_mdblocks.py: the doc tests' reader of Markdown (mdblocks.py) on made-up
Markdown: what it runs, what it refuses, and how it matches shown output."""
import pytest

import mdblocks

F = "```"


def read(md):
    return mdblocks.blocks("x.md", md)


def test_sh_blocks_in_order_with_their_lines_env_and_output():
    md = (f"Build it:\n\n{F}sh\nmake\n{F}\n\nwhich prints\n\n{F}text output\nok\n{F}\n\n"
          f"- in a list:\n\n  {F}sh env=\"TOGGLES=10 CPU='a b'\"\n  echo $TOGGLES\n  {F}\n\n"
          f"On a real machine only:\n\n{F}sh no-run\nsudo dd if=x of=/dev/sdX\n{F}\n\n"
          f"{F}c\nint x;\n{F}\n")
    found, errors = read(md)
    assert errors == []
    assert [(b.line, b.kind) for b in found] == [(3, "run"), (9, "output"), (15, "run"),
                                                  (21, "no-run"), (25, "display")]
    assert found[0].output is found[1] and found[1].text == "ok\n"
    assert found[2].env == {"TOGGLES": "10", "CPU": "a b"}
    assert found[2].text == "echo $TOGGLES\n"   # the list's indentation is not the script's
    assert found[2].output is None
    assert found[0].where == "x.md:3"


@pytest.mark.parametrize("info", ["bash", "shell", "console", "sh no_run", "sh norun",
                                  "sh env=A=1", "sh env=\"\"", "sh env=\"1A=2\"",
                                  "text ouput", "txt", "sh no-run env=\"A=1\""])
def test_an_unknown_info_string_is_an_error(info):
    found, errors = read(f"Text.\n\n{F}{info}\nmake run\n{F}\n")
    assert found == [] and len(errors) == 1 and errors[0].startswith("x.md:3: ")


def test_a_fence_without_info_and_an_indented_block_are_errors():
    found, errors = read(f"{F}\nmake run\n{F}\n\nText:\n\n    make run\n")
    assert found == []
    assert [e.split(":")[1] for e in errors] == ["1", "7"]
    assert "indented code block" in errors[1]


def test_text_output_needs_a_sh_block_before_it():
    for md in (f"{F}text output\nx\n{F}\n",
               f"Only checked:\n\n{F}sh no-run\ntrue\n{F}\n\n{F}text output\nx\n{F}\n",
               f"{F}sh\ntrue\n{F}\n\n{F}text output\nx\n{F}\n\n{F}text output\ny\n{F}\n",
               f"{F}sh\ntrue\n{F}\n\n{F}c\nx;\n{F}\n\n{F}text output\nx\n{F}\n"):
        assert len(read(md)[1]) == 1, md


def test_plain_text_right_after_sh_must_say_output_or_be_set_apart():
    assert len(read(f"{F}sh\ntrue\n{F}\n{F}text\nx\n{F}\n")[1]) == 1
    assert read(f"{F}sh\ntrue\n{F}\n\nA config file:\n\n{F}text\nx\n{F}\n")[1] == []


OUT = "make[1]: Nothing to be done\nvmxlab: a\nvmxlab: b\nvmxlab: c\nrun.py: verdict PASS (10.5 s)\n"


@pytest.mark.parametrize("expected", [
    "vmxlab: a\n",
    "vmxlab: a\nvmxlab: b\n",
    "vmxlab: a\n...\nvmxlab: c\n",
    "...\nvmxlab: b\n...\n",
    "vmxlab: a\n...\nvmxlab: b\n",           # `...` may stand for no line
    "run.py: verdict PASS (... s)\n",        # `...` in a line: any characters
    "vmxlab: b   \n",                        # trailing blanks do not count
])
def test_output_that_shows_the_lines_matches(expected):
    assert mdblocks.match_output(expected, OUT) is None


@pytest.mark.parametrize("expected", [
    "vmxlab: d\n",                           # a wrong line
    "vmxlab: a\nvmxlab: c\n",                # a line left out without `...`
    "vmxlab: c\n...\nvmxlab: a\n",           # out of order
    "vmxlab: a\n...\nvmxlab: a\n",           # one output line cannot match twice
    "  vmxlab: a\n",                         # leading blanks count
    "vmxlab:\n",                             # a prefix is not the line
    "run.py: verdict FAIL (... s)\n",
])
def test_output_that_does_not_show_the_lines_fails(expected):
    problem = mdblocks.match_output(expected, OUT)
    assert problem is not None


def test_a_failure_names_the_line_that_is_missing():
    problem = mdblocks.match_output("vmxlab: a\nvmxlab: b\nvmxlab: x\n", OUT)
    assert "vmxlab: x" in problem and "up to\n  vmxlab: b" in problem
