"""Ground truth in the project's output formats (strides.csv, curves.csv, squats.csv), computed from the model's
segment orientations with the definitions of imu_gait.anatomy, relative to the static standing calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imu_gait.anatomy import foot_eversion, knee_angles, pelvic_drop
from imu_gait.columns import CURVE_COLUMNS, SQUAT_COLUMNS, STRIDE_COLUMNS
from imu_gait.simulate.activities import SIDES, Plan
from imu_gait.simulate.kinematics import Model

CHUNK = 100_000  # time points evaluated at once
N_FINE = 101  # samples per stance for peaks and velocities (the curve grid: every 1% of stance)


def standing_reference(model: Model, calibration: tuple[float, float]) -> dict[str, np.ndarray]:
    """Mean raw angles over the static calibration: eversion, knee angles (3) per side, pelvic obliquity terms."""
    t = np.linspace(calibration[0], calibration[1], 50)
    poses = model.evaluate(t)
    ref: dict[str, np.ndarray] = {}
    for side in SIDES:
        ref[f"eversion_{side}"] = np.mean(foot_eversion(poses[f"{side}_foot"][0], side))
        ref[f"knee_{side}"] = knee_angles(
            poses[f"{side}_thigh"][0], poses[f"{side}_shank"][0], side
        ).mean(axis=0)
        ref[f"drop_{side}"] = np.mean(pelvic_drop(poses["pelvis"][0], side))
    return ref


def angle_series(
    model: Model, t: np.ndarray, side: str, ref: dict, knee_only: bool = False
) -> dict[str, np.ndarray]:
    """Truth angles (deg, relative to standing) of one side at times t: eversion, knee flexion / abduction /
    internal rotation, pelvic drop with this side in stance (only the knee angles if ``knee_only``)."""
    names = ("eversion", "knee_flexion", "knee_abduction", "knee_rotation", "pelvic_drop")
    out = {k: np.empty(t.size) for k in names}
    for i0 in range(0, t.size, CHUNK):  # bounded memory for long sessions
        tc = t[i0 : i0 + CHUNK]
        sl = slice(i0, i0 + tc.size)
        poses = model.evaluate(tc, segments=(f"{side}_thigh", f"{side}_shank", f"{side}_foot"))
        knee = (
            knee_angles(poses[f"{side}_thigh"][0], poses[f"{side}_shank"][0], side)
            - ref[f"knee_{side}"]
        )
        out["knee_flexion"][sl], out["knee_abduction"][sl], out["knee_rotation"][sl] = knee.T
        if knee_only:
            continue
        out["eversion"][sl] = (
            foot_eversion(poses[f"{side}_foot"][0], side) - ref[f"eversion_{side}"]
        )
        out["pelvic_drop"][sl] = pelvic_drop(poses["pelvis"][0], side) - ref[f"drop_{side}"]
    return out


def stride_truth(
    model: Model, plan: Plan, ref: dict
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(strides, curves, events) DataFrames for every stride of both feet."""
    rows, curves, events = [], [], []
    pct = np.linspace(0.0, 100.0, 101)
    for side in SIDES:
        cs = plan.contacts[side]
        idx = [j for j in range(len(cs) - 1) if cs[j].stride]
        if not idx:
            continue
        ic = np.array([cs[j].t_ic for j in idx])
        fc = np.array([cs[j].t_fc for j in idx])
        end = np.array([cs[j + 1].t_ic for j in idx])
        n = len(idx)
        u_fine = np.linspace(0.0, 1.0, N_FINE)
        t_st = ic[:, None] + (fc - ic)[:, None] * u_fine  # (n, N_FINE) stance
        t_sd = ic[:, None] + (end - ic)[:, None] * pct / 100.0
        a_st = angle_series(model, t_st.ravel(), side, ref)
        a_sd = angle_series(model, t_sd.ravel(), side, ref, knee_only=True)

        def part(name: str, which: int, a_st=a_st, a_sd=a_sd, n=n) -> np.ndarray:
            return a_st[name].reshape(n, N_FINE) if which < 2 else a_sd[name].reshape(n, 101)

        ev = part("eversion", 0)
        ev_rate = np.gradient(ev, axis=1) / ((fc - ic)[:, None] / (N_FINE - 1))
        abd = part("knee_abduction", 0)
        flex = part("knee_flexion", 0)
        drop = part("pelvic_drop", 0)
        early = u_fine <= 0.6
        p0 = np.array([cs[j].pos for j in idx])
        p1 = np.array([cs[j + 1].pos for j in idx])
        length = np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1])
        stride_time = end - ic
        i_pk = np.argmax(ev, axis=1)
        for i, j in enumerate(idx):
            rows.append(
                {
                    "side": side,
                    "stride": i,
                    "activity": cs[j].activity,
                    "ic": ic[i],
                    "fc": fc[i],
                    "end": end[i],
                    "stride_time": stride_time[i],
                    "stance_time": fc[i] - ic[i],
                    "swing_time": end[i] - fc[i],
                    "cadence": 120.0 / stride_time[i],
                    "stride_length": length[i],
                    "speed": length[i] / stride_time[i],
                    "elevation_change": p1[i, 2] - p0[i, 2],
                    "eversion_ic": ev[i, 0],
                    "eversion_peak": ev[i, i_pk[i]],
                    "eversion_excursion": ev[i, i_pk[i]] - ev[i, 0],
                    "eversion_velocity_peak": max(0.0, float(ev_rate[i].max())),
                    "time_to_peak_eversion": 100.0 * u_fine[i_pk[i]],
                    "knee_abduction_ic": abd[i, 0],
                    "knee_abduction_peak": abd[i].max(),
                    "knee_frontal_excursion": abd[i].max() - abd[i, 0],
                    "knee_flexion_peak_stance": flex[i, early].max(),
                    "pelvic_drop_peak": drop[i].max(),
                    "quality": "ok",
                }
            )
            c = cs[j]
            events.append(
                {
                    "side": side,
                    "stride": i,
                    "activity": c.activity,
                    "ic": c.t_ic,
                    "fc": c.t_fc,
                    "mid_stance": 0.5 * (max(c.t_ff, c.t_ic) + c.t_ho),
                    "end": end[i],
                }
            )
        for var, which in (("eversion", 1), ("knee_abduction", 1), ("knee_flexion", 2)):
            v = part(var, which)
            curves.append(
                pd.DataFrame(
                    {
                        "side": side,
                        "stride": np.repeat(np.arange(n), 101),
                        "variable": var,
                        "pct": np.tile(pct, n),
                        "value": v.ravel(),
                    }
                )
            )
    strides = pd.DataFrame(rows, columns=STRIDE_COLUMNS).sort_values(["side", "ic"], kind="stable")
    strides = strides.reset_index(drop=True)
    curve_df = (
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    )
    ev_df = pd.DataFrame(
        events, columns=["side", "stride", "activity", "ic", "fc", "mid_stance", "end"]
    )
    return strides, curve_df, ev_df


def squat_truth(model: Model, plan: Plan, ref: dict) -> pd.DataFrame:
    """squats.csv truth: per repetition, peak knee flexion and abduction and the frontal excursion."""
    rows = []
    for rep in plan.squats:
        t = np.linspace(rep["start"], rep["end"], 400)
        a = angle_series(model, t, rep["side"], ref)
        abd = a["knee_abduction"]
        rows.append(
            {
                "side": rep["side"],
                "task": rep["task"],
                "rep": rep["rep"],
                "start": rep["start"],
                "end": rep["end"],
                "knee_flexion_peak": a["knee_flexion"].max(),
                "knee_abduction_peak": abd.max(),
                "knee_frontal_excursion": abd.max() - abd[0],
            }
        )
    return pd.DataFrame(rows, columns=SQUAT_COLUMNS)
