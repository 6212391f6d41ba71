"""Finalize a recording that did not end cleanly (recorder killed, power lost): ``imu-gait finalize``.

From what a crash leaves in the session folder (raw frame logs, maybe Parquet parts, maybe a stale or no
``session.json``, the marks log) this writes what a clean stop would have: one ``<placement>.parquet`` per sensor
decoded from its raw log with the recorder's own code (:func:`imu_gait.ble.decode.decode_frames`: family decoder
per connection segment, one clock fit per segment over the whole recording), the link gaps, the marks, and
``session.json`` with ``recorder.finalized`` true. Running it again gives the same files; each step leaves a
folder that opens (the Parquet file is written before the parts are removed, session.json last).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import firmware_protocols
from firmware_protocols import StreamConfig
from imu_gait.ble.decode import (
    EVENT_CONNECTING,
    FINAL_COLUMNS,
    decode_frames,
    final_columns,
    fit_segments,
)
from imu_gait.ble.marks import MarkBook, merge_into
from imu_gait.ble.marks_log import MARKS_FILE, read_marks
from imu_gait.ble.store import (
    RecordingLock,
    new_recording_meta,
    read_parts,
    write_parquet_atomic,
)
from imu_gait.errors import SessionError, UsageError
from imu_gait.rawlog import KIND_EVENT, KIND_NOTIFICATION, RawFrame, read_raw_log
from imu_gait.session import (
    PARTS_SUFFIX,
    PLACEMENTS,
    read_metadata,
    write_json_atomic,
)

CONFIG_EVENT = (
    "config"  # the recorder's link event with the sensor's identity and stream configuration
)


@dataclass
class SensorReport:
    """What was recovered for one sensor."""

    placement: str
    source: str = ""  # "raw log", "parts" or "" (nothing usable)
    frames: int = 0
    notifications: int = 0
    dropped_bytes: int = 0
    samples: int = 0
    t_first: float | None = None
    t_last: float | None = None
    segments: int = 0
    gaps: list[list[float]] = field(default_factory=list)
    problem: str = ""


@dataclass
class Report:
    folder: str
    sensors: dict[str, SensorReport] = field(default_factory=dict)
    marks: int = 0
    marks_dropped: int = 0
    calibration: list[float] | None = None
    events: int = 0  # segments and markers from the marks log
    closed_at_end: list[str] = field(
        default_factory=list
    )  # marks still open at the crash, ended with the data
    metadata_rebuilt: bool = False
    refinalized: bool = False
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["sensors"] = {p: asdict(r) for p, r in self.sensors.items()}
        return d


def finalize_folder(
    folder: str | Path,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> Report:
    """Turn the unfinished live recording in ``folder`` into a normal session; see the module docstring.
    A finished session is refused (UsageError) unless ``force``. ``progress(placement, raw_log_bytes)`` is
    called before each sensor is decoded."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    lock = RecordingLock(folder)
    if not lock.acquire():
        raise UsageError(
            f"{folder}: a recorder (or another finalize) is still at work on it; stop it first"
        )
    try:
        return _finalize(folder, force, progress or (lambda p, n: None))
    finally:
        lock.release()


def _finalize(folder: Path, force: bool, progress: Callable[[str, int], None]) -> Report:
    report = Report(str(folder))
    meta = _metadata(folder, report)
    if meta.get("recorder", {}).get("finalized") and not force:
        raise UsageError(
            f"{folder}: the recording is already finalized (use --force to decode it again from its raw logs)"
        )
    report.refinalized = bool(meta.get("recorder", {}).get("finalized"))
    logs = {p.stem: p for p in sorted((folder / "raw").glob("*.frames"))}
    if not logs and not any(folder.glob(f"*{PARTS_SUFFIX}")):
        raise SessionError(f"{folder}: no raw frame logs (raw/*.frames): not a live recording")
    placements = sorted(set(logs) | set(meta["sensors"]), key=_placement_order)
    for p in placements:
        if p not in PLACEMENTS:
            report.problems.append(f"{p}: not a placement; left out")
            continue
        progress(p, logs[p].stat().st_size if p in logs else 0)
        report.sensors[p] = _recover_sensor(folder, p, logs.get(p), meta)
    if not meta["sensors"]:
        problems = "; ".join(f"{p}: {r.problem}" for p, r in report.sensors.items())
        raise SessionError(f"{folder}: no sensor could be recovered ({problems or 'no raw logs'})")
    _apply_marks(folder, meta, report)
    recorder = meta.setdefault("recorder", {})
    recorder["finalized"] = True
    recorder["missing"] = sorted(set(recorder.get("targets", {})) - set(meta["sensors"]))
    ends = [r.t_last for r in report.sensors.values() if r.t_last is not None]
    if ends:
        recorder["duration_s"] = max(ends)
    recorder["recovered"] = {
        "by": "imu-gait finalize",
        "frames": {p: r.frames for p, r in report.sensors.items()},
        "dropped_bytes": {p: r.dropped_bytes for p, r in report.sensors.items()},
        "marks_dropped": report.marks_dropped,
    }
    write_json_atomic(meta, folder / "session.json")
    for tmp in folder.glob(
        ".*.tmp"
    ):  # half-written files of the killed recorder (never renamed into place)
        tmp.unlink(missing_ok=True)
    return report


def _placement_order(p: str) -> int:
    return PLACEMENTS.index(p) if p in PLACEMENTS else len(PLACEMENTS)


def _metadata(folder: Path, report: Report) -> dict[str, Any]:
    """session.json of the recording, or a new one when the recorder died before writing it."""
    if (folder / "session.json").is_file():
        meta = read_metadata(folder)
        meta.setdefault("sensors", {})
        meta.setdefault("events", [])
        meta.setdefault("calibration", {})
        return meta
    report.metadata_rebuilt = True
    report.problems.append(
        "no session.json: rebuilt from the raw logs (subject and condition unknown)"
    )
    return {**new_recording_meta(), "recorder": {"finalized": False}}


def _recover_sensor(
    folder: Path, placement: str, log_path: Path | None, meta: dict[str, Any]
) -> SensorReport:
    r = SensorReport(placement)
    frames: list[RawFrame] = []
    if log_path is not None:
        raw = read_raw_log(log_path)
        frames, r.frames, r.dropped_bytes = raw.frames, len(raw.frames), raw.dropped_bytes
        r.notifications = sum(1 for f in frames if f.kind == KIND_NOTIFICATION)
    info = dict(meta["sensors"].get(placement) or _logged_config(frames) or {})
    family = firmware_protocols.FAMILIES.get(info.get("family", ""))
    cols: dict[str, np.ndarray] = {}
    fits: dict = {}
    if family is None or not info.get("rate_hz"):
        r.problem = "sensor family and rate unknown (not in session.json nor in the raw log)"
    else:
        config = StreamConfig(
            float(info["rate_hz"]), info.get("acc_range_g"), info.get("gyr_range_dps")
        )
        cols, fits = decode_frames(frames, family, config)
        r.source = "raw log" if cols else ""
    parts = folder / f"{placement}{PARTS_SUFFIX}"
    if not cols and parts.is_dir():
        cols, fits = _from_parts(parts)
        r.source = "parts" if cols else ""
    if not cols or "family" not in info:
        r.problem = r.problem or "no samples"
        r.samples, r.source = 0, ""
        meta["sensors"].pop(placement, None)
        if parts.is_dir() and not any(parts.glob("*.parquet")):
            shutil.rmtree(
                parts, ignore_errors=True
            )  # parts that hold samples are never thrown away
        return r
    write_parquet_atomic(
        {c: cols[c] for c in FINAL_COLUMNS if c in cols}, folder / f"{placement}.parquet"
    )
    shutil.rmtree(parts, ignore_errors=True)
    r.samples = int(cols["t"].size)
    r.t_first, r.t_last = float(cols["t"][0]), float(cols["t"][-1])
    r.segments = len(fits)
    r.gaps = link_gaps(frames)
    info["gaps"] = r.gaps
    info["notifications"] = r.notifications
    info["clock_fits"] = {
        str(k): {
            "offset": f.offset,
            "scale": f.scale,
            "drift_ppm": f.drift_ppm,
            "delay_ms": 1e3 * f.delay_s,
        }
        for k, f in fits.items()
    }
    meta["sensors"][placement] = info
    others = [
        e
        for e in meta["events"]
        if not (e.get("label") == "gap" and e.get("placement") == placement)
    ]
    gaps = [{"t": a, "t_end": b, "label": "gap", "placement": placement} for a, b in r.gaps]
    meta["events"] = sorted(others + gaps, key=lambda e: e.get("t", 0.0))
    return r


def _logged_config(frames: list[RawFrame]) -> dict[str, Any] | None:
    """The newest sensor configuration the recorder wrote into the raw log."""
    for f in reversed(frames):
        if f.kind != KIND_EVENT:
            continue
        text = f.payload.decode("utf-8", "replace")
        if text.startswith(CONFIG_EVENT + " "):
            try:
                info = json.loads(text[len(CONFIG_EVENT) + 1 :])
            except json.JSONDecodeError:
                continue
            if isinstance(info, dict):
                info.setdefault("firmware", "")
                return info
    return None


def _from_parts(parts: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Final columns from decoded parts alone (no usable raw log): each segment's clock fitted to its samples'
    device references against their arrival times."""
    cols = read_parts(parts)
    if not cols or "t_ref" not in cols or not cols["t_ref"].size:
        return {}, {}
    points = {}
    for seg in np.unique(cols["segment"]):
        m = cols["segment"] == seg
        points[int(seg)] = (cols["t_ref"][m], cols["t_arrival"][m])
    fits = fit_segments(points)
    return final_columns(cols, fits), fits


def link_gaps(frames: list[RawFrame]) -> list[list[float]]:
    """Interruptions between connections, as the recorder marks them: from the last notification of one
    connection to the first of the next one that delivered data."""
    gaps: list[list[float]] = []
    last: float | None = None
    new_segment = False
    for f in frames:
        if f.kind == KIND_EVENT:
            if f.payload.decode("utf-8", "replace").startswith(EVENT_CONNECTING):
                new_segment = True
            continue
        if f.kind != KIND_NOTIFICATION:
            continue
        if new_segment and last is not None:
            gaps.append([last, f.t])
        new_segment = False
        last = f.t
    return gaps


def _apply_marks(folder: Path, meta: dict[str, Any], report: Report) -> None:
    """The marks log into session.json; a calibration or segment still open at the crash ends with the data."""
    read = read_marks(folder / MARKS_FILE)
    report.marks, report.marks_dropped = len(read.marks), read.dropped_lines
    report.problems += read.problems
    book = MarkBook.replay(read.marks)
    ends = [r.t_last for r in report.sensors.values() if r.t_last is not None]
    if book.calibrating_since is not None:
        report.closed_at_end.append("calibration")
    if book.segment is not None:
        report.closed_at_end.append(f"segment {book.segment['label']}")
    if ends:
        book.close(max(ends))
    merge_into(meta, book)
    report.calibration = book.static
    report.events = len(book.events)
