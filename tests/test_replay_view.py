"""The live stride view: latest metrics, rolling means, warnings, cue line; the live plot renders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from imu_gait.live_strides import LivePlot, StrideBoard, stride_line, warnings
from imu_gait.pipeline.online import OnlineAnalyzer, StrideUpdate
from imu_gait.session import SensorInfo


def _update(side: str, k: int, excursion: float) -> StrideUpdate:
    row = {
        "side": side,
        "stride": k,
        "activity": "walk",
        "ic": 10.0 + k,
        "stride_time": 1.1,
        "stride_length": 1.4,
        "eversion_excursion": excursion,
        "eversion_velocity_peak": 50.0,
        "knee_abduction_peak": float("nan"),
        "pelvic_drop_peak": float("nan"),
    }
    curves = pd.DataFrame(
        {
            "side": side,
            "stride": k,
            "variable": "eversion",
            "pct": np.linspace(0, 100, 101),
            "value": excursion * np.sin(np.linspace(0, np.pi, 101)),
        }
    )
    return StrideUpdate(side, row, curves, 12.0 + k)


def test_board_shows_latest_stride_and_rolling_mean_of_the_last_n() -> None:
    board = StrideBoard("test", rolling=3)
    for k, exc in enumerate([2.0, 4.0, 6.0, 8.0]):
        board.add(_update("left", k, exc))
    board.add(_update("right", 0, 5.0))
    assert board.rolling_mean("left", "eversion_excursion") == 6.0  # last three: 4, 6, 8
    assert np.isnan(board.rolling_mean("left", "knee_abduction_peak"))
    board.cue_text = "CUE (bell): left eversion_excursion>5:2"
    con = Console(width=200, record=True, force_terminal=False)
    con.print(board.render())
    text = con.export_text()
    left = next(line for line in text.splitlines() if line.lstrip("│ ").startswith("left"))
    assert "8.0" in left and " 4 " in left  # latest excursion, 4 strides
    assert "mean 3" in text and "6.0" in text
    assert "CUE (bell)" in text
    assert "right" in text


def test_board_keeps_the_newest_stride_and_adds_its_provisional_length() -> None:
    """Live, a stride comes first without its length (the foot has not rested yet), an older stride's final row
    may arrive in between, then the same stride with its provisional length."""
    board = StrideBoard("test", rolling=5)
    first = _update("left", 5, 6.0)
    first.row["stride_length"] = float("nan")
    first.final = False
    board.add(first)
    older = _update("left", 4, 3.0)
    older.row["stride_length"] = 1.31
    board.add(older)
    assert board.latest["left"]["stride"] == 5 and np.isnan(board.latest["left"]["stride_length"])
    later = _update("left", 5, 6.0)
    later.row["stride_length"] = 1.42
    later.final = False
    board.add(later)
    assert board.latest["left"]["stride_length"] == 1.42
    assert board.latest["left"]["eversion_excursion"] == 6.0
    assert board.count["left"] == 1  # stride 4 came late: it updates nothing that is shown as new
    con = Console(width=200, record=True, force_terminal=False)
    con.print(board.render())
    text = con.export_text()
    left = next(ln for ln in text.splitlines() if ln.lstrip("│ ").startswith("left"))
    assert "1.42" in left and "6.0" in left
    assert (
        "left *" in left and "* provisional" in text
    )  # the latest row is marked until it is final
    done = _update("left", 5, 6.0)
    done.row["stride_length"] = 1.40
    board.add(done)
    con = Console(width=200, record=True, force_terminal=False)
    con.print(board.render())
    text = con.export_text()
    left = next(ln for ln in text.splitlines() if ln.lstrip("│ ").startswith("left"))
    assert "1.40" in left and "left *" not in left and "provisional" not in text


def test_warnings_name_lost_sensors_clipping_and_gaps() -> None:
    info = SensorInfo(rate_hz=100.0, acc_range_g=8.0, gyr_range_dps=500.0)
    an = OnlineAnalyzer({"left_foot": info, "right_foot": info})
    t = np.arange(0, 2.0, 0.01)
    acc = np.tile([0.0, 0.0, 9.81], (t.size, 1))
    gyr = np.zeros((t.size, 3))
    gyr[50:53, 1] = 500.0  # clipped at the range
    keep = np.ones(t.size, dtype=bool)
    keep[100:120] = False  # 0.2 s missing
    an.feed("left_foot", t[keep], acc[keep], gyr[keep])
    an.feed("right_foot", t[:50], acc[:50], gyr[:50])  # stops after 0.5 s
    lines = warnings(an)
    assert any("right_foot: no data for 1.5 s" in w for w in lines), lines
    assert any("left_foot: 3 clipped samples" in w for w in lines), lines
    assert any("left_foot: 1 gap in the data" in w for w in lines), lines
    assert not any(w.startswith("left_foot: no data") for w in lines)


def test_stride_line_and_live_plot(tmp_path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    u = _update("left", 3, 7.5)
    line = stride_line(u)
    assert line.startswith("left  #3") and "eversion_excursion 7.5" in line
    assert "knee_abduction_peak" not in line  # missing metrics are left out
    plot = LivePlot()
    for k in range(4):
        plot.add(_update("left", k, 4.0 + k))
        plot.add(_update("right", k, 3.0))
    path = tmp_path / "live.png"
    plot.save(str(path))
    img = matplotlib.image.imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 500
    # drawn lines: plenty of non-white pixels in both panels
    dark = img[..., :3].mean(axis=2) < 0.8
    half = img.shape[1] // 2
    assert dark[:, :half].mean() > 0.01 and dark[:, half:].mean() > 0.01


def test_a_stride_counts_once_with_its_newest_values() -> None:
    """Early updates count at once (final rows with the knee come 10-15 s later); the final row of a stride
    updates it in the means instead of counting again, and a blank value does not erase a known one."""
    board = StrideBoard("test", rolling=5)
    early = _update("left", 0, 4.0)
    early.final = False
    early.row["stride_length"] = float("nan")  # the trajectory's columns come with the final row
    board.add(early)
    assert board.count["left"] == 1
    assert board.rolling_mean("left", "eversion_excursion") == 4.0
    assert np.isnan(board.rolling_mean("left", "stride_length"))
    board.add(_update("left", 1, 8.0))
    final = _update("left", 0, 4.5)  # stride 0's final row after stride 1's early one
    final.row["knee_abduction_peak"] = 3.0
    board.add(final)
    assert board.count["left"] == 2
    assert board.rolling_mean("left", "eversion_excursion") == pytest.approx((4.5 + 8.0) / 2)
    assert board.rolling_mean("left", "stride_length") == pytest.approx(1.4)
    assert board.rolling_mean("left", "knee_abduction_peak") == pytest.approx(3.0)
