"""The shared importer logic: unit decisions on real and synthetic motion, placement names, counters, rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from format_writers import (
    G,
    walk_acc,
    walk_gyr,
    write_dot,
    write_movesense,
    write_ximu,
    write_xsens,
)

from imu_gait.errors import FormatError
from imu_gait.importers import import_files
from imu_gait.importers.common import (
    Stream,
    check_acc_unit,
    check_gyr_unit,
    measured_rate,
    placement_from_name,
    signed_offset,
    unwrap_counter,
)
from imu_gait.session import load_session

RECORDING = Path(__file__).resolve().parents[1] / "recordings" / "gaitmap_walk"


def stream(acc, gyr, acc_unit, gyr_unit) -> Stream:
    return Stream("s", [Path("f.csv")], acc, gyr, acc_unit, gyr_unit)


@pytest.fixture(scope="module")
def real_foot():
    d = load_session(RECORDING).data["right_foot"]
    return d.acc, d.gyr


def test_real_walk_in_right_units_is_accepted(real_foot) -> None:
    acc, gyr = real_foot
    assert check_acc_unit(stream(acc, gyr, "m/s^2", "deg/s"), 204.8).unit == "m/s^2"
    assert check_gyr_unit(stream(acc, gyr, "m/s^2", "deg/s"), acc, 204.8).unit == "deg/s"


def test_real_walk_gyro_in_rad_s_declared_deg_s_is_caught(real_foot) -> None:
    acc, gyr = real_foot
    with pytest.raises(FormatError, match=r"look like rad/s \(override with --gyr-unit rad/s\)"):
        check_gyr_unit(stream(acc, np.radians(gyr), "m/s^2", "deg/s"), acc, 204.8)


def test_real_walk_gyro_in_deg_s_declared_rad_s_is_caught(real_foot) -> None:
    acc, gyr = real_foot
    with pytest.raises(FormatError, match="look like deg/s"):
        check_gyr_unit(stream(acc, gyr, "m/s^2", "rad/s"), acc, 204.8)


def test_real_walk_acc_in_g_declared_m_s2_is_caught(real_foot) -> None:
    acc, gyr = real_foot
    with pytest.raises(FormatError, match="gravity at rest reads 1"):
        check_acc_unit(stream(acc / G, gyr, "m/s^2", "deg/s"), 204.8)
    with pytest.raises(FormatError, match="look like m/s\\^2"):
        check_acc_unit(stream(acc, gyr, "g", "deg/s"), 204.8)


def test_fast_rad_s_data_beyond_the_peak_threshold_is_still_caught() -> None:
    # a running foot: peaks of ~20 rad/s, above the 12 "deg/s" peak threshold; the 1 s rotation gives it away
    t = np.arange(2000) / 200.0
    acc, gyr = walk_acc(t), np.radians(walk_gyr(t) * 2.5)  # ~210 deg within 1 s, 14 rad/s peaks
    assert np.percentile(np.linalg.norm(gyr, axis=1), 99.5) > 12
    with pytest.raises(FormatError, match="look like rad/s"):
        check_gyr_unit(stream(acc, gyr, "m/s^2", "deg/s"), acc, 200.0)


def test_slow_real_motion_in_deg_s_is_not_flagged(real_foot) -> None:
    acc, gyr = real_foot
    slow = gyr * 0.12  # a pelvis-like amplitude: peaks of a few tens of deg/s
    assert check_gyr_unit(stream(acc, slow, "m/s^2", "deg/s"), acc, 204.8).unit == "deg/s"


def test_unknown_units_are_chosen_from_the_data_and_noted(real_foot) -> None:
    acc, gyr = real_foot
    v = check_acc_unit(stream(acc / G, gyr, None, None), 204.8)
    assert v.unit == "g" and "chosen" in v.note
    assert check_gyr_unit(stream(acc, np.radians(gyr), None, None), acc, 204.8).unit == "rad/s"
    assert check_gyr_unit(stream(acc, gyr, None, None), acc, 204.8).unit == "deg/s"


def test_still_sensor_with_unknown_gyro_unit_asks_for_it() -> None:
    n = 1000
    acc = np.tile([0.0, 0.0, G], (n, 1))
    gyr = np.random.default_rng(0).normal(0, 0.5, (n, 3))
    with pytest.raises(FormatError, match="--gyr-unit"):
        check_gyr_unit(stream(acc, gyr, "m/s^2", None), acc, 100.0)


@pytest.mark.parametrize(
    ("name", "hint", "expected"),
    [
        ("left_sensor", "foot", "left_foot"),
        ("right_sensor", "foot", "right_foot"),
        ("LF", "", "left_foot"),
        ("rf_03", "", "right_foot"),
        ("LeftShank", "", "left_shank"),
        ("right-thigh", "", "right_thigh"),
        ("sacrum", "", "pelvis"),
        ("S01_pelvis_walk", "", "pelvis"),
        ("l_tibia", "", "left_shank"),
        ("leftfoot", "", "left_foot"),
        ("trial_07", "", None),
        ("left_right_foot", "", None),  # contradictory: no guess
        ("foot", "", None),  # no side
        ("left_sensor", "", None),  # no segment and no hint
    ],
)
def test_placement_from_name(name: str, hint: str, expected: str | None) -> None:
    assert placement_from_name(name, hint) == expected


def test_unwrap_counter_and_signed_offset() -> None:
    raw = (np.arange(65530, 65540) % 65536).astype(float)
    np.testing.assert_array_equal(unwrap_counter(raw, 65536), np.arange(65530, 65540))
    assert signed_offset(65535, 2, 65536) == 3
    assert signed_offset(2, 65535, 65536) == -3


def test_measured_rate_ignores_repeats_jitter_and_gaps() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 400 + rng.uniform(-2e-4, 2e-4, 4000)
    t[100:110] = t[99]  # repeated values
    t = np.sort(np.delete(t, np.arange(2000, 2100)))  # a gap
    assert abs(measured_rate(t) / 400 - 1) < 0.01


def test_xsens_header_rate_contradicted_by_velinc_is_reported(tmp_path: Path) -> None:
    t = np.arange(600) / 100.0
    f = write_xsens(tmp_path / "pelvis.txt", np.arange(600), walk_acc(t), walk_gyr(t), 100.0)
    f.write_text(f.read_text().replace("Update Rate: 100Hz", "Update Rate: 60Hz"))
    s = import_files("xsens", [f])
    assert any("suggest 100.0 Hz" in w for w in s.source["warnings"])


def test_ximu_without_rate_assumes_256_hz_and_says_so(tmp_path: Path) -> None:
    t = np.arange(1024) / 256.0
    f = write_ximu(
        tmp_path / "pelvis_CalInertialAndMag.csv",
        np.arange(1024),
        walk_acc(t),
        walk_gyr(t),
        walk_acc(t),
    )
    s = import_files("ximu", [f])
    assert s.sensors["pelvis"].rate_hz == 256.0
    assert any("256 Hz" in w for w in s.source["warnings"])


def test_dot_column_spelling_variants(tmp_path: Path) -> None:
    rate, n = 60.0, 480
    t = np.arange(n) / rate
    f = write_dot(
        tmp_path / "dot.csv",
        np.round(np.arange(n) * 1e6 / rate),
        walk_acc(t),
        walk_gyr(t),
        rate,
        mode="dv_dq",
    )
    f.write_text(f.read_text().replace("dq_", "dQ_").replace("dv[", "dV["))
    s = import_files("dot", [f], placements=["left_foot"])
    np.testing.assert_allclose(s.data["left_foot"].gyr, walk_gyr(t), atol=1e-3)


def test_movesense_cut_file_names_the_line(tmp_path: Path) -> None:
    t = np.arange(80) / 106.67
    f = write_movesense(
        tmp_path / "left_foot.json", np.arange(10) * 75, walk_acc(t), walk_gyr(t), None, 8
    )
    f.write_text(f.read_text()[:-500])
    with pytest.raises(FormatError, match=r"left_foot.json, line 1: not valid JSON"):
        import_files("movesense", [f])


def test_csv_time_unit_contradicted_by_data(tmp_path: Path) -> None:
    from format_writers import write_csv

    t = np.arange(800) / 100.0
    acc, gyr = walk_acc(t), walk_gyr(t)
    cols = {"time (s)": t * 1000}
    cols |= {f"acc_{a} (m/s^2)": acc[:, i] for i, a in enumerate("xyz")}
    cols |= {f"gyr_{a} (deg/s)": gyr[:, i] for i, a in enumerate("xyz")}
    f = write_csv(tmp_path / "left_foot.csv", cols)
    with pytest.raises(FormatError, match="look like ms"):
        import_files("csv", [f])
    s = import_files("csv", [f], time_unit="ms")
    assert abs(s.data["left_foot"].rate_hz - 100.0) < 1e-6


def test_dot_device_tag_names_the_placement(tmp_path: Path) -> None:
    rate, n = 60.0, 480
    t = np.arange(n) / rate
    meta = {
        "DeviceTag": "RightShank",
        "FirmwareVersion": "2.0.0",
        "OutputRate": "60Hz",
        "FilterProfile": "General",
    }
    f = write_dot(tmp_path / "1_D422CD001234_20240301_101500.csv", np.round(np.arange(n) * 1e6 / rate),
                  walk_acc(t), walk_gyr(t), rate, metadata=meta)  # fmt: skip
    s = import_files("dot", [f])
    assert s.placements == ["right_shank"]
    assert s.sensors["right_shank"].rate_hz == 60.0


def test_xsens_files_without_sample_time_fine_align_on_packet_counter(tmp_path: Path) -> None:
    rate, n = 100.0, 500
    t = np.arange(n) / rate
    fa = write_xsens(
        tmp_path / "a.txt",
        (65534 + np.arange(n)) % 65536,
        walk_acc(t),
        walk_gyr(t),
        rate,
        device="A1",
    )
    fb = write_xsens(
        tmp_path / "b.txt",
        (65537 + np.arange(n)) % 65536,
        walk_acc(t),
        walk_gyr(t),
        rate,
        device="B2",
    )
    s = import_files("xsens", [fa, fb], placements=["left_foot", "right_foot"])
    assert s.data["left_foot"].t[0] == 0.0
    assert (
        abs(s.data["right_foot"].t[0] - 3 / rate) < 1e-9
    )  # three packets later, across the uint16 wrap
