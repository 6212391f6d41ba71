"""Synthetic analysis tables (strides, curves, squats) with known pre/post effects and known stride noise.

For tests, the comparison benchmark and demonstrations of the statistics; they follow the strides.csv /
curves.csv / squats.csv contracts. Typical walking values and SDs are of the order reported in METHODS.md
(e.g. eversion excursion 4.6 +/- 2.2 deg, PMC5336196; knee abduction peaks 0-5 deg).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imu_gait.compare.inputs import AnalysisInput

# (mean, stride-to-stride SD) of walking strides
WALK_BASELINE: dict[str, tuple[float, float]] = {
    "stride_time": (1.10, 0.03),
    "stance_time": (0.66, 0.02),
    "swing_time": (0.44, 0.02),
    "cadence": (109.0, 3.0),
    "stride_length": (1.35, 0.05),
    "speed": (1.23, 0.05),
    "elevation_change": (0.0, 0.02),
    "eversion_ic": (-2.0, 1.5),
    "eversion_peak": (4.0, 2.0),
    "eversion_excursion": (6.0, 1.5),
    "eversion_velocity_peak": (250.0, 40.0),
    "time_to_peak_eversion": (35.0, 5.0),
    "knee_abduction_ic": (0.0, 1.5),
    "knee_abduction_peak": (3.0, 1.8),
    "knee_frontal_excursion": (4.0, 1.5),
    "knee_flexion_peak_stance": (18.0, 3.0),
    "pelvic_drop_peak": (5.0, 1.2),
}

SQUAT_BASELINE: dict[str, tuple[float, float]] = {
    "knee_flexion_peak": (60.0, 5.0),
    "knee_abduction_peak": (8.0, 2.5),
    "knee_frontal_excursion": (7.0, 2.0),
}


def bump(center: float, width: float, amplitude: float) -> np.ndarray:
    """A smooth localised curve difference over 0..100 %: amplitude * Gaussian(center, width) (101 nodes)."""
    pct = np.arange(101.0)
    return amplitude * np.exp(-0.5 * ((pct - center) / width) ** 2)


def _base_curve(variable: str) -> np.ndarray:
    p = np.arange(101.0)
    if variable == "eversion":  # eversion rises to a peak near 35 % stance, inverts at push-off
        return (
            -2.0
            + 6.0 * np.exp(-0.5 * ((p - 35) / 16) ** 2)
            - 8.0 * np.exp(-0.5 * ((p - 100) / 12) ** 2)
        )
    return 0.0 + 3.0 * np.exp(-0.5 * ((p - 25) / 14) ** 2)


def _smooth_noise(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    """Stride-to-stride curve variation: random offset + 3 low-frequency components, total SD ~ ``sd``."""
    p = np.arange(101.0) / 100.0
    out = rng.normal(0, sd * 0.6, (n, 1)) * np.ones((1, 101))
    for k in (1, 2, 3):
        a = rng.normal(0, sd * 0.45 / k, (n, 1))
        ph = rng.uniform(0, 2 * np.pi, (n, 1))
        out += a * np.sin(2 * np.pi * k * p[None, :] / 2 + ph)
    return out


def synthetic_analysis(
    seed: int | np.random.Generator,
    n_strides: int = 40,
    shift: dict[str, float] | None = None,
    curve_shift: dict[str, np.ndarray] | None = None,
    sides: tuple[str, ...] = ("left", "right"),
    activities: tuple[str, ...] = ("walk",),
    sd_scale: float = 1.0,
    curve_sd: float = 1.5,
    name: str = "session",
    subject: str = "P01",
    condition: str = "pre",
    squat_reps: int = 0,
    squat_shift: dict[str, float] | None = None,
    session_offset: dict[str, float] | None = None,
    n_bad: int = 0,
) -> AnalysisInput:
    """One analysed session: ``n_strides`` per side and activity, Gaussian stride noise (SDs of WALK_BASELINE
    times ``sd_scale``), metric means moved by ``shift`` (+ ``session_offset``, a session-level error), curves
    moved by ``curve_shift[variable]`` (101 values), ``n_bad`` strides per side flagged with a quality reason."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    shift = shift or {}
    session_offset = session_offset or {}
    curve_shift = curve_shift or {}
    stride_rows, curve_parts = [], []
    stride_id = 0
    for activity in activities:
        for side in sides:
            n = n_strides
            ids = np.arange(stride_id, stride_id + n)
            stride_id += n
            t0 = np.cumsum(np.full(n, 1.1)) + rng.uniform(0, 0.5)
            cols = {
                "side": side,
                "stride": ids,
                "activity": activity,
                "ic": t0,
                "fc": t0 + 0.66,
                "end": t0 + 1.1,
            }
            for metric, (mu, sd) in WALK_BASELINE.items():
                m = mu + shift.get(metric, 0.0) + session_offset.get(metric, 0.0)
                cols[metric] = rng.normal(m, sd * sd_scale, n)
            q = np.array(["ok"] * n, dtype=object)
            q[: min(n_bad, n)] = "gap in foot data"
            cols["quality"] = q
            stride_rows.append(pd.DataFrame(cols))
            for variable in ("eversion", "knee_abduction"):
                y = _base_curve(variable)[None, :] + _smooth_noise(rng, n, curve_sd)
                y = y + np.asarray(curve_shift.get(variable, 0.0))
                curve_parts.append(
                    pd.DataFrame(
                        {
                            "side": side,
                            "stride": np.repeat(ids, 101),
                            "variable": variable,
                            "pct": np.tile(np.arange(101), n),
                            "value": y.ravel(),
                        }
                    )
                )
    squat_rows = []
    squat_shift = squat_shift or {}
    for side in sides if squat_reps else ():
        cols = {
            "side": side,
            "task": "squat",
            "rep": np.arange(1, squat_reps + 1),
            "start": np.arange(squat_reps) * 4.0,
            "end": np.arange(squat_reps) * 4.0 + 3.0,
        }
        for metric, (mu, sd) in SQUAT_BASELINE.items():
            cols[metric] = rng.normal(mu + squat_shift.get(metric, 0.0), sd * sd_scale, squat_reps)
        squat_rows.append(pd.DataFrame(cols))
    return AnalysisInput(
        name=name,
        strides=pd.concat(stride_rows, ignore_index=True),
        curves=pd.concat(curve_parts, ignore_index=True),
        squats=pd.concat(squat_rows, ignore_index=True) if squat_rows else pd.DataFrame(),
        quality={"sensors": {}, "warnings": []},
        meta={
            "subject": subject,
            "condition": condition,
            "created": "2026-01-01T10:00:00",
            "notes": "",
        },
    )


def write_analysis_folder(inp: AnalysisInput, folder) -> None:
    """Write an AnalysisInput as an analysis output folder (strides.csv, curves.csv, squats.csv, quality.json,
    session.json with the metadata)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inp.strides.to_csv(folder / "strides.csv", index=False)
    inp.curves.to_csv(folder / "curves.csv", index=False)
    if len(inp.squats):
        inp.squats.to_csv(folder / "squats.csv", index=False)
    (folder / "quality.json").write_text(json.dumps(inp.quality, indent=1), encoding="utf-8")
    (folder / "session.json").write_text(json.dumps(inp.meta, indent=1), encoding="utf-8")
