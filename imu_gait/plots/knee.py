"""Knee and pelvis figures: knee flexion / abduction curves per side and activity (mean +/- SD), pelvic drop
per stride, and the squat / step-down repetitions.

Each ``*_figure`` takes DataFrames of an analysis (strides.csv, curves.csv, squats.csv columns) and returns a
matplotlib Figure, or None when there is nothing to draw; :func:`write_knee_figures` saves them.
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
    SIDE_COLOURS,
    new_figure,
    save_figure,
    style_axes,
)

SIDES = ("left", "right")
PANELS = (
    ("knee_flexion", "knee flexion (deg)\n+ flexion", "stride (%)  IC = 0, next IC = 100"),
    (
        "knee_abduction",
        "knee abduction (deg)\n+ valgus / - varus",
        "stance (%)  IC = 0, toe-off = 100",
    ),
)


def _curve_stack(curves: pd.DataFrame, keys: set[tuple[str, int]], side: str) -> np.ndarray:
    rows = []
    for stride, g in curves[curves["side"] == side].groupby("stride"):
        if (side, int(stride)) in keys:
            rows.append(g.sort_values("pct")["value"].to_numpy(dtype=float))
    return np.array(rows)


def knee_curves_figure(strides: pd.DataFrame, curves: pd.DataFrame) -> Figure | None:
    """Knee flexion over the stride and abduction over stance: one row per activity, left and right overlaid
    (mean line, +/- SD band), strides whose quality is not ok left out."""
    kc = curves[curves["variable"].isin(["knee_flexion", "knee_abduction"])]
    if kc.empty or strides.empty:
        return None
    ok = strides if "quality" not in strides else strides[strides["quality"].fillna("ok") == "ok"]
    acts = [a for a in ACTIVITY_COLOURS if a in set(ok["activity"])]
    if not acts:
        return None
    fig = new_figure(10, 3.0 * len(acts) + 0.6)
    axes = fig.subplots(len(acts), 2, squeeze=False, sharex="col")
    pct = np.linspace(0, 100, 101)
    for r, act in enumerate(acts):
        sel = ok[ok["activity"] == act]
        for c, (var, ylabel, xlabel) in enumerate(PANELS):
            ax = axes[r, c]
            style_axes(ax)
            counts = []
            for side in SIDES:
                keys = {(s, int(k)) for s, k in zip(sel["side"], sel["stride"], strict=True)}
                y = _curve_stack(kc[kc["variable"] == var], keys, side)
                counts.append(f"{side[0].upper()} {len(y)}")
                if len(y) == 0:
                    continue
                m = y.mean(axis=0)
                sd = y.std(axis=0, ddof=1) if len(y) > 1 else np.zeros_like(m)
                colour = SIDE_COLOURS[side]
                ax.fill_between(pct, m - sd, m + sd, color=colour, alpha=0.22, lw=0)
                ax.plot(pct, m, color=colour, lw=2.0)
            ax.axhline(0, color="#777777", lw=0.8)
            name = "flexion" if var == "knee_flexion" else "abduction"
            ax.set_title(
                f"{ACTIVITY_LABELS[act]}: knee {name} (n = {', '.join(counts)})", fontsize=10
            )
            ax.set_ylabel(ylabel)
            if r == len(acts) - 1:
                ax.set_xlabel(xlabel)
    handles = [
        Line2D([], [], color=SIDE_COLOURS["left"], lw=2, label="left (mean)"),
        Line2D([], [], color=SIDE_COLOURS["right"], lw=2, label="right (mean)"),
        Patch(color="#444444", alpha=0.22, label="+/- SD"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle("Knee kinematics (Grood & Suntay, relative to standing)", fontsize=12)
    return fig


def pelvic_drop_figure(strides: pd.DataFrame) -> Figure | None:
    """Peak contralateral pelvic drop in each stance, per stride and side, coloured by activity."""
    if "pelvic_drop_peak" not in strides or strides["pelvic_drop_peak"].notna().sum() == 0:
        return None
    fig = new_figure(10, 3.4)
    ax = fig.subplots()
    style_axes(ax)
    d = strides[strides["pelvic_drop_peak"].notna()]
    for side, marker in (("left", "o"), ("right", "s")):
        s = d[d["side"] == side]
        colours = [ACTIVITY_COLOURS.get(a, ACTIVITY_COLOURS["other"]) for a in s["activity"]]
        ax.scatter(s["ic"], s["pelvic_drop_peak"], c=colours, marker=marker, s=22, edgecolor="none")
        if len(s):
            ax.axhline(
                s["pelvic_drop_peak"].median(), color=SIDE_COLOURS[side], lw=1.2, ls="--", alpha=0.8
            )
    ax.axhline(0, color="#777777", lw=0.8)
    ax.set_xlabel("time of initial contact (s)")
    ax.set_ylabel("peak pelvic drop (deg)\n+ opposite side lower")
    handles = [
        Line2D([], [], marker="o", ls="", color="#444444", label="left stance"),
        Line2D([], [], marker="s", ls="", color="#444444", label="right stance"),
        Line2D([], [], color=SIDE_COLOURS["left"], ls="--", label="left median"),
        Line2D([], [], color=SIDE_COLOURS["right"], ls="--", label="right median"),
    ]
    acts = [a for a in ACTIVITY_COLOURS if a in set(d["activity"])]
    handles += [Patch(color=ACTIVITY_COLOURS[a], label=ACTIVITY_LABELS[a]) for a in acts]
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=8)
    fig.suptitle("Contralateral pelvic drop in stance", fontsize=12)
    return fig


TASK_TITLES = {
    "squat": "single-leg squat",
    "step_down": "step-down",
    "single_leg": "unmarked squat or step-down",
}


def squats_figure(squats: pd.DataFrame) -> Figure | None:
    """Per repetition: peak knee flexion and peak abduction (valgus) with its frontal excursion, per task and
    side."""
    if squats is None or squats.empty:
        return None
    groups = list(squats.groupby(["task", "side"], sort=True))
    fig = new_figure(10, 2.8 * len(groups) + 0.6)
    axes = fig.subplots(len(groups), 2, squeeze=False)
    for r, ((task, side), g) in enumerate(groups):
        reps = g["rep"].to_numpy() + 1
        colour = SIDE_COLOURS.get(side, "#444444")
        ax = axes[r, 0]
        style_axes(ax)
        ax.bar(reps, g["knee_flexion_peak"], color=colour, alpha=0.8)
        ax.set_ylabel("peak flexion (deg)")
        name = TASK_TITLES.get(task, task.replace("_", " "))
        ax.set_title(f"{name}, {side} leg: depth", fontsize=10)
        ax = axes[r, 1]
        style_axes(ax)
        ax.bar(reps - 0.18, g["knee_abduction_peak"], width=0.36, color=colour, label="peak valgus")
        ax.bar(
            reps + 0.18,
            g["knee_frontal_excursion"],
            width=0.36,
            color=colour,
            alpha=0.45,
            label="frontal excursion",
        )
        ax.axhline(0, color="#777777", lw=0.8)
        ax.set_ylabel("abduction (deg)\n+ valgus")
        ax.set_title(f"{name}, {side} leg: frontal plane", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
        for a in axes[r]:
            a.set_xticks(reps)
            a.set_xlabel("repetition")
    fig.suptitle("Single-leg squat / step-down repetitions", fontsize=12)
    return fig


def write_knee_figures(analysis, out_dir: Path) -> list[Path]:
    """Save knee_curves.png, pelvic_drop.png and squats.png (those with data); returns the paths."""
    out = []
    for name, fig in (
        ("knee_curves.png", knee_curves_figure(analysis.strides, analysis.curves)),
        ("pelvic_drop.png", pelvic_drop_figure(analysis.strides)),
        ("squats.png", squats_figure(analysis.squats)),
    ):
        if fig is not None:
            out.append(save_figure(fig, Path(out_dir) / name))
    return out
