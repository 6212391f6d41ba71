"""Device clocks -> the session clock.

A BLE notification can arrive late (it waits for the next connection event, the host schedules it, the radio
retries) but never before the sample it carries was measured. So for each notification the host arrival time ``a``
(s, session clock) and the device time ``d`` (s, device clock) of the newest sample in it satisfy
``a >= alpha + beta * d``, with equality for a notification that met no delay at all. The clock map is the line
under all points that hugs them most closely: the lower convex hull edge that minimises the summed delay. This is
the linear-programming skew estimator of Moon, Skelly & Towsley (1999), "Estimation and removal of clock skew from
network delay measurements", IEEE INFOCOM; it estimates offset and drift (``beta - 1``) together.

Robustness: points that arrive impossibly early relative to a robust (Theil-Sen) line through per-window minima are
dropped first (a corrupted timestamp or a device clock reset must not pull the envelope down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import theilslopes


@dataclass(frozen=True)
class ClockFit:
    """``t_session = offset + scale * t_device``; ``delay_s`` = median arrival delay above the fitted envelope."""

    offset: float
    scale: float
    n_points: int
    n_outliers: int = 0
    delay_s: float = 0.0

    @property
    def drift_ppm(self) -> float:
        """How much faster (+) the session clock runs than the device clock, ppm."""
        return (self.scale - 1.0) * 1e6

    def __call__(self, t_device: np.ndarray | float) -> np.ndarray:
        return self.offset + self.scale * np.asarray(t_device, dtype=np.float64)


def lower_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the lower convex hull of points sorted by ``x`` (Andrew's monotone chain), left to right."""
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            cross = (x[i1] - x[i0]) * (y[i] - y[i0]) - (y[i1] - y[i0]) * (x[i] - x[i0])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return np.asarray(hull, dtype=np.int64)


def envelope_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the line below all points minimising the summed vertical distance.

    The optimum is the lower-hull edge spanning mean(x) (the LP's objective is the line's height at mean(x)).
    """
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    # equal x: only the lowest y matters for a lower envelope
    keep = np.ones(len(xs), dtype=bool)
    keep[1:] = xs[1:] != xs[:-1]
    first = np.flatnonzero(keep)
    ys = np.minimum.reduceat(ys, first)
    xs = xs[first]
    if len(xs) == 1:
        return float(ys[0] - xs[0]), 1.0
    hull = lower_hull(xs, ys)
    xm = float(np.mean(x))
    k = int(np.searchsorted(xs[hull], xm, side="right")) - 1
    k = min(max(k, 0), len(hull) - 2)
    i0, i1 = hull[k], hull[k + 1]
    slope = float((ys[i1] - ys[i0]) / (xs[i1] - xs[i0]))
    return float(ys[i0] - slope * xs[i0]), slope


def window_minima(x: np.ndarray, y: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """For windows of ``window`` along x, the point with the smallest ``y - x`` (least delay at nominal rate)."""
    bins = np.floor((x - x.min()) / window).astype(np.int64)
    r = y - x
    order = np.lexsort((r, bins))
    first = order[np.concatenate([[True], bins[order][1:] != bins[order][:-1]])]
    return x[first], y[first]


def fit_clock(
    t_device: np.ndarray,
    t_arrival: np.ndarray,
    *,
    window_s: float = 1.0,
    max_early_s: float = 0.005,
    max_drift: float = 0.05,
) -> ClockFit:
    """Fit ``t_arrival ~ offset + scale * t_device`` along the lower envelope of arrival delays.

    ``t_device``: device time (s) of the newest sample of each notification; ``t_arrival``: its host arrival time
    (s, session clock). Needs points spanning at least two windows to estimate drift; with fewer, the drift is
    taken as zero. ``max_drift``: a slope further than this from 1 is not believed (fall back to 1).
    """
    d = np.asarray(t_device, dtype=np.float64)
    a = np.asarray(t_arrival, dtype=np.float64)
    ok = np.isfinite(d) & np.isfinite(a)
    d, a = d[ok], a[ok]
    if d.size == 0:
        raise ValueError("no points to fit a clock to")
    # fit in coordinates relative to the first point for numerical conditioning
    d0, a0 = float(d[0]), float(a[0])
    x, y = d - d0, a - a0
    outliers = np.zeros(x.size, dtype=bool)
    if x.size >= 2 and x.max() - x.min() >= 2 * window_s:
        wx, wy = window_minima(x, y, window_s)
        if wx.size >= 3:
            slope, intercept, _, _ = theilslopes(wy, wx)
            resid_w = wy - (intercept + slope * wx)
            mad = float(np.median(np.abs(resid_w - np.median(resid_w))))
            floor = float(np.median(resid_w)) - max(max_early_s, 5 * 1.4826 * mad)
            outliers = (y - (intercept + slope * x)) < floor
    xk, yk = x[~outliers], y[~outliers]
    if xk.size >= 2 and xk.max() - xk.min() >= 2 * window_s:
        intercept, slope = envelope_line(xk, yk)
        if abs(slope - 1.0) > max_drift:
            slope = 1.0
            intercept = float(np.min(yk - xk))
    else:
        slope = 1.0
        intercept = float(np.min(yk - xk))
    delay = float(np.median(yk - (intercept + slope * xk)))
    offset = a0 + intercept - slope * d0
    return ClockFit(offset, slope, int(d.size), int(outliers.sum()), delay)
