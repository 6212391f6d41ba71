"""``marks.jsonl`` in the session folder: every mark, one JSON line each, on disk (fsynced) the moment it is made.

A recorder killed while writing leaves at most a torn last line; :func:`read_marks` keeps every whole line before
it and says what it dropped. Appending after a crash first cuts such a tail off.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from imu_gait.ble.marks import Mark, MarkError

MARKS_FILE = "marks.jsonl"


@dataclass
class MarksRead:
    marks: list[Mark] = field(default_factory=list)
    dropped_lines: int = 0
    problems: list[str] = field(default_factory=list)


def read_marks(path: str | Path) -> MarksRead:
    """Every readable mark of a marks log (an absent file has none)."""
    path = Path(path)
    out = MarksRead()
    if not path.is_file():
        return out
    text = path.read_bytes().decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:  # no newline after the last line: torn by a crash
        out.dropped_lines += 1
        out.problems.append(f"{path.name}: torn last line dropped")
        lines.pop()
    for i, line in enumerate(lines, 1):
        try:
            out.marks.append(Mark.from_json(json.loads(line)))
        except (json.JSONDecodeError, MarkError, TypeError) as e:
            out.dropped_lines += 1
            out.problems.append(f"{path.name}: line {i} is not a mark ({e})")
    return out


class MarksLog:
    """Appends marks to ``path``; each :meth:`append` is durable when it returns."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_file():
            data = self.path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end != len(data):  # a torn tail from an earlier crash
                with open(self.path, "r+b") as f:
                    f.truncate(end)

    def append(self, mark: Mark) -> None:
        line = json.dumps(mark.to_json(), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
