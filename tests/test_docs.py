"""The user documentation stays true: links resolve, and every command it shows exists and parses.

Checks README.md and docs/*.md: relative links point to existing files (and to existing headings when they carry
an #anchor); every `imu-gait <subcommand>` in code exists (`--help` exits 0 in a subprocess); every full
`imu-gait ...` command line in a fenced shell block is accepted by the real argument parser; shipped sample
folders named in commands exist.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from imu_gait.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "notebooks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
# a command: at the start of a line or after &&, ; or |, optionally behind a `$ ` prompt or a path (.venv/bin/)
SUBCOMMAND = re.compile(
    r"(?:^|&&|;|\|)[ \t]*(?:\$[ \t]+)?(?:\S*/)?imu-gait[ \t]+([a-z][a-z_-]*)", re.M
)


def _without_fences(text: str) -> str:
    return FENCE.sub("", text)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(md: Path) -> set[str]:
    text = _without_fences(md.read_text(encoding="utf-8"))
    return {github_slug(m) for m in re.findall(r"^#{1,6}\s+(.*)$", text, re.M)}


def relative_links(md: Path) -> list[str]:
    text = _without_fences(md.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def code_snippets(md: Path) -> list[str]:
    text = md.read_text(encoding="utf-8")
    blocks = FENCE.findall(text)
    return blocks + INLINE.findall(_without_fences(text))


def shell_commands(md: Path) -> list[str]:
    """`imu-gait ...` lines of fenced blocks, backslash continuations joined, comments dropped."""
    out = []
    for block in FENCE.findall(md.read_text(encoding="utf-8")):
        for full_line in block.replace("\\\n", " ").splitlines():
            for line in re.split(r"&&|;|\|", full_line.split(" #", 1)[0]):
                line = line.strip()
                m = re.match(r"^(?:\$\s+)?(?:\S*/)?imu-gait\s+(.*)$", line)
                if m and "..." not in line and "[" not in line:
                    out.append(m.group(1))
    return out


def test_docs_exist() -> None:
    names = {p.name for p in DOCS}
    for required in (
        "install.md",
        "hardware.md",
        "protocol.md",
        "troubleshooting.md",
        "guide.md",
        "metrics.md",
        "session-format.md",
    ):
        assert required in names


def test_github_slug() -> None:
    assert github_slug("Data warnings from `imu-gait info`") == "data-warnings-from-imu-gait-info"
    assert github_slug("2. Record from emulated sensors") == "2-record-from-emulated-sensors"


@pytest.mark.parametrize("md", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(md: Path) -> None:
    broken = []
    for target in relative_links(md):
        path, _, anchor = target.partition("#")
        dest = (md.parent / path).resolve() if path else md
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{md.name}: {broken}"


def documented_subcommands() -> set[str]:
    found = set()
    for md in DOCS:
        for snippet in code_snippets(md):
            found.update(SUBCOMMAND.findall(snippet))
    return found


def test_docs_show_the_main_commands() -> None:
    # the walkthrough must cover the whole job, from emulated sensors to the report
    assert {
        "emulate",
        "record",
        "info",
        "analyze",
        "compare",
        "demo",
        "replay",
    } <= documented_subcommands()


@pytest.mark.parametrize("sub", sorted(documented_subcommands()))
def test_documented_subcommand_exists(sub: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "imu_gait", sub, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 0, f"`imu-gait {sub} --help` failed: {r.stderr[-500:]}"
    assert "usage: imu-gait" in r.stdout


@pytest.mark.parametrize("md", DOCS, ids=lambda p: p.name)
def test_documented_command_lines_parse(md: Path) -> None:
    parser = build_parser()
    bad = []
    for line in shell_commands(md):
        argv = shlex.split(line)
        try:
            parser.parse_args(argv)
        except SystemExit as e:  # argparse reports errors (and --help/--version) by exiting
            if e.code not in (0, None):
                bad.append(line)
        for token in argv:
            m = re.match(r"^(recordings/[\w.-]+)", token)
            if m and not (ROOT / m.group(1)).exists():
                bad.append(f"{line}: {m.group(1)} does not exist")
    assert not bad, f"{md.name}: commands the CLI rejects: {bad}"


def test_command_line_check_catches_a_wrong_option(tmp_path: Path) -> None:
    md = tmp_path / "x.md"
    md.write_text(
        "```sh\nimu-gait analyze s -o out --no-such-option\n"
        "scripts/setup && .venv/bin/imu-gait info s  # comment\n```\n"
    )
    lines = shell_commands(md)
    assert lines == ["analyze s -o out --no-such-option", "info s"]
    parser = build_parser()
    with pytest.raises(SystemExit) as e:
        parser.parse_args(shlex.split(lines[0]))
    assert e.value.code == 2


def test_link_check_catches_broken_links(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "# Title here\n\n[ok](a.md#title-here) [web](https://example.org)\n"
    )
    md = tmp_path / "b.md"
    md.write_text("[1](a.md) [2](missing.md) [3](a.md#nope)\n```\n[not a link](nowhere.md)\n```\n")
    assert relative_links(md) == ["a.md", "missing.md", "a.md#nope"]
    assert relative_links(tmp_path / "a.md") == ["a.md#title-here"]
    assert anchors(tmp_path / "a.md") == {"title-here"}


def test_protocol_snippet_marks_calibration_and_segments(tmp_path: Path) -> None:
    """The Python snippet in docs/protocol.md that adds the calibration window and squat segments works."""
    import shutil

    import imu_gait

    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    blocks = [
        b for b in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M) if "save_session" in b
    ]
    assert len(blocks) == 1
    paths = set(re.findall(r'"(study/[^"]+)"', blocks[0]))
    assert len(paths) == 1
    folder = tmp_path / "session"
    shutil.copytree(ROOT / "recordings" / "gaitmap_walk", folder)
    exec(blocks[0].replace(paths.pop(), str(folder)), {})
    s = imu_gait.load_session(folder)
    assert s.calibration == {"static": [1.0, 8.0]}
    assert [e["label"] for e in s.events][-2:] == ["squat", "squat"]
    assert {e.get("side") for e in s.events if e["label"] == "squat"} == {"left", "right"}
    assert len(s.data["left_foot"]) == len(
        imu_gait.load_session(ROOT / "recordings" / "gaitmap_walk").data["left_foot"]
    )


def test_subcommand_pattern() -> None:
    text = "imu-gait analyse s -o o\n(the imu-gait source line)\nx && .venv/bin/imu-gait info s\n$ imu-gait demo"
    assert SUBCOMMAND.findall(text) == ["analyse", "info", "demo"]
    # "analyse" (British spelling) is not a subcommand: the documented-subcommand test would fail on it
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["analyse", "--help"])
    assert e.value.code == 2
