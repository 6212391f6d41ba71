"""`imu-gait info` on sessions with known defects: the numbers and warnings it reports."""

import json
import subprocess
import sys

import numpy as np

import imu_gait as ig
from imu_gait.pipeline.signal import GRAVITY

RATE = 200.0


def _walkish(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    acc = np.tile([0.0, 0.0, GRAVITY], (n, 1)) + rng.normal(0, 0.05, (n, 3))
    gyr = rng.normal(0, 0.5, (n, 3))
    moving = t > 2.0  # 2 s still, then a 1 Hz "gait" rotation
    gyr[moving, 1] += 300 * np.sin(2 * np.pi * t[moving])
    acc[moving, 0] += 30 * np.sin(2 * np.pi * t[moving])
    return t, acc, gyr


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "imu_gait", *args], capture_output=True, text=True, timeout=120
    )


def test_info_reports_gaps_clipping_units_and_rate(tmp_path):
    t, acc, gyr = _walkish(4000, 0)  # 20 s
    keep = (t < 10.0) | (t >= 10.5)  # a 0.5 s gap on the left foot
    acc_clipped = acc.copy()
    acc_clipped[1000:1010, 0] = 4 * GRAVITY  # 10 samples held at a +/-4 g range
    t2, acc2, gyr2 = _walkish(4000, 1)
    session = ig.Session(
        data={
            "left_foot": ig.ImuData(t[keep], acc_clipped[keep], gyr[keep]),
            "right_foot": ig.ImuData(t2, acc2 / GRAVITY, gyr2),  # accelerometer left in g
        },
        sensors={
            "left_foot": ig.SensorInfo(family="diy", rate_hz=RATE, acc_range_g=4.0),
            "right_foot": ig.SensorInfo(family="diy", rate_hz=208.0),  # nominal differs by 4%
        },
        subject="sub-07",
    )
    path = ig.save_session(session, tmp_path / "s")
    proc = _cli("info", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    left, right = report["sensors"]["left_foot"], report["sensors"]["right_foot"]
    assert left["samples"] == int(keep.sum())
    assert abs(left["rate_hz"] - RATE) < 0.01
    assert len(left["gaps"]) == 1
    a, b = left["gaps"][0]
    assert abs(a - 9.995) < 1e-6 and abs(b - 10.5) < 1e-6
    assert abs(left["missing_s"] - 0.5) < 0.01
    assert left["saturated_acc"] == 10
    assert abs(left["gravity_at_rest"] - GRAVITY) < 0.1
    assert abs(right["gravity_at_rest"] - 1.0) < 0.05
    warnings = " | ".join(report["warnings"])
    assert "right_foot: acceleration at rest is 1.00 m/s^2" in warnings
    assert "right_foot: effective rate 200.00 Hz differs from nominal 208 Hz" in warnings
    assert "left_foot: 1 gap(s), 0.500 s missing" in warnings
    assert abs(report["duration_s"] - 19.995) < 1e-6

    table = _cli("info", str(path))
    assert table.returncode == 0
    assert "left_foot" in table.stdout and "right_foot" in table.stdout and "sub-07" in table.stdout


def test_info_on_a_missing_or_foreign_folder_is_one_clear_line(tmp_path):
    for target in (tmp_path / "nope", tmp_path):
        proc = _cli("info", str(target))
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and str(target) in lines[0]
