"""The loading-eversion check: a foot sensor seen in a mirror (on the other foot, or an accelerometer with the
opposite sign convention) is reported, a normal walk is not (real gaitmap walk and simulated sessions)."""

from __future__ import annotations

import numpy as np
import pytest
from test_strides_real import RATE, STATIC, read_gaitmap_walk

from imu_gait.pipeline.analysis import analyze
from imu_gait.session import ImuData, SensorInfo, Session
from imu_gait.simulate import SimConfig, simulate


@pytest.fixture(scope="module")
def walk():
    return read_gaitmap_walk()


def _analyze(walk, acc_sign=(1.0, 1.0), swap=False):
    data, sensors = {}, {}
    for (side, (acc, gyr)), sign in zip(walk.items(), acc_sign, strict=True):
        if swap:
            side = {"left": "right", "right": "left"}[side]
        t = np.arange(acc.shape[0]) / RATE
        data[f"{side}_foot"] = ImuData(t, sign * acc, gyr)
        sensors[f"{side}_foot"] = SensorInfo(family="gaitmap", rate_hz=RATE)
    return analyze(Session(data=data, sensors=sensors, calibration={"static": list(STATIC)}))


def _mirrored(res) -> dict[str, bool]:
    return {
        p: bool(res.quality["sensors"][p]["loading_eversion"]["warning"])
        for p in ("left_foot", "right_foot")
    }


def test_the_real_walk_as_recorded_is_not_mirrored(walk):
    res = _analyze(walk)
    assert _mirrored(res) == {"left_foot": False, "right_foot": False}
    left = res.quality["sensors"]["left_foot"]["loading_eversion"]
    assert left["median_deg"] > 3.0 and left["everting_share"] > 0.9


def test_a_negated_accelerometer_and_swapped_feet_are_reported(walk):
    # the left foot's accelerometer in the "gravity points down" convention: a mirror image of its walk
    res = _analyze(walk, acc_sign=(-1.0, 1.0))
    assert _mirrored(res) == {"left_foot": True, "right_foot": False}
    assert res.quality["sensors"]["left_foot"]["loading_eversion"]["median_deg"] < -4.0
    assert any("inverts after contact" in w for w in res.quality["warnings"])
    # the left shoe's sensor declared as the right one
    res = _analyze(walk, swap=True)
    assert _mirrored(res)["right_foot"]


@pytest.mark.parametrize(
    "cfg",
    [
        SimConfig.walk(strides=20, rate_hz=100.0),
        SimConfig.run(strides=20, rate_hz=200.0, strike="forefoot"),
        SimConfig.stairs(flights=1, rate_hz=100.0),
    ],
    ids=["walk", "run", "stairs"],
)
def test_simulated_feet_evert_after_contact(cfg):
    sim = simulate(cfg.with_(mounting="random", placements=("left_foot", "right_foot")), seed=4)
    res = analyze(sim.session)
    for p in ("left_foot", "right_foot"):
        check = res.quality["sensors"][p]["loading_eversion"]
        assert not check["warning"], check
        if check["strides"] >= 8:  # a stair session has few level strides: no verdict
            assert check["median_deg"] > 3.0, check


def test_the_live_board_says_so_after_the_calibration_period(walk):
    """Sensors on the wrong feet are reported while recording, once the live calibration has run."""
    from imu_gait.live_strides import warnings as board_warnings
    from imu_gait.replay import analyzer_for, replay

    def session(swap: bool) -> Session:
        data, sensors = {}, {}
        for side, (acc, gyr) in walk.items():
            if swap:
                side = {"left": "right", "right": "left"}[side]
            data[f"{side}_foot"] = ImuData(np.arange(acc.shape[0]) / RATE, acc, gyr)
            sensors[f"{side}_foot"] = SensorInfo(family="gaitmap", rate_hz=RATE)
        return Session(data=data, sensors=sensors)  # no standing window: calibration after 20 s

    seen = {}
    for swap in (False, True):
        s = session(swap)
        analyzer = analyzer_for(s, calibration="live", knee=False)
        first = []

        def tick(t: float, a=analyzer, first=first) -> None:
            if not first and any("inverts after contact" in w for w in board_warnings(a)):
                first.append(t)

        replay(s, analyzer, on_tick=tick)
        seen[swap] = first
    assert seen[False] == []
    assert seen[True] and seen[True][0] < 25.0
