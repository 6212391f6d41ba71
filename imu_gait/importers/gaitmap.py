"""gaitmap CSV (mad-lab-fau/gaitmap example data), FORMATS.md "gaitmap CSV".

Multi-sensor files have two header rows (``sensor`` then ``axis``) and a sample index first; single-sensor files
have one header row with an unnamed index column (sometimes also ``index``). Acc in m/s^2, gyro in deg/s, no time
column: the rate comes from the user (default 204.8 Hz, the rate of the example data, with a warning). The index
is the clock: t = index / rate, so gaps in the index stay gaps. gaitmap data are foot sensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError
from imu_gait.importers.common import Stream, parse_table, read_text, split_header

DEFAULT_RATE_HZ = 204.8
AXES = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    """Streams of every file, in file order."""
    return [s for f in files for s in read(f, rate_hz)]


def read(path: Path, rate_hz: float | None = None) -> list[Stream]:
    """Streams of one gaitmap CSV file (one per sensor), in the order the sensors first appear."""
    lines = read_text(path).splitlines()
    first = split_header(lines[0], ",")
    if first and first[0].strip().lower() == "sensor":
        return _read_multi(path, lines, first, rate_hz)
    return [_read_single(path, lines, first, rate_hz)]


def _rate_and_warning(rate_hz: float | None) -> tuple[float, list[str]]:
    if rate_hz:
        return rate_hz, []
    return DEFAULT_RATE_HZ, [
        f"gaitmap files carry no time; rate assumed {DEFAULT_RATE_HZ} Hz (give --rate HZ if it differs)"
    ]


def _index_time(path: Path, idx: np.ndarray, first_line: int, rate: float) -> np.ndarray:
    d = np.diff(idx)
    bad = np.flatnonzero(d <= 0)
    if bad.size:
        i = int(bad[0])
        raise FormatError(
            path,
            f"sample index goes from {idx[i]:g} to {idx[i + 1]:g}; expected an increasing index",
            line=first_line + i + 1,
            column="index",
        )
    return idx / rate


def _read_multi(
    path: Path, lines: list[str], sensors_row: list[str], rate_hz: float | None
) -> list[Stream]:
    if len(lines) < 2:
        raise FormatError(path, "expected a second header row 'axis,acc_x,...'", line=2)
    axes_row = split_header(lines[1], ",")
    if not axes_row or axes_row[0].strip().lower() != "axis" or len(axes_row) != len(sensors_row):
        raise FormatError(
            path,
            "expected the second header row 'axis,...' with one axis per sensor column",
            line=2,
        )
    header = ["index"] + [f"{s}/{a}" for s, a in zip(sensors_row[1:], axes_row[1:], strict=True)]
    names: list[str] = []
    for s in sensors_row[1:]:
        if s not in names:
            names.append(s)
    wanted = ["index"] + [f"{s}/{a}" for s in names for a in AXES]
    table = parse_table(path, lines, 1, ",", wanted, header=header)
    rate, warn = _rate_and_warning(rate_hz)
    t = _index_time(path, table.col("index"), table.first_line, rate)
    streams = []
    for s in names:
        cols = [table.col(f"{s}/{a}") for a in AXES]
        streams.append(
            Stream(
                source=s,
                files=[path],
                acc=np.column_stack(cols[:3]),
                gyr=np.column_stack(cols[3:]),
                acc_unit="m/s^2",
                gyr_unit="deg/s",
                t=t,
                nominal_rate=rate,
                regular=True,
                clock=f"gaitmap:{path.parent.name}/{path.name}",
                seq=table.col("index").astype(np.int64),
                family="gaitmap",
                segment_hint="foot",
                acc_column=f"{s}/acc_x",
                gyr_column=f"{s}/gyr_x",
                warnings=list(warn),
            )
        )
    return streams


def _read_single(path: Path, lines: list[str], header: list[str], rate_hz: float | None) -> Stream:
    header = list(header)
    if header and header[0] in ("", "Unnamed: 0"):
        header[0] = "_row"
    has_index = "index" in header
    wanted = [*(["index"] if has_index else []), *AXES]
    optional = ["_row"]
    table = parse_table(path, lines, 0, ",", wanted, header=header, optional=optional)
    rate, warn = _rate_and_warning(rate_hz)
    key = "index" if has_index else "_row" if "_row" in table.columns else None
    if key is not None:
        idx = table.col(key)
        t = _index_time(path, idx, table.first_line, rate)
    else:
        idx = np.arange(table.n, dtype=np.float64)
        t = idx / rate
    cols = [table.col(a) for a in AXES]
    return Stream(
        source=path.stem,
        files=[path],
        acc=np.column_stack(cols[:3]),
        gyr=np.column_stack(cols[3:]),
        acc_unit="m/s^2",
        gyr_unit="deg/s",
        t=t,
        nominal_rate=rate,
        regular=True,
        clock=f"gaitmap:{path.parent.name}/{path.name}",
        seq=idx.astype(np.int64),
        family="gaitmap",
        segment_hint="foot",
        acc_column="acc_x",
        gyr_column="gyr_x",
        warnings=list(warn),
    )
