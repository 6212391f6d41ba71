"""Knee figures rendered from a real analysis of a synthetic session, and the analyze() wiring."""

from __future__ import annotations

import numpy as np
from knee_synth import synth_session
from matplotlib.image import imread

from imu_gait.pipeline.analysis import analyze, write_analysis


def test_analyze_adds_knee_columns_and_writes_knee_figures(tmp_path) -> None:
    session, _ = synth_session("walk", n_strides=10, seed=12, squat_reps=3)
    a = analyze(session)
    assert a.strides["knee_abduction_peak"].notna().sum() >= 12
    assert a.strides["pelvic_drop_peak"].notna().sum() >= 12
    assert {"knee_flexion", "knee_abduction"} <= set(a.curves["variable"])
    assert len(a.squats) == 3
    written = write_analysis(a, tmp_path)
    names = {p.name for p in written}
    assert {"knee_curves.png", "pelvic_drop.png", "squats.png", "squats.csv"} <= names
    img = imread(tmp_path / "figures" / "knee_curves.png")
    assert img.shape[0] > 200 and img.shape[1] > 500
    assert np.std(img[..., :3]) > 0.05
