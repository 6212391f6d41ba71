"""`imu-gait import` as a user runs it: the real gaitmap walk, and every kind of bad input (one clear stderr line,
non-zero exit, nothing written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from format_writers import (
    G,
    walk_acc,
    walk_gyr,
    write_csv,
    write_gaitmap_multi,
    write_gaitmap_single,
    write_ngimu,
)

from imu_gait.session import load_session

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GAITMAP = DATA / "gaitmap" / "imu_sample.csv"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", "import", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_real_gaitmap_walk_imports_with_both_feet(tmp_path: Path) -> None:
    out = tmp_path / "walk"
    r = run(
        "gaitmap", str(GAITMAP), "--rate", "204.8", "--placement", "left_sensor=left_foot",
        "--placement", "right_sensor=right_foot", "--subject", "gaitmap-01", "-o", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "left_foot" in r.stdout and "204.8" in r.stdout
    s = load_session(out)
    assert s.placements == ["left_foot", "right_foot"]
    assert s.subject == "gaitmap-01"
    for p in s.placements:
        d = s.data[p]
        assert abs(d.duration - 38.7) < 0.05
        assert abs(d.rate_hz - 204.8) < 1e-6
        still = d.t < 0.5  # the walk starts standing
        assert abs(np.linalg.norm(d.acc[still], axis=1).mean() - 9.81) < 0.15
        assert np.percentile(np.abs(d.gyr), 99.9) > 200  # deg/s: walking feet swing fast
        assert (np.diff(d.t) > 0).all()
    info = subprocess.run(
        [sys.executable, "-m", "imu_gait", "info", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(info.stdout)
    assert report["sensors"]["left_foot"]["samples"] == 7928


def test_real_gaitmap_placements_from_sensor_names(tmp_path: Path) -> None:
    r = run("gaitmap", str(GAITMAP), "-o", str(tmp_path / "w"))
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "w" / "session.json").read_text())
    assert meta["source"]["sensors"] == {"left_foot": "left_sensor", "right_foot": "right_sensor"}
    assert any("204.8 Hz" in w for w in meta["source"]["warnings"])  # the assumed rate is on record


def _walk(n: int = 1000, rate: float = 100.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(n) / rate
    return t, walk_acc(t), walk_gyr(t)


def expect_error(tmp_path: Path, args: list[str], *fragments: str) -> str:
    """Run an import that must fail: non-zero exit, one stderr line containing ``fragments``, nothing written."""
    out = tmp_path / "out"
    r = run(*args, "-o", str(out))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    assert not out.exists()
    assert not [
        p for p in tmp_path.iterdir() if p.name.startswith(".out")
    ]  # no half-written temp folder
    return lines[0]


def test_acc_in_g_where_m_s2_declared(tmp_path: Path) -> None:
    _, acc, gyr = _walk()
    f = write_gaitmap_multi(tmp_path / "g.csv", {"left_sensor": (acc / G, gyr)})
    expect_error(
        tmp_path, ["gaitmap", str(f)], "g.csv", "left_sensor/acc_x", "expected ~9.81", "look like g"
    )


def test_gyro_in_rad_s_where_deg_s_declared(tmp_path: Path) -> None:
    t, acc, gyr = _walk()
    cols = {"time (s)": t}
    cols |= {f"acc_{a} (m/s^2)": acc[:, i] for i, a in enumerate("xyz")}
    cols |= {f"gyr_{a} (deg/s)": np.radians(gyr[:, i]) for i, a in enumerate("xyz")}
    f = write_csv(tmp_path / "left_foot.csv", cols)
    expect_error(
        tmp_path, ["csv", str(f)], "left_foot.csv", "gyr_x (deg/s)", "look like rad/s", "--gyr-unit"
    )


def test_gyro_in_deg_s_where_rad_s_declared(tmp_path: Path) -> None:
    t, acc, gyr = _walk()
    cols = {"time (s)": t}
    cols |= {f"acc_{a} (m/s^2)": acc[:, i] for i, a in enumerate("xyz")}
    cols |= {f"gyr_{a} (rad/s)": gyr[:, i] for i, a in enumerate("xyz")}
    f = write_csv(tmp_path / "left_foot.csv", cols)
    expect_error(tmp_path, ["csv", str(f)], "left_foot.csv", "look like deg/s")


def test_slow_movement_in_deg_s_is_not_mistaken_for_rad_s(tmp_path: Path) -> None:
    _, acc, gyr = _walk()
    f = write_gaitmap_single(
        tmp_path / "pelvis.csv", acc, gyr * 0.1, index_column=True
    )  # peaks ~40 deg/s
    r = run("gaitmap", str(f), "--rate", "100", "-o", str(tmp_path / "ok"))
    assert r.returncode == 0, r.stderr


def test_unit_override_accepts_a_file_that_contradicts_its_format(tmp_path: Path) -> None:
    _, acc, gyr = _walk()
    f = write_gaitmap_multi(tmp_path / "g.csv", {"left_sensor": (acc / G, gyr)})
    r = run("gaitmap", str(f), "--acc-unit", "g", "-o", str(tmp_path / "ok"))
    assert r.returncode == 0, r.stderr
    d = load_session(tmp_path / "ok").data["left_foot"]
    np.testing.assert_allclose(d.acc, acc, rtol=1e-12)


def test_missing_column(tmp_path: Path) -> None:
    _, acc, gyr = _walk()
    f = write_gaitmap_single(tmp_path / "lf.csv", acc, gyr)
    text = f.read_text().replace(",gyr_z", ",gyr_q")
    f.write_text(text)
    expect_error(tmp_path, ["gaitmap", str(f)], "lf.csv", "line 1", "'gyr_z'", "missing column")


def test_truncated_last_line(tmp_path: Path) -> None:
    _, acc, gyr = _walk()
    f = write_gaitmap_single(tmp_path / "lf.csv", acc, gyr)
    text = f.read_text()
    f.write_text(text[: text.rstrip("\n").rfind(",") - 3])  # cut mid-row
    expect_error(tmp_path, ["gaitmap", str(f)], "lf.csv", "line 1001", "truncated last line")


def test_non_monotonic_clock(tmp_path: Path) -> None:
    t, acc, gyr = _walk(rate=400.0)
    t = t.copy()
    t[500] = t[498]  # goes back in time at line 502
    f = write_ngimu(tmp_path / "sensors.csv", t, acc, gyr, np.zeros_like(acc))
    expect_error(
        tmp_path,
        ["ngimu", str(f), "--placement", "pelvis"],
        "sensors.csv",
        "line 502",
        "Time (s)",
        "backwards",
    )


def test_nan_in_data(tmp_path: Path) -> None:
    _, acc, gyr = _walk()
    acc = acc.copy()
    acc[300, 1] = np.nan
    f = write_gaitmap_single(tmp_path / "lf.csv", acc, gyr)
    expect_error(
        tmp_path, ["gaitmap", str(f)], "lf.csv", "line 302", "'acc_y'", "nan is not a finite number"
    )


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "lf.csv"
    f.write_text("")
    expect_error(tmp_path, ["gaitmap", str(f)], "lf.csv", "empty file")


def test_header_only_file(tmp_path: Path) -> None:
    f = tmp_path / "lf.csv"
    f.write_text(",acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n")
    expect_error(tmp_path, ["gaitmap", str(f)], "lf.csv", "line 1", "no samples")


def test_wrong_format_name(tmp_path: Path) -> None:
    expect_error(
        tmp_path, ["gaitmapp", str(GAITMAP)], "unknown format 'gaitmapp'", "gaitmap, metabase"
    )


def test_placement_that_does_not_exist(tmp_path: Path) -> None:
    expect_error(
        tmp_path,
        [
            "gaitmap",
            str(GAITMAP),
            "--placement",
            "left_sensor=left_knee",
            "--placement",
            "right_sensor=right_foot",
        ],
        "unknown placement 'left_knee'",
        "left_foot",
    )


def test_source_sensor_that_does_not_exist(tmp_path: Path) -> None:
    expect_error(
        tmp_path, ["gaitmap", str(GAITMAP), "--placement", "middle_sensor=pelvis"], "no sensor 'middle_sensor'",
        "left_sensor, right_sensor",
    )  # fmt: skip


def test_placement_that_cannot_be_told_from_names(tmp_path: Path) -> None:
    t, acc, gyr = _walk()
    cols = {"time (s)": t} | {f"acc_{a} (m/s^2)": acc[:, i] for i, a in enumerate("xyz")}
    cols |= {f"gyr_{a} (deg/s)": gyr[:, i] for i, a in enumerate("xyz")}
    f = write_csv(tmp_path / "trial_07.csv", cols)
    expect_error(tmp_path, ["csv", str(f)], "trial_07.csv", "cannot tell where", "--placement")


def test_output_that_exists_is_not_touched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run("gaitmap", str(GAITMAP), "-o", str(out))
    assert r.returncode != 0 and "already exists" in r.stderr
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("fmt", ["dot", "xsens", "movesense", "ngimu", "ximu", "csv", "metabase"])
def test_every_format_rejects_an_empty_file(tmp_path: Path, fmt: str) -> None:
    f = tmp_path / "left_foot.csv"
    f.write_text("\n")
    expect_error(tmp_path, [fmt, str(f)], "left_foot.csv", "empty file")


def test_a_left_handed_gyroscope_is_found_and_negated_on_import(tmp_path: Path) -> None:
    """The real left foot exported by a device whose gyroscope turns the other way than its accelerometer: `info`
    names the reading that fits, and ``--gyr-columns=-gx,-gy,-gz`` imports it right."""
    import pandas as pd

    df = pd.read_csv(GAITMAP, header=[0, 1], index_col=0)["left_sensor"]
    cols = {"t": np.arange(len(df)) / 204.8}
    for a in "xyz":
        cols[f"ax_m_s2_{a}"] = df[f"acc_{a}"].to_numpy()
    for a in "xyz":
        cols[f"g{a}"] = -df[f"gyr_{a}"].to_numpy()  # the device's convention
    src = write_csv(tmp_path / "foot.csv", cols)
    common = ["csv", str(src), "--placement", "left_foot", "--acc-unit", "m/s^2"]
    common += ["--acc-columns", "ax_m_s2_x,ax_m_s2_y,ax_m_s2_z", "--gyr-unit", "deg/s"]

    r = run(*common, "--gyr-columns", "gx,gy,gz", "-o", str(tmp_path / "as_is"))
    assert r.returncode == 0, r.stderr
    info = subprocess.run(
        [sys.executable, "-m", "imu_gait", "info", str(tmp_path / "as_is"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    check = json.loads(info.stdout)["sensors"]["left_foot"]["gyro_check"]
    assert check["verdict"] == "mismatch" and check["axes"] == "-x,-y,-z" and check["identified"]

    r = run(*common, "--gyr-columns=-gx,-gy,-gz", "-o", str(tmp_path / "fixed"))
    assert r.returncode == 0, r.stderr
    s = load_session(tmp_path / "fixed")
    assert np.allclose(
        s.data["left_foot"].gyr, df[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(), atol=1e-6
    )
    info = subprocess.run(
        [sys.executable, "-m", "imu_gait", "info", str(tmp_path / "fixed"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(info.stdout)["sensors"]["left_foot"]["gyro_check"]["verdict"] == "consistent"
