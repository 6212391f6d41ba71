"""`imu-gait mark`: editing a saved session's marks, and the analysis acting on them (run as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import imu_gait as ig
from imu_gait.simulate import SimConfig, simulate

KNEE = ("left_thigh", "left_shank", "right_thigh", "right_shank")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def squat_session(tmp_path_factory):
    """Single-leg squats, left then right, with the squat marks removed (as if nobody had marked them)."""
    sim = simulate(SimConfig.squats(reps=4, rate_hz=100.0, placements=KNEE), seed=5)
    s = sim.session
    s.events = [e for e in s.events if e.get("label") != "squat"]
    folder = tmp_path_factory.mktemp("mark") / "s"
    ig.save_session(s, folder)
    return folder, sim.squats


def _meta(folder) -> dict:
    return json.loads((folder / "session.json").read_text())


def test_unmarked_squats_are_analysed_then_named_by_a_mark(squat_session, tmp_path):
    folder, truth = squat_session
    r = _cli("analyze", str(folder), "-o", str(tmp_path / "a1"), "--no-figures")
    assert r.returncode == 0, r.stderr
    q = pd.read_csv(tmp_path / "a1" / "squats.csv")
    assert set(q["task"]) == {"single_leg"} and len(q) == len(truth) == 8
    bouts = json.loads((tmp_path / "a1" / "quality.json").read_text())["knee"]["tasks_detected"]
    assert [b["side"] for b in bouts] == ["left", "right"]

    # the clinician names the left bout from the times the analysis gave
    left = bouts[0]
    r = _cli(
        "mark",
        str(folder),
        "--segment",
        "squat",
        str(left["t"]),
        str(left["t_end"]),
        "--side",
        "left",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"added squat left {left['t']:.2f}-{left['t_end']:.2f} s")
    events = _meta(folder)["events"]
    assert {"t": left["t"], "t_end": left["t_end"], "label": "squat", "side": "left"} in events
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)

    r = _cli("analyze", str(folder), "-o", str(tmp_path / "a2"), "--no-figures")
    assert r.returncode == 0, r.stderr
    q2 = pd.read_csv(tmp_path / "a2" / "squats.csv")
    assert sorted(q2.groupby(["task", "side"]).size().items()) == [
        (("single_leg", "right"), 4),
        (("squat", "left"), 4),
    ]
    # naming does not change the repetitions
    cols = ["start", "end", "knee_flexion_peak", "knee_abduction_peak"]
    a = q[q["side"] == "left"][cols].to_numpy()
    b = q2[q2["side"] == "left"][cols].to_numpy()
    assert abs(a - b).max() < 1e-6

    # listing shows it; removing it restores the file's events
    r = _cli("mark", str(folder))
    n = next(
        int(line.split()[0]) for line in r.stdout.splitlines() if " squat left " in f" {line} "
    )
    r = _cli("mark", str(folder), "--remove", str(n))
    assert r.returncode == 0 and r.stdout.startswith("removed squat left")
    assert all(e.get("label") != "squat" for e in _meta(folder)["events"])


def test_calibration_and_markers(squat_session):
    folder, _ = squat_session
    before = _meta(folder)
    r = _cli("mark", str(folder), "--calibration", "0.6", "4.4")
    assert r.returncode == 0, r.stderr
    assert _meta(folder)["calibration"]["static"] == [0.6, 4.4]
    r = _cli("mark", str(folder), "--marker", "30.25", "--note", "knee pain 3/10")
    assert r.returncode == 0, r.stderr
    assert {"t": 30.25, "label": "mark", "note": "knee pain 3/10"} in _meta(folder)["events"]
    # everything else in session.json is untouched, and the session still loads
    after = _meta(folder)
    for key in set(before) - {"calibration", "events"}:
        assert after[key] == before[key]
    assert ig.load_session(folder).calibration["static"] == [0.6, 4.4]
    r = _cli("mark", str(folder), "--calibration", *map(str, before["calibration"]["static"]))
    assert r.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--segment", "squat", "40", "30"], "must come after the start"),
        (["--segment", "squat", "5", "9999"], "outside the recording"),
        (["--segment", "squat", "five", "9"], "T0 and T1 are seconds"),
        (["--remove", "99"], "no event 99"),
        (["--side", "left"], "--side goes with --segment"),
        (["--calibration", "3", "2"], "must come after the start"),
    ],
)
def test_bad_marks_are_refused_with_one_line_and_change_nothing(squat_session, args, message):
    folder, _ = squat_session
    before = (folder / "session.json").read_bytes()
    r = _cli("mark", str(folder), *args)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (folder / "session.json").read_bytes() == before


def test_free_labels_are_kept_with_a_note(squat_session):
    folder, _ = squat_session
    r = _cli("mark", str(folder), "--segment", "balance test", "30", "35")
    assert r.returncode == 0, r.stderr
    assert "free label" in r.stdout
    events = _meta(folder)["events"]
    k = next(i for i, e in enumerate(events, 1) if e["label"] == "balance test")
    assert _cli("mark", str(folder), "--remove", str(k)).returncode == 0
    assert (
        _cli("mark", str(folder), "--segment", "squat", "5", "9", "--side", "middle").returncode
        == 2
    )


def test_a_session_still_being_recorded_is_not_edited(squat_session):
    from imu_gait.ble.store import RecordingLock

    folder, _ = squat_session
    (folder / "raw").mkdir(exist_ok=True)
    lock = RecordingLock(folder)
    assert lock.acquire()  # as the recorder holds it while it records
    try:
        before = (folder / "session.json").read_bytes()
        r = _cli("mark", str(folder), "--marker", "10")
        assert r.returncode == 2 and "still writing" in r.stderr
        assert (folder / "session.json").read_bytes() == before
    finally:
        lock.release()
    assert _cli("mark", str(folder), "--marker", "10").returncode == 0
    assert not (folder / "raw" / ".recorder.lock").exists()
