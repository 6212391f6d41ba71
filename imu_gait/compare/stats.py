"""Pre/post statistics over numpy arrays: effect size, tests, hierarchical bootstrap, MDC, verdict, symmetry.

Every function takes per-stride values of one metric (units of that metric) and knows nothing about files or
DataFrames. "Groups" are lists of 1-D arrays, one array of strides per session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

VERDICT_CHANGED = "changed beyond the detectable change"
VERDICT_NOISE = "within measurement noise"
VERDICT_TOO_FEW = "too few strides"
VERDICT_TOO_FEW_REPS = "too few repetitions"

Z95 = 1.959963984540054


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: ``name`` (which test), ``statistic`` and two-sided ``p``."""

    name: str
    statistic: float
    p: float


def hedges_g(pre: np.ndarray, post: np.ndarray) -> float:
    """Standardised mean difference (post - pre) / pooled SD with Hedges' small-sample correction.

    J = 1 - 3 / (4 (n1 + n2) - 9) (Hedges 1981, J Educ Stat 6:107; Hedges & Olkin 1985). NaN if undefined.
    """
    a, b = _clean(pre), _clean(post)
    n1, n2 = a.size, b.size
    if n1 < 2 or n2 < 2:
        return float("nan")
    sp = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    if sp == 0:
        return float("nan")
    d = (b.mean() - a.mean()) / sp
    return float(d * (1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)))


def welch_test(pre: np.ndarray, post: np.ndarray) -> TestResult:
    """Welch's unequal-variance t-test (Welch 1947, Biometrika 34:28), two-sided; statistic = t of post - pre."""
    a, b = _clean(pre), _clean(post)
    if a.size < 2 or b.size < 2:
        return TestResult("Welch t", float("nan"), float("nan"))
    r = stats.ttest_ind(b, a, equal_var=False)
    return TestResult("Welch t", float(r.statistic), float(r.pvalue))


def mann_whitney_test(pre: np.ndarray, post: np.ndarray) -> TestResult:
    """Mann-Whitney U test (two-sided, asymptotic with tie correction); statistic = U of post."""
    a, b = _clean(pre), _clean(post)
    if a.size < 1 or b.size < 1:
        return TestResult("Mann-Whitney U", float("nan"), float("nan"))
    r = stats.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic")
    return TestResult("Mann-Whitney U", float(r.statistic), float(r.pvalue))


def clearly_non_normal(x: np.ndarray, alpha: float = 0.01, min_n: int = 8) -> bool:
    """True when a Shapiro-Wilk test (Shapiro & Wilk 1965) rejects normality at ``alpha``.

    Below ``min_n`` values the test has no power, so the data are not called non-normal.
    """
    x = _clean(x)
    if x.size < min_n or np.ptp(x) == 0:
        return False
    return bool(stats.shapiro(x).pvalue < alpha)


def choose_test(pre: np.ndarray, post: np.ndarray, alpha_normality: float = 0.01) -> TestResult:
    """Welch t-test, or Mann-Whitney U when either group is clearly non-normal (Shapiro-Wilk p < 0.01).

    A strict normality threshold keeps Welch (robust to moderate non-normality at these n) for ordinary data
    and switches only for clearly skewed or heavy-tailed stride distributions.
    """
    if clearly_non_normal(pre, alpha_normality) or clearly_non_normal(post, alpha_normality):
        return mann_whitney_test(pre, post)
    return welch_test(pre, post)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (Holm 1979, Scand J Stat 6:65); NaNs are left out and kept NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def condition_mean(groups: list[np.ndarray]) -> float:
    """Mean of the session means (each session weighs the same; equals the stride mean for one session)."""
    means = [g.mean() for g in (_clean(g) for g in groups) if g.size]
    return float(np.mean(means)) if means else float("nan")


def hierarchical_bootstrap_means(
    groups: list[np.ndarray], n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap replicates of :func:`condition_mean` by two-stage resampling.

    Stage 1 draws sessions with replacement (when there are several), stage 2 draws strides with replacement
    within each drawn session (Davison & Hinkley 1997, Bootstrap Methods, section 3.8; Saravanan et al. 2020,
    NBDT 3:1, "hierarchical bootstrap"). Within a session the deviations from its mean are inflated by
    sqrt(n / (n - 1)) before resampling, which removes the known (n - 1) / n shrinkage of the plain bootstrap
    variance of a mean, so that percentile intervals are not too narrow at 20-60 strides; session means are
    spread about their grand mean by sqrt(k / (k - 1)) likewise. (The remaining small-df narrowness is handled
    in :func:`bootstrap_diff_ci`.)
    """
    data = [g for g in (_clean(g) for g in groups) if g.size]
    k = len(data)
    if k == 0:
        return np.full(n_boot, np.nan)
    # session means are spread about their grand mean by sqrt(k / (k - 1)) for the same reason as strides
    if k > 1:
        grand = np.mean([x.mean() for x in data])
        c = np.sqrt(k / (k - 1))
        data = [x + (c - 1.0) * (x.mean() - grand) for x in data]
    # resampled session means for every (replicate, slot); a slot takes one session's draw
    slot_means = np.empty((k, n_boot, k))
    for j, x in enumerate(data):
        n = x.size
        m = x.mean()
        xi = m + (x - m) * (np.sqrt(n / (n - 1)) if n > 1 else 1.0)
        idx = rng.integers(0, n, size=(n_boot, k, n))
        slot_means[j] = xi[idx].mean(axis=2)
    if k == 1:
        return slot_means[0, :, 0]
    pick = rng.integers(0, k, size=(n_boot, k))
    rows = np.arange(n_boot)[:, None]
    slots = np.arange(k)[None, :]
    return slot_means[pick, rows, slots].mean(axis=1)


def bootstrap_diff_ci(
    pre_groups: list[np.ndarray],
    post_groups: list[np.ndarray],
    n_boot: int = 2000,
    seed: int | np.random.SeedSequence = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Bootstrap CI of condition_mean(post) - condition_mean(pre), resampling hierarchically.

    Percentile interval, expanded about the estimate by t(df) / z quantiles (in the spirit of Hesterberg's
    expanded percentile interval, Hesterberg 2015, Am Stat 69:371), with df from
    :func:`effective_df`: the percentile interval alone is too narrow when the effective sample is small
    (few sessions). Percentile rather than BCa: BCa's acceleration needs a jackknife, which has no single
    meaning for two-level data, and a difference of means has a near-symmetric bootstrap distribution.
    Coverage is measured by ``benchmarks/bench_compare.py``.
    """
    rng = np.random.default_rng(seed)
    a = hierarchical_bootstrap_means(pre_groups, n_boot, rng)
    b = hierarchical_bootstrap_means(post_groups, n_boot, rng)
    d = b - a
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(d, [tail, 100.0 - tail])
    est = condition_mean(post_groups) - condition_mean(pre_groups)
    df = effective_df(pre_groups, post_groups)
    if np.isfinite(df) and df > 0:
        z = stats.norm.ppf(1.0 - (1.0 - level) / 2.0)
        factor = stats.t.ppf(1.0 - (1.0 - level) / 2.0, df) / z
        lo, hi = est + (lo - est) * factor, est + (hi - est) * factor
    return float(lo), float(hi)


def pre_post_test(pre_groups: list[np.ndarray], post_groups: list[np.ndarray]) -> TestResult:
    """The test of a comparison: with one session per condition :func:`choose_test` on the strides; with
    several sessions in a condition a Welch t in which sessions are the units (:func:`_variance_parts`), since
    strides of one session share its day-to-day error and testing them as independent inflates false
    positives (pseudo-replication)."""
    pre = [x for x in (_clean(g) for g in pre_groups) if x.size]
    post = [x for x in (_clean(g) for g in post_groups) if x.size]
    if len(pre) <= 1 and len(post) <= 1:
        a = pre[0] if pre else np.array([])
        b = post[0] if post else np.array([])
        return choose_test(a, b)
    name = "Welch t (sessions as units)"
    parts = [_variance_parts(pre), _variance_parts(post)]
    if any(p is None for p in parts):
        return TestResult(name, float("nan"), float("nan"))
    var = parts[0][0] + parts[1][0]
    df = (
        var**2 / (parts[0][0] ** 2 / parts[0][1] + parts[1][0] ** 2 / parts[1][1]) if var > 0 else 0
    )
    if var <= 0 or df <= 0:
        return TestResult(name, float("nan"), float("nan"))
    t = (condition_mean(post) - condition_mean(pre)) / np.sqrt(var)
    return TestResult(name, float(t), float(2 * stats.t.sf(abs(t), df)))


def _variance_parts(data: list[np.ndarray]) -> tuple[float, float] | None:
    """(variance of the condition mean, its df): var(session means) / k on k - 1 df with several sessions,
    s^2 / n on n - 1 df with one."""
    if len(data) >= 2:
        means = np.array([x.mean() for x in data])
        return means.var(ddof=1) / len(data), len(data) - 1
    if data and data[0].size >= 2:
        return data[0].var(ddof=1) / data[0].size, data[0].size - 1
    return None


def effective_df(pre_groups: list[np.ndarray], post_groups: list[np.ndarray]) -> float:
    """Welch-Satterthwaite degrees of freedom of the difference of condition means.

    Per condition: with several sessions the variance of its mean is var(session means) / k on k - 1 df
    (conservative: sessions are the independent units); with one session it is s^2 / n on n - 1 df.
    """
    parts = [
        _variance_parts([x for x in (_clean(g) for g in groups) if x.size])
        for groups in (pre_groups, post_groups)
    ]
    if any(p is None for p in parts):
        return float("nan")
    num = sum(v for v, _ in parts) ** 2
    den = sum(v**2 / df for v, df in parts)
    return float(num / den) if den > 0 else float("nan")


def pooled_within_sd(groups: list[np.ndarray]) -> float:
    """Pooled within-session SD: sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1)) over sessions with >= 2 strides."""
    num = den = 0.0
    for g in groups:
        x = _clean(g)
        if x.size >= 2:
            num += (x.size - 1) * x.var(ddof=1)
            den += x.size - 1
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def between_session_sd(groups_by_condition: list[list[np.ndarray]]) -> float:
    """SD of true session means beyond stride noise, from conditions with >= 2 sessions; NaN if none has.

    One-way random-effects estimate per condition: var(session means) - mean(s_i^2 / n_i), clipped at 0,
    pooled over conditions by degrees of freedom.
    """
    num = den = 0.0
    for groups in groups_by_condition:
        data = [x for x in (_clean(g) for g in groups) if x.size >= 2]
        if len(data) < 2:
            continue
        means = np.array([x.mean() for x in data])
        noise = np.mean([x.var(ddof=1) / x.size for x in data])
        num += (len(data) - 1) * max(means.var(ddof=1) - noise, 0.0)
        den += len(data) - 1
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def sem_condition_mean(
    sd_within: float, n_strides: float, n_sessions: int, sd_between: float
) -> float:
    """Standard error of a condition mean made of ``n_sessions`` sessions of ``n_strides`` strides each.

    A session mean of n strides carries stride noise sd_within / sqrt(n) plus the day-to-day (re-mounting,
    calibration) error sd_between; averaging k sessions divides the variance by k. ``sd_between`` NaN = unknown,
    treated as 0 (then this SEM is a lower bound for between-day use).
    """
    sb = 0.0 if not np.isfinite(sd_between) else sd_between
    if n_strides <= 0 or n_sessions <= 0:
        return float("nan")
    return float(np.sqrt((sd_within**2 / n_strides + sb**2) / n_sessions))


def mdc95(sem_pre: float, sem_post: float | None = None) -> float:
    """Minimal detectable change, 95%: 1.96 * sqrt(SEM_pre^2 + SEM_post^2), = 1.96 * sqrt(2) * SEM if equal.

    (MDC95 = 1.96 * sqrt(2) * SEM, e.g. Weir 2005 J Strength Cond Res 19:231; Wilken 2012 Gait Posture 35:301.)
    With the SEM of a single stride (the within-session SD) it is the change one stride must show; with the
    SEM of a session mean it is the change the mean of a session must show.
    """
    if sem_post is None:
        sem_post = sem_pre
    return float(Z95 * np.sqrt(sem_pre**2 + sem_post**2))


def verdict(
    ci_low: float,
    ci_high: float,
    diff: float,
    mdc: float,
    n_pre: int,
    n_post: int,
    min_n: int = 10,
    unit_word: str = "strides",
) -> str:
    """The verdict in words: too few strides, changed beyond the detectable change, or measurement noise.

    Changed = the 95% CI excludes 0 AND |diff| exceeds MDC95 (both the sampling and the measurement criterion).
    """
    if n_pre < min_n or n_post < min_n:
        return VERDICT_TOO_FEW if unit_word == "strides" else VERDICT_TOO_FEW_REPS
    if not (np.isfinite(ci_low) and np.isfinite(ci_high) and np.isfinite(diff)):
        return VERDICT_NOISE
    excludes_zero = ci_low > 0 or ci_high < 0
    beyond_mdc = np.isfinite(mdc) and abs(diff) > mdc
    return VERDICT_CHANGED if (excludes_zero and beyond_mdc) else VERDICT_NOISE


def mean_lag1_autocorr(groups: list[np.ndarray], min_n: int = 15) -> float:
    """Lag-1 autocorrelation of consecutive strides, averaged over sessions with >= ``min_n`` strides (NaN if
    none). Resampling and tests assume independent strides; a clearly positive value means they are
    optimistic (the effective number of strides is smaller, about n (1 - r1) / (1 + r1) for AR(1))."""
    rs = []
    for g in groups:
        x = _clean(g)
        if x.size >= min_n and np.ptp(x) > 0:
            d = x - x.mean()
            rs.append(float(np.dot(d[:-1], d[1:]) / np.dot(d, d)))
    return float(np.mean(rs)) if rs else float("nan")


def symmetry_index(left: float, right: float) -> float:
    """SI = 2 (L - R) / (L + R) * 100 in % (Robinson et al. 1987); NaN when L and R differ in sign or sum to ~0.

    Only meaningful for positive, ratio-scale quantities (times, lengths, excursions, velocities); for signed
    angles that cross zero use :func:`symmetry_difference`.
    """
    if not (np.isfinite(left) and np.isfinite(right)):
        return float("nan")
    if left * right <= 0 or abs(left + right) < 1e-9:
        return float("nan")
    return float(2.0 * (left - right) / (left + right) * 100.0)


def symmetry_difference(left: float, right: float) -> float:
    """Signed-variable-safe asymmetry: L - R in the metric's own units (no division by a near-zero mean)."""
    return float(left - right)


def _clean(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    return x[np.isfinite(x)]
