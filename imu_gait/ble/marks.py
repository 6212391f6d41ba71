"""Marks made while recording: the standing calibration window, task segments and plain markers.

Pure state, no I/O. A :class:`Mark` is one explicit action at a session time; a :class:`MarkBook` applies marks in
order and yields what ``session.json`` holds (``calibration.static`` and ``events``). The recorder logs every mark
(:mod:`imu_gait.ble.marks_log`) and a crashed recording is rebuilt by applying the logged marks to a new book, so
the two always agree.

Input, one key (live terminal) or one line (scripts, a pipe on stdin):

====================  ==========================  =============================================
key                   line                        effect
====================  ==========================  =============================================
``c``                 ``c`` / ``calibrate``       start the standing calibration, or stop it
``w u d r s k t``     ``walk`` ... ``stand``      start a segment of that task (ends the current one)
                      ``squat left`` ...          the same with the working side
``/`` TEXT Enter      ``segment TEXT``            start a segment with a free-text label
space                 ``end``                     end the current segment
``m``                 ``m`` / ``mark [NOTE]``     a plain marker (``label`` "mark", optional ``note``)
====================  ==========================  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TASK_KEYS = {
    "w": "walk",
    "u": "stairs_up",
    "d": "stairs_down",
    "r": "run",
    "s": "squat",
    "k": "step_down",
    "t": "stand",
}
TASKS = tuple(TASK_KEYS.values())
SIDES = ("left", "right")
KINDS = ("calibration_start", "calibration_stop", "segment", "end", "marker")
TIME_DECIMALS = 4  # mark times are kept to 0.1 ms: identical in the log and in session.json
KEY_HELP = "c calibrate  w walk  u stairs up  d stairs down  r run  s squat  k step-down  t stand  / label  space end  m marker"


class MarkError(ValueError):
    """Input that is not a mark."""


@dataclass(frozen=True)
class Mark:
    """One action at session time ``t`` (s). ``kind`` is one of :data:`KINDS`."""

    t: float
    kind: str
    label: str = ""
    side: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"t": self.t, "kind": self.kind}
        for k in ("label", "side", "note"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Mark:
        kind = d.get("kind")
        if kind not in KINDS or not isinstance(d.get("t"), int | float):
            raise MarkError(f"not a mark: {d!r}")
        return cls(
            float(d["t"]),
            kind,
            str(d.get("label", "")),
            str(d.get("side", "")),
            str(d.get("note", "")),
        )


@dataclass(frozen=True)
class Command:
    """Parsed input before it has a time: ``calibrate`` (toggle), ``segment``, ``end`` or ``marker``."""

    action: str
    label: str = ""
    side: str = ""
    note: str = ""


def parse_key(key: str) -> Command | None:
    """The command of a single key in the live view (None: not a mark key)."""
    if key == "c":
        return Command("calibrate")
    if key in TASK_KEYS:
        return Command("segment", TASK_KEYS[key])
    if key == " ":
        return Command("end")
    if key == "m":
        return Command("marker")
    return None


def parse_line(line: str) -> Command | None:
    """The command of one input line (None for a blank line); MarkError if it is not a mark."""
    words = line.split()
    if not words:
        return None
    head, rest = words[0].lower(), words[1:]
    if head in ("c", "calibrate", "calibration") and not rest:
        return Command("calibrate")
    if head in ("end", "e") and not rest:
        return Command("end")
    if head in ("m", "mark", "marker"):
        return Command("marker", note=" ".join(rest))
    if head in ("segment", "seg", "label"):
        if not rest:
            raise MarkError(f"{line.strip()!r}: a free-text segment needs a label")
        return Command("segment", " ".join(rest))
    task = TASK_KEYS.get(head, head.replace("-", "_"))
    if task in TASKS:
        if len(rest) > 1 or (rest and rest[0].lower() not in SIDES):
            raise MarkError(f"{line.strip()!r}: expected `{task}` or `{task} left|right`")
        return Command("segment", task, rest[0].lower() if rest else "")
    raise MarkError(
        f"{line.strip()!r}: not a mark (c, walk, stairs_up, stairs_down, run, squat, step_down, stand, "
        "segment TEXT, end, mark [NOTE])"
    )


@dataclass
class MarkBook:
    """The marks so far: the last completed calibration window, the open calibration and segment, and the
    closed segments and markers in time order."""

    static: list[float] | None = None
    calibrating_since: float | None = None
    calibration_until: float | None = None  # planned end of a timed calibration (--calibrate-first)
    segment: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    def resolve(self, cmd: Command, t: float) -> Mark:
        """The explicit mark of ``cmd`` at ``t`` (the calibration toggle becomes a start or a stop)."""
        t = round(float(t), TIME_DECIMALS)
        if cmd.action == "calibrate":
            kind = "calibration_stop" if self.calibrating_since is not None else "calibration_start"
            return Mark(t, kind)
        kind = {"segment": "segment", "end": "end", "marker": "marker"}[cmd.action]
        return Mark(t, kind, cmd.label, cmd.side, cmd.note)

    def apply(self, mark: Mark) -> None:
        self.marks.append(mark)
        if mark.kind == "calibration_start":
            if self.calibrating_since is None:
                self.calibrating_since = mark.t
        elif mark.kind == "calibration_stop":
            if self.calibrating_since is not None and mark.t > self.calibrating_since:
                self.static = [self.calibrating_since, mark.t]
            self.calibrating_since = self.calibration_until = None
        elif mark.kind == "segment":
            self._end_segment(mark.t)
            self.segment = {"t": mark.t, "label": mark.label}
            if mark.side:
                self.segment["side"] = mark.side
        elif mark.kind == "end":
            self._end_segment(mark.t)
        elif mark.kind == "marker":
            event: dict[str, Any] = {"t": mark.t, "label": "mark"}
            if mark.note:
                event["note"] = mark.note
            self._add(event)

    def close(self, t_end: float) -> None:
        """End what is still open at ``t_end`` (the end of the recording)."""
        t_end = round(float(t_end), TIME_DECIMALS)
        if self.calibrating_since is not None:
            self.apply(Mark(max(t_end, self.calibrating_since), "calibration_stop"))
        if self.segment is not None:
            self.apply(Mark(max(t_end, self.segment["t"]), "end"))

    def _end_segment(self, t: float) -> None:
        seg, self.segment = self.segment, None
        if seg is not None and t > seg["t"]:
            self._add({"t": seg["t"], "t_end": t, **{k: seg[k] for k in seg if k != "t"}})

    def _add(self, event: dict[str, Any]) -> None:
        # in order of their start: a segment is added when it ends, after the markers made during it
        self.events.append(event)
        self.events.sort(key=lambda e: e["t"])

    @classmethod
    def replay(cls, marks: list[Mark]) -> MarkBook:
        book = cls()
        for m in marks:
            book.apply(m)
        return book


def merge_into(meta: dict[str, Any], book: MarkBook) -> dict[str, Any]:
    """``meta`` with the book's calibration window and closed events (in time order; events already there are
    not added twice, so merging again changes nothing)."""
    if book.static is not None:
        meta["calibration"] = {**meta.get("calibration", {}), "static": list(book.static)}
    events = list(meta.get("events", []))
    events += [e for e in book.events if e not in events]
    meta["events"] = sorted(events, key=lambda e: e.get("t", 0.0))
    return meta
