"""Evaluation of the knee/pelvis analysis against a simulated session's truth (used by tests and benchmarks).

``truth`` is duck-typed like :class:`imu_gait.simulate.SimResult`: ``segment_pose(placement, t) -> (t, R, p)``,
``session.calibration["static"]``, ``strides`` (truth strides.csv columns) and ``squats`` (truth squats.csv).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imu_gait.anatomy import knee_angles


def _rmse(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else float("nan")


def knee_errors(truth: Any, result: Any) -> dict[str, dict[str, float]]:
    """Per side: flexion and abduction RMSE over the gait cycles (deg), per-stride peak valgus / abduction at IC /
    peak stance flexion / pelvic drop errors (mean abs and max abs, deg), crosstalk r."""
    out: dict[str, dict[str, float]] = {}
    c0, c1 = truth.session.calibration["static"]
    strides = truth.strides
    for side, ang in result.angles.items():
        t = ang["t"].to_numpy()
        _, Rt, _ = truth.segment_pose(f"{side}_thigh", t)
        _, Rs, _ = truth.segment_pose(f"{side}_shank", t)
        k = knee_angles(Rt, Rs, side)
        static = (t >= c0) & (t <= c1)
        if static.any():
            k = k - k[static].mean(axis=0)
        else:  # a session cut from a longer simulation: the standing window lies outside it
            t_ref = np.linspace(c0, c1, 50)
            _, Rt0, _ = truth.segment_pose(f"{side}_thigh", t_ref)
            _, Rs0, _ = truth.segment_pose(f"{side}_shank", t_ref)
            k = k - knee_angles(Rt0, Rs0, side).mean(axis=0)
        gait = np.zeros(t.size, dtype=bool)
        for row in strides[strides["side"] == side].itertuples(index=False):
            gait |= (t >= row.ic) & (t <= row.end)
        e_f = ang["flexion"].to_numpy() - k[:, 0]
        e_a = ang["abduction"].to_numpy() - k[:, 1]
        m = result.stride_columns.merge(strides, on=["side", "stride"], suffixes=("", "_true"))
        m = m[m["side"] == side]
        row = {
            "flexion_rmse": _rmse(e_f[gait]),
            "abduction_rmse": _rmse(e_a[gait]),
            "strides": len(m),
            "crosstalk_r": float(result.quality["knee"][side].get("crosstalk_r", np.nan)),
        }
        for col, name in (
            ("knee_abduction_peak", "valgus_peak"),
            ("knee_abduction_ic", "abduction_ic"),
            ("knee_flexion_peak_stance", "flexion_peak_stance"),
            ("pelvic_drop_peak", "pelvic_drop"),
        ):
            err = (m[col] - m[f"{col}_true"]).abs().dropna() if len(m) else pd.Series([])
            row[f"{name}_mae"] = float(err.mean()) if len(err) else float("nan")
            row[f"{name}_max"] = float(err.max()) if len(err) else float("nan")
        out[side] = row
    return out


def squat_errors(truth: Any, result: Any) -> pd.DataFrame:
    """Truth squat repetitions matched to the detected ones (largest time overlap): peak flexion and peak
    abduction errors (deg); unmatched truth reps have NaN errors."""
    rows = []
    found = result.squats
    for r in truth.squats.itertuples(index=False):
        cand = found[found["side"] == r.side]
        overlap = (np.minimum(cand["end"], r.end) - np.maximum(cand["start"], r.start)).to_numpy()
        row = {"side": r.side, "task": r.task, "rep": r.rep}
        if len(cand) and overlap.max() > 0:
            c = cand.iloc[int(np.argmax(overlap))]
            row["flexion_peak_err"] = float(c["knee_flexion_peak"] - r.knee_flexion_peak)
            row["abduction_peak_err"] = float(c["knee_abduction_peak"] - r.knee_abduction_peak)
        else:
            row["flexion_peak_err"] = row["abduction_peak_err"] = np.nan
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["side", "task", "rep", "flexion_peak_err", "abduction_peak_err"]
    )
