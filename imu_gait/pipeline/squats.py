"""Single-leg squat and step-down repetitions from the knee angles of the working leg (squats.csv).

Within a segment of the session labelled ``squat`` or ``step_down``, each repetition is one excursion of knee
flexion: a flexion peak with enough prominence, from the moment flexion leaves the baseline to the moment it
returns (10 % of the excursion above the surrounding minima); excursions unlike the others (stepping onto the
box, getting into position) are left out. Per repetition: peak flexion, peak abduction (valgus) and the frontal
excursion (peak abduction minus abduction at the start), deg.

Bouts nobody marked are detected (:func:`detect_task_segments`): three or more similar single-leg knee flexion
excursions outside gait, with the other knee not bending along, are reported as task ``single_leg`` (a squat and
a step-down look alike to thigh and shank sensors: the free leg may be held in front, behind or reach down); a
mark names them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from imu_gait.columns import SQUAT_COLUMNS

TASKS = ("squat", "step_down")
DETECTED_TASK = "single_leg"  # an unmarked single-leg squat or step-down bout
# detection of unmarked bouts: a single-leg squat or step-down bends the knee 40-90 deg (patients with knee pain
# often less); walking swing flexion (60 deg) is excluded by the strides and by the other knee bending alike
DETECT_PROMINENCE_DEG = 25.0
DETECT_MIN_REPS = 3
DETECT_REP_S = (0.8, 8.0)  # s, duration of one repetition
DETECT_GAP_S = 6.0  # s between repetitions of one bout
DETECT_STANDING_DEG = (
    30.0  # the working knee starts and ends a repetition nearly straight (deg flexion)
)
DETECT_OTHER_SHARE = (
    0.4  # the other knee's flexion range within a repetition, relative to the working knee's
)
DETECT_MARGIN_S = 1.0  # s added on each side of a detected bout
DETECT_SHANK_LEAN_DEG = (
    8.0  # least forward shank lean at the deepest point of a weight-bearing knee bend
)
DETECT_SHANK_SHARE = (
    0.85  # ... and at most this share of the knee flexion there (a hamstring curl: about 1)
)


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


def detect_task_segments(
    t: np.ndarray,
    flexion_by_side: dict[str, np.ndarray],
    busy: list[tuple[float, float]],
    shank_tilt_by_side: dict[str, np.ndarray] | None = None,
) -> list[tuple[str, float, float, str]]:
    """Unmarked single-leg task bouts (``DETECTED_TASK``, t0, t1, side), s: per leg, repetitions of knee flexion
    (prominence ``DETECT_PROMINENCE_DEG``, ``DETECT_REP_S`` long, starting and ending below
    ``DETECT_STANDING_DEG``, made standing on the leg when its forward shank lean (deg, ``shank_tilt_by_side``,
    :func:`imu_gait.pipeline.knee.shank_forward_tilt`) is known: :func:`_weight_bearing`) that overlap no
    ``busy`` interval (strides, marked segments) and during which no
    other knee bends along from standing (:func:`_bends_along`: walking, stairs, running, sit-to-stand, squats on
    both legs); ``DETECT_MIN_REPS`` or more consistent ones (:func:`consistent_repetitions`) less than
    ``DETECT_GAP_S`` apart, with no busy interval between them, make a bout."""
    out = []
    for side, f in flexion_by_side.items():
        others = [g for s, g in flexion_by_side.items() if s != side]
        good = []
        for s0, p, s1 in find_repetitions(t, f, min_prominence_deg=DETECT_PROMINENCE_DEG):
            if not DETECT_REP_S[0] <= s1 - s0 <= DETECT_REP_S[1]:
                continue
            if any(a < s1 and b > s0 for a, b in busy):
                continue
            sel = (t >= s0) & (t <= s1)
            fs = f[sel]
            if fs.size < 3 or max(fs[0], fs[-1]) > DETECT_STANDING_DEG:
                continue
            span = float(np.ptp(fs))
            if shank_tilt_by_side is not None and side in shank_tilt_by_side:
                ip = int(np.argmax(fs))
                lean = shank_tilt_by_side[side][sel]
                if not _weight_bearing(float(lean[ip] - lean[0]), float(fs[ip] - fs[0])):
                    continue
            if any(_bends_along(g[sel], span) for g in others):
                continue
            good.append((s0, p, s1))
        bouts: list[list[tuple[float, float, float]]] = []
        for rep in good:
            prev = bouts[-1][-1][2] if bouts else -np.inf
            between = any(prev <= a and b <= rep[0] for a, b in busy)  # gait or a marked segment
            if bouts and rep[0] - prev <= DETECT_GAP_S and not between:
                bouts[-1].append(rep)
            else:
                bouts.append([rep])
        for bout in bouts:
            reps = consistent_repetitions(bout, t, f)
            if len(reps) >= DETECT_MIN_REPS:
                t0 = reps[0][0] - DETECT_MARGIN_S
                t1 = reps[-1][2] + DETECT_MARGIN_S
                # the margin must not reach into gait or a marked segment
                t0 = max([t0, *(b for a, b in busy if b <= reps[0][0])])
                t1 = min([t1, *(a for a, b in busy if a >= reps[-1][2])])
                out.append((DETECTED_TASK, t0, t1, side))
    return sorted(out, key=lambda x: x[1])


def _weight_bearing(lean_deg: float, flexion_deg: float) -> bool:
    """Whether a knee bend of ``flexion_deg`` with a forward shank lean of ``lean_deg`` (both from the start of
    the repetition to its deepest point) is made standing on that leg: the foot stays on the ground, so the knee
    moves ahead of the ankle and the thigh takes the larger part of the bend (simulated single-leg squats and
    step-downs: lean 13-37 deg, 0.3-0.6 of the flexion). A hamstring curl swings the shank alone (lean about
    equal to the flexion), a knee raised in front leaves the shank hanging (no lean)."""
    return DETECT_SHANK_LEAN_DEG <= lean_deg <= DETECT_SHANK_SHARE * flexion_deg


def _bends_along(g: np.ndarray, span: float) -> bool:
    """Whether the other knee (flexion ``g`` during a repetition of range ``span``) bends from standing too, as
    in walking or sit-to-stand; a free leg held up (knee flexed throughout) or kept straight does not."""
    return bool(np.ptp(g) >= DETECT_OTHER_SHARE * span and g.min() < DETECT_STANDING_DEG)


def squat_table(
    t: np.ndarray,
    flexion_by_side: dict[str, np.ndarray],
    abduction_by_side: dict[str, np.ndarray],
    events: list[dict],
    detected: list[tuple[str, float, float, str]] = (),
) -> pd.DataFrame:
    """squats.csv rows for every labelled squat/step-down segment (side from the event, else detected) and every
    ``detected`` bout (:func:`detect_task_segments`)."""
    rows = []
    counts: dict[
        tuple[str, str], int
    ] = {}  # repetitions are numbered on across segments of a task and side
    for task, t0, t1, side in [*task_segments(events), *detected]:
        if side not in flexion_by_side:
            side = working_side(t, flexion_by_side, t0, t1, task)
        if side is None:
            continue
        sel = (t >= t0) & (t <= t1)
        ts, f, a = t[sel], flexion_by_side[side][sel], abduction_by_side[side][sel]
        reps = consistent_repetitions(find_repetitions(ts, f), ts, f)
        first = counts.get((task, side), 0)
        counts[(task, side)] = first + len(reps)
        for k, (start, _, end) in enumerate(reps, start=first):
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
