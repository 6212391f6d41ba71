"""Cohort figures: subject means pre -> post (spaghetti plot) and each subject's change against their own MDC95."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from imu_gait.plots.style import ACTIVITY_LABELS, SIDE_COLOURS, new_figure, save_figure, style_axes

IMPROVED, WORSENED, WITHIN = "#009E73", "#D55E00", "#9a9a9a"


def _subject_colours(sub: pd.DataFrame, aim: int) -> list[str]:
    out = []
    for change, beyond in zip(sub["change"], sub["beyond_mdc"], strict=True):
        if not beyond:
            out.append(WITHIN)
        else:
            out.append(
                IMPROVED if np.sign(change) == (aim or -1) else WORSENED
            )  # no aim: down = green
    return out


def _title(row: pd.Series) -> str:
    act = ACTIVITY_LABELS.get(row["activity"], str(row["activity"]))
    return f"{row['label']}, {act}"


def spaghetti_figure(cmp, activity: str, metric: str) -> Figure | None:
    """One panel per side: each subject's mean pre -> post (grey within their MDC95, green/orange beyond it in
    the aimed / other direction), and the group mean with its 95% CI (t) in black."""
    from imu_gait.compare.metrics import metric_info

    rows = cmp.table[(cmp.table["activity"] == activity) & (cmp.table["metric"] == metric)]
    rows = rows[rows["n_subjects"] > 0]
    if rows.empty:
        return None
    aim = metric_info(activity, metric).aim
    fig = new_figure(3.2 * len(rows) + 0.6, 3.8)
    axes = fig.subplots(1, len(rows), sharey=True, squeeze=False)[0]
    for ax, (_, r) in zip(axes, rows.iterrows(), strict=True):
        sub = cmp.subjects[
            (cmp.subjects["activity"] == activity)
            & (cmp.subjects["metric"] == metric)
            & (cmp.subjects["side"] == r["side"])
        ]
        for (_, s), colour in zip(sub.iterrows(), _subject_colours(sub, aim), strict=True):
            ax.plot(
                [0, 1], [s["mean_pre"], s["mean_post"]], "-o", color=colour, lw=1.0, ms=3, alpha=0.8
            )
        if np.isfinite(r["mean_pre"]):
            lo_hi = np.array([r["ci_low"], r["ci_high"]]) - r["diff"]
            ax.plot(
                [0, 1], [r["mean_pre"], r["mean_post"]], "-s", color="black", lw=2.4, ms=6, zorder=5
            )
            ax.errorbar(
                1.08,
                r["mean_post"],
                yerr=[[-lo_hi[0]], [lo_hi[1]]],
                color="black",
                capsize=4,
                lw=1.6,
            )
        ax.set_xticks([0, 1], ["pre", "post"])
        ax.set_xlim(-0.25, 1.3)
        ax.set_title(
            f"{r['side']} (n = {int(r['n_subjects'])})", color=SIDE_COLOURS.get(r["side"], "black")
        )
        style_axes(ax)
    axes[0].set_ylabel(f"subject mean ({rows.iloc[0]['unit']})")
    fig.suptitle(_title(rows.iloc[0]), fontsize=11)
    return fig


def changes_figure(cmp, activity: str, metric: str) -> Figure | None:
    """One panel per side: each subject's change post - pre (dots, sorted), their own ±MDC95 as a grey bar about
    zero, and the group mean change with its 95% CI (t) as a band."""
    from imu_gait.compare.metrics import metric_info

    rows = cmp.table[(cmp.table["activity"] == activity) & (cmp.table["metric"] == metric)]
    rows = rows[rows["n_subjects"] > 0]
    if rows.empty:
        return None
    aim = metric_info(activity, metric).aim
    fig = new_figure(3.6 * len(rows) + 0.6, 3.8)
    axes = fig.subplots(1, len(rows), sharey=True, squeeze=False)[0]
    for ax, (_, r) in zip(axes, rows.iterrows(), strict=True):
        sub = cmp.subjects[
            (cmp.subjects["activity"] == activity)
            & (cmp.subjects["metric"] == metric)
            & (cmp.subjects["side"] == r["side"])
        ].sort_values("change")
        x = np.arange(len(sub))
        mdc = sub["mdc95"].to_numpy(float)
        ax.bar(x, 2 * mdc, bottom=-mdc, width=0.7, color="#e3e3e3", label="±MDC95 (own)")
        ax.scatter(x, sub["change"], c=_subject_colours(sub, aim), s=16, zorder=3)
        ax.axhline(0.0, color="black", lw=0.8)
        if np.isfinite(r["ci_low"]):
            ax.axhspan(
                r["ci_low"], r["ci_high"], color="#56B4E9", alpha=0.3, label="group mean, 95% CI"
            )
            ax.axhline(r["diff"], color="black", lw=1.6)
        share = r["share_beyond_mdc"]
        ax.set_title(
            f"{r['side']}: {int(r['n_beyond_mdc'])}/{int(r['n_subjects'])} beyond MDC"
            + (f" ({share:.0%})" if np.isfinite(share) else ""),
            color=SIDE_COLOURS.get(r["side"], "black"),
            fontsize=10,
        )
        ax.set_xticks([])
        ax.set_xlabel("subjects (sorted by change)")
        style_axes(ax)
    axes[0].set_ylabel(f"change post - pre ({rows.iloc[0]['unit']})")
    axes[0].legend(loc="upper left", fontsize=8, frameon=False)
    fig.suptitle(_title(rows.iloc[0]), fontsize=11)
    return fig


def write_cohort_figures(
    cmp, out_dir: str | Path, roles: tuple[str, ...] = ("primary",)
) -> list[Path]:
    """``cohort_<activity>_<metric>.png`` (spaghetti) and ``cohort_changes_<activity>_<metric>.png`` for every
    metric of the given roles with subjects in both conditions."""
    out = Path(out_dir)
    written = []
    t = cmp.table
    if not len(t):
        return written
    t = t[t["role"].isin(roles) & (t["n_subjects"] > 0)]
    for (activity, metric), _ in t.groupby(["activity", "metric"], sort=True):
        for name, make in (("cohort", spaghetti_figure), ("cohort_changes", changes_figure)):
            fig = make(cmp, activity, metric)
            if fig is not None:
                written.append(save_figure(fig, out / f"{name}_{activity}_{metric}.png"))
    return written
