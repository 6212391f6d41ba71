"""Run the pipeline on a Session: per-stride table, curves, summary and quality flags (DESIGN.md section 5).

``analyze(session)`` runs, per foot sensor: preprocessing (uniform clock, gaps, clipped samples) -> sensor-to-foot
alignment -> strides and events -> trajectory -> pronation (:func:`imu_gait.pipeline.foot.analyze_foot`), then
the steps of other segments (knee, pelvis) add their columns. ``write_analysis`` writes strides.csv, curves.csv,
summary.csv, squats.csv (when there are squats), quality.json and figures/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from imu_gait.columns import (
    CURVE_COLUMNS,
    CURVE_POINTS,
    EXTRA_STRIDE_COLUMNS,
    KNEE_COLUMNS,
    SQUAT_COLUMNS,
)
from imu_gait.columns import STRIDE_COLUMNS as CONTRACT_STRIDE_COLUMNS
from imu_gait.pipeline.foot import analyze_foot
from imu_gait.pipeline.frame_check import check_gyro, rest_min_s
from imu_gait.pipeline.signal import GRAVITY, prepare_imu
from imu_gait.session import Session

if TYPE_CHECKING:
    from imu_gait.knee_calibration import SavedKneeCalibration

STRIDE_COLUMNS = (*CONTRACT_STRIDE_COLUMNS, *EXTRA_STRIDE_COLUMNS)
FOOT_PLACEMENTS = {"left_foot": "left", "right_foot": "right"}

Progress = Callable[[str, float], None]


@dataclass
class Analysis:
    """Result of :func:`analyze`: ``strides`` (strides.csv), ``curves`` (curves.csv, long format), ``summary``
    (one row per side and activity), ``squats`` (squats.csv rows), ``quality`` (quality.json); ``extra["events"]``:
    per foot placement every detected swing (``midswing``, ``toe_off`` s) and, under ``<placement>_stances``,
    every stance (``ic``, ``ms``, ``fc`` s), including those at the ends of walking bouts."""

    strides: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    squats: pd.DataFrame
    quality: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


STATIC_MIN_S = 0.5  # s of a sensor's samples the standing calibration window must hold to be used


def prepare_sensor(session: Session, placement: str) -> tuple[Any, np.ndarray | None]:
    """One sensor's samples on a uniform clock with gaps and clipping flagged (:func:`prepare_imu`), and the mask
    of the session's static calibration period on that clock (None without one). Shared with the online path."""
    data, info = session.data[placement], session.sensors[placement]
    prep = prepare_imu(
        data.t,
        data.acc,
        data.gyr,
        rate_hz=info.rate_hz,
        acc_full_scale=info.acc_range_g * GRAVITY if info.acc_range_g else None,
        gyr_full_scale=info.gyr_range_dps,
    )
    window = session.calibration.get("static") if session.calibration else None
    static = (prep.t >= window[0]) & (prep.t <= window[1]) if window else None
    return prep, static


def _without_mismatched(
    strides: pd.DataFrame, curves: pd.DataFrame, squats: pd.DataFrame, quality: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Knee results of a leg whose thigh or shank gyroscope does not agree with its accelerometer, and the pelvic
    drop with such a pelvis sensor, blanked (NaN columns, no curves or repetitions): they would look like data.
    (A foot sensor's strides stay, flagged ``gyro_mismatch``: its timing may still be of use.)"""
    bad = {
        p
        for p, q in quality["sensors"].items()
        if (q.get("gyro_check") or {}).get("verdict") == "mismatch"
    }
    for side in ("left", "right"):
        if {f"{side}_thigh", f"{side}_shank"} & bad:
            strides.loc[strides["side"] == side, list(KNEE_COLUMNS)] = np.nan
            knee = curves["variable"].isin(("knee_abduction", "knee_flexion"))
            curves = curves[~(knee & (curves["side"] == side))].reset_index(drop=True)
            squats = squats[squats["side"] != side].reset_index(drop=True)
    if "pelvis" in bad:
        strides["pelvic_drop_peak"] = np.nan
    return strides, curves, squats


def analyze(
    session: Session,
    *,
    mounting: Mapping[str, np.ndarray | str] | None = None,
    progress: Progress | None = None,
    knee_calibration: SavedKneeCalibration | None = None,
) -> Analysis:
    """Analyse a session. ``mounting``: optional declared sensor -> segment rotations (3x3) or preset names per
    placement (see :data:`imu_gait.pipeline.calibration.MOUNTING_PRESETS`), replacing the estimated alignment.
    ``knee_calibration``: a saved knee calibration (:func:`imu_gait.knee_calibration.load_knee_calibration`)
    used instead of estimating one; checked against the session's sensors first (UsageError on a mismatch).
    ``progress(step, fraction)`` is called as the work advances."""
    mounting = dict(mounting or {})
    knee_warnings = _check_knee_calibration(session, knee_calibration)
    report = progress or (lambda step, frac: None)
    quality: dict[str, Any] = {
        "session": {
            "subject": session.subject,
            "condition": session.condition,
            "activity": session.activity,
            "created": session.created,
            "notes": session.notes,
            "path": str(session.path) if session.path else None,
        },
        "sensors": {},
        "warnings": [],
        "assumptions": {
            "alignment": "foot z from gravity at rest, y from the dominant gyroscope axis while walking, sign "
            "from the push-off pattern and the direction of travel (unless a mounting was declared)",
            "events": "IC = foot-strike impact near the end of the swing's toe-up rotation (midway between "
            "the end of the rotation and the impact, at most 25 ms before it, when the ground stopped the "
            "rotation: its last quarter within 50 ms of the impact, none beyond 75 ms; the end of the "
            "rotation without a clear impact), FC = "
            "push-off pitch-rate peak, mid-stance = minimum of the SHOE zero-velocity statistic",
            "trajectory": "strapdown between mid-stances, zero velocity at both, linear drift plus a step at "
            "the contact impact",
            "eversion_zero": "static calibration if present, else median mid-stance angle of level strides",
        },
    }
    tables, curve_blocks = [], []
    events: dict[str, pd.DataFrame] = {}
    feet = [p for p in FOOT_PLACEMENTS if p in session.data]
    if not feet:
        quality["warnings"].append(
            "no foot sensor: no strides or pronation (placements left_foot/right_foot)"
        )
    for i, placement in enumerate(feet):
        side = FOOT_PLACEMENTS[placement]
        report(f"{placement}: preparing", i / max(len(feet), 1))
        prep, static = prepare_sensor(session, placement)
        report(f"{placement}: strides and pronation", (i + 0.3) / len(feet))
        if static is not None and static.sum() < STATIC_MIN_S * prep.rate_hz:
            a, b = session.calibration["static"]
            quality["warnings"].append(
                f"{placement}: the standing calibration {a:g}-{b:g} s holds {static.sum() / prep.rate_hz:.2f} s "
                f"of its data ({prep.t[0]:.1f}-{prep.t[-1]:.1f} s): its eversion zero comes from its level "
                "strides instead, so its absolute angles may not compare between visits (check the window)"
            )
            static = None
        gyro = check_gyro(prep.acc, prep.gyr, prep.rate_hz, rest_min_s(placement))
        flagged = {"gap": prep.gap, "saturated": prep.saturated}
        if gyro.verdict == "mismatch":
            flagged["gyro_mismatch"] = np.ones(prep.t.size, dtype=bool)
        res = analyze_foot(
            float(prep.t[0]),
            prep.acc,
            prep.gyr,
            prep.rate_hz,
            side,
            static=static,
            flagged=flagged,
            mounting=mounting.get(placement),
        )
        sq = res.quality
        sq["gyro_check"] = gyro.to_json()
        if gyro.verdict == "mismatch":
            sq["warnings"].insert(0, f"{placement}: {gyro.describe()}; its strides are flagged")
        sq["rate_hz"] = round(prep.rate_hz, 4)
        sq["gaps"] = prep.gap_intervals.tolist()
        sq["saturated_samples"] = {
            "acc": int(prep.acc_clipped.sum()),
            "gyr": int(prep.gyr_clipped.sum()),
        }
        quality["sensors"][placement] = sq
        quality["warnings"].extend(sq["warnings"])
        if prep.saturated.any():
            quality["warnings"].append(
                f"{placement}: {int(prep.saturated.sum())} clipped samples (sensor range); strides flagged"
            )
        t0, rate = float(prep.t[0]), prep.rate_hz
        events[placement] = pd.DataFrame(
            {
                "midswing": t0 + res.events.midswing / rate,
                "toe_off": t0 + res.events.toe_off / rate,
            }
        )
        events[f"{placement}_stances"] = pd.DataFrame(
            {
                "ic": t0 + res.events.ic / rate,
                "ms": t0 + res.events.ms / rate,
                "fc": t0 + res.events.fc / rate,
            }
        )
        df = pd.DataFrame({k: v for k, v in res.strides.items() if k != "ms"})
        df.insert(0, "stride", np.arange(len(df)))
        df.insert(0, "side", side)
        tables.append(df)
        if len(df):
            curve_blocks.append(_long_curves(side, res.curves, "eversion"))
    strides = (
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=STRIDE_COLUMNS)
    )
    for c in STRIDE_COLUMNS:
        if c not in strides.columns:
            strides[c] = np.nan
    strides = strides[list(STRIDE_COLUMNS)]
    curves = (
        pd.concat(curve_blocks, ignore_index=True)
        if curve_blocks
        else pd.DataFrame(columns=list(CURVE_COLUMNS))
    )
    squats = pd.DataFrame(columns=list(SQUAT_COLUMNS))
    for placement in session.placements:
        if placement in feet:
            continue
        prep, _ = prepare_sensor(session, placement)
        gyro = check_gyro(prep.acc, prep.gyr, prep.rate_hz, rest_min_s(placement))
        quality["sensors"].setdefault(placement, {})["gyro_check"] = gyro.to_json()
        if gyro.verdict == "mismatch":
            quality["warnings"].append(
                f"{placement}: {gyro.describe()}; the knee or pelvis results that use it are left out"
            )
    # further steps (knee, pelvis) add their columns, curves, squats and quality here
    extra: dict[str, Any] = {"events": events}
    strides, curves, squats = _add_knee(
        session, strides, curves, squats, quality, report, knee_calibration, knee_warnings, extra
    )
    strides, curves, squats = _without_mismatched(strides, curves, squats, quality)
    report("summary", 1.0)
    return Analysis(strides, curves, summarize(strides), squats, quality, extra)


# --- knee and pelvis step (imu_gait.pipeline.knee) -------------------------------------------------------------
KNEE_PLACEMENTS = ("left_thigh", "left_shank", "right_thigh", "right_shank", "pelvis")


def _add_knee(
    session: Session,
    strides: pd.DataFrame,
    curves: pd.DataFrame,
    squats: pd.DataFrame,
    quality: dict[str, Any],
    report: Progress,
    saved: SavedKneeCalibration | None = None,
    saved_warnings: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run :func:`imu_gait.pipeline.knee.analyze_knee` with the foot strides (or none: strides then come from
    the shanks) and a saved knee calibration if given, and merge its stride columns, curves, squats and quality
    section (with the calibration's sensors and where it came from, so that it can be reused). Into ``extra``
    (``knee_gyro_bias``): the orientation filter's gyroscope-bias estimates, for a replay of the session."""
    if not any(p in session.data for p in KNEE_PLACEMENTS):
        return strides, curves, squats
    from imu_gait.knee_calibration import calibration_sensors
    from imu_gait.pipeline.knee import analyze_knee

    report("knee and pelvis", 0.95)
    base = strides[["side", "stride", "activity", "ic", "fc", "end"]] if len(strides) else None
    res = analyze_knee(session, base, calibration=saved.sides if saved else None)
    calibrated = list(res.quality.get("calibration", {}))
    if saved is not None:
        res.quality["warnings"][:0] = saved_warnings or []
        res.quality["calibration_sensors"] = dict(saved.sensors)
        res.quality["calibration_subject"] = saved.subject
        res.quality["calibration_source"] = {
            s: {"source": "loaded", "file": str(saved.source)} for s in calibrated
        }
    else:
        res.quality["calibration_sensors"] = calibration_sensors(session.sensors, calibrated)
        res.quality["calibration_subject"] = session.subject
        res.quality["calibration_source"] = {s: {"source": "estimated"} for s in calibrated}
    quality["knee"] = res.quality
    quality["warnings"].extend(res.quality["warnings"])
    if extra is not None:
        extra["knee_gyro_bias"] = res.gyro_bias
    if not len(strides) and len(res.strides):
        new = res.strides.copy()
        new["stride_time"] = new["end"] - new["ic"]
        new["stance_time"] = new["fc"] - new["ic"]
        new["swing_time"] = new["end"] - new["fc"]
        new["cadence"] = 120.0 / new["stride_time"]
        new["quality"] = "ok"
        strides = new.reindex(columns=list(STRIDE_COLUMNS))
    cols = res.stride_columns
    if len(cols) and len(strides):
        cols = cols.astype({"stride": strides["stride"].dtype})
        merged = strides.drop(columns=[*KNEE_COLUMNS, "pelvic_drop_peak"]).merge(
            cols, on=["side", "stride"], how="left"
        )
        strides = merged[list(STRIDE_COLUMNS)]
    if len(res.curves):
        curves = pd.concat([curves, res.curves], ignore_index=True) if len(curves) else res.curves
    if len(res.squats):
        squats = res.squats[list(SQUAT_COLUMNS)]
    return strides, curves, squats


def _check_knee_calibration(session: Session, saved: SavedKneeCalibration | None) -> list[str]:
    if saved is None:
        return []
    from imu_gait.knee_calibration import check_knee_calibration

    return check_knee_calibration(saved, session.sensors, session.subject)


# --------------------------------------------------------------------------------------------------------------


def _long_curves(side: str, curves: np.ndarray, variable: str) -> pd.DataFrame:
    k = curves.shape[0]
    pct = np.linspace(0.0, 100.0, CURVE_POINTS)
    return pd.DataFrame(
        {
            "side": side,
            "stride": np.repeat(np.arange(k), CURVE_POINTS),
            "variable": variable,
            "pct": np.tile(pct, k),
            "value": curves.ravel(),
        }
    )


SUMMARY_METRICS = tuple(
    c
    for c in STRIDE_COLUMNS
    if c not in ("side", "stride", "activity", "ic", "fc", "end", "quality")
)


def summarize(strides: pd.DataFrame) -> pd.DataFrame:
    """One row per side and activity: ``n_strides``, ``n_ok`` (quality ok) and ``<metric>_mean/_sd/_cv`` for
    every numeric metric (cv = sd / |mean|, NaN when the mean is 0). SD is the sample SD (ddof 1)."""
    rows = []
    if len(strides) == 0:
        return pd.DataFrame(columns=["side", "activity", "n_strides", "n_ok"])
    # numeric conversion once for the whole table, then per group row indices (not per group and column)
    values = {c: _as_float(strides[c]) for c in SUMMARY_METRICS}
    ok = (strides["quality"] == "ok").to_numpy()
    groups = strides.groupby(["side", "activity"], sort=True)
    members = groups.indices
    for side, act in groups.size().index:  # the sorted group order
        idx = members[(side, act)]
        row: dict[str, Any] = {
            "side": side,
            "activity": act,
            "n_strides": len(idx),
            "n_ok": int(ok[idx].sum()),
        }
        for c in SUMMARY_METRICS:
            v = values[c][idx]
            v = v[np.isfinite(v)]
            mean = float(v.mean()) if v.size else np.nan
            sd = float(v.std(ddof=1)) if v.size > 1 else np.nan
            row[f"{c}_mean"] = mean
            row[f"{c}_sd"] = sd
            row[f"{c}_cv"] = sd / abs(mean) if v.size > 1 and mean != 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _as_float(col: pd.Series) -> np.ndarray:
    """A column as float64, non-numbers as NaN (``pd.to_numeric`` only where the column is not numeric)."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


def write_analysis(analysis: Analysis, out_dir: str | Path, *, figures: bool = True) -> list[Path]:
    """Write strides.csv, curves.csv, summary.csv, quality.json, squats.csv (if any) and figures/*.png into
    ``out_dir`` (created). Returns the paths written."""
    from imu_gait.session import write_json_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (
        ("strides.csv", analysis.strides),
        ("curves.csv", analysis.curves),
        ("summary.csv", analysis.summary),
    ):
        path = out / name
        df.to_csv(path, index=False, float_format="%.6g")
        written.append(path)
    if len(analysis.squats):
        path = out / "squats.csv"
        analysis.squats.to_csv(path, index=False, float_format="%.6g")
        written.append(path)
    path = out / "quality.json"
    write_json_atomic(_json_safe(analysis.quality), path)
    written.append(path)
    if figures:
        from imu_gait.plots.foot import write_foot_figures

        written.extend(write_foot_figures(analysis, out / "figures"))
        from imu_gait.plots.knee import write_knee_figures

        written.extend(write_knee_figures(analysis, out / "figures"))
    return written


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
