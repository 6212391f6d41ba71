"""Group pre/post statistics on simulated cohorts with a known change and with none: the change is found, no change
is claimed where none was simulated (false-positive rate over many seeds), the mixed model agrees with the paired
analysis, each subject's change is judged against their own MDC95; figures and `imu-gait compare --cohort`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from imu_gait.batch import ResultStore, SessionResult, read_strides
from imu_gait.cohort import (
    VERDICT_CHANGED,
    CohortSettings,
    cohen_dz,
    compare_cohort,
    hedges_correction,
    mixed_model_change,
    synthetic_cohort,
    write_cohort,
)

METRIC = "eversion_excursion"
FAST = CohortSettings(n_boot=400, mixed_model=False)


def _row(cmp, side="left"):
    t = cmp.table
    return t[(t["side"] == side) & (t["metric"] == METRIC)].iloc[0]


def test_effect_size_definitions():
    assert cohen_dz(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)  # mean 2 / SD 1
    assert hedges_correction(2) == pytest.approx(1.0 - 3.0 / 7.0)
    assert np.isnan(cohen_dz(np.array([1.0, 1.0])))


def test_known_change_is_found_and_its_ci_covers_the_truth():
    truth = -1.2
    covered = 0
    for seed in range(6):
        strides = synthetic_cohort(30, (20, 60), truth, sd_response=0.5, seed=seed)
        cmp = compare_cohort(strides, CohortSettings(n_boot=1000, mixed_model=seed < 2))
        for side in ("left", "right"):
            r = _row(cmp, side)
            assert r["n_subjects"] == 30
            assert r["verdict"] == VERDICT_CHANGED
            assert r["ci_high"] < 0 and r["boot_ci_high"] < 0
            assert r["gz"] < -0.5 and abs(r["gz"]) < abs(r["dz"])  # corrected towards 0
            covered += r["ci_low"] <= truth <= r["ci_high"]
            if seed < 2:  # the stride-level mixed model agrees with the paired subject means
                assert r["lmm_estimate"] == pytest.approx(r["diff"], abs=0.15)
                assert r["lmm_ci_high"] < 0 and r["lmm_p"] < 0.01
                assert 0.3 < r["lmm_sd_visit"] < 1.4 and 1.3 < r["lmm_sd_stride"] < 1.7
    assert covered >= 10  # of 12 intervals (95% each)


def test_no_change_is_not_claimed_false_positive_rate():
    n_seeds = 100
    hits = boot_hits = 0
    for seed in range(n_seeds):
        strides = synthetic_cohort(30, (20, 60), 0.0, sides=("left",), seed=1000 + seed)
        r = _row(compare_cohort(strides, FAST))
        hits += r["verdict"] == VERDICT_CHANGED
        boot_hits += r["boot_ci_low"] > 0 or r["boot_ci_high"] < 0
    # nominal 5%; P(more than 12 of 100 | 5%) < 0.001
    assert hits <= 12 and boot_hits <= 12


def test_mixed_model_does_not_mistake_visit_noise_for_change():
    """Strides of a visit share its offset (sd_visit): with the visit term the model keeps its nominal rate."""
    hits = 0
    for seed in range(20):
        df = synthetic_cohort(30, (8, 20), 0.0, sides=("left",), sd_visit=1.0, seed=2000 + seed)
        values = df.rename(columns={METRIC: "value"})
        hits += mixed_model_change(values)["lmm_p"] < 0.05
    assert hits <= 3  # nominal 1 of 20; P(> 3) < 0.02 (a subject-only model rejects in about half)


def test_share_of_subjects_beyond_their_own_mdc():
    # no day-to-day noise and no change: only ~5% of subjects exceed their stride-noise MDC95
    shares = [
        _row(compare_cohort(synthetic_cohort(30, 40, 0.0, sd_visit=0.0, seed=s), FAST))[
            "share_beyond_mdc"
        ]
        for s in range(8)
    ]
    assert np.mean(shares) < 0.10
    # with day-to-day noise, a stride-noise MDC is only a lower bound: many subjects "exceed" it ...
    noisy = synthetic_cohort(30, 40, 0.0, sd_visit=1.0, seed=3)
    r = _row(compare_cohort(noisy, FAST))
    assert r["share_beyond_mdc"] > 0.3 and r["mdc_basis"].startswith("stride noise only")
    # ... and a known day-to-day SD puts the MDC where it belongs
    given = CohortSettings(n_boot=400, mixed_model=False, between_session_sd={METRIC: 1.0})
    r = _row(compare_cohort(noisy, given))
    assert r["share_beyond_mdc"] < 0.15 and r["mdc_basis"] == "given day-to-day SD"
    # a large reduction (the programme's aim for eversion excursion): nearly everyone, all as improvement
    big = _row(compare_cohort(synthetic_cohort(30, 40, -4.0, sd_visit=0.3, seed=4), FAST))
    assert big["share_beyond_mdc"] > 0.9
    assert big["n_improved_beyond_mdc"] == big["n_beyond_mdc"] and big["n_worsened_beyond_mdc"] == 0


def test_day_to_day_sd_from_repeated_sessions():
    """Two sessions per subject and condition: the MDC uses the day-to-day SD estimated from them."""
    strides = synthetic_cohort(20, 40, 0.0, sides=("left",), sd_visit=1.0, sessions=2, seed=7)
    cmp = compare_cohort(strides, FAST)
    r = _row(cmp)
    assert r["mdc_basis"] == "day-to-day SD from repeated sessions"
    assert r["share_beyond_mdc"] < 0.2
    assert set(cmp.subjects["sessions_pre"]) == {2} and set(cmp.subjects["n_pre"]) == {80}
    # the MDC of a mean of 2 sessions with day-to-day SD 1 and 40 strides of SD 1.5 each:
    # 1.96 * sqrt(2 * (1.5^2 / 40 + 1^2) / 2) = 2.03
    assert np.median(cmp.subjects["mdc95"]) == pytest.approx(2.03, rel=0.25)


def test_flagged_strides_and_thin_subjects_are_left_out():
    strides = synthetic_cohort(12, 30, -1.0, sides=("left",), seed=9)
    clean = _row(compare_cohort(strides, FAST))
    bad = strides.copy()
    extra = bad[bad["subject"] == "c001"].head(5).assign(quality="gap", **{METRIC: 500.0})
    bad = pd.concat([bad, extra], ignore_index=True)
    # c002 keeps only 5 post strides: below min_strides, so it is not paired
    drop = (bad["subject"] == "c002") & (bad["condition"] == "post") & (bad["stride"] >= 5)
    r = _row(compare_cohort(bad[~drop], FAST))
    assert r["n_subjects"] == 11 and clean["n_subjects"] == 12
    assert (
        abs(r["mean_pre"] - clean["mean_pre"]) < 1.0
    )  # the 500-degree flagged strides did not count


def _batch_output(tmp_path, strides: pd.DataFrame):
    """A real batch output folder written by the batch's own store (no cluster needed for the statistics)."""
    store = ResultStore(tmp_path / "batch")
    for session, g in strides.groupby("session"):
        subject, condition = g["subject"].iloc[0], g["condition"].iloc[0]
        table = g.drop(columns=["subject", "condition"])
        store.write(
            SessionResult(session, "k", "ok", subject, condition, table, table.head(0), worker="x")
        )
    return store.out


def test_cohort_figures_are_rendered(tmp_path):
    cmp = compare_cohort(synthetic_cohort(15, 30, -3.0, sd_visit=0.3, seed=5), FAST)
    paths = write_cohort(cmp, tmp_path)
    pngs = sorted(p.name for p in paths if p.suffix == ".png")
    assert pngs == [
        f"cohort_changes_walk_{METRIC}.png",
        f"cohort_walk_{METRIC}.png",
    ]
    img = imread(tmp_path / "figures" / f"cohort_walk_{METRIC}.png")[..., :3]
    # improved-beyond-MDC subjects are drawn green (#009E73)
    green = (np.abs(img[..., 0] - 0.0) < 0.1) & (np.abs(img[..., 1] - 0.62) < 0.1)
    assert green.sum() > 500
    table = pd.read_csv(tmp_path / "cohort_comparison.csv")
    assert len(table) == 2 and set(table["verdict"]) == {VERDICT_CHANGED}


def test_compare_cohort_command(tmp_path):
    strides = synthetic_cohort(10, 25, -2.0, sd_visit=0.3, seed=6)
    out = _batch_output(tmp_path, strides)
    assert read_strides(out)["subject"].nunique() == 10
    dest = tmp_path / "cohort"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "imu_gait",
            "compare",
            "--cohort",
            str(out),
            "-o",
            str(dest),
            "--n-boot",
            "500",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(dest / "cohort_comparison.csv")
    assert set(table["side"]) == {"left", "right"} and (table["n_subjects"] == 10).all()
    assert (table["ci_high"] < 0).all() and table["lmm_estimate"].notna().all()
    subjects = pd.read_csv(dest / "cohort_subjects.csv")
    assert len(subjects) == 20
    assert (dest / "figures" / f"cohort_walk_{METRIC}.png").stat().st_size > 10_000
    assert "n=10" in proc.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "imu_gait",
            "compare",
            "--cohort",
            str(out),
            "--pre",
            "x",
            "-o",
            str(dest),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--pre" in bad.stderr


def test_squat_repetitions_are_compared_per_task():
    """Squat repetitions (squats.csv) count per task with their own minimum (3 repetitions)."""
    walk = synthetic_cohort(12, 30, 0.0, sides=("left",), seed=10)
    reps = synthetic_cohort(
        12,
        5,
        -2.0,
        metric="knee_abduction_peak",
        activity="squat",
        sd_visit=0.5,
        sd_stride=1.0,
        seed=11,
    )
    reps = reps.rename(columns={"activity": "task", "stride": "rep"}).drop(columns="quality")
    thin = (reps["subject"] == "c003") & (reps["condition"] == "post") & (reps["rep"] >= 2)
    cmp = compare_cohort(walk, FAST, squats=reps[~thin])
    sq = cmp.table[cmp.table["activity"] == "squat"]
    assert set(sq["metric"]) == {"knee_abduction_peak"} and set(sq["role"]) == {"primary"}
    assert (sq["n_subjects"] == 11).all()  # c003 kept 2 post repetitions only
    assert set(sq["verdict"]) == {VERDICT_CHANGED} and (sq["ci_high"] < 0).all()
    gait = cmp.table[cmp.table["activity"] == "walk"]
    assert (gait["n_subjects"] == 12).all() and set(gait["metric"]) == {METRIC}


def test_mixed_model_separates_responses_from_visits_with_repeated_sessions():
    """Two visits per condition: the model tells each subject's own response (SD 1.0) from visit noise (0.8)."""
    strides = synthetic_cohort(
        40, 20, -1.0, sides=("left",), sessions=2, sd_response=1.0, sd_visit=0.8, seed=12
    )
    r = _row(compare_cohort(strides, CohortSettings(n_boot=200)))
    assert r["lmm_estimate"] == pytest.approx(r["diff"], abs=0.1)
    assert 0.5 < r["lmm_sd_response"] < 1.6 and 0.5 < r["lmm_sd_visit"] < 1.2
    assert 1.3 < r["lmm_sd_subject"] < 3.0 and r["lmm_ci_high"] < 0
