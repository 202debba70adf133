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


# Numbers in prose (mdblocks.prose_numbers, shows, shown_numbers).

def quoted(md, path="docs/x.md"):
    quotes, errors = mdblocks.prose_numbers(path, md)
    return [(q.line, q.number) for q in quotes], errors


def test_prose_numbers_of_the_kinds_runs_print_are_quoted():
    md = ("It costs 140.01, about 140, in 3 windows of 10000 (`0x27000e`); 2 MiB.\n\n"
          "- a list item says 1135\n\n| run | cost |\n|---|---:|\n| flush | 1140.03 |\n\n"
          f"{F}text output\n999 not prose\n{F}\n")
    assert quoted(md) == ([(1, "140.01"), (1, "140"), (1, "10000"), (1, "0x27000e"),
                           (3, "1135"), (7, "1140.03")], [])


def test_citations_versions_dates_and_links_are_not_quotes():
    md = ('Read it (SDM 3A 4.6, "Access Rights"; 6.15, "Double Fault"), and SDM 3C\n'
          "27.2 to 27.4. Then 4.50 is a quote again. Lab 1 (3C 26.3, Changes) too.\n\n"
          "| code | where |\n|---|---|\n| `x.c` | SDM 3C 25.4 | 1.25 |\n\n"
          "Linux 6.4 and Bochs 2.7, on 20 March 2023, see "
          "<https://lore.kernel.org/2302.0/01018.html> and [it](https://x.org/1234).\n")
    assert quoted(md) == ([(2, "4.50"), (6, "1.25")], [])


def test_arithmetic_is_done_and_its_result_not_quoted():
    md = ("The cost: (1400059 − 40005) / 10000 = 136.01, and 97 × 1000 + 6 = 97006.\n"
          "A wrong sum: 17554 − 16605 = 954.\n")
    quotes, errors = quoted(md)
    assert quotes == [(1, "1400059"), (1, "40005"), (1, "10000"), (1, "1000"),
                      (2, "17554"), (2, "16605"), (2, "954")]   # a wrong result stays a quote
    assert errors == ["docs/x.md:2: the sum that gives 954 gives 949"]


def test_a_comment_excuses_the_numbers_it_names_in_the_next_block():
    md = ("<!-- not from a run: 11.55, 75.2 (patch 3/6's runtimes) -->\n"
          "| MMU | before |\n|---|---|\n| legacy | 11.55 |\n| shadow | 75.2 |\n\n"
          "Later 11.55 is a quote again.\n")
    assert quoted(md) == ([(7, "11.55")], [])


@pytest.mark.parametrize("comment", [
    "<!-- not from a run: 11.55 -->",                    # no reason
    "<!-- not from a run: 11.55, 7.32 (runtimes) -->",   # 7.32 is not in the block
])
def test_a_comment_with_no_reason_or_a_number_its_block_lacks_is_an_error(comment):
    quotes, errors = quoted(f"{comment}\nIt took 11.55 s.\n")
    assert len(errors) == 1 and errors[0].startswith("docs/x.md:1: "), errors


def test_links_to_markdown_files_go_with_their_paragraph():
    md = "As [chapter 8](08-shadow.md#run-it) shows: 1140.\n\nAnd 1140 here.\n"
    quotes, _ = mdblocks.prose_numbers("docs/x.md", md)
    assert [(q.number, q.links) for q in quotes] == [("1140", ("docs/08-shadow.md",)),
                                                     ("1140", ())]


@pytest.mark.parametrize("number,shown,ok", [
    ("140", {"140"}, True),
    ("140", {"140.01"}, True),        # rounded to what the prose gives
    ("1.4", {"1.40"}, True),
    ("1.40", {"1.4"}, True),          # the same value
    ("1135", {"1140.03"}, False),
    ("141", {"140.51"}, True),
    ("140", {"140.51"}, False),
    ("0x5f", {"0x5F"}, True),
    ("0x5f", {"95"}, False),          # hex is not a decimal
    ("375", {"0x375"}, False),
])
def test_a_number_is_shown_as_written_or_rounded(number, shown, ok):
    assert mdblocks.shows(number, shown) == ok


def test_shown_numbers_come_from_code_blocks_but_plain_text():
    found, errors = read(f"{F}sh\necho 1000\n{F}\n\n{F}text output\nCR0 80010033 x 140.01\n{F}\n\n"
                         f"Unchecked:\n\n{F}text\n1135\n{F}\n")
    shown = mdblocks.shown_numbers(found)
    assert {"1000", "140.01", "0x80010033"} <= shown and "1135" not in shown


def test_a_plain_text_block_is_read_as_prose():
    """Shown and checked by nothing, so its numbers are held like the prose's."""
    md = f"Sh:\n\n{F}sh\ntrue\n{F}\n\nA line looks like this:\n\n{F}text\nok in 6071 ticks\n{F}\n"
    assert quoted(md) == ([(10, "6071")], [])


def names(md, path="docs/x.md"):
    found, errors = mdblocks.named(path, md)
    return [(n.kind, n.name, n.target, n.line) for n in found], errors


def test_paths_links_and_functions_the_prose_names():
    md = ("Read `hv/exit/io.c:42` and `handle_io()`, then\n[the ABI](guest-abi.md#io) and "
          "hv/vmx/ too.\n\n- `make run`, `x86_64/boot`, `tests=baseline`, `hv`, guest/host "
          "masks\n\n| a | b |\n|---|---|\n| `boot/x86.h` | [up](../README.md) |\n")
    found, errors = names(md)
    assert errors == []
    assert found == [("path", "hv/exit/io.c:42", "hv/exit/io.c", 1),
                     ("function", "handle_io()", "", 1), ("path", "hv/vmx/", "hv/vmx/", 2),
                     ("link", "guest-abi.md#io", "docs/guest-abi.md", 2),
                     ("path", "boot/x86.h", "boot/x86.h", 8),
                     ("link", "../README.md", "README.md", 8)]


def test_code_blocks_and_other_projects_names_are_not_the_trees():
    md = ("```c\nhv/gone.c\n```\n\nLike KVM's `kvm_set_cr0()`, QEMU's "
          "`docs/specs/fw_cfg.rst` and then\n`set_cr0()`. But `exit_cr()` is ours.\n")
    found, errors = names(md)
    assert errors == [] and [n[1] for n in found] == ["exit_cr()"]


def test_a_comment_excuses_the_names_it_gives_in_the_next_block():
    md = ("<!-- not in the tree: guest/new.c, made_up() (what the reader writes) -->\n"
          "Write `guest/new.c` with `made_up()` in `hv/run/guest.c`.\n\n"
          "Then `guest/new.c` again.\n")
    found, errors = names(md)
    assert errors == []
    assert [(n[1], n[3]) for n in found] == [("hv/run/guest.c", 2), ("guest/new.c", 4)]


@pytest.mark.parametrize("comment", ["<!-- not in the tree: guest/new.c -->",
                                     "<!-- not in the tree: guest/other.c (why) -->"])
def test_a_comment_with_no_reason_or_a_name_its_block_lacks_is_an_error(comment):
    assert len(names(f"{comment}\nWrite `guest/new.c`.\n")[1]) == 1


def test_paths_exist_as_files_folders_globs_or_placeholders(tmp_path):
    (tmp_path / "hv" / "dev").mkdir(parents=True)
    (tmp_path / "hv" / "dev" / "dev.c").write_text("")
    for target, ok in (("hv/dev/dev.c", True), ("hv/dev/", True), ("hv/dev", True),
                       ("hv/dev/*.c", True), ("hv/dev/*.h", False), ("hv/dev/NAME.c", True),
                       ("hv/run/NAME.c", False), ("hv/dev/devx.c", False),
                       ("build/hv/vmx/asm_offsets.h", True)):
        assert mdblocks.path_exists(str(tmp_path), target) == ok, target


def test_definitions_in_c_headers_assembly_python_and_shell():
    sources = [
        ("a.c", "static __attribute__((noinline, cold)) int set_cr0_refused(uint64_t v,\n"
                "    bool is64)\n{\n}\nint called_only(void);\n// int in_a_comment(void)\n"
                "{\n}\nvoid plain(void) { }\nGR_CHECK(rax, 0);\n#define TRACE(...) x\n"),
        ("a.h", "uint64_t toggle_wp_loop(uint64_t n); // declared\n"
                "static inline bool cr0_ok(uint64_t v)\n{\n    return v;\n}\n"),
        ("s.S", "vmx_run:\n    ret\n"),
        ("t.py", "def table():\n    pass\n"),
        ("f.sh", "run_one() {\n  true\n}\n"),
    ]
    d = mdblocks.definitions(sources)
    for name in ("set_cr0_refused", "plain", "TRACE", "toggle_wp_loop", "cr0_ok", "vmx_run",
                 "table", "run_one"):
        assert name in d, name
    for name in ("called_only", "in_a_comment", "GR_CHECK"):
        assert name not in d, name
    assert mdblocks.function_defined("NAME_loop()", d)
    assert not mdblocks.function_defined("NAME_walk()", d)
