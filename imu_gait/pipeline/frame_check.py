"""Does the gyroscope agree with the accelerometer? A check of a sensor's units and axes from its own data.

A decoder or an import that reads the gyroscope in the wrong unit (rad/s as deg/s) or range (a sensor set to
+-1000 deg/s decoded as +-2000), with a flipped sign (a left-handed axis convention) or with its axes in another
order than the accelerometer's gives results that look like data but are not (stride lengths of half a metre, eversion from the wrong axis), without any error. The
accelerometer says where gravity is whenever the sensor rests; between two rests the gyroscope's rotation must
carry the first rest's gravity direction into a frame in which the acceleration, less gravity, integrates to no
velocity at the second (zero-velocity update, as in :mod:`imu_gait.pipeline.trajectory`). With the right
reading the residual velocity per second is a fraction of a m/s^2 (real walk 0.27, simulated walking and stairs
0.17-0.19); read any other way it is several m/s^2 (3.5-6.4 on the real walk).

So: the rests are found from the accelerometer alone (it does not depend on the gyroscope's reading), the
residual is computed for the gyroscope as recorded, and when that is large, for every other reading (the 48
signed axis orders times deg/s, rad/s or a range off by a power of two); one that fits far better is reported. Sign errors of the accelerometer
itself (a mirror image of the walk) are not visible this way.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from imu_gait.pipeline.calibration import mask_runs
from imu_gait.pipeline.signal import GRAVITY, moving_mean
from imu_gait.pipeline.trajectory import integrate_gyro, quat_to_matrix, tilt_from_gravity

MAX_INTERVALS = 60  # rest-to-rest intervals used (the first ones)
# s a rest must last: a foot flat on the ground is still for 40 ms (zero velocity); a shank or thigh also looks
# steady in mid-stance while it turns over the foot (0.3-0.5 m/s at the sensor), so for them only standing counts
FOOT_REST_S = 0.04
SEGMENT_REST_S = 0.5
MAX_INTERVAL_S = 60.0  # s; a longer one (e.g. a run between two standing periods) is left out
MAX_SPAN_S = 300.0  # s of data from the first interval on at most (the check of an hour-long session stays quick)
MIN_INTERVAL_S = 0.25  # s of movement between two rests
CONSISTENT_MAX = 1.0  # m/s^2 residual below which the recorded reading is accepted without a search
MISMATCH_RATIO = 2.0  # another reading must fit this many times better ...
MISMATCH_MARGIN = 0.5  # ... and by this much (m/s^2)
MIN_MISMATCH_INTERVALS = 3  # with fewer rest-to-rest intervals a mismatch needs ...
FEW_RATIO = 3.0  # ... another reading this many times better ...
FEW_MARGIN = 2.0  # ... and by this much (m/s^2)
# the best reading is named when there are this many intervals and the next best fits this many times worse (a
# segment turning mostly about one axis fits about as well with its other two axes exchanged: a shank 1.4x)
IDENTIFY_INTERVALS = 5
IDENTIFY_RATIO = 1.3
SCREEN_INTERVALS = 4  # readings are screened on this many intervals ...
SCREEN_KEEP = 8  # ... and the best ones fitted on all
RAD_AS_DEG = float(np.degrees(1.0))
# factors a reading may be off by: rad/s taken as deg/s, and a full-scale range other than the decoder's
# (+-250/500/1000/2000 deg/s: powers of two)
SCALES = (1.0, RAD_AS_DEG, 2.0, 4.0, 8.0, 0.5, 0.25, 0.125)
MIN_TURN_DEG = 20.0  # a sensor must turn this far between rests (typically) to be checked
MAX_TURN_INTERVALS = 10  # the first intervals looked at for that


@dataclass
class GyroCheck:
    """``verdict``: consistent, mismatch or undetermined (no rests to compare, or another reading fits somewhat
    better but not clearly). ``residual`` m/s^2 of the
    recorded reading, ``best_residual`` of the best reading; ``axes`` the best reading's axes as
    ``"x,y,z"``-style names with signs (``"-x,-y,-z"``: every axis negated) and ``scale`` its factor (1, or 57.3
    for rad/s read as deg/s)."""

    verdict: str
    intervals: int
    residual: float
    best_residual: float
    axes: str = "x,y,z"
    scale: float = 1.0
    identified: bool = False  # the best reading fits clearly better than any other

    def describe(self) -> str:
        """The finding in words (for warnings)."""
        if self.verdict != "mismatch":
            return f"gyroscope and accelerometer agree ({self.verdict})"
        head = (
            f"the gyroscope does not agree with the accelerometer (residual {self.residual:.1f} m/s^2 "
            "between rests, expected < 1): wrong unit, sign or axis order in the decoder or import"
        )
        if not self.identified:
            return head + "; no single other reading fits clearly better"
        parts = []
        if self.scale == RAD_AS_DEG:
            parts.append("read in rad/s instead of deg/s")
        elif self.scale != 1.0:
            parts.append(
                f"multiplied by {self.scale:g} (a gyroscope range other than the decoder assumes)"
            )
        if self.axes != "x,y,z":
            parts.append(f"with its axes taken as {self.axes} of the recorded ones")
        return f"{head}; it agrees ({self.best_residual:.2f} m/s^2) " + " and ".join(parts)

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict,
            "intervals": self.intervals,
            "residual_ms2": None if not np.isfinite(self.residual) else round(self.residual, 3),
            "best_residual_ms2": None
            if not np.isfinite(self.best_residual)
            else round(self.best_residual, 3),
            # the reading that fits, when one fits clearly better than any other
            "axes": self.axes if self.identified or self.verdict != "mismatch" else None,
            "scale": round(self.scale, 4)
            if self.identified or self.verdict != "mismatch"
            else None,
            "identified": self.identified,
        }


def _readings() -> list[tuple[np.ndarray, str]]:
    """The 48 signed axis orders (matrix M: gyro_fixed = M @ gyro_recorded) with their names."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            M = np.zeros((3, 3))
            names = []
            for i in range(3):
                M[i, perm[i]] = signs[i]
                names.append(("-" if signs[i] < 0 else "") + "xyz"[perm[i]])
            out.append((M, ",".join(names)))
    return out


def rests(acc: np.ndarray, rate_hz: float, min_rest_s: float = FOOT_REST_S) -> np.ndarray:
    """Runs of rest, (k, 2) [start, stop) samples, from the accelerometer only: |a| within 0.6 m/s^2 of gravity
    and steady over 50 ms, for at least 40 ms."""
    n = max(round(0.05 * rate_hz), 1)
    dev = moving_mean(np.abs(np.linalg.norm(acc, axis=1) - GRAVITY), n)
    var = moving_mean(np.sum((acc - moving_mean(acc, n)) ** 2, axis=1), n)
    runs = mask_runs((dev < 0.6) & (var < 0.5))
    return runs[(runs[:, 1] - runs[:, 0]) >= max(2, round(min_rest_s * rate_hz))]


def rest_intervals(
    acc: np.ndarray, rate_hz: float, min_rest_s: float = FOOT_REST_S
) -> list[tuple[int, int]]:
    """(start, stop) sample pairs: the middles of two consecutive rests (:func:`rests`) with
    ``MIN_INTERVAL_S``-``MAX_INTERVAL_S`` of movement between them."""
    return _intervals(rests(acc, rate_hz, min_rest_s), rate_hz)


def _intervals(runs: np.ndarray, rate_hz: float) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for (a0, a1), (b0, b1) in itertools.pairwise(runs):
        if MIN_INTERVAL_S <= (b0 - a1) / rate_hz <= MAX_INTERVAL_S:
            out.append(((a0 + a1) // 2, (b0 + b1) // 2))
        if len(out) == MAX_INTERVALS or (out and out[-1][1] - out[0][0] > MAX_SPAN_S * rate_hz):
            break
    return out


def _fit(
    acc: np.ndarray, gyr_dps: np.ndarray, rate_hz: float, ivs: list[tuple[int, int]]
) -> tuple[float, float]:
    """The residual: median over the intervals of |velocity at the second rest| / duration (m/s^2), zero
    velocity at the first, tilt from gravity there (``gyr_dps`` with its bias removed); and how far the sensor
    turns: median over the first ``MAX_TURN_INTERVALS`` intervals of the largest rotation (deg) away from the
    first rest."""
    half = max(round(0.02 * rate_hz), 1)
    lo, hi = ivs[0][0], ivs[-1][1]
    R = quat_to_matrix(integrate_gyro(gyr_dps[lo : hi + 1], rate_hz))
    a_all = acc[lo : hi + 1]
    out, turns = [], []
    for k, (i0, i1) in enumerate(ivs):
        j0, j1 = i0 - lo, i1 - lo
        rel = R[j0].T @ R[j0 : j1 + 1]
        if k < MAX_TURN_INTERVALS:
            cos = (np.trace(rel, axis1=1, axis2=2).min() - 1.0) / 2.0
            turns.append(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
        up = a_all[max(j0 - half, 0) : j0 + half + 1].mean(axis=0)
        a = np.einsum("kij,kj->ki", tilt_from_gravity(up) @ rel, a_all[j0 : j1 + 1])
        a[:, 2] -= np.linalg.norm(up)
        v = np.sum(0.5 * (a[1:] + a[:-1]), axis=0) / rate_hz
        out.append(float(np.linalg.norm(v)) / ((i1 - i0) / rate_hz))
    return float(np.median(out)), float(np.median(turns))


def rest_min_s(placement: str) -> float:
    """How long a rest of the sensor at ``placement`` must last to be a zero-velocity instant."""
    return FOOT_REST_S if placement.endswith("_foot") else SEGMENT_REST_S


def _bias(gyr: np.ndarray, runs: np.ndarray, rate_hz: float) -> np.ndarray:
    """The gyroscope's reading at rest (deg/s, (3,)): its median over the rest samples when they add up to a
    second or more (a foot flat for 40 ms can still turn a few deg/s), else zero."""
    idx = np.concatenate([np.arange(a, b) for a, b in runs]) if len(runs) else np.empty(0, int)
    if idx.size < rate_hz:
        return np.zeros(3)
    return np.median(gyr[idx], axis=0)


def check_gyro(
    acc: np.ndarray, gyr: np.ndarray, rate_hz: float, min_rest_s: float = FOOT_REST_S
) -> GyroCheck:
    """Check one sensor's gyroscope (deg/s, (n, 3)) against its accelerometer (m/s^2, (n, 3)) on a uniform
    clock of ``rate_hz``; see the module docstring. ``min_rest_s``: ``FOOT_REST_S`` for a foot sensor,
    ``SEGMENT_REST_S`` for any other (:func:`rest_min_s`)."""
    runs = rests(acc, rate_hz, min_rest_s)
    ivs = _intervals(runs, rate_hz)
    if not ivs:
        return GyroCheck("undetermined", 0, float("nan"), float("nan"))
    gyr = gyr - _bias(gyr, runs, rate_hz)
    recorded, turn = _fit(acc, gyr, rate_hz, ivs)
    if recorded < CONSISTENT_MAX:
        # a sensor that hardly turns between rests (a pelvis: 5-10 deg) carries gravity the same way whatever the
        # reading: no verdict; a gyroscope that reads far too small (rad/s as deg/s) fails the residual instead
        verdict = "consistent" if turn >= MIN_TURN_DEG else "undetermined"
        return GyroCheck(verdict, len(ivs), recorded, recorded)
    # every reading on the first SCREEN_INTERVALS intervals, the best SCREEN_KEEP of them on all
    readings = [(scale * M, name, scale) for scale in SCALES for M, name in _readings()]
    screen = sorted(
        (_fit(acc, gyr @ T.T, rate_hz, ivs[:SCREEN_INTERVALS])[0], k)
        for k, (T, _, _) in enumerate(readings)
    )
    fits = sorted(
        (_fit(acc, gyr @ readings[k][0].T, rate_hz, ivs)[0], readings[k][1], readings[k][2])
        for _, k in screen[:SCREEN_KEEP]
    )
    r, axes, scale = fits[0]
    if (axes, scale) == ("x,y,z", 1.0):
        return GyroCheck("consistent", len(ivs), recorded, r)
    # few intervals (e.g. one run between two standing periods): ask for more
    few = len(ivs) < MIN_MISMATCH_INTERVALS
    ratio = FEW_RATIO if few else MISMATCH_RATIO
    margin = FEW_MARGIN if few else MISMATCH_MARGIN
    if recorded > ratio * r and recorded - r > margin:
        identified = len(ivs) >= IDENTIFY_INTERVALS and fits[1][0] > IDENTIFY_RATIO * r
        return GyroCheck("mismatch", len(ivs), recorded, r, axes, scale, identified)
    return GyroCheck("undetermined", len(ivs), recorded, r)
