"""The foot pipeline on simulated sessions with known truth: random mounting on both feet, 100-200 Hz, sensor
noise, bias, scale errors and quantisation (imu_gait.simulate). Bounds are the issue's targets where they are
reached robustly; benchmarks/bench_foot.py prints the figures over more seeds and rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.analysis import analyze
from imu_gait.pipeline.evaluation import match_strides
from imu_gait.simulate import SimConfig, simulate

FEET = ("left_foot", "right_foot")


def run(config: SimConfig, seed: int):
    sim = simulate(config.with_(placements=FEET), seed=seed)
    res = analyze(sim.session)
    ev = match_strides(res.strides, sim.strides, 0.15, res.curves, sim.curves)
    return sim, res, ev


@pytest.fixture(scope="module", params=[100.0, 200.0], ids=["100Hz", "200Hz"])
def walk(request):
    return run(
        SimConfig.walk(strides=15, speed=1.3, rate_hz=request.param, mounting="random"), seed=11
    )


@pytest.fixture(scope="module")
def stairs():
    return run(SimConfig.stairs(flights=1, rate_hz=200.0, mounting="random"), seed=12)


@pytest.fixture(scope="module")
def running():
    return run(SimConfig.run(strides=15, speed=3.5, rate_hz=200.0, mounting="random"), seed=13)


def test_walk_strides_events_and_length(walk):
    _, _, ev = walk
    assert ev.f1 >= 0.99
    assert np.median(np.abs(ev.error("ic"))) <= 0.025
    assert np.median(np.abs(ev.relative_error("stride_length"))) <= 0.02
    assert np.max(np.abs(ev.error("elevation_change"))) <= 0.08
    assert ev.activity_accuracy() >= 0.98


def test_walk_pronation_against_truth(walk):
    _, _, ev = walk
    assert np.median(ev.pairs["curve_rmse"]) <= 2.0
    assert np.median(np.abs(ev.error("eversion_excursion"))) <= 1.5
    assert np.median(np.abs(ev.relative_error("eversion_velocity_peak"))) <= 0.10


def test_estimated_alignment_recovers_the_random_mounting(walk):
    sim, res, _ = walk
    for placement in FEET:
        R = np.asarray(res.quality["sensors"][placement]["alignment"]["R_sensor_to_foot"])
        err = np.degrees(Rotation.from_matrix(R @ sim.mounting[placement].T).magnitude())
        assert err < 3.0, (placement, err)
        assert res.quality["sensors"][placement]["alignment"]["confidence"] > 0.7


def test_stairs_elevation_and_activity(stairs):
    _, _, ev = stairs
    assert ev.f1 >= 0.99
    on_stairs = ev.pairs["activity_ref"].isin(["stairs_up", "stairs_down"]).to_numpy()
    assert on_stairs.sum() >= 8
    err = np.abs(ev.error("elevation_change"))[on_stairs]
    assert np.median(err) <= 0.03
    assert ev.activity_accuracy() >= 0.95
    # a stride over two steps climbs 0.2-0.45 m (the last stride of a flight may take one step)
    two_steps = ev.pairs[np.abs(ev.pairs["elevation_change_ref"]) > 0.25]
    assert (np.abs(two_steps["elevation_change_det"]) > 0.2).mean() >= 0.9


def test_running_strides_length_and_activity(running):
    _, res, ev = running
    assert ev.f1 >= 0.99
    assert np.median(np.abs(ev.relative_error("stride_length"))) <= 0.04
    assert ev.activity_accuracy() >= 0.95
    assert (res.strides["activity"] == "run").mean() >= 0.9


def test_clipped_sensor_still_segments_and_flags(walk):
    sim, _, _ = walk
    cfg = sim.config.with_(acc_range_g=4.0, gyr_range_dps=300.0)
    _, res, ev = run(cfg, seed=11)
    assert ev.f1 >= 0.97
    assert res.strides["quality"].str.contains("saturated").mean() > 0.5


def test_swapped_sides_are_reported(walk):
    """Sensors on the wrong shoes walk 'toe-in' on every stride and invert after contact: the analysis says
    both."""
    sim, res, _ = walk
    assert not any("swapped" in w for w in res.quality["warnings"])
    sess = sim.session
    swapped = type(sess)(
        data={"left_foot": sess.data["right_foot"], "right_foot": sess.data["left_foot"]},
        sensors={"left_foot": sess.sensors["right_foot"], "right_foot": sess.sensors["left_foot"]},
        calibration=sess.calibration,
    )
    warnings = analyze(swapped).quality["warnings"]
    assert sum("swapped" in w and "toe-in" in w for w in warnings) == 2
    assert sum("swapped" in w and "inverts after contact" in w for w in warnings) == 2


@pytest.mark.parametrize("seed", [1, 2])
def test_running_at_100hz_eversion_of_every_unflagged_stride(seed: int) -> None:
    # a running foot's SHOE statistic can dip below the still threshold for one sample at mid-stance while the
    # foot accelerates; taking gravity from the accelerometer there tilted whole stance curves by 8-11 deg
    ev = run(SimConfig.run(strides=20, rate_hz=100.0, mounting="random"), seed=seed)[2]
    p = ev.pairs
    assert ev.fn == 0 and len(p) >= 36
    ok = p["quality_det"] == "ok"
    assert ok.mean() >= 0.9
    assert p.loc[ok, "curve_rmse"].max() <= 4.0, p.loc[ok, "curve_rmse"].round(1).tolist()
    assert np.quantile(p["curve_rmse"], 0.9) <= 2.5
