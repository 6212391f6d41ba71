"""Replay a saved session through the live pipeline: the same decoders, time sync and online analyzer as a
recording, in arrival order, at real time, N times faster, or as fast as possible.

Two sources, one stream of ``Arrival`` blocks (host arrival time, placement, samples on the session clock):

- the raw frame log (``raw/<placement>.frames``, live recordings): decoded and mapped to the session clock by the
  recorder's own code (:mod:`imu_gait.ble.decode`: family decoder per connection segment, clock fit over the
  whole recording, as the recorder does when it finalizes), the samples delivered when their notification
  arrived;
- the decoded samples (``<placement>.parquet``; imported, simulated or recorded sessions): blocks of
  ``block_s`` seconds, delivered at the time of their last sample.

The online analyzer's result does not depend on how the samples are cut into blocks (see
:mod:`imu_gait.pipeline.online`), so both sources give identical strides when they hold the same samples.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imu_gait.errors import SessionError
from imu_gait.pipeline.online import OnlineAnalyzer, StrideUpdate
from imu_gait.pipeline.vqf_orientation import is_lossy
from imu_gait.session import Session

if TYPE_CHECKING:
    from imu_gait.knee_calibration import SavedKneeCalibration

KNEE_SENSORS = ("left_thigh", "left_shank", "right_thigh", "right_shank", "pelvis")
SESSION_KNEE_WINDOW_S = 40.0  # calibration 'session': knee windows from 40 s before the strides ...
SESSION_KNEE_TAIL_S = 20.0  # ... to 20 s after them


@dataclass
class Arrival:
    """Samples of one placement that became available at ``t_arrival`` (s, session clock)."""

    t_arrival: float
    placement: str
    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray


def has_raw_log(session: Session) -> bool:
    """Whether every sensor of a session folder has a raw frame log."""
    if session.path is None:
        return False
    return all((Path(session.path) / "raw" / f"{p}.frames").is_file() for p in session.data)


def sample_arrivals(session: Session, block_s: float = 0.02) -> Iterator[Arrival]:
    """The decoded samples in blocks of ``block_s`` seconds per placement, merged in time order."""

    def blocks(placement: str) -> Iterator[tuple[float, str, int, Arrival]]:
        d = session.data[placement]
        k = np.floor((d.t - d.t[0]) / block_s).astype(np.int64)
        cuts = np.flatnonzero(np.diff(k)) + 1
        for n, (i, j) in enumerate(zip(np.r_[0, cuts], np.r_[cuts, d.t.size], strict=True)):
            a = Arrival(float(d.t[j - 1]), placement, d.t[i:j], d.acc[i:j], d.gyr[i:j])
            yield a.t_arrival, placement, n, a

    for *_, a in heapq.merge(*(blocks(p) for p in session.data)):
        yield a


def decode_raw_log(path: str | Path, family_name: str, config: Any) -> list[Arrival]:
    """Decode one sensor's raw frame log into arrivals on the session clock, exactly as the recorder maps its
    samples when it finalizes (:func:`imu_gait.ble.decode.decode_raw_log`): one arrival per notification that
    gave samples, at its arrival time."""
    import firmware_protocols
    from imu_gait.ble.decode import decode_raw_log as decode

    family = firmware_protocols.FAMILIES.get(family_name)
    if family is None:
        raise SessionError(
            f"{path}: unknown sensor family {family_name!r}; cannot decode the raw log"
        )
    cols, _ = decode(path, family, config)
    if not cols:
        return []
    t, arrival = cols["t"], cols["t_arrival"]
    acc = np.column_stack([cols["acc_x"], cols["acc_y"], cols["acc_z"]])
    gyr = np.column_stack([cols["gyr_x"], cols["gyr_y"], cols["gyr_z"]])
    cuts = np.flatnonzero(arrival[1:] != arrival[:-1]) + 1
    return [
        Arrival(float(arrival[i]), "", t[i:j], acc[i:j], gyr[i:j])
        for i, j in zip(np.r_[0, cuts], np.r_[cuts, t.size], strict=True)
    ]


def raw_arrivals(session: Session) -> Iterator[Arrival]:
    """Every sensor's raw log decoded (:func:`decode_raw_log`), merged in arrival order."""
    from firmware_protocols import StreamConfig

    streams = []
    for p, info in session.sensors.items():
        if p not in session.data:
            continue
        if not info.rate_hz:
            raise SessionError(f"{session.path}: sensor {p} has no rate; cannot decode its raw log")
        config = StreamConfig(float(info.rate_hz), info.acc_range_g, info.gyr_range_dps)
        arrivals = decode_raw_log(Path(session.path) / "raw" / f"{p}.frames", info.family, config)
        for a in arrivals:
            a.placement = p
        streams.append([(a.t_arrival, p, i, a) for i, a in enumerate(arrivals)])
    for *_, a in heapq.merge(*streams):
        yield a


def replay(
    session: Session,
    analyzer: OnlineAnalyzer,
    *,
    source: str = "auto",
    speed: float = float("inf"),
    on_update: Callable[[StrideUpdate], None] | None = None,
    on_tick: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Feed ``session`` to ``analyzer`` in arrival order. ``source``: 'raw', 'samples' or 'auto' (raw when
    every sensor has a raw log). ``speed``: 1 = real time, N = N times faster, inf = as fast as possible.
    ``on_update`` gets every emitted stride, ``on_tick`` the session time after each block. Returns the
    source used."""
    if source == "auto":
        source = "raw" if has_raw_log(session) else "samples"
    if source == "raw":
        if not has_raw_log(session):
            raise SessionError(
                f"{session.path}: no raw frame log (raw/<placement>.frames) to replay"
            )
        stream = raw_arrivals(session)
    elif source == "samples":
        stream = sample_arrivals(session)
    else:
        raise ValueError(f"unknown source {source!r}")
    start_wall, start_t = None, None
    for a in stream:
        if np.isfinite(speed):
            if start_wall is None:
                start_wall, start_t = clock(), a.t_arrival
            wait = (a.t_arrival - start_t) / speed - (clock() - start_wall)
            if wait > 0:
                sleep(wait)
        for u in analyzer.feed(a.placement, a.t, a.acc, a.gyr):
            if on_update is not None:
                on_update(u)
        if on_tick is not None:
            on_tick(a.t_arrival)
    for u in analyzer.finish():
        if on_update is not None:
            on_update(u)
    return source


def _gyro_warnings(session: Session) -> list[str]:
    """The gyroscope-vs-accelerometer check (:func:`imu_gait.pipeline.frame_check.check_gyro`) of every sensor
    of ``session``, as warnings for the mismatched ones."""
    from imu_gait.pipeline.analysis import prepare_sensor
    from imu_gait.pipeline.frame_check import check_gyro, rest_min_s

    out = []
    for p in session.placements:
        prep, _ = prepare_sensor(session, p)
        check = check_gyro(prep.acc, prep.gyr, prep.rate_hz, rest_min_s(p))
        if check.verdict == "mismatch":
            out.append(f"{p}: {check.describe()}")
    return out


def analyzer_for(
    session: Session,
    calibration: str = "live",
    saved_knee: SavedKneeCalibration | None = None,
    **kwargs: Any,
) -> OnlineAnalyzer:
    """An online analyzer set up for ``session`` (its sensors and standing calibration window).

    ``calibration``: 'live' = as during a recording, from the session's first ``warmup_s`` seconds (a replay as
    it was seen live); 'session' = the calibrations ``analyze`` estimates from the whole session (foot:
    :func:`imu_gait.pipeline.online.session_calibration`; knee: its ``KneeCalibration``, which sensors it
    filters as lossy and its orientation filter's gyroscope-bias estimates, with knee windows of
    ``SESSION_KNEE_WINDOW_S`` + ``SESSION_KNEE_TAIL_S``; pelvis: frame and standing drop from the whole
    session's strides), so the strides equal ``analyze``'s. ``saved_knee``: a
    knee calibration of an earlier analysis (:func:`imu_gait.knee_calibration.load_knee_calibration`), checked
    against the session's sensors (UsageError on a mismatch, warnings into the analyzer's) and used instead of
    either."""
    from imu_gait.pipeline.online import session_calibration

    static = session.calibration.get("static") if session.calibration else None
    offline = None
    saved_warnings: list[str] = []
    if saved_knee is not None:
        from imu_gait.knee_calibration import check_knee_calibration

        saved_warnings = check_knee_calibration(saved_knee, session.sensors, session.subject)
    if calibration == "session":
        kwargs["calibration"] = session_calibration(session, kwargs.get("mounting"))
        # the live calibration checks each gyroscope on its calibration period; here the whole session's is used
        saved_warnings += _gyro_warnings(session)
        if kwargs.get("knee", True) and any(p in session.data for p in KNEE_SENSORS):
            from imu_gait.pipeline.analysis import analyze
            from imu_gait.pipeline.knee import calibration_from_dict

            offline = analyze(session, mounting=kwargs.get("mounting"), knee_calibration=saved_knee)
            cal = offline.quality.get("knee", {}).get("calibration", {})
            kwargs["knee_calibration"] = {s: calibration_from_dict(d) for s, d in cal.items()}
            # the whole session decides which knee/pelvis sensors are filtered as lossy, as in analyze
            kwargs["knee_lossy"] = {
                p: is_lossy(d.t) for p, d in session.data.items() if p in KNEE_SENSORS
            }
            # ... and its orientation filter's gyroscope-bias estimates, which use the whole recording; with
            # them and 40 s before / 20 s after each batch of strides the windows give analyze's knee angles
            # (4-minute mixed demo session: within 0.1 deg in abduction, 0.25 deg in peak stance flexion; with
            # 20 s + 10 s, 0.5 deg)
            kwargs["knee_gyro_bias"] = offline.extra.get("knee_gyro_bias")
            kwargs.setdefault("knee_window_s", SESSION_KNEE_WINDOW_S)
            kwargs.setdefault("knee_tail_s", SESSION_KNEE_TAIL_S)
    elif calibration != "live":
        raise ValueError(f"unknown calibration {calibration!r}; expected 'live' or 'session'")
    if saved_knee is not None:
        kwargs["knee_calibration"] = dict(saved_knee.sides)
    analyzer = OnlineAnalyzer(session.sensors, static=static, **kwargs)
    analyzer.warnings.extend(saved_warnings)
    if offline is not None and "pelvis" in analyzer.other and len(offline.strides):
        pelvis = Session(
            data={"pelvis": session.data["pelvis"]},
            sensors={"pelvis": session.sensors["pelvis"]},
            calibration=dict(session.calibration or {}),
        )
        analyzer.calibrate_pelvis(pelvis, offline.strides)
    return analyzer
