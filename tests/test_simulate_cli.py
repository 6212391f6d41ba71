"""`imu-gait simulate` as a user runs it: deterministic files, the truth beside the samples, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from imu_gait.session import load_session


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_same_seed_gives_identical_files_and_a_loadable_session(tmp_path: Path):
    common = [
        "--strides",
        "3",
        "--rate",
        "60",
        "--seed",
        "9",
        "--placements",
        "left_foot",
        "right_shank",
        "pelvis",
    ]
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        p = run("-o", str(out), *common)
        assert p.returncode == 0, p.stderr
        assert "strides left 3 / right 3" in p.stdout
    files = sorted(f.name for f in a.iterdir())
    assert files == sorted(f.name for f in b.iterdir())
    for name in ("truth.csv", "truth_curves.csv", "truth_events.csv", "truth.json", "session.json"):
        assert name in files
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    other = tmp_path / "c"
    assert (
        run("-o", str(other), *common[:-4], "--seed", "10", "--placements", "left_foot").returncode
        == 0
    )
    assert (other / "left_foot.parquet").read_bytes() != (a / "left_foot.parquet").read_bytes()

    session = load_session(a)
    assert session.placements == ["left_foot", "right_shank", "pelvis"]
    assert (
        session.sensors["pelvis"].family == "simulated"
        and session.sensors["pelvis"].rate_hz == 60.0
    )
    assert session.calibration["static"][1] > session.calibration["static"][0]
    assert {"t", "t_end", "label"} <= set(session.events[1]) and session.events[1][
        "label"
    ] == "walk"
    truth = pd.read_csv(a / "truth.csv")
    assert len(truth) == 6 and set(truth.side) == {"left", "right"}
    info = json.loads((a / "truth.json").read_text())
    assert set(info["mounting"]) == {"left_foot", "right_shank", "pelvis"}


def test_activity_options_and_errors(tmp_path: Path):
    p = run(
        "-o",
        str(tmp_path / "run"),
        "--activity",
        "run",
        "--strides",
        "3",
        "--rate",
        "50",
        "--no-noise",
        "--placements",
        "left_foot",
        "--mounting",
        "aligned",
        "--speed",
        "4",
    )
    assert p.returncode == 0, p.stderr
    truth = pd.read_csv(tmp_path / "run" / "truth.csv")
    assert set(truth.activity) == {"run"} and truth.speed.max() > 3.0
    bad = run("-o", str(tmp_path / "x"), "--placements", "left_hand")
    assert (
        bad.returncode == 2
        and "left_hand" in bad.stderr
        and len(bad.stderr.strip().splitlines()) == 1
    )
    exists = run("-o", str(tmp_path / "run"), "--strides", "2")
    assert exists.returncode == 2 and "already exists" in exists.stderr


def test_soft_tissue_option_moves_the_thigh_sensor_but_not_the_truth(tmp_path: Path):
    common = ["--strides", "3", "--rate", "50", "--seed", "5", "--placements", "left_thigh"]
    assert run("-o", str(tmp_path / "rigid"), *common).returncode == 0
    p = run("-o", str(tmp_path / "sta"), *common, "--soft-tissue", "typical")
    assert p.returncode == 0, p.stderr
    rigid, sta = load_session(tmp_path / "rigid"), load_session(tmp_path / "sta")
    diff = abs(rigid.data["left_thigh"].gyr - sta.data["left_thigh"].gyr).max()
    assert diff > 5.0  # deg/s: the sensor moves on the skin
    assert (tmp_path / "rigid" / "truth.csv").read_bytes() == (
        tmp_path / "sta" / "truth.csv"
    ).read_bytes()
    info = json.loads((tmp_path / "sta" / "truth.json").read_text())
    assert set(info["soft_tissue"]) == {"left_thigh"}
    bad = run("-o", str(tmp_path / "x"), *common, "--soft-tissue", "loose")
    assert bad.returncode == 2 and "loose" in bad.stderr
