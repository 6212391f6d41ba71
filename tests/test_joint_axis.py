"""Hinge-axis estimation (Seel et al. 2014 constraint) and the left/right sign resolution."""

from __future__ import annotations

import numpy as np
import pytest
from knee_synth import synth_session
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.joint_axis import (
    acceleration_at,
    axis_angle_error,
    estimate_hinge_axes,
    estimate_joint_position,
)
from imu_gait.pipeline.segment_calibration import resolve_hinge_signs, up_in_sensor
from imu_gait.pipeline.vqf_orientation import vqf_orientation


def _hinge_rates(seed: int, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Angular rates of two segments joined by a hinge about y, through random mountings."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 20, 0.01)
    w = 2 * np.pi * t / 1.1
    thigh = Rotation.from_euler(
        "ZXY", np.column_stack([10 * np.sin(0.3 * t), 4 * np.sin(w), 25 * np.cos(w)]), degrees=True
    )
    flex = Rotation.from_euler("Y", (30 + 30 * np.sin(w + 1.0))[:, None], degrees=True)
    shank = thigh * flex
    m1, m2 = Rotation.random(2, random_state=seed)
    rates = []
    for seg, m in ((thigh, m1), (shank, m2)):
        s = seg * m
        rv = np.degrees((s[:-1].inv() * s[1:]).as_rotvec() * 100.0)
        rates.append(rv + rng.normal(0, noise, rv.shape))
    return rates[0], rates[1], m1.inv().apply([0, 1, 0]), m2.inv().apply([0, 1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_a_hinge_axis_through_random_mountings(seed: int) -> None:
    g1, g2, j1, j2 = _hinge_rates(seed, noise=0.5)
    axes = estimate_hinge_axes(g1, g2)
    assert axis_angle_error(axes.j1, j1) < 0.5
    assert axis_angle_error(axes.j2, j2) < 0.5
    assert axes.rel_rms < 0.05


def test_rejects_data_without_motion() -> None:
    still = np.random.default_rng(0).normal(0, 0.2, (500, 3))
    with pytest.raises(ValueError, match="too little motion"):
        estimate_hinge_axes(still, still)


@pytest.mark.parametrize("side", ["left", "right"])
def test_axis_signs_point_left_on_both_sides(side: str) -> None:
    session, truth = synth_session("walk", n_strides=10, seed=4, pelvis=False)
    th, sh = session.data[f"{side}_thigh"], session.data[f"{side}_shank"]
    o1, o2 = vqf_orientation(th.t, th.acc, th.gyr), vqf_orientation(sh.t, sh.acc, sh.gyr)
    static = th.t < 2.5
    axes = estimate_hinge_axes(th.gyr[~static], sh.gyr[~static])
    up1, up2 = up_in_sensor(th.acc, static), up_in_sensor(sh.acc, static)
    j1, j2, margin = resolve_hinge_signs(o1.R, o2.R, up1, up2, axes.j1, axes.j2)
    left_t = truth.mountings[f"{side}_thigh"].T @ [0, 1, 0]
    left_s = truth.mountings[f"{side}_shank"].T @ [0, 1, 0]
    assert np.dot(j1, left_t) > 0.95
    assert np.dot(j2, left_s) > 0.95
    assert margin > 20


def test_joint_position_is_found_near_the_knee_centre() -> None:
    session, truth = synth_session("walk", n_strides=16, seed=3, pelvis=False)
    th, sh = session.data["left_thigh"], session.data["left_shank"]
    axes = estimate_hinge_axes(th.gyr, sh.gyr)
    o1, o2, rms = estimate_joint_position(th.gyr, sh.gyr, th.acc, sh.acc, 100.0, axes.j1, axes.j2)
    m1, m2 = truth.mountings["left_thigh"], truth.mountings["left_shank"]
    # knee centre relative to each sensor (the generator's geometry), slid along the axis like the estimate
    t1 = m1.T @ np.array([-0.06, -0.05, -0.22])
    t2 = m2.T @ -np.array([0.03, -0.04, -0.15])
    y1, y2 = m1.T @ [0, 1, 0], m2.T @ [0, 1, 0]
    shift = 0.5 * (t1 @ y1 + t2 @ y2)
    assert np.linalg.norm(o1 - (t1 - shift * y1)) < 0.08
    assert np.linalg.norm(o2 - (t2 - shift * y2)) < 0.08
    assert rms < 0.5
    # the same point seen from both segments: its accelerations agree in magnitude
    a1 = np.linalg.norm(acceleration_at(th.acc, th.gyr, o1, th.t), axis=1)
    a2 = np.linalg.norm(acceleration_at(sh.acc, sh.gyr, o2, sh.t), axis=1)
    raw = np.linalg.norm(th.acc, axis=1) - np.linalg.norm(sh.acc, axis=1)
    assert np.sqrt(np.mean((a1 - a2) ** 2)) < 0.5 * np.sqrt(np.mean(raw**2))
