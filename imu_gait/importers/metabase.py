"""MbientLab MetaBase CSV (MetaWear / MetaMotion), FORMATS.md "MbientLab MetaBase".

One file per stream, named ``<label>_MetaWear_<ISO start>_<MAC>_<Sensor>_<rate>Hz_<firmware>.csv``; columns
``epoch (ms)`` (older: ``epoc (ms)``), a clock-time column, ``elapsed (s)``, then ``x-axis (g)``.. for the
accelerometer or ``x-axis (deg/s)``.. for the gyroscope. Accelerometer and gyroscope of one sensor (same label, MAC
and start) have separate timestamps and rates; they are merged onto one uniform clock at the measured rate of the
faster stream, over the time both cover. Epoch times are absolute, so several sensors keep their real offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError, UsageError
from imu_gait.importers.common import (
    RATE_TOLERANCE,
    Stream,
    check_monotonic,
    interp_onto,
    measured_rate,
    parse_table,
    parse_unit,
    read_text,
    sniff_separator,
    split_header,
)
from imu_gait.pipeline.signal import uniform_grid

NAME_RE = re.compile(
    r"^(?:(?P<label>.*?)_)?MetaWear_(?P<start>\d{4}-\d{2}-\d{2}T[0-9.:\-]+)_"
    r"(?P<mac>(?:[0-9A-Fa-f]{2}[:\-]?){5}[0-9A-Fa-f]{2})_(?P<sensor>[A-Za-z ]+?)_"
    r"(?P<rate>\d+(?:\.\d+)?)Hz_(?P<fw>[0-9.]+)$"
)
EPOCH_COLUMNS = ("epoch (ms)", "epoc (ms)")


@dataclass
class _File:
    path: Path
    kind: str  # "acc" or "gyr"
    unit: str | None
    t: np.ndarray  # s since the epoch
    v: np.ndarray  # (n, 3) in file units
    nominal: float | None
    key: str
    label: str
    mac: str
    firmware: str
    column: str


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    """One stream per sensor (accelerometer + gyroscope pair), in the order sensors first appear."""
    parsed = [f for f in (_read_file(p) for p in files) if f is not None]
    groups: dict[str, list[_File]] = {}
    if all(f.key for f in parsed):
        for f in parsed:
            groups.setdefault(f.key, []).append(f)
    else:  # renamed files: pair accelerometer and gyroscope files in the order given
        accs = [f for f in parsed if f.kind == "acc"]
        gyrs = [f for f in parsed if f.kind == "gyr"]
        for i, pair in enumerate(zip(accs, gyrs, strict=False)):
            groups[f"sensor{i + 1}"] = list(pair)
        for f in accs[len(gyrs) :] + gyrs[len(accs) :]:
            groups[f.path.name] = [f]
    return [_merge(key, fs, rate_hz) for key, fs in groups.items()]


def _read_file(path: Path) -> _File | None:
    lines = read_text(path).splitlines()
    sep = sniff_separator(lines[0])
    header = split_header(lines[0], sep)
    epoch = next((c for c in EPOCH_COLUMNS if c in header), None)
    if epoch is None:
        raise FormatError(
            path,
            f"missing column; expected {' or '.join(EPOCH_COLUMNS)} (found: {', '.join(header)})",
            line=1,
        )
    axes = [next((h for h in header if h.lower().startswith(f"{a}-axis")), "") for a in "xyz"]
    for a, h in zip("xyz", axes, strict=True):
        if not h:
            raise FormatError(
                path, "missing column; expected x-axis, y-axis, z-axis", line=1, column=f"{a}-axis"
            )
    unit = parse_unit(axes[0])
    m = NAME_RE.match(path.stem)
    sensor = (m.group("sensor") if m else "").lower()
    if unit in ("g", "m/s^2") or sensor.startswith("acc"):
        kind = "acc"
    elif unit in ("deg/s", "rad/s") or sensor.startswith("gyr"):
        kind = "gyr"
    else:
        return None  # magnetometer, fused outputs, ...: not used
    table = parse_table(path, lines, 0, sep, [epoch, *axes])
    t_ms = table.col(epoch)
    check_monotonic(t_ms, path, table.first_line, epoch)
    v = np.column_stack([table.col(a) for a in axes])
    key = f"{m.group('label')}|{m.group('mac')}|{m.group('start')}" if m else ""
    return _File(
        path=path,
        kind=kind,
        unit=unit,
        t=t_ms / 1000.0,
        v=v,
        nominal=float(m.group("rate")) if m else None,
        key=key,
        label=(m.group("label") or "") if m else "",
        mac=m.group("mac") if m else "",
        firmware=m.group("fw") if m else "",
        column=axes[0],
    )


def _merge(key: str, files: list[_File], rate_hz: float | None) -> Stream:
    acc = [f for f in files if f.kind == "acc"]
    gyr = [f for f in files if f.kind == "gyr"]
    first = files[0]
    if len(acc) != 1 or len(gyr) != 1:
        missing = "Accelerometer" if not acc else "Gyroscope" if not gyr else "single"
        raise UsageError(
            f"{first.path}: expected one Accelerometer and one Gyroscope file per sensor "
            f"(same label, MAC and start); {missing} file missing or duplicated among the files given"
        )
    a, g = acc[0], gyr[0]
    warnings = []
    rates = {}
    for f in (a, g):
        eff = measured_rate(f.t)
        rates[f.kind] = eff
        if f.nominal and abs(eff / f.nominal - 1) > RATE_TOLERANCE:
            warnings.append(
                f"{f.path.name}: effective rate {eff:.2f} Hz differs from nominal {f.nominal:g} Hz"
            )
    fast = a if rates["acc"] >= rates["gyr"] else g
    rate = rates[fast.kind]
    t0, t1 = max(a.t[0], g.t[0]), min(a.t[-1], g.t[-1])
    if t1 <= t0:
        raise FormatError(
            g.path, f"does not overlap in time with {a.path.name}; expected a pair of one recording"
        )
    grid = uniform_grid(t0, t1, rate)
    max_gap = 5.0 / min(rates.values())
    va, ok_a = interp_onto(grid, a.t, a.v, max_gap)
    vg, ok_g = interp_onto(grid, g.t, g.v, max_gap)
    keep = ok_a & ok_g
    source = first.label or first.mac or key
    return Stream(
        source=source,
        files=[a.path, g.path],
        acc=va[keep],
        gyr=vg[keep],
        acc_unit=a.unit,
        gyr_unit=g.unit,
        t=grid[keep],
        nominal_rate=rate_hz or fast.nominal,
        regular=True,
        clock="epoch",
        family="metawear",
        name=first.label,
        address=first.mac,
        firmware=first.firmware,
        name_hints=[first.label] if first.label else [],
        acc_column=a.column,
        gyr_column=g.column,
        extra={
            "acc_rate_nominal_hz": a.nominal,
            "acc_rate_effective_hz": round(rates["acc"], 4),
            "gyr_rate_nominal_hz": g.nominal,
            "gyr_rate_effective_hz": round(rates["gyr"], 4),
        },
        warnings=warnings,
    )
