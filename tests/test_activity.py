"""Activity per stride (imu_gait.pipeline.activity): turns and drifting level strides are not stairs, stairs of
several geometries still are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.activity import classify_activity, stride_heading_change
from imu_gait.pipeline.analysis import analyze, prepare_sensor
from imu_gait.pipeline.foot import analyze_foot
from imu_gait.pipeline.trajectory import integrate_gyro, quat_to_matrix
from imu_gait.simulate import Activity, SimConfig, simulate

FEET = ("left_foot", "right_foot")


def turning_session(rate_hz: float, strides_per_turn: int, radius: float, speed: float, **kw):
    """Short straight walks joined by sharp turns of both directions."""
    acts = []
    for deg in (180.0, -180.0, 90.0, -90.0, 180.0):
        acts += [
            Activity("walk", strides=3, speed=1.3),
            Activity(
                "turn", turn_deg=deg, turn_radius=radius, strides=strides_per_turn, speed=speed
            ),
        ]
    acts += [Activity("walk", strides=3, speed=1.3), Activity("stand", duration=2.0)]
    return SimConfig(acts, rate_hz=rate_hz, placements=FEET, **kw)


def true_heading_change(sim, placement: str, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    t, R, _ = sim.segment_pose(placement)
    yaw = np.degrees(np.unwrap(Rotation.from_matrix(R).as_euler("ZYX")[:, 0]))
    return np.interp(t1, t, yaw) - np.interp(t0, t, yaw)


def foot_strides(sim, placement: str) -> pd.DataFrame:
    """The foot step's strides of one sensor with the estimated heading change of each stride, its activity by
    :func:`classify_activity` given that heading change, and the matched truth (activity, heading change)."""
    prep, static = prepare_sensor(sim.session, placement)
    side = placement.split("_")[0]
    res = analyze_foot(float(prep.t[0]), prep.acc, prep.gyr, prep.rate_hz, side, static=static)
    R_int = quat_to_matrix(integrate_gyro(prep.gyr @ res.alignment.R.T, prep.rate_hz))
    s = pd.DataFrame({k: v for k, v in res.strides.items() if np.ndim(v) == 1})
    start = np.round((s["ms"].to_numpy() - prep.t[0]) * prep.rate_hz).astype(np.int64)
    ms = res.events.ms
    stop = ms[np.searchsorted(ms, start) + 1]
    s["heading_change"] = stride_heading_change(R_int, start, stop)
    s["activity_new"] = classify_activity(
        s["stride_time"].to_numpy(),
        s["stance_time"].to_numpy(),
        s["stride_length"].to_numpy(),
        s["elevation_change"].to_numpy(),
        s["heading_change"].to_numpy(),
    )
    ref = sim.strides[sim.strides["side"] == side]
    j = np.array([int(np.argmin(np.abs(ref["ic"].to_numpy() - x))) for x in s["ic"]])
    s["truth"] = ref["activity"].to_numpy()[j]
    s["truth_elevation"] = ref["elevation_change"].to_numpy()[j]
    s["truth_heading"] = true_heading_change(
        sim, placement, ref["ic"].to_numpy()[j], ref["end"].to_numpy()[j]
    )
    return s


def test_ramp_and_long_strides_are_not_stairs() -> None:
    # a 1.3 m stride up a 1:10 ramp climbs 0.13 m; a 1.45 m level stride whose trajectory drifted 0.3 m; a stair
    # stride (two steps of 0.17 x 0.28 m) and a single riser from the floor onto the first step
    stride_time = np.full(4, 1.1)
    stance_time = np.full(4, 0.68)
    length = np.array([1.3, 1.45, 0.56, 0.40])
    elevation = np.array([0.13, -0.30, 0.34, -0.17])
    out = classify_activity(stride_time, stance_time, length, elevation)
    assert list(out) == ["walk", "walk", "stairs_up", "stairs_down"]
    # the same stair strides while turning by 60 deg (a turn's drifting trajectory, not a staircase)
    out = classify_activity(stride_time, stance_time, length, elevation, np.full(4, 60.0))
    assert list(out) == ["walk"] * 4


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_sharp_turn_strides_are_not_stairs(seed: int) -> None:
    """Tight single-stride turns sensed with a clipping 500 deg/s gyroscope: the zero-velocity trajectory of a
    turn drifts by 0.1-0.25 m vertically, which made stairs of them."""
    sim = simulate(
        turning_session(200.0, 1, 0.2, 0.8, acc_range_g=8.0, gyr_range_dps=500.0), seed=seed
    )
    s = pd.concat([foot_strides(sim, p) for p in FEET], ignore_index=True)
    turns = np.abs(s["truth_heading"]) > 45.0
    assert turns.sum() >= 8
    # the gyroscope's heading change of each stride is that of the foot (clipping costs a few degrees)
    assert np.abs(s["heading_change"] - s["truth_heading"]).max() < 6.0
    assert set(s["truth"]) == {"walk"}
    assert (s["activity_new"] == "walk").all(), s[s["activity_new"] != "walk"]


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_drifting_straight_strides_are_not_stairs(seed: int) -> None:
    """At 60 Hz, straight strides right after a turn can drift 0.3-0.5 m vertically over 1.45 m: no staircase
    has that slope at that stride length, so the whole pipeline labels them walk."""
    sim = simulate(turning_session(60.0, 2, 0.6, 1.0), seed=seed)
    res = analyze(sim.session)
    for p in FEET:
        side = p.split("_")[0]
        det = res.strides[res.strides["side"] == side]
        ref = sim.strides[sim.strides["side"] == side]
        j = np.array([int(np.argmin(np.abs(ref["ic"].to_numpy() - x))) for x in det["ic"]])
        heading = true_heading_change(sim, p, ref["ic"].to_numpy()[j], ref["end"].to_numpy()[j])
        straight = np.abs(heading) < 10.0
        assert straight.sum() >= 10
        assert (det["activity"].to_numpy()[straight] == "walk").all()


@pytest.mark.parametrize(("riser", "tread"), [(0.15, 0.40), (0.20, 0.25)])
def test_stair_strides_stay_stairs(riser: float, tread: float) -> None:
    """A shallow long-tread and a steep staircase, each with a level approach and exit: every tracked stair
    stride (one or two risers) is still labelled stairs in its direction and every level stride walk."""
    acts = [
        Activity("walk", strides=3, speed=1.2),
        Activity("stairs_up", steps=6, riser=riser, tread=tread),
        Activity("stand", duration=1.5),
        Activity("turn", turn_deg=180.0, strides=2, speed=0.8),
        Activity("stand", duration=1.5),
        Activity("stairs_down", steps=6, riser=riser, tread=tread),
        Activity("walk", strides=3, speed=1.2),
        Activity("stand", duration=1.5),
    ]
    sim = simulate(SimConfig(acts, rate_hz=100.0, placements=FEET), seed=1)
    s = pd.concat([foot_strides(sim, p) for p in FEET], ignore_index=True)
    # stair strides whose trajectory is right (within 5 cm of the true climb; the classification cannot mend a
    # trajectory that lost the step) and level strides
    tracked = np.abs(s["elevation_change"] - s["truth_elevation"]) < 0.05
    climbing = s["truth"].str.startswith("stairs") & tracked
    level = s["truth"] == "walk"
    assert climbing.sum() >= 6 and level.sum() >= 8
    assert (s["activity_new"][climbing] == s["truth"][climbing]).all()
    assert (s["activity_new"][level] == "walk").all()
