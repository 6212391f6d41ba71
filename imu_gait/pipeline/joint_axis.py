"""Functional hinge-axis estimation from the gyroscopes of the two segments of a joint.

Seel, Raisch & Schauer (2014), "IMU-based joint angle measurement for gait analysis", Sensors 14:6891,
doi:10.3390/s140406891. For a hinge with axis ``j1`` in sensor 1 and ``j2`` in sensor 2, the angular rates
``w1``, ``w2`` differ only by a rotation about the axis, so their components perpendicular to it have the same
length at every instant: ``|w1 x j1| = |w2 x j2|``. The axes are the least-squares solution of these equations,
found by Gauss-Newton (Levenberg damping) on the spherical coordinates of ``j1`` and ``j2``.

The signs of ``j1`` and ``j2`` are not identifiable from the gyroscopes alone; the calibration resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HingeAxes:
    """Unit hinge axis ``j1`` (sensor-1 frame) and ``j2`` (sensor-2 frame); ``rms`` residual (deg/s) of the
    constraint, ``rel_rms`` the same relative to the RMS angular rate, ``n`` samples used."""

    j1: np.ndarray
    j2: np.ndarray
    rms: float
    rel_rms: float
    n: int


def _unit(phi: float, theta: float) -> np.ndarray:
    return np.array([np.cos(phi) * np.cos(theta), np.cos(phi) * np.sin(theta), np.sin(phi)])


def _d_unit(phi: float, theta: float) -> tuple[np.ndarray, np.ndarray]:
    d_phi = np.array([-np.sin(phi) * np.cos(theta), -np.sin(phi) * np.sin(theta), np.cos(phi)])
    d_theta = np.array([-np.cos(phi) * np.sin(theta), np.cos(phi) * np.cos(theta), 0.0])
    return d_phi, d_theta


def _spherical(v: np.ndarray) -> tuple[float, float]:
    v = v / np.linalg.norm(v)
    return float(np.arcsin(np.clip(v[2], -1, 1))), float(np.arctan2(v[1], v[0]))


def _cross_norm_and_grad(w: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|w x j| (n,) and its gradient with respect to j (n, 3)."""
    c = np.cross(w, j)
    norm = np.linalg.norm(c, axis=1)
    grad = np.cross(c, w) / np.maximum(norm, 1e-9)[:, None]
    return norm, grad


def _residual_jacobian(
    x: np.ndarray, w1: np.ndarray, w2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    j1, j2 = _unit(x[0], x[1]), _unit(x[2], x[3])
    n1, g1 = _cross_norm_and_grad(w1, j1)
    n2, g2 = _cross_norm_and_grad(w2, j2)
    d1 = _d_unit(x[0], x[1])
    d2 = _d_unit(x[2], x[3])
    jac = np.column_stack([g1 @ d1[0], g1 @ d1[1], -(g2 @ d2[0]), -(g2 @ d2[1])])
    return n1 - n2, jac


def _gauss_newton(
    x: np.ndarray, w1: np.ndarray, w2: np.ndarray, iterations: int
) -> tuple[np.ndarray, float]:
    e, jac = _residual_jacobian(x, w1, w2)
    cost = float(e @ e)
    lam = 1e-3
    for _ in range(iterations):
        h = jac.T @ jac
        step = np.linalg.solve(h + lam * np.diag(np.diag(h) + 1e-12), -jac.T @ e)
        e_new, jac_new = _residual_jacobian(x + step, w1, w2)
        cost_new = float(e_new @ e_new)
        if cost_new < cost:
            x, e, jac = x + step, e_new, jac_new
            converged = cost - cost_new < 1e-10 * cost
            cost = cost_new
            lam = max(lam / 10, 1e-9)
            if converged or np.max(np.abs(step)) < 1e-8:
                break
        else:
            lam *= 10
            if lam > 1e8:
                break
    return x, cost


def _principal_axis(w: np.ndarray) -> np.ndarray:
    _, vecs = np.linalg.eigh(w.T @ w)
    return vecs[:, -1]


def select_motion_samples(
    gyr1: np.ndarray, gyr2: np.ndarray, min_rate_dps: float = 20.0, max_samples: int = 4000
) -> np.ndarray:
    """Indices of samples where either segment turns faster than ``min_rate_dps`` (deg/s), thinned uniformly
    to at most ``max_samples`` (the constraint is uninformative at rest)."""
    speed = np.maximum(np.linalg.norm(gyr1, axis=1), np.linalg.norm(gyr2, axis=1))
    idx = np.flatnonzero(speed > min_rate_dps)
    if idx.size > max_samples:
        idx = idx[np.linspace(0, idx.size - 1, max_samples).round().astype(int)]
    return idx


def estimate_hinge_axes(
    gyr1: np.ndarray,
    gyr2: np.ndarray,
    min_rate_dps: float = 20.0,
    max_samples: int = 4000,
    iterations: int = 60,
) -> HingeAxes:
    """Hinge axis of a joint from the angular rates (deg/s, (n, 3), same clock) of the sensors on its two
    segments, by the Seel et al. (2014) constraint ``|w1 x j1| = |w2 x j2|``.

    Starts from the principal rotation axis of each gyroscope (a hinge dominates the motion of both segments in
    gait) plus perturbed starts, and keeps the best local optimum.
    """
    gyr1 = np.asarray(gyr1, dtype=np.float64)
    gyr2 = np.asarray(gyr2, dtype=np.float64)
    idx = select_motion_samples(gyr1, gyr2, min_rate_dps, max_samples)
    if idx.size < 50:
        raise ValueError("too little motion to estimate a joint axis")
    w1, w2 = np.deg2rad(gyr1[idx]), np.deg2rad(gyr2[idx])
    p1, p2 = _principal_axis(w1), _principal_axis(w2)
    starts = [np.array([*_spherical(p1), *_spherical(p2)])]
    rng = np.random.default_rng(0)
    for _ in range(4):
        starts.append(starts[0] + rng.normal(0.0, 0.5, 4))
    best_x, best_cost = starts[0], np.inf
    for x0 in starts:
        x, cost = _gauss_newton(x0, w1, w2, iterations)
        if cost < best_cost:
            best_x, best_cost = x, cost
    rms = float(np.sqrt(best_cost / idx.size))
    scale = float(np.sqrt(np.mean(np.sum(w1**2, axis=1) + np.sum(w2**2, axis=1)) / 2))
    return HingeAxes(
        j1=_unit(best_x[0], best_x[1]),
        j2=_unit(best_x[2], best_x[3]),
        rms=float(np.rad2deg(rms)),
        rel_rms=rms / scale if scale > 0 else np.inf,
        n=int(idx.size),
    )


def axis_angle_error(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (deg) between two axes regardless of their sign."""
    c = abs(float(np.dot(a, b)) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(min(c, 1.0))))


def _rotational_acc(w: np.ndarray, dw: np.ndarray, o: np.ndarray) -> np.ndarray:
    """w x (w x o) + dw x o: the acceleration of point ``o`` (sensor frame) relative to the sensor's."""
    return np.cross(w, np.cross(w, o)) + np.cross(dw, o)


def _rot_acc_jacobian(w: np.ndarray, dw: np.ndarray) -> np.ndarray:
    """(n, 3, 3) matrices K with K @ o = w x (w x o) + dw x o."""
    n = w.shape[0]
    K = np.zeros((n, 3, 3))
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1.0
        K[:, :, k] = _rotational_acc(w, dw, e)
    return K


def estimate_joint_position(
    gyr1: np.ndarray,
    gyr2: np.ndarray,
    acc1: np.ndarray,
    acc2: np.ndarray,
    rate_hz: float,
    j1: np.ndarray | None = None,
    j2: np.ndarray | None = None,
    max_samples: int = 4000,
    iterations: int = 30,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Position of the joint centre in each sensor frame (m) from gyroscopes (deg/s) and accelerometers
    (m/s^2) of both segments, after Seel et al. (2014): the joint centre's acceleration is the same vector seen
    from both sensors, so ``|a1 + G1(o1)| = |a2 + G2(o2)|`` with ``G(o) = w x (w x o) + dw/dt x o``; solved by
    Gauss-Newton. For a hinge (axes ``j1``, ``j2`` given) the solution slides along the axis; the point
    nearest to both sensors is returned. Also returns the RMS residual (m/s^2)."""
    w1, w2 = np.deg2rad(gyr1), np.deg2rad(gyr2)
    dw1 = np.gradient(w1, axis=0) * rate_hz
    dw2 = np.gradient(w2, axis=0) * rate_hz
    idx = select_motion_samples(gyr1, gyr2, 30.0, max_samples)
    if idx.size < 50:
        raise ValueError("too little motion to estimate a joint position")
    w1, w2, dw1, dw2 = w1[idx], w2[idx], dw1[idx], dw2[idx]
    a1, a2 = acc1[idx], acc2[idx]
    K1, K2 = _rot_acc_jacobian(w1, dw1), _rot_acc_jacobian(w2, dw2)
    x = np.zeros(6)
    x_prev = x.copy()
    lam = 1e-3
    cost = np.inf
    for _ in range(iterations):
        r1 = a1 + np.einsum("nij,j->ni", K1, x[:3])
        r2 = a2 + np.einsum("nij,j->ni", K2, x[3:])
        n1 = np.linalg.norm(r1, axis=1)
        n2 = np.linalg.norm(r2, axis=1)
        e = n1 - n2
        c = float(e @ e)
        if c > cost:
            lam *= 10
            x = x_prev
            if lam > 1e6:
                break
            continue
        cost, x_prev = c, x.copy()
        g1 = np.einsum("ni,nij->nj", r1 / np.maximum(n1, 1e-9)[:, None], K1)
        g2 = -np.einsum("ni,nij->nj", r2 / np.maximum(n2, 1e-9)[:, None], K2)
        J = np.hstack([g1, g2])
        H = J.T @ J
        step = np.linalg.solve(H + lam * np.diag(np.diag(H) + 1e-12), -J.T @ e)
        x = x + step
        lam = max(lam / 10, 1e-9)
        if np.max(np.abs(step)) < 1e-6:
            break
    o1, o2 = x_prev[:3], x_prev[3:]
    if j1 is not None and j2 is not None:
        shift = 0.5 * (np.dot(o1, j1) + np.dot(o2, j2))
        o1, o2 = o1 - shift * j1, o2 - shift * j2
    return o1, o2, float(np.sqrt(cost / idx.size))


def acceleration_at(
    acc: np.ndarray, gyr: np.ndarray, point: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """Specific force (m/s^2, sensor frame) of the point ``point`` (m, sensor frame, relative to the sensor) of
    the same rigid segment, from readings at times ``t`` (s): the sensor's reading plus the rotational part
    w x (w x r) + dw/dt x r."""
    w = np.deg2rad(gyr)
    dw = np.gradient(w, t, axis=0)
    return acc + _rotational_acc(w, dw, point)
