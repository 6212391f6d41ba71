"""Xsens MT Manager export (MTw Awinda, MTi), FORMATS.md "Xsens MT Manager export".

About a dozen ``//`` lines (device id, filter profile, sample rate, ...) then a TAB-separated header; or the variant
whose first line is ``Acquisition frequency: 100 Hz``. Acc in m/s^2, **Gyr in rad/s**. Time: ``SampleTimeFine``
(device clock, 10 kHz ticks, uint32) when filled, else ``PacketCounter`` (uint16, may be written as a float) / rate.
``VelInc`` (velocity increment per sample) x rate must equal Acc: it checks the rate, and gives it when the file
does not. Files of one Awinda recording share the PacketCounter / SampleTimeFine clock.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError, UsageError
from imu_gait.importers.common import (
    Stream,
    canonical_header,
    parse_table,
    read_text,
    signed_offset,
    sniff_separator,
    split_header,
    unwrap_counter,
)

STF_TICKS_PER_S = 10_000.0  # MT SampleTimeFine unit (Xsens MT Low-Level Communication Protocol)
STF_MODULUS = 2.0**32
COUNTER_MODULUS = 65536.0
ACC = ("Acc_X", "Acc_Y", "Acc_Z")
GYR = ("Gyr_X", "Gyr_Y", "Gyr_Z")
VELINC = ("VelInc_X", "VelInc_Y", "VelInc_Z")
RATE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*Hz", re.IGNORECASE)


def read_files(files: list[Path], rate_hz: float | None = None, **_: object) -> list[Stream]:
    """One stream per file; files of one recording aligned on their shared counter clock."""
    streams = [_read(p, rate_hz) for p in files]
    by_stf = all(s.extra["time_from"] == "SampleTimeFine" for s in streams)
    ref = streams[0]
    for s in streams:
        if by_stf:
            off = (
                signed_offset(ref.extra["first_stf"], s.extra["first_stf"], STF_MODULUS)
                / STF_TICKS_PER_S
            )
        else:
            counts = signed_offset(
                ref.extra["first_counter"], s.extra["first_counter"], COUNTER_MODULUS
            )
            off = counts / s.nominal_rate
        s.t = s.t + off
    return streams


def _read(path: Path, rate_hz: float | None) -> Stream:
    lines = read_text(path).splitlines()
    comments: list[str] = []
    i = 0
    while i < len(lines) and (
        lines[i].startswith("//") or not lines[i].strip() or "frequency" in lines[i].lower()
    ):
        comments.append(lines[i].lstrip("/ ").strip())
        i += 1
    if i >= len(lines):
        raise FormatError(path, "no header line after the // comments", line=i)
    file_rate = _rate_from_comments(comments)
    device = next(
        (c.split(":", 1)[1].strip() for c in comments if c.lower().startswith("deviceid")), ""
    )
    sep = sniff_separator(lines[i])
    header = canonical_header(
        split_header(lines[i], sep), ["PacketCounter", "SampleTimeFine", *ACC, *GYR, *VELINC]
    )
    optional = [c for c in ("PacketCounter", "SampleTimeFine", *VELINC) if c in header]
    table = parse_table(
        path,
        lines,
        i,
        sep,
        [*ACC, *GYR],
        header=header,
        optional=optional,
        empty_ok=["SampleTimeFine"],
    )
    acc = np.column_stack([table.col(c) for c in ACC])
    gyr = np.column_stack([table.col(c) for c in GYR])
    velinc_rate = _rate_from_velinc(table, acc) if all(c in table.columns for c in VELINC) else None
    nominal = rate_hz or file_rate or (float(np.round(velinc_rate)) if velinc_rate else None)
    warnings = []
    if velinc_rate and nominal and abs(velinc_rate / nominal - 1) > 0.05:
        warnings.append(
            f"VelInc x {nominal:g} Hz does not match Acc: the increments suggest {velinc_rate:.1f} Hz"
        )
    stf = table.columns.get("SampleTimeFine")
    extra: dict = {}
    if stf is not None and np.isfinite(stf).all():
        ticks = unwrap_counter(stf, STF_MODULUS)
        _check_increasing(path, ticks, stf, table.first_line, "SampleTimeFine")
        tick_rate = _tick_rate(ticks, nominal)
        t = (ticks - ticks[0]) / tick_rate
        extra.update(time_from="SampleTimeFine", first_stf=float(stf[0]), stf_ticks_per_s=tick_rate)
        t_device = ticks / tick_rate
    elif "PacketCounter" in table.columns:
        if not nominal:
            raise UsageError(
                f"{path}: no sample rate in the file and no VelInc to infer it; give --rate HZ"
            )
        pc = table.col("PacketCounter")
        counts = unwrap_counter(pc, COUNTER_MODULUS)
        _check_increasing(path, counts, pc, table.first_line, "PacketCounter")
        t = (counts - counts[0]) / nominal
        extra.update(time_from="PacketCounter", first_counter=float(pc[0]))
        t_device = None
    else:
        raise FormatError(
            path,
            "missing column; expected PacketCounter or SampleTimeFine",
            line=i + 1,
            column="PacketCounter",
        )
    pc_col = table.columns.get("PacketCounter")
    return Stream(
        source=device or path.stem,
        files=[path],
        acc=acc,
        gyr=gyr,
        acc_unit="m/s^2",
        gyr_unit="rad/s",
        t=t,
        nominal_rate=nominal,
        regular=True,
        clock="xsens",
        seq=None if pc_col is None else pc_col.astype(np.int64),
        t_device=t_device,
        family="xsens",
        name=device,
        address=device,
        name_hints=[path.stem],
        acc_column="Acc_X",
        gyr_column="Gyr_X",
        extra={**extra, "velinc_rate_hz": None if velinc_rate is None else round(velinc_rate, 3)},
        warnings=warnings,
    )


def _check_increasing(
    path: Path, unwrapped: np.ndarray, raw: np.ndarray, first_line: int, column: str
) -> None:
    bad = np.flatnonzero(np.diff(unwrapped) <= 0)
    if bad.size:
        k = int(bad[0])
        raise FormatError(
            path,
            f"{column} goes from {raw[k]:.0f} to {raw[k + 1]:.0f}; expected an increasing clock",
            line=first_line + k + 1,
            column=column,
        )


def _tick_rate(ticks: np.ndarray, nominal: float | None) -> float:
    """SampleTimeFine ticks per second: 10 kHz on MTi/MTw; 1 MHz (the DOT's unit) if the sample rate says so."""
    if not nominal:
        return STF_TICKS_PER_S
    per_second = float(np.median(np.diff(ticks))) * nominal
    return min((STF_TICKS_PER_S, 1e6), key=lambda r: abs(np.log(per_second / r)))


def _rate_from_comments(comments: list[str]) -> float | None:
    for c in comments:
        low = c.lower()
        if "rate" in low or "frequency" in low:
            m = RATE_RE.search(c)
            if m:
                return float(m.group(1))
    return None


def _rate_from_velinc(table, acc: np.ndarray) -> float | None:
    """Rate implied by Acc / VelInc (both per sample), median over samples with a usable increment."""
    dv = np.linalg.norm(np.column_stack([table.col(c) for c in VELINC]), axis=1)
    a = np.linalg.norm(acc, axis=1)
    ok = dv > 1e-6
    return float(np.median(a[ok] / dv[ok])) if ok.sum() > 10 else None
