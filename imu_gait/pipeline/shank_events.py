"""Gait events from a shank sensor alone (used when there are no foot sensors).

Salarian et al. (2004, IEEE TBME 51:1434) and Greene et al. (2010/2012, J Appl Biomech 28:349): the shank's
sagittal angular rate has a large peak in mid-swing (the shank swings forward); initial contact is the first
minimum after that peak, final contact the minimum before it.

That minimum comes with the terminal-swing deceleration of the shank, before the foot lands (about 70 ms early
in simulated walking). With the shank's accelerometer, initial contact is instead the onset of the foot-strike
impact transmitted up the shank (the same impact signal and onset rule as for the foot, :mod:`.strides`): the
first clear impact from 20 ms before that minimum to 40 % of a stride after mid-swing; without one, the rate
minimum stays.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.signal import butter, find_peaks, sosfiltfilt

from imu_gait.columns import STRIDE_KEY_COLUMNS
from imu_gait.pipeline.strides import impact_signal

ACTIVITY_LABELS = ("walk", "stairs_up", "stairs_down", "run")


def _lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    sos = butter(2, min(cutoff_hz, 0.45 * rate_hz), fs=rate_hz, output="sos")
    return sosfiltfilt(sos, x)


def impact_onset(impact: np.ndarray, lo: int, hi: int) -> float:
    """Fractional sample of the first clear impact in ``impact[lo:hi]`` (:func:`.strides.impact_signal`), or
    NaN. As for the foot: the window's peak must reach 5x its median; the impact is the first run of at least
    two samples at a quarter of the peak (and 3x the median), its onset half a sample before its first sample's
    centred second difference reacts (one sample early)."""
    win = impact[lo:hi]
    if win.size < 4:
        return float("nan")
    base = max(float(np.median(win)), 1e-9)
    peak = float(win.max())
    if peak < 5.0 * base:
        return float("nan")
    above = win >= max(0.25 * peak, 3.0 * base)
    runs = np.flatnonzero(above[:-1] & above[1:])
    return float(lo + runs[0] + 0.5) if runs.size else float("nan")


def shank_events(
    t: np.ndarray,
    swing_rate: np.ndarray,
    min_peak_dps: float = 80.0,
    acc: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mid-swing, initial-contact and final-contact times (s) of one shank.

    ``swing_rate`` (deg/s) is the shank's angular rate about its mediolateral axis, positive when the shank
    swings forward (i.e. minus the rate about the segment's +y axis). ``acc`` (n, 3) m/s^2, the shank's
    accelerometer: initial contact from the foot-strike impact (see the module docstring). Returns arrays of
    equal length, one entry per mid-swing peak (NaN where an event was not found).
    """
    rate = 1.0 / float(np.median(np.diff(t)))
    smooth = _lowpass(swing_rate, rate, 4.0)
    fine = _lowpass(swing_rate, rate, 15.0)
    height = max(min_peak_dps, 0.35 * float(np.percentile(smooth, 99)))
    peaks, _ = find_peaks(
        smooth, height=height, distance=max(1, int(0.45 * rate)), prominence=height
    )
    if peaks.size == 0:
        empty = np.empty(0)
        return empty, empty, empty
    period = float(np.median(np.diff(peaks))) / rate if peaks.size > 1 else 1.0
    period = float(np.clip(period, 0.5, 2.0))
    ic = np.full(peaks.size, np.nan)
    fc = np.full(peaks.size, np.nan)
    impact = impact_signal(acc, rate) if acc is not None else None
    for k, p in enumerate(peaks):
        hi = min(t.size, p + int(0.4 * period * rate))
        seg = -fine[p:hi]
        if seg.size > 2:
            mins, _ = find_peaks(seg, prominence=10.0)
            first = mins[0] if mins.size else int(np.argmax(seg))
            ic[k] = t[p + first]
            # the foot lands after the shank's terminal-swing deceleration (the rate minimum): an earlier
            # transient is no contact
            lo = max(p, p + first - round(0.02 * rate))
            onset = impact_onset(impact, lo, hi) if impact is not None else np.nan
            if np.isfinite(onset):
                ic[k] = float(np.interp(onset, np.arange(t.size), t))
        lo = max(0, p - int(0.45 * period * rate))
        seg = fine[lo:p]
        if seg.size > 2:
            # the negative minimum nearest before mid-swing (push-off), not an earlier stance dip
            mins, _ = find_peaks(-seg, prominence=10.0)
            mins = mins[seg[mins] < 0]
            last = mins[-1] if mins.size else int(np.argmin(seg))
            fc[k] = t[lo + last]
    return t[peaks], ic, fc


def activity_at(events: list[dict], t0: float, t1: float, stance_fraction: float) -> str:
    """Activity of a stride from the session's labelled segments (the label covering its midpoint), else
    running when stance is shorter than 45 % of the stride, else walking."""
    mid = 0.5 * (t0 + t1)
    for ev in events:
        if "t_end" in ev and ev.get("label") in ACTIVITY_LABELS and ev["t"] <= mid <= ev["t_end"]:
            return str(ev["label"])
    if any("t_end" in ev and ev["t"] <= mid <= ev["t_end"] for ev in events):
        return "other"
    return "run" if stance_fraction < 0.45 else "walk"


def strides_from_events(
    side: str, ic: np.ndarray, fc: np.ndarray, events: list[dict] | None = None
) -> pd.DataFrame:
    """Strides (IC to next IC of the same shank, with the FC between) as a strides.csv-like table."""
    ic = np.sort(ic[np.isfinite(ic)])
    fc = np.sort(fc[np.isfinite(fc)])
    rows = []
    for a, b in itertools.pairwise(ic):
        duration = b - a
        between = fc[(fc > a) & (fc < b)]
        if not (0.4 <= duration <= 2.5) or between.size != 1:
            continue
        f = float(between[0])
        activity = activity_at(events or [], a, b, (f - a) / duration)
        rows.append({"side": side, "activity": activity, "ic": a, "fc": f, "end": b})
    df = pd.DataFrame(rows, columns=["side", "activity", "ic", "fc", "end"])
    df.insert(1, "stride", np.arange(len(df), dtype=int))
    return df[list(STRIDE_KEY_COLUMNS)]
