"""Pelvic drop from a pelvis sensor with a random mounting, against the truth."""

from __future__ import annotations

from knee_synth import synth_session

from imu_gait.pipeline.knee import analyze_knee


def test_pelvic_drop_peaks_match_truth_on_both_sides() -> None:
    session, truth = synth_session("walk", n_strides=14, seed=10)
    res = analyze_knee(session, truth.strides)
    m = res.stride_columns.merge(truth.strides, on=["side", "stride"])
    assert set(m["side"]) == {"left", "right"}
    for r in m.itertuples():
        sel = (truth.t >= r.ic) & (truth.t <= r.fc)
        assert abs(r.pelvic_drop_peak - truth.drop[r.side][sel].max()) < 1.0
    assert res.quality["pelvis"]["sign_corr"] > 0.5
