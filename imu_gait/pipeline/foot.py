"""The foot step: alignment, strides, trajectory and pronation of one shoe sensor (arrays in, arrays out).

Pronation (DESIGN.md section 6): the eversion angle is :func:`imu_gait.anatomy.foot_eversion` of the foot's
orientation in the ground frame; per stride it is reported at initial contact, at its peak in stance, as the
excursion (peak minus IC), as the peak positive eversion rate in stance and as the time of the peak in % stance;
the stance curve is resampled to 101 points from IC to FC. Zero: the foot flat in the static standing
calibration, else the median mid-stance (foot-flat) angle of level-walking strides.

Orientation in stance is anchored at the stride's own mid-stance (tilt from gravity) and integrated from the
gyroscope both ways, so it drifts for at most half a stance. The foot frame comes from
:mod:`imu_gait.pipeline.calibration`, which is where the accuracy of the eversion angle is won or lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imu_gait.anatomy import foot_eversion
from imu_gait.columns import CURVE_POINTS, FOOT_COLUMNS
from imu_gait.pipeline.activity import classify_activity, stride_heading_change
from imu_gait.pipeline.calibration import (
    FootAlignment,
    align_foot_sensor,
    declared_foot_alignment,
    flip_foot_alignment,
    refine_foot_alignment,
    still_mask,
    with_forward_agreement,
)
from imu_gait.pipeline.signal import lowpass
from imu_gait.pipeline.strides import (
    FootEvents,
    detect_foot_events,
    impact_signal,
    shoe_statistic,
)
from imu_gait.pipeline.trajectory import (
    integrate_gyro,
    quat_to_matrix,
    signed_angle_2d,
    stride_trajectory,
    tilt_from_gravity,
)

EVERSION_LOWPASS_HZ = 20.0
MIN_LEVEL_STRIDES = 8  # level strides needed for the loading-eversion check
INVERTING_MEDIAN_DEG = -3.0  # early-stance eversion change (deg) below which ...
INVERTING_SHARE = 0.85  # ... on at least this share of level strides a foot is seen in a mirror
STILL_MIDSTANCE = (
    1.5  # SHOE statistic below which the foot rests at mid-stance (walking, not running)
)
ZV_THRESHOLD = 30.0  # SHOE statistic below which a stance sample counts as still (Skog 2010 scale)


def pronation_metrics(
    t: np.ndarray, eversion: np.ndarray, ic: float, fc: float
) -> dict[str, float]:
    """Per-stride pronation from an eversion series (deg) at times ``t`` (s) covering the stance [ic, fc] (s).

    Returns eversion_ic, eversion_peak, eversion_excursion (peak - IC) in deg, eversion_velocity_peak (deg/s,
    largest positive rate in stance) and time_to_peak_eversion (% stance).
    """
    inside = (t >= ic) & (t <= fc)
    ev_ic = float(np.interp(ic, t, eversion))
    if inside.sum() < 2:
        nan = float("nan")
        return dict.fromkeys(
            ("eversion_ic", "eversion_peak", "eversion_excursion", "eversion_velocity_peak"), nan
        ) | {"time_to_peak_eversion": nan}
    tt, ee = t[inside], eversion[inside]
    k = int(np.argmax(ee))
    rate = np.gradient(eversion, t)[inside]
    return {
        "eversion_ic": ev_ic,
        "eversion_peak": float(ee[k]),
        "eversion_excursion": float(ee[k] - ev_ic),
        "eversion_velocity_peak": float(max(rate.max(), 0.0)),
        "time_to_peak_eversion": float(100.0 * (tt[k] - ic) / (fc - ic)),
    }


def stance_curve(t: np.ndarray, values: np.ndarray, ic: float, fc: float) -> np.ndarray:
    """``values`` resampled at 101 points from ``ic`` to ``fc`` (0..100 % stance)."""
    return np.interp(np.linspace(ic, fc, CURVE_POINTS), t, values)


@dataclass
class FootResult:
    """Everything the foot step found for one sensor.

    ``strides``: column name -> array, one entry per stride (FOOT_COLUMNS except side/stride, plus
    ``foot_clearance``, ``quality`` and ``ms``); ``curves`` (k, 101) stance eversion; ``quality``: JSON-ready dict.
    """

    strides: dict[str, np.ndarray]
    curves: np.ndarray
    alignment: FootAlignment
    events: FootEvents
    quality: dict = field(default_factory=dict)
    eversion_zero: float = 0.0  # deg, the offset subtracted from the eversion angle
    gravity: float = 9.80665  # m/s^2, used for the trajectories


def _foot_frame(acc: np.ndarray, gyr: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # row-wise rotation written out: a BLAS matmul with an inner dimension of 3 is slow on long arrays
    def rot(x: np.ndarray) -> np.ndarray:
        return x[:, :1] * R[:, 0] + x[:, 1:2] * R[:, 1] + x[:, 2:3] * R[:, 2]

    return rot(acc), rot(gyr)


def _up_at(a_foot: np.ndarray, i: int, half: int) -> np.ndarray:
    seg = a_foot[max(i - half, 0) : i + half + 1]
    return seg.mean(axis=0)


def mid_stance_up(
    a: np.ndarray,
    R_int: np.ndarray,
    ev: FootEvents,
    rate_hz: float,
    shoe: np.ndarray | None = None,
    still_threshold: float = 0.0,
) -> np.ndarray:
    """Gravity direction (k, 3) in the foot frame at each stance's mid-stance sample.

    A foot that is still at mid-stance (SHOE statistic ``shoe`` below ``still_threshold`` throughout +/-20 ms):
    the mean accelerometer over these +/-20 ms. A foot that never rests (running) and has a stride after this
    stance: the mean specific force over that stride (mid-stance to mid-stance, zero velocity at both ends)
    rotated into the mid-stance frame by the gyroscope, where the foot's own accelerations integrate to zero;
    below the threshold only momentarily, with a stride before: that stride's mean likewise. (The still
    estimate is preferred where it exists: a clipped heel-strike impact biases the stride mean.)
    """
    half = max(round(0.02 * rate_hz), 1)
    ups = np.empty((ev.ms.size, 3))
    for k, m in enumerate(ev.ms):
        ups[k] = _up_at(a, int(m), half)
    if shoe is None:
        shoe = np.full(a.shape[0], np.inf)

    def stride_mean(k: int, at: int) -> np.ndarray:
        i0, i1 = int(ev.ms[k]), int(ev.ms[k + 1])
        return np.einsum("ji,kjl,kl->ki", R_int[at], R_int[i0 : i1 + 1], a[i0 : i1 + 1]).mean(
            axis=0
        )

    for k, m in enumerate(ev.ms):
        m = int(m)
        if m >= shoe.size:  # a stance at the window's very end
            continue
        if shoe[m] >= still_threshold:
            if k < ev.stride_ok.size and ev.stride_ok[k] and ev.ms[k + 1] - m >= 3:
                ups[k] = stride_mean(k, m)
        elif _momentary_rest(shoe, m, still_threshold, half) and (
            k > 0 and ev.stride_ok[k - 1] and m - ev.ms[k - 1] >= 3
        ):
            # a momentary rest (a running foot may dip below the threshold for a sample while it accelerates
            # at a steady few m/s^2, which the statistic does not see: ~10 deg of tilt in the mean): the
            # preceding stride's mean, known at this mid-stance already (as the online analyzer expects)
            ups[k] = stride_mean(k - 1, m)
    return _unit(ups)


def _momentary_rest(shoe: np.ndarray, m: int, still_threshold: float, half: int) -> bool:
    """Whether the SHOE statistic is below ``still_threshold`` at sample ``m`` but not throughout +/-``half``."""
    return bool(
        shoe[m] < still_threshold
        and not (shoe[max(m - half, 0) : m + half + 1] < still_threshold).all()
    )


def tilt_uncertain_mask(ev: FootEvents, shoe: np.ndarray, rate_hz: float) -> np.ndarray:
    """Samples (n,) marking the mid-stances whose gravity direction came from a momentary rest with no stride
    before it (the first stance of a running bout, :func:`mid_stance_up`): the accelerometer there may be
    tilted by the foot's own acceleration by up to ~10 deg, so the stride's eversion is flagged."""
    half = max(round(0.02 * rate_hz), 1)
    out = np.zeros(shoe.size, dtype=bool)
    for k, m in enumerate(ev.ms):
        m = int(m)
        if m < shoe.size and _momentary_rest(shoe, m, STILL_MIDSTANCE, half):
            if not (k > 0 and ev.stride_ok[k - 1] and m - ev.ms[k - 1] >= 3):
                out[m] = True
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def analyze_foot(
    t0: float,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float,
    side: str,
    *,
    static: np.ndarray | None = None,
    flagged: dict[str, np.ndarray] | None = None,
    mounting: np.ndarray | str | FootAlignment | None = None,
    gravity: float | None = None,
    eversion_zero: float | None = None,
) -> FootResult:
    """Run the foot step on one uniformly sampled shoe sensor.

    ``t0`` session time (s) of sample 0; ``acc`` (n, 3) m/s^2 and ``gyr`` (n, 3) deg/s in the sensor frame;
    ``side`` 'left'/'right'; ``static`` (n,) mask of the standing calibration; ``flagged``: reason -> (n,) mask of
    samples not to trust (gaps, saturation) that flag the strides overlapping them; ``mounting``: a declared
    sensor -> foot rotation or preset name, or a :class:`FootAlignment` found earlier (skips the estimation).
    ``gravity`` (m/s^2) and ``eversion_zero`` (deg) replace the values this recording would give; the online
    analyzer (:mod:`imu_gait.pipeline.online`) passes the ones of its calibration period with the alignment.
    """
    flagged = flagged or {}
    still = still_mask(acc, gyr, rate_hz)
    notes: list[str] = []
    if isinstance(mounting, FootAlignment):
        al = mounting
    elif mounting is not None:
        al = declared_foot_alignment(mounting)
    else:
        al = align_foot_sensor(acc, gyr, rate_hz, static=static, still=still)
    a, w = _foot_frame(acc, gyr, al.R)
    shoe = shoe_statistic(a, w, rate_hz)
    ev = detect_foot_events(w[:, 1], shoe, rate_hz, impact_signal(a, rate_hz))
    if mounting is None:
        bounds = _stride_bounds(ev)
        al = refine_foot_alignment(acc, gyr, al, bounds, rate_hz=rate_hz)
        a, w = _foot_frame(acc, gyr, al.R)
        shoe = shoe_statistic(a, w, rate_hz)
        ev = detect_foot_events(w[:, 1], shoe, rate_hz, impact_signal(a, rate_hz))

    if gravity is None:
        gravity = still_gravity(acc, still)
    R_int = quat_to_matrix(integrate_gyro(w, rate_hz))
    ups = mid_stance_up(a, R_int, ev, rate_hz, shoe, STILL_MIDSTANCE)
    traj = _trajectories(a, R_int, ev, rate_hz, gravity, shoe, ZV_THRESHOLD, ups)

    forward = _forward_share(traj)
    if mounting is None and np.isfinite(forward) and forward < 0.5:
        # the pitch pattern chose the wrong sign: the foot travels backwards in this frame
        al = flip_foot_alignment(al)
        a, w = _foot_frame(acc, gyr, al.R)
        shoe = shoe_statistic(a, w, rate_hz)
        ev = detect_foot_events(w[:, 1], shoe, rate_hz, impact_signal(a, rate_hz))
        R_int = quat_to_matrix(integrate_gyro(w, rate_hz))
        ups = mid_stance_up(a, R_int, ev, rate_hz, shoe, STILL_MIDSTANCE)
        traj = _trajectories(a, R_int, ev, rate_hz, gravity, shoe, ZV_THRESHOLD, ups)
        forward = _forward_share(traj)
    if mounting is None:
        al = with_forward_agreement(al, forward)
    side_check = _side_check(traj, side)
    if side_check.get("warning"):
        notes.append(side_check["warning"])

    uncertain = tilt_uncertain_mask(ev, shoe, rate_hz)
    if uncertain.any():
        flagged = {**flagged, "tilt_uncertain": uncertain}
    strides, curves, zero_info, zero = _stride_table(
        t0, a, R_int, ev, traj, rate_hz, side, static, flagged, al, eversion_zero, ups
    )
    mirror = loading_eversion_check(curves, strides.get("activity"), side)
    if mirror.get("warning"):
        notes.append(mirror["warning"])
    quality = {
        "alignment": al.to_json(),
        "side_check": side_check,
        "loading_eversion": mirror,
        "eversion_zero": zero_info,
        "gravity_m_s2": round(gravity, 4),
        "n_stances": int(ev.ic.size),
        "n_strides": len(strides["ic"]),
        "warnings": notes,
    }
    return FootResult(strides, curves, al, ev, quality, zero, gravity)


def loading_eversion_check(
    curves: np.ndarray, activity: np.ndarray | None, side: str
) -> dict[str, Any]:
    """Whether the shoe everts in early stance: from contact to 20 % of stance (loading response) the rearfoot
    and shoe evert in walking and running (pronation; simulated walking, stairs and running 4.6-7.3 deg, every
    stride; the real walk's left foot 5.7, its right foot -0.9). A foot that clearly inverts there instead on
    most level strides (``INVERTING_MEDIAN_DEG``, ``INVERTING_SHARE``) is seen in a mirror: its sensor belongs to
    the other foot, or its accelerometer reads gravity with the opposite sign (both give -5.7 deg, no stride
    everting, on the real walk). ``curves`` (k, CURVE_POINTS) eversion over stance (deg), ``activity`` per
    stride."""
    level = np.isin(np.asarray(activity if activity is not None else []), ("walk", "run"))
    if curves.shape[0] != level.size or level.sum() < MIN_LEVEL_STRIDES:
        return {"strides": int(level.sum()), "warning": ""}
    i20 = round(0.2 * (CURVE_POINTS - 1))
    change = curves[level, i20] - curves[level, 0]
    change = change[np.isfinite(change)]
    if change.size < MIN_LEVEL_STRIDES:
        return {"strides": int(change.size), "warning": ""}
    median, everting = float(np.median(change)), float(np.mean(change > 0))
    warning = ""
    if median < INVERTING_MEDIAN_DEG and everting < 1.0 - INVERTING_SHARE:
        warning = (
            f"{side} foot: the shoe inverts after contact on {1 - everting:.0%} of level strides (median "
            f"{median:.1f} deg by 20% of stance), where feet evert: the sensor may be on the other foot (left and "
            "right swapped), or its accelerometer reads gravity with the opposite sign (a mirror image of the "
            "walk); eversion values are then of the wrong sign"
        )
    return {
        "strides": int(change.size),
        "median_deg": round(median, 2),
        "everting_share": round(everting, 3),
        "warning": warning,
    }


def still_gravity(acc: np.ndarray, still: np.ndarray) -> float:
    """Local magnitude of gravity (m/s^2): median |acc| over the still samples (standard gravity if too few)."""
    return float(np.median(np.linalg.norm(acc[still], axis=1))) if still.sum() > 10 else 9.80665


def _stride_bounds(ev: FootEvents) -> np.ndarray:
    k = np.flatnonzero(ev.stride_ok)
    if k.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    return np.column_stack([np.floor(ev.ic[k]), np.ceil(ev.ic[k + 1])]).astype(np.int64)


def _trajectories(
    a: np.ndarray,
    R_int: np.ndarray,
    ev: FootEvents,
    rate_hz: float,
    gravity: float,
    shoe: np.ndarray,
    zv_threshold: float,
    ups: np.ndarray,
) -> dict[int, object]:
    out = {}
    for k in np.flatnonzero(ev.stride_ok):
        i0, i1 = int(ev.ms[k]), int(ev.ms[k + 1])
        if i1 - i0 < 3:
            continue
        contact = int(np.ceil(ev.ic[k + 1])) - i0
        flat = np.flatnonzero(shoe[i0 + contact : i1 + 1] < zv_threshold) + contact
        out[int(k)] = stride_trajectory(
            a[i0 : i1 + 1],
            R_int[i0 : i1 + 1],
            ups[k],
            ups[k + 1],
            rate_hz,
            gravity,
            contact=contact if 0 < contact < i1 - i0 else None,
            still_end=flat,
        )
    return out


def _forward_share(traj: dict) -> float:
    """Share of strides (longer than 0.2 m) whose displacement points along the foot's +x."""
    votes = [float(tr.direction @ tr.foot_x) > 0 for tr in traj.values() if tr.length > 0.2]
    return float(np.mean(votes)) if votes else float("nan")


def _side_check(traj: dict, side: str) -> dict:
    """Foot progression angle (toe-out positive) per stride; a consistent toe-in of the declared side suggests
    the placement's side is swapped (most people walk with 5-15 deg toe-out)."""
    ang = [signed_angle_2d(tr.direction, tr.foot_x) for tr in traj.values() if tr.length > 0.3]
    if len(ang) < 4:
        return {"progression_angle_deg": None, "warning": ""}
    sign = 1.0 if side == "left" else -1.0
    toe_out = sign * float(np.median(ang))
    consistent = float(np.mean(np.sign(ang) == np.sign(np.median(ang))))
    warning = ""
    if toe_out < -4.0 and consistent > 0.8:
        warning = (
            f"{side} foot: median foot progression angle {toe_out:.1f} deg (toe-in) on every stride; "
            "check that the sensor is on the {side} shoe (left and right may be swapped)"
        ).replace("{side}", side)
    return {
        "progression_angle_deg": round(toe_out, 2),
        "consistency": round(consistent, 3),
        "warning": warning,
    }


def _stride_table(
    t0: float,
    a: np.ndarray,
    R_int: np.ndarray,
    ev: FootEvents,
    traj: dict,
    rate_hz: float,
    side: str,
    static: np.ndarray | None,
    flagged: dict[str, np.ndarray],
    al: FootAlignment,
    zero: float | None = None,
    ups: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, dict, float]:
    n = a.shape[0]
    if ups is None:
        ups = mid_stance_up(a, R_int, ev, rate_hz)
    pad = max(round(0.1 * rate_hz), 3)
    ks = [k for k in np.flatnonzero(ev.stride_ok) if int(k) in traj]
    rows: dict[str, list] = {
        c: []
        for c in (
            *FOOT_COLUMNS[3:13],
            "foot_clearance",
            "ms",
            "flags",
            "raw_ev_t",
            "raw_ev",
            "raw_ms_ev",
        )
    }
    windows: list[tuple[int, int, np.ndarray]] = []
    for k in ks:
        tr = traj[k]
        ic, fc, end = ev.ic[k], ev.fc[k], ev.ic[k + 1]
        stride_time = (end - ic) / rate_hz
        stance_time = (fc - ic) / rate_hz
        i0 = max(int(np.floor(ic)) - pad, 0)
        i1 = min(int(np.ceil(fc)) + pad + 1, n)
        ms = int(ev.ms[k])
        windows.append((i0, i1, tilt_from_gravity(ups[k]) @ R_int[ms].T))
        rows["ic"].append(t0 + ic / rate_hz)
        rows["fc"].append(t0 + fc / rate_hz)
        rows["end"].append(t0 + end / rate_hz)
        rows["stride_time"].append(stride_time)
        rows["stance_time"].append(stance_time)
        rows["swing_time"].append(stride_time - stance_time)
        rows["cadence"].append(120.0 / stride_time)
        rows["stride_length"].append(tr.length)
        rows["speed"].append(tr.length / stride_time)
        rows["elevation_change"].append(tr.elevation)
        rows["foot_clearance"].append(tr.clearance)
        rows["ms"].append(t0 + ms / rate_hz)
        rows["raw_ev_t"].append(np.arange(i0, i1) / rate_hz)
        rows["raw_ms_ev"].append(ms - i0)
        lo, hi = int(np.floor(ic)), int(np.ceil(end)) + 1
        f = [name for name, m in flagged.items() if m[lo:hi].any()]
        if tr.tilt_error_deg > 10.0:
            f.append("orientation_drift")
        rows["flags"].append(f)
    rows["raw_ev"] = _eversion_windows(R_int, windows, side, rate_hz)
    rows["raw_ms_ev"] = [
        float(e[i]) for e, i in zip(rows["raw_ev"], rows["raw_ms_ev"], strict=True)
    ]
    cols = {
        c: np.asarray(v, dtype=np.float64)
        for c, v in rows.items()
        if c in FOOT_COLUMNS or c in ("foot_clearance", "ms")
    }
    k_arr = np.asarray(ks, dtype=np.int64)
    # (a stance at the very end of the data may put its mid-stance one past the last sample)
    turn = stride_heading_change(
        R_int, np.minimum(ev.ms[k_arr], n - 1), np.minimum(ev.ms[k_arr + 1], n - 1)
    )
    activity = classify_activity(
        cols["stride_time"],
        cols["stance_time"],
        cols["stride_length"],
        cols["elevation_change"],
        heading_change=turn,
    )
    if zero is None:
        zero, zero_info = _eversion_zero(a, static, side, np.asarray(rows["raw_ms_ev"]), activity)
    else:
        zero_info = {"source": "given (online calibration)", "offset_deg": round(zero, 3)}
    curves = np.zeros((len(ks), CURVE_POINTS))
    metrics: dict[str, list] = {c: [] for c in FOOT_COLUMNS[13:]}
    for j in range(len(ks)):
        tt, ee = rows["raw_ev_t"][j], rows["raw_ev"][j] - zero
        ic_s, fc_s = ev.ic[ks[j]] / rate_hz, ev.fc[ks[j]] / rate_hz
        for name, v in pronation_metrics(tt, ee, ic_s, fc_s).items():
            metrics[name].append(v)
        curves[j] = stance_curve(tt, ee, ic_s, fc_s)
    for name, v in metrics.items():
        cols[name] = np.asarray(v, dtype=np.float64)
    quality = []
    for j in range(len(ks)):
        f = list(rows["flags"][j])
        if activity[j] == "other":
            f.append("implausible_stride")
        if al.confidence < 0.5:
            f.append("low_alignment_confidence")
        quality.append(";".join(f) if f else "ok")
    cols["activity"] = activity
    cols["quality"] = np.asarray(quality, dtype=object)
    return cols, curves, zero_info, zero


def _eversion_windows(
    R_int: np.ndarray, windows: list[tuple[int, int, np.ndarray]], side: str, rate_hz: float
) -> list[np.ndarray]:
    """Low-passed eversion (deg, no zero offset) for each window (i0, i1, anchor): the orientation is
    ``anchor @ R_int[i]``. All windows are computed and filtered in one batch."""
    if not windows:
        return []
    lengths = np.array([i1 - i0 for i0, i1, _ in windows])
    idx = np.concatenate([np.arange(i0, i1) for i0, i1, _ in windows])
    sid = np.repeat(np.arange(len(windows)), lengths)
    anchors = np.stack([w[2] for w in windows])
    R = np.einsum("kij,kjl->kil", anchors[sid], R_int[idx])
    ev = foot_eversion(R, side)
    # pad every window to the same length with its last value and filter them together (zero-phase)
    L = int(lengths.max())
    block = np.empty((L, len(windows)))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for j, (s0, n) in enumerate(zip(starts, lengths, strict=True)):
        block[:n, j] = ev[s0 : s0 + n]
        block[n:, j] = ev[s0 + n - 1]
    block = lowpass(block, rate_hz, EVERSION_LOWPASS_HZ)
    return [block[:n, j] for j, n in enumerate(lengths)]


def _eversion_zero(
    a: np.ndarray,
    static: np.ndarray | None,
    side: str,
    ms_eversion: np.ndarray,
    activity: np.ndarray,
) -> tuple[float, dict]:
    """Eversion offset (deg): the foot-flat angle in the static calibration, else the median mid-stance angle
    of level-walking strides."""
    if static is not None and static.sum() > 5:
        up = a[static].mean(axis=0)
        z = float(foot_eversion(tilt_from_gravity(up), side))
        return z, {"source": "static calibration", "offset_deg": round(z, 3)}
    level = ms_eversion[activity == "walk"]
    if level.size == 0:
        level = ms_eversion
    if level.size == 0:
        return 0.0, {"source": "none (no strides)", "offset_deg": 0.0}
    z = float(np.median(level))
    return z, {"source": "median mid-stance of level strides", "offset_deg": round(z, 3)}
