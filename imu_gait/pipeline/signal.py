"""Signal utilities: sample intervals, gaps, saturation, resampling. Arrays in, arrays out; times in s."""

from __future__ import annotations

import numpy as np

GRAVITY = 9.80665  # m/s^2, standard gravity


def effective_rate(t: np.ndarray) -> float:
    """Sampling rate from the median interval of timestamps ``t`` (s), in Hz; 0 for fewer than 2 samples."""
    if t.size < 2:
        return 0.0
    return float(1.0 / np.median(np.diff(t)))


def find_gaps(t: np.ndarray, rate_hz: float | None = None, factor: float = 1.5) -> np.ndarray:
    """Intervals where samples are missing: (k, 2) array of [t_before, t_after] pairs, s.

    A gap is a sample interval longer than ``factor`` nominal periods (nominal = ``1/rate_hz``, or the median
    interval when no rate is given).
    """
    if t.size < 2:
        return np.empty((0, 2))
    dt = np.diff(t)
    period = 1.0 / rate_hz if rate_hz else float(np.median(dt))
    idx = np.flatnonzero(dt > factor * period)
    return np.column_stack([t[idx], t[idx + 1]]) if idx.size else np.empty((0, 2))


def saturation_mask(x: np.ndarray, full_scale: float | None = None, min_level: float = 0.0) -> np.ndarray:
    """Samples (n,) where any axis of ``x`` (n, 3) is clipped at the sensor's range.

    With a known ``full_scale`` (same unit as ``x``) a sample is saturated at >= 99% of it. Without one, clipping
    is recognised from the data: an axis that sits at its own extreme value (|x| >= 99.9% of its max, which must
    exceed ``min_level``) for at least two consecutive samples.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    mask = np.zeros(x.shape[0], dtype=bool)
    if x.shape[0] == 0:
        return mask
    ax = np.abs(x)
    if full_scale is not None:
        return (ax >= 0.99 * full_scale).any(axis=1)
    for k in range(x.shape[1]):
        peak = ax[:, k].max()
        if peak <= min_level:
            continue
        at_peak = ax[:, k] >= 0.999 * peak
        run = at_peak[1:] & at_peak[:-1]
        if run.any():
            m = np.zeros_like(at_peak)
            m[1:] |= run
            m[:-1] |= run
            mask |= m
    return mask


def uniform_grid(t0: float, t1: float, rate_hz: float) -> np.ndarray:
    """Times t0, t0 + 1/rate, ... up to and including t1 (within a 1e-9 s tolerance)."""
    n = int(np.floor((t1 - t0) * rate_hz + 1e-9)) + 1
    return t0 + np.arange(max(n, 0)) / rate_hz


def resample_uniform(
    t: np.ndarray, values: np.ndarray, rate_hz: float, max_gap_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate samples at irregular times ``t`` onto a uniform clock at ``rate_hz``.

    ``values`` is (n,) or (n, k). Grid points inside a gap longer than ``max_gap_s`` (default: 5 nominal periods)
    are left out, so gaps stay gaps instead of being bridged by straight lines. Repeated timestamps are merged
    (their mean). Returns the new times and values.
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    squeeze = v.ndim == 1
    if squeeze:
        v = v[:, None]
    if t.size != v.shape[0]:
        raise ValueError("t and values differ in length")
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    uniq, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    if uniq.size != t.size:
        sums = np.zeros((uniq.size, v.shape[1]))
        np.add.at(sums, inverse, v)
        t, v = uniq, sums / counts[:, None]
    if t.size < 2:
        raise ValueError("need at least two distinct timestamps to resample")
    grid = uniform_grid(t[0], t[-1], rate_hz)
    out = np.column_stack([np.interp(grid, t, v[:, k]) for k in range(v.shape[1])])
    limit = max_gap_s if max_gap_s is not None else 5.0 / rate_hz
    gaps = find_gaps(t, factor=1.0, rate_hz=1.0 / limit)
    if gaps.size:
        keep = np.ones(grid.size, dtype=bool)
        for a, b in gaps:
            keep &= ~((grid > a) & (grid < b))
        grid, out = grid[keep], out[keep]
    return grid, (out[:, 0] if squeeze else out)
