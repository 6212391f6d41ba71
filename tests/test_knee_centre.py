"""The knee centre relative to each sensor and the gyroscopes' standing readings are part of the knee
calibration: a window analysed with a given calibration (the online analyzer, a later session of the same
strapping) uses the calibration's centre instead of estimating its own, and starts its orientation filter from
the standing gyroscope bias when it has no standing of its own; calibrations saved without them still load (the
centre is then estimated)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from imu_gait.errors import FormatError
from imu_gait.knee_calibration import load_knee_calibration
from imu_gait.pipeline.knee import analyze_knee, calibration_from_dict, calibration_to_dict
from imu_gait.session import ImuData, Session
from imu_gait.simulate import SimConfig, simulate

LEGS = ("left_thigh", "left_shank", "right_thigh", "right_shank")
COLS = ["knee_abduction_ic", "knee_abduction_peak", "knee_frontal_excursion"]


@pytest.fixture(scope="module")
def walk():
    sim = simulate(SimConfig.walk(strides=14, rate_hz=100.0, placements=LEGS), seed=12)
    strides = sim.strides[["side", "stride", "activity", "ic", "fc", "end"]]
    return sim, strides, analyze_knee(sim.session, strides)


def _window(session: Session, t0: float, t1: float) -> Session:
    data = {}
    for p, d in session.data.items():
        m = (d.t >= t0) & (d.t <= t1)
        data[p] = ImuData(d.t[m], d.acc[m], d.gyr[m])
    return Session(data=data, sensors=dict(session.sensors), calibration={}, events=[])


def _stride_window(sim, strides, k: int):
    """The online analyzer's provisional window of the k-th left stride: 3 s before its IC to 0.3 s after
    its end."""
    row = strides[strides["side"] == "left"].iloc[k]
    win = _window(sim.session, row["ic"] - 3.0, row["end"] + 0.3)
    return win, strides[(strides["side"] == "left") & (strides["stride"] == row["stride"])]


def test_the_calibration_carries_the_knee_centre_through_json(walk) -> None:
    _, _, res = walk
    for side, cal in res.calibration.items():
        assert cal.centre is not None
        thigh, shank = cal.centre
        # sensors strapped on the segments: the knee centre lies within a few decimetres of each
        assert 0.05 < np.linalg.norm(thigh) < 0.45 and 0.03 < np.linalg.norm(shank) < 0.45
        assert res.quality["knee_centre"][side]["source"] == "estimated"
        back = calibration_from_dict(json.loads(json.dumps(calibration_to_dict(cal))))
        np.testing.assert_allclose(back.centre_thigh, thigh, atol=1e-8)
        np.testing.assert_allclose(back.centre_shank, shank, atol=1e-8)


def test_windows_with_a_given_calibration_use_its_knee_centre(walk) -> None:
    sim, strides, res = walk
    cal = res.calibration
    whole = res.stride_columns.set_index(["side", "stride"])
    seen = []
    for k in (4, 8):
        win, mine = _stride_window(sim, strides, k)
        out = analyze_knee(win, mine, calibration={"left": cal["left"]})
        centre = out.quality["knee_centre"]["left"]
        assert centre["source"] == "calibration"
        assert centre["thigh_sensor_to_knee_m"] == pytest.approx(
            np.linalg.norm(cal["left"].centre_thigh), abs=1e-3
        )
        seen.append((centre["thigh_sensor_to_knee_m"], centre["shank_sensor_to_knee_m"]))
        row = out.stride_columns.set_index(["side", "stride"]).loc[("left", mine["stride"].iloc[0])]
        ref = whole.loc[("left", mine["stride"].iloc[0])]
        assert np.abs(row[COLS].to_numpy(float) - ref[COLS].to_numpy(float)).max() < 0.5
    assert seen[0] == seen[1]


def test_windows_start_from_the_standing_gyroscope_bias(walk) -> None:
    sim, strides, res = walk
    for side, cal in res.calibration.items():
        for seg in ("thigh", "shank"):
            true = np.asarray(sim.sensor_errors[f"{side}_{seg}"]["gyr_bias"])
            np.testing.assert_allclose(getattr(cal, f"bias_{seg}"), true, atol=0.03)
    # windows of a few seconds without the standing: with the standing bias their knee columns come closer to
    # the whole session's than when the orientation filter has to find the bias itself
    cal = res.calibration["left"]
    unknown = replace(cal, bias_thigh=None, bias_shank=None)
    whole = res.stride_columns.set_index(["side", "stride"])
    diff: dict[str, list[float]] = {"bias": [], "none": []}
    for k in range(2, 12):
        win, mine = _stride_window(sim, strides, k)
        ref = whole.loc[("left", mine["stride"].iloc[0])][COLS].to_numpy(float)
        for label, c in (("bias", cal), ("none", unknown)):
            out = analyze_knee(win, mine, calibration={"left": c}).stride_columns
            diff[label].append(np.abs(out[COLS].to_numpy(float)[0] - ref).max())
    assert max(diff["bias"]) <= 0.25
    assert np.mean(diff["bias"]) < 0.7 * np.mean(diff["none"])


def test_a_calibration_saved_without_the_knee_centre_still_works(walk, tmp_path) -> None:
    sim, strides, res = walk
    old = {}
    for side, cal in res.calibration.items():
        d = calibration_to_dict(cal)
        for k in ("centre_thigh", "centre_shank", "bias_thigh", "bias_shank"):
            del d[k]
        old[side] = d
    path = tmp_path / "quality.json"
    path.write_text(json.dumps({"knee": {"calibration": old}}))
    saved = load_knee_calibration(path)
    assert saved.sides["left"].centre is None
    win, mine = _stride_window(sim, strides, 6)
    out = analyze_knee(win, mine, calibration={"left": saved.sides["left"]})
    assert out.quality["knee_centre"]["left"]["source"] == "estimated"
    new = analyze_knee(win, mine, calibration={"left": res.calibration["left"]})
    a = out.stride_columns[COLS].to_numpy(float)
    b = new.stride_columns[COLS].to_numpy(float)
    assert np.isfinite(a).all() and np.abs(a - b).max() < 0.5


def test_a_malformed_knee_centre_is_named(walk, tmp_path) -> None:
    _, _, res = walk
    path = tmp_path / "cal.json"
    for key, value, problem in (
        ("centre_shank", [0.1, 0.2], "3 numbers"),
        ("centre_shank", [0.0, 0.0, 2.0], "not a knee centre"),
        ("bias_thigh", [0.0, 90.0, 0.0], "3 numbers"),
    ):
        d = calibration_to_dict(res.calibration["left"])
        d[key] = value
        path.write_text(json.dumps({"calibration": {"left": d}}))
        with pytest.raises(FormatError, match=f"{key}.*{problem}"):
            load_knee_calibration(path)
    d = calibration_to_dict(res.calibration["left"])
    d["centre_shank"] = d["bias_thigh"] = None
    path.write_text(json.dumps({"calibration": {"left": d}}))
    saved = load_knee_calibration(path).sides["left"]
    assert saved.centre is None and saved.bias_thigh is None and saved.bias_shank is not None
