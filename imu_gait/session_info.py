"""What `imu-gait info` reports about a session: per sensor duration, rate, gaps, saturation, plausibility."""

from __future__ import annotations

from typing import Any

import numpy as np

from imu_gait.pipeline.frame_check import check_gyro, rest_min_s
from imu_gait.pipeline.signal import GRAVITY, effective_rate, find_gaps, saturation_mask
from imu_gait.session import ImuData, SensorInfo, Session

RATE_TOLERANCE = 0.01  # effective vs nominal rate, relative


def stillest_window(data: ImuData, window_s: float = 1.0) -> slice:
    """The window of ``window_s`` with the lowest gyroscope energy (for a gravity check)."""
    n = len(data)
    w = max(2, round(window_s * max(data.rate_hz, 1.0)))
    if n <= w:
        return slice(0, n)
    energy = np.sum(data.gyr**2, axis=1)
    c = np.concatenate([[0.0], np.cumsum(energy)])
    i = int(np.argmin(c[w:] - c[:-w]))
    return slice(i, i + w)


def describe_sensor(data: ImuData, info: SensorInfo, placement: str = "") -> dict[str, Any]:
    """Facts and warnings about one sensor's samples (``placement`` decides what counts as a rest for the
    gyroscope check)."""
    rate = effective_rate(data.t)
    gaps = find_gaps(data.t, rate_hz=rate or None)
    missing = float(np.sum(gaps[:, 1] - gaps[:, 0] - 1.0 / rate)) if gaps.size and rate else 0.0
    acc_fs = info.acc_range_g * GRAVITY if info.acc_range_g else None
    sat_acc = saturation_mask(data.acc, acc_fs, min_level=4 * GRAVITY)
    sat_gyr = saturation_mask(data.gyr, info.gyr_range_dps, min_level=300.0)
    still = stillest_window(data)
    g_still = (
        float(np.median(np.linalg.norm(data.acc[still], axis=1))) if len(data) else float("nan")
    )
    gyr_still = (
        float(np.median(np.linalg.norm(data.gyr[still], axis=1))) if len(data) else float("nan")
    )
    warnings: list[str] = []
    if info.rate_hz and rate and abs(rate / info.rate_hz - 1) > RATE_TOLERANCE:
        warnings.append(f"effective rate {rate:.2f} Hz differs from nominal {info.rate_hz:g} Hz")
    if len(gaps):
        warnings.append(f"{len(gaps)} gap(s), {missing:.3f} s missing")
    if sat_acc.any():
        warnings.append(f"{int(sat_acc.sum())} samples with the accelerometer saturated")
    if sat_gyr.any():
        warnings.append(f"{int(sat_gyr.sum())} samples with the gyroscope saturated")
    if np.isfinite(g_still) and abs(g_still - GRAVITY) > 1.0 and gyr_still < 10:
        warnings.append(
            f"acceleration at rest is {g_still:.2f} m/s^2, not ~9.81: check units/calibration"
        )
    if info.gaps:
        warnings.append(f"{len(info.gaps)} recorder gap(s) marked in session.json")
    gyro = (
        check_gyro(data.acc, data.gyr, rate, rest_min_s(placement))
        if len(data) > 10 and rate
        else None
    )
    if gyro is not None and gyro.verdict == "mismatch":
        warnings.append(gyro.describe())
    return {
        "family": info.family,
        "name": info.name,
        "samples": len(data),
        "start_s": float(data.t[0]) if len(data) else 0.0,
        "duration_s": data.duration,
        "rate_hz": rate,
        "nominal_rate_hz": info.rate_hz,
        "gaps": [[float(a), float(b)] for a, b in gaps],
        "missing_s": missing,
        "saturated_acc": int(sat_acc.sum()),
        "saturated_gyr": int(sat_gyr.sum()),
        "gravity_at_rest": g_still,
        "gyro_check": gyro.to_json() if gyro is not None else None,
        "warnings": warnings,
    }


def describe_session(session: Session) -> dict[str, Any]:
    """The `imu-gait info --json` object."""
    sensors = {
        p: describe_sensor(session.data[p], session.sensors[p], p) for p in session.placements
    }
    starts = [s["start_s"] for s in sensors.values()]
    ends = [s["start_s"] + s["duration_s"] for s in sensors.values()]
    warnings = [f"{p}: {w}" for p, s in sensors.items() for w in s["warnings"]]
    if not sensors:
        warnings.append("the session has no sensors")
    return {
        "path": str(session.path) if session.path else None,
        "subject": session.subject,
        "condition": session.condition,
        "activity": session.activity,
        "created": session.created,
        "duration_s": (max(ends) - min(starts)) if sensors else 0.0,
        "calibration": session.calibration,
        "events": len(session.events),
        "source": session.source,
        "sensors": sensors,
        "warnings": warnings,
    }
