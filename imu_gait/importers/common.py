"""What every importer shares: reading numeric tables with precise errors, unit checks and conversion, rate
measurement, placements from names, and turning per-sensor streams into a :class:`~imu_gait.session.Session`.

Unit policy (decided here, once for every format):

- A unit the file declares (header, vendor convention) or the user gives (``acc_unit``/``gyr_unit``) is checked
  against the data. When the data clearly contradict it (gravity at rest ~1 where m/s^2 was declared, walking
  gyro peaks below 12 "deg/s" while the accelerometer shows movement, ...) the import fails with an error naming
  the file and column, what the data look like and which option overrides the declared unit. Nothing is converted
  silently behind the user's back.
- When no unit is known at all (a generic CSV without units in its header and none given), the unit is chosen from
  the data when the evidence is unambiguous, and the choice is recorded as a warning in ``session.source``;
  ambiguous data give an error asking for the unit.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imu_gait.errors import FormatError, UsageError
from imu_gait.pipeline.signal import GRAVITY, find_gaps, resample_uniform
from imu_gait.session import PLACEMENTS, ImuData, SensorInfo, Session, check_placement

# called with the byte count of every file read, so a caller (the CLI) can show progress
ON_FILE_READ: ContextVar[Callable[[Path, int], None] | None] = ContextVar(
    "ON_FILE_READ", default=None
)
RATE_TOLERANCE = 0.01  # relative difference between effective and nominal rate that earns a warning
ACC_UNITS = {"m/s^2": 1.0, "g": GRAVITY}
GYR_UNITS = {"deg/s": 1.0, "rad/s": float(np.degrees(1.0))}


# ---------------------------------------------------------------------------------------------------------------
# Streams: what a format parser hands over


@dataclass
class Stream:
    """One sensor as read from its file(s), still in the file's units and time base.

    ``t`` is in seconds on the clock named ``clock`` (streams sharing a clock keep their offsets; each separate
    clock starts at 0) or None when the samples carry no time (then ``t = index / rate``). ``regular`` says the
    times come from a sample counter (already uniform, gaps aside) rather than from irregular timestamps.
    """

    source: str
    files: list[Path]
    acc: np.ndarray
    gyr: np.ndarray
    acc_unit: str | None
    gyr_unit: str | None
    t: np.ndarray | None = None
    nominal_rate: float | None = None
    regular: bool = False
    clock: str = ""
    mag: np.ndarray | None = None  # uT
    seq: np.ndarray | None = None
    t_device: np.ndarray | None = None
    family: str = ""
    name: str = ""
    address: str = ""
    firmware: str = ""
    segment_hint: str = ""  # e.g. "foot" when the format only holds foot sensors
    name_hints: list[str] = field(default_factory=list)
    acc_column: str = "acc"
    gyr_column: str = "gyr"
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.files[0]


# ---------------------------------------------------------------------------------------------------------------
# Reading text tables


def read_text(path: Path) -> str:
    """The whole file as text; a clear error when it is missing, unreadable or empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None
    hook = ON_FILE_READ.get()
    if hook is not None:
        hook(path, len(raw))
    if not raw.strip():
        raise FormatError(path, "empty file; expected a header line and rows of samples")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class Table:
    """Named numeric columns read from a delimited text file, with where each row came from."""

    path: Path
    header: list[str]
    columns: dict[str, np.ndarray]
    first_line: int  # 1-based line number of the first data row
    n: int

    def col(self, name: str) -> np.ndarray:
        return self.columns[name]


def split_header(line: str, sep: str) -> list[str]:
    """Header fields, stripped; a trailing empty field (a row ending in the separator) is dropped."""
    fields = next(csv.reader([line], delimiter=sep))
    fields = [f.strip() for f in fields]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def parse_table(
    path: Path,
    lines: list[str],
    header_index: int,
    sep: str,
    wanted: Sequence[str],
    *,
    header: list[str] | None = None,
    optional: Sequence[str] = (),
    empty_ok: Sequence[str] = (),
) -> Table:
    """Parse the rows after ``lines[header_index]`` into float columns ``wanted`` (+ ``optional`` if present).

    Every problem is reported with the 1-based line number and the column: a missing column, a row with too few
    fields (a truncated last line), a cell that is not a number, NaN or infinity. Columns in ``empty_ok`` may have
    empty cells (returned as NaN).
    """
    if header is None:
        header = split_header(lines[header_index], sep)
    index = {name: i for i, name in enumerate(header)}
    for name in wanted:
        if name not in index:
            raise FormatError(
                path,
                f"missing column; expected {', '.join(wanted)} (found: {', '.join(header)})",
                line=header_index + 1,
                column=name,
            )
    names = [*wanted, *(c for c in optional if c in index)]
    body_start = header_index + 1
    body = lines[body_start:]
    while body and not body[-1].strip():
        body.pop()
    if not body:
        raise FormatError(path, "no samples after the header", line=header_index + 1)
    cols = [index[c] for c in names]
    may_be_empty = [k for k, c in enumerate(names) if c in empty_ok]
    data = _fast_parse(body, sep, cols, len(header), may_be_empty)
    if data is None:
        data = _slow_parse(path, body, body_start, sep, cols, names, len(header), set(empty_ok))
    for k, name in enumerate(names):
        if name in empty_ok:
            continue  # the format decides what an empty cell means
        bad = ~np.isfinite(data[:, k])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            cell = _cell(body[row], sep, cols[k])
            raise FormatError(
                path,
                f"{cell.strip() or 'empty cell'} is not a finite number; expected a measured value",
                line=body_start + row + 1,
                column=name,
            )
    return Table(
        path=path,
        header=header,
        columns={name: data[:, k] for k, name in enumerate(names)},
        first_line=body_start + 1,
        n=len(body),
    )


def _cell(line: str, sep: str, k: int) -> str:
    fields = line.rstrip("\r\n").split(sep)
    return fields[k] if k < len(fields) else ""


def _fast_parse(
    body: list[str], sep: str, cols: list[int], n_fields: int, may_be_empty: list[int]
) -> np.ndarray | None:
    """Vectorised parse with pandas; None when anything looks off (the slow path then says what)."""
    import pandas as pd

    if len(body[-1].rstrip("\r\n").split(sep)) < n_fields:
        return None
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(body)),
            sep=sep,
            header=None,
            usecols=cols,
            dtype=np.float64,
            engine="c",
            skip_blank_lines=False,
            na_filter=True,
            keep_default_na=False,
            na_values=[""],
        )
    except (ValueError, pd.errors.ParserError):
        return None
    if len(df) != len(body):
        return None
    out = df[cols].to_numpy(dtype=np.float64)
    # a short row parses as NaN; let the slow path tell a truncated row from an empty cell
    check = np.delete(out, may_be_empty, axis=1) if may_be_empty else out
    if np.isnan(check).any():
        return None
    return out


def _slow_parse(
    path: Path,
    body: list[str],
    body_start: int,
    sep: str,
    cols: list[int],
    names: list[str],
    n_fields: int,
    empty_ok: set[str],
) -> np.ndarray:
    out = np.empty((len(body), len(cols)))
    needed = max(cols) + 1
    for r, line in enumerate(body):
        fields = line.rstrip("\r\n").split(sep)
        lineno = body_start + r + 1
        if len(fields) < needed:
            last = r == len(body) - 1
            what = "truncated last line (the file ends mid-row)" if last else "row too short"
            missing = next(names[k] for k, c in enumerate(cols) if c >= len(fields))
            raise FormatError(
                path,
                f"{what}: expected {n_fields} fields, found {len(fields)}",
                line=lineno,
                column=missing,
            )
        for k, c in enumerate(cols):
            s = fields[c].strip()
            if s == "" and names[k] in empty_ok:
                out[r, k] = np.nan
                continue
            try:
                out[r, k] = float(s)
            except ValueError:
                last = r == len(body) - 1 and len(fields) < n_fields
                what = (
                    "truncated last line (the file ends mid-row)"
                    if last
                    else f"{s!r} is not a number"
                    if s
                    else "empty cell"
                )
                raise FormatError(
                    path, f"{what}; expected a number", line=lineno, column=names[k]
                ) from None
    return out


def canonical_header(header: list[str], known: Sequence[str]) -> list[str]:
    """``header`` with names that match one of ``known`` up to case and spaces spelled as in ``known``
    (``dQ_W`` -> ``dq_W``, ``acc_x`` -> ``Acc_X``)."""
    lookup = {k.lower().replace(" ", ""): k for k in known}
    return [lookup.get(h.lower().replace(" ", ""), h) for h in header]


def sniff_separator(line: str) -> str:
    """The field separator of a header line: tab, semicolon or comma."""
    counts = {sep: line.count(sep) for sep in ("\t", ";", ",")}
    sep = max(counts, key=lambda s: counts[s])
    return sep if counts[sep] else ","


# ---------------------------------------------------------------------------------------------------------------
# Time and rates


def unwrap_counter(x: np.ndarray, modulus: float) -> np.ndarray:
    """Undo wrap-arounds of an unsigned counter (e.g. uint32 microseconds, uint16 packet counter)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return x.copy()
    d = np.diff(x)
    wraps = np.concatenate([[0.0], np.cumsum(np.where(d < -modulus / 2, modulus, 0.0))])
    return x + wraps


def signed_offset(a: float, b: float, modulus: float) -> float:
    """``b - a`` for two readings of a wrapping counter, taken as the nearest value in (-modulus/2, modulus/2]."""
    d = (b - a) % modulus
    return d - modulus if d > modulus / 2 else d


def check_monotonic(t: np.ndarray, path: Path, first_line: int, column: str) -> None:
    """Raise when time goes backwards (repeated values are allowed here; resampling merges them)."""
    d = np.diff(t)
    back = np.flatnonzero(d < 0)
    if back.size:
        i = int(back[0])
        raise FormatError(
            path,
            f"time goes backwards from {t[i]:.6g} to {t[i + 1]:.6g}; expected a non-decreasing clock",
            line=first_line + i + 1,
            column=column,
        )


def measured_rate(t: np.ndarray) -> float:
    """Samples per second from timestamps ``t`` (s): intervals / elapsed time, leaving out gaps.

    Robust to repeated timestamps and jitter (unlike the median interval); a gap is an interval longer than
    five times the typical interval.
    """
    if t.size < 2:
        return 0.0
    d = np.diff(t)
    positive = d[d > 0]
    if positive.size == 0:
        return 0.0
    typical = float(np.median(positive))
    keep = d <= 5 * typical
    span = float(d[keep].sum())
    return float(keep.sum() / span) if span > 0 else 1.0 / typical


def is_uniform(t: np.ndarray, rate: float, tol: float = 0.01) -> bool:
    """True when every interval is one or more whole periods within ``tol`` of a period (gaps allowed)."""
    if t.size < 2:
        return True
    k = np.diff(t) * rate
    return bool((k > 0.5).all() and (np.abs(k - np.round(k)) < tol).all())


# ---------------------------------------------------------------------------------------------------------------
# Units


@dataclass
class UnitVerdict:
    unit: str
    note: str = ""


def still_window(acc: np.ndarray, rate: float, window_s: float = 0.5) -> slice:
    """Window (``window_s`` long) where the acceleration magnitude varies least: the sensor at rest."""
    n = acc.shape[0]
    w = max(3, round(window_s * rate))
    if n <= w:
        return slice(0, n)
    mag = np.linalg.norm(acc, axis=1)
    c1 = np.concatenate([[0.0], np.cumsum(mag)])
    c2 = np.concatenate([[0.0], np.cumsum(mag**2)])
    s1 = c1[w:] - c1[:-w]
    s2 = c2[w:] - c2[:-w]
    var = s2 / w - (s1 / w) ** 2
    i = int(np.argmin(var))
    return slice(i, i + w)


def gravity_at_rest(acc: np.ndarray, rate: float) -> float:
    """Mean acceleration magnitude in the stillest window (file units)."""
    sl = still_window(acc, rate)
    return float(np.mean(np.linalg.norm(acc[sl], axis=1)))


def check_acc_unit(s: Stream, rate: float) -> UnitVerdict:
    """Decide the accelerometer unit from gravity at rest; see the module docstring for the policy."""
    g = gravity_at_rest(s.acc, rate)
    looks = "g" if 0.7 < g < 1.3 else "m/s^2" if 7.0 < g < 12.6 else None
    if s.acc_unit is None:
        if looks is None:
            raise FormatError(
                s.path,
                f"cannot tell the accelerometer unit: gravity at rest reads {g:.3g} (expected ~1 for g or "
                f"~9.81 for m/s^2); give it with --acc-unit",
                column=s.acc_column,
            )
        return UnitVerdict(
            looks, f"accelerometer unit not given: {looks} chosen from gravity at rest ({g:.3g})"
        )
    if looks == s.acc_unit:
        return UnitVerdict(s.acc_unit)
    expected = "~1" if s.acc_unit == "g" else "~9.81"
    hint = f"; the values look like {looks} (override with --acc-unit {looks})" if looks else ""
    raise FormatError(
        s.path,
        f"wrong accelerometer unit? gravity at rest reads {g:.3g}, expected {expected} for the declared "
        f"{s.acc_unit}{hint}",
        column=s.acc_column,
    )


# Gyro unit evidence (values read as if in deg/s):
# - the largest rotation within a 1 s window while the accelerometer shows movement: every body segment turns by
#   more than ~8 deg in a second of walking (the pelvis least), while rad/s values read as deg/s give at most ~3.5
#   (a running foot's ~2 rad swing); below ROTATION_RAD_MAX the data are rad/s;
# - the 99.5th percentile of the gyro norm: below DEG_MOVING_MIN while moving means rad/s; above RAD_MAX it cannot
#   be rad/s (it would be > 2300 deg/s, beyond common gyro ranges).
ROTATION_RAD_MAX = 4.0
ROTATION_DEG_MIN = 8.0
DEG_MOVING_MIN = 12.0
RAD_MAX = 40.0
MOVING_ACC_RMS = 1.0  # m/s^2, RMS of |acc| - g over a window: the sensor is moving


def rotation_per_window(
    gyr: np.ndarray, acc_ms2: np.ndarray, rate: float, window_s: float = 1.0
) -> np.ndarray:
    """Largest single-axis rotation (gyro units x s) within each 1 s window where the accelerometer shows
    movement; empty when it never does."""
    n = gyr.shape[0]
    w = max(2, min(n, round(rate * window_s)))
    k = n // w
    ang = np.cumsum(gyr[: k * w].reshape(k, w, 3), axis=1) / rate
    ranges = (ang.max(axis=1) - ang.min(axis=1)).max(axis=1)
    dev = (np.linalg.norm(acc_ms2[: k * w], axis=1) - GRAVITY).reshape(k, w)
    moving = np.sqrt(np.mean(dev**2, axis=1)) > MOVING_ACC_RMS
    return ranges[moving]


def check_gyr_unit(s: Stream, acc_ms2: np.ndarray, rate: float) -> UnitVerdict:
    """Decide the gyroscope unit from how far and how fast the sensor turns while it moves (conservative)."""
    rotations = rotation_per_window(s.gyr, acc_ms2, rate)
    moving = rotations.size >= 2
    turn = float(rotations.max()) if rotations.size else 0.0
    peak = float(np.percentile(np.linalg.norm(s.gyr, axis=1), 99.5)) if s.gyr.size else 0.0
    looks = None
    if moving and (turn < ROTATION_RAD_MAX or peak < DEG_MOVING_MIN):
        looks = "rad/s"
    elif peak > RAD_MAX:
        looks = "deg/s"
    if s.gyr_unit is None:
        if looks is None and moving and turn > ROTATION_DEG_MIN:
            looks = "deg/s"
        if looks is None:
            raise FormatError(
                s.path,
                f"cannot tell the gyroscope unit from the data (peak {peak:.3g}, largest turn in 1 s "
                f"{turn:.3g}); give it with --gyr-unit",
                column=s.gyr_column,
            )
        return UnitVerdict(
            looks, f"gyroscope unit not given: {looks} chosen from the data (peak {peak:.3g})"
        )
    if looks is None or looks == s.gyr_unit:
        return UnitVerdict(s.gyr_unit)
    if s.gyr_unit == "deg/s":
        why = (
            f"while the accelerometer shows movement it turns at most {turn:.2g} deg within a second and peaks at "
            f"{peak:.3g} deg/s (walking turns every segment by > 8 deg and > 50 deg/s)"
        )
    else:
        why = f"peaks of {peak:.3g} would be {np.degrees(peak):.0f} deg/s, beyond gyro ranges"
    raise FormatError(
        s.path,
        f"wrong gyroscope unit? declared {s.gyr_unit} but {why}; the values look like {looks} "
        f"(override with --gyr-unit {looks})",
        column=s.gyr_column,
    )


def parse_unit(text: str) -> str | None:
    """Unit named in a header like ``Acc X (m/s^2)`` / ``x-axis (g)`` / ``Gyroscope X (deg/s)``."""
    m = re.search(r"[\(\[]\s*([^\)\]]+?)\s*[\)\]]", text)
    if not m:
        return None
    u = m.group(1).lower().replace(" ", "").replace("²", "^2").replace("**", "^")
    table = {
        "g": "g",
        "m/s^2": "m/s^2",
        "m/s2": "m/s^2",
        "ms^-2": "m/s^2",
        "m/s/s": "m/s^2",
        "deg/s": "deg/s",
        "°/s": "deg/s",
        "dps": "deg/s",
        "degrees/s": "deg/s",
        "rad/s": "rad/s",
        "s": "s",
        "sec": "s",
        "ms": "ms",
    }
    return table.get(u)


# ---------------------------------------------------------------------------------------------------------------
# Placements

_SIDES = {"left": "left", "l": "left", "lt": "left", "right": "right", "r": "right", "rt": "right"}
_SEGMENTS = {
    "foot": "foot",
    "feet": "foot",
    "shoe": "foot",
    "shank": "shank",
    "shin": "shank",
    "tibia": "shank",
    "thigh": "thigh",
    "femur": "thigh",
    "pelvis": "pelvis",
    "sacrum": "pelvis",
    "lumbar": "pelvis",
    "waist": "pelvis",
    "hip": "pelvis",
}
_COMBINED = {"lf": "left_foot", "rf": "right_foot"}


def _tokens(name: str) -> list[str]:
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def placement_from_name(name: str, segment_hint: str = "") -> str | None:
    """Guess a placement from a sensor or file name (``left_foot``, ``LF``, ``right_sensor`` + hint foot, ...)."""
    tokens = _tokens(name)
    for t in tokens:
        if t in _COMBINED:
            return _COMBINED[t]
    sides = {_SIDES[t] for t in tokens if t in _SIDES}
    segs = {_SEGMENTS[t] for t in tokens if t in _SEGMENTS}
    if not segs:  # glued words such as "leftfoot"
        segs = {v for k, v in _SEGMENTS.items() if any(k in t for t in tokens if len(t) > len(k))}
        if not sides:
            sides = {
                v for k, v in _SIDES.items() if len(k) > 2 and any(t.startswith(k) for t in tokens)
            }
    if not segs and segment_hint:
        segs = {segment_hint}
    if len(segs) != 1:
        return None
    seg = segs.pop()
    if seg == "pelvis":
        return "pelvis"
    if len(sides) != 1:
        return None
    return f"{sides.pop()}_{seg}"


def assign_placements(streams: list[Stream], placements: Sequence[str] | None) -> list[str]:
    """Placement of each stream: ``SOURCE=P`` maps by sensor name, plain ``P`` in file order, else from names."""
    placements = list(placements or [])
    chosen: list[str | None] = [None] * len(streams)
    plain: list[str] = []
    for item in placements:
        if "=" in item:
            src, p = (x.strip() for x in item.split("=", 1))
            check_placement(p)
            hits = [i for i, s in enumerate(streams) if _matches(s, src)]
            if not hits:
                known = ", ".join(s.source for s in streams)
                raise UsageError(
                    f"--placement {item}: no sensor {src!r} in the input (sensors: {known})"
                )
            for i in hits:
                chosen[i] = p
        else:
            plain.append(check_placement(item.strip()))
    free = [i for i, c in enumerate(chosen) if c is None]
    if plain:
        if len(plain) != len(free):
            names = ", ".join(streams[i].source for i in free)
            raise UsageError(
                f"{len(plain)} --placement given for {len(free)} sensor(s) ({names}); give one per sensor in "
                "file order, or SOURCE=PLACEMENT"
            )
        for i, p in zip(free, plain, strict=True):
            chosen[i] = p
    for i, s in enumerate(streams):
        if chosen[i] is None:
            for hint in [s.source, *s.name_hints, *(f.stem for f in s.files)]:
                chosen[i] = placement_from_name(hint, s.segment_hint)
                if chosen[i]:
                    break
        if chosen[i] is None:
            raise UsageError(
                f"{s.path}: cannot tell where sensor {s.source!r} was worn from its name; give "
                f"--placement {s.source}=PLACEMENT (one of {', '.join(PLACEMENTS)})"
            )
    seen: dict[str, str] = {}
    for s, p in zip(streams, chosen, strict=True):
        assert p is not None
        if p in seen:
            raise UsageError(f"placement {p} given to two sensors ({seen[p]} and {s.source})")
        seen[p] = s.source
    return [p for p in chosen if p is not None]


def _matches(s: Stream, src: str) -> bool:
    src_l = src.lower()
    names = [
        s.source,
        s.name,
        s.address,
        *s.name_hints,
        *(f.name for f in s.files),
        *(f.stem for f in s.files),
    ]
    return any(n and n.lower() == src_l for n in names)


# ---------------------------------------------------------------------------------------------------------------
# Streams -> Session


def finish_stream(s: Stream, user_rate: float | None) -> tuple[ImuData, SensorInfo, list[str]]:
    """Units to m/s^2 and deg/s, time onto a uniform clock (still on the stream's own clock origin)."""
    warnings = list(s.warnings)
    nominal = user_rate or s.nominal_rate
    n = s.acc.shape[0]
    if n < 2:
        raise FormatError(s.path, f"only {n} sample(s); expected a recording")
    if s.t is None:
        if not nominal:
            raise UsageError(
                f"{s.path}: the file has no time column; give the sample rate with --rate HZ"
            )
        t = np.arange(n) / nominal
        regular = True
    else:
        t = np.asarray(s.t, dtype=np.float64)
        regular = s.regular
    effective = measured_rate(t)
    if effective <= 0:
        raise FormatError(s.path, "all timestamps are equal; expected a running clock")
    if nominal and abs(effective / nominal - 1) > RATE_TOLERANCE:
        warnings.append(
            f"effective rate {effective:.2f} Hz differs from nominal {nominal:g} Hz by more than 1%"
        )

    acc_v = check_acc_unit(s, effective)
    acc = s.acc * ACC_UNITS[acc_v.unit]
    gyr_v = check_gyr_unit(s, acc, effective)
    gyr = s.gyr * GYR_UNITS[gyr_v.unit]
    warnings += [v.note for v in (acc_v, gyr_v) if v.note]

    grid_rate = nominal if nominal and abs(effective / nominal - 1) <= RATE_TOLERANCE else effective
    resampled = False
    if not (regular and np.all(np.diff(t) > 0)) and not is_uniform(t, grid_rate):
        values = np.column_stack([acc, gyr] if s.mag is None else [acc, gyr, s.mag])
        t, values = resample_uniform(t, values, grid_rate)
        acc, gyr = values[:, 0:3], values[:, 3:6]
        mag = values[:, 6:9] if s.mag is not None else None
        resampled = True
        warnings.append(f"irregular timestamps resampled onto a uniform {grid_rate:.4g} Hz clock")
        data = ImuData(t, acc, gyr, mag=mag, t_device=None)
    else:
        data = ImuData(t, acc, gyr, mag=s.mag, seq=s.seq, t_device=s.t_device)
    gaps = find_gaps(data.t, grid_rate)
    info = SensorInfo(
        family=s.family,
        name=s.name or s.source,
        address=s.address,
        rate_hz=float(nominal) if nominal else round(effective, 4),
        firmware=s.firmware,
        gaps=[[float(a), float(b)] for a, b in gaps],
        extra={
            "effective_rate_hz": round(effective, 4),
            "source_sensor": s.source,
            "source_files": [f.name for f in s.files],
            "acc_unit_in_file": acc_v.unit,
            "gyr_unit_in_file": gyr_v.unit,
            "resampled": resampled,
            **s.extra,
        },
    )
    return data, info, warnings


def build_session(
    fmt: str,
    streams: list[Stream],
    *,
    placements: Sequence[str] | None = None,
    rate_hz: float | None = None,
    source_extra: dict[str, Any] | None = None,
) -> Session:
    """Assemble the session: placements, units, uniform clocks, t = 0 at the earliest sensor of each clock."""
    if not streams:
        raise UsageError("no sensors found in the input")
    where = assign_placements(streams, placements)
    finished = [finish_stream(s, rate_hz) for s in streams]
    clocks: dict[str, float] = {}
    for s, (d, _, _) in zip(streams, finished, strict=True):
        clocks[s.clock] = min(clocks.get(s.clock, np.inf), float(d.t[0]))
    data: dict[str, ImuData] = {}
    sensors: dict[str, SensorInfo] = {}
    warnings: list[str] = []
    for s, p, (d, info, w) in zip(streams, where, finished, strict=True):
        t0 = clocks[s.clock]
        data[p] = ImuData(d.t - t0, d.acc, d.gyr, mag=d.mag, seq=d.seq, t_device=d.t_device)
        info.gaps = [[a - t0, b - t0] for a, b in info.gaps]
        sensors[p] = info
        warnings += [f"{p} ({s.source}): {x}" for x in w]
    if len(clocks) > 1:
        warnings.append(
            "sensors on separate clocks ("
            + ", ".join(sorted(c or "unnamed" for c in clocks))
            + "): each starts at t = 0; synchronise them before joint analysis"
        )
    source: dict[str, Any] = {
        "format": fmt,
        "files": sorted({f.name for s in streams for f in s.files}),
        "sensors": {p: s.source for s, p in zip(streams, where, strict=True)},
        "rates_hz": {
            p: {"nominal": sensors[p].rate_hz, "effective": sensors[p].extra["effective_rate_hz"]}
            for p in where
        },
        "warnings": warnings,
    }
    if source_extra:
        source.update(source_extra)
    return Session(data=data, sensors=sensors, source=source)


def merge_repeats(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples sharing a timestamp replaced by their mean (``t`` sorted, ``v`` (n, k))."""
    uniq, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
    if uniq.size == t.size:
        return t, v
    sums = np.zeros((uniq.size, v.shape[1]))
    np.add.at(sums, inverse, v)
    return uniq, sums / counts[:, None]


def interp_onto(
    grid: np.ndarray, t: np.ndarray, v: np.ndarray, max_gap_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of (n, k) ``v`` at ``grid``; also a mask of grid points not inside a longer gap."""
    t, v = merge_repeats(t, v)
    out = np.column_stack([np.interp(grid, t, v[:, k]) for k in range(v.shape[1])])
    j = np.clip(np.searchsorted(t, grid), 1, t.size - 1)
    ok = (t[j] - t[j - 1]) <= max_gap_s
    return out, ok
