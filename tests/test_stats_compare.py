"""Statistics of the pre/post comparison checked against scipy, closed forms and simulated known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from imu_gait.compare import stats


def test_hedges_g_matches_pooled_t_and_exact_correction():
    rng = np.random.default_rng(1)
    a, b = rng.normal(5.0, 1.5, 23), rng.normal(3.5, 2.0, 31)
    # Cohen's d from the pooled-variance t statistic, then Hedges' exact gamma correction
    t = sps.ttest_ind(b, a, equal_var=True).statistic
    d = t * math.sqrt(1 / a.size + 1 / b.size)
    df = a.size + b.size - 2
    j_exact = math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2)
    assert stats.hedges_g(a, b) == pytest.approx(d * j_exact, rel=2e-4)
    assert stats.hedges_g(a, b) < 0  # post lower than pre
    assert math.isnan(stats.hedges_g(a[:1], b))


def test_welch_matches_closed_form():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 12), rng.normal(1, 3, 40)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (b.mean() - a.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    r = stats.welch_test(a, b)
    assert r.name == "Welch t"
    assert r.statistic == pytest.approx(t)
    assert r.p == pytest.approx(2 * sps.t.sf(abs(t), df))


def test_choose_test_switches_to_mann_whitney_only_for_clearly_non_normal_data():
    rng = np.random.default_rng(3)
    normal_a, normal_b = rng.normal(0, 1, 40), rng.normal(0.3, 1, 40)
    assert stats.choose_test(normal_a, normal_b).name == "Welch t"
    skewed = rng.exponential(1.0, 40) ** 2
    r = stats.choose_test(normal_a, skewed)
    assert r.name == "Mann-Whitney U"
    ref = sps.mannwhitneyu(skewed, normal_a, alternative="two-sided", method="asymptotic")
    assert r.p == pytest.approx(ref.pvalue)


def test_holm_adjustment_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, np.nan, 0.02])
    assert np.all(stats.holm(np.array([0.9, 0.8])) <= 1.0)


def test_mdc_formula_and_session_mean_sem():
    assert stats.mdc95(1.0) == pytest.approx(1.96 * math.sqrt(2), rel=1e-4)
    assert stats.mdc95(1.0, 2.0) == pytest.approx(1.96 * math.sqrt(5), rel=1e-4)
    # a session mean of 40 strides with within-session SD 2
    assert stats.sem_condition_mean(2.0, 40, 1, float("nan")) == pytest.approx(2 / math.sqrt(40))
    # day-to-day SD 1 adds in quadrature; 4 sessions divide the variance by 4
    assert stats.sem_condition_mean(2.0, 40, 4, 1.0) == pytest.approx(math.sqrt((4 / 40 + 1) / 4))


def test_session_mean_mdc_is_exceeded_by_noise_5_percent_of_the_time():
    """MDC95 of a session mean: pure-noise session pairs exceed it ~5% of the time, the stride MDC ~never."""
    rng = np.random.default_rng(4)
    n, sd = 40, 1.8
    pre = rng.normal(0, sd, (4000, n))
    post = rng.normal(0, sd, (4000, n))
    diff = post.mean(1) - pre.mean(1)
    mdc_mean = stats.mdc95(stats.sem_condition_mean(sd, n, 1, float("nan")))
    assert 0.035 < np.mean(np.abs(diff) > mdc_mean) < 0.065
    assert np.mean(np.abs(diff) > stats.mdc95(sd)) < 0.001


def test_pooled_within_and_between_session_sd_recover_truth():
    rng = np.random.default_rng(5)
    sd_w, sd_b = 2.0, 1.0
    pre = [rng.normal(rng.normal(0, sd_b), sd_w, 50) for _ in range(40)]
    post = [rng.normal(rng.normal(3, sd_b), sd_w, 50) for _ in range(40)]
    assert stats.pooled_within_sd(pre + post) == pytest.approx(sd_w, rel=0.05)
    assert stats.between_session_sd([pre, post]) == pytest.approx(sd_b, abs=0.25)
    assert math.isnan(stats.between_session_sd([pre[:1], post[:1]]))
    # no day-to-day variation -> estimate near 0
    flat = [rng.normal(0, sd_w, 50) for _ in range(30)]
    assert stats.between_session_sd([flat]) < 0.3


def test_bootstrap_ci_covers_a_known_change_and_is_reproducible():
    rng = np.random.default_rng(6)
    pre, post = [rng.normal(6.0, 1.5, 45)], [rng.normal(3.0, 1.5, 45)]
    lo, hi = stats.bootstrap_diff_ci(pre, post, n_boot=2000, seed=11)
    assert lo < -3.0 < hi
    assert hi < 0
    assert 0.9 < hi - lo < 1.6  # ~ 2 * 1.96 * 1.5 * sqrt(2/45) = 1.24
    assert stats.bootstrap_diff_ci(pre, post, n_boot=2000, seed=11) == (lo, hi)


def test_effective_df_one_session_is_welch_and_sessions_count_as_units():
    rng = np.random.default_rng(8)
    a, b = rng.normal(0, 1, 14), rng.normal(0, 2.5, 33)
    assert stats.effective_df([a], [b]) == pytest.approx(sps.ttest_ind(b, a, equal_var=False).df)
    # three sessions each: at most 2 + 2 degrees of freedom, however many strides
    pre = [rng.normal(m, 1, 50) for m in (0.0, 1.0, -1.0)]
    post = [rng.normal(m, 1, 50) for m in (0.5, -0.4, 1.2)]
    assert 2.0 <= stats.effective_df(pre, post) <= 4.0


def test_false_positive_rate_with_no_change_200_seeds():
    """No change simulated -> the 'changed' verdict is rare (loose bound; the benchmark runs more seeds)."""
    claims = covered = 0
    seeds = 200
    for s in range(seeds):
        rng = np.random.default_rng(1000 + s)
        pre, post = [rng.normal(4.0, 1.8, 40)], [rng.normal(4.0, 1.8, 40)]
        lo, hi = stats.bootstrap_diff_ci(pre, post, n_boot=600, seed=s)
        diff = post[0].mean() - pre[0].mean()
        sem = stats.sem_condition_mean(stats.pooled_within_sd(pre + post), 40, 1, float("nan"))
        v = stats.verdict(lo, hi, diff, stats.mdc95(sem), 40, 40)
        claims += v == stats.VERDICT_CHANGED
        covered += lo <= 0 <= hi
    assert claims / seeds <= 0.09
    assert covered / seeds >= 0.90


def test_hierarchical_bootstrap_widens_for_day_to_day_variation():
    """With several sessions and day-to-day offsets, the hierarchical CI covers the truth far more often
    than an interval that treats all strides as one sample."""
    hier = naive = 0
    seeds = 120
    for s in range(seeds):
        rng = np.random.default_rng(2000 + s)
        pre = [rng.normal(rng.normal(0, 1.2), 1.5, 30) for _ in range(5)]
        post = [rng.normal(rng.normal(-1.0, 1.2), 1.5, 30) for _ in range(5)]
        lo, hi = stats.bootstrap_diff_ci(pre, post, n_boot=600, seed=s)
        hier += lo <= -1.0 <= hi
        lo2, hi2 = stats.bootstrap_diff_ci(
            [np.concatenate(pre)], [np.concatenate(post)], n_boot=600, seed=s
        )
        naive += lo2 <= -1.0 <= hi2
    assert hier / seeds >= 0.85
    assert naive / seeds < 0.7


def test_pre_post_test_treats_sessions_as_units():
    """Two sessions per condition with day-to-day offsets and no change: testing pooled strides rejects far
    too often; the session-level test keeps close to alpha."""
    naive = units = 0
    seeds = 150
    for s in range(seeds):
        rng = np.random.default_rng(3000 + s)
        pre = [rng.normal(rng.normal(0, 1.0), 1.5, 30) for _ in range(2)]
        post = [rng.normal(rng.normal(0, 1.0), 1.5, 30) for _ in range(2)]
        r = stats.pre_post_test(pre, post)
        assert r.name == "Welch t (sessions as units)"
        units += r.p < 0.05
        naive += stats.welch_test(np.concatenate(pre), np.concatenate(post)).p < 0.05
    assert units / seeds <= 0.10
    assert naive / seeds > 0.3
    one = stats.pre_post_test([np.arange(12.0)], [np.arange(12.0) + 1])
    assert one.name == "Welch t" and one.p == pytest.approx(
        sps.ttest_ind(np.arange(12.0) + 1, np.arange(12.0), equal_var=False).pvalue
    )


def test_verdict_logic():
    changed, noise = stats.VERDICT_CHANGED, stats.VERDICT_NOISE
    assert stats.verdict(-4, -2, -3, 1.0, 40, 40) == changed
    assert stats.verdict(-4, -2, -3, 3.5, 40, 40) == noise  # CI excludes 0 but below MDC
    assert stats.verdict(-4, 0.5, -3, 1.0, 40, 40) == noise  # beyond MDC but CI includes 0
    assert stats.verdict(-4, -2, -3, 1.0, 9, 40) == stats.VERDICT_TOO_FEW
    assert stats.verdict(-4, -2, -3, 1.0, 4, 8, min_n=5, unit_word="repetitions") == (
        stats.VERDICT_TOO_FEW_REPS
    )
    assert stats.verdict(2, 4, 3, 1.0, 10, 10) == changed


def test_lag1_autocorrelation():
    rng = np.random.default_rng(9)
    iid = [rng.normal(0, 1, 200)]
    ar = np.zeros(200)
    e = rng.normal(0, 1, 200)
    for i in range(1, 200):
        ar[i] = 0.6 * ar[i - 1] + e[i]
    assert abs(stats.mean_lag1_autocorr(iid)) < 4 / math.sqrt(200)  # 4 SE of r1 under independence
    assert stats.mean_lag1_autocorr([ar]) == pytest.approx(0.6, abs=0.12)
    assert math.isnan(stats.mean_lag1_autocorr([np.arange(5.0)]))


def test_symmetry_index_and_signed_alternative():
    assert stats.symmetry_index(1.1, 0.9) == pytest.approx(20.0)
    assert stats.symmetry_index(0.9, 1.1) == pytest.approx(-20.0)
    assert stats.symmetry_index(5.0, 5.0) == 0.0
    # a signed angle crossing zero has no meaningful ratio: NaN, and the difference in degrees instead
    assert math.isnan(stats.symmetry_index(1.0, -0.5))
    assert stats.symmetry_difference(1.0, -0.5) == pytest.approx(1.5)
