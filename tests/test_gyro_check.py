"""The gyroscope-vs-accelerometer check (imu_gait.pipeline.frame_check): wrong units, signs and axis orders are
found on the real walk and on simulated sensors, correct data of any mounting pass, and `analyze` / `info` report
it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from test_strides_real import RATE, STATIC, read_gaitmap_walk

import imu_gait as ig
from imu_gait.pipeline.analysis import analyze
from imu_gait.pipeline.frame_check import check_gyro
from imu_gait.session import ImuData, SensorInfo, Session
from imu_gait.simulate import SimConfig, simulate


@pytest.fixture(scope="module")
def walk():
    return read_gaitmap_walk()


# recorded gyroscope -> the reading that undoes it
WRONG = {
    "negated (left-handed frame)": (lambda g: -g, "-x,-y,-z", 1.0),
    "x and y swapped": (lambda g: g[:, [1, 0, 2]], "y,x,z", 1.0),
    "z negated": (lambda g: g * [1, 1, -1], "x,y,-z", 1.0),
    "rad/s taken as deg/s": (lambda g: np.radians(g), "x,y,z", np.degrees(1.0)),
    "rad/s and negated": (lambda g: -np.radians(g), "-x,-y,-z", np.degrees(1.0)),
    "range half the decoder's": (lambda g: 0.5 * g, "x,y,z", 2.0),
    "range four times the decoder's": (lambda g: 4.0 * g, "x,y,z", 0.25),
}


@pytest.mark.parametrize("side", ["left", "right"])
def test_the_real_walk_passes_in_any_mounting(walk, side):
    acc, gyr = walk[side]
    c = check_gyro(acc, gyr, RATE)
    assert c.verdict == "consistent" and c.intervals >= 25 and c.residual < 0.5
    for seed in range(3):
        Q = Rotation.random(random_state=seed).as_matrix()
        c = check_gyro(acc @ Q.T, gyr @ Q.T, RATE)
        assert c.verdict == "consistent" and c.residual < 0.5
    # a mirror image of the whole sensor (accelerometer negated) moves consistently: not visible here
    assert check_gyro(-acc, gyr, RATE).verdict == "consistent"


@pytest.mark.parametrize("name", list(WRONG))
@pytest.mark.parametrize("side", ["left", "right"])
def test_wrong_readings_of_the_real_walk_are_found_and_named(walk, side, name):
    acc, gyr = walk[side]
    spoil, axes, scale = WRONG[name]
    c = check_gyro(acc, spoil(gyr), RATE)
    assert c.verdict == "mismatch", c
    assert c.residual > 4 * c.best_residual and c.best_residual < 0.5
    assert c.identified and c.axes == axes and c.scale == pytest.approx(scale)
    assert "does not agree" in c.describe()


@pytest.mark.parametrize("activity", ["walk", "run", "squats"])
def test_simulated_sensors(activity):
    places = ("left_foot", "left_shank", "left_thigh", "pelvis")
    cfg = {
        "walk": SimConfig.mixed(rate_hz=100.0),
        "run": SimConfig.run(strides=20, rate_hz=200.0),
        "squats": SimConfig.squats(reps=4, rate_hz=100.0),
    }[activity]
    sim = simulate(cfg.with_(mounting="random", placements=places, soft_tissue="typical"), seed=3)
    for p in places:
        d = sim.session.data[p]
        rate = sim.config.rate_hz
        ok, bad = check_gyro(d.acc, d.gyr, rate), check_gyro(d.acc, -d.gyr, rate)
        if p == "pelvis":  # turns 5-10 deg between rests: no test of it
            assert ok.verdict == bad.verdict == "undetermined"
            continue
        # correct data are never called wrong; with fewer than three rest-to-rest intervals (a run or squats
        # between two standing periods) the check may abstain
        assert ok.verdict == "consistent" or (ok.verdict == "undetermined" and ok.intervals < 3), (
            p,
            ok,
        )
        assert bad.verdict == "mismatch", (p, bad)
        # the reading that undoes it is named when it stands out (it does with five intervals or more)
        assert bad.axes == "-x,-y,-z" if bad.identified else bad.to_json()["axes"] is None, (p, bad)
        if bad.intervals >= 5:
            assert bad.identified and bad.scale == 1.0, (p, bad)


def _session(walk, spoil=lambda g: g) -> Session:
    data, sensors = {}, {}
    for side, (acc, gyr) in walk.items():
        t = np.arange(acc.shape[0]) / RATE
        data[f"{side}_foot"] = ImuData(t, acc, spoil(gyr))
        sensors[f"{side}_foot"] = SensorInfo(family="gaitmap", rate_hz=RATE)
    return Session(data=data, sensors=sensors, calibration={"static": list(STATIC)})


def test_analyze_flags_and_info_warns(walk, tmp_path):
    res = analyze(_session(walk))
    assert all(
        res.quality["sensors"][p]["gyro_check"]["verdict"] == "consistent"
        for p in ("left_foot", "right_foot")
    )
    assert not res.strides["quality"].str.contains("gyro_mismatch").any()

    bad = _session(walk, lambda g: np.radians(g))  # a decoder that forgot the unit
    res = analyze(bad)
    checks = [res.quality["sensors"][p]["gyro_check"] for p in ("left_foot", "right_foot")]
    assert all(c["verdict"] == "mismatch" and c["scale"] > 57 for c in checks)
    assert sum("read in rad/s instead of deg/s" in w for w in res.quality["warnings"]) == 2
    # with the gyroscope negated strides are still found: each one says it is not to be trusted
    res = analyze(_session(walk, lambda g: -g))
    assert len(res.strides) > 40 and res.strides["quality"].str.contains("gyro_mismatch").all()

    folder = ig.save_session(bad, tmp_path / "bad")
    r = subprocess.run(
        [sys.executable, "-m", "imu_gait", "info", str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["sensors"]["left_foot"]["gyro_check"]["verdict"] == "mismatch"
    assert any("left_foot: the gyroscope does not agree" in w for w in info["warnings"])
    text = subprocess.run(
        [sys.executable, "-m", "imu_gait", "info", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "gyroscope vs accelerometer: WRONG left_foot, right_foot" in " ".join(text.split())


def test_the_live_analysis_and_replay_report_a_mismatched_gyroscope(walk, tmp_path):
    """While recording (live calibration) the board shows the warning once the sensor is calibrated; a replay
    with the session's calibration prints it."""
    from imu_gait.live_strides import warnings as board_warnings
    from imu_gait.replay import analyzer_for, replay

    session = _session(
        walk, lambda g: 0.5 * g
    )  # the sensors set to +-1000 deg/s, decoded as +-2000
    analyzer = analyzer_for(session, calibration="live", knee=False)
    seen_at = []

    def tick(t: float) -> None:
        if not seen_at and any("does not agree" in w for w in board_warnings(analyzer)):
            seen_at.append(t)

    replay(session, analyzer, on_tick=tick)
    # this walk's standing window is at its end (36.75-38.5 s): the live calibration waits for it
    assert seen_at and seen_at[0] <= 38.6
    lines = [w for w in board_warnings(analyzer) if "does not agree" in w]
    assert sorted(w.split(":")[0] for w in lines) == ["left_foot", "right_foot"]
    assert all("multiplied by 2" in w for w in lines)
    # correct data: nothing of the kind
    analyzer = analyzer_for(_session(walk), calibration="live", knee=False)
    replay(_session(walk), analyzer)
    assert not any("does not agree" in w for w in board_warnings(analyzer))

    folder = ig.save_session(session, tmp_path / "half")
    r = subprocess.run(
        [sys.executable, "-m", "imu_gait", "replay", str(folder), "--speed", "max"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("does not agree") == 2


def test_knee_results_of_a_mismatched_thigh_are_left_out():
    """A left thigh sensor decoded with the wrong sign: the left knee's columns, curves and repetitions are
    blank with a warning; the right knee's stay as they were."""
    import dataclasses

    places = (
        "left_foot",
        "right_foot",
        "left_thigh",
        "left_shank",
        "right_thigh",
        "right_shank",
        "pelvis",
    )
    sim = simulate(SimConfig.mixed(rate_hz=100.0).with_(placements=places), seed=2)
    good = analyze(sim.session)
    d = sim.session.data["left_thigh"]
    data = {**sim.session.data, "left_thigh": ImuData(d.t, d.acc, -d.gyr)}
    bad = analyze(dataclasses.replace(sim.session, data=data))
    assert bad.quality["sensors"]["left_thigh"]["gyro_check"]["verdict"] == "mismatch"
    assert any("left_thigh" in w and "left out" in w for w in bad.quality["warnings"])
    left = bad.strides["side"] == "left"
    assert bad.strides.loc[left, "knee_abduction_peak"].isna().all()
    assert (
        good.strides.loc[good.strides["side"] == "left", "knee_abduction_peak"].notna().mean() > 0.8
    )
    knee = bad.curves["variable"].isin(["knee_abduction", "knee_flexion"])
    assert not (knee & (bad.curves["side"] == "left")).any()
    assert (knee & (bad.curves["side"] == "right")).any()
    assert set(bad.squats["side"]) == {"right"} and set(good.squats["side"]) == {"left", "right"}
    right = good.strides["side"] == "right"
    assert np.allclose(
        bad.strides.loc[right, "knee_abduction_peak"],
        good.strides.loc[right, "knee_abduction_peak"],
        equal_nan=True,
    )
