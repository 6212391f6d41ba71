"""Pelvis sensor: sensor-to-segment alignment and contralateral pelvic drop per stride.

Alignment: z is the upward direction while standing; the horizontal axes come from what the pelvis does once per
stride (fore-aft oscillations and pelvic tilt run at twice the stride frequency; Zijlstra & Hof 2003, Gait
Posture 18:1): its mediolateral sway, or its obliquity rotation about the anteroposterior axis, whichever is the
clearer in the data (see :func:`pelvis_frame`). x = y cross z (anterior).

Pelvic drop = :func:`imu_gait.anatomy.pelvic_drop` (obliquity by Baker's rotation-obliquity-tilt sequence)
minus its standing mean; heading-free, so the drifting 6D heading does not matter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt

from imu_gait.anatomy import Side, pelvic_drop
from imu_gait.pipeline.segment_calibration import segment_frame, unit
from imu_gait.pipeline.signal import GRAVITY


def _horizontal_basis(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    trial = np.eye(3)[int(np.argmin(np.abs(up)))]
    e1 = unit(trial - np.dot(trial, up) * up)
    return e1, np.cross(up, e1)


def stance_indicator(t: np.ndarray, strides: pd.DataFrame) -> np.ndarray:
    """+1 during the middle of left stance, -1 during the middle of right stance, 0 elsewhere."""
    s = np.zeros(t.size)
    for row in strides.itertuples(index=False):
        a = row.ic + 0.25 * (row.fc - row.ic)
        b = row.ic + 0.75 * (row.fc - row.ic)
        s[(t >= a) & (t <= b)] = 1.0 if row.side == "left" else -1.0
    return s


def loading_indicator(t: np.ndarray, strides: pd.DataFrame, fraction: float = 0.2) -> np.ndarray:
    """+1 during the loading response (first ``fraction`` of stance) of the left leg, -1 of the right."""
    s = np.zeros(t.size)
    for row in strides.itertuples(index=False):
        b = row.ic + fraction * (row.fc - row.ic)
        s[(t >= row.ic) & (t <= b)] = 1.0 if row.side == "left" else -1.0
    return s


def _principal(h: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> tuple[np.ndarray, float]:
    vals, vecs = np.linalg.eigh(h.T @ h)
    return vecs[0, 1] * e1 + vecs[1, 1] * e2, float(vals[1] / max(vals[0], 1e-12))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    sel = b != 0
    return float(np.corrcoef(a[sel], b[sel])[0, 1]) if sel.sum() > 2 else 0.0


def pelvis_frame(
    t: np.ndarray,
    R: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    up: np.ndarray,
    strides: pd.DataFrame,
) -> tuple[np.ndarray, dict[str, float | str]]:
    """Pelvis segment axes in sensor coordinates (columns x, y, z) and alignment diagnostics.

    ``R`` sensor->ground (VQF), ``acc`` m/s^2, ``gyr`` deg/s on the clock ``t``, ``up`` the standing up direction
    (sensor frame), ``strides`` with side/ic/fc/end of both legs. Two cues at the stride frequency, the more
    anisotropic one wins:

    - ``sway``: mediolateral acceleration of the trunk (the centre of mass moves over each stance foot once per
      stride); sign: it points away from the stance foot in mid-stance;
    - ``obliquity``: rotation about the anteroposterior axis (pelvic obliquity oscillates once per stride, tilt
      twice); sign: the swing side drops in the loading response, i.e. the pelvis rolls towards the stance
      side (a positive rotation about +x after left initial contact).

    Diagnostics: ``method``, ``anisotropy`` (power ratio of the chosen axis over the perpendicular one; near 1 =
    ambiguous) and ``sign_corr`` (|correlation| behind the sign decision).
    """
    rate = 1.0 / float(np.median(np.diff(t)))
    gait = np.zeros(t.size, dtype=bool)
    for row in strides.itertuples(index=False):
        gait |= (t >= row.ic) & (t <= row.end)
    if gait.sum() < 2 * rate:
        raise ValueError("not enough gait to align the pelvis sensor")
    f0 = 1.0 / float(np.median(strides["end"] - strides["ic"]))
    sos = butter(2, [0.5 * f0, 1.5 * f0], btype="bandpass", fs=rate, output="sos")
    e1, e2 = _horizontal_basis(up)

    lin = np.einsum("nji,nj->ni", R, np.einsum("nij,nj->ni", R, acc) - [0.0, 0.0, GRAVITY])
    h = sosfiltfilt(sos, np.column_stack([lin @ e1, lin @ e2]), axis=0)
    ml, ratio_sway = _principal(h[gait], e1, e2)
    c_sway = _corr(sosfiltfilt(sos, lin @ ml), stance_indicator(t, strides))
    left_sway = -ml if c_sway > 0 else ml

    g = sosfiltfilt(sos, np.column_stack([gyr @ e1, gyr @ e2]), axis=0)
    ap, ratio_obl = _principal(g[gait], e1, e2)
    c_obl = _corr(sosfiltfilt(sos, gyr @ ap), loading_indicator(t, strides))
    forward = ap if c_obl > 0 else -ap
    left_obl = np.cross(unit(up), forward)

    if ratio_obl >= ratio_sway:
        left, diag = (
            left_obl,
            {"method": "obliquity", "anisotropy": ratio_obl, "sign_corr": abs(c_obl)},
        )
    else:
        left, diag = (
            left_sway,
            {"method": "sway", "anisotropy": ratio_sway, "sign_corr": abs(c_sway)},
        )
    return segment_frame(up, left), diag


def pelvic_drop_series(R_segment: np.ndarray, static: np.ndarray) -> dict[str, np.ndarray]:
    """Contralateral pelvic drop (deg) for a left and a right stance leg, minus the standing mean."""
    out = {}
    for side in ("left", "right"):
        d = pelvic_drop(R_segment, side)
        out[side] = d - (d[static].mean() if static.any() else 0.0)
    return out


def pelvic_drop_peaks(
    t: np.ndarray, drop: dict[str, np.ndarray], strides: pd.DataFrame
) -> pd.DataFrame:
    """``pelvic_drop_peak`` (deg) per stride: max contralateral drop during the stance (IC..FC) of its side."""
    rows = []
    for row in strides.itertuples(index=False):
        side: Side = row.side
        sel = (t >= row.ic) & (t <= row.fc)
        peak = float(drop[side][sel].max()) if sel.sum() > 1 else np.nan
        rows.append({"side": side, "stride": int(row.stride), "pelvic_drop_peak": peak})
    return pd.DataFrame(rows, columns=["side", "stride", "pelvic_drop_peak"])
