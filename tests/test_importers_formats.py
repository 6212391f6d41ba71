"""Every format of FORMATS.md, written from a known signal and imported back: units, rates, clocks, placements."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from format_writers import (
    STILL_S,
    G,
    metabase_name,
    walk_acc,
    walk_gyr,
    walk_mag,
    write_csv,
    write_dot,
    write_gaitmap_multi,
    write_gaitmap_single,
    write_metabase,
    write_movesense,
    write_ngimu,
    write_ximu,
    write_xsens,
)

from imu_gait.importers import import_files
from imu_gait.session import ImuData, load_session, save_session


def check_basics(d: ImuData, true_rate: float, gaps_allowed: bool = False) -> None:
    """Gravity at rest ~9.81 m/s^2, effective rate within 1 %, a strictly increasing uniform clock."""
    still = d.t < STILL_S - 0.2
    assert still.sum() > 10
    g = np.linalg.norm(d.acc[still], axis=1)
    assert abs(g.mean() - G) < 0.02
    assert np.abs(d.gyr[still]).max() < 1.0  # deg/s, the sensor is still
    assert abs(d.rate_hz / true_rate - 1) < 0.01
    dt = np.diff(d.t)
    assert (dt > 0).all()
    period = 1.0 / d.rate_hz
    k = dt / period
    if not gaps_allowed:
        assert np.abs(k - 1).max() < 0.01
    else:
        assert np.abs(k - np.round(k)).max() < 0.01


def test_gaitmap_multi_sensor_grouped_by_sensor(tmp_path: Path) -> None:
    rate = 204.8
    t = np.arange(int(6 * rate)) / rate
    acc, gyr = walk_acc(t), walk_gyr(t)
    f = write_gaitmap_multi(
        tmp_path / "walk.csv",
        {"left_sensor": (acc, gyr), "right_sensor": (acc * [1, -1, 1], -gyr)},
        by="sensor",
    )
    s = import_files("gaitmap", [f], rate_hz=rate)
    assert s.placements == ["left_foot", "right_foot"]
    for p, sign in (("left_foot", 1), ("right_foot", -1)):
        d = s.data[p]
        check_basics(d, rate)
        np.testing.assert_array_equal(d.t, t)
        np.testing.assert_array_equal(d.gyr, sign * gyr)
    np.testing.assert_array_equal(s.data["left_foot"].acc, acc)
    assert s.sensors["left_foot"].rate_hz == rate
    assert s.source["warnings"] == []


def test_gaitmap_default_rate_is_recorded_as_a_warning(tmp_path: Path) -> None:
    t = np.arange(1000) / 204.8
    f = write_gaitmap_multi(tmp_path / "w.csv", {"lf": (walk_acc(t), walk_gyr(t))})
    s = import_files("gaitmap", [f])
    assert s.placements == ["left_foot"]
    assert abs(s.data["left_foot"].rate_hz - 204.8) < 1e-9
    assert any("204.8 Hz" in w for w in s.source["warnings"])


@pytest.mark.parametrize("index_column", [False, True])
def test_gaitmap_single_sensor(tmp_path: Path, index_column: bool) -> None:
    rate = 102.4
    t = np.arange(int(5 * rate)) / rate
    f = write_gaitmap_single(
        tmp_path / "RightFoot.csv", walk_acc(t), walk_gyr(t), index_column=index_column
    )
    s = import_files("gaitmap", [f], rate_hz=rate)
    assert s.placements == ["right_foot"]
    d = s.data["right_foot"]
    check_basics(d, rate)
    np.testing.assert_array_equal(d.gyr, walk_gyr(t))


def _metabase_sensor(
    folder: Path, label: str, epoch0_ms: int, acc_rate: float, gyr_rate: float, old: bool
):
    start, mac = (
        "2024-03-01T10.00.00.000",
        "C8:2E:F1:43:5B:26" if label.startswith("L") else "D1:7A:33:01:9C:02",
    )
    t_acc = np.arange(int(8 * acc_rate)) / acc_rate
    t_gyr = 0.004 + np.arange(int(8 * gyr_rate)) / gyr_rate  # the gyro stream starts 4 ms later
    fa = write_metabase(
        folder / metabase_name(label, start, mac, "Accelerometer", acc_rate),
        epoch0_ms + t_acc * 1000,
        walk_acc(t_acc) / G,
        "g",
        old_spelling=old,
    )
    fg = write_metabase(
        folder / metabase_name(label, start, mac, "Gyroscope", gyr_rate),
        epoch0_ms + t_gyr * 1000,
        walk_gyr(t_gyr),
        "deg/s",
        old_spelling=old,
    )
    return fa, fg


def test_metabase_pairs_merged_onto_one_clock_with_real_offsets(tmp_path: Path) -> None:
    e0 = 1_709_287_200_000
    la, lg = _metabase_sensor(tmp_path, "LeftShank", e0, 100.0, 100.0, old=False)
    ra, rg = _metabase_sensor(tmp_path, "RightShank", e0 + 1230, 50.0, 100.0, old=True)
    s = import_files("metabase", [lg, ra, la, rg])  # any order: grouped by label/MAC/start
    assert s.placements == ["left_shank", "right_shank"]
    left, right = s.data["left_shank"], s.data["right_shank"]
    for d in (left, right):
        check_basics(d, 100.0)
    # each pair is merged over the time both streams cover: from its gyro start, 4 ms after its acc start.
    # t = 0 is the left sensor's first merged sample; the right sensor started 1.230 s later (shared epoch clock)
    assert left.t[0] == 0.0
    assert abs(right.t[0] - 1.230) < 1e-6
    walk_t_left = left.t + 0.004
    walk_t_right = right.t - 1.230 + 0.004
    # grid on the gyro samples; epoch seconds (~1.7e9) resolve ~0.2 us, i.e. ~1e-3 deg/s at walking slopes
    np.testing.assert_allclose(left.gyr, walk_gyr(walk_t_left), atol=2e-3)
    np.testing.assert_allclose(right.gyr, walk_gyr(walk_t_right), atol=2e-3)
    np.testing.assert_allclose(
        left.acc, walk_acc(walk_t_left), atol=0.03
    )  # acc interpolated (100 Hz)
    np.testing.assert_allclose(
        right.acc, walk_acc(walk_t_right), atol=0.1
    )  # acc interpolated (50 Hz)
    assert s.sensors["left_shank"].address == "C8:2E:F1:43:5B:26"
    assert s.sensors["right_shank"].extra["acc_rate_nominal_hz"] == 50.0


def test_metabase_missing_gyroscope_file_is_an_error(tmp_path: Path) -> None:
    la, _ = _metabase_sensor(tmp_path, "LeftShank", 1_709_287_200_000, 100.0, 100.0, old=False)
    with pytest.raises(Exception, match="Gyroscope"):
        import_files("metabase", [la])


def _stf(start: int, rate: float, n: int) -> np.ndarray:
    return np.round(start + np.arange(n) * 1e6 / rate).astype(np.int64) % 2**32


def test_dot_multi_sensor_both_modes_aligned_on_sample_time_fine(tmp_path: Path) -> None:
    rate, n = 120.0, 960
    start = 2**32 - 1_000_000  # SampleTimeFine wraps 1 s into the recording
    t = np.arange(n) / rate
    f1 = write_dot(
        tmp_path / "1_D422CD001234_20240301_101500.csv",
        _stf(start, rate, n),
        walk_acc(t),
        walk_gyr(t),
        rate,
        metadata={"DeviceTag": "Xsens DOT", "FirmwareVersion": "2.4.0", "OutputRate": "120Hz"},
    )
    lag = 3  # the second sensor's first sample is 3 periods later, on the same clock
    t2 = (np.arange(n) + lag) / rate
    f2 = write_dot(
        tmp_path / "2_D422CD005678_20240301_101500.csv",
        _stf(start + round(lag * 1e6 / rate), rate, n),
        walk_acc(t2),
        walk_gyr(t2),
        rate,
        mode="dv_dq",
        sep_line=False,
        zero_first_row=False,
    )
    s = import_files("dot", [f1, f2], placements=["left_foot", "right_foot"])
    left, right = s.data["left_foot"], s.data["right_foot"]
    check_basics(left, rate)
    check_basics(right, rate)
    assert left.t[0] == 0.0
    assert abs(right.t[0] - lag / rate) < 2e-6
    np.testing.assert_allclose(left.t, t, atol=1e-6)  # microsecond clock
    np.testing.assert_array_equal(left.gyr, walk_gyr(t))
    np.testing.assert_allclose(right.gyr, walk_gyr(t2), atol=1e-3)  # from dq x measured rate
    np.testing.assert_allclose(
        right.acc, walk_acc(t2), rtol=1e-4, atol=1e-4
    )  # from dv x measured rate
    assert s.sensors["left_foot"].firmware == "2.4.0"
    assert s.sensors["right_foot"].address == "D422CD005678"
    assert s.sensors["right_foot"].extra["gyr_from"] == "dq x rate"


def test_xsens_mt_manager_with_sample_time_fine_two_files(tmp_path: Path) -> None:
    rate, n = 100.0, 800
    t = np.arange(n) / rate
    counter = (65530 + np.arange(n)) % 65536  # uint16 wrap
    ticks = (4_294_000_000 + np.arange(n) * 100) % 2**32  # 10 kHz ticks, uint32 wrap
    fa = write_xsens(
        tmp_path / "MT_00B41234.txt", counter, walk_acc(t), walk_gyr(t), rate, stf_ticks=ticks
    )
    t2 = t + 0.02
    fb = write_xsens(
        tmp_path / "MT_00B45678.txt",
        (counter + 2) % 65536,
        walk_acc(t2),
        walk_gyr(t2),
        rate,
        stf_ticks=(ticks + 200) % 2**32,
        device="00B45678",
    )
    s = import_files("xsens", [fa, fb], placements=["00B41234=left_shank", "00B45678=left_thigh"])
    a, b = s.data["left_shank"], s.data["left_thigh"]
    check_basics(a, rate)
    check_basics(b, rate)
    assert abs(b.t[0] - 0.02) < 1e-9
    np.testing.assert_allclose(
        a.gyr, walk_gyr(t), rtol=1e-12, atol=1e-9
    )  # rad/s in the file -> deg/s
    np.testing.assert_allclose(b.acc, walk_acc(t2), rtol=1e-12)
    assert s.sensors["left_shank"].extra["velinc_rate_hz"] == pytest.approx(100.0, rel=1e-6)


def test_xsens_empty_sample_time_fine_uses_packet_counter(tmp_path: Path) -> None:
    rate, n = 60.0, 480
    t = np.arange(n) / rate
    counter = (65500 + np.arange(n)) % 65536
    counter_gap = np.delete(counter, np.arange(200, 205))  # five lost samples
    keep = np.delete(np.arange(n), np.arange(200, 205))
    f = write_xsens(
        tmp_path / "LeftThigh.txt", counter_gap, walk_acc(t[keep]), walk_gyr(t[keep]), rate
    )
    s = import_files("xsens", [f])
    d = s.data["left_thigh"]
    check_basics(d, rate, gaps_allowed=True)
    np.testing.assert_allclose(d.t, t[keep], atol=1e-9)
    assert len(s.sensors["left_thigh"].gaps) == 1


def test_xsens_acquisition_frequency_variant(tmp_path: Path) -> None:
    rate, n = 100.0, 600
    t = np.arange(n) / rate
    f = write_xsens(
        tmp_path / "pelvis.txt", np.arange(n), walk_acc(t), walk_gyr(t), rate, variant="acqfreq"
    )
    s = import_files("xsens", [f])
    d = s.data["pelvis"]
    check_basics(d, rate)
    np.testing.assert_allclose(d.gyr, walk_gyr(t), rtol=1e-12, atol=1e-9)
    assert s.sensors["pelvis"].rate_hz == 100.0


def test_movesense_per_sample_times_from_packet_timestamps(tmp_path: Path) -> None:
    n_per, packet_ms = 8, 75  # 8 samples per 75 ms: "104 Hz" that is really 106.67 Hz
    true_rate = n_per / (packet_ms / 1000)
    n_packets = 100
    t = np.arange(n_packets * n_per) / true_rate
    stamps = (2**32 - 2000 + np.arange(n_packets) * packet_ms) % 2**32  # device ms clock wraps
    f = write_movesense(
        tmp_path / "right_shank.json", stamps, walk_acc(t), walk_gyr(t), walk_mag(t), n_per
    )
    s = import_files("movesense", [f])
    d = s.data["right_shank"]
    check_basics(d, true_rate)
    np.testing.assert_allclose(d.t, t, atol=1e-9)
    np.testing.assert_allclose(d.gyr, walk_gyr(t), rtol=1e-12)
    np.testing.assert_allclose(d.mag, walk_mag(t), rtol=1e-12)
    assert s.sensors["right_shank"].rate_hz == 104.0  # the nominal
    assert s.sensors["right_shank"].extra["effective_rate_hz"] == pytest.approx(true_rate, rel=1e-6)
    assert any("differs from nominal 104" in w for w in s.source["warnings"])


def test_ngimu_irregular_timestamps_resampled(tmp_path: Path) -> None:
    rate, n = 400.0, 3200
    rng = np.random.default_rng(3)
    t_true = np.arange(n) / rate + rng.uniform(-0.2e-3, 0.2e-3, n)
    t_true[0] = 0.0
    t_file = t_true.copy()
    repeats = rng.choice(np.arange(10, n - 10), size=n // 50, replace=False)
    t_file[repeats] = t_file[repeats - 1]  # repeated time values
    keep = np.ones(n, dtype=bool)
    keep[1600:1620] = False  # a 50 ms gap
    f = write_ngimu(
        tmp_path / "sensors.csv",
        t_file[keep],
        walk_acc(t_true[keep]),
        walk_gyr(t_true[keep]),
        walk_mag(t_true[keep]),
    )
    folder = tmp_path / "NGIMU - 0035EEA1 pelvis"
    folder.mkdir()
    f = f.rename(folder / "sensors.csv")
    s = import_files("ngimu", [f])
    d = s.data["pelvis"]
    check_basics(d, rate, gaps_allowed=True)
    assert abs(np.diff(d.t)[np.diff(d.t) < 2 / rate] * rate - 1).max() < 1e-6  # exactly uniform now
    err = d.gyr - walk_gyr(d.t)
    assert np.sqrt(np.mean(err**2)) < 3.0  # deg/s, against walking peaks of ~400
    assert len(s.sensors["pelvis"].gaps) == 1
    assert s.sensors["pelvis"].extra["resampled"] is True


def test_ximu_time_from_row_and_rate_not_packet_number(tmp_path: Path) -> None:
    rate, n = 256.0, 2048
    t = np.arange(n) / rate
    packets = np.cumsum(
        np.random.default_rng(1).integers(1, 4, n)
    )  # other packet types interleaved
    f = write_ximu(
        tmp_path / "LeftFoot_CalInertialAndMag.csv", packets, walk_acc(t), walk_gyr(t), walk_mag(t)
    )
    s = import_files("ximu", [f], rate_hz=rate)
    d = s.data["left_foot"]
    check_basics(d, rate)
    np.testing.assert_allclose(d.t, t)
    np.testing.assert_allclose(d.acc, walk_acc(t), rtol=1e-12)
    np.testing.assert_allclose(d.mag, walk_mag(t), rtol=1e-12)
    np.testing.assert_array_equal(d.seq, packets)
    assert s.source["warnings"] == []


def test_csv_time_in_ms_units_from_header(tmp_path: Path) -> None:
    rate, n = 200.0, 1600
    t = np.arange(n) / rate
    acc, gyr = walk_acc(t) / G, np.radians(walk_gyr(t))
    cols = {"time (ms)": 1000 * t + 5000}
    cols.update({f"acc_{a} (g)": acc[:, i] for i, a in enumerate("xyz")})
    cols.update({f"gyr_{a} (rad/s)": gyr[:, i] for i, a in enumerate("xyz")})
    f = write_csv(tmp_path / "right_thigh.csv", cols)
    s = import_files("csv", [f])
    d = s.data["right_thigh"]
    check_basics(d, rate)
    np.testing.assert_allclose(d.gyr, walk_gyr(t), rtol=1e-9, atol=1e-9)
    assert s.source["warnings"] == []


def test_csv_columns_and_units_from_options_with_rate(tmp_path: Path) -> None:
    rate, n = 100.0, 800
    t = np.arange(n) / rate
    acc, gyr = walk_acc(t), walk_gyr(t)
    cols = {name: acc[:, i] for i, name in enumerate(["ax", "ay", "az"])}
    cols.update({name: gyr[:, i] for i, name in enumerate(["wx", "wy", "wz"])})
    f = write_csv(tmp_path / "trial.csv", cols, sep=";")
    s = import_files(
        "csv",
        [f],
        placements=["left_shank"],
        rate_hz=rate,
        acc_columns=["ax", "ay", "az"],
        gyr_columns=["wx", "wy", "wz"],
        acc_unit="m/s^2",
        gyr_unit="deg/s",
    )
    d = s.data["left_shank"]
    check_basics(d, rate)
    np.testing.assert_array_equal(d.gyr, gyr)


def test_csv_without_units_detected_from_data_and_reported(tmp_path: Path) -> None:
    rate, n = 100.0, 800
    t = np.arange(n) / rate
    acc, gyr = walk_acc(t) / G, np.radians(walk_gyr(t))
    cols = {"t": t}
    cols.update({f"acc_{a}": acc[:, i] for i, a in enumerate("xyz")})
    cols.update({f"gyro_{a}": gyr[:, i] for i, a in enumerate("xyz")})
    f = write_csv(tmp_path / "pelvis.csv", cols)
    s = import_files("csv", [f])
    d = s.data["pelvis"]
    check_basics(d, rate)
    np.testing.assert_allclose(d.gyr, walk_gyr(t), rtol=1e-9, atol=1e-9)
    warnings = " ".join(s.source["warnings"])
    assert "g chosen" in warnings and "rad/s chosen" in warnings


def test_imported_session_round_trips_through_a_folder(tmp_path: Path) -> None:
    n_per, packet_ms = 8, 75
    t = np.arange(40 * n_per) / (n_per / 0.075)
    f = write_movesense(
        tmp_path / "left_foot.json", np.arange(40) * packet_ms, walk_acc(t), walk_gyr(t), None, 8
    )
    s = import_files("movesense", [f])
    save_session(s, tmp_path / "out")
    back = load_session(tmp_path / "out")
    np.testing.assert_array_equal(back.data["left_foot"].gyr, s.data["left_foot"].gyr)
    assert back.source == s.source
    assert back.sensors["left_foot"].extra == s.sensors["left_foot"].extra


def test_xsens_sample_time_fine_in_microseconds_is_recognised_from_the_rate(tmp_path: Path) -> None:
    rate, n = 100.0, 600
    t = np.arange(n) / rate
    us = 5_000_000 + np.arange(n) * 10_000
    f = write_xsens(
        tmp_path / "right_foot.txt", np.arange(n), walk_acc(t), walk_gyr(t), rate, stf_ticks=us
    )
    s = import_files("xsens", [f])
    np.testing.assert_allclose(s.data["right_foot"].t, t, atol=1e-9)
    assert s.sensors["right_foot"].extra["stf_ticks_per_s"] == 1e6
