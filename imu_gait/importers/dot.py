"""Movella (Xsens) DOT CSV, FORMATS.md "Movella (Xsens) DOT CSV".

Optional ``sep=,`` line and metadata block (``Key: value`` lines, then a blank line), a header and rows that end
with a trailing comma. ``SampleTimeFine`` is the device clock in microseconds (uint32, wraps); the first row can be
all zeros. Acc in m/s^2 and Gyr in deg/s, or, in modes without them, velocity increments ``dv[1..3]`` (m/s per
sample: acc = dv x rate) and orientation increments ``dq_W..dq_Z`` (gyro = rotation angle x rate). Sensors of one
multi-sensor export share the SampleTimeFine clock, so they are aligned on it with their real start offsets.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError
from imu_gait.importers.common import (
    Stream,
    canonical_header,
    measured_rate,
    parse_table,
    read_text,
    signed_offset,
    split_header,
    unwrap_counter,
)

STF_MODULUS = 2.0**32
HEADER_KEYS = ("PacketCounter", "SampleTimeFine")
FILE_RE = re.compile(
    r"^(?P<n>\d+)_(?P<mac>(?:[0-9A-Fa-f]{2}[:\-]?){5}[0-9A-Fa-f]{2})_(?P<date>\d{8})_(?P<time>\d{6})"
)
ACC = ("Acc_X", "Acc_Y", "Acc_Z")
GYR = ("Gyr_X", "Gyr_Y", "Gyr_Z")
DV = ("dv[1]", "dv[2]", "dv[3]")
DQ = ("dq_W", "dq_X", "dq_Y", "dq_Z")
GENERIC_TAGS = {"", "xsens dot", "movella dot"}


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    """One stream per file, aligned on the shared SampleTimeFine clock (t of the first file's first sample = 0)."""
    streams = [_read(p, rate_hz) for p in files]
    ref = streams[0].extra["first_sample_time_fine"]
    for s in streams:
        offset = signed_offset(ref, s.extra["first_sample_time_fine"], STF_MODULUS) / 1e6
        s.t = offset + s.t
    return streams


def _read(path: Path, rate_hz: float | None) -> Stream:
    lines = read_text(path).splitlines()
    i, sep = 0, ","
    if lines[0].strip().lower().startswith("sep="):
        sep = lines[0].strip()[4:5] or ","
        i = 1
    header_at = next(
        (
            k
            for k in range(i, min(len(lines), i + 60))
            if any(key in lines[k] for key in HEADER_KEYS)
        ),
        None,
    )
    if header_at is None:
        raise FormatError(
            path, "no header line with PacketCounter / SampleTimeFine found", line=i + 1
        )
    meta = _metadata(lines[i:header_at], sep)
    header = canonical_header(
        split_header(lines[header_at], sep),
        ["PacketCounter", "SampleTimeFine", *ACC, *GYR, *DV, *DQ],
    )
    has_acc, has_dv = all(c in header for c in ACC), all(c in header for c in DV)
    has_gyr, has_dq = all(c in header for c in GYR), all(c in header for c in DQ)
    if not (has_acc or has_dv):
        raise FormatError(
            path,
            "missing column; expected Acc_X..Z or dv[1]..dv[3]",
            line=header_at + 1,
            column="Acc_X",
        )
    if not (has_gyr or has_dq):
        raise FormatError(
            path,
            "missing column; expected Gyr_X..Z or dq_W..dq_Z",
            line=header_at + 1,
            column="Gyr_X",
        )
    acc_cols = ACC if has_acc else DV
    gyr_cols = GYR if has_gyr else DQ
    table = parse_table(
        path, lines, header_at, sep, ["SampleTimeFine", *acc_cols, *gyr_cols], header=header
    )
    cols = dict(table.columns)
    first_line = table.first_line
    stf = cols["SampleTimeFine"]
    if stf[0] == 0 and all(cols[c][0] == 0 for c in acc_cols) and stf.size > 1:
        cols = {k: v[1:] for k, v in cols.items()}  # the all-zero first row of some exports
        stf = cols["SampleTimeFine"]
        first_line += 1
    us = unwrap_counter(stf, STF_MODULUS)
    d = np.diff(us)
    bad = np.flatnonzero(d <= 0)
    if bad.size:
        k = int(bad[0])
        raise FormatError(
            path,
            f"SampleTimeFine goes from {stf[k]:.0f} to {stf[k + 1]:.0f}; expected increasing microseconds",
            line=first_line + k + 1,
            column="SampleTimeFine",
        )
    t = (us - us[0]) / 1e6
    rate = measured_rate(t)
    nominal = rate_hz or _rate_from_meta(meta)
    if has_acc:
        acc = np.column_stack([cols[c] for c in ACC])
    else:
        acc = np.column_stack([cols[c] for c in DV]) * rate
    if has_gyr:
        gyr = np.column_stack([cols[c] for c in GYR])
    else:
        gyr = np.degrees(rotvec_of_quaternion(np.column_stack([cols[c] for c in DQ]))) * rate
    m = FILE_RE.match(path.stem)
    tag = meta.get("devicetag", "")
    mac = m.group("mac") if m else ""
    source = tag if tag.lower() not in GENERIC_TAGS else mac or path.stem
    return Stream(
        source=source,
        files=[path],
        acc=acc,
        gyr=gyr,
        acc_unit="m/s^2",
        gyr_unit="deg/s",
        t=t,
        nominal_rate=nominal,
        regular=True,
        clock="dot:SampleTimeFine",
        t_device=us / 1e6,
        family="dot",
        name=tag,
        address=mac,
        firmware=meta.get("firmwareversion", ""),
        name_hints=[tag] if tag.lower() not in GENERIC_TAGS else [],
        acc_column=acc_cols[0],
        gyr_column=gyr_cols[0],
        extra={
            "measurement_mode": meta.get("measurementmode", ""),
            "first_sample_time_fine": float(stf[0]),
            "acc_from": "Acc" if has_acc else "dv x rate",
            "gyr_from": "Gyr" if has_gyr else "dq x rate",
        },
    )


def rotvec_of_quaternion(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (n, 3) in rad of unit quaternions (n, 4) ``w, x, y, z`` (shortest rotation)."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    q = np.where(q[:, :1] < 0, -q, q)
    v = q[:, 1:]
    s = np.linalg.norm(v, axis=1)
    angle = 2.0 * np.arctan2(s, q[:, 0])
    scale = np.divide(angle, s, out=np.full_like(s, 2.0), where=s > 1e-12)
    return v * scale[:, None]


def _metadata(lines: list[str], sep: str) -> dict[str, str]:
    """``Key: value`` / ``Key:,value`` lines -> {key lower-case without spaces: value}."""
    meta: dict[str, str] = {}
    for line in lines:
        key, _, value = line.replace(sep, ":", 1).partition(":")
        if value or key.strip():
            meta[key.strip().lower().replace(" ", "")] = value.strip(" :" + sep)
    return meta


def _rate_from_meta(meta: dict[str, str]) -> float | None:
    m = re.search(r"(\d+(?:\.\d+)?)", meta.get("outputrate", ""))
    return float(m.group(1)) if m else None
