"""``compare(pre, post)``: per side, activity and metric, what changed between two sets of analysed sessions."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imu_gait.compare import stats
from imu_gait.compare.inputs import AnalysisInput, as_input
from imu_gait.compare.metrics import (
    ACTIVITY_LABELS,
    CURVE_VARIABLES,
    GAIT_ACTIVITIES,
    METRICS,
    SIDES,
    SQUAT_METRICS,
    TASKS,
    Metric,
    metric_info,
)
from imu_gait.compare.spm import SpmResult, spm_ttest2

N_NODES = 101
SESSION_LEVEL_MIN = 3  # sessions per condition from which SPM runs on session means
SERIAL_CORR_WARN = 0.3  # lag-1 autocorrelation of strides above which the report warns


@dataclass
class CompareSettings:
    """Knobs of a comparison. ``between_session_sd``: known day-to-day SD per metric (units of the metric),
    used in the MDC when there is only one session per condition."""

    n_boot: int = 2000
    seed: int = 0
    alpha: float = 0.05
    min_strides: int = 10
    min_reps: int = 5
    between_session_sd: dict[str, float] = field(default_factory=dict)


@dataclass
class CurveComparison:
    """Curves of one side/activity/variable: (n, 101) arrays per condition (rows = strides or session means)."""

    side: str
    activity: str
    variable: str
    pre: np.ndarray
    post: np.ndarray
    basis: str
    spm: SpmResult | None
    note: str = ""


@dataclass
class Comparison:
    """Result of :func:`compare`. ``table``: one row per side/activity/metric (comparison.csv); ``spm``: one row
    per SPM test or supra-threshold cluster (spm.csv); ``symmetry``: left/right per activity, metric, condition;
    ``values``: the per-stride values compared (long format); ``curves``: the waveform comparisons."""

    table: pd.DataFrame
    spm: pd.DataFrame
    symmetry: pd.DataFrame
    values: pd.DataFrame
    curves: list[CurveComparison]
    pre: list[AnalysisInput]
    post: list[AnalysisInput]
    warnings: list[str]
    settings: CompareSettings

    @property
    def n_tests(self) -> int:
        """Number of scalar tests with a p value in the table."""
        return int(np.isfinite(self.table["p"]).sum()) if len(self.table) else 0

    @property
    def n_primary_tests(self) -> int:
        """Number of primary-outcome tests (Holm-corrected within each activity)."""
        t = self.table
        return int((np.isfinite(t["p"]) & (t["role"] == "primary")).sum()) if len(t) else 0


def compare(pre: Any, post: Any, settings: CompareSettings | None = None) -> Comparison:
    """Compare pre vs post: each is one analysis (folder path or object with ``.strides`` ...) or a list of them."""
    settings = settings or CompareSettings()
    pre_in = [as_input(x, f"pre{i + 1}") for i, x in enumerate(_as_list(pre))]
    post_in = [as_input(x, f"post{i + 1}") for i, x in enumerate(_as_list(post))]
    if not pre_in or not post_in:
        raise ValueError("compare needs at least one analysis for pre and one for post")
    _unique_names([*pre_in, *post_in])
    values = pd.concat(
        [_long_values(pre_in, "pre"), _long_values(post_in, "post")], ignore_index=True
    )
    excluded = _excluded_counts(pre_in, "pre") | _excluded_counts(post_in, "post")
    table = _scalar_table(values, excluded, settings)
    curves = _curve_comparisons(pre_in, post_in, settings)
    return Comparison(
        table=table,
        spm=_spm_table(curves),
        symmetry=_symmetry_table(values),
        values=values,
        curves=curves,
        pre=pre_in,
        post=post_in,
        warnings=_warnings(pre_in, post_in, table, settings),
        settings=settings,
    )


def _unique_names(inputs: list[AnalysisInput]) -> None:
    """Sessions are told apart by name: give repeated names their parent folder, then a number."""
    seen: set[str] = set()
    for inp in inputs:
        name = inp.name
        if name in seen and inp.meta.get("path"):
            parent = Path(str(inp.meta["path"])).parent.name
            name = f"{parent}/{inp.name}" if parent else name
        base, i = name, 2
        while name in seen:
            name, i = f"{base} ({i})", i + 1
        inp.name = name
        seen.add(name)


def _as_list(x: Any) -> list[Any]:
    if isinstance(x, list | tuple):
        return list(x)
    return [x]


def _ok_rows(df: pd.DataFrame) -> pd.Series:
    if "quality" not in df.columns:
        return pd.Series(True, index=df.index)
    q = df["quality"].fillna("ok").astype(str).str.strip()
    return q.eq("ok") | q.eq("")


def _long_values(inputs: list[AnalysisInput], condition: str) -> pd.DataFrame:
    """Per-stride (and per-repetition) values of every known metric, rows with quality problems left out."""
    parts = []
    for inp in inputs:
        s = inp.strides
        if len(s) and {"side", "activity"} <= set(s.columns):
            s = s[_ok_rows(s) & s["activity"].isin(GAIT_ACTIVITIES) & s["side"].isin(SIDES)]
            if "ic" in s.columns:  # time order within each side, for the serial-correlation check
                s = s.sort_values(["side", "ic"], kind="stable")
            cols = [c for c in METRICS if c in s.columns]
            if cols:
                m = s.melt(id_vars=["side", "activity"], value_vars=cols, var_name="metric")
                parts.append(m.assign(session=inp.name))
        q = inp.squats
        if len(q) and {"side", "task"} <= set(q.columns):
            q = q[_ok_rows(q) & q["task"].isin(TASKS) & q["side"].isin(SIDES)]
            cols = [c for c in SQUAT_METRICS if c in q.columns]
            if cols:
                m = q.rename(columns={"task": "activity"}).melt(
                    id_vars=["side", "activity"], value_vars=cols, var_name="metric"
                )
                parts.append(m.assign(session=inp.name))
    if not parts:
        return pd.DataFrame(columns=["side", "activity", "metric", "value", "session", "condition"])
    out = pd.concat(parts, ignore_index=True)
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    out = out[np.isfinite(out["value"])]
    return out.assign(condition=condition)


def _excluded_counts(inputs: list[AnalysisInput], condition: str) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for inp in inputs:
        s = inp.strides
        if len(s) and {"side", "activity"} <= set(s.columns):
            bad = s[~_ok_rows(s)]
            for (side, act), n in bad.groupby(["side", "activity"]).size().items():
                counts[(condition, side, act)] = counts.get((condition, side, act), 0) + int(n)
    return counts


def _groups(df: pd.DataFrame, sessions: list[str]) -> list[np.ndarray]:
    return [df.loc[df["session"] == s, "value"].to_numpy(float) for s in sessions]


def _scalar_table(values: pd.DataFrame, excluded: dict, st: CompareSettings) -> pd.DataFrame:
    rows = []
    order = {a: i for i, a in enumerate((*GAIT_ACTIVITIES, *TASKS))}
    keys = values[["side", "activity", "metric"]].drop_duplicates()
    metric_order: dict[str, int] = {}
    for m in (*METRICS, *SQUAT_METRICS):
        metric_order.setdefault(m, len(metric_order))
    keys = keys.assign(
        _a=keys["activity"].map(order), _m=keys["metric"].map(metric_order)
    ).sort_values(["_a", "side", "_m"])
    for side, activity, metric in keys[["side", "activity", "metric"]].itertuples(index=False):
        sel = values[
            (values["side"] == side)
            & (values["activity"] == activity)
            & (values["metric"] == metric)
        ]
        rows.append(_scalar_row(sel, side, activity, metric, excluded, st))
    table = pd.DataFrame(rows)
    if len(table):
        primary = table["role"].eq("primary").to_numpy()
        p_holm = np.full(len(table), np.nan)
        # one family per activity: the primary outcomes of both sides answer one clinical question
        for activity in table["activity"].unique():
            fam = primary & table["activity"].eq(activity).to_numpy()
            p_holm[fam] = stats.holm(table.loc[fam, "p"].to_numpy(float))
        table["p_holm_primary"] = p_holm
        # a primary outcome is only called changed if it also survives Holm's correction in its family
        demote = (
            primary & table["verdict"].eq(stats.VERDICT_CHANGED).to_numpy() & ~(p_holm < st.alpha)
        )
        table["verdict_note"] = np.where(demote, "not significant after Holm correction", "")
        table.loc[demote, "verdict"] = stats.VERDICT_NOISE
        table.loc[demote, "direction"] = "no detectable change"
    return table


def _scalar_row(
    sel: pd.DataFrame, side: str, activity: str, metric: str, excluded: dict, st: CompareSettings
) -> dict[str, Any]:
    info = metric_info(activity, metric)
    pre_df, post_df = sel[sel["condition"] == "pre"], sel[sel["condition"] == "post"]
    pre_sessions = list(dict.fromkeys(pre_df["session"]))
    post_sessions = list(dict.fromkeys(post_df["session"]))
    g_pre, g_post = _groups(pre_df, pre_sessions), _groups(post_df, post_sessions)
    a, b = pre_df["value"].to_numpy(float), post_df["value"].to_numpy(float)
    m_pre, m_post = stats.condition_mean(g_pre), stats.condition_mean(g_post)
    diff = m_post - m_pre
    seed = np.random.SeedSequence([st.seed, zlib.crc32(f"{side}|{activity}|{metric}".encode())])
    lo, hi = stats.bootstrap_diff_ci(g_pre, g_post, n_boot=st.n_boot, seed=seed)

    test = stats.pre_post_test(g_pre, g_post)

    sd_w = stats.pooled_within_sd(g_pre + g_post)
    sd_b = stats.between_session_sd([g_pre, g_post])
    sd_b_source = "estimated from sessions"
    if not np.isfinite(sd_b) and metric in st.between_session_sd:
        sd_b, sd_b_source = float(st.between_session_sd[metric]), "given"
    elif not np.isfinite(sd_b):
        sd_b_source = "unknown (single sessions)"
    n_per_pre = a.size / max(len(g_pre), 1)
    n_per_post = b.size / max(len(g_post), 1)
    sem_pre = stats.sem_condition_mean(sd_w, n_per_pre, len(g_pre), sd_b)
    sem_post = stats.sem_condition_mean(sd_w, n_per_post, len(g_post), sd_b)
    mdc = stats.mdc95(sem_pre, sem_post)
    is_task = activity in TASKS
    v = stats.verdict(
        lo,
        hi,
        diff,
        mdc,
        a.size,
        b.size,
        min_n=st.min_reps if is_task else st.min_strides,
        unit_word="repetitions" if is_task else "strides",
    )
    return {
        "side": side,
        "activity": activity,
        "metric": metric,
        "label": info.label,
        "unit": info.unit,
        "role": info.role,
        "n_pre": a.size,
        "n_post": b.size,
        "sessions_pre": len(g_pre),
        "sessions_post": len(g_post),
        "excluded_pre": excluded.get(("pre", side, activity), 0) if not is_task else 0,
        "excluded_post": excluded.get(("post", side, activity), 0) if not is_task else 0,
        "mean_pre": m_pre,
        "sd_pre": _sd(a),
        "mean_post": m_post,
        "sd_post": _sd(b),
        "diff": diff,
        "ci_low": lo,
        "ci_high": hi,
        "hedges_g": stats.hedges_g(a, b),
        "test": test.name,
        "statistic": test.statistic,
        "p": test.p,
        "sd_within": sd_w,
        "sd_between": sd_b,
        "sd_between_source": sd_b_source,
        "sem_pre": sem_pre,
        "sem_post": sem_post,
        "mdc95": mdc,
        "mdc95_stride": stats.mdc95(sd_w),
        "lag1_autocorr": stats.mean_lag1_autocorr(g_pre + g_post),
        "verdict": v,
        "direction": _direction(m_pre, m_post, v, info),
    }


def _direction(pre: float, post: float, v: str, info: Metric) -> str:
    """Plain words for the patient: improved / moved away from the aim / increased / decreased, or no
    detectable change. For a signed angle the programme aims to reduce (valgus, pelvic drop) improvement
    means a smaller magnitude, so that a valgus knee turning into a larger varus is not called improved."""
    if v != stats.VERDICT_CHANGED:
        return "no detectable change"
    diff = post - pre
    if info.aim != 0:
        if info.scale == "signed":
            better = abs(post) < abs(pre)
        else:
            better = np.sign(diff) == np.sign(info.aim)
        return "improved" if better else "moved away from the aim"
    return "increased" if diff > 0 else "decreased"


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if x.size >= 2 else float("nan")


def _curve_matrix(inp: AnalysisInput, side: str, activity: str, variable: str) -> np.ndarray:
    c, s = inp.curves, inp.strides
    if not len(c) or not len(s) or "stride" not in s.columns:
        return np.empty((0, N_NODES))
    ok = s[_ok_rows(s) & (s["side"] == side) & (s["activity"] == activity)]
    c = c[(c["side"] == side) & (c["variable"] == variable) & c["stride"].isin(ok["stride"])]
    if not len(c):
        return np.empty((0, N_NODES))
    wide = c.pivot_table(index="stride", columns="pct", values="value", aggfunc="mean")
    wide = wide.reindex(columns=np.arange(N_NODES))
    return wide.to_numpy(float)


def _curve_comparisons(
    pre: list[AnalysisInput], post: list[AnalysisInput], st: CompareSettings
) -> list[CurveComparison]:
    """SPM of every side/activity/curve present in both conditions, each at the Sidak-corrected
    alpha = 1 - (1 - alpha)^(1/m) so that the m curve tests together keep the family-wise alpha."""
    pending = []
    for activity in GAIT_ACTIVITIES:
        for side in SIDES:
            for variable in CURVE_VARIABLES:
                mp = [
                    m for m in (_curve_matrix(i, side, activity, variable) for i in pre) if len(m)
                ]
                mq = [
                    m for m in (_curve_matrix(i, side, activity, variable) for i in post) if len(m)
                ]
                if not mp or not mq:
                    continue
                if len(mp) >= SESSION_LEVEL_MIN and len(mq) >= SESSION_LEVEL_MIN:
                    a = np.array([np.nanmean(m, axis=0) for m in mp])
                    b = np.array([np.nanmean(m, axis=0) for m in mq])
                    basis = "session means"
                else:
                    a, b = np.vstack(mp), np.vstack(mq)
                    basis = "strides"
                pending.append((side, activity, variable, a, b, basis))
    # curves with fewer strides than the scalar verdicts need are shown but not tested
    testable = [
        p for p in pending if min(len(p[3]), len(p[4])) >= st.min_strides or p[5] != "strides"
    ]
    alpha_each = 1.0 - (1.0 - st.alpha) ** (1.0 / max(len(testable), 1))
    out = []
    for side, activity, variable, a, b, basis in pending:
        if min(len(a), len(b)) < st.min_strides and basis == "strides":
            out.append(
                CurveComparison(
                    side,
                    activity,
                    variable,
                    a,
                    b,
                    basis,
                    None,
                    f"too few strides for SPM (minimum {st.min_strides})",
                )
            )
        else:
            res = spm_ttest2(a, b, alpha=alpha_each)
            note = "" if res is not None else "too few curves or no variance for SPM"
            out.append(CurveComparison(side, activity, variable, a, b, basis, res, note))
    return out


def _spm_table(curves: list[CurveComparison]) -> pd.DataFrame:
    rows = []
    for cc in curves:
        base = {
            "alpha": cc.spm.alpha if cc.spm is not None else np.nan,
            "side": cc.side,
            "activity": cc.activity,
            "variable": cc.variable,
            "basis": cc.basis,
            "n_pre": len(cc.pre),
            "n_post": len(cc.post),
        }
        r = cc.spm
        if r is None:
            rows.append(
                base
                | {
                    "threshold_t": np.nan,
                    "significant": False,
                    "start_pct": np.nan,
                    "end_pct": np.nan,
                    "p": np.nan,
                    "post_vs_pre": "",
                    "note": cc.note,
                }
            )
            continue
        if not r.clusters:
            rows.append(
                base
                | {
                    "threshold_t": r.threshold,
                    "significant": False,
                    "start_pct": np.nan,
                    "end_pct": np.nan,
                    "p": np.nan,
                    "post_vs_pre": "",
                    "note": "",
                }
            )
        for c in r.clusters:
            rows.append(
                base
                | {
                    "threshold_t": r.threshold,
                    "significant": True,
                    "start_pct": c.start,
                    "end_pct": c.end,
                    "p": c.p,
                    "post_vs_pre": "higher" if c.sign > 0 else "lower",
                    "note": "",
                }
            )
    cols = [
        "alpha",
        "side",
        "activity",
        "variable",
        "basis",
        "n_pre",
        "n_post",
        "threshold_t",
        "significant",
        "start_pct",
        "end_pct",
        "p",
        "post_vs_pre",
        "note",
    ]
    return pd.DataFrame(rows, columns=cols)


def _symmetry_table(values: pd.DataFrame) -> pd.DataFrame:
    rows = []
    if not len(values):
        return pd.DataFrame()
    for (activity, metric, condition), g in values.groupby(
        ["activity", "metric", "condition"], sort=False
    ):
        means = {}
        for side in SIDES:
            gs = g[g["side"] == side]
            groups = [
                gs.loc[gs["session"] == s, "value"].to_numpy(float)
                for s in dict.fromkeys(gs["session"])
            ]
            means[side] = stats.condition_mean(groups) if groups else np.nan
        if not (np.isfinite(means["left"]) and np.isfinite(means["right"])):
            continue
        info = metric_info(activity, metric)
        si = (
            stats.symmetry_index(means["left"], means["right"]) if info.scale == "ratio" else np.nan
        )
        rows.append(
            {
                "activity": activity,
                "metric": metric,
                "label": info.label,
                "unit": info.unit,
                "condition": condition,
                "left": means["left"],
                "right": means["right"],
                "diff_left_minus_right": stats.symmetry_difference(means["left"], means["right"]),
                "si_percent": si,
            }
        )
    return pd.DataFrame(rows)


def _find_warnings(obj: Any) -> Iterable[str]:
    """Every string in any ``warnings`` list anywhere in a quality.json structure."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "warnings" and isinstance(v, list):
                for w in v:
                    if isinstance(w, str):
                        yield w
                    elif isinstance(w, dict) and "message" in w:
                        yield str(w["message"])
            else:
                yield from _find_warnings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _find_warnings(v)


def _warnings(
    pre: list[AnalysisInput], post: list[AnalysisInput], table: pd.DataFrame, st: CompareSettings
) -> list[str]:
    out = []
    for cond, inputs in (("pre", pre), ("post", post)):
        for inp in inputs:
            for w in dict.fromkeys(_find_warnings(inp.quality)):
                out.append(f"{cond} session {inp.name}: {w}")
            s = inp.strides
            if len(s) and "quality" in s.columns:
                n_bad = int((~_ok_rows(s)).sum())
                if n_bad:
                    out.append(
                        f"{cond} session {inp.name}: {n_bad} of {len(s)} strides flagged by "
                        "the analysis and left out"
                    )
    subjects = {str(i.meta.get("subject")) for i in (*pre, *post) if i.meta.get("subject")}
    if len(subjects) > 1:
        out.append("the sessions belong to different subjects: " + ", ".join(sorted(subjects)))
    if len(table) and table["sd_between_source"].str.startswith("unknown").any():
        out.append(
            "one session per condition: the detectable change covers stride-to-stride variation "
            "only, not day-to-day differences in sensor placement or calibration pose"
        )
    if len(table) and "lag1_autocorr" in table.columns:
        corr = table[(table["role"] == "primary") & (table["lag1_autocorr"] > SERIAL_CORR_WARN)]
        if len(corr):
            listed = ", ".join(
                f"{r.label.lower()} {r.side} (r1 = {r.lag1_autocorr:.2f})"
                for r in corr.itertuples()
            )
            out.append(
                "consecutive strides are correlated, so the intervals and tests (which treat strides as "
                f"independent) are too optimistic for: {listed}"
            )
    if len(table):
        few = table[table["verdict"].isin([stats.VERDICT_TOO_FEW, stats.VERDICT_TOO_FEW_REPS])]
        groups = few.drop_duplicates(["activity", "side"])
        if len(groups):
            listed = ", ".join(
                f"{ACTIVITY_LABELS.get(a, a)} {sd} ({npre} before, {npost} after)"
                for a, sd, npre, npost in groups[
                    ["activity", "side", "n_pre", "n_post"]
                ].itertuples(index=False)
            )
            out.append(
                f"too few strides or repetitions to judge (minimum {st.min_strides} strides, "
                f"{st.min_reps} repetitions): {listed}"
            )
    return out
