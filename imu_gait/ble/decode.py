"""One sensor's notifications -> samples on the session clock, as the recorder maps them.

The same code serves the recorder while it records (:class:`StreamDecoder`, provisional times), the recorder at
finalize (:func:`final_columns` on its decoded parts and clock-fit points) and everything that starts from the raw
frame log instead: replay, and recovery of a recording whose fit points are not in memory
(:func:`decode_raw_log`). So a raw log decodes to exactly the samples of the recorder's ``<placement>.parquet``.

- Connection segments: the decoder is reset at the first notification of every segment (a reconnected device
  restarts its counters); in a raw log a segment starts at the first notification after a ``connecting`` link
  event (the recorder writes that event before every connection attempt).
- Device reference of each sample: its ``t_device``, else ``seq / rate``, else its count in the segment / rate.
- Clock-fit points, one per notification: ``(newest_t_device + ready_lag_s, arrival)`` where the decoder reports
  the newest device time it saw (decoders that hold samples back); else ``(newest reference of each decoded
  block, arrival)``. :func:`imu_gait.pipeline.timesync.fit_clock` per segment over the whole recording maps the
  references to the session clock; samples whose time does not advance past earlier ones (overlapping segments)
  are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from firmware_protocols import ProtocolError
from imu_gait.pipeline.timesync import ClockFit, fit_clock

EVENT_CONNECTING = "connecting"  # the recorder's link-event text before every connection attempt
AXES_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
FINAL_COLUMNS = (
    "t",
    *AXES_COLUMNS,
    "seq",
    "t_device",
)  # what <placement>.parquet holds (seq/t_device if known)


@dataclass
class DecodedBlock:
    """Samples decoded from one notification: arrival time (s, session clock), segment, device reference (s)."""

    t_arrival: float
    segment: int
    ref: np.ndarray
    block: Any  # firmware_protocols SampleBlock


@dataclass
class StreamDecoder:
    """A family decoder fed one sensor's notifications in arrival order, over connection segments.

    ``fit_points[segment]`` collects the clock-fit points (device reference, arrival time) as they come."""

    family: ModuleType
    config: Any
    decoder: Any = None
    segment: int | None = None
    count: int = 0  # samples decoded in the current segment
    fit_points: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.decoder is None:
            self.decoder = self.family.Decoder(self.config)

    def feed(
        self, t_arrival: float, characteristic: str, data: bytes, segment: int
    ) -> list[DecodedBlock]:
        """Decode one notification that arrived at ``t_arrival`` in ``segment``; ProtocolError if malformed."""
        if segment != self.segment:
            self.decoder.reset()
            self.segment, self.count = segment, 0
        blocks = self.decoder.feed(characteristic, data)
        rate = float(self.config.rate_hz)
        xs, ys = self.fit_points.setdefault(segment, ([], []))
        newest = getattr(self.decoder, "newest_t_device", None)
        if newest is not None:
            xs.append(float(newest) + float(getattr(self.decoder, "ready_lag_s", 0.0)))
            ys.append(t_arrival)
        out = []
        for b in blocks:
            n = len(b)
            if n == 0:
                continue
            if b.t_device is not None:
                ref = np.asarray(b.t_device, dtype=np.float64)
            elif b.seq is not None:
                ref = np.asarray(b.seq, dtype=np.float64) / rate
            else:
                ref = (self.count + np.arange(n)) / rate
            self.count += n
            if newest is None:
                xs.append(float(ref[-1]))
                ys.append(t_arrival)
            out.append(DecodedBlock(t_arrival, segment, ref, b))
        return out


def block_columns(blocks: list[DecodedBlock]) -> dict[str, np.ndarray]:
    """Per-sample columns of decoded blocks (non-empty list): acc_*/gyr_*, seq and t_device where every block
    has them, t_ref (device reference, s), segment, t_arrival (s)."""
    cols: dict[str, np.ndarray] = {}
    acc = np.concatenate([np.asarray(r.block.acc, dtype=np.float64) for r in blocks])
    gyr = np.concatenate([np.asarray(r.block.gyr, dtype=np.float64) for r in blocks])
    for i, a in enumerate("xyz"):
        cols[f"acc_{a}"] = acc[:, i]
    for i, a in enumerate("xyz"):
        cols[f"gyr_{a}"] = gyr[:, i]
    ref = np.concatenate([r.ref for r in blocks])
    if all(r.block.seq is not None for r in blocks):
        cols["seq"] = np.concatenate([np.asarray(r.block.seq, dtype=np.int64) for r in blocks])
    if all(r.block.t_device is not None for r in blocks):
        cols["t_device"] = ref
    cols["t_ref"] = ref
    cols["segment"] = np.concatenate(
        [np.full(len(r.block), r.segment, dtype=np.int64) for r in blocks]
    )
    cols["t_arrival"] = np.concatenate([np.full(len(r.block), r.t_arrival) for r in blocks])
    return cols


def fit_segments(fit_points: dict[int, tuple[list[float], list[float]]]) -> dict[int, ClockFit]:
    """One clock fit per segment with fit points."""
    return {
        seg: fit_clock(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
        for seg, (xs, ys) in fit_points.items()
        if len(xs)
    }


def final_columns(cols: dict[str, np.ndarray], fits: dict[int, ClockFit]) -> dict[str, np.ndarray]:
    """Samples on the session clock: ``t`` from each segment's fit of ``t_ref``, then only samples whose time
    advances past every earlier one. Returns t, acc_*, gyr_*, seq/t_device (if in ``cols``) and t_arrival.
    KeyError if a segment of ``cols`` has no fit."""
    ref, segs = cols["t_ref"], cols["segment"]
    t = np.empty_like(ref)
    for seg in np.unique(segs):
        m = segs == seg
        t[m] = fits[int(seg)](ref[m])
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = t[1:] > np.maximum.accumulate(t)[:-1]  # overlapping segments: keep time order
    out = {"t": t[keep]}
    for c in (*FINAL_COLUMNS[1:], "t_arrival"):
        if c in cols:
            out[c] = cols[c][keep]
    return out


def decode_frames(
    frames: Any, family: ModuleType, config: Any
) -> tuple[dict[str, np.ndarray], dict[int, ClockFit]]:
    """Decode raw-log frames (:class:`imu_gait.rawlog.RawFrame`, in log order) of one sensor: the final columns
    (:func:`final_columns`; empty dict when nothing decodes) and the clock fit of each segment."""
    from imu_gait.rawlog import KIND_EVENT, KIND_NOTIFICATION

    stream = StreamDecoder(family, config)
    segment, new_segment = -1, True
    blocks: list[DecodedBlock] = []
    for f in frames:
        if f.kind == KIND_EVENT:
            if f.payload.decode("utf-8", "replace").startswith(EVENT_CONNECTING):
                new_segment = True
            continue
        if f.kind != KIND_NOTIFICATION:
            continue
        if new_segment:
            segment, new_segment = segment + 1, False
        try:
            blocks.extend(stream.feed(f.t, f.characteristic, f.payload, segment))
        except ProtocolError:
            continue
    if not blocks:
        return {}, {}
    fits = fit_segments(stream.fit_points)
    return final_columns(block_columns(blocks), fits), fits


def decode_raw_log(
    path: str | Path, family: ModuleType, config: Any
) -> tuple[dict[str, np.ndarray], dict[int, ClockFit]]:
    """:func:`decode_frames` of the raw frame log at ``path`` (a torn last frame is left out)."""
    from imu_gait.rawlog import read_raw_log

    return decode_frames(read_raw_log(path).frames, family, config)
