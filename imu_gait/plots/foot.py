"""Foot figures from an analysis: eversion curves per side, stride-parameter overview, session timeline.

Each ``*_figure`` function takes the strides/curves DataFrames of :class:`~imu_gait.pipeline.analysis.Analysis`
and returns a matplotlib Figure (or None when there is nothing to draw); :func:`write_foot_figures` saves them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from imu_gait.plots.style import (
    ACTIVITY_COLOURS,
    ACTIVITY_LABELS,
    FLAG_COLOUR,
    SIDE_COLOURS,
    new_figure,
    save_figure,
    style_axes,
)

SIDES = ("left", "right")


def eversion_curves_figure(strides: pd.DataFrame, curves: pd.DataFrame) -> Figure | None:
    """Stance eversion (deg, + = eversion) per side (columns) and activity (rows): every stride thin, mean +/- SD
    band thick. Strides whose quality is not ok are left out of the mean and drawn dashed."""
    ev = curves[curves["variable"] == "eversion"]
    if ev.empty:
        return None
    info = strides.set_index(["side", "stride"])[["activity", "quality"]]
    acts = [a for a in ACTIVITY_COLOURS if a in set(strides["activity"])]
    fig = new_figure(10, 3.2 * len(acts))
    axes = fig.subplots(len(acts), 2, squeeze=False, sharex=True, sharey=True)
    pct = np.linspace(0, 100, 101)
    for r, act in enumerate(acts):
        for c, side in enumerate(SIDES):
            ax = axes[r, c]
            style_axes(ax)
            colour = SIDE_COLOURS[side]
            good = []
            for stride, g in ev[ev["side"] == side].groupby("stride"):
                key = (side, stride)
                if key not in info.index or info.loc[key, "activity"] != act:
                    continue
                y = g.sort_values("pct")["value"].to_numpy()
                ok = info.loc[key, "quality"] == "ok"
                ax.plot(pct, y, color=colour, lw=0.6, alpha=0.35, ls="-" if ok else "--")
                if ok:
                    good.append(y)
            if good:
                m = np.mean(good, axis=0)
                sd = np.std(good, axis=0, ddof=1) if len(good) > 1 else np.zeros_like(m)
                ax.fill_between(pct, m - sd, m + sd, color=colour, alpha=0.25, lw=0)
                ax.plot(pct, m, color=colour, lw=2.2)
            ax.axhline(0, color="#777777", lw=0.8)
            ax.set_title(f"{side} foot, {ACTIVITY_LABELS[act]} (n = {len(good)})", fontsize=10)
            if c == 0:
                ax.set_ylabel("eversion (deg)\n+ eversion / - inversion")
            if r == len(acts) - 1:
                ax.set_xlabel("stance (%)  IC = 0, toe-off = 100")
    handles = [
        Line2D([], [], color="#444444", lw=0.6, alpha=0.6, label="one stride"),
        Line2D([], [], color="#444444", lw=2.2, label="mean"),
        Patch(color="#444444", alpha=0.25, label="mean +/- SD"),
    ]
    fig.legend(handles=handles, loc="outside upper right", ncols=3, frameon=False)
    fig.suptitle("Foot eversion during stance", fontsize=12)
    return fig


PARAMETERS = (
    ("stride_length", "stride length (m)"),
    ("speed", "speed (m/s)"),
    ("cadence", "cadence (steps/min)"),
    ("stance_time", "stance time (s)"),
    ("eversion_excursion", "eversion excursion (deg)"),
    ("eversion_velocity_peak", "peak eversion velocity (deg/s)"),
)


def stride_parameters_figure(strides: pd.DataFrame) -> Figure | None:
    """Per-stride values of the main parameters by side and activity (dots) with the median (bar)."""
    if strides.empty:
        return None
    fig = new_figure(11, 6)
    axes = fig.subplots(2, 3).ravel()
    acts = [a for a in ACTIVITY_COLOURS if a in set(strides["activity"])]
    short = {"walk": "walk", "stairs_up": "stairs up", "stairs_down": "stairs down", "run": "run"}
    for ax, (col, label) in zip(axes, PARAMETERS, strict=True):
        style_axes(ax)
        for x, act in enumerate(acts):
            for dx, side in ((-0.2, "left"), (0.2, "right")):
                v = strides.loc[(strides["side"] == side) & (strides["activity"] == act), col]
                v = pd.to_numeric(v, errors="coerce").dropna().to_numpy()
                if not v.size:
                    continue
                jitter = (np.random.default_rng(2 * x + (dx > 0)).random(v.size) - 0.5) * 0.22
                ax.scatter(x + dx + jitter, v, s=9, color=SIDE_COLOURS[side], alpha=0.6, lw=0)
                ax.hlines(np.median(v), x + dx - 0.15, x + dx + 0.15, color="black", lw=2)
        ax.set_xticks(range(len(acts)), [short.get(a, a) for a in acts], fontsize=9)
        ax.set_xlim(-0.6, len(acts) - 0.4)
        ax.set_title(label, fontsize=10)
    handles = [
        Line2D([], [], marker="o", ls="", color=SIDE_COLOURS[s], label=f"{s} foot") for s in SIDES
    ]
    handles.append(Line2D([], [], color="black", lw=2, label="median"))
    fig.legend(handles=handles, loc="outside upper right", ncols=3, frameon=False)
    fig.suptitle("Stride parameters (one dot per stride)", fontsize=12)
    return fig


def timeline_figure(strides: pd.DataFrame) -> Figure | None:
    """Session timeline: one lane per foot, each stride a bar coloured by activity from IC to the next IC,
    flagged strides (quality not ok) marked with a cross; stride length below."""
    if strides.empty:
        return None
    fig = new_figure(11, 4.2)
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.4])
    style_axes(ax)
    for lane, side in enumerate(SIDES):
        s = strides[strides["side"] == side]
        for _, row in s.iterrows():
            ax.barh(
                lane,
                row["end"] - row["ic"],
                left=row["ic"],
                height=0.6,
                color=ACTIVITY_COLOURS.get(row["activity"], "#999999"),
                edgecolor="white",
                lw=0.5,
            )
        bad = s[s["quality"] != "ok"]
        if len(bad):
            ax.plot(
                0.5 * (bad["ic"] + bad["end"]),
                np.full(len(bad), lane),
                "x",
                color=FLAG_COLOUR,
                ms=6,
            )
        style_axes(ax2)
        # break the line between walking bouts (a stride that does not start where the previous one ended)
        x = s["ic"].to_numpy(dtype=float)
        y = s["stride_length"].to_numpy(dtype=float)
        gap = np.flatnonzero(np.abs(x[1:] - s["end"].to_numpy(dtype=float)[:-1]) > 0.005) + 1
        x, y = np.insert(x, gap, np.nan), np.insert(y, gap, np.nan)
        ax2.plot(x, y, "o-", ms=3, lw=1, color=SIDE_COLOURS[side], label=f"{side} foot")
    ax.set_yticks([0, 1], ["left", "right"])
    ax.set_ylim(-0.6, 1.6)
    ax.set_title("Strides by activity (x = flagged, see quality)", fontsize=10)
    ax2.set_ylabel("stride length (m)")
    ax2.set_xlabel("session time (s)")
    ax2.legend(frameon=False, fontsize=8, loc="lower right")
    acts = [a for a in ACTIVITY_COLOURS if a in set(strides["activity"])]
    handles = [Patch(color=ACTIVITY_COLOURS[a], label=ACTIVITY_LABELS[a]) for a in acts]
    handles.append(Line2D([], [], marker="x", ls="", color=FLAG_COLOUR, label="flagged"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    fig.suptitle("Session timeline", fontsize=12)
    return fig


def write_foot_figures(analysis, out_dir: Path) -> list[Path]:
    """Save eversion_curves.png, stride_parameters.png and timeline.png (those with data); returns the paths."""
    out = []
    for name, fig in (
        ("eversion_curves.png", eversion_curves_figure(analysis.strides, analysis.curves)),
        ("stride_parameters.png", stride_parameters_figure(analysis.strides)),
        ("timeline.png", timeline_figure(analysis.strides)),
    ):
        if fig is not None:
            out.append(save_figure(fig, Path(out_dir) / name))
    return out
