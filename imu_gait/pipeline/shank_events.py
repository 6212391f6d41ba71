"""Gait events from a shank sensor alone (used when there are no foot sensors).

Salarian et al. (2004, IEEE TBME 51:1434) and Greene et al. (2010/2012, J Appl Biomech 28:349): the shank's
sagittal angular rate has a large peak in mid-swing (the shank swings forward); initial contact is the first
minimum after that peak, final contact the minimum before it.

That minimum is not the contact. A leg that brakes in the air reaches it before the foot lands (about 70 ms early
in simulated walking); a foot that lands still moving (running: ~2 m/s forward and 0.5-1 m/s down) is stopped by
the ground, which turns the shank back further, so the minimum falls 40-60 ms after contact. With the shank's
accelerometer, initial contact is the onset of the foot-strike shock transmitted up the shank, searched from
20 ms before the end of the shank's late-swing braking (its rate minimum, or where its deceleration eases off
before the ground's starts) to 40 % of a stride after mid-swing: the strongest shock along the shank's long axis
identifies it (tibial shock; the swing's own transients are mostly across the shank) among the transients that
push the shank up along its axis first (a leg slowing its lift before it lands on a stair dips instead), the full
acceleration vector times its onset (:func:`.strides.impact_signal`, the foot's impact signal). Without an accelerometer or a
clear shock, contact is the end of the late-swing braking.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.signal import butter, find_peaks, sosfiltfilt

from imu_gait.columns import STRIDE_KEY_COLUMNS
from imu_gait.pipeline.strides import impact_signal

ACTIVITY_LABELS = ("walk", "stairs_up", "stairs_down", "run")
MIN_SWING_S = 0.15  # s, shortest swing (toe-off to contact): sprinting takes about 0.25 s


def _lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    sos = butter(2, min(cutoff_hz, 0.45 * rate_hz), fs=rate_hz, output="sos")
    return sosfiltfilt(sos, x)


def impact_onset(impact: np.ndarray, lo: int, hi: int) -> float:
    """Fractional sample of the first clear impact in ``impact[lo:hi]`` (:func:`.strides.impact_signal`), or
    NaN. As for the foot: the window's peak must reach 5x its median; the impact is the first run of at least
    two samples at a quarter of the peak (and 3x the median), its onset half a sample before its first sample's
    centred second difference reacts (one sample early). ``lo`` is the earliest possible contact: a run already
    under way there began before it, in the swing, and is skipped."""
    win = impact[lo:hi]
    if win.size < 4:
        return float("nan")
    base = max(float(np.median(win)), 1e-9)
    peak = float(win.max())
    if peak < 5.0 * base:
        return float("nan")
    level = max(0.25 * peak, 3.0 * base)
    above = win >= level
    if above[0] and lo > 0 and impact[lo - 1] >= level:
        below = np.flatnonzero(~above)
        return impact_onset(impact, lo + int(below[0]), hi) if below.size else float("nan")
    runs = np.flatnonzero(above[:-1] & above[1:])
    return float(lo + runs[0] + 0.5) if runs.size else float("nan")


def axial_impact_signal(acc: np.ndarray, rate_hz: float, axis: np.ndarray) -> np.ndarray:
    """:func:`.strides.impact_signal` of the acceleration (n, 3) along the unit vector ``axis`` (the shank's long
    axis in the sensor frame), m/s^4, (n,).

    The foot-strike shock travels up the tibia along its long axis (tibial shock), while the swing's sharp
    changes of angular rate (terminal knee extension) accelerate the sensor across the shank (tangentially), so
    the axial component keeps the impact and drops most of those transients, which matters most at 100 Hz, where
    the impact's second difference is weak."""
    return impact_signal((acc @ axis)[:, None], rate_hz)


def long_axis(acc: np.ndarray) -> np.ndarray | None:
    """Unit vector of the median acceleration (n, 3) over gait, in the sensor frame: gravity, close to the
    shank's long axis (the shank tilts about +-20 deg in walking, so a transverse transient leaks in by at most
    ~1/3), or None without a usable direction."""
    up = np.nanmedian(acc, axis=0)
    norm = float(np.linalg.norm(up))
    return up / norm if np.isfinite(norm) and norm > 1.0 else None


def _end_of_swing_braking(fine: np.ndarray, rate_hz: float) -> int:
    """Index in ``fine`` (the swing rate, deg/s, from the mid-swing peak to the first rate minimum after it)
    where the shank's late-swing deceleration ends: the first sample after the steepest deceleration where the
    rate stops falling (the rate minimum itself, for a leg that brakes before contact) or falls least (a local
    maximum of its derivative, for a foot still moving at contact that the ground stops: the swing's
    deceleration eases off before contact and the ground's starts)."""
    if fine.size < 4:
        return fine.size - 1
    d = np.gradient(fine) * rate_hz
    # the first clear deceleration peak, not the steepest: where the swing's deceleration is mild (gait
    # initiation), the ground's after contact can be steeper
    brakes, _ = find_peaks(-d, prominence=0.2 * max(-float(d.min()), 1e-9))
    steep = int(brakes[0]) if brakes.size else int(np.argmin(d))
    for j in range(steep + 1, d.size - 1):
        if d[j] >= 0.0 or (d[j] >= d[j - 1] and d[j] > d[j + 1]):
            return j
    return fine.size - 1


def _rises_first(along: np.ndarray, i: int, rate_hz: float) -> bool:
    """Whether the acceleration along the shank's long axis (m/s^2, up positive) first moves up from the sample
    before ``i``: the first of the next 30 ms' samples that departs by half the largest departure is above it. A
    foot-strike shock pushes the shank up along its axis; a leg that slows its lift in the air before it lands
    on a stair shows a sharp dip instead (simulated stair ascent at 100 Hz: taken for the contact 65-95 ms
    early)."""
    dev = along[i : i + max(2, round(0.03 * rate_hz)) + 1] - float(along[max(i - 1, 0)])
    if dev.size == 0:
        return False
    big = np.flatnonzero(np.abs(dev) >= 0.5 * float(np.abs(dev).max()))
    return bool(dev[big[0]] > 0)


def strongest_impact_onset(
    impact: np.ndarray, lo: int, hi: int, rate_hz: float, along: np.ndarray | None = None
) -> float:
    """Fractional sample where the strongest impact in ``impact[lo:hi]`` starts, or NaN without a clear one.
    As in :func:`impact_onset`, the window's peak must reach 5x its median and an impact is at least two samples
    at a quarter of the peak (and 3x the median), here grouped across gaps of up to 10 ms (the lobes of a
    ringing shock); the onset is the first sample of the group with the highest peak plus half a sample."""
    win = impact[lo:hi]
    if win.size < 4:
        return float("nan")
    base = max(float(np.median(win)), 1e-9)
    if win.max() < 5.0 * base:
        return float("nan")
    above = np.flatnonzero(win >= max(0.25 * float(win.max()), 3.0 * base))
    groups = np.split(above, np.flatnonzero(np.diff(above) > max(1, round(0.01 * rate_hz))) + 1)
    groups = [g for g in groups if g.size >= 2]
    if along is not None:
        rising = [g for g in groups if _rises_first(along, lo + int(g[0]), rate_hz)]
        groups = rising or groups
    if not groups:
        return float("nan")
    best = max(groups, key=lambda g: float(win[g].max()))
    return float(lo + best[0] + 0.5)


def _contact_onset(
    axial: np.ndarray,
    full: np.ndarray,
    lo: int,
    hi: int,
    rate_hz: float,
    along: np.ndarray | None = None,
) -> float:
    """Onset (fractional sample) of the foot-strike impact in [lo, hi): the strongest shock along the shank
    (:func:`axial_impact_signal`; the tibial shock is the largest axial transient of a stride) identifies it, and
    the full vector's (:func:`.strides.impact_signal`) first clear impact up to 20 ms before it times it when
    earlier (a foot landing still moving forward is stopped across the shank too, before the axial shock builds
    up)."""
    onset = strongest_impact_onset(axial, lo, hi, rate_hz, along)
    if not np.isfinite(onset):
        return onset
    early = impact_onset(full, max(lo, int(onset) - round(0.02 * rate_hz)), hi)
    return early if np.isfinite(early) and early < onset else onset


def _swing_peaks(smooth: np.ndarray, peaks: np.ndarray, rate_hz: float) -> np.ndarray:
    """The candidate peaks of the swing rate (deg/s) that are mid-swing: a swing starts at toe-off, where the
    shank turns back fast (push-off), so the rate since the previous mid-swing (or in the 0.6 s before the first)
    must go down to at least -0.15x the peak. A stance peak (the shank turning forward while the knee extends,
    stair ascent) has no push-off before it."""
    keep: list[int] = []
    for p in peaks:
        lo = keep[-1] if keep else max(0, p - round(0.6 * rate_hz))
        if -float(smooth[lo : p + 1].min()) >= 0.15 * float(smooth[p]):
            keep.append(int(p))
    return np.asarray(keep, dtype=int)


def shank_events(
    t: np.ndarray,
    swing_rate: np.ndarray,
    min_peak_dps: float = 80.0,
    acc: np.ndarray | None = None,
    axis: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mid-swing, initial-contact and final-contact times (s) of one shank.

    ``swing_rate`` (deg/s) is the shank's angular rate about its mediolateral axis, positive when the shank
    swings forward (i.e. minus the rate about the segment's +y axis). ``acc`` (n, 3) m/s^2, the shank's
    accelerometer: initial contact from the foot-strike impact (see the module docstring). ``axis``: the shank's
    long axis in the sensor frame (unit vector), when known from a calibration; else the direction of the median
    acceleration over gait. Returns arrays of equal length, one entry per mid-swing peak (NaN where an event was
    not found).
    """
    rate = 1.0 / float(np.median(np.diff(t)))
    smooth = _lowpass(swing_rate, rate, 4.0)
    fine = _lowpass(swing_rate, rate, 15.0)
    height = max(min_peak_dps, 0.35 * float(np.percentile(smooth, 99)))
    peaks, _ = find_peaks(
        smooth, height=height, distance=max(1, int(0.45 * rate)), prominence=height
    )
    peaks = _swing_peaks(smooth, peaks, rate)
    if peaks.size == 0:
        empty = np.empty(0)
        return empty, empty, empty
    period = float(np.median(np.diff(peaks))) / rate if peaks.size > 1 else 1.0
    period = float(np.clip(period, 0.5, 2.0))
    ic = np.full(peaks.size, np.nan)
    fc = np.full(peaks.size, np.nan)
    full = axial = along = None
    if acc is not None:
        full = impact_signal(acc, rate)
        if axis is None:
            axis = long_axis(acc[peaks[0] : peaks[-1] + 1] if peaks.size > 1 else acc)
        axial = axial_impact_signal(acc, rate, axis) if axis is not None else full
        along = acc @ axis if axis is not None else None
    for k, p in enumerate(peaks):
        hi = min(t.size, p + int(0.4 * period * rate))
        seg = -fine[p:hi]
        if seg.size > 2:
            mins, _ = find_peaks(seg, prominence=10.0)
            first = mins[0] if mins.size else int(np.argmax(seg))
            end = p + _end_of_swing_braking(fine[p : p + first + 1], rate)
            ic[k] = t[end]
            # the foot lands after the swing's braking ends, or (a foot stopped by the ground) at most ~10 ms
            # before the ground's deceleration shows in the filtered rate
            lo = max(p, end - round(0.02 * rate))
            onset = np.nan if full is None else _contact_onset(axial, full, lo, hi, rate, along)
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
        # a toe-off in the last MIN_SWING_S before the next contact belongs to no swing of this stride (a spurious
        # swing after that contact, e.g. shuffling on a stair landing, puts its toe-off about on it)
        between = fc[(fc > a) & (fc < b - MIN_SWING_S)]
        if not (0.4 <= duration <= 2.5) or between.size != 1:
            continue
        f = float(between[0])
        activity = activity_at(events or [], a, b, (f - a) / duration)
        rows.append({"side": side, "activity": activity, "ic": a, "fc": f, "end": b})
    df = pd.DataFrame(rows, columns=["side", "activity", "ic", "fc", "end"])
    df.insert(1, "stride", np.arange(len(df), dtype=int))
    return df[list(STRIDE_KEY_COLUMNS)]
