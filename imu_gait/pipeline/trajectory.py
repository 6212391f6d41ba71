"""Strapdown orientation and zero-velocity-updated foot trajectories, per stride (foot frame in, ground out).

Orientation: the gyroscope is integrated once over the whole recording (quaternion product of the per-sample
rotations, computed as a parallel prefix scan so that hours of data take well under a second). Each stride then
re-anchors it: at its mid-stance the foot's tilt is taken from gravity (roll and pitch), heading is the foot's own
(zero), and the tilt error found at the next mid-stance is removed linearly over the stride.

Trajectory: gravity-free acceleration in the ground frame is integrated between two mid-stance zero-velocity
instants, the velocity de-drifted linearly so that it is zero at both ends, then integrated to position (Rampp
et al. 2015, IEEE TBME 62:1089, with the zero-velocity instants of Skog et al. 2010). Stride length is the
horizontal displacement, elevation change the vertical one (up positive), foot clearance the highest point of
the swing above the higher of the two stance levels.

Note for the knee pipeline: VQF-based segment orientation lives in its own module; this one only holds the
strapdown/ZUPT part used by the foot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

Z = np.array([0.0, 0.0, 1.0])


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) quaternions [w, x, y, z]."""
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(np.broadcast_shapes(p.shape, q.shape))
    out[..., 0] = pw * qw - px * qx - py * qy - pz * qz
    out[..., 1] = pw * qx + px * qw + py * qz - pz * qy
    out[..., 2] = pw * qy - px * qz + py * qw + pz * qx
    out[..., 3] = pw * qz + px * qy - py * qx + pz * qw
    return out


def integrate_gyro(gyr_dps: np.ndarray, rate_hz: float, block: int = 128) -> np.ndarray:
    """Orientation quaternions (n, 4) [w, x, y, z] of the body relative to its first sample.

    ``q[i+1] = q[i] * dq_i`` with dq_i the rotation by the mean rate of samples i and i+1 over one period. The
    cumulative product is computed in blocks: a sequential product inside all blocks at once, then a prefix scan
    over the block totals, so hours of data take a fraction of a second.
    """
    w = np.radians(np.asarray(gyr_dps, dtype=np.float64))
    n = w.shape[0]
    q = np.zeros((n, 4))
    q[:, 0] = 1.0
    if n < 2:
        return q
    rv = 0.5 * (w[:-1] + w[1:]) / rate_hz
    ang = np.linalg.norm(rv, axis=1)
    half = 0.5 * ang
    s = np.where(ang > 1e-12, np.sin(half) / np.maximum(ang, 1e-300), 0.5)
    m = n - 1
    nb = -(-m // block)
    dq = np.zeros((nb * block, 4))
    dq[:, 0] = 1.0
    dq[:m, 0] = np.cos(half)
    dq[:m, 1:] = rv * s[:, None]
    P = dq.reshape(nb, block, 4)
    for j in range(1, block):
        P[:, j] = quat_multiply(P[:, j - 1], P[:, j])
    # exclusive prefix of the block totals (Hillis-Steele scan over blocks)
    E = np.zeros((nb, 4))
    E[:, 0] = 1.0
    E[1:] = P[:-1, -1]
    step = 1
    while step < nb:
        E[step:] = quat_multiply(E[:-step], E[step:])
        step *= 2
    q[1:] = quat_multiply(E[:, None, :], P).reshape(-1, 4)[:m]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) [w, x, y, z]."""
    return Rotation.from_quat(q[..., [1, 2, 3, 0]]).as_matrix()


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about the unit ``axis`` (3,) by ``angle`` rad (scalar or array), Rodrigues."""
    x, y, z = axis
    K = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    a = np.asarray(angle, dtype=np.float64)[..., None, None]
    return np.eye(3) + np.sin(a) * K + (1.0 - np.cos(a)) * (K @ K)


def tilt_from_gravity(up_body: np.ndarray) -> np.ndarray:
    """Body -> ground rotation (3, 3) of minimal angle that maps the measured up direction ``up_body`` (body
    frame) onto ground z: roll and pitch from gravity, no heading."""
    f = up_body / np.linalg.norm(up_body)
    axis = np.array([f[1], -f[0], 0.0])  # f x z
    s = float(np.hypot(f[0], f[1]))
    c = float(np.clip(f[2], -1.0, 1.0))
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    return axis_angle_matrix(axis / s, np.arctan2(s, c))


def anchored_orientation(R_int: np.ndarray, anchor: int, up_at_anchor: np.ndarray) -> np.ndarray:
    """Foot -> ground orientations for the samples of ``R_int`` (k, 3, 3) (gyro integration, any reference),
    anchored so that at local index ``anchor`` the tilt equals gravity's (``up_at_anchor``, foot frame)."""
    R0 = tilt_from_gravity(up_at_anchor) @ R_int[anchor].T
    return R0 @ R_int


@dataclass
class StrideTrajectory:
    """Zero-velocity-updated trajectory of one stride (mid-stance to mid-stance), ground frame, z up.

    ``position`` (k, 3) m relative to the first mid-stance; ``length`` horizontal displacement m; ``elevation``
    m (up +); ``clearance`` m; ``direction`` unit horizontal displacement; ``foot_x`` the foot's anterior axis in
    the ground frame at the first mid-stance (horizontal, unit); ``tilt_error_deg`` the gyro tilt drift removed.
    """

    position: np.ndarray
    length: float
    elevation: float
    clearance: float
    direction: np.ndarray
    foot_x: np.ndarray
    tilt_error_deg: float


def stride_trajectory(
    acc: np.ndarray,
    R_int: np.ndarray,
    up_start: np.ndarray,
    up_end: np.ndarray,
    rate_hz: float,
    gravity: float,
    contact: int | None = None,
    still_end: np.ndarray | None = None,
) -> StrideTrajectory:
    """Trajectory between two zero-velocity samples: ``acc`` (k, 3) m/s^2 and ``R_int`` (k, 3, 3) gyro-integrated
    orientation over the stride (first and last sample at zero velocity); ``up_start``/``up_end`` the measured
    gravity directions (foot frame) at both ends; ``gravity`` the local magnitude of gravity (m/s^2).

    With ``contact`` (local index of the initial contact) and ``still_end`` (local indices after it where the foot
    is flat and still), the velocity drift is modelled as a linear drift plus a step at the contact impact (a
    clipped or under-sampled impact loses part of its velocity change), fitted to zero velocity on those samples;
    otherwise the drift is linear between the two ends."""
    k = acc.shape[0]
    R = anchored_orientation(R_int, 0, up_start)
    # tilt drift: the rotation that brings the predicted up at the end onto z, spread linearly over the stride
    pred = R[-1] @ (up_end / np.linalg.norm(up_end))
    axis = np.array([pred[1], -pred[0], 0.0])  # pred x z
    s = float(np.hypot(pred[0], pred[1]))
    err = np.arctan2(s, float(pred @ Z))
    frac = np.linspace(0.0, 1.0, k)
    if s > 1e-12:
        R = axis_angle_matrix(axis / s, frac * err) @ R
    a = np.einsum("kij,kj->ki", R, acc)
    a[:, 2] -= gravity
    dt = 1.0 / rate_hz
    v = np.zeros_like(a)
    v[1:] = np.cumsum(0.5 * (a[1:] + a[:-1]) * dt, axis=0)
    v -= _velocity_drift(v, frac, contact, still_end)
    p = np.zeros_like(v)
    p[1:] = np.cumsum(0.5 * (v[1:] + v[:-1]) * dt, axis=0)
    d = p[-1]
    length = float(np.hypot(d[0], d[1]))
    direction = d[:2] / length if length > 1e-9 else np.array([np.nan, np.nan])
    fx = R[0][:2, 0]
    fx = fx / max(np.linalg.norm(fx), 1e-12)
    clearance = float(p[:, 2].max() - max(0.0, d[2]))
    return StrideTrajectory(
        p, length, float(d[2]), clearance, direction, fx, float(np.degrees(err))
    )


def signed_angle_2d(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (deg) from horizontal vector ``a`` to ``b``, counter-clockwise (seen from above) positive."""
    return float(np.degrees(np.arctan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1])))


def _velocity_drift(
    v: np.ndarray, frac: np.ndarray, contact: int | None, still_end: np.ndarray | None
) -> np.ndarray:
    """Velocity error (k, 3): linear in time, plus a step at ``contact`` when the still samples after it allow
    both to be told apart (they must span at least a fifth of the time between contact and the end)."""
    k = v.shape[0]
    if contact is None or still_end is None or still_end.size < 3:
        return np.outer(frac, v[-1])
    idx = np.unique(np.append(still_end, k - 1))
    span = (idx.max() - idx.min()) / max(k - 1 - contact, 1)
    if span < 0.2 or idx.min() <= contact:
        return np.outer(frac, v[-1])
    A = np.column_stack([frac[idx], np.ones(idx.size)])
    coef, *_ = np.linalg.lstsq(A, v[idx], rcond=None)
    step = (np.arange(k) >= contact).astype(np.float64)
    return np.outer(frac, coef[0]) + np.outer(step, coef[1])
