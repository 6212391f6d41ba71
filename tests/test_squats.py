"""Single-leg squat repetitions: detection on a known signal and end to end against the truth."""

from __future__ import annotations

import numpy as np
from knee_synth import synth_session

from imu_gait.pipeline.knee import analyze_knee
from imu_gait.pipeline.squats import consistent_repetitions, find_repetitions, squat_table


def test_find_repetitions_on_a_known_flexion_signal() -> None:
    t = np.arange(0, 15, 0.01)
    cyc = np.where((t > 2) & (t < 12), 0.5 - 0.5 * np.cos(2 * np.pi * (t - 2) / 2.5), 0.0)
    flex = 5 + 60 * cyc
    reps = find_repetitions(t, flex)
    assert len(reps) == 4
    for k, (start, peak, end) in enumerate(reps):
        assert abs(peak - (2 + 1.25 + 2.5 * k)) < 0.02
        assert start < peak < end
    abd = 2 * cyc
    table = squat_table(t, {"left": flex}, {"left": abd}, [{"t": 1, "t_end": 13, "label": "squat"}])
    assert list(table["rep"]) == [0, 1, 2, 3]
    assert np.allclose(table["knee_flexion_peak"], 65, atol=0.01)
    assert np.allclose(table["knee_abduction_peak"], 2, atol=0.01)


def test_squat_reps_after_walking_match_truth() -> None:
    session, truth = synth_session("walk", n_strides=12, seed=11, squat_reps=4, pelvis=False)
    res = analyze_knee(session, truth.strides)
    sq = res.squats
    assert len(sq) == 4
    assert set(sq["side"]) == {"left"}
    k = truth.knee["left"]
    for r in sq.itertuples():
        sel = (truth.t >= r.start) & (truth.t <= r.end)
        assert abs(r.knee_flexion_peak - k[sel, 0].max()) < 2.0
        assert abs(r.knee_abduction_peak - k[sel, 1].max()) < 2.5


def test_excursions_unlike_the_repetitions_are_left_out() -> None:
    t = np.arange(0, 20, 0.01)
    flex = 5 + 60 * np.where((t > 4) & (t < 14), 0.5 - 0.5 * np.cos(2 * np.pi * (t - 4) / 2.5), 0.0)
    # stepping onto the box before the task: a short, deep excursion
    flex += 95 * np.exp(-0.5 * ((t - 2.0) / 0.12) ** 2)
    # stepping off afterwards: short and shallow
    flex += 30 * np.exp(-0.5 * ((t - 16.5) / 0.15) ** 2)
    found = find_repetitions(t, flex)
    kept = consistent_repetitions(found, t, flex)
    assert len(found) == 6
    assert len(kept) == 4
    assert all(4 < peak < 14 for _, peak, _ in kept)
