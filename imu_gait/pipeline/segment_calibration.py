"""Sensor-to-segment calibration of thigh and shank (and the static pose shared with the pelvis).

Each segment frame (DESIGN.md section 3: x anterior, y left, z up in standing) is built in its sensor's frame:

- z: the upward direction measured by the accelerometer while standing still (static calibration window);
- y: the functional knee axis (Seel et al. 2014, see :mod:`imu_gait.pipeline.joint_axis`), orthogonalised
  against z, with the sign for which knee flexion is positive: flexion is a positive rotation of the shank about
  +y relative to the thigh on both sides (see :func:`imu_gait.anatomy.knee_angles`), so y then points left;
- x = y cross z (anterior).

This is the functional-calibration idea of Favre et al. (2009, J Biomech 42:2330): a static posture plus a
functional movement define the joint coordinate system independently of how the sensors are strapped on.

Frames are returned as 3x3 matrices ``C`` whose columns are the segment axes in sensor coordinates, so the
segment orientation is ``R_segment = R_sensor @ C``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from imu_gait.pipeline.signal import GRAVITY


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def window_mask(t: np.ndarray, window: tuple[float, float] | list[float] | None) -> np.ndarray:
    """Boolean mask of the samples of ``t`` inside ``[t0, t1]`` (all False when ``window`` is None)."""
    if window is None:
        return np.zeros(t.shape, dtype=bool)
    t0, t1 = float(window[0]), float(window[1])
    return (t >= t0) & (t <= t1)


def detect_still(
    t: np.ndarray,
    gyrs: list[np.ndarray],
    accs: list[np.ndarray],
    min_duration_s: float = 1.0,
    max_rate_dps: float = 6.0,
    max_acc_dev: float = 0.6,
) -> tuple[float, float] | None:
    """Longest interval (t0, t1) in which every sensor is still (smoothed |gyr| below ``max_rate_dps`` deg/s and
    |acc| within ``max_acc_dev`` m/s^2 of g), at least ``min_duration_s`` long; None when there is none."""
    rate = 1.0 / float(np.median(np.diff(t)))
    size = max(1, round(0.25 * rate))
    still = np.ones(t.size, dtype=bool)
    for g, a in zip(gyrs, accs, strict=True):
        speed = uniform_filter1d(np.linalg.norm(g, axis=1), size)
        dev = uniform_filter1d(np.abs(np.linalg.norm(a, axis=1) - GRAVITY), size)
        still &= (speed < max_rate_dps) & (dev < max_acc_dev)
    edges = np.diff(np.concatenate([[0], still.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return None
    k = int(np.argmax(ends - starts))
    t0, t1 = t[starts[k]], t[ends[k] - 1]
    return (float(t0), float(t1)) if t1 - t0 >= min_duration_s else None


def up_in_sensor(acc: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit upward direction in the sensor frame: the mean accelerometer reading over ``mask`` (standing)."""
    if not mask.any():
        raise ValueError("empty static window")
    return unit(acc[mask].mean(axis=0))


def up_in_sensor_series(R: np.ndarray) -> np.ndarray:
    """Ground up (z) expressed in the sensor frame over time, (n, 3), from sensor->ground matrices ``R``."""
    return R[:, 2, :]


def rotation_about_axis(R: np.ndarray, up0: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Inclination of a segment about ``axis`` (sensor frame) relative to its standing pose, deg, (n,).

    Positive = right-handed rotation about ``axis``. Uses only the gravity direction (drift-free): the ground
    up vector seen from the segment turns by the opposite angle about the axis.
    """
    j = unit(axis)
    u = unit(up0 - np.dot(up0, j) * j)
    w = np.cross(j, u)
    g = up_in_sensor_series(R)
    return np.degrees(np.arctan2(-(g @ w), g @ u))


def resolve_hinge_signs(
    R_thigh: np.ndarray,
    R_shank: np.ndarray,
    up_thigh: np.ndarray,
    up_shank: np.ndarray,
    j_thigh: np.ndarray,
    j_shank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Signs of the hinge axes such that they both point left (knee flexion positive).

    The gyroscope constraint leaves each axis sign free. With the signs right, the flexion angle (shank minus
    thigh inclination about the axis, 0 when standing) spans about 0..60 deg in walking; with one sign wrong it
    becomes the sum of the segment inclinations (two-signed), with both wrong the negative. The combination with
    the most positive flexion range (1st + 99th percentile) wins. Returns (j_thigh, j_shank, margin deg), the
    margin being the score gap to the runner-up (a confidence).
    """
    th = rotation_about_axis(R_thigh, up_thigh, j_thigh)
    sh = rotation_about_axis(R_shank, up_shank, j_shank)
    scores = {}
    for s1 in (1.0, -1.0):
        for s2 in (1.0, -1.0):
            f = s2 * sh - s1 * th
            lo, hi = np.percentile(f, [1, 99])
            scores[(s1, s2)] = float(lo + hi)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (s1, s2), best = ranked[0]
    return s1 * unit(j_thigh), s2 * unit(j_shank), best - ranked[1][1]


def segment_frame(up: np.ndarray, left: np.ndarray, primary: str = "z") -> np.ndarray:
    """Segment axes in sensor coordinates as columns [x, y, z], x = y cross z.

    ``primary="z"``: z = ``up``, y = ``left`` made orthogonal to z (the segment's long axis is vertical in
    standing). ``primary="y"``: y = ``left`` exactly (the functional flexion axis keeps its frontal tilt, e.g. a
    thigh that is slightly adducted in standing), z = ``up`` made orthogonal to y.
    """
    if primary == "y":
        y = unit(left)
        z = unit(up - np.dot(up, y) * y)
    else:
        z = unit(up)
        y = unit(left - np.dot(left, z) * z)
    x = np.cross(y, z)
    return np.column_stack([x, y, z])
