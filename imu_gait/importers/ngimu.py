"""x-io NGIMU CSV, FORMATS.md "x-io NGIMU / x-IMU CSV".

``Time (s),Gyroscope X (deg/s),...,Accelerometer X (g),...[,Magnetometer X (uT),...]``. Nominal 400 Hz, but the
timestamps are irregular (repeated values, gaps): the samples are resampled onto a uniform clock from the time
column (repeats averaged, long gaps left as gaps). Each NGIMU has its own clock; its GUI names the folder after the
device, which serves as a name for placements.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError
from imu_gait.importers.common import (
    Stream,
    check_monotonic,
    parse_table,
    parse_unit,
    read_text,
    sniff_separator,
    split_header,
)

NOMINAL_RATE_HZ = 400.0
AXES = ("X", "Y", "Z")


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    return [_read(p, rate_hz) for p in files]


def find_columns(path: Path, header: list[str], prefix: str) -> list[str]:
    """The ``<prefix> X/Y/Z (<unit>)`` columns of an x-io header."""
    cols = []
    for a in AXES:
        name = next(
            (h for h in header if h.split("(")[0].strip().lower() == f"{prefix} {a}".lower()), None
        )
        if name is None:
            raise FormatError(
                path,
                f"missing column; expected '{prefix} {a} (unit)'",
                line=1,
                column=f"{prefix} {a}",
            )
        cols.append(name)
    return cols


def _read(path: Path, rate_hz: float | None) -> Stream:
    lines = read_text(path).splitlines()
    sep = sniff_separator(lines[0])
    header = split_header(lines[0], sep)
    time_col = next((h for h in header if h.lower().startswith("time")), None)
    if time_col is None:
        raise FormatError(path, "missing column; expected 'Time (s)'", line=1, column="Time (s)")
    gyr_cols = find_columns(path, header, "Gyroscope")
    acc_cols = find_columns(path, header, "Accelerometer")
    mag_cols = (
        find_columns(path, header, "Magnetometer")
        if any(h.startswith("Magnetometer") for h in header)
        else []
    )
    table = parse_table(
        path, lines, 0, sep, [time_col, *gyr_cols, *acc_cols, *mag_cols], header=header
    )
    t = table.col(time_col)
    check_monotonic(t, path, table.first_line, time_col)
    mag = None
    if mag_cols and "(ut)" in mag_cols[0].lower().replace("µ", "u"):  # other units are not stored
        mag = np.column_stack([table.col(c) for c in mag_cols])
    return Stream(
        source=path.stem if path.parent.name in ("", ".") else f"{path.parent.name}/{path.stem}",
        files=[path],
        acc=np.column_stack([table.col(c) for c in acc_cols]),
        gyr=np.column_stack([table.col(c) for c in gyr_cols]),
        acc_unit=parse_unit(acc_cols[0]),
        gyr_unit=parse_unit(gyr_cols[0]),
        t=t,
        nominal_rate=rate_hz or NOMINAL_RATE_HZ,
        regular=False,
        clock=f"ngimu:{path.parent.name}/{path.name}",
        mag=mag,
        family="ngimu",
        name_hints=[path.parent.name, path.stem],
        acc_column=acc_cols[0],
        gyr_column=gyr_cols[0],
    )
