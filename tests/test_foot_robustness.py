"""Clipped impacts, gaps and the pronation metric definitions."""

from __future__ import annotations

import numpy as np
import pytest
from test_strides_real import make_session, read_gaitmap_walk

from imu_gait.pipeline.analysis import analyze
from imu_gait.pipeline.foot import pronation_metrics, stance_curve
from imu_gait.pipeline.signal import GRAVITY, prepare_imu, repair_clipped
from imu_gait.session import ImuData


@pytest.fixture(scope="module")
def walk():
    return read_gaitmap_walk()


@pytest.fixture(scope="module")
def reference(walk):
    return analyze(make_session(walk)).strides


def test_clipped_impacts_keep_events_and_flag_strides(walk, reference):
    """A +/-8 g, +/-500 deg/s sensor clips heel strikes and push-off peaks of this walk."""
    acc_fs, gyr_fs = 8 * GRAVITY, 500.0
    clipped = {
        k: (np.clip(a, -acc_fs, acc_fs), np.clip(g, -gyr_fs, gyr_fs)) for k, (a, g) in walk.items()
    }
    sess = make_session(clipped)
    for info in sess.sensors.values():
        info.acc_range_g, info.gyr_range_dps = 8.0, 500.0
    res = analyze(sess).strides
    assert len(res) == len(reference)
    assert np.max(np.abs(res["ic"] - reference["ic"])) < 0.002
    assert np.max(np.abs(res["fc"] - reference["fc"])) < 0.010
    assert np.max(np.abs(res["stride_length"] / reference["stride_length"] - 1)) < 0.02
    assert np.max(np.abs(res["eversion_excursion"] - reference["eversion_excursion"])) < 1.5
    # exactly the strides that contain clipped samples are flagged
    flagged = res["quality"].str.contains("saturated")
    assert flagged.sum() > 10
    assert (res.loc[~flagged, "quality"] == "ok").all()


def test_gap_flags_only_the_strides_it_touches(walk, reference):
    acc, gyr = walk["left"]
    t = np.arange(acc.shape[0]) / 204.8
    keep = ~((t > 10.0) & (t < 10.2))
    sess = make_session(walk)
    sess.data["left_foot"] = ImuData(t[keep], acc[keep], gyr[keep])
    res = analyze(sess)
    left = res.strides[res.strides["side"] == "left"]
    ref = reference[reference["side"] == "left"]
    gap = left["quality"].str.contains("gap")
    assert 1 <= gap.sum() <= 2
    touched = (left["ic"] <= 10.2) & (left["end"] >= 10.0)
    assert (gap == touched).all()
    assert abs(len(left) - len(ref)) <= 1
    assert res.quality["sensors"]["left_foot"]["gaps"]


def test_repair_clipped_restores_a_peak_above_the_clip_level():
    x = np.linspace(-1, 1, 41)
    true = 100.0 * (1 - x**2)
    out, mask = repair_clipped(np.minimum(true, 90.0), 100.0)
    assert mask.sum() == 0  # 90 is below 99% of the declared full scale
    out, mask = repair_clipped(np.minimum(true, 90.0), 90.0)
    assert mask.sum() == np.sum(true >= 0.99 * 90.0)
    assert out.max() > 95.0 and np.all(out >= np.minimum(true, 90.0) - 1e-9)


def test_prepare_imu_makes_the_clock_uniform_and_marks_gaps():
    t = np.concatenate([np.arange(0, 1, 0.01), np.arange(1.5, 2, 0.01)])
    acc = np.tile([0, 0, GRAVITY], (t.size, 1))
    gyr = np.column_stack([np.sin(t), np.cos(t), t])
    p = prepare_imu(t, acc, gyr, rate_hz=100.0)
    assert p.rate_hz == pytest.approx(100.0)
    assert np.allclose(np.diff(p.t), 0.01)
    assert p.gap.sum() == pytest.approx(49, abs=1)
    assert np.allclose(p.gyr[:, 2], p.t, atol=1e-9)


def test_pronation_metrics_follow_the_definitions():
    """A known eversion curve over a 0.6 s stance: 2 deg at IC, rising to 8 deg at 30% stance, then falling."""
    ic, fc = 1.0, 1.6
    t = np.linspace(0.9, 1.7, 8001)
    u = (t - ic) / (fc - ic)
    ev = np.where(u < 0.3, 2 + 6 * np.sin(np.pi / 2 * u / 0.3) ** 2, 8 - 10 * (u - 0.3) ** 2)
    m = pronation_metrics(t, ev, ic, fc)
    assert m["eversion_ic"] == pytest.approx(2.0, abs=1e-3)
    assert m["eversion_peak"] == pytest.approx(8.0, abs=1e-3)
    assert m["eversion_excursion"] == pytest.approx(6.0, abs=1e-3)
    assert m["time_to_peak_eversion"] == pytest.approx(30.0, abs=0.2)
    # max of d/dt [6 sin^2(pi/2 u/0.3)] = 6 * pi/2 / (0.3 * 0.6 s) at u = 0.15
    assert m["eversion_velocity_peak"] == pytest.approx(6 * np.pi / 2 / (0.3 * 0.6), rel=1e-3)
    curve = stance_curve(t, ev, ic, fc)
    assert curve.shape == (101,)
    assert curve[0] == pytest.approx(2.0, abs=1e-3) and curve[30] == pytest.approx(8.0, abs=1e-3)


def test_blocked_gyro_integration_equals_the_sequential_product():
    from scipy.spatial.transform import Rotation

    from imu_gait.pipeline.trajectory import integrate_gyro, quat_multiply

    rng = np.random.default_rng(3)
    gyr = rng.normal(0.0, 150.0, (1000, 3))  # crosses several 128-sample blocks
    q = integrate_gyro(gyr, 200.0)
    ref = np.zeros_like(q)
    ref[0, 0] = 1.0
    w = np.radians(gyr)
    for i in range(999):
        rv = 0.5 * (w[i] + w[i + 1]) / 200.0
        d = Rotation.from_rotvec(rv).as_quat()[[3, 0, 1, 2]]
        ref[i + 1] = quat_multiply(ref[i], d)
    assert np.max(np.abs(q - ref)) < 1e-9
    # a constant 90 deg/s about z for 2 s turns the body by 180 deg
    q = integrate_gyro(np.tile([0.0, 0.0, 90.0], (401, 1)), 200.0)
    assert np.degrees(Rotation.from_quat(q[-1, [1, 2, 3, 0]]).magnitude()) == pytest.approx(
        180.0, abs=1e-6
    )
