"""Smooth scalar profiles used to shape the simulated motion. All are C2 where they join other pieces."""

from __future__ import annotations

import numpy as np


def smoothstep5(u: np.ndarray) -> np.ndarray:
    """0 -> 1 on u in [0, 1] with zero first and second derivatives at both ends (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def skew_bump(x: np.ndarray, peak: float) -> np.ndarray:
    """A C2 bump on [0, 1], 0 outside, peaking with height 1 at ``peak`` (0 < peak < 1)."""
    x = np.asarray(x, dtype=np.float64)
    a = 3.0
    c = a * (1.0 - peak) / peak
    if c < 3.0:
        c = 3.0
        a = c * peak / (1.0 - peak)
    inside = (x > 0.0) & (x < 1.0)
    xc = np.clip(x, 0.0, 1.0)
    v = xc**a * (1.0 - xc) ** c / (peak**a * (1.0 - peak) ** c)
    return np.where(inside, v, 0.0)


def heel_rocker(u: np.ndarray) -> np.ndarray:
    """1 -> 0 on [0, 1] with zero slope and curvature at both ends (the foot starts rotating at contact)."""
    return 1.0 - u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def toe_rocker(u: np.ndarray, end_slope: float = 2.5) -> np.ndarray:
    """0 -> 1 on [0, 1]: zero slope and curvature at u = 0 (leaves the flat foot C2), slope ``end_slope`` at 1."""
    return u**3 * ((4.0 - end_slope) + (end_slope - 3.0) * u)


def rise(u: np.ndarray, start_slope: float = 2.0) -> np.ndarray:
    """0 -> 1 on [0, 1] with slope ``start_slope`` at 0 and zero slope and curvature at 1."""
    a = 3.0 - start_slope
    return 1.0 - (1.0 - u) ** 3 * (1.0 + a * u)


class QuinticHermite:
    """Piecewise quintic through knots ``x`` (m,) with values, first and second derivatives ``y`` (m, 3, k):
    C2 everywhere, vectorised evaluation (outside the knots it extrapolates the end pieces)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        if self.x.ndim != 1 or self.x.size < 2 or not (np.diff(self.x) > 0).all():
            raise ValueError("knots must be strictly increasing, at least two")

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        i = np.clip(np.searchsorted(self.x, t, side="right") - 1, 0, self.x.size - 2)
        h = self.x[i + 1] - self.x[i]
        s = (t - self.x[i]) / h
        s2 = s * s
        s3 = s2 * s
        s4 = s3 * s
        s5 = s4 * s
        b0 = 1 - 10 * s3 + 15 * s4 - 6 * s5
        b1 = (s - 6 * s3 + 8 * s4 - 3 * s5) * h
        b2 = (0.5 * s2 - 1.5 * s3 + 1.5 * s4 - 0.5 * s5) * h * h
        b3 = (0.5 * s3 - s4 + 0.5 * s5) * h * h
        b4 = (-4 * s3 + 7 * s4 - 3 * s5) * h
        b5 = 10 * s3 - 15 * s4 + 6 * s5
        y0, y1 = self.y[i], self.y[i + 1]  # (n, 3, k)
        return (
            b0[:, None] * y0[:, 0]
            + b1[:, None] * y0[:, 1]
            + b2[:, None] * y0[:, 2]
            + b3[:, None] * y1[:, 2]
            + b4[:, None] * y1[:, 1]
            + b5[:, None] * y1[:, 0]
        )


class UniformBSpline:
    """A C2 cubic B-spline whose control points are samples ``y`` (n, k) on the uniform grid t0 + i*dt.

    It approximates the samples (a mild low-pass: a sinusoid of period P keeps 1 - (2 pi dt / P)^2 / 6 of its
    amplitude) rather than interpolating them, which makes construction free for long sessions."""

    def __init__(self, t0: float, dt: float, y: np.ndarray) -> None:
        self.t0, self.dt = float(t0), float(dt)
        y = np.asarray(y, dtype=float)
        self.y = np.concatenate(
            [y[:1], y, y[-1:], y[-1:]]
        )  # pad so that every piece has 4 control points

    def __call__(self, t: np.ndarray) -> np.ndarray:
        x = (np.asarray(t, dtype=float) - self.t0) / self.dt
        i = np.clip(np.floor(x).astype(np.int64), 0, self.y.shape[0] - 4)
        u = (x - i)[:, None]
        u2 = u * u
        u3 = u2 * u
        b0 = (1 - u) ** 3 / 6.0
        b1 = (3 * u3 - 6 * u2 + 4) / 6.0
        b2 = (-3 * u3 + 3 * u2 + 3 * u + 1) / 6.0
        b3 = u3 / 6.0
        y = self.y
        return b0 * y[i] + b1 * y[i + 1] + b2 * y[i + 2] + b3 * y[i + 3]
