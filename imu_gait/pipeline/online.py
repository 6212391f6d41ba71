"""The pipeline run incrementally on arriving samples, for live recording and replay (DESIGN.md sections 1-2).

:class:`OnlineAnalyzer` is fed sample blocks per placement in arrival order (``feed(placement, t, acc, gyr)``)
and emits every stride (its strides.csv row and curves) as soon as the data that decides it has arrived. It is not
a second implementation: it calls the offline step functions on a bounded window of the most recent samples.

How online and offline stay the same:

- Foot: :func:`imu_gait.pipeline.foot.analyze_foot` runs on the window with the sensor-to-foot alignment, the
  local gravity and the eversion zero fixed by a *calibration period* (the first ``warmup_s`` seconds, which
  include the session's static standing window when it has one). Those three are estimated by the same
  ``analyze_foot`` on that period, exactly as offline analysis estimates them on the whole session; everything
  else (uniform clock, events, trajectory, eversion, activity, quality flags) is per stride and depends only on
  samples near the stride. The window's samples are put on the same uniform clock as the whole stream
  (``grid_origin``), and the gyro integration is re-anchored at every mid-stance, so the window start does not
  matter.
- Remaining differences to ``analyze``: offline alignment/gravity/zero come from the whole session, online ones
  from its first ``warmup_s`` seconds (``calibration=`` :func:`session_calibration` removes this difference for
  a saved session). The event detector's only session context, the relative mid-swing threshold, looks at the
  preceding 10 s (:func:`imu_gait.pipeline.strides.find_midswings`), which the window holds.
- A stride (IC to next IC) is complete when the mid-stance after its end is fixed, which needs the next mid-swing
  (or, at the end of a walking bout, 5 s without one) plus a small margin for the zero-phase filters' edge
  (``tail_s``); when the foot is not still at that mid-stance (running), the foot step takes its gravity
  direction from the following stride (``mid_stance_up``), and then that stride must be complete too. So in
  walking a stride's complete foot row comes about one stance plus half a swing after its end IC (median
  1.06 s, benchmarks/bench_online.py).
- Its pronation part (IC, FC, end IC, timing, the eversion metrics and curve over its stance, activity) needs
  much less: the mid-swing before the end IC (no later candidate may replace or merge with it: the foot has
  rested after it) and the impact window after the end of that swing's rotation (``IMPACT_WINDOW_S``); the
  stance's gravity comes from the foot at rest at its own mid-stance, or, in running, from the stride's mean up
  to the next mid-stance once that lies 50 ms clear of the window's end. It is emitted as soon as that has
  arrived, as a non-final update: about 0.25 s after the end IC (6 sensors at 200 Hz,
  benchmarks/bench_online.py), identical to the final row's values in walking and on stairs, within about 0.1
  deg in running; its activity and quality are provisional.
- Its stride length, speed, elevation change and clearance (``SPATIAL_COLUMNS``) are provisional in that update
  once the stance after the end IC shows where the trajectory can end (:meth:`OnlineAnalyzer._spatial_ready`:
  the foot has rested there for ``REST_MIN_S``, or, in running, the stance is over): the window's trajectory
  then ends at the stillest sample seen so far, the foot step's own rule for a window's last stance. Until then
  they are blank, and a second non-final update brings them. Simulated walking, slow walking, stairs and
  running at 100/200 Hz: within 0.3 s of the end IC for 90-100% of strides, about as close to the truth as the
  final row (running: length closer, elevation 2-3 cm further); the real walk, whose foot comes to rest
  0.21-0.39 s after contact: median 0.27 s of data (0.30 s at real time), within 1.4 cm (length) and 0.7 cm
  (elevation) of the final row (medians).
- Knee (``knee=True``, the default, with thigh+shank sensors of a side): the knee calibration (hinge axes,
  segment frames, standing offsets: :class:`imu_gait.pipeline.knee.KneeCalibration`) is estimated once by
  :func:`imu_gait.pipeline.knee.analyze_knee` on the calibration period (or given). Each stride's knee columns
  come twice: provisional, as soon as the knee sensors have passed its end (``EARLY_KNEE_TAIL_S``), from a window
  starting ``EARLY_KNEE_LEAD_S`` before its IC (for the live view and the cue: within about 0.5 deg of the final
  values in simulated walking); final, from one window per ``KNEE_BATCH_S`` from ``knee_window_s`` (20 s) before
  the first IC to ``knee_tail_s`` (10 s) after the last end. The orientation filter's inclination (tauAcc 6 s)
  and the centred heading alignment need that much context on both sides to agree with the whole session's:
  simulated walk/stairs/run with the session's calibration, abduction metrics within 0.2 deg of ``analyze``
  (with 6 s + 3 s windows: up to 1.4 deg), so the final rows come 10-15 s after the stride. A window is
  filtered as the stream is: whether a sensor counts as lossy is decided for the whole saved session
  (``knee_lossy``) or from the losses so far, not from the window (a few lost samples in one window switched
  its filter: up to 2 deg in flexion), and a pause in it does not replace the calibration's gyroscope biases.
  The filter's own bias estimate (offline VQF: smoothed over the whole recording) is the one difference left
  live; a replay of a saved session passes the whole session's (``knee_gyro_bias``) with 40 s + 20 s windows:
  the 4-minute mixed demo session's knee columns within 0.25 deg of ``analyze``.
- Pelvis: the pelvis sensor frame (:func:`imu_gait.pipeline.pelvis.pelvis_frame`, from the strides of both legs)
  and the standing pelvic drop are fixed on the calibration period, then the drop is computed on the knee's
  windows (their VQF orientation); within about 0.1 deg of ``analyze`` (up to 0.5 deg in the last strides of a
  recording).

Memory is bounded: each foot keeps ``window_s`` seconds, each knee sensor about 40 s (``knee_window_s`` +
``knee_tail_s`` + ``KNEE_BATCH_S`` + a few strides; plus the calibration period until it has been used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from imu_gait.pipeline.analysis import (
    CURVE_COLUMNS,
    FOOT_PLACEMENTS,
    KNEE_COLUMNS,
    KNEE_PLACEMENTS,
    STRIDE_COLUMNS,
    prepare_sensor,
)
from imu_gait.pipeline.calibration import FootAlignment, mask_runs
from imu_gait.pipeline.foot import (
    CURVE_POINTS,
    STILL_MIDSTANCE,
    ZV_THRESHOLD,
    FootResult,
    _foot_frame,
    analyze_foot,
)
from imu_gait.pipeline.frame_check import check_gyro, rest_min_s
from imu_gait.pipeline.signal import GRAVITY, lowpass, prepare_imu
from imu_gait.pipeline.strides import shoe_statistic
from imu_gait.pipeline.vqf_orientation import LOSSY_FRACTION
from imu_gait.session import ImuData, SensorInfo, Session

# a stride's final knee/pelvis columns come from a window from knee_window_s (20 s) before its IC to KNEE_TAIL_S
# after its end: the orientation filter's inclination (tauAcc 6 s) and the heading alignment then agree with the
# whole session's (simulated walk/stairs/run: abduction within 0.1-0.4 deg; with 6 s + 3 s up to 1.4 deg)
KNEE_TAIL_S = 10.0
KNEE_BATCH_S = 5.0  # one knee window serves the strides that became ready within this time
MAX_STANDING_S = (
    60.0  # the live calibration waits this long at most for a standing window still open
)
FALLBACK_S = 1.0  # the window is analysed at least this often (s of data)
EARLY_KNEE_LEAD_S = 3.0  # ... from a window starting this long before its IC (shorter: sooner)
EARLY_KNEE_TAIL_S = (
    0.05  # provisional knee columns once the knee sensors reach this far past a stride's end
)
MAX_STRIDE_S = (
    2.5  # detect_foot_events' longest stride: a mid-swing further away ends a walking bout
)
MIDSWING_SETTLE_S = (
    0.4  # find_midswings' min_interval_s: a later candidate this close may replace a mid-swing
)
POLL_S = 0.04  # while a contact is due, the window is analysed this often (s of data)
POLL_AFTER_MIDSWING_S = 0.6  # ... from a mid-swing until this long after it
CONTACT_TAIL_S = 0.05  # the 30 Hz contact filter's zero-phase edge: older samples no longer move
IMPACT_WINDOW_S = (
    0.2  # _impact_onset searches the contact impact this long after the end of the toe-up rotation
)
# provisional stride length (live, before the next mid-stance is fixed): the foot rests after the end IC
REST_LEVEL = 2.0 * STILL_MIDSTANCE  # SHOE statistic (a foot flat and still)
REST_MIN_S = 0.03  # ... for this long
STANCE_OVER_S = 0.05  # a running foot: the stance is over when the foot has moved this long
SPATIAL_WAIT_S = (
    0.8  # the analyzer watches for the rest this long after the end IC (then the final row)
)
SHOE_WINDOW_S = 0.03  # shoe_statistic's window (its default)
# columns that need the trajectory to the next mid-stance: provisional in an early update
SPATIAL_COLUMNS = ("stride_length", "speed", "elevation_change", "foot_clearance")


@dataclass
class StrideUpdate:
    """One emitted stride: ``row`` (strides.csv columns), ``curves`` (curves.csv rows of this stride), and
    ``data_t`` the session time (s) of the sample that completed it. ``final`` False (for the live view; only
    final updates are strides.csv rows): the pronation part of a stride (``SPATIAL_COLUMNS`` provisional or
    blank, activity and quality provisional) emitted as soon as its end IC is known, the same with provisional
    ``SPATIAL_COLUMNS`` once the foot has rested after it, or the foot part of a stride whose knee/pelvis
    columns follow ``knee_tail_s`` later; the final update of the same side and stride number follows."""

    side: str
    row: dict[str, Any]
    curves: pd.DataFrame
    data_t: float
    final: bool = True


class _Buffer:
    """Samples of one placement in arrival order, trimmed from the front (bounded)."""

    def __init__(self) -> None:
        self.t = np.empty(0)
        self.acc = np.empty((0, 3))
        self.gyr = np.empty((0, 3))

    def append(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        keep = t > (self.t[-1] if self.t.size else -np.inf)  # arrival order must be time order
        self.t = np.concatenate([self.t, t[keep]])
        self.acc = np.concatenate([self.acc, acc[keep]])
        self.gyr = np.concatenate([self.gyr, gyr[keep]])

    def trim_before(self, t0: float) -> None:
        i = int(np.searchsorted(self.t, t0))
        if i > 0:
            self.t, self.acc, self.gyr = self.t[i:], self.acc[i:], self.gyr[i:]

    def between(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i, j = np.searchsorted(self.t, [t0, t1], side="left")
        return self.t[i:j], self.acc[i:j], self.gyr[i:j]

    def upto(self, t1: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        j = int(np.searchsorted(self.t, t1, side="right"))
        return self.t[:j], self.acc[:j], self.gyr[:j]

    @property
    def end(self) -> float:
        return float(self.t[-1]) if self.t.size else -np.inf


@dataclass(frozen=True)
class FootCalibration:
    """What the foot step fixes before it streams: sensor -> foot alignment, local gravity (m/s^2), eversion
    zero (deg) and the uniform rate (Hz)."""

    alignment: FootAlignment
    gravity: float
    eversion_zero: float
    rate_hz: float


def session_calibration(
    session: Session, mounting: Mapping[str, Any] | None = None
) -> dict[str, FootCalibration]:
    """The foot calibration :func:`imu_gait.pipeline.analysis.analyze` estimates from a whole saved session (the
    same preparation and the same :func:`analyze_foot` call), for a replay whose strides must equal
    ``analyze``'s: given it, the online analyzer skips its calibration period."""
    mounting = dict(mounting or {})
    out = {}
    for placement in FOOT_PLACEMENTS:
        if placement not in session.data:
            continue
        prep, static = prepare_sensor(session, placement)
        res = analyze_foot(
            float(prep.t[0]),
            prep.acc,
            prep.gyr,
            prep.rate_hz,
            FOOT_PLACEMENTS[placement],
            static=static,
            mounting=mounting.get(placement),
        )
        out[placement] = FootCalibration(
            res.alignment, res.gravity, res.eversion_zero, prep.rate_hz
        )
    return out


@dataclass
class _Foot:
    placement: str
    side: str
    info: SensorInfo
    buf: _Buffer = field(default_factory=_Buffer)
    origin: float | None = None  # session time of the first sample: the uniform clock's origin
    rate_hz: float | None = None
    alignment: FootAlignment | None = None
    gravity: float = GRAVITY
    zero: float = 0.0
    last_ic: float = -np.inf
    early_ic: float = -np.inf  # IC (s) of the last stride whose pronation part was emitted early
    spatial_ic: float = -np.inf  # ... whose provisional stride length was emitted
    spatial_from: float = np.inf  # end IC (s) of a stride waiting for its provisional stride length
    spatial_rested: bool = True  # ... whose foot rested at its own mid-stance
    wake: float = np.inf  # when (s) a pending stride's pronation part is settled
    peaks: list[tuple[float, list[float]]] = field(
        default_factory=list
    )  # mid-swings seen, ages due
    n_strides: int = 0
    next_p: float | None = None  # next processing time (s)
    last_full: float = -np.inf  # last time the window was analysed (s)
    calibration: dict[str, Any] = field(default_factory=dict)


class OnlineAnalyzer:
    """Incremental analysis of a session arriving sample block by sample block (see the module docstring).

    ``sensors``: placement -> SensorInfo (rates and ranges); ``static``: the standing calibration window [t0, t1]
    (s) when known in advance; ``mounting``: declared sensor -> foot rotations per placement (as in
    :func:`imu_gait.pipeline.analysis.analyze`); ``warmup_s``: calibration period; ``window_s``: analysis window;
    ``step_s``: the window is re-analysed at most every ``step_s`` of new data; ``knee``: also run the knee step
    when thigh+shank sensors are present; ``knee_window_s`` / ``knee_tail_s``: a final knee window's context
    before a stride's IC and after its end (s); ``knee_lossy`` / ``knee_gyro_bias``: a saved session's lossy
    decisions and orientation-filter bias estimates per knee/pelvis sensor (:func:`imu_gait.replay.analyzer_for`);
    ``knee_calibration``: per side a given
    :class:`~imu_gait.pipeline.knee.KneeCalibration`; ``calibration``: foot
    calibrations fixed in advance (e.g. :func:`session_calibration` of a saved session), which replace the
    calibration period.
    """

    def __init__(
        self,
        sensors: Mapping[str, SensorInfo],
        *,
        static: list[float] | tuple[float, float] | None = None,
        mounting: Mapping[str, Any] | None = None,
        events: list[dict] | None = None,
        warmup_s: float = 20.0,
        window_s: float = 16.0,
        step_s: float = 0.02,
        tail_s: float = 0.1,
        knee: bool = True,
        knee_window_s: float = 20.0,
        knee_tail_s: float = KNEE_TAIL_S,
        calibration: Mapping[str, FootCalibration] | None = None,
        knee_calibration: Mapping[str, Any] | None = None,
        knee_lossy: Mapping[str, bool] | None = None,
        knee_gyro_bias: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        self.static = [float(static[0]), float(static[1])] if static else None
        self.mounting = dict(mounting or {})
        self.events = list(events or [])
        self.warmup_s, self.window_s, self.step_s, self.tail_s = warmup_s, window_s, step_s, tail_s
        self.knee, self.knee_window_s, self.knee_tail_s = knee, knee_window_s, knee_tail_s
        self.given_calibration = dict(calibration or {})
        self.sensors: dict[str, SensorInfo] = {}
        self.feet: dict[str, _Foot] = {}
        self.knee_placements: list[str] = []
        self.other: dict[str, _Buffer] = {}
        self.stats: dict[str, dict[str, Any]] = {}
        self.knee_calibration: dict[str, Any] = dict(knee_calibration or {})
        # per knee/pelvis sensor: filtered as lossy (given for a whole saved session, else from the losses so far)
        self.knee_lossy: dict[str, bool] | None = dict(knee_lossy) if knee_lossy else None
        # per knee/pelvis sensor the whole saved session's gyroscope-bias estimate (replay: the windows then
        # filter as analyze does; live it is estimated in each window)
        self.knee_gyro_bias = dict(knee_gyro_bias) if knee_gyro_bias else None
        self._knee_ready = False  # calibration of the knee/pelvis sensors done (or given)
        self.pelvis_calibration: tuple[np.ndarray, dict[str, float]] | None = None
        self._pelvis_bias: np.ndarray | None = (
            None  # deg/s, the pelvis gyroscope's standing reading
        )
        self._pending_knee: list[StrideUpdate] = []
        self._pending_early: list[
            StrideUpdate
        ] = []  # foot parts awaiting their provisional knee columns
        self._early_knee_last: dict[str, int] = {}  # per side the last stride given them
        self._early_knee_cols: dict[str, dict[str, float]] = {}
        self.rows: list[dict[str, Any]] = []
        self.curve_blocks: list[pd.DataFrame] = []
        for p, info in sensors.items():
            self.add_sensor(p, info)
        self.warnings: list[str] = []
        self.now = -np.inf  # newest sample time fed (s)

    # --- input ------------------------------------------------------------------------------------------------

    def add_sensor(self, placement: str, info: SensorInfo) -> None:
        """Register a sensor (a live recording learns rates and ranges when each sensor connects)."""
        if placement in self.sensors:
            return
        self.sensors[placement] = info
        self.stats[placement] = {"samples": 0, "last_t": None, "gaps": 0, "saturated": 0}
        if placement in FOOT_PLACEMENTS:
            foot = _Foot(placement, FOOT_PLACEMENTS[placement], info)
            cal = self.given_calibration.get(placement)
            if cal is not None:
                foot.alignment, foot.gravity, foot.zero = (
                    cal.alignment,
                    cal.gravity,
                    cal.eversion_zero,
                )
                foot.rate_hz = cal.rate_hz
                foot.calibration = {"source": "given", "alignment": cal.alignment.to_json()}
            self.feet[placement] = foot
        elif self.knee and placement in KNEE_PLACEMENTS:
            self.knee_placements.append(placement)
            self.other[placement] = _Buffer()

    def set_static(self, window: list[float] | tuple[float, float] | None) -> bool:
        """Set the standing calibration window [t0, t1] (s; t1 may be inf while it is still open) marked during
        a recording. The foot calibration waits for its end (and the knee's uses it) if it has not been made
        yet; returns whether it can still be used (False, with a warning, once a foot has calibrated)."""
        if any(f.alignment is not None for f in self.feet.values()):
            if window is not None and np.isfinite(window[1]):
                self.warnings.append(
                    f"standing calibration {window[0]:.1f}-{window[1]:.1f} s marked after the live "
                    "calibration: the live view keeps its own, `imu-gait analyze` uses the marked one"
                )
            return False
        self.static = [float(window[0]), float(window[1])] if window is not None else None
        return True

    def feed(
        self, placement: str, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> list[StrideUpdate]:
        """Add samples of one sensor (t (n,) s session clock, acc (n, 3) m/s^2, gyr (n, 3) deg/s, sensor frame)
        and return the strides completed by them."""
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        if t.size == 0 or placement not in self.sensors:
            return []
        acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        gyr = np.asarray(gyr, dtype=np.float64).reshape(-1, 3)
        self._track(placement, t, acc, gyr)
        self.now = max(self.now, float(t[-1]))
        out: list[StrideUpdate] = []
        if placement in self.feet:
            foot = self.feet[placement]
            foot.buf.append(t, acc, gyr)
            if foot.origin is None:
                foot.origin = float(foot.buf.t[0])
            out = self._step_foot(foot, final=False)
        elif placement in self.other:
            self.other[placement].append(t, acc, gyr)
        return self._with_knee(out, final=False)

    def finish(self) -> list[StrideUpdate]:
        """End of the stream: emit every stride still pending (as offline analysis ends at the last sample)."""
        out: list[StrideUpdate] = []
        for foot in self.feet.values():
            out.extend(self._step_foot(foot, final=True))
        return self._with_knee(out, final=True)

    # --- results ----------------------------------------------------------------------------------------------

    @property
    def strides(self) -> pd.DataFrame:
        """Every stride emitted so far (strides.csv columns), sorted by side and stride."""
        if not self.rows:
            return pd.DataFrame(columns=list(STRIDE_COLUMNS))
        df = pd.DataFrame(self.rows).reindex(columns=list(STRIDE_COLUMNS))
        return df.sort_values(["side", "stride"], ignore_index=True)

    @property
    def curves(self) -> pd.DataFrame:
        """Every emitted stride's curves (curves.csv long format), sorted by side, stride, variable, pct."""
        if not self.curve_blocks:
            return pd.DataFrame(columns=list(CURVE_COLUMNS))
        df = pd.concat(self.curve_blocks, ignore_index=True)
        return df.sort_values(
            ["side", "stride", "variable", "pct"], kind="stable", ignore_index=True
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """Per placement: samples, last sample time, gaps and clipped samples seen, ``lost`` (no data for 1 s
        while other sensors deliver)."""
        out = {}
        for p, s in self.stats.items():
            lost = s["last_t"] is None or (self.now - s["last_t"] > 1.0)
            out[p] = dict(s, lost=bool(lost and self.now > -np.inf))
        return out

    # --- bookkeeping ------------------------------------------------------------------------------------------

    def _track(self, placement: str, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        s, info = self.stats[placement], self.sensors[placement]
        rate = info.rate_hz or (1.0 / np.median(np.diff(t)) if t.size > 1 else 100.0)
        prev = s["last_t"]
        dt = np.diff(np.concatenate([[prev], t]) if prev is not None else t)
        s["gaps"] += int((dt > 3.0 / rate).sum())
        acc_fs = info.acc_range_g * GRAVITY if info.acc_range_g else 8.0 * GRAVITY
        gyr_fs = info.gyr_range_dps or 1000.0
        s["saturated"] += int(
            (
                (np.abs(acc) >= 0.99 * acc_fs).any(axis=1)
                | (np.abs(gyr) >= 0.99 * gyr_fs).any(axis=1)
            ).sum()
        )
        s["samples"] += int(t.size)
        s["last_t"] = float(t[-1])
        if s.get("first_t") is None:
            s["first_t"] = float(t[0])

    # --- foot -------------------------------------------------------------------------------------------------

    def _calibration_ready(self, foot: _Foot, p: float, final: bool) -> bool:
        span = p - (foot.origin or 0.0)
        # a marked standing window is waited for (an open one at most MAX_STANDING_S)
        need_static = (
            self.static is not None and p < self.static[1] and p - self.static[0] < MAX_STANDING_S
        )
        return final or (span >= self.warmup_s and not need_static)

    def _prepare(self, foot: _Foot, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray):
        info = foot.info
        return prepare_imu(
            t,
            acc,
            gyr,
            rate_hz=foot.rate_hz,
            acc_full_scale=info.acc_range_g * GRAVITY if info.acc_range_g else None,
            gyr_full_scale=info.gyr_range_dps,
            grid_origin=foot.origin,
        )

    def _calibrate(self, foot: _Foot, p: float) -> None:
        """Alignment, gravity and eversion zero from the calibration period, by the offline estimation."""
        t, acc, gyr = foot.buf.upto(p)
        # the rate decision of prepare_imu, taken once on the calibration period
        foot.rate_hz = prepare_imu(t, acc, gyr, rate_hz=foot.info.rate_hz).rate_hz
        prep = self._prepare(foot, t, acc, gyr)
        static = None
        if self.static and np.isfinite(self.static[1]):
            static = (prep.t >= self.static[0]) & (prep.t <= self.static[1])
        res = analyze_foot(
            float(prep.t[0]),
            prep.acc,
            prep.gyr,
            prep.rate_hz,
            foot.side,
            static=static,
            mounting=self.mounting.get(foot.placement),
        )
        foot.alignment, foot.gravity, foot.zero = res.alignment, res.gravity, res.eversion_zero
        # what the foot step noticed on the calibration period (a sensor on the other foot, ...): on the live
        # board while there is still time to move it
        self.warnings.extend(res.quality["warnings"])
        gyro = self._check_gyro(foot.placement, prep.acc, prep.gyr, prep.rate_hz)
        foot.calibration = {
            "period_s": [float(prep.t[0]), float(prep.t[-1])],
            "alignment": res.alignment.to_json(),
            "gravity_m_s2": res.gravity,
            "eversion_zero": res.quality["eversion_zero"],
            "gyro_check": gyro,
        }

    def _check_gyro(self, placement: str, acc: np.ndarray, gyr: np.ndarray, rate: float) -> dict:
        """The gyroscope-vs-accelerometer check (:func:`imu_gait.pipeline.frame_check.check_gyro`) on the
        calibration period, so that a sensor decoded with the wrong range or axes is reported while recording."""
        check = check_gyro(acc, gyr, rate, rest_min_s(placement))
        self.stats[placement]["gyro"] = check.verdict
        if check.verdict == "mismatch":
            self.warnings.append(f"{placement}: {check.describe()}")
        return check.to_json()

    def _step_foot(self, foot: _Foot, final: bool) -> list[StrideUpdate]:
        """Analyse the window ending at every processing time passed by the data (times ``origin + k * step_s``;
        the window holds the samples up to that time, so the result does not depend on how the samples were cut
        into blocks), or once on everything at the end of the stream."""
        out: list[StrideUpdate] = []
        if foot.origin is None:
            return out
        if foot.next_p is None:
            foot.next_p = foot.origin + self.step_s
        while final or foot.buf.end >= foot.next_p:
            p = np.inf if final else foot.next_p
            if foot.alignment is None:
                if self._calibration_ready(foot, p, final):
                    self._calibrate(foot, p)
            if foot.alignment is not None:
                if final or self._worth_running(foot, p):
                    foot.last_full = p
                    out.extend(self._run_window(foot, p, final))
                if not final:
                    foot.buf.trim_before(p - self.window_s)
            if final:
                break
            foot.next_p += self.step_s
        return out

    def _worth_running(self, foot: _Foot, p: float) -> bool:
        """Whether a stride (or its pronation part) can have completed at ``p``: a mid-swing peak (low-passed
        pitch rate below -60 deg/s, as :func:`imu_gait.pipeline.strides.find_midswings` requires) has just become
        old enough (``tail_s``: the stance before it is fixed; 0.3 s: the contact after it has been found, the
        run then sets ``wake`` for the pronation part of the stride ending there; ``tail_s`` +
        ``MIDSWING_SETTLE_S``: the general mid-swing rule), ``wake`` has come, or ``FALLBACK_S`` passed since the
        last run (ends of walking bouts). Peaks are remembered once seen, each age fires once. Decided from the
        samples up to ``p`` only, so it does not depend on block sizes either."""
        due = p - foot.last_full >= FALLBACK_S or p >= foot.wake
        t, _, gyr = foot.buf.between(p - 1.0, p)
        if t.size >= 10:
            rate = foot.rate_hz or 100.0
            g = lowpass(gyr @ foot.alignment.R[1], rate, 6.0)
            i = np.arange(1, g.size - 1)
            pk = i[(g[i] < -60.0) & (g[i] <= g[i - 1]) & (g[i] <= g[i + 1])]
            for tp in t[pk[t[pk] <= p - 0.05]]:  # clear of the filter's edge
                if all(abs(tp - q) > 0.2 for q, _ in foot.peaks):
                    ages = [self.tail_s, self.tail_s + 0.05, 0.3, self.tail_s + MIDSWING_SETTLE_S]
                    foot.peaks.append((float(tp), ages))
        if np.isfinite(foot.spatial_from):
            if p - foot.spatial_from > SPATIAL_WAIT_S:
                foot.spatial_from = np.inf  # no rest came: the final row brings the stride length
            elif self._stance_end_seen(foot, p):
                due = True
        for tp, ages in foot.peaks:
            if any(p >= tp + a for a in ages):
                due = True
                ages[:] = [a for a in ages if p < tp + a]
        foot.peaks = [(tp, a) for tp, a in foot.peaks if a or p - tp < 1.0]
        return due

    def _run_window(self, foot: _Foot, p: float, final: bool) -> list[StrideUpdate]:
        t, acc, gyr = foot.buf.upto(p)
        if t.size < 10:
            return []
        prep = self._prepare(foot, t, acc, gyr)
        if prep.t.size < 10:
            return []
        res = analyze_foot(
            float(prep.t[0]),
            prep.acc,
            prep.gyr,
            prep.rate_hz,
            foot.side,
            flagged={"gap": prep.gap, "saturated": prep.saturated},
            mounting=foot.alignment,
            gravity=foot.gravity,
            eversion_zero=foot.zero,
        )
        at_start = prep.t[0] <= foot.origin + 0.5 / prep.rate_hz
        # the SHOE statistic exactly as the foot step computes it (same functions, same inputs)
        a, w = _foot_frame(prep.acc, prep.gyr, foot.alignment.R)
        shoe = shoe_statistic(a, w, prep.rate_hz)
        # the contact and mid-swing filters of detect_foot_events, for the pronation part's settling
        pitch = (lowpass(w[:, 1], prep.rate_hz, 30.0), lowpass(w[:, 1], prep.rate_hz, 6.0))
        return self._emit(
            foot, res, float(prep.t[0]), prep.t.size, prep.rate_hz, at_start, final, shoe, pitch
        )

    def _settled(
        self, res: FootResult, k: int, n: int, rate: float, final: bool, still: np.ndarray
    ) -> bool:
        """Whether stride ``k`` (stance index) is final in this window. Its trajectory ends at the next
        stance's mid-stance and uses that stance's gravity direction: measured there when the foot is still at
        that mid-stance, else taken from the next stride (:func:`imu_gait.pipeline.foot.mid_stance_up`), and
        then the mid-stance after the next stride's end must be fixed too, or the next stride must be known not
        to exist."""
        if final:
            return True
        ev = res.events
        if k + 1 >= ev.ic.size or not self._ms_final(res, float(ev.ic[k + 1]), n, rate):
            return False
        if still[int(ev.ms[k + 1])]:
            return True
        if ev.stride_ok[k + 1]:
            return k + 2 < ev.ic.size and self._ms_final(res, float(ev.ic[k + 2]), n, rate)
        return n - 1 - ev.ic[k + 1] > (3 * MAX_STRIDE_S + self.tail_s) * rate

    def _pronation_ready(
        self,
        res: FootResult,
        k: int,
        n: int,
        rate: float,
        still: np.ndarray,
        pitch: tuple[np.ndarray, np.ndarray],
    ) -> float:
        """Sample index from which the pronation part of stride ``k`` (its IC, FC and end IC, the eversion over
        its stance) is final, or inf when that is not known yet.

        - The stance's eversion is anchored at its own mid-stance, which needs the foot still there (else its
          gravity comes from the whole stride, :func:`imu_gait.pipeline.foot.mid_stance_up`).
        - FC and that mid-stance need the mid-swing ``m`` after the stance: no later candidate may merge with it
          (the foot has rested 60 ms after it) nor replace it (a candidate within ``MIDSWING_SETTLE_S``, twice as
          high): that rule looks ``MIDSWING_SETTLE_S`` past ``m``, but once the foot has rested for 60 ms without
          a new toe-up lobe, a lobe twice the swing's before ``m + MIDSWING_SETTLE_S`` would be a new swing
          within a few tens of ms of a contact, which is no gait: then the rest decides.
        - The end IC needs the impact window after the end of the swing's toe-up rotation (the impact signal is
          not filtered)."""
        ev = res.events
        if k + 1 >= ev.ic.size or not ev.stride_ok[k]:
            return np.inf
        ms_ready = 0.0
        if not still[int(ev.ms[k])]:
            # a stance without rest takes its gravity from the stride's mean up to the next mid-stance
            # (mid_stance_up), whose sample is provisional until it lies clear of the window's end
            ms_ready = float(ev.ms[k + 1]) + 0.05 * rate
        sw = ev.midswing[(ev.midswing > ev.ic[k]) & (ev.midswing < ev.ic[k + 1])]
        if sw.size == 0 or ev.swing_end.size != ev.ic.size:
            return np.inf
        # the swing's mid-swing: the last candidate before the end IC (an earlier one within the stride, such as
        # a stair-descent foot lowering in stance, gave no contact of its own)
        m = int(sw[-1])
        g_ic, g_sw = pitch
        need = max(round(0.06 * rate), 2)
        known = (
            int(n - 1 - CONTACT_TAIL_S * rate) + 1
        )  # samples of g_ic the window's end no longer moves
        rest = g_ic[m:known] >= -5.0
        if rest.sum() < need:
            return np.inf  # a later candidate could still merge with m
        ready_m = m + (MIDSWING_SETTLE_S + self.tail_s) * rate
        run = np.convolve(rest, np.ones(need, dtype=int), mode="valid")
        full = np.flatnonzero(run == need)
        if full.size:
            e = m + int(full[0]) + need
            if -g_sw[e:known].min(initial=0.0) < 0.5 * -g_sw[m]:
                ready_m = min(ready_m, e + CONTACT_TAIL_S * rate)
        # the impact signal is unfiltered: the window's last value needs the sample after it (second difference);
        # the end of the rotation lies IMPACT_WINDOW_S before, well clear of the contact filter's edge
        impact_end = int(ev.swing_end[k + 1] + IMPACT_WINDOW_S * rate) + 2
        return max(ready_m, impact_end, ms_ready)

    def _ms_final(self, res: FootResult, ic_sample: float, n: int, rate: float) -> bool:
        """Whether the mid-stance of the stance starting at ``ic_sample`` is fixed: the next mid-swing has been
        seen clear of the window's end, or the walking bout has ended (no mid-swing for 5 s)."""
        sw = res.events.midswing
        tail = self.tail_s * rate
        before = sw[sw < ic_sample]
        after = sw[sw > ic_sample]
        if after.size and after[0] <= n - 1 - tail:
            return True
        m = before[-1] if before.size else ic_sample
        return n - 1 - m > 2 * MAX_STRIDE_S * rate + tail

    def _emit(
        self,
        foot: _Foot,
        res: FootResult,
        t0: float,
        n: int,
        rate: float,
        at_start: bool,
        final: bool,
        shoe: np.ndarray,
        pitch: tuple[np.ndarray, np.ndarray],
    ) -> list[StrideUpdate]:
        """Final updates of the strides settled in this window, then early (``final=False``) updates with the
        pronation part of the following strides whose pronation is settled: with provisional spatial columns
        once the stance after their end shows where the trajectory can end (:meth:`_spatial_ready`), else
        blank, and then a second early update when it does."""
        cols = res.strides
        still = shoe < STILL_MIDSTANCE
        lead = t0 + 1.5  # strides need their mid-swing and the filters' start-up before them
        data_t = min(self.now, float(t0 + (n - 1) / rate))
        out = []
        pending = 0  # strides after the settled ones (their numbers follow the emitted ones)
        ev_ic = res.events.ic
        foot.wake = np.inf
        for j in range(len(cols["ic"])):
            ic = float(cols["ic"][j])
            if ic <= foot.last_ic + 0.1 or (not at_start and ic < lead):
                continue
            k = int(np.argmin(np.abs(res.events.ic - (ic - t0) * rate)))
            if not pending and self._settled(res, k, n, rate, final, still):
                if foot.spatial_from <= float(cols["end"][j]) + 1e-6:
                    foot.spatial_from = np.inf  # its final row brings the stride length
                out.append(self._update(foot, cols, res.curves, j, foot.n_strides, data_t))
                foot.n_strides += 1
                foot.last_ic = ic
                continue
            ready = self._pronation_ready(res, k, n, rate, still, pitch)
            if ready > n - 1:
                if np.isfinite(ready):
                    foot.wake = t0 + ready / rate
                break
            spatial = ic > foot.spatial_ic + 0.1 and self._spatial_ready(res, k, n, rate, shoe)
            if ic > foot.early_ic + 0.1 or spatial:
                u = self._update(foot, cols, res.curves, j, foot.n_strides + pending, data_t)
                if spatial:
                    foot.spatial_ic = ic
                    foot.spatial_from = np.inf
                else:
                    for c in SPATIAL_COLUMNS:
                        u.row[c] = float("nan")
                    # _worth_running watches the stance after its end IC for the rest (cheaply)
                    foot.spatial_from = t0 + float(ev_ic[k + 1]) / rate
                    foot.spatial_rested = _rested(shoe, int(res.events.ms[k]), rate)
                u.final = False
                out.append(u)
                foot.early_ic = ic
            pending += 1
        ev = res.events
        sw = ev.midswing[-1] if ev.midswing.size else -np.inf
        before = np.flatnonzero(
            ev.ic < sw
        )  # the stance of the stride that ends after the latest mid-swing
        if (
            not final
            and foot.wake == np.inf
            and before.size
            and n - 1 - sw < POLL_AFTER_MIDSWING_S * rate
            and max(foot.early_ic, foot.last_ic) < t0 + ev.ic[before[-1]] / rate - 0.05
        ):
            # the pronation part of the stride ending after the latest mid-swing is due (its stance was still):
            # look again shortly until its settling time is known
            foot.wake = t0 + (n - 1) / rate + POLL_S
        return out

    def _spatial_ready(
        self, res: FootResult, k: int, n: int, rate: float, shoe: np.ndarray
    ) -> bool:
        """Whether the stance after stride ``k``'s end IC shows where its trajectory can end before that
        stance's mid-stance is fixed (:func:`_stance_end_shows`), so that the window's trajectory (to the
        stillest sample seen so far, the foot step's rule for the last stance of a window) can be shown as
        provisional stride length, speed and elevation change. Before the foot rests it still rolls onto the
        ground, and a trajectory ending there is many cm off (simulated slow walking and the real walk: 5-35 cm
        at 0.2 s after contact). benchmarks/bench_online.py prints how far these values are from the final
        row."""
        ev = res.events
        if k + 1 >= ev.ic.size:
            return False
        seg = shoe[int(np.ceil(ev.ic[k + 1])) : n - _shoe_edge(rate)]
        return _stance_end_shows(seg, rate, _rested(shoe, int(ev.ms[k]), rate))

    def _stance_end_seen(self, foot: _Foot, p: float) -> bool:
        """:meth:`_spatial_ready`'s test on the raw samples since the waiting stride's end IC (the SHOE
        statistic does not depend on the sensor's orientation on the foot), so that the window is analysed
        again only when it can pass (a poll per processing time would cost up to a core on a foot that never
        rests)."""
        _, acc, gyr = foot.buf.between(foot.spatial_from, p + 1e-9)
        rate = foot.rate_hz or 100.0
        if acc.shape[0] < 3:
            return False
        seg = shoe_statistic(acc, gyr, rate)[: acc.shape[0] - _shoe_edge(rate)]
        return _stance_end_shows(seg, rate, foot.spatial_rested)

    def _update(
        self,
        foot: _Foot,
        cols: dict[str, np.ndarray],
        curves: np.ndarray,
        j: int,
        number: int,
        data_t: float,
    ) -> StrideUpdate:
        row: dict[str, Any] = {"side": foot.side, "stride": number}
        for c, v in cols.items():
            if c == "ms":
                continue
            val = v[j]
            row[c] = val if isinstance(val, str) else float(val)
        block = pd.DataFrame(
            {
                "side": foot.side,
                "stride": number,
                "variable": "eversion",
                "pct": np.linspace(0.0, 100.0, CURVE_POINTS),
                "value": curves[j],
            }
        )
        return StrideUpdate(foot.side, row, block, data_t)

    # --- knee -------------------------------------------------------------------------------------------------

    def _trim_other(self) -> None:
        if not self._knee_ready and self.knee_placements:
            return  # the calibration period is still needed (bounded by warmup_s)
        keep = self.knee_window_s + self.knee_tail_s + KNEE_BATCH_S + 2 * MAX_STRIDE_S + 2.0
        for buf in self.other.values():
            buf.trim_before(buf.end - keep)

    def _with_knee(self, out: list[StrideUpdate], final: bool) -> list[StrideUpdate]:
        """Add the knee columns to each stride once the knee sensors have delivered ``knee_tail_s`` past its end
        (one window per stride, ending there, so the result does not depend on the block sizes)."""
        pronation = [u for u in out if not u.final]  # early pronation parts pass through
        out = [u for u in out if u.final]
        if not self.knee_placements:
            self._record(out)
            return pronation + out
        self._pending_knee.extend(out)
        # the foot part now, for the live view
        early = pronation + [
            StrideUpdate(u.side, self._with_early_knee(u.row), u.curves, u.data_t, final=False)
            for u in out
        ]
        if final:
            early = []
        have = min((b.end for b in self.other.values()), default=-np.inf)
        if not final:
            # one knee window per call, the provisional ones first and only from earlier calls: the foot parts
            # emitted now are not held up by knee work (they are what the live view shows first)
            provisional = self._early_knee(have)
            self._pending_early.extend(early)
            if provisional:
                return early + provisional
        ready = [u for u in self._pending_knee if final or have >= u.row["end"] + self.knee_tail_s]
        if not ready:
            return early
        if not self._knee_ready:
            sides = {u.side for u in self._pending_knee} | {r["side"] for r in self.rows}
            if not final and sides != {f.side for f in self.feet.values()}:
                return (
                    early  # calibrate with the strides of both legs (the pelvis frame needs them)
                )
            self._calibrate_knee()
        if not final and have < ready[0].row["end"] + self.knee_tail_s + KNEE_BATCH_S:
            return early  # one window for the strides of KNEE_BATCH_S
        self._pending_knee = [u for u in self._pending_knee if u not in ready]
        t1 = max(u.row["end"] for u in ready) + self.knee_tail_s
        self._add_knee(ready, t1=min(t1, have) if not final else np.inf, lead_s=self.knee_window_s)
        for u in ready:
            # the row was complete once the knee sensors had delivered knee_tail_s past its end
            u.data_t = max(u.data_t, min(u.row["end"] + self.knee_tail_s, have))
        self._record(ready)
        self._trim_other()
        return early + ready

    def _early_knee(self, have: float) -> list[StrideUpdate]:
        """Provisional knee/pelvis columns of the strides whose foot part was emitted, as soon as the knee sensors
        have delivered ``EARLY_KNEE_TAIL_S`` past the stride's end (one window from ``knee_window_s`` before its
        IC to the newest knee sample): for the live view and the cue, within a fraction of a degree of the final
        row that follows ``KNEE_TAIL_S`` later (VQF and the heading alignment then see both sides of the stride;
        benchmarks/bench_online.py prints the differences)."""
        if not self._knee_ready or (not self.knee_calibration and "pelvis" not in self.other):
            self._pending_early = [u for u in self._pending_early if have < u.row["end"] + 10.0]
            return []
        out, wait = [], []
        for u in self._pending_early:
            if u.row["stride"] <= self._early_knee_last.get(u.side, -1):
                continue  # a stride gets its provisional knee columns once
            if have < u.row["end"] + EARLY_KNEE_TAIL_S:
                wait.append(u)
                continue
            if out:
                wait.append(u)
                continue
            v = StrideUpdate(u.side, dict(u.row), u.curves, u.data_t, final=False)
            self._add_knee([v], t1=have, lead_s=EARLY_KNEE_LEAD_S)
            v.data_t = max(v.data_t, min(u.row["end"] + EARLY_KNEE_TAIL_S, have))
            self._early_knee_last[u.side] = u.row["stride"]
            self._early_knee_cols[u.side] = {
                c: v.row[c] for c in (*KNEE_COLUMNS, "pelvic_drop_peak") if c in v.row
            }
            out.append(v)
        self._pending_early = wait
        return out

    def _with_early_knee(self, row: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``row`` with the provisional knee columns already shown for its stride (if any)."""
        out = dict(row)
        if self._early_knee_last.get(row["side"]) == row["stride"]:
            out.update(self._early_knee_cols.get(row["side"], {}))
        return out

    def _record(self, updates: list[StrideUpdate]) -> None:
        for u in updates:
            self.rows.append(u.row)
            self.curve_blocks.append(u.curves)

    def _knee_window(self, t0: float, t1: float) -> Session:
        """A Session of the thigh/shank sensors between ``t0`` and ``t1`` (the standing window when inside)."""
        data = {}
        for p, buf in self.other.items():
            t, a, g = buf.between(t0, t1)
            if t.size >= 20:
                data[p] = ImuData(t, a, g)
        static = (
            self.static
            if self.static and self.static[0] >= t0 and np.isfinite(self.static[1])
            else None
        )
        return Session(
            data=data,
            sensors={p: self.sensors[p] for p in data},
            calibration={"static": static} if static else {},
            events=[],
        )

    def _calibrate_knee(self) -> None:
        """The knee calibration of the calibration period: :func:`imu_gait.pipeline.knee.analyze_knee` on the
        knee sensors' samples so far (with the standing window) and the strides emitted so far."""
        from imu_gait.pipeline.knee import analyze_knee

        rows = [*self.rows, *(u.row for u in self._pending_knee)]
        t1 = min(b.end for b in self.other.values())
        sess = self._knee_window(-np.inf, t1)
        base = pd.DataFrame(
            [{k: r[k] for k in ("side", "stride", "activity", "ic", "fc", "end")} for r in rows]
        )
        self._knee_ready = True
        if "pelvis" in self.other and self.pelvis_calibration is None:
            self.calibrate_pelvis(sess, base)
        for p, d in sess.data.items():
            if len(d.t) > 10:
                rate = self.sensors[p].rate_hz or float(1.0 / np.median(np.diff(d.t)))
                self._check_gyro(p, d.acc, d.gyr, rate)
        legs = [p for p in self.other if p != "pelvis"]
        if self.knee_calibration or not legs:
            return  # given (e.g. the whole session's), or no thigh/shank sensors
        sess.data = {p: d for p, d in sess.data.items() if p != "pelvis"}
        try:
            res = analyze_knee(sess, base)
        except (ValueError, np.linalg.LinAlgError) as exc:
            self.warnings.append(f"knee calibration failed: {exc}")
            return
        self.knee_calibration = dict(res.calibration)
        if not self.knee_calibration:
            self.warnings.append("knee calibration failed: " + "; ".join(res.quality["warnings"]))
        self._knee_ready = True

    def calibrate_pelvis(self, sess: Session, strides: pd.DataFrame) -> None:
        """Pelvis sensor frame (:func:`imu_gait.pipeline.pelvis.pelvis_frame`, from ``strides`` of both legs)
        and the standing pelvic drop per side (subtracted later, as offline), from the pelvis samples of ``sess``
        (the calibration period, or a whole saved session)."""
        from imu_gait.pipeline.knee import _up
        from imu_gait.pipeline.pelvis import pelvic_drop_series, pelvis_frame

        if "pelvis" not in sess.data or not {"left", "right"} <= set(strides["side"]):
            self.warnings.append("pelvis: no calibration (strides of both legs needed)")
            return
        d, window = sess.data["pelvis"], sess.calibration.get("static")
        if window:
            standing = (d.t >= window[0]) & (d.t <= window[1])
            if standing.sum() >= 20:
                # its gyroscope bias, for the pelvis windows that hold no standing (as the knee calibration's)
                self._pelvis_bias = d.gyr[standing].mean(axis=0)
        o, static = self._pelvis_orientation(sess)
        try:
            C, _ = pelvis_frame(o.t, o.R, o.acc, o.gyr, _up(o, static), strides)
        except ValueError as exc:
            self.warnings.append(f"pelvis: {exc}")
            return
        raw = pelvic_drop_series(o.R @ C, np.zeros(o.t.size, dtype=bool))
        offsets = {
            side: float(d[static].mean()) if static.any() else 0.0 for side, d in raw.items()
        }
        self.pelvis_calibration = (C, offsets)

    def _pelvis_orientation(self, sess: Session):
        from imu_gait.pipeline.segment_calibration import window_mask
        from imu_gait.pipeline.vqf_orientation import common_grid, orientations_on_grid

        grid = common_grid([sess.data["pelvis"]])
        static = window_mask(grid, sess.calibration.get("static"))
        bias = {"pelvis": self._pelvis_bias} if self._pelvis_bias is not None else None
        o = orientations_on_grid(
            {"pelvis": sess.data["pelvis"]},
            grid,
            still=static,
            bias=bias,
            lossy=self._lossy(),
            bias_series=self.knee_gyro_bias,
        )["pelvis"]
        return o, static

    def _add_pelvis(self, us: list[StrideUpdate], sess: Session) -> None:
        from imu_gait.pipeline.knee import PELVIS_LOWPASS_HZ, _lowpass
        from imu_gait.pipeline.pelvis import pelvic_drop_peaks, pelvic_drop_series

        if self.pelvis_calibration is None or "pelvis" not in sess.data:
            return
        C, offsets = self.pelvis_calibration
        o, _ = self._pelvis_orientation(sess)
        raw = pelvic_drop_series(o.R @ C, np.zeros(o.t.size, dtype=bool))
        drop = {
            side: _lowpass(d - offsets[side], o.rate_hz, PELVIS_LOWPASS_HZ)
            for side, d in raw.items()
        }
        base = pd.DataFrame(
            [{k: u.row[k] for k in ("side", "stride", "ic", "fc", "end")} for u in us]
        )
        peaks = pelvic_drop_peaks(o.t, drop, base)["pelvic_drop_peak"].to_numpy()
        for u, v in zip(us, peaks, strict=True):
            u.row["pelvic_drop_peak"] = float(v)

    def _add_knee(self, us: list[StrideUpdate], t1: float, lead_s: float) -> None:
        """Knee (and pelvis) columns and curves of the strides ``us`` from one window, from ``lead_s`` before
        the first IC to ``t1`` (s)."""
        from imu_gait.pipeline.knee import analyze_knee

        sess = self._knee_window(min(u.row["ic"] for u in us) - lead_s, t1)
        if "pelvis" in sess.data:
            self._add_pelvis(us, self._subset(sess, ("pelvis",)))
        for side in sorted({u.side for u in us}):
            mine = [u for u in us if u.side == side]
            sub = self._subset(sess, (f"{side}_thigh", f"{side}_shank"))
            if side not in self.knee_calibration or len(sub.data) < 2:
                continue
            keys = ("side", "stride", "activity", "ic", "fc", "end")
            base = pd.DataFrame([{k: u.row[k] for k in keys} for u in mine])
            try:
                res = analyze_knee(
                    sub,
                    base,
                    calibration={side: self.knee_calibration[side]},
                    detect_standing=False,
                    lossy=self._lossy(),
                    bias_series=self.knee_gyro_bias,
                )
            except (ValueError, np.linalg.LinAlgError) as exc:
                self.warnings.append(f"knee window ending at {t1:.1f} s: {exc}")
                continue
            cols, curves = res.stride_columns, res.curves
            for u in mine:
                row = cols[(cols["side"] == side) & (cols["stride"] == u.row["stride"])]
                for c in KNEE_COLUMNS:
                    if len(row) and c in row.columns:
                        u.row[c] = float(row[c].iloc[0])
                if len(curves):
                    sel = curves[(curves["side"] == side) & (curves["stride"] == u.row["stride"])]
                    if len(sel):
                        u.curves = pd.concat([u.curves, sel], ignore_index=True)

    def _lossy(self) -> dict[str, bool]:
        """Per knee/pelvis sensor whether its windows are filtered as lossy: as given (a saved session's whole
        stream, as ``analyze`` decides), else from the samples lost so far, so that a few losses gathered in
        one window do not switch its filter."""
        if self.knee_lossy is not None:
            return self.knee_lossy
        out = {}
        for p in self.other:
            s, rate = self.stats[p], self.sensors[p].rate_hz
            span = (s["last_t"] - s["first_t"]) if s.get("first_t") is not None else 0.0
            if not rate or span <= 0:
                continue
            out[p] = 1.0 - s["samples"] / (span * rate + 1.0) > LOSSY_FRACTION
        return out

    @staticmethod
    def _subset(sess: Session, placements: tuple[str, ...]) -> Session:
        data = {p: d for p, d in sess.data.items() if p in placements}
        return Session(
            data=data,
            sensors={p: sess.sensors[p] for p in data},
            calibration=dict(sess.calibration),
            events=[],
        )


def _longest_run(mask: np.ndarray) -> int:
    """Length (samples) of the longest run of True in ``mask``."""
    runs = mask_runs(mask)
    return int((runs[:, 1] - runs[:, 0]).max()) if runs.size else 0


def _shoe_edge(rate: float) -> int:
    """Samples at a window's end whose SHOE statistic later samples still change: the part of its centred
    window after the sample (:func:`imu_gait.pipeline.signal.moving_mean`)."""
    n = max(round(SHOE_WINDOW_S * rate), 1)
    return n - 1 - n // 2


def _rested(shoe: np.ndarray, m: int, rate: float) -> bool:
    """Whether the foot rested at mid-stance sample ``m``: the statistic below ``STILL_MIDSTANCE`` throughout
    +/-20 ms, as :func:`imu_gait.pipeline.foot.mid_stance_up` asks."""
    half = max(round(0.02 * rate), 1)
    return bool((shoe[max(m - half, 0) : m + half + 1] < STILL_MIDSTANCE).all())


def _stance_end_shows(seg: np.ndarray, rate: float, rested: bool) -> bool:
    """Whether the SHOE statistic ``seg`` of a stance from its contact on shows where a trajectory into it can
    end: a rest (below ``REST_LEVEL`` for ``REST_MIN_S``; walking, stairs, a runner who stops), or, for a foot
    that did not rest at its previous mid-stance (``rested`` False: running, which may never rest), a stance
    that is over (below ``ZV_THRESHOLD``, then above three times that for ``STANCE_OVER_S``)."""
    if seg.size == 0:
        return False
    if _longest_run(seg < REST_LEVEL) >= max(round(REST_MIN_S * rate), 2):
        return True
    if rested:
        return False  # walking: wait for the rest
    low = np.flatnonzero(seg < ZV_THRESHOLD)
    if low.size == 0:
        return False
    return _longest_run(seg[low[0] :] > 3.0 * ZV_THRESHOLD) >= max(round(STANCE_OVER_S * rate), 2)
