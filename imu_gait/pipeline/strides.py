"""Stride segmentation and gait events for one foot sensor in the foot frame.

Inputs are foot-frame signals (see :mod:`imu_gait.pipeline.calibration`): the mediolateral angular rate
``gyr_ml`` (deg/s, y = left, so toe-down rotation is positive and the swing is a large negative lobe) and the
accelerometer (m/s^2).

Method:
- Cycles are bounded by mid-swing peaks of the mediolateral angular rate (Rampp et al. 2015, IEEE TBME 62:1089;
  Falbriard et al. 2018, Front Physiol 9:610). Peaks are accepted relative to their neighbours, so slow walking,
  stairs and running in one session are all found; two peaks are only separate swings when a stance (the rate
  resting at or above zero) lies between them, and the heel lowering after a forefoot contact is no swing.
- Initial contact: the foot-strike impact, the onset of a burst in the second difference of the acceleration
  vector, searched around the end of the swing's toe-up rotation (the rate's upward zero crossing after
  mid-swing, bounded by the extrapolated end of its steep deceleration where the rate lingers near zero; an
  impact under way at the search window's start keeps its own onset), or earlier for a forefoot contact that
  is followed by the heel lowering. When the ground stopped the rotation (its last quarter, from a quarter of
  the swing's peak rate, within 50 ms of the shock; no share beyond 75 ms, a foot that levelled out in the
  air), contact is put midway between its end and the shock (marker-based references put contact at the end
  of the rotation, the shock arrives once heel pad and sole are compressed), at most 25 ms before the shock.
  The quarter point lies on the steep part of the deceleration, so a small change of the sensor's alignment
  does not move contact with the slow approach to zero of a hovering foot. A contact followed by the heel
  lowering (a second toe-up lobe) is a forefoot contact: there the impact is the contact (the foot lands still
  rotating toe-up; no heel pad is compressed first), and when that heel lowering is larger than the swing's
  own toe-up lobe (a slow stair-descent swing) and so taken as the mid-swing, its contact is searched from the
  swing's lobe before it.
  An impact at which the foot still rotates toe-up and after which it just comes smoothly to rest (neither
  reversed by a heel strike nor speeded up by the heel lowering) came in the air: on stair ascent, where the
  foot lands flat or forefoot-first with a weak impact, the swing's deceleration can stand out 25-60 ms before
  contact. Without a clear impact: the end of the rotation. Final contact: the toe-down rate peak of push-off before the
  next mid-swing (the minimum of the pitch rate in the second half of the cycle in Falbriard's sign convention),
  refined to sub-sample time.
- Mid-stance: the minimum of the SHOE zero-velocity statistic between IC and FC (Skog et al. 2010, IEEE TBME
  57:2657, generalized likelihood ratio test on accelerometer and gyroscope); used as the zero-velocity instant
  of the trajectory.

The activity of each stride (walk, stairs up/down, run) is decided from its trajectory, timing and heading change
in :mod:`imu_gait.pipeline.activity`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks

from imu_gait.pipeline.signal import GRAVITY, lowpass, moving_mean

HEEL_COMPRESSION_S = (
    0.025  # s, longest delay between heel contact and the impact shock at the sensor
)
ROTATION_END_SLACK_S = (
    0.01  # s, how far the level crossing may lag the extrapolated end of the deceleration
)
# an impact at which the foot still rotates toe-up faster than this many times the rate that ends the rotation,
# and that neither reverses nor speeds up the rotation after it, is in the air: the deceleration of simulated
# stair-ascent swings 25-60 ms before contact at 5.3-8x; contacts without such a reversal or heel lowering
# (flat landings, 100-400 Hz) under 3x
IN_AIR_LEVELS = 4.0
# SHOE statistic 30-50 ms after such an impact above which the foot is still decelerating (|a| about 1.5 g away
# from gravity): simulated stair-ascent swings 3400-5000 there; a foot on the ground at rest or pivoting under 500
IN_AIR_SHOE = 1000.0
# deg, toe-down rotation after contact from which a landing counts fully as heel first (its heel pad compressed
# before the shock reached the sensor); a flat landing turns < 0.5 deg, heel strikes 10-26 deg in 100 ms
HEEL_STRIKE_DEG = 5.0
# s after the end of the rotation to which the contact filter's rate is settled in the online analyzer's window
# (its impact window, 0.2 s, less the 30 Hz filter's 50 ms edge)
IMPACT_SETTLED_S = 0.15
# share of the swing's peak toe-up rate below which its rotation counts as settling (_settling_time)
STOPPED_SHARE = 0.25
IMPACT_GAP_S = 0.005  # s, longest dip below the level inside one impact (which lasts 20-30 ms)
BOUT_PAUSE_S = (
    2.5  # s, no mid-swing candidate for longer than this (the longest stride) ends a bout
)
# of two toe-up lobes closer than a swing, the earlier is the swing unless it is less than this share of the later:
# a swing before the heel lowering of a forefoot contact (stair descent) is 0.38-0.8 of it, an early-swing lobe
# before a running swing's main one 0.15-0.31 (simulated, 100-200 Hz)
EARLY_LOBE_SHARE = 1.0 / 3.0


@dataclass
class FootEvents:
    """Events of one foot, in fractional sample indices of its (uniform) signal.

    One entry per stance k: ``ic[k]`` initial contact, ``ms[k]`` mid-stance (integer sample, zero velocity),
    ``fc[k]`` final contact (NaN for a stance without a following swing). Stride k runs ``ic[k]`` -> ``ic[k+1]``
    when ``stride_ok[k]`` (consecutive stances of one walking bout). ``midswing`` holds the accepted mid-swing
    peaks and ``toe_off`` the push-off before each of them (also for the first swing of a bout, which has no
    stance of its own in ``ic``/``fc``; NaN when not found). ``swing_end[k]``: the end of the toe-up rotation
    before stance k (fractional sample), where the search for its contact impact starts (the online analyzer
    knows ``ic[k]`` is final once the impact window after it has arrived).
    """

    ic: np.ndarray
    ms: np.ndarray
    fc: np.ndarray
    stride_ok: np.ndarray
    midswing: np.ndarray
    toe_off: np.ndarray
    swing_end: np.ndarray = field(default_factory=lambda: np.empty(0))


def shoe_statistic(
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float,
    sigma_acc: float = 0.5,
    sigma_gyr_dps: float = 10.0,
    window_s: float = 0.03,
) -> np.ndarray:
    """SHOE zero-velocity test statistic (Skog et al. 2010) per sample, dimensionless; small = still.

    Mean over a centred window of |a - g u|^2 / sigma_acc^2 + |w|^2 / sigma_gyr^2, with u the window's mean
    specific-force direction. ``acc`` m/s^2, ``gyr`` deg/s.
    """
    n = max(round(window_s * rate_hz), 1)
    a_mean = moving_mean(acc, n)
    u = a_mean / np.maximum(np.linalg.norm(a_mean, axis=1, keepdims=True), 1e-9)
    a2 = moving_mean(np.einsum("ij,ij->i", acc, acc), n)
    # mean |a - g u|^2 = mean|a|^2 - 2 g u.mean(a) + g^2 over the window
    term_a = np.maximum(a2 - 2.0 * GRAVITY * np.einsum("ij,ij->i", u, a_mean) + GRAVITY**2, 0.0)
    term_g = moving_mean(np.einsum("ij,ij->i", gyr, gyr), n)
    return term_a / sigma_acc**2 + term_g / sigma_gyr_dps**2


def _median(x: np.ndarray) -> float:
    """``np.median`` of a short, non-empty 1-D array without NaN (the same value: the middle element or the mean
    of the two middle ones) without its overhead, which dominates for the few values per stride used here."""
    s = np.sort(x)
    h = s.size // 2
    return float(s[h]) if s.size % 2 else float((s[h - 1] + s[h]) / 2.0)


def find_midswings(
    gyr_ml: np.ndarray, rate_hz: float, min_height_dps: float = 60.0, min_interval_s: float = 0.4
) -> np.ndarray:
    """Candidate mid-swing samples: negative peaks of the (low-passed) mediolateral rate.

    A candidate must exceed ``min_height_dps`` and 30% of the median height of the larger candidates of the
    preceding 10 s of its bout (a pause longer than ``BOUT_PAUSE_S`` without candidates starts a new one), itself
    included (so the threshold follows the gait speed through a session; only the past,
    so that the online analyzer, which sees a window of the recent past, decides exactly as offline analysis).
    Of two candidates closer than ``min_interval_s`` the earlier is the swing unless it is less than a third
    (``EARLY_LOBE_SHARE``) as high: after a forefoot contact (stair descent) the heel lowers in a second toe-up
    lobe that can be twice as large as the swing's, and a running swing may start with a small lobe.
    """
    neg = -gyr_ml
    peaks, props = find_peaks(neg, height=min_height_dps, prominence=40.0)
    if peaks.size == 0:
        return peaks
    h = props["peak_heights"]
    keep = np.ones(peaks.size, dtype=bool)
    half = 10.0 * rate_hz
    lo = np.searchsorted(peaks, peaks - half)
    # a pause (no candidate for longer than a slow stride) starts a new bout, judged on its own like the
    # session's first: after fast walking, slow stair-ascent swings (~30% of its height) are not its remnants
    pause = np.flatnonzero(np.diff(peaks) > BOUT_PAUSE_S * rate_hz) + 1
    bout_start = np.zeros(peaks.size, dtype=np.int64)
    bout_start[pause] = pause
    lo = np.maximum(lo, np.maximum.accumulate(bout_start))
    hi = np.arange(1, peaks.size + 1)
    for i in range(peaks.size):
        local = h[lo[i] : hi[i]]
        ref = _median(local[local >= _median(local)])
        keep[i] = h[i] >= 0.3 * ref
    peaks, h = peaks[keep], h[keep]
    gap = max(int(min_interval_s * rate_hz), 1)
    out: list[int] = []
    heights: list[float] = []
    for p, v in zip(peaks, h, strict=True):
        if out and p - out[-1] < gap:
            if heights[-1] < EARLY_LOBE_SHARE * v:
                out[-1], heights[-1] = int(p), float(v)
            continue
        out.append(int(p))
        heights.append(float(v))
    return np.asarray(out, dtype=np.int64)


def _crossing_up(x: np.ndarray, start: int, stop: int, level: float, hold: int = 1) -> float:
    """First upward crossing of ``level`` by ``x`` in [start, stop) after which ``x`` stays at or above it for
    ``hold`` samples, linearly interpolated; NaN if none."""
    seg = x[start:stop] - level
    idx = np.flatnonzero((seg[:-1] < 0) & (seg[1:] >= 0))
    for i in idx:
        if (seg[i + 1 : i + 1 + hold] >= 0).all():
            return start + i + float(-seg[i] / (seg[i + 1] - seg[i]))
    return float("nan")


def _rotation_end(g: np.ndarray, start: int, stop: int, level: float, slack: float) -> float:
    """End of the swing's toe-up rotation after mid-swing ``start``: where the rate ``g`` (deg/s) rises through
    ``level`` (a few deg/s below zero), but at most ``slack`` samples after the point where the steep
    deceleration seen at 2x ``level`` would reach ``level`` (extrapolated with the rate's slope there); NaN if
    neither. The rate of a foot set down on a step can linger just below ``level``: there its crossing is
    ill-conditioned (a fraction of a deg/s, such as a small change of the sensor's alignment, moves it by tens
    of ms), the extrapolated end of the steep part is not. Where the rate crosses briskly, the crossing stands
    (both agree within ``slack``); the result is continuous in the signal either way."""
    c = _crossing_up(g, start, stop, level)
    c1 = _crossing_up(g, start, stop, 2.0 * level)
    if np.isfinite(c1):
        i = min(int(c1), g.size - 2)
        slope = float(g[i + 1] - g[i])  # deg/s per sample, > 0 at an upward crossing
        if slope > 0:
            e = c1 - level / slope + slack
            if e < stop:
                c = min(c, e) if np.isfinite(c) else e
    return c


def impact_signal(acc: np.ndarray, rate_hz: float) -> np.ndarray:
    """Norm of the second difference of the acceleration vector, m/s^4, (n,) (centred; ends repeated).

    A heel-strike impact is a broadband transient that dominates this signal, while the smooth swing
    accelerations hardly register in it.
    """
    n = acc.shape[0]
    if n < 3:
        return np.zeros(n)
    d = np.linalg.norm(acc[2:] - 2.0 * acc[1:-1] + acc[:-2], axis=1) * rate_hz * rate_hz
    return np.concatenate([d[:1], d, d[-1:]])


def _impact_onsets(
    impact: np.ndarray, lo: int, hi: int, base: float, reach: int | None = None, span: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Onsets (fractional samples) and peak values of impacts in [lo, hi), if the window's peak exceeds 5x
    ``base``.

    An impact is a group of at least two samples reaching a quarter of the window's peak and 3x ``base``, each
    at most ``span`` samples after the previous one (a single-sample spike is not one; at high rates the norm of
    a ringing impact's second difference can dip below the level for a sample between its lobes); its onset is
    the first of them plus half a sample, because a second difference reacts one sample early. With ``reach``
    (< ``lo``), an impact under way at ``lo`` keeps its own onset, back to ``reach`` at most, instead of starting
    where the window does: so an onset does not jump with the window's start, which follows the end of the
    toe-up rotation and moves with the sensor's alignment.
    """
    none = (np.empty(0), np.empty(0))
    if hi - lo < 2:
        return none
    # the sample after the window may complete an impact that starts at its end (no further: the online
    # analyzer waits for the impact window and one sample)
    win = impact[lo : hi + 1]
    peak = float(win[: hi - lo].max())
    if peak < 5.0 * max(base, 1e-9):
        return none
    level = max(0.25 * peak, 3.0 * base)
    above = np.flatnonzero(win >= level)
    groups = [
        g
        for g in np.split(above, np.flatnonzero(np.diff(above) > span) + 1)
        if g.size >= 2 and g[0] < hi - lo
    ]
    if not groups:
        return none
    starts = np.array([g[0] for g in groups])
    peaks = np.array([win[g[0] : g[-1] + 1].max() for g in groups])
    onsets = lo + starts + 0.5
    if reach is not None and starts[0] == 0:
        i, stop = lo, max(reach, 0)
        while i > stop:
            back = np.flatnonzero(impact[max(i - span, stop) : i] >= level)
            if not back.size:
                break
            i = max(i - span, stop) + int(back[0])
        onsets[0] = i + 0.5
    return onsets, peaks


def _impact_onset(
    impact: np.ndarray,
    swing_end: float,
    midswing: int,
    rate_hz: float,
    g: np.ndarray | None = None,
    level: float = -5.0,
    shoe: np.ndarray | None = None,
) -> float:
    """Time (fractional sample) of the foot-strike impact after mid-swing, or NaN without a clear one.

    A heel strike comes at the end of the swing's toe-up rotation (``swing_end``): the first impact from 30 ms
    before to 200 ms after it (a foot that levels out slowly lands late in that window). A forefoot contact
    (stair descent, forefoot running) comes earlier: the last impact between mid-swing and that window, taken
    when the heel then lowers (the toe-up rate ``g`` speeds up by 50 deg/s within 50 ms, a second lobe) and it is
    at least as strong as any impact near the swing end (where the heel then only settles); likewise, near the
    swing end, a first impact without the heel lowering after it gives way to a stronger one with it (a
    transient in the air before a forefoot contact). An impact near the swing end that came in the air
    (:func:`_in_air`: the foot still rotating toe-up and decelerating, then coming smoothly to rest; ``level`` is
    the rate, deg/s, that ends the rotation, ``shoe`` the SHOE statistic) is no contact either: the ground would have stopped the rotation (flat landing),
    reversed it (heel strike) or let the heel drop (forefoot contact). On stair ascent the contact's own impact is
    weak and the foot's deceleration before it can stand out 25-60 ms early. An impact must raise
    :func:`impact_signal` to at least 5x its median from mid-swing to the end of the window. ``midswing`` may be
    the swing's own toe-up peak before a heel-lowering lobe taken as the mid-swing (:func:`_swing_lobe_before`).
    """
    a = max(int(swing_end - 0.03 * rate_hz), midswing + 1)
    hi = min(int(swing_end + 0.2 * rate_hz) + 1, impact.size - 1)
    if hi - midswing < 5:
        return float("nan")
    base = _median(impact[midswing + 1 : hi])
    # a dip of IMPACT_GAP_S covers that many samples, so the next one above the level comes one sample later (at
    # 200 Hz a one-sample dip of a ringing impact split it, and its first lobe, a lone sample, was dropped)
    span = round(IMPACT_GAP_S * rate_hz) + 1
    near, near_peak = _impact_onsets(impact, a, hi, base, reach=midswing + 1, span=span)
    early, early_peak = _impact_onsets(impact, midswing + 1, a, base, span=span)
    if early.size and g is not None:
        if _heel_lowers(g, early[-1], rate_hz) and (
            not near.size or early_peak[-1] >= near_peak[0]
        ):
            return float(early[-1])
    if near.size and g is not None and shoe is not None:
        ground = [k for k in range(near.size) if not _in_air(g, shoe, near[k], rate_hz, level)]
        near, near_peak = near[ground], near_peak[ground]
    if near.size > 1 and g is not None and not _heel_lowers(g, near[0], rate_hz):
        # a transient in the air before a forefoot contact (the foot's toe-up rotation still easing after it) is
        # no contact: a stronger impact after it that the heel lowering follows is
        for k in range(1, near.size):
            if near_peak[k] >= near_peak[0] and _heel_lowers(g, near[k], rate_hz):
                return float(near[k])
    return float(near[0]) if near.size else float("nan")


def _swing_lobe_before(g: np.ndarray, m: int, lo: int, reach: int, min_dps: float = 20.0) -> int:
    """The swing's toe-up peak when the toe-up lobe at mid-swing candidate ``m`` is the heel lowering after a
    forefoot contact, else ``m``.

    A stair-descent swing can rotate toe-up more slowly (40-60 deg/s) than the heel then lowers, and the foot
    may hover with the rate near zero before it steps down: the larger lobe is then taken as the mid-swing, and
    the contact lies on its rising flank. Such an earlier lobe is looked for since the push-off (the largest
    toe-down rate ``g`` after ``lo`` and within ``reach`` samples before ``m``, as for :func:`_toe_offs`): a
    toe-up lobe of at least ``min_dps`` from which the rate comes back up by at least half its height and
    ``min_dps`` before falling into the lobe at ``m``."""
    lo = max(lo, m - reach, 0)
    if m - lo < 3:
        return m
    x = g[lo + int(np.argmax(g[lo:m])) : m]
    if x.size < 3:
        return m
    # how far the rate has come back up from the deepest toe-up rate before
    rise = x - np.minimum.accumulate(x)
    v = int(np.argmax(rise))
    p1 = int(np.argmin(x[: v + 1]))
    if x[p1] <= -min_dps and rise[v] >= max(min_dps, -0.5 * x[p1]):
        return m - x.size + p1
    return m


def _heel_lowers(g: np.ndarray, at: float, rate_hz: float) -> bool:
    """Whether the heel lowers after a contact at sample ``at``: the toe-up rate ``g`` (deg/s, toe-up negative)
    speeds up by 50 deg/s within 50 ms (a forefoot contact). After a heel strike the foot rotates toe-down to
    flat instead: a positive lobe, whose decay is no toe-up rotation."""
    i = int(at)
    return bool(g[i : i + max(round(0.05 * rate_hz), 2) + 1].min() <= min(g[i], 0.0) - 50.0)


def _in_air(g: np.ndarray, shoe: np.ndarray, at: float, rate_hz: float, level: float) -> bool:
    """Whether an impact at sample ``at`` came in the air: the foot still rotates toe-up faster than
    ``IN_AIR_LEVELS`` x ``level`` (deg/s, < 0, the rate that ends the swing's rotation); within 50 ms the
    ground neither reverses the rotation (toe-down faster than that: a heel strike, which real heels make while
    still rotating toe-up at 60-80 deg/s) nor lets the heel drop (:func:`_heel_lowers`); and 30-50 ms after it,
    once an impact has rung out, the foot is still decelerating (the SHOE statistic ``shoe`` above
    ``IN_AIR_SHOE``). A foot decelerating in the air comes smoothly to rest; one on the ground stops rotating
    (flat landing) or pivots slowly with its acceleration back near gravity (a forefoot touch settling)."""
    i = int(at)
    fast = IN_AIR_LEVELS * level
    if g[i] >= fast:
        return False
    after = g[i : i + max(round(0.05 * rate_hz), 2) + 1]
    if after.max() >= -fast or _heel_lowers(g, at, rate_hz):
        return False
    late = shoe[int(at + 0.03 * rate_hz) : int(at + 0.05 * rate_hz) + 1]
    return bool(late.size) and _median(late) > IN_AIR_SHOE


def _heel_first(g: np.ndarray, at: float, stop: float, rate_hz: float) -> float:
    """How surely a contact at sample ``at`` landed heel first, 0..1: the toe-down rotation of the foot (deg,
    the positive part of the rate ``g``) over the 100 ms after it (no further than ``stop``), relative to
    ``HEEL_STRIKE_DEG``. A heel strike rotates the foot 10-26 deg toe-down to flat in that time (simulated
    walking and running), a flat landing (stair ascent) and a forefoot one not at all; continuous, so that a
    change of the sensor's alignment (leaking a few deg/s of eversion into ``g``) cannot flip it."""
    i = int(at)
    j = int(min(at + 0.1 * rate_hz, stop, g.size - 1))
    turned = float(np.maximum(g[i : j + 1], 0.0).sum()) / rate_hz
    return min(turned / HEEL_STRIKE_DEG, 1.0)


def _settling_time(g: np.ndarray, lobe: int, end: float) -> float:
    """Fractional sample at which the swing's toe-up rotation last fell below a quarter of its peak rate
    ``g[lobe]`` (deg/s, < 0) before its end ``end``; NaN if not found. Taken on the steep part of the
    deceleration (several deg/s per ms), so a few deg/s of another axis leaking into ``g`` (a small change of
    the sensor's alignment) move it by about a millisecond, unlike the rate's approach to zero."""
    q = STOPPED_SHARE * float(g[lobe])
    e = min(int(end), g.size - 2)
    if q >= 0.0 or e <= lobe:
        return float("nan")
    below = np.flatnonzero(g[lobe : e + 1] <= q)
    i = lobe + int(below[-1])
    return i + float((q - g[i]) / (g[i + 1] - g[i])) if g[i + 1] > q else float(i)


def _compression_share(d: float, settle: float, longest: float) -> float:
    """How far (samples) contact lies before the impact onset when the rotation ended ``d`` samples and fell
    below a quarter of its peak rate ``settle`` samples before it: half of ``d`` (the heel pad's compression;
    at most ``longest``) when the ground stopped the rotation, none when the foot levelled out in the air.

    A heel stopped by the ground ends the rotation abruptly: its last quarter lies within ``2 x longest`` of the
    shock (real walk with motion capture: 0-58 ms, mostly under 50); a swing that slows down in the air and
    touches down later takes over ``3 x longest`` (simulated running, whose foot lands still moving: 107-145 ms,
    5th-95th percentile) and its end tells nothing about the contact, which is then the impact (as in Falbriard
    et al. 2018, Front Physiol 9:610). Tapers linearly in between. ``settle`` lies on the steep part of the
    deceleration, so a small change of the sensor's alignment barely moves it, whereas a hovering foot's
    approach to zero (``d``) moves by several ms; the share no longer tapers with ``d``, which put contact
    one-for-one with that approach.
    """
    if not d > 0.0 or not np.isfinite(settle):
        return 0.0
    weight = min(max(3.0 - settle / longest, 0.0), 1.0)
    return weight * min(0.5 * d, longest)


def _parabolic_peak(x: np.ndarray, i: int) -> float:
    """Sub-sample position of a local maximum at integer ``i``."""
    if i <= 0 or i >= x.size - 1:
        return float(i)
    a, b, c = x[i - 1], x[i], x[i + 1]
    den = a - 2 * b + c
    return float(i) if den >= 0 else i + 0.5 * (a - c) / den


def detect_foot_events(
    gyr_ml: np.ndarray,
    shoe: np.ndarray,
    rate_hz: float,
    impact: np.ndarray | None = None,
    max_stride_s: float = 2.5,
    min_stride_s: float = 0.35,
) -> FootEvents:
    """Segment one foot's signal into stances and strides (see the module docstring for the method).

    ``gyr_ml`` (n,) foot-frame mediolateral rate (deg/s, toe-down positive); ``shoe`` (n,) the SHOE statistic;
    ``impact`` (n,) the impact signal (:func:`impact_signal`): when given, initial contact is the onset of the
    heel-strike impact if there is a clear one near the end of the swing's toe-up rotation.
    """
    n = gyr_ml.size
    g_ic = lowpass(gyr_ml, rate_hz, 30.0)  # contact: end of the swing's toe-up rotation
    g_fc = lowpass(gyr_ml, rate_hz, 50.0)  # toe-off: sharp push-off peak, keep its timing
    g_sw = lowpass(gyr_ml, rate_hz, 6.0)  # mid-swing: one smooth lobe per swing
    cand = find_midswings(g_sw, rate_hz)
    cand = _merge_without_stance(cand, g_ic, rate_hz)
    ics, mss, fcs, cyc, ends = [], [], [], [], []
    max_gap = int(max_stride_s * rate_hz)
    # samples from push-off to mid-swing at most (to the heel lowering after a forefoot contact)
    reach = int(0.6 * rate_hz)
    for j, m in enumerate(cand):
        nxt = cand[j + 1] if j + 1 < cand.size else None
        stop = nxt if nxt is not None and nxt - m <= max_gap * 2 else min(m + max_gap, n)
        # end of the toe-up rotation: the rate returns to (nearly) zero; on stairs it may not overshoot
        level = -max(5.0, 0.02 * abs(float(g_ic[m])))
        ic = _rotation_end(g_ic, m, stop, level, ROTATION_END_SLACK_S * rate_hz)
        if not np.isfinite(ic):
            continue
        ends.append(ic)
        if impact is not None:
            lo = int(cand[j - 1]) if j > 0 else 0
            lobe = _swing_lobe_before(g_ic, m, lo, reach)
            onset = _impact_onset(impact, ic, lobe, rate_hz, g_ic, level, shoe)
            if np.isfinite(onset) and _heel_lowers(g_ic, onset, rate_hz):
                # a forefoot contact: the foot lands still rotating toe-up and the heel lowers after it, so the
                # rate's approach to zero before it is no heel touching down; the impact is the contact
                ic = onset
            elif np.isfinite(onset):
                # a rotation that settles just before the shock was stopped by the ground: contact lies between
                # the end of the rotation (heel touches) and the shock at the sensor (heel pad and sole
                # compressed); marker-based and impact-based references differ by this delay, take the middle
                settle = onset - _settling_time(g_ic, lobe, ic)
                share = _compression_share(onset - ic, settle, HEEL_COMPRESSION_S * rate_hz)
                ic = onset - share * _heel_first(
                    g_ic, onset, ic + IMPACT_SETTLED_S * rate_hz, rate_hz
                )
        i0 = int(np.ceil(ic))
        if nxt is not None and nxt - m <= max_gap * 2:
            # mid-stance: the stillest sample before the next swing; toe-off: the push-off peak after it
            ms = i0 + int(np.argmin(shoe[i0:nxt])) if nxt > i0 else i0
            j_fc = ms + int(np.argmax(g_fc[ms:nxt])) if nxt > ms else ms
            fc = _parabolic_peak(g_fc, j_fc)
        else:
            # last stance of a bout: the foot comes to rest; no toe-off
            end = min(i0 + int(1.0 * rate_hz), n)
            ms = i0 + int(np.argmin(shoe[i0:end])) if end > i0 else i0
            fc = float("nan")
        ics.append(ic)
        mss.append(ms)
        fcs.append(fc)
        cyc.append(j)
    ic = np.asarray(ics)
    ms = np.asarray(mss, dtype=np.int64)
    fc = np.asarray(fcs)
    ok = np.zeros(ic.size, dtype=bool)
    if ic.size > 1:
        dur = np.diff(ic) / rate_hz
        stance = (fc[:-1] - ic[:-1]) / rate_hz
        ok[:-1] = (
            (dur >= min_stride_s)
            & (dur <= max_stride_s)
            & np.isfinite(fc[:-1])
            & (fc[:-1] < ic[1:])
            & (stance > 0.08)
            & (stance < 0.85 * dur)
            & (np.diff(np.asarray(cyc)) == 1)
        )
        ok[:-1] &= ~_paused(stance)
    return FootEvents(
        ic=ic,
        ms=ms,
        fc=fc,
        stride_ok=ok,
        midswing=cand,
        toe_off=_toe_offs(g_fc, cand, ms, rate_hz),
        swing_end=np.asarray(ends),
    )


def _toe_offs(g_fc: np.ndarray, midswing: np.ndarray, ms: np.ndarray, rate_hz: float) -> np.ndarray:
    """Push-off peak before each mid-swing, searched back to the previous mid-stance (at most 0.6 s)."""
    out = np.full(midswing.size, np.nan)
    for j, m in enumerate(midswing):
        prev = ms[ms < m]
        lo = max(int(prev[-1]) if prev.size else 0, m - int(0.6 * rate_hz), 0)
        if m - lo < 2:
            continue
        i = lo + int(np.argmax(g_fc[lo:m]))
        if g_fc[i] > 0:
            out[j] = _parabolic_peak(g_fc, i)
    return out


def _paused(stance: np.ndarray) -> np.ndarray:
    """Stances (s) that contain a pause: longer than 1.5x and 0.3 s more than the median of the neighbouring
    stances (three each side). A stride across a pause (stopping briefly before a turn) is no gait cycle."""
    out = np.zeros(stance.size, dtype=bool)
    for k in range(stance.size):
        nb = np.concatenate([stance[max(k - 3, 0) : k], stance[k + 1 : k + 4]])
        nb = nb[np.isfinite(nb)]
        if nb.size >= 2:
            ref = _median(nb)
            out[k] = stance[k] > 1.5 * ref and stance[k] > ref + 0.3
    return out


def _merge_without_stance(cand: np.ndarray, g: np.ndarray, rate_hz: float) -> np.ndarray:
    """Merge neighbouring mid-swing candidates without a stance between them: the rate must rest at or above
    -5 deg/s (foot flat or pushing off) for at least 60 ms in between, else both lobes belong to one swing, or
    to a swing and the heel lowering after a forefoot contact. The earlier is kept unless it is less than half
    as high."""
    if cand.size < 2:
        return cand
    need = max(round(0.06 * rate_hz), 2)
    keep = list(cand[:1])
    for c in cand[1:]:
        prev = keep[-1]
        if (g[prev:c] >= -5.0).sum() >= need:
            keep.append(c)
        elif -g[prev] < 0.5 * -g[c]:
            keep[-1] = c
    return np.asarray(keep, dtype=np.int64)
