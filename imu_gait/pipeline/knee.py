"""Knee frontal-plane kinematics from thigh and shank sensors (DESIGN.md section 6), and the entry point
:func:`analyze_knee` that also runs the pelvis, shank-event and squat steps.

Chain: VQF orientation of each sensor (:mod:`.vqf_orientation`; gyro bias from the standing window) ->
functional knee axis (:mod:`.joint_axis`, from gait when the session has some) -> axis signs and segment frames
from standing + axis (:mod:`.segment_calibration`, :func:`align_knee`) -> heading alignment of the shank to the
thigh by the joint constraint -> Grood & Suntay angles (:func:`imu_gait.anatomy.knee_angles`) minus the standing
offsets (ab/adduction low-passed at 20 Hz) -> per-stride columns, curves, squat repetitions, crosstalk and
plausibility in quality.

Heading: 6D orientations have an arbitrary, slowly drifting heading per sensor. At a hinge the flexion axis seen
from the thigh and from the shank is the same line in space, so the heading offset that rotates the shank's
axis (in its ground frame) onto the thigh's is estimated over a sliding window of a few strides; within the
window the gyroscopes carry the relative rotation (knee rotation and ab/adduction stay measurable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from imu_gait.anatomy import Side, knee_angles
from imu_gait.columns import CURVE_POINTS, KNEE_COLUMNS, STRIDE_KEY_COLUMNS
from imu_gait.pipeline.joint_axis import (
    acceleration_at,
    estimate_hinge_axes,
    estimate_joint_position,
)
from imu_gait.pipeline.pelvis import pelvic_drop_peaks, pelvic_drop_series, pelvis_frame
from imu_gait.pipeline.segment_calibration import (
    detect_still,
    resolve_hinge_signs,
    rotation_about_axis,
    segment_frame,
    unit,
    up_in_sensor,
    window_mask,
)
from imu_gait.pipeline.shank_events import shank_events, strides_from_events
from imu_gait.pipeline.squats import DETECTED_TASK, detect_task_segments, squat_table
from imu_gait.pipeline.vqf_orientation import (
    LOSSY_FRACTION,
    MIN_STILL_SAMPLES,
    Orientation,
    common_grid,
    interpolate_imu,
    lost_fraction,
    orientations_on_grid,
)
from imu_gait.pipeline.vqf_orientation import bias_series as vqf_bias_series
from imu_gait.session import ImuData, Session


def heading_offset(
    a: np.ndarray,
    b: np.ndarray,
    rate_hz: float,
    window_s: float = 6.0,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Heading angle (rad, (n,)) that rotates vectors ``b`` (n, 3) about ground z onto ``a`` (n, 3), as a
    weighted circular mean over a centred window of ``window_s`` seconds (weights: product of horizontal norms,
    times ``weights``)."""
    cross = b[:, 0] * a[:, 1] - b[:, 1] * a[:, 0]
    dot = b[:, 0] * a[:, 0] + b[:, 1] * a[:, 1]
    if weights is not None:
        cross, dot = cross * weights, dot * weights
    size = max(1, round(window_s * rate_hz))
    if size >= a.shape[0]:
        return np.full(a.shape[0], np.arctan2(cross.sum(), dot.sum()))
    cross = uniform_filter1d(cross, size, mode="nearest")
    dot = uniform_filter1d(dot, size, mode="nearest")
    return np.arctan2(cross, dot)


def heading_matrices(delta: np.ndarray) -> np.ndarray:
    """Rotations about ground z by ``delta`` (rad, (n,)), shape (n, 3, 3)."""
    c, s = np.cos(delta), np.sin(delta)
    out = np.zeros((delta.size, 3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = c, -s, s, c, 1.0
    return out


def extension_weights(flexion_deg: np.ndarray, scale_deg: float = 15.0) -> np.ndarray:
    """Weights favouring a nearly extended knee, where knee rotation is close to its standing value (the
    rotation coupled to flexion, "screw-home", vanishes in extension)."""
    f = np.maximum(flexion_deg, 0.0) / scale_deg
    return np.exp(-0.5 * f * f)


def _fit_axis_and_heading(
    R_thigh: np.ndarray,
    R_shank: np.ndarray,
    gyr_thigh: np.ndarray,
    gyr_shank: np.ndarray,
    long_shank: np.ndarray,
    j_thigh: np.ndarray,
    delta: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Knee axis in the thigh sensor frame and a heading correction (rad) such that the relative angular rate
    lies in the plane of the flexion axis and the shank's long axis (Grood & Suntay: flexion about the thigh
    axis, rotation about the tibial axis; abduction rate, the out-of-plane part, is small)."""
    from scipy.optimize import least_squares

    w_t = np.deg2rad(gyr_thigh)
    w_s = np.deg2rad(gyr_shank)
    Rt_T = np.swapaxes(R_thigh, 1, 2)

    def residual(p: np.ndarray) -> np.ndarray:
        j = np.array([np.cos(p[0]) * np.cos(p[1]), np.cos(p[0]) * np.sin(p[1]), np.sin(p[0])])
        Q = Rt_T @ heading_matrices(delta + p[2]) @ R_shank
        rel = np.einsum("nij,nj->ni", Q, w_s) - w_t
        u = Q @ long_shank
        n = np.cross(j, u)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        return np.sum(rel * n, axis=1)

    j0 = unit(j_thigh)
    p0 = np.array([np.arcsin(np.clip(j0[2], -1, 1)), np.arctan2(j0[1], j0[0]), 0.0])
    sol = least_squares(residual, p0, x_scale=[0.1, 0.1, 0.1], loss="soft_l1", f_scale=0.2)
    p = sol.x
    j = np.array([np.cos(p[0]) * np.cos(p[1]), np.cos(p[0]) * np.sin(p[1]), np.sin(p[0])])
    return (j if np.dot(j, j0) >= 0 else -j), float(p[2])


@dataclass(frozen=True)
class KneeAlignment:
    """Knee axis in each sensor frame (pointing left), segment axes ``C_*`` (columns x, y, z in sensor
    coordinates) and the heading offset ``delta`` (rad, (n,)) that rotates the shank's ground frame onto the
    thigh's."""

    j_thigh: np.ndarray
    j_shank: np.ndarray
    C_thigh: np.ndarray
    C_shank: np.ndarray
    delta: np.ndarray


def align_knee(
    R_thigh: np.ndarray,
    R_shank: np.ndarray,
    gyr_thigh: np.ndarray,
    gyr_shank: np.ndarray,
    up_thigh: np.ndarray,
    up_shank: np.ndarray,
    j_thigh: np.ndarray,
    j_shank: np.ndarray,
    moving: np.ndarray,
    rate_hz: float,
    window_s: float = 6.0,
    iterations: int = 1,
) -> KneeAlignment:
    """Refine the hinge axes (signed, from :func:`.segment_calibration.resolve_hinge_signs`), estimate the
    thigh-shank heading offset by the joint constraint, and build the segment frames.

    1. Heading: the offset that makes the knee axis seen from both segments coincide in the ground frame,
       averaged over ``window_s`` and weighted towards an extended knee (:func:`extension_weights`).
    2. With ``iterations`` > 0: the Seel constraint treats the knee as a hinge, so flexion-coupled axial
       rotation of the tibia tilts the fitted axes (about 10 deg for 10 deg of rotation in simulation). The
       thigh axis and a constant heading correction are refitted so that the relative angular rate lies in the
       plane of the flexion axis and the tibial long axis (:func:`_fit_axis_and_heading`), over the samples
       ``moving`` (the caller passes the swing phases when there are enough); the shank axis is then the thigh
       axis seen from the shank while the knee is extended.
    3. Frames: the thigh keeps the functional axis as its y axis (a thigh adducted in standing keeps its
       frontal tilt, which would otherwise leak into abduction at large flexion); the shank takes z from
       standing (its frontal tilt only offsets abduction, removed with the standing value).
    """
    flex = rotation_about_axis(R_shank, up_shank, j_shank) - rotation_about_axis(
        R_thigh, up_thigh, j_thigh
    )
    weights = extension_weights(flex)
    delta = heading_offset(R_thigh @ j_thigh, R_shank @ j_shank, rate_hz, window_s, weights)
    if iterations > 0:
        idx = np.flatnonzero(moving)
        if idx.size > 4000:
            idx = idx[np.linspace(0, idx.size - 1, 4000).round().astype(int)]
        j_thigh, c = _fit_axis_and_heading(
            R_thigh[idx],
            R_shank[idx],
            gyr_thigh[idx],
            gyr_shank[idx],
            unit(up_shank),
            j_thigh,
            delta[idx],
        )
        delta = delta + c
        Q = np.swapaxes(R_thigh, 1, 2) @ heading_matrices(delta) @ R_shank
        ext = weights > 0.5
        seen = np.einsum("nji,j->ni", Q[ext] if ext.any() else Q, j_thigh).mean(axis=0)
        j_shank = unit(seen)
    return KneeAlignment(
        j_thigh=j_thigh,
        j_shank=j_shank,
        C_thigh=segment_frame(up_thigh, j_thigh, primary="y"),
        C_shank=segment_frame(up_shank, j_shank),
        delta=delta,
    )


def knee_angles_aligned(
    R_thigh: np.ndarray, R_shank: np.ndarray, alignment: KneeAlignment, side: Side
) -> np.ndarray:
    """Raw knee angles (deg, (n, 3): flexion, abduction, internal rotation) of heading-aligned segments."""
    seg_thigh = R_thigh @ alignment.C_thigh
    seg_shank = heading_matrices(alignment.delta) @ R_shank @ alignment.C_shank
    return knee_angles(seg_thigh, seg_shank, side)


@dataclass(frozen=True)
class KneeCalibration:
    """One knee's sensor-to-segment calibration, reusable for later data of the same strapping (a squat
    session of the same visit, the live pipeline): the hinge axis (pointing left) and the segment axes
    (columns x, y, z) in each sensor frame, the standing up directions, the raw angles while standing that are
    subtracted (deg: flexion, abduction, rotation) and where the axis came from.

    ``centre_thigh`` / ``centre_shank``: the knee centre relative to each sensor (m, sensor frame; Seel et al.
    2014 joint position), like the axes a property of the mounting. None when unknown (a calibration saved
    before it was stored, or an implausible estimate): then each analysis estimates it from its own data.

    ``bias_thigh`` / ``bias_shank``: each gyroscope's mean reading while standing (deg/s, sensor frame), the
    bias the whole session's orientation filter starts from; data without a standing window of its own (the
    online analyzer's windows) start from it too. None without a standing window."""

    side: Side
    j_thigh: np.ndarray
    j_shank: np.ndarray
    C_thigh: np.ndarray
    C_shank: np.ndarray
    up_thigh: np.ndarray
    up_shank: np.ndarray
    offset: np.ndarray
    axis_from: str
    heading_window_s: float = 6.0
    centre_thigh: np.ndarray | None = None
    centre_shank: np.ndarray | None = None
    bias_thigh: np.ndarray | None = None
    bias_shank: np.ndarray | None = None

    @property
    def centre(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(thigh, shank) knee-centre positions (m, sensor frames), or None when not both are known."""
        if self.centre_thigh is None or self.centre_shank is None:
            return None
        return self.centre_thigh, self.centre_shank


CALIBRATION_ARRAYS = (
    "j_thigh",
    "j_shank",
    "C_thigh",
    "C_shank",
    "up_thigh",
    "up_shank",
    "offset",
    "centre_thigh",
    "centre_shank",
    "bias_thigh",
    "bias_shank",
)


def calibration_to_dict(cal: KneeCalibration) -> dict[str, Any]:
    """A JSON-ready dict of ``cal`` (it is written to quality.json, ``knee.<side>.calibration``; an unknown
    knee centre as null)."""
    out: dict[str, Any] = {}
    for name in KneeCalibration.__dataclass_fields__:
        v = getattr(cal, name)
        out[name] = np.round(v, 8).tolist() if isinstance(v, np.ndarray) else v
    return out


def calibration_from_dict(d: Mapping[str, Any]) -> KneeCalibration:
    """The inverse of :func:`calibration_to_dict` (a dict without the knee centre, as saved before it was
    stored, gives an unknown one)."""
    kw = {
        k: (np.asarray(v, dtype=np.float64) if k in CALIBRATION_ARRAYS and v is not None else v)
        for k, v in d.items()
    }
    return KneeCalibration(**kw)


def knee_angles_calibrated(
    R_thigh: np.ndarray, R_shank: np.ndarray, cal: KneeCalibration, rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Knee angles (deg, (n, 3): flexion, abduction, internal rotation, minus the standing offset) and the
    heading offset (rad, (n,)) from the sensor orientations ``R_*`` (VQF, sensor -> own ground frame) sampled at
    ``rate_hz``. Ab/adduction and rotation are low-passed at :data:`ANGLE_LOWPASS_HZ` (zero-phase) against
    impact ringing and strap wobble, which would bias the per-stride valgus peaks upwards; flexion keeps its
    full bandwidth."""
    flex = rotation_about_axis(R_shank, cal.up_shank, cal.j_shank) - rotation_about_axis(
        R_thigh, cal.up_thigh, cal.j_thigh
    )
    delta = heading_offset(
        R_thigh @ cal.j_thigh,
        R_shank @ cal.j_shank,
        rate_hz,
        cal.heading_window_s,
        extension_weights(flex),
    )
    al = KneeAlignment(cal.j_thigh, cal.j_shank, cal.C_thigh, cal.C_shank, delta)
    ang = knee_angles_aligned(R_thigh, R_shank, al, cal.side)
    ang[:, 1:] = _lowpass(ang[:, 1:], rate_hz, ANGLE_LOWPASS_HZ)
    return ang - cal.offset, delta


def crosstalk(flexion: np.ndarray, abduction: np.ndarray) -> dict[str, float]:
    """Linear flexion/abduction crosstalk: Pearson r and the principal-axis slope (deg abduction per deg
    flexion) of the (flexion, abduction) cloud, as used by the PCA correction of Baudet et al. (2014, PLoS ONE
    9:e102098)."""
    f = flexion - flexion.mean()
    a = abduction - abduction.mean()
    cov = np.cov(np.vstack([f, a]))
    r = (
        float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
        if cov[0, 0] > 0 and cov[1, 1] > 0
        else 0.0
    )
    _, vecs = np.linalg.eigh(cov)
    major = vecs[:, -1]
    slope = float(major[1] / major[0]) if abs(major[0]) > 1e-12 else 0.0
    return {"r": r, "slope": slope}


def pca_crosstalk_correction(
    flexion: np.ndarray, abduction: np.ndarray, slope: float
) -> np.ndarray:
    """Abduction with the flexion-proportional part removed (Baudet et al. 2014; Jensen et al. 2016, J Biomech
    49:1698): rotation of the (flexion, abduction) plane by the principal-axis angle, small-angle form."""
    return abduction - slope * flexion


def _interp(t: np.ndarray, y: np.ndarray, at: float) -> float:
    return float(np.interp(at, t, y))


def _span(t: np.ndarray, y: np.ndarray, t0: float, t1: float) -> np.ndarray:
    sel = (t >= t0) & (t <= t1)
    return y[sel]


def time_normalised(
    t: np.ndarray, y: np.ndarray, t0: float, t1: float, n: int = CURVE_POINTS
) -> np.ndarray:
    """``y`` interpolated at ``n`` equally spaced times from ``t0`` to ``t1`` (0..100 %)."""
    return np.interp(np.linspace(t0, t1, n), t, y)


def stride_knee_metrics(
    t: np.ndarray, flexion: np.ndarray, abduction: np.ndarray, ic: float, fc: float
) -> dict[str, float]:
    """Per-stride knee columns (deg): abduction at IC, peak in stance (IC..FC), frontal excursion (peak minus
    IC value), peak flexion in the first 60 % of stance."""
    nan = dict.fromkeys(KNEE_COLUMNS, np.nan)
    if not (np.isfinite(ic) and np.isfinite(fc)) or fc <= ic or ic < t[0] or fc > t[-1]:
        return nan
    # the window ends are included, interpolated: a curve still rising there (flexion in stair descent) would
    # otherwise give a peak that depends on where the samples fall
    early_end = ic + 0.6 * (fc - ic)
    abd_stance = _span(t, abduction, ic, fc)
    flex_early = _span(t, flexion, ic, early_end)
    a_ic = _interp(t, abduction, ic)
    peak = float(max(abd_stance.max(initial=a_ic), _interp(t, abduction, fc)))
    flex_peak = float(
        max(flex_early.max(initial=_interp(t, flexion, ic)), _interp(t, flexion, early_end))
    )
    return {
        "knee_abduction_ic": a_ic,
        "knee_abduction_peak": peak,
        "knee_frontal_excursion": peak - a_ic,
        "knee_flexion_peak_stance": flex_peak,
    }


def knee_stride_table(
    t: np.ndarray,
    flexion: np.ndarray,
    abduction: np.ndarray,
    strides: pd.DataFrame,
    side: Side,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Knee columns per stride of ``side`` (rows of ``strides`` with ic, fc, end) and the long-format curves
    (knee_abduction over stance, knee_flexion over the stride; 101 points). ``t`` increasing (s).

    The values are those of :func:`stride_knee_metrics` and :func:`time_normalised` per stride, computed for
    all strides at once: stance spans as index ranges (``searchsorted``) instead of masks over the whole
    recording, and one interpolation call for all the points (hours of data have thousands of strides)."""
    mine = strides[strides["side"] == side]
    if not len(mine):
        return (
            pd.DataFrame([], columns=["side", "stride", *KNEE_COLUMNS]),
            pd.DataFrame(columns=["side", "stride", "variable", "pct", "value"]),
        )
    number = np.array([int(v) for v in mine["stride"]], dtype=np.int64)
    ic = mine["ic"].to_numpy(dtype=np.float64)
    fc = mine["fc"].to_numpy(dtype=np.float64)
    end = mine["end"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(ic) & np.isfinite(fc) & (fc > ic) & (ic >= t[0]) & (fc <= t[-1])
    cols = {c: np.full(ic.size, np.nan) for c in KNEE_COLUMNS}
    k = np.flatnonzero(ok)
    if k.size:
        ic_k, fc_k = ic[k], fc[k]
        a_ic = np.interp(ic_k, t, abduction)
        f_ic = np.interp(ic_k, t, flexion)
        lo = np.searchsorted(t, ic_k, side="left")  # first sample with t >= ic
        hi = np.searchsorted(t, fc_k, side="right")  # first sample with t > fc
        early_end = ic_k + 0.6 * (fc_k - ic_k)
        hi_early = np.searchsorted(t, early_end, side="right")
        # window ends included, interpolated (see stride_knee_metrics)
        peak = np.maximum(a_ic, np.interp(fc_k, t, abduction))
        flex_peak = np.maximum(f_ic, np.interp(early_end, t, flexion))
        for j in range(k.size):
            if hi[j] > lo[j]:
                peak[j] = max(float(abduction[lo[j] : hi[j]].max()), peak[j])
            if hi_early[j] > lo[j]:
                flex_peak[j] = max(float(flexion[lo[j] : hi_early[j]].max()), flex_peak[j])
        cols["knee_abduction_ic"][k] = a_ic
        cols["knee_abduction_peak"][k] = peak
        cols["knee_frontal_excursion"][k] = peak - a_ic
        cols["knee_flexion_peak_stance"][k] = flex_peak
    table = pd.DataFrame({"side": side, "stride": number, **cols})
    with np.errstate(invalid="ignore"):
        c = np.flatnonzero(ok & (end <= t[-1]))
    if not c.size:
        return table, pd.DataFrame(columns=["side", "stride", "variable", "pct", "value"])
    # per stride: knee_abduction over stance, then knee_flexion over the stride
    values = np.empty((c.size, 2, CURVE_POINTS))
    values[:, 0] = np.interp(
        np.linspace(ic[c], fc[c], CURVE_POINTS, axis=1).ravel(), t, abduction
    ).reshape(c.size, CURVE_POINTS)
    values[:, 1] = np.interp(
        np.linspace(ic[c], end[c], CURVE_POINTS, axis=1).ravel(), t, flexion
    ).reshape(c.size, CURVE_POINTS)
    variable = np.tile(np.repeat(["knee_abduction", "knee_flexion"], CURVE_POINTS), c.size)
    curve_df = pd.DataFrame(
        {
            "side": side,
            "stride": np.repeat(number[c], 2 * CURVE_POINTS),
            "variable": variable,
            "pct": np.tile(np.linspace(0, 100, CURVE_POINTS), 2 * c.size),
            "value": values.ravel(),
        }
    )
    return table, curve_df


@dataclass
class KneeResult:
    """Output of :func:`analyze_knee`.

    ``stride_columns``: one row per (side, stride) with the knee and pelvis columns of strides.csv;
    ``curves``: long format (side, stride, variable, pct, value); ``squats``: squats.csv rows; ``quality``: the
    knee/pelvis section of quality.json; ``strides``: the strides used (given, or detected from the shanks);
    ``angles``: per side a DataFrame of the time series (t, flexion, abduction, rotation, deg) for plots;
    ``gyro_bias``: per sensor the orientation filter's gyroscope-bias estimate
    (:func:`.vqf_orientation.bias_series`), for windows of this recording analysed later (replay).
    """

    stride_columns: pd.DataFrame
    curves: pd.DataFrame
    squats: pd.DataFrame
    quality: dict[str, Any]
    strides: pd.DataFrame
    angles: dict[str, pd.DataFrame] = field(default_factory=dict)
    pelvic_drop: dict[str, pd.DataFrame] = field(default_factory=dict)
    calibration: dict[str, KneeCalibration] = field(default_factory=dict)
    gyro_bias: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


SIDES: tuple[Side, ...] = ("left", "right")


def _empty_result(quality: dict[str, Any], strides: pd.DataFrame | None) -> KneeResult:
    return KneeResult(
        stride_columns=pd.DataFrame(columns=["side", "stride", *KNEE_COLUMNS, "pelvic_drop_peak"]),
        curves=pd.DataFrame(columns=["side", "stride", "variable", "pct", "value"]),
        squats=squat_table(np.zeros(0), {}, {}, []),
        quality=quality,
        strides=strides if strides is not None else pd.DataFrame(columns=list(STRIDE_KEY_COLUMNS)),
    )


def _static_mask(
    session: Session,
    grid: np.ndarray,
    names: list[str],
    quality: dict[str, Any],
    detect: bool = True,
) -> np.ndarray:
    window = session.calibration.get("static") if session.calibration else None
    mask = window_mask(grid, window)
    rate = 1.0 / (grid[1] - grid[0])
    if mask.sum() >= 0.5 * rate:
        quality["static"] = {"source": "session", "window": [float(window[0]), float(window[1])]}
        return mask
    if not detect:
        quality["static"] = {"source": "none", "window": None}
        return np.zeros(grid.size, dtype=bool)
    raw = [interpolate_imu(session.data[n], grid) for n in names]
    found = detect_still(grid, [g for _, g in raw], [a for a, _ in raw])
    if found is not None:
        quality["static"] = {"source": "detected", "window": list(found)}
        return window_mask(grid, found)
    quality["static"] = {"source": "none", "window": None}
    quality["warnings"].append(
        "no standing calibration found: segment 'up' taken from the mean acceleration; absolute angles "
        "are unreliable"
    )
    return np.zeros(grid.size, dtype=bool)


STANDING_ABDUCTION_TOL_DEG = 2.0
STANDING_TILT_TOL_DEG = 5.0


def _standing_check(
    side: str,
    th: Orientation,
    sh: Orientation,
    cal: KneeCalibration,
    ang: np.ndarray,
    static: np.ndarray,
    warnings: list[str],
) -> dict[str, Any]:
    """How this session's standing compares with the given calibration's, whose standing pose (up directions
    and standing angles) is kept as the zero so that every task of a visit shares one reference. Reports the
    knee angles of this session's standing under that calibration (deg; 0 when the pose and the strapping are
    the same) and the tilt of each sensor's up direction from the calibration's (deg), and warns when they
    differ by more than the frontal-plane accuracy the knee metrics aim at: the person stands differently or
    a sensor moved on its segment."""
    if not static.any():
        return {"pose": "calibration", "this_session": None}
    tilt = {
        "thigh": _angle(_up(th, static), cal.up_thigh),
        "shank": _angle(_up(sh, static), cal.up_shank),
    }
    mean = ang[static].mean(axis=0)
    out = {
        "pose": "calibration",
        "this_session": {
            "flexion_deg": round(float(mean[0]), 2),
            "abduction_deg": round(float(mean[1]), 2),
            "rotation_deg": round(float(mean[2]), 2),
            "up_tilt_thigh_deg": round(tilt["thigh"], 2),
            "up_tilt_shank_deg": round(tilt["shank"], 2),
        },
    }
    if abs(mean[1]) > STANDING_ABDUCTION_TOL_DEG or max(tilt.values()) > STANDING_TILT_TOL_DEG:
        warnings.append(
            f"{side} knee: standing in this session differs from the given calibration's (abduction "
            f"{mean[1]:+.1f} deg, sensor tilt thigh {tilt['thigh']:.1f} / shank {tilt['shank']:.1f} deg): the "
            "posture changed or a sensor moved on its segment; angles stay relative to the calibration's standing"
        )
    return out


def _up(o: Orientation, static: np.ndarray) -> np.ndarray:
    return up_in_sensor(o.acc, static if static.any() else np.ones(o.t.size, dtype=bool))


def _gait_mask(t: np.ndarray, strides: pd.DataFrame, side: str) -> np.ndarray:
    mine = strides[strides["side"] == side]
    return _interval_mask(t, mine["ic"].to_numpy(np.float64), mine["end"].to_numpy(np.float64))


MIN_SWING_S = 2.0  # swing samples needed to fit the flexion axis on swing alone


def _swing_mask(t: np.ndarray, strides: pd.DataFrame, side: str) -> np.ndarray:
    """Samples in a swing (final contact to the stride's end) of ``side``'s strides."""
    mine = strides[strides["side"] == side]
    return _interval_mask(t, mine["fc"].to_numpy(np.float64), mine["end"].to_numpy(np.float64))


def _interval_mask(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Samples of the increasing ``t`` inside any closed interval [starts[i], ends[i]] (NaN bounds: none).
    Index ranges from ``searchsorted`` marked through a difference array: linear in samples plus intervals,
    where a mask per interval would cost samples x intervals."""
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, ends, side="right")
    use = np.isfinite(starts) & np.isfinite(ends) & (hi > lo)
    count = np.zeros(t.size + 1, dtype=np.int64)
    np.add.at(count, lo[use], 1)
    np.add.at(count, hi[use], -1)
    return np.cumsum(count[:-1]) > 0


def analyze_knee(
    session: Session,
    strides: pd.DataFrame | None = None,
    *,
    crosstalk_correction: bool = False,
    heading_window_s: float = 6.0,
    calibration: Mapping[str, KneeCalibration] | None = None,
    detect_standing: bool = True,
    lossy: Mapping[str, bool] | None = None,
    bias_series: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> KneeResult:
    """Knee and pelvis analysis of a session with thigh+shank sensors (per side) and optionally a pelvis sensor.

    ``strides`` (side, stride, ic, fc, end[, activity]) come from the foot pipeline; when None (or without rows
    for a side with knee sensors) strides are detected from the shanks. ``crosstalk_correction`` applies the PCA
    correction (Baudet 2014) to abduction; the remaining flexion/abduction correlation is reported either way.
    ``calibration``: per side a :class:`KneeCalibration` from an earlier analysis of the same strapping
    (``KneeResult.calibration``), used instead of estimating one from this session. ``detect_standing`` False:
    without a marked standing window none is searched for, and the gyroscopes start from ``calibration``'s
    standing biases (the online analyzer's windows of a stream: a pause inside a window would otherwise set
    the biases, and the knee angles would differ from the whole session's). ``lossy``: per sensor whether it is
    filtered as lossy (:func:`.vqf_orientation.is_lossy`), decided by the caller for the whole stream; by
    default from the samples given. ``bias_series``: per sensor the gyroscope bias the orientation filter
    estimated over the whole recording (``KneeResult.gyro_bias``), used instead of estimating it on this data
    (:func:`.vqf_orientation.orientations_on_grid`).
    """
    quality: dict[str, Any] = {"warnings": [], "knee": {}, "pelvis": None}
    sides = [s for s in SIDES if f"{s}_thigh" in session.data and f"{s}_shank" in session.data]
    has_pelvis = "pelvis" in session.data
    if not sides and not has_pelvis:
        quality["warnings"].append(
            "no thigh+shank pair and no pelvis sensor: knee analysis skipped"
        )
        return _empty_result(quality, strides)
    names = [f"{s}_{seg}" for s in sides for seg in ("thigh", "shank")]
    names += ["pelvis"] if has_pelvis else []
    grid = common_grid([session.data[n] for n in names])
    rate = 1.0 / float(grid[1] - grid[0])
    quality["lost_samples"] = {n: round(lost_fraction(session.data[n].t), 4) for n in names}
    lossy_names = [n for n, f in quality["lost_samples"].items() if f > LOSSY_FRACTION]
    if lossy_names:
        quality["warnings"].append(
            f"lost samples on {', '.join(lossy_names)}: knee flexion is less accurate (about 2-4 deg RMSE at 2 % "
            "loss in simulation; frontal-plane metrics are affected less)"
        )
    static = _static_mask(session, grid, names, quality, detect_standing)
    imus = {n: session.data[n] for n in names}
    given = dict(calibration or {})
    centres = {
        side: _knee_centre_acceleration(
            side, imus, grid, static, quality, given[side].centre if side in given else None
        )
        for side in sides
    }
    standing = _standing_bias(imus, grid, static)
    # a window without the standing (online) starts each gyroscope from the calibration's standing bias, as the
    # whole session's analysis does: VQF's own bias estimate needs more than a few seconds to settle
    bias = {
        f"{side}_{seg}": getattr(given[side], f"bias_{seg}")
        for side in sides
        if side in given
        for seg in ("thigh", "shank")
    }
    ori = orientations_on_grid(
        imus, grid, still=static, bias=bias, lossy=lossy, bias_series=bias_series
    )

    angles: dict[str, pd.DataFrame] = {}
    frames: dict[str, np.ndarray] = {}
    calibrations: dict[str, KneeCalibration] = {}
    # When the given strides cover every side and hold enough gait, the first calibration (from all movement)
    # is replaced by the gait one below: of the first only the axis fit runs, for its effects that remain (a
    # side without enough movement is dropped, an uncertain axis direction is reported); the knee angles
    # over the whole session are computed once, from the gait calibration (the same result, half the work).
    gait_given = (
        strides is not None
        and len(strides) > 0
        and set(sides) <= set(strides["side"])
        and _gait_segments(grid, strides, session.events or []).sum() >= 8.0 * rate
    )
    deferred: list[str] = []

    def fit(side: str, mask: np.ndarray, q: dict[str, Any], **kw: Any) -> bool:
        """:func:`_calibrate_side` of ``side`` on the samples ``mask``, results into ``q``."""
        return _calibrate_side(
            side,
            ori,
            grid,
            static,
            mask,
            heading_window_s,
            angles,
            frames,
            q,
            calibrations,
            centre=centres[side],
            bias=_pair(standing, side),
            **kw,
        )

    for side in sides:
        if side in given:
            cal = given[side]
            th, sh = ori[f"{side}_thigh"], ori[f"{side}_shank"]
            ang, delta = knee_angles_calibrated(th.R, sh.R, cal, rate)
            _store_angles(side, grid, ang, cal.C_shank, angles, frames)
            calibrations[side] = cal
            quality.setdefault("calibration", {})[side] = calibration_to_dict(cal)
            quality["knee"][side] = {
                "axis_from": f"given ({cal.axis_from})",
                "heading_drift_deg": round(float(np.degrees(np.ptp(np.unwrap(delta)))), 1),
                "standing": _standing_check(side, th, sh, cal, ang, static, quality["warnings"]),
            }
            continue
        fitted = fit(side, ~static, quality, axes_only=gait_given)
        if fitted and gait_given:
            deferred.append(side)
    sides = [s for s in sides if s in angles or s in deferred]
    strides_used, source = _strides_for(session, strides, sides, ori, frames, grid)
    quality["strides_source"] = source
    # The functional axis is taken from gait when there is enough of it: in squats valgus rises with flexion
    # and cannot be told apart from a tilted flexion axis.
    gait_any = _gait_segments(grid, strides_used, session.events or [])
    for side in sides:
        if side in given:
            continue
        if gait_any.sum() >= 8.0 * rate:
            fitted = fit(side, gait_any, quality, swing=_swing_mask(grid, strides_used, side))
            if not fitted and side in deferred:
                # the gait fit failed: the calibration from all movement stays, as without the shortcut
                # (its warnings were given by its axis fit above)
                first: dict[str, Any] = {"warnings": [], "knee": {}}
                fit(side, ~static, first)
                quality.setdefault("calibration", {})[side] = first["calibration"][side]
                quality["knee"][side] = first["knee"][side]
            quality["knee"][side]["axis_from"] = "gait"
        else:
            # without gait only the hinge fit is used: the rotation-plane refinement would take the
            # flexion-coupled valgus of squats for axis misalignment and remove most of it
            fit(side, ~static, quality, refine=False)
            quality["knee"][side]["axis_from"] = "all movement (no gait)"
            quality["warnings"].append(
                f"{side} knee: less than 8 s of gait in the session; the knee axis comes from the other "
                "movements (e.g. squats), where valgus that grows with flexion biases it (about 2-3 deg at "
                "60 deg flexion in simulation): record some walking in the same session, or pass the "
                "calibration of a walking session with the same strapping (quality.json knee.calibration)"
            )

    tables, curves = [], []
    for side in sides:
        a = angles[side]
        flex, abd = a["flexion"].to_numpy(), a["abduction"].to_numpy()
        gait = _gait_mask(grid, strides_used, side)
        sample = gait if gait.sum() > rate else ~static
        ct = (
            crosstalk(flex[sample], abd[sample])
            if sample.sum() > 3
            else {"r": np.nan, "slope": 0.0}
        )
        q = quality["knee"][side]
        q["crosstalk_r"] = round(ct["r"], 3)
        q["crosstalk_slope"] = round(ct["slope"], 4)
        q["crosstalk_corrected"] = crosstalk_correction
        if crosstalk_correction:
            abd = pca_crosstalk_correction(flex, abd, ct["slope"])
            a["abduction"] = abd
            q["crosstalk_r_after"] = round(crosstalk(flex[sample], abd[sample])["r"], 3)
        table, curve = knee_stride_table(grid, flex, abd, strides_used, side)
        tables.append(table)
        curves.append(curve)

    stride_columns = strides_used[["side", "stride"]].copy()
    knee_cols = pd.concat(tables, ignore_index=True) if tables else None
    if knee_cols is not None and len(knee_cols):
        stride_columns = stride_columns.merge(knee_cols, on=["side", "stride"], how="left")
    for col in KNEE_COLUMNS:
        if col not in stride_columns:
            stride_columns[col] = np.nan

    drops: dict[str, pd.DataFrame] = {}
    stride_columns["pelvic_drop_peak"] = np.nan
    if has_pelvis:
        drops = _pelvis(ori["pelvis"], static, strides_used, quality)
        if drops:
            peaks = drops.pop("_peaks")
            stride_columns = stride_columns.drop(columns="pelvic_drop_peak").merge(
                peaks, on=["side", "stride"], how="left"
            )

    flexion = {s: angles[s]["flexion"].to_numpy() for s in sides}
    tilt = {
        s: shank_forward_tilt(ori[f"{s}_shank"].R, frames[f"{s}_shank"])
        for s in sides
        if f"{s}_shank" in frames and f"{s}_shank" in ori
    }
    detected = detect_task_segments(grid, flexion, _busy_intervals(session, strides_used), tilt)
    if detected:
        quality["tasks_detected"] = [
            {"task": task, "side": side, "t": round(t0, 2), "t_end": round(t1, 2)}
            for task, t0, t1, side in detected
        ]
        quality["warnings"].append(
            f"{len(detected)} unmarked single-leg squat/step-down bout(s) found ("
            + ", ".join(f"{side} {t0:.0f}-{t1:.0f} s" for _, t0, t1, side in detected)
            + f"): reported as task '{DETECTED_TASK}'; to name them, mark them: "
            "imu-gait mark SESSION --segment squat T0 T1 --side SIDE (or step_down)"
        )
    squats = squat_table(
        grid,
        flexion,
        {s: angles[s]["abduction"].to_numpy() for s in sides},
        session.events or [],
        detected,
    )
    curve_df = (
        pd.concat([c for c in curves if len(c)], ignore_index=True)
        if any(len(c) for c in curves)
        else pd.DataFrame(columns=["side", "stride", "variable", "pct", "value"])
    )
    for side in sides:
        check = walking_plausibility(strides_used, curve_df, side)
        quality["knee"][side]["plausibility"] = check
        if check.get("ok") is False:
            quality["warnings"].append(
                f"{side} knee: walking curves implausible ({check['reason']})"
            )
    return KneeResult(
        stride_columns=stride_columns,
        curves=curve_df,
        squats=squats,
        quality=quality,
        strides=strides_used,
        angles=angles,
        pelvic_drop=drops,
        calibration=calibrations,
        gyro_bias=vqf_bias_series(ori),
    )


# The lowest cut-off that leaves the fastest frontal-plane waveform, the valgus rise of running stance
# (stance about 0.2 s), nearly intact: the filter alone, applied to the simulator's true running abduction, takes
# 0.20 deg (max 0.30) off the stance peak and adds 0.27 deg at contact at 12 Hz (the former value), 0.08 / 0.15
# deg at 15 Hz, 0.02 / 0.07 deg at 20 Hz; walking is unaffected by any cut-off above 8 Hz. The soft-tissue
# ringing after contacts (10-20 Hz) is damped less than at 12 Hz, yet the running peak-valgus error with the
# simulator's typical and strong artefact still fell (worst 1.53 -> 1.37 and 2.20 -> 2.03 deg, 100/200 Hz, two
# seeds) and walking and stairs stayed within 0.01 deg.
ANGLE_LOWPASS_HZ = 20.0
PELVIS_LOWPASS_HZ = 12.0


def _lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, min(cutoff_hz, 0.4 * rate_hz), fs=rate_hz, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def walking_plausibility(strides: pd.DataFrame, curves: pd.DataFrame, side: str) -> dict[str, Any]:
    """Checks of the mean level-walking knee curves against typical healthy values (Perry & Burnfield, Gait
    Analysis, 2010; METHODS.md section 2): peak flexion in swing 50-75 deg, in early stance (loading response, first 25 %
    of the stride) 5-25 deg, abduction within +/-10 deg (``typical``). ``ok`` is False only far outside these
    ranges, which points at a calibration problem rather than at the person's gait."""
    walk = strides[(strides["side"] == side) & (strides["activity"] == "walk")]
    if len(walk) < 3 or curves.empty:
        return {"ok": None, "reason": "fewer than 3 walking strides"}
    keys = set(walk["stride"].astype(int))
    c = curves[(curves["side"] == side) & curves["stride"].astype(int).isin(keys)]
    flex = c[c["variable"] == "knee_flexion"].groupby("pct")["value"].mean()
    abd = c[c["variable"] == "knee_abduction"].groupby("pct")["value"].mean()
    if flex.empty or abd.empty:
        return {"ok": None, "reason": "no curves"}
    swing_peak = float(flex[flex.index >= 50].max())
    stance_peak = float(flex[flex.index <= 25].max())
    abd_range = [float(abd.min()), float(abd.max())]
    abd_max = max(abs(abd_range[0]), abs(abd_range[1]))
    typical = 50 <= swing_peak <= 75 and 5 <= stance_peak <= 25 and abd_max <= 10
    # a warning only for values that healthy or pathological gait hardly produces: a wrong axis or sign
    reasons = []
    if not 35 <= swing_peak <= 90:
        reasons.append(f"swing flexion peak {swing_peak:.0f} deg")
    if not -5 <= stance_peak <= 40:
        reasons.append(f"early-stance flexion peak {stance_peak:.0f} deg")
    if abd_max > 15:
        reasons.append(f"abduction {abd_range[0]:.0f}..{abd_range[1]:.0f} deg")
    return {
        "ok": not reasons,
        "typical": typical,
        "reason": "; ".join(reasons),
        "swing_flexion_peak": round(swing_peak, 1),
        "stance_flexion_peak": round(stance_peak, 1),
        "abduction_range": [round(v, 1) for v in abd_range],
    }


MAX_JOINT_DISTANCE_M = 0.6


def _knee_centre_acceleration(
    side: str,
    imus: dict[str, ImuData],
    grid: np.ndarray,
    static: np.ndarray,
    quality: dict[str, Any],
    given: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Replace the thigh and shank accelerometer readings in ``imus`` by the specific force of the knee centre
    (joint position after Seel et al. 2014, :func:`.joint_axis.estimate_joint_position`). Both sensors then
    feel the same linear acceleration, so the inclination errors it causes in the orientation filter are
    common to thigh and shank and largely cancel in the knee angles (running: swing-phase centripetal
    acceleration at the sensors).

    ``given``: the knee centre (m, thigh and shank sensor frames) of a calibration; without it, it is estimated
    from this data. Returns the centre used, or None (none used: too little motion, or implausible)."""
    th, sh = imus[f"{side}_thigh"], imus[f"{side}_shank"]
    if given is not None:
        o1, o2 = given
        entry: dict[str, Any] = {"source": "calibration"}
    else:
        a1, g1 = interpolate_imu(th, grid)
        a2, g2 = interpolate_imu(sh, grid)
        rate = 1.0 / float(grid[1] - grid[0])
        moving = ~static
        try:
            axes = estimate_hinge_axes(g1[moving], g2[moving])
            o1, o2, rms = estimate_joint_position(
                g1[moving], g2[moving], a1[moving], a2[moving], rate, axes.j1, axes.j2
            )
        except (ValueError, np.linalg.LinAlgError):
            return None
        if max(np.linalg.norm(o1), np.linalg.norm(o2)) > MAX_JOINT_DISTANCE_M:
            quality["warnings"].append(f"{side} knee: implausible knee-centre estimate, not used")
            return None
        entry = {"source": "estimated", "residual_ms2": round(rms, 2)}
    imus[f"{side}_thigh"] = ImuData(th.t, acceleration_at(th.acc, th.gyr, o1, th.t), th.gyr)
    imus[f"{side}_shank"] = ImuData(sh.t, acceleration_at(sh.acc, sh.gyr, o2, sh.t), sh.gyr)
    quality.setdefault("knee_centre", {})[side] = {
        "thigh_sensor_to_knee_m": round(float(np.linalg.norm(o1)), 3),
        "shank_sensor_to_knee_m": round(float(np.linalg.norm(o2)), 3),
        **entry,
    }
    return o1, o2


def _standing_bias(
    imus: dict[str, ImuData], grid: np.ndarray, static: np.ndarray
) -> dict[str, np.ndarray]:
    """Each gyroscope's mean reading (deg/s) over the standing samples ``static`` of ``grid`` (the bias
    :func:`.vqf_orientation.orientations_on_grid` removes); empty without enough standing samples."""
    if static.sum() < MIN_STILL_SAMPLES:
        return {}
    return {n: interpolate_imu(imu, grid)[1][static].mean(axis=0) for n, imu in imus.items()}


def _pair(d: Mapping[str, np.ndarray], side: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(thigh, shank) entries of ``d`` for ``side``, or None when either is missing."""
    th, sh = d.get(f"{side}_thigh"), d.get(f"{side}_shank")
    return None if th is None or sh is None else (th, sh)


def shank_forward_tilt(R_shank: np.ndarray, C_shank: np.ndarray) -> np.ndarray:
    """Forward lean of the shank (deg, (n,)): the angle of its long axis from vertical in the plane of its own
    flexion axis, positive with the knee ahead of the ankle. ``R_shank`` (n, 3, 3) sensor -> ground,
    ``C_shank`` (3, 3) the shank's segment axes (x anterior, y left, z up) in the sensor frame."""
    z = R_shank @ C_shank[:, 2]
    y = R_shank @ C_shank[:, 1]
    fwd = np.column_stack([y[:, 1], -y[:, 0], np.zeros(len(y))])  # y x up: horizontal, anterior
    fwd /= np.maximum(np.linalg.norm(fwd, axis=1, keepdims=True), 1e-9)
    return np.degrees(np.arctan2(np.einsum("ij,ij->i", z, fwd), z[:, 2]))


def _busy_intervals(session: Session, strides: pd.DataFrame) -> list[tuple[float, float]]:
    """Intervals (s) where no unmarked single-leg task is sought: strides of either leg, every marked segment
    and the standing calibration."""
    out = list(zip(strides["ic"].astype(float), strides["end"].astype(float), strict=True))
    out += [(float(ev["t"]), float(ev["t_end"])) for ev in session.events or [] if "t_end" in ev]
    static = (session.calibration or {}).get("static")
    if static:
        out.append((float(static[0]), float(static[1])))
    return out


def _gait_segments(t: np.ndarray, strides: pd.DataFrame, events: list[dict]) -> np.ndarray:
    """Samples in any stride of either leg or in a session segment labelled as a gait activity."""
    m = _interval_mask(t, strides["ic"].to_numpy(np.float64), strides["end"].to_numpy(np.float64))
    for ev in events:
        if "t_end" in ev and ev.get("label") in ("walk", "stairs_up", "stairs_down", "run", "turn"):
            m |= (t >= ev["t"]) & (t <= ev["t_end"])
    return m


def _calibrate_side(
    side: Side,
    ori: dict[str, Orientation],
    grid: np.ndarray,
    static: np.ndarray,
    sample: np.ndarray,
    heading_window_s: float,
    angles: dict[str, pd.DataFrame],
    frames: dict[str, np.ndarray],
    quality: dict[str, Any],
    calibrations: dict[str, KneeCalibration],
    refine: bool = True,
    axes_only: bool = False,
    swing: np.ndarray | None = None,
    centre: tuple[np.ndarray, np.ndarray] | None = None,
    bias: tuple[np.ndarray, np.ndarray] | None = None,
) -> bool:
    """Axis estimation, calibration and knee angles of one side from the samples ``sample``; results go into
    ``angles``, ``frames`` and ``quality`` (a warning instead when the movement is insufficient). ``refine``:
    the rotation-plane refinement of :func:`align_knee` (gait only), on the samples of ``swing`` when given
    and at least :data:`MIN_SWING_S` of them move. ``axes_only``: stop after the axis fit and its warnings.
    ``centre``: the knee centre used for the accelerations (m, thigh and shank sensor frames), stored in the
    calibration, like ``bias``, the thigh and shank gyroscopes' standing readings (deg/s). Returns whether the
    axis fit succeeded."""
    th, sh = ori[f"{side}_thigh"], ori[f"{side}_shank"]
    rate = 1.0 / float(grid[1] - grid[0])
    moving = sample & ~static
    # The joint-axis fits use the gyroscope rates unfiltered. Their constraints hold sample by sample between
    # the two segments' rates and the relative orientation, which turns fast in a running swing (100 deg in
    # 0.2 s): low-passing each sensor's rate in its own frame (formerly at 5 Hz) but not the orientation broke
    # them and tilted the fitted axis by ~2 deg about the long axis (running peak-valgus error 2.3 -> 1.6 deg on
    # the simulated run, truth-checked). Strap wobble and impact ringing enter as zero-mean residuals of the
    # least-squares fits (walking and stairs with the simulated soft-tissue artefact stay as accurate).
    g_t, g_s = th.gyr, sh.gyr
    try:
        axes = estimate_hinge_axes(g_t[moving], g_s[moving])
    except ValueError as exc:
        quality["warnings"].append(f"{side} knee: {exc}; knee angles skipped")
        return False
    up_t, up_s = _up(th, static), _up(sh, static)
    j_t, j_s, margin = resolve_hinge_signs(th.R[moving], sh.R[moving], up_t, up_s, axes.j1, axes.j2)
    if margin < 10.0:
        quality["warnings"].append(f"{side} knee: axis direction (left/right) uncertain")
    if axes_only:
        return True
    # The refinement fits the flexion axis in swing only: in stance the loaded knee abducts as it flexes
    # (the valgus peak comes with the loading-response flexion), which the plane fit cannot tell from a tilted
    # flexion axis and partly removes (about 0.15 deg of the running valgus peak in simulation); the unloaded
    # swing knee flexes most (60-120 deg) and abducts least.
    fit = moving
    if refine and swing is not None and (moving & swing).sum() >= MIN_SWING_S * rate:
        fit = moving & swing
    al = align_knee(
        th.R, sh.R, g_t, g_s, up_t, up_s, j_t, j_s, fit, rate, heading_window_s, int(refine)
    )
    cal = KneeCalibration(
        side=side,
        j_thigh=al.j_thigh,
        j_shank=al.j_shank,
        C_thigh=al.C_thigh,
        C_shank=al.C_shank,
        up_thigh=up_t,
        up_shank=up_s,
        offset=np.zeros(3),
        axis_from="gait" if refine else "all movement (no gait)",
        heading_window_s=heading_window_s,
        centre_thigh=None if centre is None else centre[0],
        centre_shank=None if centre is None else centre[1],
        bias_thigh=None if bias is None else bias[0],
        bias_shank=None if bias is None else bias[1],
    )
    ang, delta = knee_angles_calibrated(th.R, sh.R, cal, rate)
    if static.any():
        cal = replace(cal, offset=ang[static].mean(axis=0))
        ang = ang - cal.offset
    calibrations[side] = cal
    _store_angles(side, grid, ang, al.C_shank, angles, frames)
    quality.setdefault("calibration", {})[side] = calibration_to_dict(cal)
    delta = np.degrees(delta)
    quality["knee"][side] = {
        "axis_residual_dps": round(axes.rms, 2),
        "axis_residual_rel": round(axes.rel_rms, 3),
        "axis_sign_margin_deg": round(margin, 1),
        "axis_tilt_thigh_deg": round(90.0 - _angle(axes.j1, up_t), 1),
        "axis_tilt_shank_deg": round(90.0 - _angle(axes.j2, up_s), 1),
        "heading_drift_deg": round(float(np.ptp(np.unwrap(np.radians(delta)))) * 180 / np.pi, 1),
        "heading_window_s": heading_window_s,
    }
    return True


def _store_angles(
    side: str,
    grid: np.ndarray,
    ang: np.ndarray,
    C_shank: np.ndarray,
    angles: dict[str, pd.DataFrame],
    frames: dict[str, np.ndarray],
) -> None:
    frames[f"{side}_shank"] = C_shank
    angles[side] = pd.DataFrame(
        {"t": grid, "flexion": ang[:, 0], "abduction": ang[:, 1], "rotation": ang[:, 2]}
    )


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    c = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def _strides_for(
    session: Session,
    strides: pd.DataFrame | None,
    sides: list[str],
    ori: dict[str, Orientation],
    frames: dict[str, np.ndarray],
    grid: np.ndarray,
) -> tuple[pd.DataFrame, str]:
    given = strides is not None and len(strides) > 0
    have = set(strides["side"]) if given else set()
    missing = [s for s in sides if s not in have]
    if not missing:
        return (
            (strides.reset_index(drop=True), "given")
            if given
            else (
                pd.DataFrame(columns=list(STRIDE_KEY_COLUMNS)),
                "none",
            )
        )
    parts = [strides] if given else []
    for side in missing:
        sh = ori[f"{side}_shank"]
        swing_rate = -(sh.gyr @ frames[f"{side}_shank"][:, 1])
        acc, _ = interpolate_imu(session.data[f"{side}_shank"], grid)
        _, ic, fc = shank_events(grid, swing_rate, acc=acc)
        parts.append(strides_from_events(side, ic, fc, session.events or []))
    out = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else (pd.DataFrame(columns=list(STRIDE_KEY_COLUMNS)))
    )
    return out, ("given+shank" if given else "shank")


def _pelvis(
    o: Orientation, static: np.ndarray, strides: pd.DataFrame, quality: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    if not {"left", "right"} <= set(strides["side"]):
        quality["warnings"].append(
            "pelvis: strides of both legs are needed to align the pelvis sensor"
        )
        return {}
    up = _up(o, static)
    try:
        C, diag = pelvis_frame(o.t, o.R, o.acc, o.gyr, up, strides)
    except ValueError as exc:
        quality["warnings"].append(f"pelvis: {exc}")
        return {}
    drop = pelvic_drop_series(o.R @ C, static)
    rate = 1.0 / float(o.t[1] - o.t[0])
    drop = {side: _lowpass(d, rate, PELVIS_LOWPASS_HZ) for side, d in drop.items()}
    quality["pelvis"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in diag.items()}
    if diag["sign_corr"] < 0.2:
        quality["warnings"].append("pelvis: left/right direction of the sensor uncertain")
    out = {side: pd.DataFrame({"t": o.t, "pelvic_drop": drop[side]}) for side in ("left", "right")}
    out["_peaks"] = pelvic_drop_peaks(o.t, drop, strides)
    return out
