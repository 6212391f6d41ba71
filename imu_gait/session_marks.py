"""Editing a saved session's marks (``session.json``: ``calibration.static`` and ``events``) after recording.

Pure functions on the metadata dict, no I/O (``imu-gait mark`` reads and writes the file). Events keep the form
the recorder writes (:mod:`imu_gait.ble.marks`): segments ``{"t", "t_end", "label"[, "side"]}``, markers
``{"t", "label": "mark"[, "note"]}``, in time order.
"""

from __future__ import annotations

import copy
from typing import Any

from imu_gait.ble.marks import SIDES, TASKS, TIME_DECIMALS
from imu_gait.errors import UsageError

SEGMENT_LABELS = (*TASKS, "turn")  # labels the analysis acts on; other text is kept as a free label


def _check_span(t0: float, t1: float, span: tuple[float, float], what: str) -> tuple[float, float]:
    t0, t1 = round(float(t0), TIME_DECIMALS), round(float(t1), TIME_DECIMALS)
    if not t1 > t0:
        raise UsageError(f"{what}: the end ({t1:g} s) must come after the start ({t0:g} s)")
    lo, hi = span
    if t0 < lo - 1e-6 or t1 > hi + 1e-6:
        raise UsageError(
            f"{what} {t0:g}-{t1:g} s lies outside the recording ({lo:.2f}-{hi:.2f} s, session clock)"
        )
    return t0, t1


def add_segment(
    meta: dict[str, Any],
    label: str,
    t0: float,
    t1: float,
    span: tuple[float, float],
    side: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """``meta`` with a segment ``label`` from ``t0`` to ``t1`` (s; within ``span``, the recording's time range)
    and ``side``; also the notes for the user (overlaps with other segments, a label the analysis ignores)."""
    label = label.strip()
    if not label:
        raise UsageError("a segment needs a label, e.g. squat or step_down")
    if side is not None and side not in SIDES:
        raise UsageError(f"side {side!r}: left or right")
    t0, t1 = _check_span(t0, t1, span, f"segment {label}")
    event: dict[str, Any] = {"t": t0, "t_end": t1, "label": label}
    if side:
        event["side"] = side
    out = copy.deepcopy(meta)
    events = list(out.get("events") or [])
    if event in events:
        raise UsageError(f"segment {label} {t0:g}-{t1:g} s is already marked")
    notes = [
        f"overlaps the {e['label']} segment {e['t']:g}-{e['t_end']:g} s"
        for e in events
        if "t_end" in e and e["t"] < t1 and e["t_end"] > t0
    ]
    if label not in SEGMENT_LABELS:
        notes.append(
            f"'{label}' is kept as a free label; the analysis acts on {', '.join(SEGMENT_LABELS)}"
        )
    out["events"] = sorted([*events, event], key=lambda e: e.get("t", 0.0))
    return out, notes


def set_calibration(
    meta: dict[str, Any], t0: float, t1: float, span: tuple[float, float]
) -> dict[str, Any]:
    """``meta`` with the standing calibration window ``t0``-``t1`` (s)."""
    t0, t1 = _check_span(t0, t1, span, "calibration")
    out = copy.deepcopy(meta)
    out["calibration"] = {**(out.get("calibration") or {}), "static": [t0, t1]}
    return out


def add_marker(
    meta: dict[str, Any], t: float, span: tuple[float, float], note: str = ""
) -> dict[str, Any]:
    """``meta`` with a plain marker at ``t`` (s), optionally with a ``note``."""
    t = _check_span(t, t + 1e-3, span, "marker")[0]
    event: dict[str, Any] = {"t": t, "label": "mark"}
    if note.strip():
        event["note"] = note.strip()
    out = copy.deepcopy(meta)
    out["events"] = sorted([*(out.get("events") or []), event], key=lambda e: e.get("t", 0.0))
    return out


def remove_event(meta: dict[str, Any], number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``meta`` without event ``number`` (1-based, as :func:`describe_marks` lists them), and that event."""
    events = list(meta.get("events") or [])
    if not 1 <= number <= len(events):
        raise UsageError(
            f"no event {number}: the session has {len(events)} (list them with imu-gait mark SESSION)"
        )
    out = copy.deepcopy(meta)
    removed = out["events"].pop(number - 1)
    return out, removed


def describe_event(e: dict[str, Any]) -> str:
    if "t_end" in e:
        side = f" {e['side']}" if e.get("side") else ""
        return f"{e['label']}{side} {e['t']:.2f}-{e['t_end']:.2f} s"
    note = f" ({e['note']})" if e.get("note") else ""
    return f"{e.get('label', 'mark')} at {e['t']:.2f} s{note}"


def describe_marks(meta: dict[str, Any]) -> list[str]:
    """The calibration window and the numbered events, one line each."""
    static = (meta.get("calibration") or {}).get("static")
    lines = [f"calibration: {static[0]:.2f}-{static[1]:.2f} s" if static else "calibration: none"]
    events = meta.get("events") or []
    lines += [f"{k:3d}  {describe_event(e)}" for k, e in enumerate(events, start=1)]
    if not events:
        lines.append("no events")
    return lines
