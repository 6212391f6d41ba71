"""The live stride view of ``record`` and ``replay`` (rich): per side the latest stride's metrics and rolling
means over the last N strides, warnings (sensor lost, clipped samples, gaps), the cue state; and an optional
matplotlib window that redraws per stride."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from imu_gait.pipeline.online import OnlineAnalyzer, StrideUpdate

# (column, label, format)
VIEW_METRICS = (
    ("activity", "activity", "{}"),
    ("stride_time", "stride s", "{:.2f}"),
    ("stride_length", "length m", "{:.2f}"),
    ("eversion_excursion", "ever. exc °", "{:.1f}"),
    ("eversion_velocity_peak", "ever. vel °/s", "{:.0f}"),
    ("knee_abduction_peak", "valgus pk °", "{:.1f}"),
    ("pelvic_drop_peak", "pelvic drop °", "{:.1f}"),
)


def _known(row: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``row`` that carry a value (a later update of a stride may lack an earlier one's)."""
    return {
        k: v
        for k, v in row.items()
        if not (isinstance(v, float) and not math.isfinite(v)) and v != ""
    }


class StrideBoard:
    """What the view shows, updated stride by stride (no terminal I/O here: :meth:`render` builds it)."""

    def __init__(self, title: str, rolling: int = 10) -> None:
        self.title = title
        self.rolling = rolling
        self.latest: dict[str, dict[str, Any]] = {}
        self.latest_final: dict[str, bool] = {}  # per side whether the latest stride's row is final
        self.recent: dict[str, deque] = {}
        self.count: dict[str, int] = {}
        self.newest: dict[str, int] = {}  # per side the highest stride number shown
        self.now = 0.0
        self.cue_text = ""
        self.notes: list[str] = []

    def add(self, u: StrideUpdate) -> None:
        """Show ``u`` as the latest stride of its side. Every stride counts and enters the means once, with its
        newest version: the live analysis sends a stride early (timing and pronation about 0.25 s after its end,
        provisional knee columns) and its final row 10-15 s later (with knee sensors), and the view must not
        wait for the final rows. The latest stride is the newest one: an older stride's final row does not
        replace it, and a later version of it (the provisional stride length once the foot has rested) adds
        what it carries."""
        recent = self.recent.setdefault(u.side, deque(maxlen=self.rolling))
        k = u.row.get("stride", -1)
        shown = self.latest.get(u.side, {})
        if k > shown.get("stride", -1):
            self.latest[u.side] = u.row
            self.latest_final[u.side] = u.final
        elif k == shown.get("stride"):
            self.latest[u.side] = {**shown, **_known(u.row)}
            self.latest_final[u.side] = self.latest_final.get(u.side, False) or u.final
        if k > self.newest.get(u.side, -1):
            recent.append(u.row)
            self.count[u.side] = self.count.get(u.side, 0) + 1
            self.newest[u.side] = k
            return
        for i, r in enumerate(recent):  # a later version of a stride: update it in place
            if r.get("stride") == k:
                recent[i] = {**r, **_known(u.row)}

    def rolling_mean(self, side: str, column: str) -> float:
        vals = [r.get(column) for r in self.recent.get(side, ())]
        vals = [float(v) for v in vals if isinstance(v, int | float) and math.isfinite(float(v))]
        return float(np.mean(vals)) if vals else float("nan")

    def render(self, analyzer: OnlineAnalyzer | None = None) -> Group:
        table = Table(title=f"{self.title}  {self.now:6.1f} s", expand=False)
        table.add_column("side")
        table.add_column("strides", justify="right")
        for _, label, _ in VIEW_METRICS:
            table.add_column(label, justify="right")
        for side in ("left", "right"):
            if side not in self.latest:
                continue
            row = self.latest[side]
            cells = [_fmt(row.get(c), f) for c, _, f in VIEW_METRICS]
            label = side if self.latest_final.get(side, True) else f"{side} *"
            table.add_row(label, str(self.count.get(side, 0)), *cells)
            if side not in self.recent:
                continue
            means = [
                "" if c == "activity" else _fmt(self.rolling_mean(side, c), f)
                for c, _, f in VIEW_METRICS
            ]
            table.add_row(
                Text(f" mean {len(self.recent[side])}", style="dim"),
                "",
                *means,
                style="dim",
            )
        parts: list[Any] = [table]
        if not all(self.latest_final.get(side, True) for side in self.latest):
            parts.append(
                Text(
                    "* provisional: the stride's final row (= imu-gait analyze) follows about 1 s later "
                    "(knee columns 10-25 s later)",
                    style="dim",
                )
            )
        if analyzer is not None and not self.latest:
            waiting = [f.placement for f in analyzer.feet.values() if f.alignment is None]
            if waiting:
                parts.append(
                    Text(f"calibrating ({', '.join(waiting)}): stand still, then walk", "yellow")
                )
        for w in warnings(analyzer) if analyzer is not None else []:
            parts.append(Text(w, style="red"))
        if self.cue_text:
            parts.append(Text(self.cue_text, style="bold magenta"))
        return Group(*parts)


def warnings(analyzer: OnlineAnalyzer) -> list[str]:
    """One line per problem seen so far: sensors lost, clipped samples, gaps, and the analyzer's own (a
    gyroscope that disagrees with its accelerometer, a failed calibration)."""
    out = list(dict.fromkeys(analyzer.warnings))
    for p, s in analyzer.status().items():
        if s["lost"] and s["samples"]:
            out.append(f"{p}: no data for {analyzer.now - s['last_t']:.1f} s (sensor lost?)")
        if s["saturated"]:
            out.append(f"{p}: {s['saturated']} clipped samples (sensor range)")
        if s["gaps"]:
            n = s["gaps"]
            out.append(f"{p}: {n} gap{'' if n == 1 else 's'} in the data")
    return out


def stride_line(u: StrideUpdate) -> str:
    """One plain line per stride, for non-interactive output."""
    r = u.row
    parts = [f"{u.side:5s} #{r['stride']:<3d} {r.get('activity', '')!s:11s} ic {r['ic']:7.2f} s"]
    for c, _, f in VIEW_METRICS[1:]:
        v = r.get(c)
        if isinstance(v, int | float) and math.isfinite(float(v)):
            parts.append(f"{c} {f.format(v)}")
    return "  ".join(parts)


def _fmt(v: Any, f: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "-" if not math.isfinite(x) else f.format(x)


class LivePlot:
    """A matplotlib window with the last stride's stance eversion curve per side and the per-stride eversion
    excursion and knee valgus peak over time; redrawn per stride."""

    def __init__(self) -> None:
        import matplotlib.pyplot as plt

        self.plt = plt
        plt.ion()
        self.fig, (self.ax_curve, self.ax_trend) = plt.subplots(1, 2, figsize=(10, 4))
        self.trend: dict[str, list[tuple[float, float]]] = {}

    def add(self, u: StrideUpdate) -> None:
        if not u.final:
            return
        c = u.curves[u.curves["variable"] == "eversion"]
        if len(c):
            self.ax_curve.cla()
            self.ax_curve.plot(c["pct"], c["value"], label=f"{u.side} #{u.row['stride']}")
            self.ax_curve.set_xlabel("% stance")
            self.ax_curve.set_ylabel("eversion (deg)")
            self.ax_curve.legend(loc="upper right")
        self.trend.setdefault(u.side, []).append(
            (u.row["ic"], u.row.get("eversion_excursion", np.nan))
        )
        self.ax_trend.cla()
        for side, pts in self.trend.items():
            t, v = zip(*pts, strict=True)
            self.ax_trend.plot(t, v, "o-", label=side)
        self.ax_trend.set_xlabel("time (s)")
        self.ax_trend.set_ylabel("eversion excursion (deg)")
        self.ax_trend.legend(loc="upper right")
        self.fig.canvas.draw_idle()
        self.plt.pause(0.001)

    def save(self, path: str) -> None:
        self.fig.savefig(path)
