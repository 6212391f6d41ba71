"""analyze() / write_analysis() / `imu-gait analyze` on a real session: files, columns, figures, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from test_strides_real import make_session, read_gaitmap_walk

from imu_gait.pipeline.analysis import STRIDE_COLUMNS, analyze, summarize, write_analysis
from imu_gait.session import save_session

CONTRACT_STRIDE_COLUMNS = [
    "side", "stride", "activity", "ic", "fc", "end", "stride_time", "stance_time", "swing_time", "cadence",
    "stride_length", "speed", "elevation_change", "eversion_ic", "eversion_peak", "eversion_excursion",
    "eversion_velocity_peak", "time_to_peak_eversion", "knee_abduction_ic", "knee_abduction_peak",
    "knee_frontal_excursion", "knee_flexion_peak_stance", "pelvic_drop_peak", "quality",
]  # fmt: skip


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("sessions") / "walk"
    save_session(make_session(read_gaitmap_walk()), path)
    return path


@pytest.fixture(scope="module")
def cli_output(session_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("analysis") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "imu_gait", "analyze", str(session_dir), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, out


def test_cli_writes_every_file_with_the_contract_columns(cli_output):
    proc, out = cli_output
    assert proc.returncode == 0, proc.stderr
    strides = pd.read_csv(out / "strides.csv")
    assert list(strides.columns[: len(CONTRACT_STRIDE_COLUMNS)]) == CONTRACT_STRIDE_COLUMNS
    assert set(strides["side"]) == {"left", "right"}
    assert (strides["quality"] == "ok").mean() > 0.9
    assert strides["activity"].isin(["walk", "stairs_up", "stairs_down", "run", "other"]).all()
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == ["side", "stride", "variable", "pct", "value"]
    per_stride = curves.groupby(["side", "stride", "variable"]).size()
    assert (per_stride == 101).all()
    assert len(per_stride) == len(strides)
    summary = pd.read_csv(out / "summary.csv")
    assert {
        "side",
        "activity",
        "n_strides",
        "eversion_excursion_mean",
        "eversion_excursion_sd",
    } <= set(summary.columns)
    assert summary["n_strides"].sum() == len(strides)
    quality = json.loads((out / "quality.json").read_text())
    for placement in ("left_foot", "right_foot"):
        al = quality["sensors"][placement]["alignment"]
        assert 0.0 <= al["confidence"] <= 1.0
        assert np.allclose(
            np.asarray(al["R_sensor_to_foot"]) @ np.asarray(al["R_sensor_to_foot"]).T,
            np.eye(3),
            atol=1e-4,
        )
    assert "assumptions" in quality
    # one summary line per side on stdout
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("left:", "right:"))]
    assert len(lines) == 2 and "strides" in lines[0]


def test_cli_figures_are_rendered(cli_output):
    _, out = cli_output
    for name in ("eversion_curves.png", "stride_parameters.png", "timeline.png"):
        img = imread(out / "figures" / name)
        assert img.shape[0] > 300 and img.shape[1] > 600
        rgb = img[..., :3]
        # not blank: a good share of the pixels is drawn, and the side colours are present
        assert (rgb.mean(axis=2) < 0.9).mean() > 0.01
    img = imread(out / "figures" / "eversion_curves.png")[..., :3]
    blue = (np.abs(img - np.array([0, 0x72, 0xB2]) / 255).sum(axis=2) < 0.15).sum()
    orange = (np.abs(img - np.array([0xD5, 0x5E, 0]) / 255).sum(axis=2) < 0.15).sum()
    assert blue > 200 and orange > 200


def test_cli_rejects_a_bad_mounting_with_one_line(session_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "imu_gait", "analyze", str(session_dir), "-o", str(tmp_path / "o"),
         "--mounting", "left_foot=sideways"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "sideways" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_accepts_a_declared_preset(session_dir, tmp_path):
    # the shipped walk is already in a foot frame: declaring "aligned" keeps the axes as they are
    proc = subprocess.run(
        [sys.executable, "-m", "imu_gait", "analyze", str(session_dir), "-o", str(tmp_path / "o"),
         "--mounting", "left_foot=aligned", "--no-figures"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    q = json.loads((tmp_path / "o" / "quality.json").read_text())
    assert q["sensors"]["left_foot"]["alignment"]["source"] == "declared"
    assert q["sensors"]["right_foot"]["alignment"]["source"] == "estimated"
    assert not (tmp_path / "o" / "figures").exists()


def test_summary_statistics_match_the_strides():
    strides = pd.DataFrame(
        {
            "side": ["left"] * 3 + ["right"] * 2,
            "activity": ["walk"] * 5,
            "quality": ["ok", "ok", "gap", "ok", "ok"],
            "stride_length": [1.0, 1.2, 1.4, 2.0, np.nan],
        }
    )
    for c in STRIDE_COLUMNS:
        if c not in strides:
            strides[c] = np.nan
    s = summarize(strides).set_index("side")
    assert s.loc["left", "n_strides"] == 3 and s.loc["left", "n_ok"] == 2
    assert s.loc["left", "stride_length_mean"] == pytest.approx(1.2)
    assert s.loc["left", "stride_length_sd"] == pytest.approx(0.2)
    assert s.loc["left", "stride_length_cv"] == pytest.approx(0.2 / 1.2)
    assert s.loc["right", "stride_length_mean"] == pytest.approx(2.0)
    assert np.isnan(s.loc["right", "stride_length_sd"])


def test_session_without_foot_sensors_gives_empty_tables_and_a_warning(tmp_path):
    walk = read_gaitmap_walk()
    sess = make_session(walk)
    sess.data = {"pelvis": sess.data["left_foot"]}
    sess.sensors = {"pelvis": sess.sensors["left_foot"]}
    res = analyze(sess)
    assert len(res.strides) == 0 and list(res.strides.columns) == list(STRIDE_COLUMNS)
    assert any("no foot sensor" in w for w in res.quality["warnings"])
    paths = write_analysis(res, tmp_path / "o")
    assert (tmp_path / "o" / "strides.csv").exists()
    assert all(Path(p).exists() for p in paths)
