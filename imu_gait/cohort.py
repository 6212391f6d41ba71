"""Group-level pre/post statistics over many subjects (a cohort), from stride tables of many sessions.

Input: one stride table with ``subject, condition, session, side, activity, quality`` and metric columns (what
``imu-gait batch`` writes; :func:`load_cohort` reads it), and optionally the squat/step-down repetitions
(``subject, condition, session, side, task`` and squats.csv metrics; their task is their activity). For every
side x activity x metric:

- each subject's mean per condition (mean of its session means, ok strides only) and the paired change
  post - pre across subjects: mean, SD, 95% CI (t, n - 1 df) and paired t-test p, and a bootstrap CI that
  resamples subjects;
- effect size: Cohen's d_z (mean change / SD of changes) and its Hedges small-sample correction;
- a linear mixed model on the stride-level values (strides within visits within subjects);
- each subject's own MDC95 from their stride noise (and a day-to-day SD when known), and the share of subjects
  whose own change exceeds it (split into the programme's aimed direction and the other).

The statistics of one comparison (bootstrap, MDC, Holm) come from :mod:`imu_gait.compare.stats`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from imu_gait.compare import stats
from imu_gait.compare.metrics import METRICS, SQUAT_METRICS, TASKS, metric_info

TABLE_COLUMNS = (
    "side",
    "activity",
    "metric",
    "label",
    "unit",
    "role",
    "n_subjects",
    "n_strides",
    "mean_pre",
    "mean_post",
    "diff",
    "sd_diff",
    "ci_low",
    "ci_high",
    "boot_ci_low",
    "boot_ci_high",
    "t",
    "p",
    "p_holm",
    "dz",
    "gz",
    "lmm_estimate",
    "lmm_se",
    "lmm_ci_low",
    "lmm_ci_high",
    "lmm_p",
    "lmm_sd_subject",
    "lmm_sd_response",
    "lmm_sd_visit",
    "lmm_sd_stride",
    "lmm_note",
    "mdc95_median",
    "mdc_basis",
    "n_beyond_mdc",
    "share_beyond_mdc",
    "n_decreased_beyond_mdc",
    "n_increased_beyond_mdc",
    "n_improved_beyond_mdc",
    "n_worsened_beyond_mdc",
    "verdict",
)
SUBJECT_COLUMNS = (
    "side",
    "activity",
    "metric",
    "subject",
    "n_pre",
    "n_post",
    "sessions_pre",
    "sessions_post",
    "mean_pre",
    "mean_post",
    "change",
    "mdc95",
    "beyond_mdc",
)
VERDICT_CHANGED = "group change (95% CI excludes 0)"
VERDICT_NONE = "no group change detected"
VERDICT_TOO_FEW = "too few subjects"


@dataclass
class CohortSettings:
    """Knobs of a cohort comparison. ``pre``/``post``: condition labels; ``min_strides``: ok strides a subject
    needs in each condition (``min_reps``: repetitions of a squat/step-down task); ``between_session_sd``: known day-to-day SD per metric (its units) for the MDC;
    ``mixed_model``: fit the stride-level mixed model (slower)."""

    pre: str = "pre"
    post: str = "post"
    metrics: tuple[str, ...] | None = None
    min_strides: int = 10
    min_reps: int = 3
    min_subjects: int = 3
    n_boot: int = 2000
    seed: int = 0
    level: float = 0.95
    mixed_model: bool = True
    between_session_sd: dict[str, float] = field(default_factory=dict)


@dataclass
class CohortComparison:
    """``table``: one row per side/activity/metric (cohort_comparison.csv); ``subjects``: one row per subject in
    each of them (cohort_subjects.csv); ``warnings``: what could not be done."""

    table: pd.DataFrame
    subjects: pd.DataFrame
    warnings: list[str]
    settings: CohortSettings


# --- statistics on arrays -----------------------------------------------------------------------------------------


def cohen_dz(change: np.ndarray) -> float:
    """Cohen's d_z = mean / SD of paired changes (Cohen 1988; Lakens 2013, Front Psychol 4:863). NaN if undefined."""
    d = _finite(change)
    if d.size < 2 or d.std(ddof=1) == 0:
        return float("nan")
    return float(d.mean() / d.std(ddof=1))


def hedges_correction(df: float) -> float:
    """Hedges' small-sample bias correction J(df) = 1 - 3 / (4 df - 1) (Hedges 1981, J Educ Stat 6:107);
    for d_z, df = n - 1."""
    return float(1.0 - 3.0 / (4.0 * df - 1.0)) if df > 0.25 else float("nan")


def paired_change(change: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean paired change with its t-based CI (n - 1 df), the one-sample t-test against 0 (two-sided), SD,
    Cohen's d_z and the Hedges-corrected g_z."""
    d = _finite(change)
    n = d.size
    out = dict.fromkeys(
        ("diff", "sd_diff", "ci_low", "ci_high", "t", "p", "dz", "gz"), float("nan")
    )
    if n == 0:
        return out
    out["diff"] = float(d.mean())
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    se = sd / np.sqrt(n)
    q = float(sps.t.ppf(0.5 + level / 2.0, n - 1))
    out.update(sd_diff=sd, ci_low=out["diff"] - q * se, ci_high=out["diff"] + q * se)
    if se > 0:
        t = out["diff"] / se
        out.update(t=t, p=float(2.0 * sps.t.sf(abs(t), n - 1)))
    out["dz"] = cohen_dz(d)
    out["gz"] = out["dz"] * hedges_correction(n - 1)
    return out


def bootstrap_change_ci(
    change: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Bootstrap CI of the mean change, resampling subjects (their changes) with replacement; uses
    :func:`imu_gait.compare.stats.hierarchical_bootstrap_means` with the subjects as the one level resampled
    (its sqrt(n / (n - 1)) inflation removes the plain bootstrap's variance shrinkage). The percentile interval
    is expanded about the mean by t(n - 1) / z quantiles (Hesterberg 2015, Am Stat 69:371), as
    :func:`imu_gait.compare.stats.bootstrap_diff_ci` does: a plain percentile interval has z, not t, tails and
    rejects too often with 30 subjects (measured in ``benchmarks/bench_cohort.py``)."""
    d = _finite(change)
    if d.size < 2:
        return float("nan"), float("nan")
    boot = stats.hierarchical_bootstrap_means([d], n_boot, np.random.default_rng(seed))
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(boot, [tail, 100.0 - tail])
    est = float(d.mean())
    factor = float(sps.t.ppf(0.5 + level / 2.0, d.size - 1) / sps.norm.ppf(0.5 + level / 2.0))
    return float(est + (lo - est) * factor), float(est + (hi - est) * factor)


def mixed_model_change(
    values: pd.DataFrame, pre: str = "pre", post: str = "post", level: float = 0.95
) -> dict[str, Any]:
    """Linear mixed model of stride values: ``value ~ post`` with a random intercept per subject and a random
    intercept per visit (subject x condition), fitted by REML (statsmodels MixedLM; Lindstrom & Bates 1988).

    ``values``: columns subject, condition, value and optionally session (a visit; default: one visit per
    subject and condition). The visit term matters: strides of one visit share its mounting and day, so a model
    with a subject intercept alone would treat them as independent and claim changes that are day-to-day noise.
    With several visits per condition a random slope of the condition per subject (the subject's own response)
    is added. Inference on the fixed effect uses t with n_subjects - 1 df (exact for
    the balanced two-condition design, where the model's estimate equals the paired mean change; a
    Kenward-Roger-like small-sample choice instead of the normal approximation statsmodels prints).
    """
    nan = float("nan")
    out: dict[str, Any] = {
        "lmm_estimate": nan,
        "lmm_se": nan,
        "lmm_ci_low": nan,
        "lmm_ci_high": nan,
        "lmm_p": nan,
        "lmm_sd_subject": nan,
        "lmm_sd_response": nan,
        "lmm_sd_visit": nan,
        "lmm_sd_stride": nan,
        "lmm_note": "",
    }
    try:
        from statsmodels.regression.mixed_linear_model import MixedLM
    except ImportError:
        out["lmm_note"] = "statsmodels not installed (extra 'cohort')"
        return out
    df = values[values["condition"].isin([pre, post])].dropna(subset=["value"])
    df = pd.DataFrame(
        {
            "value": df["value"].to_numpy(float),
            "post": (df["condition"] == post).to_numpy(float),
            "subject": df["subject"].astype(str).to_numpy(),
            "condition": df["condition"].astype(str).to_numpy(),
            "visit": (df["session"] if "session" in df.columns else df["condition"])
            .astype(str)
            .to_numpy(),
        }
    )
    n_sub = df["subject"].nunique()
    if n_sub < 3 or df["post"].nunique() < 2:
        out["lmm_note"] = "too few subjects"
        return out
    # centre and scale for a well-conditioned fit; results are scaled back
    mu, scale = float(df["value"].mean()), float(df["value"].std()) or 1.0
    df["y"] = (df["value"] - mu) / scale
    # several visits per condition: each subject's own response (a random slope of post) becomes identifiable
    slope = bool(df.groupby(["subject", "condition"])["visit"].nunique().max() > 1)
    model = MixedLM.from_formula(
        "y ~ post",
        groups="subject",
        re_formula="~post" if slope else "1",
        vc_formula={"visit": "0 + C(visit)"},
        data=df,
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = model.fit(reml=True)
    except (np.linalg.LinAlgError, ValueError) as e:
        out["lmm_note"] = f"fit failed: {e}"
        return out
    est, se = float(fit.params["post"]) * scale, float(fit.bse["post"]) * scale
    dof = n_sub - 1
    q = float(sps.t.ppf(0.5 + level / 2.0, dof))
    out.update(
        lmm_estimate=est,
        lmm_se=se,
        lmm_ci_low=est - q * se,
        lmm_ci_high=est + q * se,
        lmm_p=float(2.0 * sps.t.sf(abs(est / se), dof)) if se > 0 else nan,
        # cov_re and vcomp are variances in the units of y (already multiplied by the residual scale)
        lmm_sd_subject=float(np.sqrt(max(fit.cov_re.iloc[0, 0], 0.0))) * scale,
        lmm_sd_response=float(np.sqrt(max(fit.cov_re.iloc[1, 1], 0.0))) * scale if slope else nan,
        lmm_sd_visit=float(np.sqrt(max(fit.vcomp[0], 0.0))) * scale,
        lmm_sd_stride=float(np.sqrt(fit.scale)) * scale,
    )
    notes = []
    if not fit.converged:
        notes.append("not converged")
    if any("boundary" in str(w.message).lower() for w in caught):
        notes.append("a variance at the boundary (0)")
    out["lmm_note"] = "; ".join(notes)
    return out


def _finite(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    return x[np.isfinite(x)]


# --- per subject --------------------------------------------------------------------------------------------------

SessionValues = dict[
    str, dict[str, list[np.ndarray]]
]  # subject -> condition -> one array per session


def session_values(values: pd.DataFrame) -> SessionValues:
    """Group ``values`` (columns subject, condition, session, value) into finite arrays per session, by subject
    and condition (sessions in name order; empty sessions left out)."""
    v = values["value"].to_numpy(float)
    out: SessionValues = {}
    for (subject, condition, _), idx in sorted(
        values.groupby(["subject", "condition", "session"], sort=True).indices.items()
    ):
        x = v[idx]
        x = x[np.isfinite(x)]
        if x.size:
            out.setdefault(str(subject), {}).setdefault(str(condition), []).append(x)
    return out


def subject_changes(
    values: pd.DataFrame | SessionValues,
    settings: CohortSettings,
    sd_between: float,
    min_n: int | None = None,
) -> pd.DataFrame:
    """One row per subject with enough strides in both conditions: condition means (mean of session means),
    stride counts, change post - pre, own MDC95 and whether the change exceeds it.

    ``values``: columns subject, condition, session, value (or :func:`session_values` of them). MDC95 =
    1.96 sqrt(SEM_pre^2 + SEM_post^2) with each SEM from the subject's pooled within-session SD, strides per
    session, session count and ``sd_between`` (NaN: only stride noise; see
    :func:`imu_gait.compare.stats.sem_condition_mean`). ``min_n``: values a subject needs per condition
    (default ``settings.min_strides``).
    """
    grouped = session_values(values) if isinstance(values, pd.DataFrame) else values
    min_n = settings.min_strides if min_n is None else min_n
    rows = []
    for subject, conds in sorted(grouped.items()):
        gpre, gpost = conds.get(settings.pre, []), conds.get(settings.post, [])
        npre, npost = sum(x.size for x in gpre), sum(x.size for x in gpost)
        if npre < min_n or npost < min_n:
            continue
        sems = []
        for groups, n in ((gpre, npre), (gpost, npost)):
            sw = stats.pooled_within_sd(groups)
            sems.append(stats.sem_condition_mean(sw, n / len(groups), len(groups), sd_between))
        m_pre, m_post = stats.condition_mean(gpre), stats.condition_mean(gpost)
        mdc = stats.mdc95(sems[0], sems[1])
        change = m_post - m_pre
        rows.append(
            {
                "subject": subject,
                "n_pre": npre,
                "n_post": npost,
                "sessions_pre": len(gpre),
                "sessions_post": len(gpost),
                "mean_pre": m_pre,
                "mean_post": m_post,
                "change": change,
                "mdc95": mdc,
                "beyond_mdc": bool(np.isfinite(mdc) and abs(change) > mdc),
            }
        )
    return pd.DataFrame(rows, columns=list(SUBJECT_COLUMNS[3:]))


def day_to_day_sd(values: pd.DataFrame | SessionValues) -> float:
    """Day-to-day SD of a metric from subjects with several sessions in one condition (pooled one-way
    random-effects estimate, :func:`imu_gait.compare.stats.between_session_sd`); NaN when nobody has."""
    grouped = session_values(values) if isinstance(values, pd.DataFrame) else values
    by_visit = [g for conds in grouped.values() for g in conds.values() if len(g) >= 2]
    return stats.between_session_sd(by_visit) if by_visit else float("nan")


# --- the comparison -----------------------------------------------------------------------------------------------


def compare_cohort(
    strides: pd.DataFrame,
    settings: CohortSettings | None = None,
    squats: pd.DataFrame | None = None,
) -> CohortComparison:
    """Group pre/post statistics per side, activity and metric (see the module docstring); ``squats``: the
    repetitions of squat/step-down tasks (squats.csv columns + subject, condition, session), compared per task."""
    settings = settings or CohortSettings()
    need = {"subject", "condition", "side", "activity"}
    missing = need - set(strides.columns)
    if missing:
        raise ValueError(f"stride table lacks column(s) {', '.join(sorted(missing))}")
    frames = [strides]
    if squats is not None and len(squats):
        frames.append(squats.rename(columns={"task": "activity"}))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else strides.copy()
    if "session" not in df.columns:
        df["session"] = df["subject"].astype(str) + "/" + df["condition"].astype(str)
    if "quality" in df.columns:
        q = df["quality"].fillna("ok").astype(str).str.strip()
        df = df[q.eq("ok") | q.eq("")]
    df = df[df["condition"].isin([settings.pre, settings.post])]
    rows, subject_tables, notes = [], [], []
    for (side, activity), g in df.groupby(["side", "activity"], sort=True):
        task = activity in TASKS
        candidates = settings.metrics or tuple(SQUAT_METRICS if task else METRICS)
        metrics = [
            m
            for m in candidates
            if m in g.columns and pd.to_numeric(g[m], errors="coerce").notna().any()
        ]
        for metric in metrics:
            values = pd.DataFrame(
                {
                    "subject": g["subject"].astype(str),
                    "condition": g["condition"].astype(str),
                    "session": g["session"].astype(str),
                    "value": pd.to_numeric(g[metric], errors="coerce"),
                }
            ).dropna(subset=["value"])
            if values.empty:
                continue
            min_n = settings.min_reps if task else settings.min_strides
            row, subj = _metric_row(str(side), str(activity), metric, values, settings, min_n)
            rows.append(row)
            if len(subj):
                subject_tables.append(subj.assign(side=side, activity=activity, metric=metric))
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    if len(table):
        primary = (table["role"] == "primary").to_numpy()
        p_holm = np.full(len(table), np.nan)
        p_holm[primary] = stats.holm(table.loc[primary, "p"].to_numpy(float))
        table["p_holm"] = p_holm
    else:
        notes.append(f"no subject has both {settings.pre!r} and {settings.post!r} strides")
    subjects = (
        pd.concat(subject_tables, ignore_index=True)[list(SUBJECT_COLUMNS)]
        if subject_tables
        else pd.DataFrame(columns=list(SUBJECT_COLUMNS))
    )
    few = table[table["verdict"] == VERDICT_TOO_FEW] if len(table) else table
    if len(few):
        notes.append(
            f"{len(few)} side/activity/metric combinations have fewer than {settings.min_subjects} subjects "
            f"with >= {settings.min_strides} ok strides ({settings.min_reps} repetitions) in both conditions"
        )
    return CohortComparison(table, subjects, notes, settings)


def _metric_row(
    side: str,
    activity: str,
    metric: str,
    values: pd.DataFrame,
    settings: CohortSettings,
    min_n: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    info = metric_info(activity, metric)
    grouped = session_values(values)
    sd_between = settings.between_session_sd.get(metric, float("nan"))
    basis = "given day-to-day SD"
    if not np.isfinite(sd_between):
        sd_between = day_to_day_sd(grouped)
        basis = (
            "day-to-day SD from repeated sessions"
            if np.isfinite(sd_between)
            else "stride noise only (no day-to-day SD known: a lower bound)"
        )
    subj = subject_changes(grouped, settings, sd_between, min_n)
    paired = subj["subject"].tolist()
    row: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS, float("nan"))
    row.update(
        side=side,
        activity=activity,
        metric=metric,
        label=info.label,
        unit=info.unit,
        role=info.role,
        n_subjects=len(subj),
        n_strides=int(subj["n_pre"].sum() + subj["n_post"].sum()) if len(subj) else 0,
        mdc_basis=basis,
        lmm_note="",
    )
    if len(subj) < settings.min_subjects:
        row["verdict"] = VERDICT_TOO_FEW
        for k in ("n_beyond_mdc", "n_decreased_beyond_mdc", "n_increased_beyond_mdc"):
            row[k] = 0
        return row, subj
    change = subj["change"].to_numpy(float)
    row.update(mean_pre=float(subj["mean_pre"].mean()), mean_post=float(subj["mean_post"].mean()))
    row.update(paired_change(change, settings.level))
    row["boot_ci_low"], row["boot_ci_high"] = bootstrap_change_ci(
        change, settings.n_boot, settings.seed, settings.level
    )
    if settings.mixed_model:
        row.update(
            mixed_model_change(
                values[values["subject"].isin(paired)], settings.pre, settings.post, settings.level
            )
        )
    beyond = subj["beyond_mdc"].to_numpy(bool)
    down, up = int((beyond & (change < 0)).sum()), int((beyond & (change > 0)).sum())
    # improved/worsened only where the programme aims at a direction (metrics.py: aim)
    improved, worsened = {-1: (down, up), 1: (up, down)}.get(info.aim, (float("nan"), float("nan")))
    row.update(
        mdc95_median=float(subj["mdc95"].median()),
        n_beyond_mdc=int(beyond.sum()),
        share_beyond_mdc=float(beyond.mean()),
        n_decreased_beyond_mdc=down,
        n_increased_beyond_mdc=up,
        n_improved_beyond_mdc=improved,
        n_worsened_beyond_mdc=worsened,
        verdict=VERDICT_CHANGED if row["ci_low"] > 0 or row["ci_high"] < 0 else VERDICT_NONE,
    )
    return row, subj


# --- files --------------------------------------------------------------------------------------------------------


def load_cohort(out_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stride table and the squat repetitions of an ``imu-gait batch`` output folder (subject, condition,
    session + strides.csv / squats.csv columns)."""
    from imu_gait.batch import read_squats, read_strides

    return read_strides(out_dir), read_squats(out_dir)


def write_cohort(cmp: CohortComparison, out_dir: str | Path, *, figures: bool = True) -> list[Path]:
    """cohort_comparison.csv, cohort_subjects.csv and (``figures``) figures/*.png into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("cohort_comparison.csv", cmp.table), ("cohort_subjects.csv", cmp.subjects)):
        df.to_csv(out / name, index=False, float_format="%.6g")
        written.append(out / name)
    if figures:
        from imu_gait.plots.cohort import write_cohort_figures

        written.extend(write_cohort_figures(cmp, out / "figures"))
    return written


# --- simulated cohorts (tests, benchmarks) ------------------------------------------------------------------------


def synthetic_cohort(
    n_subjects: int = 30,
    n_strides: int | tuple[int, int] = 40,
    change: float = 0.0,
    *,
    metric: str = "eversion_excursion",
    mean: float = 6.0,
    sd_subject: float = 2.0,
    sd_visit: float = 0.8,
    sd_response: float = 0.0,
    sd_stride: float = 1.5,
    sides: tuple[str, ...] = ("left", "right"),
    activity: str = "walk",
    sessions: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """A stride table of a simulated pre/post cohort with known truth: value = mean + subject effect (SD
    ``sd_subject``, shared by both conditions and sides) + visit effect (SD ``sd_visit``, per subject, condition
    and side: re-mounting, day) + (post only) ``change`` + a subject's own response deviation (SD
    ``sd_response``) + stride noise (SD ``sd_stride``). ``n_strides``: per visit and side, or a (low, high)
    range drawn per visit. ``sessions`` per subject and condition (each its own visit), named
    ``<subject>/<condition>`` (one) or ``<subject>/<condition>-<k>``."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {
        k: [] for k in ("subject", "condition", "session", "side", "stride", metric)
    }
    for i in range(n_subjects):
        subject = f"c{i + 1:03d}"
        base = mean + rng.normal(0.0, sd_subject)
        response = change + rng.normal(0.0, sd_response)
        for condition, k in ((c, k) for c in ("pre", "post") for k in range(sessions)):
            session = f"{subject}/{condition}" + (f"-{k + 1}" if sessions > 1 else "")
            for side in sides:
                n = (
                    int(rng.integers(n_strides[0], n_strides[1] + 1))
                    if isinstance(n_strides, tuple)
                    else n_strides
                )
                level = (
                    base + rng.normal(0.0, sd_visit) + (response if condition == "post" else 0.0)
                )
                for name, value in (
                    ("subject", subject),
                    ("condition", condition),
                    ("session", session),
                    ("side", side),
                ):
                    cols[name].append(np.full(n, value, dtype=object))
                cols["stride"].append(np.arange(n))
                cols[metric].append(level + rng.normal(0.0, sd_stride, n))
    df = pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()})
    df.insert(5, "activity", activity)
    df["quality"] = "ok"
    return df
