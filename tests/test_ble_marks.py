"""Marks while recording: the mark book, the crash-safe marks log, stdin input, and the time of a mark against the
recorded data (emulated sensors on the real Bumble stack through bleak, the real recorder, a real pipe as stdin)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import firmware_protocols
from imu_gait.ble.mark_input import MarkInput, choose_mode
from imu_gait.ble.marks import (
    Command,
    Mark,
    MarkBook,
    MarkError,
    merge_into,
    parse_key,
    parse_line,
)
from imu_gait.ble.marks_log import MARKS_FILE, MarksLog, read_marks
from imu_gait.ble.recorder import Recorder, SensorSpec
from imu_gait.emulator.bleak_backend import bumble_backends, close_central
from imu_gait.emulator.peripheral import Knobs
from imu_gait.emulator.server import SensorServer
from imu_gait.emulator.source import synthetic_imu
from imu_gait.pipeline.signal import GRAVITY
from imu_gait.session import load_session

FEET = ("left_foot", "right_foot")


def _book(*items: tuple[float, Command]) -> MarkBook:
    book = MarkBook()
    for t, cmd in items:
        book.apply(book.resolve(cmd, t))
    return book


def test_calibration_toggles_and_segments_end_each_other() -> None:
    book = _book(
        (1.0, Command("calibrate")),
        (6.0, Command("calibrate")),
        (8.0, Command("segment", "walk")),
        (20.0, Command("segment", "squat", "left")),
        (25.5, Command("marker", note="knee pain")),
        (30.0, Command("end")),
        (31.0, Command("end")),  # nothing open: no event
    )
    assert book.static == [1.0, 6.0]
    assert book.calibrating_since is None and book.segment is None
    assert book.events == [
        {"t": 8.0, "t_end": 20.0, "label": "walk"},
        {"t": 20.0, "t_end": 30.0, "label": "squat", "side": "left"},
        {"t": 25.5, "label": "mark", "note": "knee pain"},
    ]
    # a second calibration replaces the first; open items end at the end of the recording
    book.apply(book.resolve(Command("calibrate"), 40.0))
    book.apply(book.resolve(Command("calibrate"), 44.25))
    book.apply(book.resolve(Command("segment", "run"), 50.0))
    book.close(61.0)
    assert book.static == [40.0, 44.25]
    assert book.events[-1] == {"t": 50.0, "t_end": 61.0, "label": "run"}


def test_merge_into_session_metadata_is_idempotent() -> None:
    book = _book((1.0, Command("calibrate")), (4.0, Command("calibrate")))
    book.apply(book.resolve(Command("segment", "walk"), 5.0))
    book.apply(book.resolve(Command("end"), 9.0))
    meta = {"calibration": {}, "events": [{"t": 7.0, "t_end": 7.5, "label": "gap"}]}
    merge_into(meta, book)
    once = json.loads(json.dumps(meta))
    merge_into(meta, book)
    assert meta == once
    assert meta["calibration"] == {"static": [1.0, 4.0]}
    assert [e["label"] for e in meta["events"]] == ["walk", "gap"]


def test_keys_and_lines_parse_to_commands() -> None:
    assert parse_key("c") == Command("calibrate")
    assert [parse_key(k).label for k in "wudrskt"] == [
        "walk",
        "stairs_up",
        "stairs_down",
        "run",
        "squat",
        "step_down",
        "stand",
    ]
    assert parse_key(" ") == Command("end")
    assert parse_key("m") == Command("marker")
    assert parse_key("x") is None and parse_key("C") is None
    assert parse_line("  ") is None
    assert parse_line("step-down right") == Command("segment", "step_down", "right")
    assert parse_line("segment treadmill 3 km/h") == Command("segment", "treadmill 3 km/h")
    assert parse_line("mark subject stumbled") == Command("marker", note="subject stumbled")
    for bad in ("squat middle", "dance", "segment", "walk left now"):
        with pytest.raises(MarkError):
            parse_line(bad)


def test_marks_log_keeps_every_whole_line_after_a_torn_write(tmp_path: Path) -> None:
    path = tmp_path / MARKS_FILE
    log = MarksLog(path)
    marks = [
        Mark(1.5, "calibration_start"),
        Mark(4.0, "calibration_stop"),
        Mark(5.0, "segment", "walk"),
    ]
    for m in marks:
        log.append(m)
    with open(path, "ab") as f:  # a crash in the middle of the next line
        f.write(b'{"t": 9.1, "kind": "en')
    read = read_marks(path)
    assert read.marks == marks
    assert read.dropped_lines == 1
    # appending after the crash cuts the torn tail first
    MarksLog(path).append(Mark(9.5, "end"))
    read = read_marks(path)
    assert read.marks == [*marks, Mark(9.5, "end")]
    assert read.dropped_lines == 0
    assert MarkBook.replay(read.marks).events == [{"t": 5.0, "t_end": 9.5, "label": "walk"}]


def test_input_mode_from_a_pipe_is_lines_and_never_keys() -> None:
    r, w = os.pipe()
    try:
        assert choose_mode("auto", r, live_view=True) == "lines"
        assert choose_mode("keys", r, live_view=True) == "lines"
        assert choose_mode("off", r, live_view=True) == "off"
    finally:
        os.close(r)
        os.close(w)


def test_a_mark_lands_on_the_data_clock(tmp_path: Path) -> None:
    """The synthetic source stands still for 2 s, then walks: its vertical acceleration steps by 5 m/s^2 at the
    onset. A `walk` line is written to the recorder's stdin pipe at the true onset; the mark must sit where the
    recorded data show the onset (DIY sensors at 200 Hz, 30 ms connection bursts with jitter, drifting clocks)."""
    out = tmp_path / "rec"
    r, w = os.pipe()

    async def run() -> tuple[Recorder, list[float]]:
        sources = {p: synthetic_imu(p, 10.0) for p in FEET}  # onset at 2 s, repeated every 10 s
        server = SensorServer(
            sources,
            {p: firmware_protocols.FAMILIES["diy"] for p in FEET},
            {
                "left_foot": Knobs(jitter_ms=2.0, drift_ppm=50.0, offset_s=7.0, seed=1),
                "right_foot": Knobs(jitter_ms=2.0, drift_ppm=-50.0, offset_s=3.0, seed=2),
            },
        )
        sensors = await server.start()
        rec = Recorder(
            [SensorSpec(p, sensors[p].name) for p in FEET],
            str(out),
            rate_hz=200.0,
            backends=bumble_backends(server.link),
        )
        reader = MarkInput(r, "lines", rec.now, lambda cmd, t: rec.mark(cmd, t), print)
        reader.start()
        task = asyncio.create_task(rec.run(20.0))
        loop = asyncio.get_running_loop()
        while not rec.all_streaming():
            await asyncio.sleep(0.02)
        k = int(np.ceil((loop.time() + 0.8 - server.origin - 2.0) / 10.0))
        onset = server.origin + 2.0 + 10.0 * k  # loop.time() is time.monotonic()
        schedule = [(onset - 1.5, b"c\n"), (onset - 0.5, b"c\n"), (onset, b"walk\n")]
        written: list[float] = []
        # a thread writes at the planned instants (the event loop could be busy decoding at that moment)
        writer = threading.Thread(target=_write_at, args=(w, schedule, written))
        writer.start()
        await asyncio.sleep(max(0.0, onset + 1.0 - loop.time()))
        rec.stop()
        await task
        writer.join()
        await server.close()
        await close_central(server.link)
        return rec, [onset - rec.t0, written[-1] - rec.t0]

    try:
        rec, (onset, written) = asyncio.run(run())
    finally:
        os.close(r)
        os.close(w)
    meta = json.loads((out / "session.json").read_text())
    (walk,) = [e for e in meta["events"] if e["label"] == "walk"]
    # stdin -> reader thread -> session clock: the mark is stamped when the line is read
    latency = walk["t"] - written
    assert -1e-4 <= latency < 0.03  # marks are kept to 0.1 ms; measured 0.0-0.2 ms
    assert written - onset < 0.02  # the test's own writer was on time
    session = load_session(out)
    errors = []
    for p in FEET:
        d = session.data[p]
        after = d.t > walk["t"] - 0.5
        first_moving = np.flatnonzero(after & (np.abs(d.acc[:, 2] - GRAVITY) > 2.5))[0]
        errors.append(walk["t"] - (written - onset) - d.t[first_moving])
        # the calibration window holds the standing data
        cal = (d.t >= meta["calibration"]["static"][0]) & (d.t <= meta["calibration"]["static"][1])
        assert cal.sum() > 150
        assert np.abs(d.gyr[cal]).max() < 0.5
    # one sample period (5 ms) of onset quantisation plus the clock sync error (a few ms; measured -1.9..-8.1 ms)
    assert np.abs(errors).max() < 0.015, errors
    marks = read_marks(out / MARKS_FILE).marks
    assert [m.kind for m in marks] == ["calibration_start", "calibration_stop", "segment", "end"]
    assert meta["calibration"]["static"][1] - meta["calibration"]["static"][0] == pytest.approx(
        1.0, abs=0.03
    )
    assert rec.marks.static == meta["calibration"]["static"]


def _write_at(fd: int, schedule: list[tuple[float, bytes]], written: list[float]) -> None:
    """Write each chunk at its monotonic time; note the time just before each write."""
    for at, data in schedule:
        time.sleep(max(0.0, at - time.monotonic()))
        written.append(time.monotonic())
        os.write(fd, data)
