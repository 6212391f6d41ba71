"""Knee angles against the truth of synthetic sessions: accuracy, mounting independence, heading drift."""

from __future__ import annotations

import numpy as np
import pytest
from knee_synth import rotate_sensors, synth_session
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.knee import analyze_knee


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _peak_errors(res, truth) -> np.ndarray:
    m = res.stride_columns.merge(truth.strides, on=["side", "stride"])
    errs = []
    for r in m.itertuples():
        sel = (truth.t >= r.ic) & (truth.t <= r.fc)
        errs.append(r.knee_abduction_peak - truth.knee[r.side][sel, 1].max())
    return np.abs(np.array(errs))


@pytest.mark.parametrize(
    ("activity", "rate", "stride_time"), [("walk", 100.0, 1.1), ("run", 200.0, 0.7)]
)
def test_knee_angles_match_truth(activity: str, rate: float, stride_time: float) -> None:
    session, truth = synth_session(
        activity, rate_hz=rate, stride_time=stride_time, n_strides=16, seed=5, pelvis=False
    )
    res = analyze_knee(session, truth.strides)
    for side in ("left", "right"):
        a = res.angles[side]
        k = truth.knee[side]
        assert _rmse(a["flexion"].to_numpy(), k[:, 0]) < 1.0
        assert _rmse(a["abduction"].to_numpy(), k[:, 1]) < 1.5
    errs = _peak_errors(res, truth)
    assert len(errs) >= 20
    # this generator's running has no foot model (pure joint-angle kinematics); the 1.5 deg target is
    # asserted on the project simulator in test_knee_sim.py
    assert errs.max() < (1.5 if activity == "walk" else 2.0)


def test_result_does_not_depend_on_mounting() -> None:
    session, truth = synth_session("walk", n_strides=14, seed=6, pelvis=False)
    rotations = {
        p: Rotation.random(random_state=i).as_matrix()
        for i, p in enumerate(["left_thigh", "left_shank", "right_thigh", "right_shank"])
    }
    a = analyze_knee(session, truth.strides).stride_columns
    b = analyze_knee(rotate_sensors(session, rotations), truth.strides).stride_columns
    cols = ["knee_abduction_peak", "knee_frontal_excursion", "knee_flexion_peak_stance"]
    diff = np.abs(a[cols].to_numpy() - b[cols].to_numpy())
    assert np.nanmax(diff) < 0.3


def test_heading_drift_between_thigh_and_shank_is_removed() -> None:
    session, truth = synth_session("walk", n_strides=20, seed=7, pelvis=False)
    d = session.data["left_shank"]
    # a gyro bias along the sensor's vertical that starts after the standing calibration (VQF cannot
    # learn it at rest), giving tens of degrees of heading drift
    up = d.acc[:200].mean(axis=0)
    up /= np.linalg.norm(up)
    ramp = np.clip((d.t - 3.0) / 5.0, 0, 1)[:, None]
    d.gyr = d.gyr + 1.5 * ramp * up
    res = analyze_knee(session, truth.strides)
    assert res.quality["knee"]["left"]["heading_drift_deg"] > 10
    a = res.angles["left"]
    assert _rmse(a["abduction"].to_numpy(), truth.knee["left"][:, 1]) < 2.0


def test_crosstalk_is_reported_and_pca_correction_decorrelates() -> None:
    session, truth = synth_session("walk", n_strides=12, seed=8, pelvis=False)
    plain = analyze_knee(session, truth.strides)
    corrected = analyze_knee(session, truth.strides, crosstalk_correction=True)
    q = corrected.quality["knee"]["left"]
    assert -1 <= plain.quality["knee"]["left"]["crosstalk_r"] <= 1
    assert abs(q["crosstalk_r_after"]) < 0.05
