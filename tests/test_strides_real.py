"""Strides, events and mounting independence on the real gaitmap walk (../shared/data/gaitmap).

Reference: hand-labelled stride borders (toe-off to toe-off) and optical motion-capture events (ic, tc), both in
samples of imu_sample.csv at 204.8 Hz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly
from scipy.spatial.transform import Rotation

from imu_gait.pipeline.analysis import analyze
from imu_gait.pipeline.foot import analyze_foot
from imu_gait.session import ImuData, SensorInfo, Session

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gaitmap"
RATE = 204.8
STATIC = (36.75, 38.5)  # quiet standing after the walk


def read_gaitmap_walk() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    df = pd.read_csv(DATA / "imu_sample.csv", header=[0, 1], index_col=0)
    out = {}
    for side in ("left", "right"):
        s = df[f"{side}_sensor"]
        out[side] = (
            s[["acc_x", "acc_y", "acc_z"]].to_numpy(float),
            s[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(float),
        )
    return out


def make_session(walk, rotations: dict[str, np.ndarray] | None = None) -> Session:
    data, sensors = {}, {}
    for side, (acc, gyr) in walk.items():
        Q = (rotations or {}).get(side, np.eye(3))
        t = np.arange(acc.shape[0]) / RATE
        data[f"{side}_foot"] = ImuData(t, acc @ Q.T, gyr @ Q.T)
        sensors[f"{side}_foot"] = SensorInfo(family="gaitmap", rate_hz=RATE)
    return Session(data=data, sensors=sensors, calibration={"static": list(STATIC)})


@pytest.fixture(scope="module")
def walk():
    return read_gaitmap_walk()


@pytest.fixture(scope="module")
def analysis(walk):
    return analyze(make_session(walk))


@pytest.fixture(scope="module")
def borders():
    return pd.read_csv(DATA / "stride_borders_sample.csv")


@pytest.fixture(scope="module")
def mocap():
    return pd.read_csv(DATA / "stride_events_sample.csv")


def stride_f1(labelled: pd.DataFrame, toe_off: np.ndarray, ic: np.ndarray, tol_s: float = 0.06):
    """Match labelled toe-off-to-toe-off strides to detected swings (toe-off within ``tol_s`` of the labelled
    start and a detected IC inside the labelled stride). A detection counts as false when it matches nothing
    and lies inside a stretch the labeller covered without interruption (unlabelled turns and bout ends are not
    judged)."""
    used, tp = set(), 0
    for r in labelled.itertuples():
        d = np.abs(toe_off - r.start)
        j = int(np.nanargmin(d))
        if d[j] <= tol_s * RATE and j not in used and ((ic > r.start) & (ic < r.end)).any():
            used.add(j)
            tp += 1
    starts, ends = labelled["start"].to_numpy(), labelled["end"].to_numpy()
    covered = [
        (a, b) for a, b, nxt in zip(starts[:-1], ends[:-1], starts[1:], strict=True) if b == nxt
    ]
    covered = [(starts[0], ends[0]), *covered, (starts[-1], ends[-1])]
    fp = 0
    for j, x in enumerate(toe_off):
        if j in used or not np.isfinite(x):
            continue
        if any(a <= x < b for a, b in covered):
            fp += 1
    fn = len(labelled) - tp
    return 2 * tp / (2 * tp + fp + fn), tp, fp, fn


@pytest.mark.parametrize("side", ["left", "right"])
def test_every_labelled_stride_is_found(analysis, borders, side):
    ev = analysis.extra["events"][f"{side}_foot"]
    st = analysis.extra["events"][f"{side}_foot_stances"]
    f1, tp, fp, fn = stride_f1(
        borders[borders["foot"] == side],
        ev["toe_off"].to_numpy() * RATE,
        st["ic"].to_numpy() * RATE,
    )
    assert fn == 0, f"{fn} labelled strides missed"
    assert f1 >= 0.99, (f1, tp, fp, fn)


@pytest.mark.parametrize("side", ["left", "right"])
def test_events_agree_with_motion_capture(analysis, mocap, side):
    s = analysis.strides[analysis.strides["side"] == side]
    ref = mocap[mocap["foot"] == side]
    ic = s["ic"].to_numpy() * RATE
    fc = s["fc"].to_numpy() * RATE
    d_ic = np.array([ic[np.argmin(np.abs(ic - x))] - x for x in ref["ic"]]) / RATE
    d_fc = np.array([fc[np.argmin(np.abs(fc - x))] - x for x in ref["tc"]]) / RATE
    assert np.mean(np.abs(d_ic)) <= 0.020
    assert np.median(np.abs(d_ic)) <= 0.015
    assert np.median(np.abs(d_fc)) <= 0.020
    # no motion-capture contact is off by more than 35 ms (up to 41.5 ms while the heel pad's delay tapered off
    # with the distance from the end of the rotation to the shock, which reached 42 ms on this walk)
    assert np.max(np.abs(d_ic)) <= 0.035


@pytest.mark.parametrize(("down", "found_min", "max_ms"), [(2, 1.0, 40.0), (4, 0.96, 60.0)])
def test_lower_sampling_rates_find_the_same_contacts(walk, mocap, down, found_min, max_ms):
    """The walk resampled to 102.4 and 51.2 Hz (anti-aliased, as cheaper sensors stream): the motion-capture
    contacts are still found (at 51.2 Hz one of 57 may be missed), without a shift of their mean."""
    rate = RATE / down
    data, sensors = {}, {}
    for side, (acc, gyr) in walk.items():
        a, g = resample_poly(acc, 1, down, axis=0), resample_poly(gyr, 1, down, axis=0)
        data[f"{side}_foot"] = ImuData(np.arange(a.shape[0]) / rate, a, g)
        sensors[f"{side}_foot"] = SensorInfo(family="gaitmap", rate_hz=rate)
    res = analyze(Session(data=data, sensors=sensors, calibration={"static": list(STATIC)}))
    for side in ("left", "right"):
        ic = res.strides.loc[res.strides["side"] == side, "ic"].to_numpy()
        ref = mocap.loc[mocap["foot"] == side, "ic"].to_numpy() / RATE
        d = np.array([ic[np.argmin(np.abs(ic - x))] - x for x in ref])
        hit = np.abs(d) <= max_ms / 1000
        assert hit.mean() >= found_min, (side, d)
        assert -0.005 <= d[hit].mean() <= 0.020, (side, d[hit].mean())


def test_level_walk_strides_are_plausible(analysis):
    s = analysis.strides
    assert set(s["activity"]) == {"walk"}
    straight = s[s["stride_length"] > 1.0]
    assert len(straight) >= 50
    # a healthy adult at about 1.2-1.3 m/s: strides 1.2-1.6 m, cadence about 110 steps/min, flat ground
    assert 1.2 < straight["stride_length"].median() < 1.6
    assert 95 < s["cadence"].median() < 125
    assert np.abs(s["elevation_change"]).max() < 0.12
    assert 0.55 < (s["stance_time"] / s["stride_time"]).median() < 0.7
    # clearance of a shoe sensor in level walking: several cm, not metres
    assert 0.03 < s["foot_clearance"].median() < 0.3


MOUNTINGS = {
    "random-1": Rotation.random(random_state=1).as_matrix(),
    "random-7": Rotation.random(random_state=7).as_matrix(),
    "upside-down": Rotation.from_euler("xz", [180, 35], degrees=True).as_matrix(),
    "heel-counter": Rotation.from_euler("yz", [-90, 180], degrees=True).as_matrix(),
}


@pytest.fixture(scope="module")
def aligned_results(walk):
    out = {}
    for side, (acc, gyr) in walk.items():
        t = np.arange(acc.shape[0]) / RATE
        static = (t >= STATIC[0]) & (t <= STATIC[1])
        out[side] = analyze_foot(0.0, acc, gyr, RATE, side, static=static)
    return out


@pytest.mark.parametrize("name", list(MOUNTINGS))
@pytest.mark.parametrize("side", ["left", "right"])
def test_results_do_not_depend_on_the_mounting(walk, aligned_results, name, side):
    acc, gyr = walk[side]
    Q = MOUNTINGS[name]
    t = np.arange(acc.shape[0]) / RATE
    static = (t >= STATIC[0]) & (t <= STATIC[1])
    ref = aligned_results[side]
    res = analyze_foot(0.0, acc @ Q.T, gyr @ Q.T, RATE, side, static=static)
    assert len(res.strides["ic"]) == len(ref.strides["ic"])
    assert np.max(np.abs(res.strides["ic"] - ref.strides["ic"])) * RATE <= 2
    assert np.max(np.abs(res.strides["fc"] - ref.strides["fc"])) * RATE <= 2
    assert (
        np.max(np.abs(res.strides["eversion_excursion"] - ref.strides["eversion_excursion"])) <= 0.5
    )
    assert np.max(np.abs(res.strides["stride_length"] - ref.strides["stride_length"])) <= 0.01
    # the estimated sensor -> foot rotation undoes the mounting
    angle = Rotation.from_matrix(res.alignment.R @ Q @ ref.alignment.R.T).magnitude()
    assert np.degrees(angle) < 1.0
    assert res.alignment.confidence > 0.7


def test_declared_mounting_matches_estimated_alignment(walk, aligned_results):
    """Declaring the rotation the estimate found reproduces the estimated result."""
    acc, gyr = walk["left"]
    ref = aligned_results["left"]
    t = np.arange(acc.shape[0]) / RATE
    static = (t >= STATIC[0]) & (t <= STATIC[1])
    res = analyze_foot(0.0, acc, gyr, RATE, "left", static=static, mounting=ref.alignment.R)
    assert res.alignment.source == "declared"
    assert np.allclose(res.strides["ic"], ref.strides["ic"], atol=2 / RATE)
    assert np.allclose(
        res.strides["eversion_excursion"], ref.strides["eversion_excursion"], atol=0.3
    )


def test_a_standing_window_outside_a_sensors_data_is_reported(walk):
    """The right sensor's battery died at 25 s, before the standing window at the end: the analysis says so and
    takes that foot's eversion zero from its strides, as without a window."""
    acc, gyr = walk["right"]
    t = np.arange(acc.shape[0]) / RATE
    keep = t < 25.0
    data = {"right_foot": ImuData(t[keep], acc[keep], gyr[keep])}
    sensors = {"right_foot": SensorInfo(family="gaitmap", rate_hz=RATE)}
    res = analyze(Session(data=data, sensors=sensors, calibration={"static": list(STATIC)}))
    assert any(
        "standing calibration 36.75-38.5 s holds 0.00 s" in w for w in res.quality["warnings"]
    )
    assert res.quality["sensors"]["right_foot"]["eversion_zero"]["source"].startswith("median")
    plain = analyze(Session(data=data, sensors=sensors))
    assert np.allclose(res.strides["eversion_ic"], plain.strides["eversion_ic"], equal_nan=True)
    # with the window inside the data: no such warning
    assert not any("holds" in w for w in analyze(make_session(walk)).quality["warnings"])
