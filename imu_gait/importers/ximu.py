"""x-io x-IMU GUI export ``*_CalInertialAndMag.csv``, FORMATS.md "x-io NGIMU / x-IMU CSV".

``Packet number,Gyroscope X (deg/s),...,Accelerometer X (g),...,Magnetometer X (G),...``. The packet number is not
a sample counter (other packet types are interleaved), and there is no time column: the rate is the device setting
(give --rate; default 256 Hz with a warning), and t = row / rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError
from imu_gait.importers.common import (
    Stream,
    parse_table,
    parse_unit,
    read_text,
    sniff_separator,
    split_header,
)
from imu_gait.importers.ngimu import find_columns

DEFAULT_RATE_HZ = 256.0
GAUSS_TO_UT = 100.0


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    return [_read(p, rate_hz) for p in files]


def _read(path: Path, rate_hz: float | None) -> Stream:
    lines = read_text(path).splitlines()
    sep = sniff_separator(lines[0])
    header = split_header(lines[0], sep)
    if "Packet number" not in header:
        raise FormatError(
            path, "missing column; expected 'Packet number'", line=1, column="Packet number"
        )
    gyr_cols = find_columns(path, header, "Gyroscope")
    acc_cols = find_columns(path, header, "Accelerometer")
    mag_cols = (
        find_columns(path, header, "Magnetometer")
        if any(h.startswith("Magnetometer") for h in header)
        else []
    )
    table = parse_table(
        path, lines, 0, sep, ["Packet number", *gyr_cols, *acc_cols, *mag_cols], header=header
    )
    warnings = []
    if not rate_hz:
        warnings.append(
            f"x-IMU files carry no time; rate assumed {DEFAULT_RATE_HZ:g} Hz (give --rate HZ if it differs)"
        )
    rate = rate_hz or DEFAULT_RATE_HZ
    mag = None
    if mag_cols and "(G)" in mag_cols[0]:  # gauss; anything else is not stored
        mag = np.column_stack([table.col(c) for c in mag_cols]) * GAUSS_TO_UT
    stem = path.stem.removesuffix("_CalInertialAndMag")
    return Stream(
        source=stem,
        files=[path],
        acc=np.column_stack([table.col(c) for c in acc_cols]),
        gyr=np.column_stack([table.col(c) for c in gyr_cols]),
        acc_unit=parse_unit(acc_cols[0]),
        gyr_unit=parse_unit(gyr_cols[0]),
        t=np.arange(table.n) / rate,
        nominal_rate=rate,
        regular=True,
        clock=f"ximu:{path.parent.name}/{path.name}",
        mag=mag,
        seq=table.col("Packet number").astype(np.int64),
        family="x-imu",
        name_hints=[stem],
        acc_column=acc_cols[0],
        gyr_column=gyr_cols[0],
        warnings=warnings,
    )
