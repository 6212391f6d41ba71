"""The simulator's soft-tissue artefact: the sensor's signals follow the sensor's own motion on the skin, the truth
stays the bone's, and the artefact has the documented structure and size."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from test_simulate import angle_between, integrate_gyro

from imu_gait.anatomy import knee_angles
from imu_gait.pipeline.signal import GRAVITY
from imu_gait.simulate import SensorNoise, SimConfig, SoftTissue, save, simulate

LEGS = ("left_thigh", "left_shank", "right_thigh", "pelvis", "left_foot")


def ideal(config: SimConfig) -> SimConfig:
    return config.with_(
        noise=SensorNoise.none(), quantize=False, acc_range_g=1000.0, gyr_range_dps=1e5
    )


@pytest.fixture(scope="module")
def pair():
    """Noise-free walking at 1000 Hz with the typical artefact, and the same session without it."""
    config = ideal(SimConfig.walk(strides=4, rate_hz=1000.0, placements=LEGS))
    return simulate(config.with_(soft_tissue="typical"), seed=3), simulate(config, seed=3)


@pytest.mark.parametrize("placement", ["left_thigh", "left_shank", "pelvis"])
def test_gyro_and_accelerometer_follow_the_sensor_with_its_artefact(pair, placement):
    sta, rigid = pair
    stride = sta.strides[sta.strides.side == "left"].iloc[1]
    d = sta.session.data[placement]
    sel = (d.t >= stride.ic) & (d.t <= stride.end)
    t = d.t[sel]
    _, R, p = sta.sensor_pose(placement, t)
    R_int = integrate_gyro(t, d.gyr[sel], R[0])
    assert angle_between(R_int, R).max() < 0.1
    # specific force = R^T (second derivative of the sensor's position + g), from sensor_pose at t +/- 0.2 ms
    h = 2e-4
    p_m, p_p = (sta.sensor_pose(placement, t + dt)[2] for dt in (-h, h))
    acc_g = (p_p - 2.0 * p + p_m) / (h * h)
    acc_g[:, 2] += GRAVITY
    expected = np.einsum("nji,nj->ni", R, acc_g)
    # (second differences with other steps differ by up to ~0.5 m/s^2 where the jerk jumps, e.g. at contact)
    assert np.abs(d.acc[sel] - expected).max() < 1.0
    # and the artefact is really there: the sensor moved on the segment, beyond that tolerance
    _, R_rigid, _ = rigid.sensor_pose(placement, t)
    moved = angle_between(R_rigid, R).max()
    assert moved > (1.0 if placement != "pelvis" else 0.05)
    assert np.abs(d.acc[sel] - rigid.session.data[placement].acc[sel]).max() > 2.0


def test_truth_and_feet_are_unchanged(pair):
    sta, rigid = pair
    assert sta.strides.equals(rigid.strides) and sta.curves.equals(rigid.curves)
    assert np.array_equal(sta.session.data["left_foot"].acc, rigid.session.data["left_foot"].acc)
    assert "left_foot" not in sta.soft_tissue.sensors
    # the standing calibration is free of artefact (it is relative to the standing pose)
    a, b = sta.session.calibration["static"]
    for p in ("left_thigh", "left_shank", "pelvis"):
        d0, d1 = sta.session.data[p], rigid.session.data[p]
        still = (d0.t > a) & (d0.t < b)
        assert np.abs(d0.acc[still] - d1.acc[still]).max() < 1e-6


def test_thigh_artefact_follows_knee_flexion_and_is_largest_about_the_long_axis(pair):
    sta = pair[0]
    walk = sta.strides[sta.strides.side == "left"]
    t = np.linspace(walk.ic.min(), walk.end.max(), 3000)
    ref = sta.reference["knee_left"][0]
    poses = sta.model.evaluate(t, segments=("left_thigh", "left_shank"))
    flex = knee_angles(poses["left_thigh"][0], poses["left_shank"][0], "left")[:, 0] - ref
    for placement, lo, hi in (("left_thigh", 2.0, 12.0), ("left_shank", 0.5, 6.0)):
        S, _ = sta.soft_tissue.offset(placement, t, poses)
        rv = np.degrees(Rotation.from_matrix(S).as_rotvec())
        mag = np.linalg.norm(rv, axis=1)
        # mostly the flexion-following part: it correlates with the flexion, a few deg per 90 deg
        assert np.corrcoef(mag, np.abs(flex))[0, 1] > 0.9, placement
        slope = np.polyfit(np.abs(flex), mag, 1)[0] * 90.0
        assert lo < slope < hi, (placement, slope)
        art = sta.soft_tissue.sensors[placement]
        assert (
            np.argmax(np.abs(art.rot_per_deg)) == 2
            or abs(art.rot_per_deg[2]) > 0.3 * np.abs(art.rot_per_deg).max()
        )
    # the thigh moves more than the shank (typical preset)
    thigh = sta.soft_tissue.sensors["left_thigh"]
    shank = sta.soft_tissue.sensors["left_shank"]
    assert np.linalg.norm(thigh.shift_per_deg) > np.linalg.norm(shank.shift_per_deg)


def _ringing_rms(result, placement: str) -> float:
    """RMS of the sensor's rotation relative to its segment, from the ringing part alone (0.1 s after contacts)."""
    art = result.soft_tissue.sensors[placement]
    side = placement.split("_")[0]
    ics = result.strides[result.strides.side == side].ic.to_numpy()
    t = (ics[:, None] + np.linspace(0.0, 0.1, 50)).ravel()
    poses = result.model.evaluate(t, segments=result.soft_tissue.needs(placement))
    S, _ = result.soft_tissue.offset(placement, t, poses)
    v = Rotation.from_matrix(S).as_rotvec()
    # remove the smooth flexion-following part by its own evaluation
    Rt, Rs = poses[f"{side}_thigh"][0], poses[f"{side}_shank"][0]
    flex = knee_angles(Rt, Rs, side)[:, 0] - result.soft_tissue.flexion_ref[side]
    return float(np.sqrt(np.mean((v - flex[:, None] * art.rot_per_deg) ** 2)))


def test_contact_ringing_is_larger_in_running_and_decays():
    walk = simulate(
        SimConfig.walk(strides=5, placements=("left_thigh",), soft_tissue="typical"), seed=1
    )
    run = simulate(
        SimConfig.run(strides=5, placements=("left_thigh",), soft_tissue="typical"), seed=1
    )
    w, r = _ringing_rms(walk, "left_thigh"), _ringing_rms(run, "left_thigh")
    assert 0.05 < np.degrees(w) < 1.0 and r > 1.8 * w
    art = run.soft_tissue.sensors["left_thigh"]
    assert 10.0 < art.freq_hz < 20.0
    from imu_gait.simulate.soft_tissue import ringing

    tau = np.linspace(0.0, 0.3, 3001)
    y = ringing(tau, art.freq_hz, art.decay_s)
    assert np.abs(y[tau > 0.12]).max() < 0.1 * np.abs(y).max()  # decays within ~0.1 s
    assert y[0] == 0.0 and abs(y[1]) < 1e-6  # smooth onset


def test_presets_scale_and_unknown_names_fail(tmp_path):
    typ, strong = SoftTissue.typical(), SoftTissue.strong()
    assert strong.thigh.rotation_per_90[2] == pytest.approx(2 * typ.thigh.rotation_per_90[2])
    assert typ.thigh.rotation_per_90[2] > typ.shank.rotation_per_90[2]
    with pytest.raises(ValueError, match="soft_tissue"):
        SimConfig.walk(strides=2, soft_tissue="wobbly")
    r = simulate(
        SimConfig.walk(strides=2, rate_hz=50.0, placements=LEGS, soft_tissue="strong"), seed=2
    )
    out = save(r, tmp_path / "s")
    info = json.loads((out / "truth.json").read_text())
    assert set(info["soft_tissue"]) == {"left_thigh", "left_shank", "right_thigh", "pelvis"}
    thigh = info["soft_tissue"]["left_thigh"]["rotation_deg_per_90deg_flexion"]
    assert 4.0 <= max(abs(v) for v in thigh) <= 12.0
    off = simulate(SimConfig.walk(strides=2, rate_hz=50.0, placements=LEGS), seed=2)
    assert off.soft_tissue is None
    assert json.loads((save(off, tmp_path / "o") / "truth.json").read_text())["soft_tissue"] is None
