"""Single-leg squat and step-down repetitions from the knee angles of the working leg (squats.csv).

Within a segment of the session labelled ``squat`` or ``step_down``, each repetition is one excursion of knee
flexion: a flexion peak with enough prominence, from the moment flexion leaves the baseline to the moment it
returns (10 % of the excursion above the surrounding minima); excursions unlike the others (stepping onto the
box, getting into position) are left out. Per repetition: peak flexion, peak abduction (valgus) and the frontal
excursion (peak abduction minus abduction at the start), deg.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from imu_gait.columns import SQUAT_COLUMNS

TASKS = ("squat", "step_down")


def find_repetitions(
    t: np.ndarray,
    flexion: np.ndarray,
    min_prominence_deg: float = 15.0,
    min_separation_s: float = 0.8,
    threshold: float = 0.1,
) -> list[tuple[float, float, float]]:
    """Repetitions (start, peak, end) in s of knee flexion (deg) sampled at ``t``."""
    if t.size < 3:
        return []
    rate = 1.0 / float(np.median(np.diff(t)))
    peaks, _ = find_peaks(
        flexion,
        prominence=min_prominence_deg,
        distance=max(1, int(min_separation_s * rate)),
    )
    reps = []
    bounds = np.concatenate([[0], peaks, [flexion.size - 1]])
    for k, p in enumerate(peaks):
        lo, hi = int(bounds[k]), int(bounds[k + 2])
        i_min_l = lo + int(np.argmin(flexion[lo : p + 1]))
        i_min_r = p + int(np.argmin(flexion[p : hi + 1]))
        lvl_l = flexion[i_min_l] + threshold * (flexion[p] - flexion[i_min_l])
        lvl_r = flexion[i_min_r] + threshold * (flexion[p] - flexion[i_min_r])
        before = np.flatnonzero(flexion[i_min_l : p + 1] <= lvl_l)
        after = np.flatnonzero(flexion[p : i_min_r + 1] <= lvl_r)
        i0 = i_min_l + (int(before[-1]) if before.size else 0)
        i1 = p + (int(after[0]) if after.size else i_min_r - p)
        reps.append((float(t[i0]), float(t[p]), float(t[i1])))
    return reps


def consistent_repetitions(
    reps: list[tuple[float, float, float]], t: np.ndarray, flexion: np.ndarray
) -> list[tuple[float, float, float]]:
    """The repetitions that look like the task: with three or more candidates, those whose duration is within
    0.7-1.5 times the median and whose peak flexion is within max(20 deg, 30 %) of the median peak. Stepping
    onto or off the box, or getting into position, inside a labelled segment is left out."""
    if len(reps) < 3:
        return reps
    dur = np.array([e - s for s, _, e in reps])
    peak = np.array([float(np.interp(p, t, flexion)) for _, p, _ in reps])
    d_med, p_med = float(np.median(dur)), float(np.median(peak))
    keep = (dur >= 0.7 * d_med) & (dur <= 1.5 * d_med)
    keep &= np.abs(peak - p_med) <= max(20.0, 0.3 * p_med)
    return [r for r, k in zip(reps, keep, strict=True) if k]


def task_segments(events: list[dict]) -> list[tuple[str, float, float, str | None]]:
    """(task, t0, t1, side or None) of the session events labelled squat / step_down with an end time."""
    out = []
    for ev in events:
        if ev.get("label") in TASKS and "t_end" in ev:
            out.append((str(ev["label"]), float(ev["t"]), float(ev["t_end"]), ev.get("side")))
    return out


def working_side(
    t: np.ndarray, flexion_by_side: dict[str, np.ndarray], t0: float, t1: float, task: str
) -> str | None:
    """The leg doing the task within [t0, t1]. Single-leg squat: of the legs whose flexion cycles (5-95
    percentile range > 20 deg), the one that returns to extension (lowest median flexion; the free leg is held
    up, flexed). Step-down: the leg with the largest flexion range (the free leg reaches down nearly straight).
    """
    stats = {}
    for side, f in flexion_by_side.items():
        sel = (t >= t0) & (t <= t1)
        if sel.sum() < 3:
            continue
        lo, med, hi = np.percentile(f[sel], [5, 50, 95])
        stats[side] = (hi - lo, med)
    if not stats:
        return None
    if task == "squat":
        cycling = {s: v for s, v in stats.items() if v[0] > 20.0}
        if cycling:
            return min(cycling, key=lambda s: cycling[s][1])
    return max(stats, key=lambda s: stats[s][0])


def squat_table(
    t: np.ndarray,
    flexion_by_side: dict[str, np.ndarray],
    abduction_by_side: dict[str, np.ndarray],
    events: list[dict],
) -> pd.DataFrame:
    """squats.csv rows for every labelled squat/step-down segment (side from the event, else detected)."""
    rows = []
    for task, t0, t1, side in task_segments(events):
        if side not in flexion_by_side:
            side = working_side(t, flexion_by_side, t0, t1, task)
        if side is None:
            continue
        sel = (t >= t0) & (t <= t1)
        ts, f, a = t[sel], flexion_by_side[side][sel], abduction_by_side[side][sel]
        reps = consistent_repetitions(find_repetitions(ts, f), ts, f)
        for k, (start, _, end) in enumerate(reps):
            in_rep = (ts >= start) & (ts <= end)
            a_start = float(np.interp(start, ts, a))
            a_peak = float(max(a[in_rep].max(), a_start))
            rows.append(
                {
                    "side": side,
                    "task": task,
                    "rep": k,
                    "start": start,
                    "end": end,
                    "knee_flexion_peak": float(f[in_rep].max()),
                    "knee_abduction_peak": a_peak,
                    "knee_frontal_excursion": a_peak - a_start,
                }
            )
    return pd.DataFrame(rows, columns=list(SQUAT_COLUMNS))
