"""A saved knee calibration, read back from an earlier analysis (``imu-gait analyze ... --knee-calibration SRC``).

A clinician calibrates once per visit (standing, then walking: the functional hinge axes need gait) and records
short tasks afterwards (squats, step-downs, a few stairs) where the axis fit of their own would be weak. Every
analysis stores its knee calibration in quality.json (``knee.calibration``: per side the sensor-to-segment axes,
the standing up directions, the standing angles, the knee centre relative to each sensor and the gyroscopes'
standing readings, see :class:`imu_gait.pipeline.knee.KneeCalibration`; files saved before the last two were
stored lack them, and an analysis with them estimates the knee centre from its own data) and the
sensors it belongs to (``knee.calibration_sensors``: placement -> address, name, family). This module reads that
back and checks it against the session it is applied to. The calibration is expressed in each sensor's own
axes, so it holds only while the same sensors stay strapped in the same way: a sensor address that changed
means a different or re-clipped sensor, which invalidates it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imu_gait.errors import FormatError, UsageError
from imu_gait.pipeline.knee import MAX_JOINT_DISTANCE_M, KneeCalibration, calibration_from_dict
from imu_gait.session import SensorInfo

SIDES = ("left", "right")
VECTORS = ("j_thigh", "j_shank", "up_thigh", "up_shank", "offset")
MATRICES = ("C_thigh", "C_shank")
CENTRES = ("centre_thigh", "centre_shank")  # optional (null or absent: unknown)
BIASES = ("bias_thigh", "bias_shank")  # optional (null or absent: unknown)
MAX_BIAS_DPS = 50.0  # a standing gyroscope reading above this is no bias but movement or a fault


@dataclass(frozen=True)
class SavedKneeCalibration:
    """Per side a :class:`KneeCalibration`, the sensors it was made with (placement -> {address, name, family};
    empty when the file does not record them), the subject it was made on ('' when unknown) and the file read."""

    sides: dict[str, KneeCalibration]
    sensors: dict[str, dict[str, str]] = field(default_factory=dict)
    subject: str = ""
    source: Path = Path()


def calibration_sensors(sensors: Mapping[str, SensorInfo], sides: list[str]) -> dict[str, dict]:
    """The thigh and shank sensors of ``sides`` as stored in quality.json (``knee.calibration_sensors``)."""
    out = {}
    for side in sides:
        for seg in ("thigh", "shank"):
            info = sensors.get(f"{side}_{seg}")
            if info is not None:
                out[f"{side}_{seg}"] = {
                    "address": info.address,
                    "name": info.name,
                    "family": info.family,
                }
    return out


def load_knee_calibration(src: str | Path) -> SavedKneeCalibration:
    """Read the knee calibration of an analysis folder (its quality.json) or of a JSON file: a whole
    quality.json, or its ``knee`` section alone. Raises FormatError naming the file on anything else."""
    path = Path(src)
    if path.is_dir():
        path = path / "quality.json"
    if not path.is_file():
        raise FormatError(path, "no such file (expected an analysis folder or a JSON file)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, f"not a JSON file ({exc})") from None
    if not isinstance(doc, dict):
        raise FormatError(path, "expected a JSON object")
    knee = doc.get("knee") if isinstance(doc.get("knee"), dict) else doc
    cal = knee.get("calibration")
    if not isinstance(cal, dict) or not cal:
        raise FormatError(path, "no knee calibration in it (knee.calibration)")
    sides = {}
    for side, d in cal.items():
        if side not in SIDES:
            raise FormatError(path, f"knee.calibration: unknown side {side!r}")
        sides[side] = _parse_side(path, side, d)
    sensors = knee.get("calibration_sensors") or {}
    if not isinstance(sensors, dict) or not all(isinstance(v, dict) for v in sensors.values()):
        raise FormatError(path, "knee.calibration_sensors: expected {placement: {address, ...}}")
    session = doc.get("session") if isinstance(doc.get("session"), dict) else {}
    subject = knee.get("calibration_subject") or session.get("subject") or ""
    return SavedKneeCalibration(sides, dict(sensors), str(subject), path)


def _optional_vector(d: dict, key: str) -> np.ndarray | bool | None:
    """``d[key]`` as 3 finite numbers, None when absent or null, False when it is something else."""
    if d.get(key) is None:
        return None
    try:
        v = np.asarray(d[key], dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return v if v.shape == (3,) and np.isfinite(v).all() else False


def _parse_side(path: Path, side: str, d: Any) -> KneeCalibration:
    where = f"knee.calibration.{side}"
    if not isinstance(d, dict):
        raise FormatError(path, f"{where}: expected an object")
    missing = [k for k in (*VECTORS, *MATRICES) if k not in d]
    if missing:
        raise FormatError(path, f"{where}: missing {', '.join(missing)}")
    for k in (*VECTORS, *MATRICES):
        shape = (3, 3) if k in MATRICES else (3,)
        try:
            v = np.asarray(d[k], dtype=np.float64)
        except (TypeError, ValueError):
            v = np.zeros(0)
        if v.shape != shape or not np.isfinite(v).all():
            raise FormatError(
                path, f"{where}.{k}: expected {'3x3' if len(shape) == 2 else '3'} numbers"
            )
        if k in MATRICES and not np.allclose(v.T @ v, np.eye(3), atol=1e-3):
            raise FormatError(path, f"{where}.{k}: not a rotation (orthonormal axes)")
        if k != "offset" and k not in MATRICES and abs(np.linalg.norm(v) - 1.0) > 1e-3:
            raise FormatError(path, f"{where}.{k}: not a unit vector")
    for k in CENTRES:
        v = _optional_vector(d, k)
        if v is False:
            raise FormatError(path, f"{where}.{k}: expected 3 numbers (m) or null")
        if v is not None and np.linalg.norm(v) > MAX_JOINT_DISTANCE_M:
            raise FormatError(
                path, f"{where}.{k}: {np.linalg.norm(v):.2f} m from the sensor, not a knee centre"
            )
    for k in BIASES:
        v = _optional_vector(d, k)
        if v is False or (v is not None and np.abs(v).max() > MAX_BIAS_DPS):
            raise FormatError(
                path,
                f"{where}.{k}: expected 3 numbers (deg/s, each within {MAX_BIAS_DPS:g}) or null",
            )
    if d.get("side", side) != side:
        raise FormatError(path, f"{where}: side {d.get('side')!r} under the key {side!r}")
    window = d.get("heading_window_s", 6.0)
    if not isinstance(window, int | float) or not window > 0:
        raise FormatError(path, f"{where}.heading_window_s: expected a positive number")
    known = set(KneeCalibration.__dataclass_fields__)
    kw = {k: v for k, v in d.items() if k in known}
    kw.update(side=side, axis_from=str(d.get("axis_from", "unknown")), heading_window_s=window)
    return calibration_from_dict(kw)


def check_knee_calibration(
    saved: SavedKneeCalibration, sensors: Mapping[str, SensorInfo], subject: str = ""
) -> list[str]:
    """Check ``saved`` against a session's ``sensors`` (and ``subject``): errors (UsageError naming the file)
    when the session has no thigh+shank pair, a side of the session has no calibration, the calibration was
    made on another subject, none of the calibrated sensors is in the session, or a sensor sits at another
    placement than when calibrated. Returns warnings for a changed sensor address at a placement (a different
    or re-clipped sensor) or a file without sensor records."""
    src = saved.source
    legs = [s for s in SIDES if f"{s}_thigh" in sensors and f"{s}_shank" in sensors]
    if not legs:
        raise UsageError(
            f"{src}: the session has no thigh+shank sensor pair to apply the knee calibration to"
        )
    missing = [s for s in legs if s not in saved.sides]
    if missing:
        have = ", ".join(saved.sides) or "none"
        raise UsageError(
            f"{src}: no knee calibration for the {' and '.join(missing)} side (it has: {have})"
        )
    if saved.subject and subject and saved.subject != subject:
        raise UsageError(
            f"{src}: the knee calibration was made on subject {saved.subject!r}, this session is {subject!r}"
        )
    if not saved.sensors:
        return [
            f"knee calibration {src} records no sensor addresses: cannot check that this session's thigh and "
            "shank sensors are the ones calibrated"
        ]
    placements = [f"{s}_{seg}" for s in legs for seg in ("thigh", "shank")]
    here = {p: sensors[p].address for p in placements if sensors[p].address}
    then = {p: v.get("address", "") for p, v in saved.sensors.items() if v.get("address")}
    for p, addr in here.items():
        moved = [q for q, a in then.items() if a == addr and q != p]
        if moved:
            raise UsageError(
                f"{src}: sensor {addr} is the {p} here but was the {moved[0]} when calibrated"
            )
    if here and then and not set(here.values()) & set(then.values()):
        raise UsageError(
            f"{src}: none of this session's thigh/shank sensors ({', '.join(sorted(here.values()))}) is one "
            "the knee calibration was made with: it belongs to another session"
        )
    warnings = []
    for p in placements:
        a, b = then.get(p, ""), here.get(p, "")
        if a != b:
            warnings.append(
                f"{p}: sensor address {b or 'unknown'} differs from the knee calibration's "
                f"{a or 'unknown'} ({src}): a different or re-clipped sensor invalidates the calibration"
            )
    return warnings
