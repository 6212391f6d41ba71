"""Device clocks -> the session clock.

A BLE notification can arrive late (it waits for the next connection event, the host schedules it, the radio
retries) but never before the sample it carries was measured. For each notification we have the host arrival time
``a`` (s, session clock) and the device reference ``d`` (s, device clock, or sample count / rate) of the newest
sample in it, and fit ``t_session = offset + scale * d``:

- scale (drift): the Theil-Sen slope (Theil 1950; Sen 1968, "Estimates of the regression coefficient based on
  Kendall's tau", JASA 63:1379) of the least-delayed notification of each ``window_s`` window against its device
  time. Window minima ignore congestion (seconds of extra delay when the host is busy or the radio retries), the
  median of pairwise slopes ignores windows that were delayed throughout, and the slope's uncertainty (from its
  confidence interval) is shrunk towards 1 with a prior on the clock's drift (``prior_drift_ppm``), so a short
  recording does not invent a drift from delay noise;
- offset: the lower envelope of the delays (``min(a - scale * d)``), as in minimum-delay clock-offset estimation
  (Moon, Skelly & Towsley 1999, "Estimation and removal of clock skew from network delay measurements", IEEE
  INFOCOM).

Points that arrive impossibly early relative to the window-minima line are dropped before the offset is taken, so a
corrupted timestamp or a device clock reset cannot pull the envelope down.

Limit: when the packet period and the connection interval are commensurate (200 Hz samples, 30 ms interval) and the
clocks do not drift apart, packets meet the connection events at a fixed phase: the least delay can stay up to one
lattice step (``gcd`` of the two periods, at most one sample period) above zero, and that offset is unobservable
from arrival times alone.
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
    prior_drift_ppm: float = 300.0,
    max_windows: int = 400,
    min_drift_span_s: float = 10.0,
) -> ClockFit:
    """Fit ``t_arrival ~ offset + scale * t_device`` (see the module docstring).

    ``t_device``: device time (s) of the newest sample of each notification; ``t_arrival``: its host arrival time
    (s, session clock). ``prior_drift_ppm``: typical size of the clock's drift (crystal-timed device clocks: a few
    hundred ppm; sample counts timed by an IMU oscillator: up to a few percent). Drift is estimated only from
    ``min_drift_span_s`` of data on (at most ``max_windows`` windows, so the cost stays bounded).
    """
    d = np.asarray(t_device, dtype=np.float64)
    a = np.asarray(t_arrival, dtype=np.float64)
    ok = np.isfinite(d) & np.isfinite(a)
    d, a = d[ok], a[ok]
    if d.size == 0:
        raise ValueError("no points to fit a clock to")
    # relative coordinates for numerical conditioning
    d0, a0 = float(d[0]), float(a[0])
    x, y = d - d0, a - a0
    outliers = np.zeros(x.size, dtype=bool)
    scale = 1.0
    span = float(x.max() - x.min())
    if x.size >= 3 and span >= 2 * window_s:
        # at most max_windows windows: Theil-Sen is quadratic in their number
        wx, wy = window_minima(x, y, max(window_s, span / max_windows))
        if wx.size >= 3:
            slope, intercept, lo, hi = theilslopes(wy, wx, alpha=0.95)
            resid_w = wy - (intercept + slope * wx)
            mad = float(np.median(np.abs(resid_w - np.median(resid_w))))
            floor = float(np.median(resid_w)) - max(max_early_s, 5 * 1.4826 * mad)
            outliers = (y - (intercept + slope * x)) < floor
            if (
                span >= min_drift_span_s
            ):  # shorter: drift is below the delay noise, keep the nominal rate
                se2 = ((hi - lo) / (2 * 1.96)) ** 2
                tau2 = (prior_drift_ppm * 1e-6) ** 2
                scale = 1.0 + (float(slope) - 1.0) * tau2 / (tau2 + se2)
    xk, yk = x[~outliers], y[~outliers]
    delays = yk - scale * xk
    intercept = float(np.min(delays))
    delay = float(np.median(delays - intercept))
    offset = a0 + intercept - scale * d0
    return ClockFit(offset, scale, int(d.size), int(outliers.sum()), delay)
