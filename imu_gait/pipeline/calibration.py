"""Sensor-to-segment calibration: the rotation from a sensor's own frame to its segment's frame.

Foot part (this module's functions named ``*foot*``): a sensor clipped anywhere on a shoe, in any orientation, is
aligned to the foot frame (x anterior, y left, z up in standing; DESIGN.md section 3) from the data alone:

1. z: gravity, averaged over still periods (standing, or foot-flat phases), as in gaitmap's gravity alignment.
2. y: the foot's mediolateral axis, the dominant rotation axis of the gyroscope in the plane perpendicular to z
   while walking (the sagittal pitching of the foot dominates every gait cycle); principal component of the
   angular rate, the idea behind gaitmap's PCA alignment (mad-lab-fau/gaitmap, preprocessing/sensor_alignment).
3. The sign of y from the shape of each gait cycle: relative to foot-flat, the foot plantarflexes more at push-off
   (about 65 deg toe down) than it dorsiflexes at contact (about 25 deg toe up), so the integrated pitch rate of a
   movement between two still periods reaches its largest excursion in the toe-down direction. The sign is then
   confirmed by the direction of travel of the zero-velocity trajectory (``forward_agreement``).
4. x = y cross z.

A rotation ``R`` here maps sensor-frame vectors to foot-frame vectors: ``v_foot = R @ v_sensor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imu_gait.anatomy import rot_x, rot_y, rot_z
from imu_gait.pipeline.activity import stride_heading_change
from imu_gait.pipeline.signal import GRAVITY, moving_mean
from imu_gait.pipeline.trajectory import integrate_gyro, quat_to_matrix

# deg, heading change of a stride above which it is a turn and does not define the mediolateral axis
TURN_STRIDE_DEG = 30.0

# Named mountings a user can declare: sensor -> foot rotation for common ways of clipping a sensor.
MOUNTING_PRESETS: dict[str, np.ndarray] = {
    # the sensor axes already are the foot axes (x to the toes, y left, z up), e.g. gaitmap's foot frame
    "aligned": np.eye(3),
    # as "aligned" but upside down (rotated 180 deg about the long axis)
    "aligned_upside_down": rot_x(180.0),
    # sensor x points up, z backwards, on the heel counter (y left)
    "heel_x_up": rot_y(90.0),
    # sensor x to the left, y backwards, z up (clipped across the laces)
    "laces_x_left": rot_z(90.0),
}


@dataclass
class FootAlignment:
    """Result of aligning one foot sensor.

    ``R`` (3, 3) maps sensor to foot frame. ``confidence`` 0..1 combines the terms below. ``axis_share``: share
    of the angular-rate energy (in the horizontal plane) about the mediolateral axis; ``axis_spread_deg``: median
    deviation of per-stride axes from the session axis; ``gravity_spread_deg``: angular SD of gravity over the
    still samples used; ``forward_agreement``: share of strides travelling along +x (NaN before strides exist).
    """

    R: np.ndarray
    confidence: float
    source: str = "estimated"
    axis_share: float = float("nan")
    axis_spread_deg: float = float("nan")
    gravity_spread_deg: float = float("nan")
    forward_agreement: float = float("nan")
    gravity_from: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        def num(v: float) -> float | None:
            return None if not np.isfinite(v) else round(float(v), 4)

        return {
            "R_sensor_to_foot": np.round(self.R, 6).tolist(),
            "confidence": num(self.confidence),
            "source": self.source,
            "axis_share": num(self.axis_share),
            "axis_spread_deg": num(self.axis_spread_deg),
            "gravity_spread_deg": num(self.gravity_spread_deg),
            "forward_agreement": num(self.forward_agreement),
            "gravity_from": self.gravity_from,
            "notes": list(self.notes),
        }


def still_mask(
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float,
    gyr_max_dps: float = 15.0,
    acc_dev_max: float = 0.5,
    window_s: float = 0.1,
) -> np.ndarray:
    """Samples (n,) where the sensor is still: windowed mean |gyr| below ``gyr_max_dps`` and windowed mean
    | |acc| - g | below ``acc_dev_max`` (m/s^2), over ``window_s`` centred windows."""
    n = max(round(window_s * rate_hz), 1)
    g = moving_mean(np.linalg.norm(gyr, axis=1), n)
    a = moving_mean(np.abs(np.linalg.norm(acc, axis=1) - GRAVITY), n)
    return (g < gyr_max_dps) & (a < acc_dev_max)


def mask_runs(mask: np.ndarray) -> np.ndarray:
    """Runs of True in a boolean (n,) array as a (k, 2) array of [start, stop) indices."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]]))
    return np.column_stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)])


def gravity_direction(acc: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit 'up' vector in the sensor frame (mean of the accelerometer over ``mask``) and its angular SD (deg)."""
    a = acc[mask]
    if a.shape[0] == 0:
        a = acc
    u = a / np.linalg.norm(a, axis=1, keepdims=True)
    up = u.mean(axis=0)
    up /= np.linalg.norm(up)
    ang = np.degrees(np.arccos(np.clip(u @ up, -1.0, 1.0)))
    return up, float(np.sqrt(np.mean(ang**2)))


def horizontal_rotation_axis(gyr: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, float]:
    """Dominant rotation axis of ``gyr`` (n, 3) in the plane perpendicular to ``up`` (unit, sensor frame).

    The principal component (no centring: rotation axes, not deviations) of the angular rate projected on that
    plane. Returns the unit axis (sign arbitrary) and the share of the in-plane energy it explains (0.5..1).
    """
    h = gyr - np.outer(gyr @ up, up)
    m = h.T @ h
    w, v = np.linalg.eigh(m)
    axis = v[:, -1]
    axis = axis - (axis @ up) * up
    axis /= np.linalg.norm(axis)
    in_plane = w[-1] + w[-2]
    share = float(w[-1] / in_plane) if in_plane > 0 else 0.5
    return axis, share


def pitch_sign_vote(gyr_ml: np.ndarray, still: np.ndarray, rate_hz: float) -> float:
    """Vote in -1..1 for +y being the foot's left (toe-down = positive rate) from the movements between stills.

    For each movement between two still periods (0.25..4 s), the pitch angle integrated from the still start
    must reach a larger toe-down (positive) than toe-up excursion: push-off plantarflexion (about 65 deg) exceeds
    the dorsiflexion at contact (about 25 deg) in walking, and is the larger one on stairs and in running too.
    Returns the excursion-weighted mean vote; 0 when there is no usable movement.
    """
    moving = mask_runs(~still)
    num, den = 0.0, 0.0
    for a, b in moving:
        dur = (b - a) / rate_hz
        if dur < 0.25 or dur > 4.0 or a == 0 or b >= gyr_ml.size:
            continue
        theta = np.cumsum(gyr_ml[a:b]) / rate_hz
        hi, lo = float(theta.max()), float(-theta.min())
        if hi + lo < 20.0:
            continue
        num += hi - lo
        den += hi + lo
    return num / den if den > 0 else 0.0


def rotation_from_axes(y_axis: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Sensor -> foot rotation whose rows are the foot axes x = y cross z, y, z expressed in the sensor frame."""
    z = up / np.linalg.norm(up)
    y = y_axis - (y_axis @ z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.vstack([x, y, z])


def align_foot_sensor(
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float,
    static: np.ndarray | None = None,
    still: np.ndarray | None = None,
    moving: np.ndarray | None = None,
) -> FootAlignment:
    """First sensor -> foot alignment of one shoe sensor from its whole recording (units m/s^2, deg/s).

    ``static``: optional (n,) mask of the standing calibration (preferred source of gravity). ``still``: still
    samples (computed when not given). ``moving``: samples to use for the rotation axis (default: not still).
    Refine it with :func:`refine_foot_alignment` once strides are known.
    """
    if still is None:
        still = still_mask(acc, gyr, rate_hz)
    notes: list[str] = []
    if static is not None and static.sum() >= 0.2 * rate_hz:
        grav_mask, source = static, "static calibration"
    else:
        long_still = np.zeros_like(still)
        for a, b in mask_runs(still):
            if b - a >= 0.5 * rate_hz:
                long_still[a:b] = True
        if long_still.sum() >= 0.3 * rate_hz:
            grav_mask, source = long_still, "standing periods"
        elif still.any():
            grav_mask, source = still, "foot-flat phases"
        else:
            grav_mask, source = np.ones_like(still), "whole recording (no still period)"
            notes.append("no still period: gravity from the mean of the whole recording")
    up, g_spread = gravity_direction(acc, grav_mask)
    use = ~still if moving is None else moving
    if use.sum() < rate_hz:
        use = np.ones_like(still)
    axis, share = horizontal_rotation_axis(gyr[use], up)
    vote = pitch_sign_vote(gyr @ axis, still, rate_hz)
    if vote < 0:
        axis = -axis
    if abs(vote) < 0.2:
        notes.append(
            f"sign of the mediolateral axis uncertain from the pitch pattern (vote {vote:+.2f})"
        )
    R = rotation_from_axes(axis, up)
    conf = _confidence(share, float("nan"), g_spread, float("nan"))
    return FootAlignment(
        R, conf, "estimated", share, float("nan"), g_spread, float("nan"), source, notes
    )


def refine_foot_alignment(
    acc: np.ndarray,
    gyr: np.ndarray,
    previous: FootAlignment,
    stride_bounds: np.ndarray,
    up: np.ndarray | None = None,
    rate_hz: float | None = None,
) -> FootAlignment:
    """Re-estimate the mediolateral axis over whole gait cycles only (``stride_bounds`` (k, 2) sample indices
    [start, stop)), which excludes standing, fidgeting and turning on the spot, and measure its consistency
    across strides. ``up`` (sensor frame) replaces the gravity direction when given. With ``rate_hz`` (Hz),
    turning strides (:func:`turning_strides`) are left out as well, unless fewer than three strides remain."""
    R0 = previous.R
    if up is None:
        up = R0[2]
    if len(stride_bounds) == 0:
        return previous
    if rate_hz is not None:
        straight = ~turning_strides(gyr, R0, stride_bounds, rate_hz)
        if straight.sum() >= 3:
            stride_bounds = stride_bounds[straight]
    sel = np.zeros(len(gyr), dtype=bool)
    for a, b in stride_bounds:
        sel[a:b] = True
    axis, share = horizontal_rotation_axis(gyr[sel], up)
    if axis @ R0[1] < 0:
        axis = -axis
    devs = []
    for a, b in stride_bounds:
        ax_k, _ = horizontal_rotation_axis(gyr[a:b], up)
        devs.append(np.degrees(np.arccos(min(abs(float(ax_k @ axis)), 1.0))))
    spread = float(np.median(devs))
    R = rotation_from_axes(axis, up)
    conf = _confidence(share, spread, previous.gravity_spread_deg, previous.forward_agreement)
    return FootAlignment(
        R,
        conf,
        previous.source,
        share,
        spread,
        previous.gravity_spread_deg,
        previous.forward_agreement,
        previous.gravity_from,
        list(previous.notes),
    )


def turning_strides(
    gyr: np.ndarray,
    R: np.ndarray,
    stride_bounds: np.ndarray,
    rate_hz: float,
    max_turn_deg: float = TURN_STRIDE_DEG,
) -> np.ndarray:
    """Strides (k,) whose heading changes by more than ``max_turn_deg`` from start to stop (``stride_bounds``
    (k, 2) samples), with the gyroscope ``gyr`` (n, 3, deg/s) integrated in the foot frame of ``R``.

    While the foot turns about the vertical it is pitched (up to 65 deg in swing), so part of the turn appears
    about its long axis, in step with the pitch: the principal axis of a turning stride leans towards the long
    axis (simulated stair sessions with the usual 180 deg turn on the landing: 7-9 deg error of the long axis
    from two turning strides among twelve).
    """
    b = np.asarray(stride_bounds, dtype=np.int64)
    if b.size == 0:
        return np.zeros(0, dtype=bool)
    lo, hi = int(b[:, 0].min()), int(b[:, 1].max())
    w = gyr[lo:hi] @ R.T
    R_int = quat_to_matrix(integrate_gyro(w, rate_hz))
    turn = stride_heading_change(R_int, b[:, 0] - lo, np.minimum(b[:, 1], hi) - 1 - lo)
    return np.abs(turn) > max_turn_deg


def flip_foot_alignment(al: FootAlignment) -> FootAlignment:
    """The same alignment turned 180 deg about z (x and y reversed), for a sign fixed by the direction of travel."""
    R = np.diag([-1.0, -1.0, 1.0]) @ al.R
    return FootAlignment(
        R,
        al.confidence,
        al.source,
        al.axis_share,
        al.axis_spread_deg,
        al.gravity_spread_deg,
        al.forward_agreement,
        al.gravity_from,
        [*al.notes, "mediolateral axis reversed to match the direction of travel"],
    )


def _confidence(share: float, spread_deg: float, g_spread_deg: float, forward: float) -> float:
    """0..1: product of terms for axis dominance, per-stride consistency, gravity agreement and travel sign."""
    terms = [np.clip((share - 0.6) / 0.3, 0.0, 1.0)]
    if np.isfinite(spread_deg):
        terms.append(float(np.exp(-((spread_deg / 8.0) ** 2))))
    if np.isfinite(g_spread_deg):
        terms.append(float(np.clip(1.0 - (g_spread_deg - 3.0) / 12.0, 0.0, 1.0)))
    if np.isfinite(forward):
        terms.append(float(np.clip((forward - 0.5) / 0.4, 0.0, 1.0)))
    return float(np.prod(terms))


def with_forward_agreement(al: FootAlignment, forward: float) -> FootAlignment:
    """Copy of ``al`` with the measured share of strides travelling along +x and the confidence updated."""
    return FootAlignment(
        al.R,
        _confidence(al.axis_share, al.axis_spread_deg, al.gravity_spread_deg, forward),
        al.source,
        al.axis_share,
        al.axis_spread_deg,
        al.gravity_spread_deg,
        forward,
        al.gravity_from,
        list(al.notes),
    )


def declared_foot_alignment(mounting: np.ndarray | str) -> FootAlignment:
    """Alignment from a user-declared mounting: a 3x3 sensor -> foot rotation or a name in MOUNTING_PRESETS."""
    if isinstance(mounting, str):
        if mounting not in MOUNTING_PRESETS:
            from imu_gait.errors import UsageError

            names = ", ".join(MOUNTING_PRESETS)
            raise UsageError(f"unknown mounting preset {mounting!r}; expected one of: {names}")
        R = MOUNTING_PRESETS[mounting].copy()
    else:
        R = np.asarray(mounting, dtype=np.float64)
        if (
            R.shape != (3, 3)
            or not np.allclose(R @ R.T, np.eye(3), atol=1e-3)
            or np.linalg.det(R) < 0
        ):
            from imu_gait.errors import UsageError

            raise UsageError("a declared mounting must be a 3x3 rotation matrix (sensor -> foot)")
    return FootAlignment(R, 1.0, "declared", gravity_from="declared mounting")
