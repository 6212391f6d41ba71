"""compare(pre, post) on synthetic analyses with known effects, from objects and from analysis folders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imu_gait.compare import CompareSettings, compare
from imu_gait.compare.spm import spm_ttest2
from imu_gait.compare.stats import VERDICT_CHANGED, VERDICT_NOISE, VERDICT_TOO_FEW_REPS
from imu_gait.compare.synthetic import bump, synthetic_analysis, write_analysis_folder
from imu_gait.errors import FormatError, UsageError


def _row(c, side, activity, metric):
    t = c.table
    r = t[(t.side == side) & (t.activity == activity) & (t.metric == metric)]
    assert len(r) == 1
    return r.iloc[0]


@pytest.fixture(scope="module")
def known_change():
    pre = synthetic_analysis(1, n_strides=45, name="pre", squat_reps=4)
    post = synthetic_analysis(
        2,
        n_strides=45,
        name="post",
        condition="post",
        shift={"eversion_excursion": -3.0, "knee_abduction_peak": -3.0},
        curve_shift={"eversion": bump(40, 8, -3.0)},
        squat_reps=4,
    )
    return compare(pre, post)


def test_known_change_is_found_with_ci_covering_truth(known_change):
    for side in ("left", "right"):
        for metric in ("eversion_excursion", "knee_abduction_peak"):
            r = _row(known_change, side, "walk", metric)
            assert r.ci_low < -3.0 < r.ci_high
            assert r.verdict == VERDICT_CHANGED
            assert r.direction == "improved"
            assert r.hedges_g < -1.2  # 3 deg / 1.5-1.8 deg SD
            assert r.n_pre == 45 and r.n_post == 45
            assert abs(r.mdc95) < 3.0
        for metric in ("eversion_velocity_peak", "knee_frontal_excursion", "stride_time"):
            r = _row(known_change, side, "walk", metric)
            assert r.ci_low < 0 < r.ci_high or r.verdict != VERDICT_CHANGED


def test_table_units_roles_and_holm(known_change):
    t = known_change.table
    assert set(t.role) >= {"primary", "secondary", "spatiotemporal"}
    assert _row(known_change, "left", "walk", "eversion_velocity_peak").unit == "deg/s"
    assert _row(known_change, "left", "walk", "cadence").unit == "steps/min"
    primary = t[t.role == "primary"]
    assert primary.p_holm_primary.notna().all()
    assert (primary.p_holm_primary >= primary.p - 1e-15).all()
    assert t[t.role != "primary"].p_holm_primary.isna().all()
    # Holm families are per activity: walking's primary p values are adjusted among themselves
    from imu_gait.compare.stats import holm

    walk = primary[primary.activity == "walk"]
    np.testing.assert_allclose(walk.p_holm_primary, holm(walk.p.to_numpy()))
    assert len(walk) == 10 and len(primary) > len(walk)
    assert known_change.n_tests == int(t.p.notna().sum()) > known_change.n_primary_tests > 0


def test_squat_repetitions_too_few(known_change):
    r = _row(known_change, "left", "squat", "knee_abduction_peak")
    assert r.n_pre == 4
    assert r.verdict == VERDICT_TOO_FEW_REPS


def test_spm_finds_the_localised_eversion_difference(known_change):
    spm = known_change.spm
    ev = spm[(spm.variable == "eversion") & spm.significant]
    assert set(ev.side) == {"left", "right"}
    for _, c in ev.iterrows():
        # the simulated bump is centred at 40 % stance (SD 8 %): clusters lie around it, post lower
        assert 15 <= c.start_pct <= 40 <= c.end_pct <= 65
        assert c.post_vs_pre == "lower"
        assert c.p < 0.05
    # (no effect was simulated on knee abduction; its false-positive rate is checked separately)
    assert set(spm.variable) == {"eversion", "knee_abduction"}


def test_spm_false_positives_are_rare_for_identical_distributions():
    hits = 0
    for s in range(30):
        pre = synthetic_analysis(100 + s, n_strides=30, sides=("left",))
        post = synthetic_analysis(500 + s, n_strides=30, sides=("left",))
        a = pre.curves[pre.curves.variable == "eversion"].pivot(
            index="stride", columns="pct", values="value"
        )
        b = post.curves[post.curves.variable == "eversion"].pivot(
            index="stride", columns="pct", values="value"
        )
        r = spm_ttest2(a.to_numpy(), b.to_numpy())
        hits += r.significant
    assert hits <= 5  # expected 1.5 of 30 at alpha 0.05


def test_spm_skipped_below_the_minimum_strides():
    pre = synthetic_analysis(71, n_strides=8, sides=("left",))
    post = synthetic_analysis(
        72, n_strides=30, sides=("left",), curve_shift={"eversion": bump(40, 8, -5)}
    )
    c = compare(pre, post)
    assert len(c.spm) == 2 and not c.spm.significant.any()
    assert c.spm.note.str.startswith("too few strides for SPM").all()
    assert all(cc.spm is None for cc in c.curves)


def test_spm_needs_three_curves_each():
    assert spm_ttest2(np.zeros((2, 101)), np.ones((5, 101))) is None


def test_no_change_no_primary_claim():
    pre = synthetic_analysis(11, n_strides=40, name="a")
    post = synthetic_analysis(12, n_strides=40, name="b", condition="post")
    c = compare(pre, post)
    primary = c.table[c.table.role == "primary"]
    assert not (primary.verdict == VERDICT_CHANGED).any()
    assert any("one session per condition" in w for w in c.warnings)


def test_same_analysis_as_pre_and_post_gives_zero_change():
    a = synthetic_analysis(91, n_strides=30, name="same")
    c = compare(a, a)
    assert a.name == "same"
    assert [i.name for i in (*c.pre, *c.post)] == ["same", "same (2)"]
    r = _row(c, "left", "walk", "eversion_excursion")
    assert r["diff"] == 0.0 and r.sessions_pre == 1 and r.n_pre == 30
    assert r.verdict == VERDICT_NOISE and not c.spm.significant.any()


def test_flagged_strides_are_left_out_and_reported():
    pre = synthetic_analysis(21, n_strides=30, name="a", n_bad=5)
    post = synthetic_analysis(22, n_strides=30, name="b", condition="post")
    c = compare(pre, post)
    r = _row(c, "left", "walk", "eversion_excursion")
    assert (r.n_pre, r.excluded_pre, r.n_post, r.excluded_post) == (25, 5, 30, 0)
    assert any("10 of 60 strides flagged" in w for w in c.warnings)


def test_several_sessions_use_hierarchical_ci_and_session_level_tests():
    rng = np.random.default_rng(7)
    pre = [
        synthetic_analysis(
            rng,
            n_strides=25,
            name=f"pre{i}",
            sides=("left",),
            session_offset={"eversion_excursion": rng.normal(0, 1.0)},
        )
        for i in range(3)
    ]
    post = [
        synthetic_analysis(
            rng,
            n_strides=25,
            name=f"post{i}",
            sides=("left",),
            shift={"eversion_excursion": -3.0},
            session_offset={"eversion_excursion": rng.normal(0, 1.0)},
        )
        for i in range(3)
    ]
    c = compare(pre, post)
    r = _row(c, "left", "walk", "eversion_excursion")
    assert (r.sessions_pre, r.sessions_post, r.n_pre) == (3, 3, 75)
    assert r.test == "Welch t (sessions as units)"
    assert r.sd_between_source == "estimated from sessions"
    single = compare(
        pd.concat([p.strides for p in pre]).pipe(_as_one, "x"),
        pd.concat([p.strides for p in post]).pipe(_as_one, "y"),
    )
    r1 = _row(single, "left", "walk", "eversion_excursion")
    # strides pooled into one session hide the day-to-day variation: a narrower interval
    assert (r.ci_high - r.ci_low) > (r1.ci_high - r1.ci_low)
    assert {cc.basis for cc in c.curves} == {"session means"}


def _as_one(strides: pd.DataFrame, name: str):
    from imu_gait.compare.inputs import AnalysisInput

    s = strides.copy()
    s["stride"] = np.arange(len(s))
    return AnalysisInput(name, s)


def test_between_session_sd_given_raises_the_mdc():
    pre = synthetic_analysis(31, n_strides=40, name="a")
    post = synthetic_analysis(32, n_strides=40, name="b", shift={"eversion_excursion": -3.0})
    base = _row(compare(pre, post), "left", "walk", "eversion_excursion")
    st = CompareSettings(between_session_sd={"eversion_excursion": 2.0})
    wide = _row(compare(pre, post, st), "left", "walk", "eversion_excursion")
    assert wide.sd_between_source == "given"
    assert wide.mdc95 == pytest.approx(1.96 * np.sqrt(2 * (base.sd_within**2 / 40 + 4.0)), rel=1e-3)
    assert wide.verdict == VERDICT_NOISE  # 3 deg < MDC ~5.6 deg


def test_serially_correlated_strides_are_flagged():
    pre = synthetic_analysis(61, n_strides=40, name="a", sides=("left",))
    post = synthetic_analysis(62, n_strides=40, name="b", sides=("left",))
    assert not any("correlated" in w for w in compare(pre, post).warnings)
    rng = np.random.default_rng(3)
    drift = np.cumsum(rng.normal(0, 0.8, 40))  # a slow wander of the excursion over the walk
    post.strides["eversion_excursion"] = 6.0 + drift
    c = compare(pre, post)
    assert _row(c, "left", "walk", "eversion_excursion").lag1_autocorr > 0.3
    assert any("correlated" in w and "eversion excursion" in w for w in c.warnings)


def test_direction_of_signed_angles_is_judged_by_magnitude():
    # peak knee abduction from -1 deg (slight varus) to -4 deg (more varus): a detectable decrease, but not
    # an improvement; eversion excursion (a positive excursion) decreasing is one
    pre = synthetic_analysis(81, n_strides=40, sides=("left",), shift={"knee_abduction_peak": -4.0})
    post = synthetic_analysis(
        82,
        n_strides=40,
        sides=("left",),
        shift={"knee_abduction_peak": -7.0, "eversion_excursion": -3.0},
    )
    c = compare(pre, post)
    knee = _row(c, "left", "walk", "knee_abduction_peak")
    assert knee.verdict == VERDICT_CHANGED and knee["diff"] < 0
    assert knee.direction == "moved away from the aim"
    assert _row(c, "left", "walk", "eversion_excursion").direction == "improved"


def test_symmetry_table():
    pre = synthetic_analysis(41, n_strides=40, name="a")
    post = synthetic_analysis(42, n_strides=40, name="b", shift={"eversion_excursion": 0.0})
    s = compare(pre, post).symmetry
    r = s[(s.metric == "stride_time") & (s.condition == "pre")].iloc[0]
    assert r.si_percent == pytest.approx(200 * (r.left - r.right) / (r.left + r.right))
    signed = s[(s.metric == "knee_abduction_ic")]
    assert signed.si_percent.isna().all()
    assert np.allclose(signed.diff_left_minus_right, signed.left - signed.right)


def test_from_folders_and_errors(tmp_path):
    pre = synthetic_analysis(51, n_strides=20, name="p", squat_reps=6)
    post = synthetic_analysis(52, n_strides=20, name="q", condition="post", squat_reps=6)
    pre.quality = {"sensors": {"left_foot": {"warnings": ["alignment confidence low"]}}}
    write_analysis_folder(pre, tmp_path / "pre_an")
    write_analysis_folder(post, tmp_path / "post_an")
    c = compare(tmp_path / "pre_an", [str(tmp_path / "post_an")])
    assert c.pre[0].name == "pre_an" and c.pre[0].meta["subject"] == "P01"
    assert any("alignment confidence low" in w for w in c.warnings)
    assert _row(c, "right", "squat", "knee_flexion_peak").n_post == 6
    # two folders of the same name stay two sessions
    write_analysis_folder(pre, tmp_path / "day1" / "analysis")
    write_analysis_folder(pre, tmp_path / "day2" / "analysis")
    c2 = compare(
        [tmp_path / "day1" / "analysis", tmp_path / "day2" / "analysis"], tmp_path / "post_an"
    )
    assert [i.name for i in c2.pre] == ["analysis", "day2/analysis"]
    assert _row(c2, "left", "walk", "eversion_excursion").sessions_pre == 2
    with pytest.raises(UsageError, match="neither an analysis folder"):
        compare(tmp_path, tmp_path / "post_an")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "strides.csv").write_text("a,b\n1,2\n")
    with pytest.raises(FormatError, match="missing column"):
        compare(tmp_path / "bad", tmp_path / "post_an")
