"""Signal utilities: sample intervals, gaps, saturation, resampling. Arrays in, arrays out; times in s."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

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


def saturation_mask(
    x: np.ndarray, full_scale: float | None = None, min_level: float = 0.0
) -> np.ndarray:
    """Samples (n,) where any axis of ``x`` (n, 3) is clipped at the sensor's range.

    With a known ``full_scale`` (same unit as ``x``) a sample is saturated at >= 99% of it. Without one, clipping
    is recognised from the data: an axis that holds exactly its own extreme value (which must exceed
    ``min_level``) for at least two consecutive samples, as a clipping ADC does; a smooth peak never repeats
    its maximum exactly.
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
        at_peak = ax[:, k] >= peak * (1 - 1e-9)
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


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (forward-backward, so the effective order doubles).

    Returns ``x`` unchanged (as float) when the cutoff is at or above Nyquist or the signal is too short.
    """
    from scipy.signal import sosfiltfilt

    x = np.asarray(x, dtype=np.float64)
    nyq = 0.5 * rate_hz
    if cutoff_hz >= 0.95 * nyq or x.shape[0] < 3 * (2 * order + 1):
        return x.copy()
    return sosfiltfilt(_butter_sos(order, cutoff_hz / nyq).copy(), x, axis=0)


@lru_cache(maxsize=64)
def _butter_sos(order: int, wn: float) -> np.ndarray:
    """Butterworth low-pass sections, designed once per (order, cutoff): the design costs more than filtering
    a few seconds of signal. Read-only; callers pass a copy (scipy's filter wants a writable buffer)."""
    from scipy.signal import butter

    sos = butter(order, wn, output="sos")
    sos.flags.writeable = False
    return sos


def moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over ``n`` samples along axis 0 (edges use the samples available).

    Each output sums its own ``n`` inputs (no running sum over the whole array), so a sample's value does not
    depend on where the array starts: a window of a stream gives bit-identical results to the whole stream
    (the online analyzer relies on this)."""
    x = np.asarray(x, dtype=np.float64)
    if n <= 1 or x.shape[0] == 0:
        return x.copy()
    m = x.shape[0]
    lo_pad, hi_pad = n // 2, n - 1 - n // 2
    pad = np.zeros((lo_pad + m + hi_pad, *x.shape[1:]))
    pad[lo_pad : lo_pad + m] = x
    total = np.zeros_like(x)
    for k in range(n):
        total += pad[k : k + m]
    i = np.arange(m)
    lo = np.clip(i - n // 2, 0, m)
    hi = np.clip(i - n // 2 + n, 0, m)
    cnt = (hi - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return total / cnt


def repair_clipped(
    x: np.ndarray, full_scale: float, max_run: int = 25
) -> tuple[np.ndarray, np.ndarray]:
    """Bridge samples clipped at ``full_scale`` (same unit as ``x``, shape (n, k)) with a cubic estimate.

    Each axis is treated on its own: runs of samples with ``|x| >= 0.99 * full_scale`` (at most ``max_run`` long)
    are replaced by a cubic spline through three unclipped neighbours on each side, kept only where it exceeds the
    clip level (a clipped value can only have been larger). A clipped heel-strike impact then keeps a plausible
    peak shape instead of a flat top. Returns the repaired copy and the (n,) mask of samples that were clipped.
    """
    from scipy.interpolate import CubicSpline

    x = np.asarray(x, dtype=np.float64).copy()
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    clip = np.abs(x) >= 0.99 * full_scale
    n = x.shape[0]
    for k in range(x.shape[1]):
        m = clip[:, k]
        if not m.any():
            continue
        edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            support = np.concatenate([np.arange(max(a - 3, 0), a), np.arange(b, min(b + 3, n))])
            if b - a > max_run or support.size < 4:
                continue
            est = CubicSpline(support, x[support, k])(np.arange(a, b))
            seg = x[a:b, k]
            x[a:b, k] = np.where(np.abs(est) > np.abs(seg), est, seg)
    mask = clip.any(axis=1)
    return (x[:, 0] if squeeze else x), mask


def to_uniform(
    t: np.ndarray,
    values: np.ndarray,
    rate_hz: float,
    max_gap_s: float | None = None,
    grid_origin: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate irregular samples onto a uniform clock from ``t[0]`` at ``rate_hz``, bridging gaps.

    Unlike :func:`resample_uniform` the grid stays uniform (the pipeline indexes samples by time): gaps longer
    than ``max_gap_s`` (default 3 nominal periods) are bridged linearly and reported in the returned (m,) mask,
    so the strides that overlap them can be flagged. Returns (grid, values (m, k), gap_mask).
    ``grid_origin`` (s): put the grid on ``grid_origin + k / rate_hz`` instead (from the first such time at or
    after ``t[0]``), so that a window of a stream lands on the same grid as the whole stream.
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    v2 = v[:, None] if v.ndim == 1 else v
    if grid_origin is None:
        grid = uniform_grid(t[0], t[-1], rate_hz)
    else:
        k0 = np.ceil((t[0] - grid_origin) * rate_hz - 1e-6)
        k1 = np.floor((t[-1] - grid_origin) * rate_hz + 1e-6)
        grid = grid_origin + np.arange(k0, k1 + 1) / rate_hz
    period = np.diff(t)
    # copy only when the samples are exactly on the grid; nearly regular clocks (drift, jitter) are interpolated,
    # so that a window of a stream and the whole stream get the same values (online analysis relies on this)
    regular = t.size == grid.size and np.array_equal(t, grid)
    out = (
        v2.copy()
        if regular
        else np.column_stack([np.interp(grid, t, v2[:, k]) for k in range(v2.shape[1])])
    )
    gap = np.zeros(grid.size, dtype=bool)
    limit = max_gap_s if max_gap_s is not None else 3.0 / rate_hz
    for i in np.flatnonzero(period > limit):
        gap[(grid > t[i]) & (grid < t[i + 1])] = True
    return grid, (out[:, 0] if v.ndim == 1 else out), gap


class PreparedImu(NamedTuple):
    """One sensor on a uniform clock: ``t`` (n,) s, ``acc`` (n, 3) m/s^2, ``gyr`` (n, 3) deg/s; ``gap`` (n,)
    samples bridged over missing data, ``gap_intervals`` (k, 2) s; ``acc_clipped``/``gyr_clipped`` (n,) samples
    at full scale (repaired by :func:`repair_clipped`), ``saturated`` their union."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    rate_hz: float
    gap: np.ndarray
    gap_intervals: np.ndarray
    acc_clipped: np.ndarray
    gyr_clipped: np.ndarray
    saturated: np.ndarray


def prepare_imu(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float | None = None,
    acc_full_scale: float | None = None,
    gyr_full_scale: float | None = None,
    grid_origin: float | None = None,
) -> PreparedImu:
    """Uniform clock, gap marking and clipped-sample repair for one sensor (units m/s^2, deg/s).

    The rate is ``rate_hz`` when it agrees with the timestamps within 2%, else the effective rate. Without a
    known full scale, clipping is recognised from the data (an axis sitting at its own extreme, above 8 g or
    1000 deg/s). ``grid_origin``: see :func:`to_uniform`; with it, ``rate_hz`` is used as given.
    """
    if grid_origin is None:
        eff = effective_rate(t)
        rate = rate_hz if rate_hz and abs(rate_hz - eff) <= 0.02 * eff else eff
    else:
        rate = float(rate_hz)
    grid, vals, gap = to_uniform(t, np.column_stack([acc, gyr]), rate, grid_origin=grid_origin)
    a, g = vals[:, :3], vals[:, 3:]
    a, a_clip = _repair_axes(a, acc_full_scale, 8.0 * GRAVITY)
    g, g_clip = _repair_axes(g, gyr_full_scale, 1000.0)
    return PreparedImu(
        grid, a, g, rate, gap, find_gaps(t, rate, 3.0), a_clip, g_clip, a_clip | g_clip
    )


def _repair_axes(
    x: np.ndarray, full_scale: float | None, min_level: float
) -> tuple[np.ndarray, np.ndarray]:
    if full_scale is not None:
        return repair_clipped(x, full_scale)
    mask = np.zeros(x.shape[0], dtype=bool)
    out = x.copy()
    for k in range(x.shape[1]):
        if not saturation_mask(x[:, k], None, min_level).any():
            continue
        out[:, k], m = repair_clipped(x[:, k], float(np.abs(x[:, k]).max()))
        mask |= m
    return out, mask
