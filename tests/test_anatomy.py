"""Side-dependent signs of the anatomical angles: one test per side, with geometry built by hand."""

import numpy as np
import pytest

from imu_gait.anatomy import (
    foot_eversion,
    foot_pitch,
    knee_angles,
    pelvic_drop,
    rot_x,
    rot_y,
    rot_z,
)

UP = np.array([0.0, 0.0, 1.0])


def medial(side):
    return np.array([0.0, -1.0, 0.0]) if side == "left" else np.array([0.0, 1.0, 0.0])


@pytest.mark.parametrize("side", ["left", "right"])
def test_eversion_is_medial_edge_down(side):
    for angle in (5.0, -7.0):
        R = rot_x(angle)
        medial_edge_height = (R @ medial(side))[2]
        ev = float(foot_eversion(R, side))
        assert abs(abs(ev) - abs(angle)) < 1e-9
        assert np.sign(ev) == -np.sign(medial_edge_height)  # medial edge down <=> eversion > 0


@pytest.mark.parametrize("side", ["left", "right"])
def test_eversion_survives_pitch_and_heading(side):
    R_flat_everted = rot_x(6.0 if side == "left" else -6.0)  # 6 deg eversion on either side
    for pitch in (-65.0, -20.0, 0.0, 25.0):
        for heading in (0.0, 90.0, -135.0):
            R = rot_z(heading) @ rot_y(pitch) @ R_flat_everted
            assert float(foot_eversion(R, side)) == pytest.approx(6.0, abs=1e-9)
            assert float(foot_pitch(R)) == pytest.approx(-pitch, abs=1e-9)


@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_valgus_is_distal_shank_lateral(side):
    lateral = -medial(side)
    for tilt in (4.0, -3.0):
        R_shank = rot_x(tilt)  # thigh upright; shank tilted in the frontal plane
        ankle = R_shank @ np.array([0.0, 0.0, -1.0])
        flex, abd, rot = knee_angles(np.eye(3), R_shank, side)
        assert abs(abs(abd) - abs(tilt)) < 1e-9
        assert np.sign(abd) == np.sign(ankle @ lateral)  # ankle lateral of the knee <=> valgus > 0
        assert abs(flex) < 1e-9 and abs(rot) < 1e-9


@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_flexion_positive_when_shank_swings_back(side):
    R_thigh = rot_y(-30.0)  # hip flexed: thigh's distal end forward
    R_shank = R_thigh @ rot_y(50.0)
    flex, abd, _ = knee_angles(R_thigh, R_shank, side)
    assert flex == pytest.approx(50.0) and abd == pytest.approx(0.0, abs=1e-9)
    # valgus measured in the flexed knee is independent of the thigh's pose
    R_shank2 = R_thigh @ rot_y(50.0) @ rot_x(3.0 if side == "left" else -3.0)
    assert knee_angles(R_thigh, R_shank2, side)[1] == pytest.approx(3.0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_internal_rotation_sign(side):
    # internal rotation turns the shank's anterior axis towards the medial side
    R_shank = rot_z(10.0)
    anterior = R_shank @ np.array([1.0, 0.0, 0.0])
    rot = knee_angles(np.eye(3), R_shank, side)[2]
    assert np.sign(rot) == np.sign(anterior @ medial(side))


@pytest.mark.parametrize("stance", ["left", "right"])
def test_pelvic_drop_positive_when_swing_side_drops(stance):
    for roll in (5.0, -5.0):
        R = rot_z(30.0) @ rot_x(roll)
        left_hip_height = (R @ np.array([0.0, 1.0, 0.0]))[2]
        swing_side_height = left_hip_height if stance == "right" else -left_hip_height
        drop = float(pelvic_drop(R, stance))
        assert abs(abs(drop) - 5.0) < 1e-9
        assert np.sign(drop) == -np.sign(swing_side_height)
