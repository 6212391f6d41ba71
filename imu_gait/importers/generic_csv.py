"""Generic CSV, FORMATS.md "Generic CSV": a time column (s or ms) or a rate, three accelerometer and three
gyroscope columns. Column names and units come from the options, else from the header (``acc_x``, ``Acc X (g)``,
``gyro_z (rad/s)``, ``time (ms)``, ...); what is still unknown is decided from the data (see
:mod:`imu_gait.importers.common` for the unit policy). Files with a time column share its clock.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError, UsageError
from imu_gait.importers.common import (
    Stream,
    check_monotonic,
    parse_table,
    parse_unit,
    read_text,
    sniff_separator,
    split_header,
)

TIME_NAMES = {
    "t",
    "time",
    "timestamp",
    "times",
    "elapsed",
    "seconds",
    "sec",
    "ms",
    "time_s",
    "time_ms",
    "epoch",
}
ACC_WORDS = ("acc", "accel", "accelerometer", "acceleration")
GYR_WORDS = ("gyr", "gyro", "gyroscope", "angular", "angvel", "omega", "rot", "rate")


def read_files(
    files: list[Path],
    rate_hz: float | None = None,
    *,
    time_column: str | None = None,
    time_unit: str | None = None,
    acc_columns: list[str] | None = None,
    gyr_columns: list[str] | None = None,
    acc_unit: str | None = None,
    gyr_unit: str | None = None,
) -> list[Stream]:
    if time_unit not in (None, "s", "ms"):
        raise UsageError(f"--time-unit {time_unit}: expected s or ms")
    for name, cols in (("--acc-columns", acc_columns), ("--gyr-columns", gyr_columns)):
        if cols is not None and len(cols) != 3:
            raise UsageError(f"{name}: expected three column names X,Y,Z, got {len(cols)}")
    return [
        _read(p, rate_hz, time_column, time_unit, acc_columns, gyr_columns, acc_unit, gyr_unit)
        for p in files
    ]


def _base(name: str) -> str:
    """Column name without its unit, lower case, separators as underscores."""
    name = re.sub(r"[\(\[].*?[\)\]]", "", name).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def _signed(columns: list[str], header: list[str]) -> tuple[list[str], np.ndarray]:
    """Column names given by the user, each optionally prefixed with ``-`` (the axis negated, e.g. for a sensor
    with a left-handed gyroscope: ``--gyr-columns=-gx,-gy,-gz``), and their signs; a header name that itself
    starts with ``-`` is taken as it is."""
    names, signs = [], []
    for c in columns:
        if c.startswith("-") and c not in header:
            names.append(c[1:])
            signs.append(-1.0)
        else:
            names.append(c)
            signs.append(1.0)
    return names, np.array(signs)


def _axis_columns(header: list[str], words: tuple[str, ...]) -> list[str] | None:
    found: dict[str, str] = {}
    for h in header:
        b = _base(h)
        m = re.match(r"^([a-z_]*?)_?([xyz])$", b)
        if not m:
            continue
        stem = m.group(1).strip("_")
        if any(stem == w or stem.startswith(w) or stem.endswith(w) for w in words):
            found.setdefault(m.group(2), h)
    return [found[a] for a in "xyz"] if len(found) == 3 else None


def _read(
    path: Path,
    rate_hz: float | None,
    time_column: str | None,
    time_unit: str | None,
    acc_columns: list[str] | None,
    gyr_columns: list[str] | None,
    acc_unit: str | None,
    gyr_unit: str | None,
) -> Stream:
    lines = read_text(path).splitlines()
    h = 0
    while h < len(lines) and (not lines[h].strip() or lines[h].lstrip().startswith("#")):
        h += 1
    sep = sniff_separator(lines[h])
    header = split_header(lines[h], sep)
    acc_cols, acc_sign = _signed(acc_columns, header) if acc_columns else (None, None)
    gyr_cols, gyr_sign = _signed(gyr_columns, header) if gyr_columns else (None, None)
    acc_cols = acc_cols or _axis_columns(header, ACC_WORDS)
    gyr_cols = gyr_cols or _axis_columns(header, GYR_WORDS)
    for what, cols, opt in (
        ("accelerometer", acc_cols, "--acc-columns"),
        ("gyroscope", gyr_cols, "--gyr-columns"),
    ):
        if cols is None:
            raise FormatError(
                path,
                f"missing columns; expected three {what} columns (x, y, z) or {opt} X,Y,Z "
                f"(found: {', '.join(header)})",
                line=h + 1,
            )
    if time_column is None:
        time_column = next((c for c in header if _base(c) in TIME_NAMES), None)
    if time_column is None and not rate_hz:
        raise UsageError(f"{path}: no time column recognised; give --time-column NAME or --rate HZ")
    wanted = [*([time_column] if time_column else []), *acc_cols, *gyr_cols]
    table = parse_table(path, lines, h, sep, wanted, header=header)
    warnings: list[str] = []
    t = None
    if time_column:
        raw = table.col(time_column)
        check_monotonic(raw, path, table.first_line, time_column)
        unit = time_unit or parse_unit(time_column)
        t, note = _seconds(path, raw, unit, time_column)
        if note:
            warnings.append(note)
    return Stream(
        source=path.stem,
        files=[path],
        acc=np.column_stack([table.col(c) for c in acc_cols])
        * (1 if acc_sign is None else acc_sign),
        gyr=np.column_stack([table.col(c) for c in gyr_cols])
        * (1 if gyr_sign is None else gyr_sign),
        acc_unit=acc_unit or _unit_of(acc_cols, ("g", "m/s^2")),
        gyr_unit=gyr_unit or _unit_of(gyr_cols, ("deg/s", "rad/s")),
        t=t,
        nominal_rate=rate_hz,
        regular=t is None,
        clock="csv" if t is not None else f"csv:{path.parent.name}/{path.name}",
        family="csv",
        name_hints=[path.stem],
        acc_column=acc_cols[0],
        gyr_column=gyr_cols[0],
        warnings=warnings,
    )


def _unit_of(cols: list[str], allowed: tuple[str, ...]) -> str | None:
    u = parse_unit(cols[0])
    return u if u in allowed else None


def _seconds(path: Path, raw: np.ndarray, unit: str | None, column: str) -> tuple[np.ndarray, str]:
    """Time in s; the unit checked against a plausible sample interval (0.05 ms .. 1 s)."""
    d = np.diff(raw)
    dt = float(np.median(d[d > 0])) if (d > 0).any() else 0.0
    if unit is None:
        unit = "ms" if dt > 0.5 else "s"
        return raw / (
            1000.0 if unit == "ms" else 1.0
        ), f"time unit not given: {unit} chosen from the intervals"
    if unit == "s" and dt > 1.0:
        raise FormatError(
            path,
            f"time steps of {dt:g} s (below 1 Hz); the values look like ms (give --time-unit ms)",
            column=column,
        )
    if unit == "ms" and dt < 0.05:
        raise FormatError(
            path,
            f"time steps of {dt:g} ms (above 20 kHz); the values look like s (give --time-unit s)",
            column=column,
        )
    return raw / (1000.0 if unit == "ms" else 1.0), ""
