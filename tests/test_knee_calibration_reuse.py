"""Reusing a saved knee calibration (`analyze --knee-calibration`, `replay --knee-calibration`).

One simulated visit with one strapping (so the same sensors, mountings and soft-tissue artefact): standing and
12 walking strides, then standing and a short task. It is cut into two sessions: A (the calibration: standing
and walking) and B (standing and the task only), as a clinician would record them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from imu_gait.errors import FormatError, UsageError
from imu_gait.knee_calibration import check_knee_calibration, load_knee_calibration
from imu_gait.pipeline.analysis import analyze, write_analysis
from imu_gait.pipeline.knee import analyze_knee
from imu_gait.pipeline.knee_eval import knee_errors, squat_errors
from imu_gait.session import SensorInfo, save_session
from imu_gait.simulate import Activity, SimConfig, simulate

LEGS = ("left_thigh", "left_shank", "right_thigh", "right_shank")


def _visit(task: list[Activity], seed: int):
    config = SimConfig(
        [Activity("walk", strides=12), Activity("stand", duration=3.0), *task],
        rate_hz=100.0,
        placements=LEGS,
        soft_tissue="typical",
    )
    sim = simulate(config, seed=seed)
    walk_end = sim.session.events[1]["t_end"]
    a = sim.session.slice_time(0.0, walk_end + 1.5, sim.session.calibration["static"])
    b = sim.session.slice_time(walk_end + 0.1, sim.plan.t_end, (walk_end + 0.5, walk_end + 2.9))
    return sim, a, b, walk_end


SQUATS = [
    Activity("squat", side="left", reps=3),
    Activity("stand", duration=2.0),
    Activity("squat", side="right", reps=3),
    Activity("stand", duration=2.0),
]


@pytest.fixture(scope="module")
def squat_visit(tmp_path_factory):
    sim, a, b, _ = _visit(SQUATS, seed=1)
    out = tmp_path_factory.mktemp("calib") / "analysis_a"
    write_analysis(analyze(a), out, figures=False)
    return sim, a, b, out


def test_saved_calibration_beats_the_squat_only_sessions_own(squat_visit) -> None:
    sim, _, b, out_a = squat_visit
    saved = load_knee_calibration(out_a)
    assert set(saved.sides) == {"left", "right"}
    assert set(saved.sensors) == set(LEGS)
    own = analyze(b)
    reused = analyze(b, knee_calibration=saved)
    e_own = squat_errors(sim, own)
    e_reused = squat_errors(sim, reused)
    assert len(reused.squats) == len(sim.squats) == 6
    # the axis of a squat-only session takes flexion-coupled valgus for axis tilt (about 3 deg here)
    assert e_own["abduction_peak_err"].abs().mean() >= 2.0
    assert e_reused["abduction_peak_err"].abs().max() <= 1.0
    assert e_reused["flexion_peak_err"].abs().max() <= 2.0
    knee = reused.quality["knee"]
    assert knee["calibration_source"]["left"] == {"source": "loaded", "file": str(saved.source)}
    # the knee centre of the walking session is used, not one estimated from the squats
    assert all(cal.centre is not None for cal in saved.sides.values())
    assert {v["source"] for v in knee["knee_centre"].values()} == {"calibration"}
    assert own.quality["knee"]["calibration_source"]["left"] == {"source": "estimated"}
    # the standing pose of the calibration is the zero; this session's standing agrees with it
    standing = knee["knee"]["right"]["standing"]["this_session"]
    assert abs(standing["abduction_deg"]) < 1.0 and standing["up_tilt_shank_deg"] < 2.0
    assert not any("standing in this session differs" in w for w in reused.quality["warnings"])


def test_saved_calibration_for_a_few_stairs() -> None:
    sim, a, b, walk_end = _visit([Activity("stairs_up", steps=5), Activity("stand", 2.0)], seed=3)
    cal = analyze_knee(a, sim.strides[sim.strides["ic"] < walk_end]).calibration
    strides = sim.strides[sim.strides["ic"] > walk_end]
    assert len(strides) >= 4
    own = knee_errors(sim, analyze_knee(b, strides))
    reused = knee_errors(sim, analyze_knee(b, strides, calibration=cal))
    worst_own = max(e["valgus_peak_max"] for e in own.values())
    worst_reused = max(e["valgus_peak_max"] for e in reused.values())
    assert worst_reused <= 1.0
    assert worst_reused < worst_own
    assert max(e["abduction_rmse"] for e in reused.values()) <= 1.0


def _sensors(addresses: dict[str, str]) -> dict[str, SensorInfo]:
    return {p: SensorInfo(family="x", address=a) for p, a in addresses.items()}


def test_checks_of_a_saved_calibration_against_the_session(squat_visit) -> None:
    _, _, b, out_a = squat_visit
    saved = load_knee_calibration(out_a / "quality.json")
    same = {p: i.address for p, i in b.sensors.items()}
    assert check_knee_calibration(saved, b.sensors, b.subject) == []
    # one sensor re-clipped / replaced: a warning naming the placement
    changed = _sensors({**same, "left_shank": "AA:BB"})
    (w,) = check_knee_calibration(saved, changed, b.subject)
    assert "left_shank" in w and "AA:BB" in w
    # thigh and shank sensors swapped between placements: an error
    swapped = _sensors({**same, "left_thigh": same["left_shank"], "left_shank": same["left_thigh"]})
    with pytest.raises(UsageError, match="was the left_shank"):
        check_knee_calibration(saved, swapped, b.subject)
    with pytest.raises(UsageError, match="another session"):
        check_knee_calibration(saved, _sensors({p: f"X{i}" for i, p in enumerate(same)}), b.subject)
    with pytest.raises(UsageError, match="subject"):
        check_knee_calibration(saved, b.sensors, "someone-else")
    only_left = replace(saved, sides={"left": saved.sides["left"]})
    with pytest.raises(UsageError, match="no knee calibration for the right side"):
        check_knee_calibration(only_left, b.sensors, b.subject)


def test_a_malformed_calibration_file_is_named(tmp_path) -> None:
    bad = tmp_path / "cal.json"
    for text, problem in (
        ("{not json", "not a JSON file"),
        ('{"knee": {"warnings": []}}', "no knee calibration"),
        ('{"calibration": {"left": {"j_thigh": [0, 1]}}}', "missing"),
    ):
        bad.write_text(text)
        with pytest.raises(FormatError, match=problem) as info:
            load_knee_calibration(bad)
        assert str(bad) in str(info.value)
    with pytest.raises(FormatError, match="no such file"):
        load_knee_calibration(tmp_path / "nothing_here")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_analyze_and_replay_with_a_saved_calibration(squat_visit, tmp_path) -> None:
    sim, _, b, out_a = squat_visit
    session_b = save_session(b, tmp_path / "session_b")
    out = tmp_path / "analysis_b"
    proc = _cli("analyze", str(session_b), "-o", str(out), "--knee-calibration", str(out_a))
    assert proc.returncode == 0, proc.stderr
    q = json.loads((out / "quality.json").read_text())
    assert q["knee"]["calibration_source"]["right"]["source"] == "loaded"
    assert (
        q["knee"]["calibration_sensors"]
        == json.loads((out_a / "quality.json").read_text())["knee"]["calibration_sensors"]
    )
    found = pd.read_csv(out / "squats.csv")
    truth = sim.squats.sort_values(["side", "start"]).reset_index(drop=True)
    found = found.sort_values(["side", "start"]).reset_index(drop=True)
    assert len(found) == len(truth) == 6
    err = (found["knee_abduction_peak"] - truth["knee_abduction_peak"]).abs()
    assert err.max() <= 1.0

    # a calibration without the right side: one line naming the file, nothing written
    partial = json.loads((out_a / "quality.json").read_text())
    del partial["knee"]["calibration"]["right"]
    partial_file = tmp_path / "left_only.json"
    partial_file.write_text(json.dumps(partial))
    proc = _cli(
        "analyze",
        str(session_b),
        "-o",
        str(tmp_path / "x"),
        "--knee-calibration",
        str(partial_file),
    )
    assert proc.returncode == 2
    assert str(partial_file) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()

    # replay: a re-clipped sensor (another address at the left shank) is warned about
    meta = json.loads((session_b / "session.json").read_text())
    meta["sensors"]["left_shank"]["address"] = "AA:BB:CC:DD:EE:FF"
    (session_b / "session.json").write_text(json.dumps(meta))
    proc = _cli("replay", str(session_b), "--speed", "max", "--knee-calibration", str(out_a))
    assert proc.returncode == 0, proc.stderr
    assert "AA:BB:CC:DD:EE:FF" in proc.stderr and "left_shank" in proc.stderr
