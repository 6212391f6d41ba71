"""Pre/post figures: curves with SPM regions, per-stride distributions, left/right panel, patient summary.

Each function takes a :class:`~imu_gait.compare.Comparison` and returns a matplotlib ``Figure`` built without
pyplot (no global state; Agg canvas), or None when there is nothing to draw. Colours are colour-blind safe
(Okabe-Ito): pre blue, post orange.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from imu_gait.compare.core import Comparison
from imu_gait.compare.metrics import ACTIVITY_LABELS, CURVE_VARIABLES, SIDES, metric_info
from imu_gait.plots.style import new_figure, style_axes

PRE = "#0072B2"
POST = "#E69F00"
SPM_SHADE = "#CC79A7"
GOOD = "#009E73"
NEUTRAL = "#6b6b6b"
BAD = "#D55E00"
MDC_SHADE = "#d9d9d9"

_RC = {"font.size": 10, "axes.spines.top": False, "axes.spines.right": False}


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def curves_figure(cmp: Comparison, activity: str) -> Figure | None:
    """Mean +/- SD of eversion and knee abduction over % stance, pre vs post, one column per side; the regions
    where SPM finds a difference (two-sample t, RFT-corrected, alpha 0.05) are shaded and labelled."""
    ccs = [c for c in cmp.curves if c.activity == activity]
    if not ccs:
        return None
    variables = [v for v in CURVE_VARIABLES if any(c.variable == v for c in ccs)]
    fig = new_figure(10, 3.3 * len(variables))
    axes = fig.subplots(len(variables), 2, squeeze=False, sharex=True)
    x = np.arange(101)
    for i, var in enumerate(variables):
        for j, side in enumerate(SIDES):
            ax = axes[i][j]
            style_axes(ax)
            cc = next((c for c in ccs if c.variable == var and c.side == side), None)
            if cc is None:
                ax.text(
                    0.5,
                    0.5,
                    "no data",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color=NEUTRAL,
                )
                continue
            for data, colour, name in ((cc.pre, PRE, "pre"), (cc.post, POST, "post")):
                m, s = np.nanmean(data, axis=0), np.nanstd(data, axis=0, ddof=1)
                ax.fill_between(x, m - s, m + s, color=colour, alpha=0.18, linewidth=0)
                ax.plot(x, m, color=colour, linewidth=2.2, label=f"{name} (n={len(data)})")
            if cc.spm is not None:
                for c in cc.spm.clusters:
                    ax.axvspan(c.start, c.end, color=SPM_SHADE, alpha=0.22, linewidth=0)
                    if c.end - c.start < 6:  # too narrow to label legibly; the shading says it
                        continue
                    p = "p<0.001" if c.p < 0.001 else f"p={c.p:.3f}"
                    ax.text(
                        min(max((c.start + c.end) / 2, 6), 94),
                        0.97,
                        f"differs\n{p}",
                        transform=ax.get_xaxis_transform(),
                        ha="center",
                        va="top",
                        fontsize=8,
                        color="#8a2f6b",
                    )
            if cc.spm is None and cc.note:
                ax.text(
                    0.99,
                    0.97,
                    cc.note,
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=8,
                    color=NEUTRAL,
                )
            ax.axhline(0, color="#999999", linewidth=0.8)
            ax.set_title(f"{side} {var.replace('_', ' ')}", fontsize=11, loc="left")
            if j == 0:
                ax.set_ylabel(CURVE_VARIABLES[var])
            ax.legend(loc="lower left", fontsize=8, frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("% of stance (initial contact to toe-off)")
        ax.set_xlim(0, 100)
    fig.suptitle(
        f"{ACTIVITY_LABELS.get(activity, activity).capitalize()}: mean ± SD, pre vs post "
        "(shaded: SPM difference)",
        fontsize=12,
    )
    return fig


def distributions_figure(
    cmp: Comparison, activity: str, metrics: list[str] | None = None
) -> Figure | None:
    """Per-stride values pre vs post (box + points) per metric and side; the grey band is pre mean +/- MDC95,
    the change a session mean must exceed to be detectable."""
    v = cmp.values[cmp.values["activity"] == activity]
    if not len(v):
        return None
    t = cmp.table[cmp.table["activity"] == activity]
    if metrics is None:
        metrics = list(dict.fromkeys(t.loc[t["role"].isin(["primary", "task"]), "metric"]))
    metrics = [m for m in metrics if m in set(v["metric"])]
    if not metrics:
        return None
    ncol = min(3, len(metrics))
    nrow = int(np.ceil(len(metrics) / ncol))
    fig = new_figure(3.6 * ncol, 3.3 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    rng = np.random.default_rng(0)
    for ax, metric in zip(axes, metrics, strict=False):
        style_axes(ax)
        info = metric_info(activity, metric)
        pos, ticks = 0.0, []
        for side in SIDES:
            row = t[(t["side"] == side) & (t["metric"] == metric)]
            if row.empty:
                continue
            r = row.iloc[0]
            if np.isfinite(r["mdc95"]):
                ax.fill_between(
                    [pos - 0.4, pos + 1.4],
                    r["mean_pre"] - r["mdc95"],
                    r["mean_pre"] + r["mdc95"],
                    color=MDC_SHADE,
                    alpha=0.7,
                    linewidth=0,
                )
            for k, (cond, colour) in enumerate((("pre", PRE), ("post", POST))):
                y = v[(v["side"] == side) & (v["metric"] == metric) & (v["condition"] == cond)][
                    "value"
                ]
                y = y.to_numpy(float)
                if not y.size:
                    continue
                xpos = pos + k
                ax.boxplot(
                    y,
                    positions=[xpos],
                    widths=0.55,
                    showfliers=False,
                    patch_artist=True,
                    boxprops={"facecolor": "white", "edgecolor": colour, "linewidth": 1.5},
                    medianprops={"color": colour, "linewidth": 2},
                    whiskerprops={"color": colour},
                    capprops={"color": colour},
                )
                ax.scatter(
                    xpos + rng.uniform(-0.18, 0.18, y.size),
                    y,
                    s=9,
                    color=colour,
                    alpha=0.55,
                    linewidths=0,
                    zorder=3,
                )
            ticks += [(pos, f"{side}\npre"), (pos + 1, f"{side}\npost")]
            pos += 2.6
        ax.set_xticks([p for p, _ in ticks], [lab for _, lab in ticks], fontsize=8)
        ax.set_title(info.label, fontsize=10, loc="left")
        ax.set_ylabel(info.unit)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{ACTIVITY_LABELS.get(activity, activity).capitalize()}: every stride, pre vs post "
        "(grey band: pre mean ± MDC95)",
        fontsize=12,
    )
    return fig


def symmetry_figure(cmp: Comparison, activity: str) -> Figure | None:
    """Left vs right condition means of the primary outcomes, pre and post, with the asymmetry written out
    (SI in % for positive quantities, left - right in units for signed angles)."""
    s = cmp.symmetry
    if not len(s):
        return None
    s = s[s["activity"] == activity]
    metrics = [
        m
        for m in dict.fromkeys(s["metric"])
        if metric_info(activity, m).role in ("primary", "task")
    ]
    if not metrics:
        return None
    ncol = min(3, len(metrics))
    nrow = int(np.ceil(len(metrics) / ncol))
    fig = new_figure(3.6 * ncol, 3.4 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    for ax, metric in zip(axes, metrics, strict=False):
        style_axes(ax)
        info = metric_info(activity, metric)
        sm = s[s["metric"] == metric].set_index("condition")
        for k, cond in enumerate(("pre", "post")):
            if cond not in sm.index:
                continue
            r = sm.loc[cond]
            colour = PRE if cond == "pre" else POST
            ax.bar(
                [k * 3, k * 3 + 1],
                [r["left"], r["right"]],
                color=colour,
                alpha=0.9,
                width=0.8,
                edgecolor="white",
            )
            ax.bar(
                [k * 3 + 1],
                [r["right"]],
                color=colour,
                alpha=0.5,
                width=0.8,
                hatch="//",
                edgecolor="white",
            )
            text = (
                f"SI {r['si_percent']:+.0f}%"
                if np.isfinite(r["si_percent"])
                else f"L−R {r['diff_left_minus_right']:+.1f} {pretty_unit(info.unit)}"
            )
            ax.text(
                k * 3 + 0.5,
                1.0,
                text,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks([0, 1, 3, 4], ["pre\nL", "pre\nR", "post\nL", "post\nR"], fontsize=8)
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.set_title(info.label, fontsize=9, loc="left", pad=14)
        ax.set_ylabel(info.unit)
    fig.suptitle(
        f"{ACTIVITY_LABELS.get(activity, activity).capitalize()}: left vs right", fontsize=12
    )
    return fig


def summary_figure(cmp: Comparison, activity: str | None = None) -> Figure | None:
    """One page for the patient: per primary outcome, before -> after for each side, the change with its 95% CI
    against the detectable-change band, and a word: improved / no detectable change."""
    t = cmp.table
    if not len(t):
        return None
    if activity is None:
        present = list(dict.fromkeys(t["activity"]))
        activity = "walk" if "walk" in present else present[0]
    rows = t[(t["activity"] == activity) & (t["role"] == "primary")]
    metrics = list(dict.fromkeys(rows["metric"]))[:5]
    if not metrics:
        return None
    n = len(metrics)
    fig = new_figure(12.0, 1.5 * n + 1.6)
    gs = fig.add_gridspec(n, 4, width_ratios=[1.25, 1.05, 0.95, 1.0])
    subject = next((str(i.meta.get("subject")) for i in cmp.pre if i.meta.get("subject")), "")
    title = f"What changed — {ACTIVITY_LABELS.get(activity, activity)}"
    fig.suptitle(title + (f" — {subject}" if subject else ""), fontsize=17, fontweight="bold")
    for i, metric in enumerate(metrics):
        info = metric_info(activity, metric)
        ax_txt = fig.add_subplot(gs[i, 0])
        ax_txt.axis("off")
        ax_txt.text(
            0,
            0.62,
            info.label.replace(" (calibration-dependent)", ""),
            fontsize=13,
            fontweight="bold",
            va="center",
        )
        ax_txt.text(0, 0.22, _plain_hint(metric), fontsize=9.5, color=NEUTRAL, va="center")
        ax_val = fig.add_subplot(gs[i, 1])
        ax_val.axis("off")
        ax_word = fig.add_subplot(gs[i, 2])
        ax_word.axis("off")
        ax_ci = fig.add_subplot(gs[i, 3])
        mrows = rows[rows["metric"] == metric]
        digits = 0 if mrows["mean_pre"].abs().max() >= 50 else 1
        unit = pretty_unit(info.unit)
        for k, side in enumerate(SIDES):
            r = rows[(rows["metric"] == metric) & (rows["side"] == side)]
            y = 0.75 - 0.5 * k
            if r.empty:
                ax_val.text(
                    0,
                    y,
                    f"{side.capitalize()}: not measured",
                    fontsize=11,
                    color=NEUTRAL,
                    va="center",
                )
                continue
            r = r.iloc[0]
            word, colour, arrow = _word(r)
            ax_val.text(
                0,
                y,
                f"{side.capitalize():5s} {fmt(r['mean_pre'], digits)} → "
                f"{fmt(r['mean_post'], digits)}{'' if unit.startswith('°') else ' '}{unit}",
                fontsize=12,
                va="center",
                family="DejaVu Sans Mono",
            )
            ax_word.text(
                0.02,
                y,
                f"{arrow} {word}",
                fontsize=12,
                va="center",
                color=colour,
                fontweight="bold",
            )
            _ci_row(ax_ci, k, r, colour)
        ax_ci.set_yticks([0, 1], [s.capitalize() for s in SIDES], fontsize=9)
        ax_ci.set_ylim(1.6, -0.6)
        ax_ci.axvline(0, color="#333333", linewidth=1)
        ax_ci.tick_params(axis="x", labelsize=8)
        for sp in ("top", "right", "left"):
            ax_ci.spines[sp].set_visible(False)
        if i == 0:
            ax_ci.set_title("change after − before, 95% CI", fontsize=9)
        # the unit under each row's own axis (a title would sit just below the row above and be misread)
        ax_ci.set_xlabel(unit, fontsize=8, color=NEUTRAL, labelpad=1)
    fig.supxlabel(
        "Grey band: a change this small cannot be told apart from measurement noise (MDC95). "
        "Before → after are session means.",
        fontsize=9,
        color=NEUTRAL,
    )
    return fig


def pretty_unit(unit: str) -> str:
    """Units as printed for people: degrees as the ° sign."""
    return {"deg": "°", "deg/s": "°/s"}.get(unit, unit)


def fmt(x: float, digits: int = 1) -> str:
    """A number with ``digits`` decimals, without a minus sign on zero."""
    if not np.isfinite(x):
        return "–"
    out = f"{x:.{digits}f}"
    return out[1:] if out.startswith("-") and float(out) == 0 else out


def _ci_row(ax, k: int, r: pd.Series, colour: str) -> None:
    mdc = r["mdc95"]
    if np.isfinite(mdc):
        ax.fill_betweenx([k - 0.35, k + 0.35], -mdc, mdc, color=MDC_SHADE, linewidth=0)
    if np.isfinite(r["ci_low"]):
        ax.plot(
            [r["ci_low"], r["ci_high"]], [k, k], color=colour, linewidth=3, solid_capstyle="round"
        )
    ax.plot([r["diff"]], [k], "o", color=colour, markersize=8)
    lim = np.nanmax(np.abs([r["ci_low"], r["ci_high"], mdc, *ax.get_xlim()])) * 1.1
    ax.set_xlim(-lim, lim)


def _word(r: pd.Series) -> tuple[str, str, str]:
    d = r["direction"]
    if r["verdict"].startswith("too few"):
        return r["verdict"], NEUTRAL, "·"
    if d == "improved":
        return "improved", GOOD, "↓" if r["diff"] < 0 else "↑"
    if d == "no detectable change":
        return "no detectable change", NEUTRAL, "="
    if d == "moved away from the aim":
        return "changed, not as hoped", BAD, "↑" if r["diff"] > 0 else "↓"
    return d, NEUTRAL, "↑" if r["diff"] > 0 else "↓"


def _plain_hint(metric: str) -> str:
    return {
        "eversion_excursion": "how far the foot rolls inward after landing",
        "eversion_velocity_peak": "how fast the foot rolls inward",
        "knee_frontal_excursion": "how far the knee moves inward during the step",
        "knee_abduction_peak": "the most the knee angles inward (valgus)",
        "pelvic_drop_peak": "how much the hip drops on the other side",
    }.get(metric, "")
