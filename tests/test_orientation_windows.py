"""A window of a recording filtered with the recording's gyroscope-bias estimate has the recording's orientation
(the replay of a saved session relies on it: issue 8)."""

from __future__ import annotations

import numpy as np
import pytest

from imu_gait.pipeline.vqf_orientation import bias_series, common_grid, orientations_on_grid
from imu_gait.session import ImuData
from imu_gait.simulate import SimConfig, simulate
from imu_gait.simulate.config import SensorNoise


def _tilt_deg(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    """Angle (deg) between the sensor-frame up directions of two orientation series (heading ignored)."""
    ua, ub = Ra[:, 2, :], Rb[:, 2, :]
    return np.degrees(np.arccos(np.clip(np.sum(ua * ub, axis=1), -1.0, 1.0)))


@pytest.fixture(scope="module")
def running():
    # gyroscope biases that wander (0.05 deg/s/sqrt(s)): the filter tracks them over the whole recording
    noise = SensorNoise(gyr_bias_walk=0.05)
    cfg = SimConfig.run(strides=100, placements=("left_thigh", "left_shank"), noise=noise)
    imus = dict(simulate(cfg, seed=2).session.data)
    grid = common_grid(list(imus.values()))
    whole = orientations_on_grid(imus, grid)
    return imus, grid, whole, bias_series(whole)


def test_the_offline_filter_is_the_filter_without_bias_estimation_on_the_corrected_gyroscope(
    running,
) -> None:
    imus, grid, whole, series = running
    assert max(np.abs(b).max() for _, b in series.values()) > 0.1  # a bias was estimated
    again = orientations_on_grid(imus, grid, bias_series=series)
    zero = {n: (t, np.zeros_like(b)) for n, (t, b) in series.items()}
    uncorrected = orientations_on_grid(imus, grid, bias_series=zero)
    for n in imus:
        assert _tilt_deg(again[n].R, whole[n].R).max() < 0.01
        # the series carries the correction: without it (and without estimation) the tilt drifts off
        assert _tilt_deg(uncorrected[n].R, whole[n].R).max() > 0.2


@pytest.mark.parametrize(("lead", "tail", "tol"), [(40.0, 20.0, 0.2), (20.0, 10.0, 0.3)])
def test_a_window_with_the_recordings_bias_estimate_has_the_recordings_inclination(
    running, lead, tail, tol
) -> None:
    """The replay's knee windows (40 s before, 20 s after; the live ones 20 s + 10 s)."""
    imus, grid, whole, series = running
    t_mid = grid[grid.size // 2]
    lo, hi = t_mid - lead, t_mid + tail
    part = {}
    for n, d in imus.items():
        m = (d.t >= lo) & (d.t <= hi)
        part[n] = ImuData(d.t[m], d.acc[m], d.gyr[m])
    inside = np.flatnonzero((grid >= lo) & (grid <= hi))
    near = np.abs(grid[inside] - t_mid) <= 2.0
    given = orientations_on_grid(part, grid[inside], bias_series=series)
    for n in imus:
        assert _tilt_deg(given[n].R[near], whole[n].R[inside[near]]).max() < tol
