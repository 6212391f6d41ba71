"""Other tools' files -> :class:`~imu_gait.session.Session` (FORMATS.md). One module per format, each with
``read_files(files, rate_hz, **options) -> list[Stream]``; :mod:`imu_gait.importers.common` turns the streams into
a session (units, uniform clock, placements).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from imu_gait.errors import UsageError
from imu_gait.importers.common import ACC_UNITS, GYR_UNITS, build_session
from imu_gait.session import Session

FORMATS: dict[str, str] = {
    "gaitmap": "gaitmap CSV (mad-lab-fau/gaitmap), multi- or single-sensor",
    "metabase": "MbientLab MetaBase CSV, accelerometer + gyroscope file pairs",
    "dot": "Movella (Xsens) DOT CSV",
    "xsens": "Xsens MT Manager export (MTw Awinda, MTi), incl. the 'Acquisition frequency' variant",
    "movesense": "Movesense JSON log (IMU6/IMU9)",
    "ngimu": "x-io NGIMU CSV",
    "ximu": "x-io x-IMU *_CalInertialAndMag.csv",
    "csv": "generic CSV: time column or --rate, three acc and three gyro columns",
}


def import_files(
    format: str,
    files: Sequence[str | Path],
    placements: Sequence[str] | None = None,
    source_map: Mapping[str, str] | None = None,
    rate_hz: float | None = None,
    *,
    acc_unit: str | None = None,
    gyr_unit: str | None = None,
    **csv_options: Any,
) -> Session:
    """Read ``files`` of ``format`` into a Session (not yet saved).

    ``placements``: one per sensor in file order, or ``SOURCE=PLACEMENT`` items; ``source_map`` maps sensor names
    to placements too. ``rate_hz`` is the nominal rate (required where a format has no time). ``acc_unit``
    (g, m/s^2) and ``gyr_unit`` (deg/s, rad/s) override what the format declares. ``csv_options`` go to the
    generic csv reader (time_column, time_unit, acc_columns, gyr_columns).
    """
    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r}; expected one of: {', '.join(FORMATS)}")
    if not files:
        raise UsageError("no input files given")
    if acc_unit is not None and acc_unit not in ACC_UNITS:
        raise UsageError(
            f"unknown accelerometer unit {acc_unit!r}; expected one of: {', '.join(ACC_UNITS)}"
        )
    if gyr_unit is not None and gyr_unit not in GYR_UNITS:
        raise UsageError(
            f"unknown gyroscope unit {gyr_unit!r}; expected one of: {', '.join(GYR_UNITS)}"
        )
    if rate_hz is not None and not rate_hz > 0:
        raise UsageError(f"--rate must be positive, got {rate_hz}")
    paths = [Path(f) for f in files]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
    module = importlib.import_module(
        f"imu_gait.importers.{format if format != 'csv' else 'generic_csv'}"
    )
    if format == "csv":
        streams = module.read_files(
            paths, rate_hz, acc_unit=acc_unit, gyr_unit=gyr_unit, **csv_options
        )
    else:
        if csv_options:
            raise UsageError(
                f"options {', '.join(sorted(csv_options))} apply to the csv format only"
            )
        streams = module.read_files(paths, rate_hz)
    for s in streams:
        if acc_unit is not None:
            s.acc_unit = acc_unit
        if gyr_unit is not None:
            s.gyr_unit = gyr_unit
    mapping = [*(placements or []), *(f"{k}={v}" for k, v in (source_map or {}).items())]
    return build_session(format, streams, placements=mapping, rate_hz=rate_hz)


__all__ = ["FORMATS", "import_files"]
