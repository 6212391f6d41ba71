"""The live view of ``imu-gait record``: the sensor table, the marks panel and (with the online analysis) the
stride board, redrawn until the recording stops; and the one-line messages of marks for non-interactive output."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live
from rich.text import Text

from imu_gait.ble.live import sensor_table
from imu_gait.ble.marks import KEY_HELP, Mark

if TYPE_CHECKING:
    from imu_gait.ble.mark_input import MarkInput
    from imu_gait.ble.recorder import Recorder


def marks_panel(rec: Recorder, keys: MarkInput | None = None, message: str = "") -> Text:
    """Calibration (a "stand still" prompt while it runs), the current segment, the last marks, and the keys."""
    book, now = rec.marks, rec.now()
    out = Text()
    if book.calibrating_since is not None:
        if book.calibration_until is not None:
            left = max(0.0, book.calibration_until - now)
            out.append(
                f" STAND STILL  calibration: {left:4.1f} s left ", style="bold black on yellow"
            )
        else:
            out.append(
                f" STAND STILL  calibrating {now - book.calibrating_since:4.1f} s (c to stop) ",
                style="bold black on yellow",
            )
    elif book.static is not None:
        out.append(f"calibration {book.static[0]:.1f}-{book.static[1]:.1f} s", style="green")
    elif rec.calibrate_first:
        out.append("calibration: starts when every sensor streams", style="yellow")
    else:
        out.append("calibration: none yet (c)", style="dim")
    out.append("   ")
    seg = book.segment
    if seg is not None:
        side = f" {seg['side']}" if seg.get("side") else ""
        out.append(f"segment {seg['label']}{side} {now - seg['t']:5.1f} s", style="bold cyan")
    else:
        out.append("no segment", style="dim")
    recent = [describe(m) for m in book.marks[-3:]]
    if recent:
        out.append("\nlast: " + "  |  ".join(recent), style="dim")
    if keys is not None and keys.typing is not None:
        out.append(
            f"\nlabel: {keys.typing}_  (Enter starts the segment, Esc cancels)", style="bold"
        )
    elif keys is not None:
        out.append(f"\n{KEY_HELP}", style="dim")
    problem = message or rec.mark_problem
    if problem:
        out.append(f"\n{problem}", style="red")
    return out


def describe(m: Mark) -> str:
    """A mark in a few words, e.g. ``12.3 s walk``."""
    what = {
        "calibration_start": "calibration start",
        "calibration_stop": "calibration stop",
        "end": "end of segment",
        "marker": f"marker {m.note}".strip(),
    }.get(m.kind, f"{m.label} {m.side}".strip())
    return f"{m.t:.3f} s {what}"


async def record_view(
    rec: Recorder,
    console: Any,
    keys: MarkInput | None = None,
    board: Any = None,
    status: dict[str, str] | None = None,
    period: float = 0.25,
) -> None:
    """Redraw the view until the recording stops (cancel to end early). ``board``: the stride board of the
    online analysis (:class:`imu_gait.live_strides.StrideBoard`); ``status["message"]``: a line to show."""

    def render() -> Group:
        items: list[Any] = [
            sensor_table(rec),
            marks_panel(rec, keys, (status or {}).get("message", "")),
        ]
        if board is not None:
            board.now = rec.now()
            items.append(board.render(rec.analyzer))
        return Group(*items)

    with Live(render(), console=console, refresh_per_second=8, transient=False) as live:
        while not rec.stopping:
            await asyncio.sleep(period)
            live.update(render())
        live.update(render())
