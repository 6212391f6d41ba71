"""The live terminal view of a recording (rich): per sensor state, rate, samples, losses, battery."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from imu_gait.ble.recorder import Recorder, SensorState

_STYLE = {
    "streaming": "green",
    "connecting": "yellow",
    "searching": "yellow",
    "reconnecting": "yellow",
    "retrying": "red",
    "disconnected": "red",
    "stalled": "red",
    "failed": "bold red",
    "stopped": "dim",
}


def sensor_table(rec: Recorder) -> Table:
    now = rec.now()
    table = Table(title=f"imu-gait record  {rec.store.folder}  {now:6.1f} s", expand=False)
    for col in (
        "placement",
        "sensor",
        "family",
        "state",
        "rate Hz",
        "samples",
        "lost pkts",
        "gaps",
        "battery",
        "note",
    ):
        table.add_column(
            col,
            justify="right" if col in ("rate Hz", "samples", "lost pkts", "gaps") else "left",
            no_wrap=col != "note",
            overflow="ellipsis",
        )
    for s in rec.sensors.values():
        style = _STYLE.get(s.state, "")
        table.add_row(
            s.placement,
            s.name or s.spec.target,
            s.family.NAME if s.family else "-",
            f"[{style}]{s.state}[/]" if style else s.state,
            f"{s.rate(now):.0f}",
            str(s.samples),
            str(s.lost_packets),
            str(len(s.gaps)),
            "-" if s.battery is None else f"{s.battery}%",
            s.message[:40],
        )
    return table


async def live_view(rec: Recorder, console: Console | None = None, period: float = 0.5) -> None:
    """Redraw the table until the recording stops (cancel to end early)."""
    with Live(sensor_table(rec), console=console, refresh_per_second=4, transient=False) as live:
        while not rec.stopping:
            await asyncio.sleep(period)
            live.update(sensor_table(rec))
        live.update(sensor_table(rec))


def state_line(s: SensorState) -> str:
    """One line per state change, for non-interactive output."""
    return f"{s.placement}: {s.state}" + (f" - {s.message}" if s.message else "")
