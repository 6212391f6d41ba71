"""Pelvis sensor: sensor-to-segment alignment and contralateral pelvic drop per stride.

Alignment: z is the upward direction while standing; the mediolateral axis is the direction in which the pelvis
sways at the stride frequency during walking (the centre of mass moves over each stance foot once per stride,
while fore-aft oscillations run at twice that frequency; Zijlstra & Hof 2003, Gait Posture 18:1). Its sign comes
from the stance side: in single support the trunk accelerates away from the stance foot (inverted-pendulum
gait), so the mediolateral acceleration points right during left stance. x = y cross z (anterior).

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


def pelvis_frame(
    t: np.ndarray,
    R: np.ndarray,
    acc: np.ndarray,
    up: np.ndarray,
    strides: pd.DataFrame,
) -> tuple[np.ndarray, dict[str, float]]:
    """Pelvis segment axes in sensor coordinates (columns x, y, z) and alignment diagnostics.

    ``R`` sensor->ground (VQF), ``acc`` m/s^2 on the clock ``t``, ``up`` the standing up direction (sensor
    frame), ``strides`` with side/ic/fc/end of both legs (walking periods). Diagnostics: ``sway_ratio`` (power
    along the chosen mediolateral axis over the perpendicular one; near 1 = ambiguous) and ``sign_corr``
    (correlation with the stance indicator; its magnitude is the confidence of the left/right decision).
    """
    rate = 1.0 / float(np.median(np.diff(t)))
    gait = np.zeros(t.size, dtype=bool)
    for row in strides.itertuples(index=False):
        gait |= (t >= row.ic) & (t <= row.end)
    if gait.sum() < 2 * rate:
        raise ValueError("not enough walking to align the pelvis sensor")
    stride_time = float(np.median(strides["end"] - strides["ic"]))
    f0 = 1.0 / stride_time
    lin = np.einsum("nji,nj->ni", R, np.einsum("nij,nj->ni", R, acc) - [0.0, 0.0, GRAVITY])
    e1, e2 = _horizontal_basis(up)
    sos = butter(2, [0.5 * f0, 1.5 * f0], btype="bandpass", fs=rate, output="sos")
    h = sosfiltfilt(sos, np.column_stack([lin @ e1, lin @ e2]), axis=0)[gait]
    vals, vecs = np.linalg.eigh(h.T @ h)
    ml = vecs[0, 1] * e1 + vecs[1, 1] * e2
    ml_signal = sosfiltfilt(sos, lin @ ml)
    ind = stance_indicator(t, strides)
    sel = ind != 0
    corr = float(np.corrcoef(ml_signal[sel], ind[sel])[0, 1]) if sel.sum() > 2 else 0.0
    left = -ml if corr > 0 else ml
    C = segment_frame(up, left)
    return C, {"sway_ratio": float(vals[1] / max(vals[0], 1e-12)), "sign_corr": abs(corr)}


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
