"""The data model (Session, ImuData, SensorInfo) and the session folder on disk (DESIGN.md section 4).

A session folder::

    NAME/
      session.json            metadata (schema_version, subject, condition, sensors, calibration, events, ...)
      <placement>.parquet     decoded samples: t, acc_x..z (m/s^2), gyr_x..z (deg/s) [, mag_x..z, seq, t_device]
      raw/<placement>.frames  live recordings only: every notification as received (see imu_gait.rawlog)

Times are seconds on the session clock; sensor axes are the sensor's own right-handed frame.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu_gait.errors import FormatError, SessionError, UsageError

SCHEMA_VERSION = 1

PLACEMENTS: tuple[str, ...] = (
    "left_foot",
    "right_foot",
    "left_shank",
    "right_shank",
    "left_thigh",
    "right_thigh",
    "pelvis",
)

ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
GYR_COLUMNS = ("gyr_x", "gyr_y", "gyr_z")
MAG_COLUMNS = ("mag_x", "mag_y", "mag_z")
SAMPLE_COLUMNS = ("t", *ACC_COLUMNS, *GYR_COLUMNS)


def check_placement(placement: str) -> str:
    """Return ``placement`` if it is one of :data:`PLACEMENTS`, else raise a UsageError listing them."""
    if placement not in PLACEMENTS:
        raise UsageError(
            f"unknown placement {placement!r}; expected one of: {', '.join(PLACEMENTS)}"
        )
    return placement


def _as_matrix(a: Any, name: str, n: int) -> np.ndarray:
    m = np.ascontiguousarray(a, dtype=np.float64)
    if m.shape != (n, 3):
        raise ValueError(f"{name} must have shape ({n}, 3), got {m.shape}")
    return m


@dataclass(eq=False)
class ImuData:
    """Samples of one sensor: ``t`` (n,) s session clock; ``acc`` (n, 3) m/s^2; ``gyr`` (n, 3) deg/s.

    Optional: ``mag`` (n, 3) uT, ``seq`` (n,) device sequence numbers, ``t_device`` (n,) s device clock.
    Invariants (checked): finite values, strictly increasing ``t``.
    """

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray | None = None
    seq: np.ndarray | None = None
    t_device: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.t = np.ascontiguousarray(self.t, dtype=np.float64)
        if self.t.ndim != 1:
            raise ValueError(f"t must be one-dimensional, got shape {self.t.shape}")
        n = self.t.size
        self.acc = _as_matrix(self.acc, "acc", n)
        self.gyr = _as_matrix(self.gyr, "gyr", n)
        if self.mag is not None:
            self.mag = _as_matrix(self.mag, "mag", n)
        if self.seq is not None:
            self.seq = np.ascontiguousarray(self.seq, dtype=np.int64)
            if self.seq.shape != (n,):
                raise ValueError(f"seq must have shape ({n},)")
        if self.t_device is not None:
            self.t_device = np.ascontiguousarray(self.t_device, dtype=np.float64)
            if self.t_device.shape != (n,):
                raise ValueError(f"t_device must have shape ({n},)")
        for name in ("t", "acc", "gyr", "mag", "t_device"):
            v = getattr(self, name)
            if v is not None and not np.isfinite(v).all():
                raise ValueError(f"{name} contains NaN or infinite values")
        if n > 1 and not (np.diff(self.t) > 0).all():
            raise ValueError("t must be strictly increasing")

    def __len__(self) -> int:
        return int(self.t.size)

    @property
    def duration(self) -> float:
        """Time from first to last sample, s."""
        return float(self.t[-1] - self.t[0]) if self.t.size > 1 else 0.0

    @property
    def rate_hz(self) -> float:
        """Effective sampling rate from the median sample interval, Hz (0 for fewer than 2 samples)."""
        if self.t.size < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.t)))

    def columns(self) -> dict[str, np.ndarray]:
        """All columns by name (DESIGN.md section 3), as 1-D arrays."""
        cols: dict[str, np.ndarray] = {"t": self.t}
        for i, c in enumerate(ACC_COLUMNS):
            cols[c] = self.acc[:, i]
        for i, c in enumerate(GYR_COLUMNS):
            cols[c] = self.gyr[:, i]
        if self.mag is not None:
            for i, c in enumerate(MAG_COLUMNS):
                cols[c] = self.mag[:, i]
        if self.seq is not None:
            cols["seq"] = self.seq
        if self.t_device is not None:
            cols["t_device"] = self.t_device
        return cols

    def to_frame(self):  # -> pandas.DataFrame (pandas stays at the edges)
        import pandas as pd

        return pd.DataFrame({k: np.asarray(v) for k, v in self.columns().items()})

    @classmethod
    def from_columns(cls, cols: dict[str, np.ndarray]) -> ImuData:
        """Build from a name -> array mapping with at least the columns in SAMPLE_COLUMNS."""

        def stack(names: tuple[str, ...]) -> np.ndarray:
            return np.column_stack([np.asarray(cols[c], dtype=np.float64) for c in names])

        return cls(
            t=np.asarray(cols["t"], dtype=np.float64),
            acc=stack(ACC_COLUMNS),
            gyr=stack(GYR_COLUMNS),
            mag=stack(MAG_COLUMNS) if all(c in cols for c in MAG_COLUMNS) else None,
            seq=cols.get("seq"),
            t_device=cols.get("t_device"),
        )

    def slice_time(self, t0: float, t1: float) -> ImuData:
        """Samples with t0 <= t < t1."""
        i0, i1 = np.searchsorted(self.t, [t0, t1])
        return ImuData(
            self.t[i0:i1],
            self.acc[i0:i1],
            self.gyr[i0:i1],
            None if self.mag is None else self.mag[i0:i1],
            None if self.seq is None else self.seq[i0:i1],
            None if self.t_device is None else self.t_device[i0:i1],
        )


@dataclass
class SensorInfo:
    """What is known about one sensor. Ranges are full-scale (+/-), None when unknown."""

    family: str = "unknown"
    name: str = ""
    address: str = ""
    rate_hz: float | None = None
    acc_range_g: float | None = None
    gyr_range_dps: float | None = None
    firmware: str = ""
    gaps: list[list[float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    _KEYS = (
        "family",
        "name",
        "address",
        "rate_hz",
        "acc_range_g",
        "gyr_range_dps",
        "firmware",
        "gaps",
    )

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self._KEYS}
        d.update(self.extra)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SensorInfo:
        known = {k: d[k] for k in cls._KEYS if k in d}
        extra = {k: v for k, v in d.items() if k not in cls._KEYS}
        known["gaps"] = [list(map(float, g)) for g in known.get("gaps", [])]
        return cls(**known, extra=extra)


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Session:
    """One recording: sensors by placement, their samples, and the session metadata."""

    data: dict[str, ImuData] = field(default_factory=dict)
    sensors: dict[str, SensorInfo] = field(default_factory=dict)
    subject: str = "anonymous"
    condition: str = ""
    activity: str = ""
    created: str = field(default_factory=_now_iso)
    calibration: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    _KEYS = (
        "subject",
        "condition",
        "activity",
        "created",
        "calibration",
        "events",
        "notes",
        "source",
    )

    def __post_init__(self) -> None:
        for p in self.data:
            check_placement(p)
            self.sensors.setdefault(p, SensorInfo())

    @property
    def placements(self) -> list[str]:
        """Placements with data, in the canonical order of PLACEMENTS."""
        return [p for p in PLACEMENTS if p in self.data]

    @property
    def raw_dir(self) -> Path | None:
        """The folder of raw frame logs, when this session was loaded from disk and has one."""
        if self.path is None:
            return None
        raw = self.path / "raw"
        return raw if raw.is_dir() else None

    def slice_time(
        self, t0: float, t1: float, static: tuple[float, float] | list[float] | None = None
    ) -> Session:
        """The part from ``t0`` to ``t1`` (s) as a session of its own: samples with t0 <= t < t1, the events
        that lie inside, and ``static`` as its standing calibration window (default: the session's, if it lies
        inside)."""
        if static is None:
            own = self.calibration.get("static")
            static = own if own and t0 <= own[0] and own[1] <= t1 else None
        events = [
            e for e in self.events if e["t"] >= t0 - 1e-6 and e.get("t_end", e["t"]) <= t1 + 1e-6
        ]
        return Session(
            data={p: d.slice_time(t0, t1) for p, d in self.data.items()},
            sensors=dict(self.sensors),
            subject=self.subject,
            condition=self.condition,
            activity=self.activity,
            calibration={"static": [float(static[0]), float(static[1])]} if static else {},
            events=events,
        )

    def metadata(self) -> dict[str, Any]:
        """The contents of session.json."""
        meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        meta.update({k: getattr(self, k) for k in self._KEYS})
        meta["sensors"] = {p: self.sensors[p].to_json() for p in PLACEMENTS if p in self.sensors}
        meta.update(self.extra)
        return meta


def _write_parquet(data: ImuData, path: Path) -> None:
    table = pa.table({k: pa.array(v) for k, v in data.columns().items()})
    pq.write_table(table, path, compression="zstd")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(obj: Any, path: Path) -> None:
    """Write JSON next to ``path`` and rename it into place, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_session(session: Session, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``session`` as a session folder at ``path``; atomic: the folder appears complete or not at all.

    The files are written into a temporary sibling folder which is then renamed. Raw frame logs of a session
    loaded from disk are copied along. Returns the path.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: already exists (choose another output folder or remove it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    tmp.mkdir()
    try:
        for placement in session.placements:
            _write_parquet(session.data[placement], tmp / f"{placement}.parquet")
        if session.raw_dir is not None:
            shutil.copytree(session.raw_dir, tmp / "raw")
        write_json_atomic(session.metadata(), tmp / "session.json")
        _fsync_dir(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    session.path = path
    return path


def _recover_interrupted_overwrite(path: Path) -> None:
    """Finish a :func:`save_session` overwrite killed between its two renames.

    Such a kill leaves no ``path`` but a complete temporary folder (session.json is written last) and/or the old
    folder under a hidden name; the new one wins, else the old one is put back.
    """
    if path.exists() or not path.parent.is_dir():
        return
    for pattern in (f".{path.name}.*.partial", f".{path.name}.*.old"):
        for candidate in sorted(path.parent.glob(pattern)):
            if (candidate / "session.json").is_file():
                os.replace(candidate, path)
                return


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Read and check ``session.json`` of a session folder."""
    path = Path(path)
    _recover_interrupted_overwrite(path)
    if not path.is_dir():
        raise SessionError(f"{path}: no such session folder")
    meta_path = path / "session.json"
    if not meta_path.is_file():
        raise SessionError(f"{path}: not a session folder (no session.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SessionError(f"{meta_path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise SessionError(f"{meta_path}: expected a JSON object")
    version = meta.get("schema_version")
    if not isinstance(version, int):
        raise SessionError(f"{meta_path}: missing or non-integer schema_version")
    if version > SCHEMA_VERSION or version < 1:
        raise SessionError(
            f"{meta_path}: schema_version {version} is not supported by this imu-gait "
            f"(reads 1..{SCHEMA_VERSION}); upgrade imu-gait to read it"
        )
    if not isinstance(meta.get("sensors", {}), dict):
        raise SessionError(f"{meta_path}: 'sensors' must be an object of placement -> sensor")
    return meta


def read_samples(path: Path) -> ImuData:
    """Read one ``<placement>.parquet`` file."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise FormatError(path, f"cannot read Parquet samples ({e})") from None
    names = set(table.column_names)
    for c in SAMPLE_COLUMNS:
        if c not in names:
            raise FormatError(path, "missing column; expected t, acc_x..z, gyr_x..z", column=c)
    cols = {c: table.column(c).to_numpy() for c in table.column_names}
    try:
        return ImuData.from_columns(cols)
    except ValueError as e:
        raise FormatError(path, str(e)) from None


PARTS_SUFFIX = (
    ".parts"  # <placement>.parts/NNNNNN.parquet: samples a live recording writes as they come
)


def read_sample_parts(folder: Path) -> ImuData:
    """Concatenate the part files of a recording that was not finalized, in name order.

    Parts are written whole (temporary file, then rename), so every ``*.parquet`` is complete; a sample whose
    ``t`` does not increase over its predecessor is dropped, so the result always satisfies ImuData's invariants.
    """
    tables = []
    for f in sorted(folder.glob("*.parquet")):
        try:
            tables.append(pq.read_table(f))
        except (OSError, pa.ArrowException) as e:
            raise FormatError(f, f"cannot read Parquet samples ({e})") from None
    if not tables:
        empty = np.zeros((0, 3))
        return ImuData(np.zeros(0), empty, empty)
    names = [c for c in tables[0].column_names if all(c in t.column_names for t in tables)]
    for c in SAMPLE_COLUMNS:
        if c not in names:
            raise FormatError(
                folder, "missing column in part files; expected t, acc_x..z, gyr_x..z", column=c
            )
    cols = {c: np.concatenate([t.column(c).to_numpy() for t in tables]) for c in names}
    t = np.where(np.isfinite(cols["t"]), cols["t"], -np.inf)
    keep = np.isfinite(t)
    keep[1:] &= t[1:] > np.maximum.accumulate(t)[:-1]  # later than everything before it
    cols = {c: v[keep] for c, v in cols.items()}
    try:
        return ImuData.from_columns(cols)
    except ValueError as e:
        raise FormatError(folder, str(e)) from None


def load_session(path: str | Path) -> Session:
    """Open a session folder written by :func:`save_session` or by the recorder."""
    path = Path(path)
    meta = read_metadata(path)
    sensors_json = meta.pop("sensors", {})
    meta.pop("schema_version")
    data: dict[str, ImuData] = {}
    sensors: dict[str, SensorInfo] = {}
    for placement, info in sensors_json.items():
        if placement not in PLACEMENTS:
            raise SessionError(f"{path / 'session.json'}: unknown placement {placement!r}")
        sensors[placement] = SensorInfo.from_json(info)
        sample_file = path / f"{placement}.parquet"
        parts = path / f"{placement}{PARTS_SUFFIX}"
        if sample_file.is_file():
            data[placement] = read_samples(sample_file)
        elif parts.is_dir():  # a live recording that was not finalized (crash, kill -9)
            data[placement] = read_sample_parts(parts)
        else:
            raise SessionError(f"{path}: sensor {placement} has no samples file {sample_file.name}")
    kwargs = {k: meta.pop(k) for k in Session._KEYS if k in meta}
    return Session(data=data, sensors=sensors, extra=meta, path=path, **kwargs)
