"""The foot's long axis (heading of the sensor-to-foot alignment) on simulated stair sessions, whose 180 deg turn
on the landing tilted the rotation axis of the few strides a flight has; and how a heading error of the long axis
shows in the eversion curve (the reason it matters, docs/metrics.md)."""

from __future__ import annotations

import numpy as np
import pytest

from imu_gait.anatomy import rot_z
from imu_gait.pipeline.analysis import analyze, prepare_sensor
from imu_gait.pipeline.calibration import refine_foot_alignment, turning_strides
from imu_gait.pipeline.evaluation import match_strides
from imu_gait.pipeline.foot import analyze_foot
from imu_gait.simulate import SimConfig, simulate

FEET = ("left_foot", "right_foot")


def heading_error(R: np.ndarray, R_true: np.ndarray) -> float:
    """Angle (deg) between the estimated and the true long axis (x) in the horizontal plane."""
    return float(np.degrees(np.arctan2(R[0] @ R_true[1], R[0] @ R_true[0])))


def stride_bounds(ev) -> np.ndarray:
    k = np.flatnonzero(ev.stride_ok)
    return np.column_stack([np.floor(ev.ic[k]), np.ceil(ev.ic[k + 1])]).astype(np.int64)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_turning_strides_do_not_tilt_the_long_axis(seed: int) -> None:
    sim = simulate(SimConfig.stairs(flights=1, placements=FEET), seed=seed)
    for p in FEET:
        prep, static = prepare_sensor(sim.session, p)
        res = analyze_foot(
            float(prep.t[0]), prep.acc, prep.gyr, prep.rate_hz, p.split("_")[0], static=static
        )
        # the foot step itself leaves the turns out
        assert abs(heading_error(res.alignment.R, sim.mounting[p])) < 5.0, p
        bounds = stride_bounds(res.events)
        turns = turning_strides(prep.gyr, res.alignment.R, bounds, prep.rate_hz)
        # the landing's turn is two strides of each foot; the flights are straight
        assert 1 <= turns.sum() <= 3 and (~turns).sum() >= 7
        al = refine_foot_alignment(prep.acc, prep.gyr, res.alignment, bounds, rate_hz=prep.rate_hz)
        # with every stride the error was 7-9 deg on the right foot
        assert abs(heading_error(al.R, sim.mounting[p])) < 5.0, p
        assert np.degrees(np.arccos(min(al.R[2] @ sim.mounting[p][2], 1.0))) < 2.0


def test_a_heading_error_of_the_long_axis_shows_in_the_eversion_excursion() -> None:
    """Declaring the true mounting with its long axis turned 10 deg laterally leaks push-off and contact pitch
    into eversion: the walking excursion errs by several degrees instead of a fraction of one."""
    sim = simulate(SimConfig.walk(strides=12, placements=FEET), seed=1)
    true = {p: sim.mounting[p] for p in FEET}
    turned = {p: rot_z(-10.0 if p == "left_foot" else 10.0) @ sim.mounting[p] for p in FEET}
    err = {}
    for name, m in (("true", true), ("turned", turned)):
        res = analyze(sim.session, mounting=m)
        ev = match_strides(res.strides, sim.strides, 0.15)
        err[name] = float(np.median(np.abs(ev.error("eversion_excursion"))))
    assert err["true"] < 1.0
    assert err["turned"] > 3.0
