"""Smooth scalar profiles used to shape the simulated motion. All are C2 where they join other pieces."""

from __future__ import annotations

import numpy as np


def smoothstep5(u: np.ndarray) -> np.ndarray:
    """0 -> 1 on u in [0, 1] with zero first and second derivatives at both ends (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def bump(x: np.ndarray) -> np.ndarray:
    """(1 - x^2)^3 on |x| < 1, else 0: a C2 bump of height 1 at x = 0."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.abs(x) < 1.0, (1.0 - np.minimum(x * x, 1.0)) ** 3, 0.0)


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
    """1 -> 0 on [0, 1]: initial slope -1.5, zero slope and curvature at u = 1 (joins the flat foot C2)."""
    return (1.0 - u) ** 3 * (1.0 + 1.5 * u)


def toe_rocker(u: np.ndarray, end_slope: float = 2.5) -> np.ndarray:
    """0 -> 1 on [0, 1]: zero slope and curvature at u = 0 (leaves the flat foot C2), slope ``end_slope`` at 1."""
    return u**3 * ((4.0 - end_slope) + (end_slope - 3.0) * u)


def rise(u: np.ndarray, start_slope: float = 2.0) -> np.ndarray:
    """0 -> 1 on [0, 1] with slope ``start_slope`` at 0 and zero slope and curvature at 1."""
    a = 3.0 - start_slope
    return 1.0 - (1.0 - u) ** 3 * (1.0 + a * u)


def softmin(values: list[np.ndarray], k: float) -> np.ndarray:
    """Smooth minimum -k log(sum exp(-v/k)), never above the true minimum (by at most k log n)."""
    v = np.stack(values)
    m = v.min(axis=0)
    return m - k * np.log(np.exp(-(v - m) / k).sum(axis=0))
