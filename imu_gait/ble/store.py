"""The session folder of a live recording, written so that a crash at any moment leaves a session that opens.

- ``session.json`` is written at start and rewritten (atomically) whenever something changes;
- ``raw/<placement>.frames`` gets every notification as it arrives (fsync by the recorder at least every second);
- decoded samples go to ``<placement>.parts/NNNNNN.parquet`` as they come (each part written to a temporary name
  and renamed, so a part is whole or absent); a sensor enters ``session.json`` with its first part;
- :meth:`SessionStore.finalize_sensor` writes ``<placement>.parquet`` with the final clock mapping and removes the
  parts. Until then :func:`imu_gait.session.load_session` reads the parts.
- while the recorder runs it holds an exclusive lock on ``raw/.recorder.lock`` (:class:`RecordingLock`), which the
  operating system releases when the process dies however it dies; ``imu-gait finalize`` takes the same lock, so
  it never touches a recording in progress.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from imu_gait.errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the recording lock is not enforced there
    fcntl = None  # type: ignore[assignment]
from imu_gait.rawlog import RawLogWriter
from imu_gait.session import PARTS_SUFFIX, SCHEMA_VERSION, write_json_atomic

PART_COLUMNS = ("t", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
LOCK_FILE = ".recorder.lock"  # in raw/


class RecordingLock:
    """An exclusive advisory lock on ``<session>/raw/.recorder.lock``: held by the recorder while it records,
    and by ``imu-gait finalize`` while it works. :meth:`acquire` is False when another process holds it."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "raw" / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> bool:
        if fcntl is None or not self.path.parent.is_dir():
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Unlock and remove the lock file (its absence says nobody is at work on the folder)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)  # closing releases the lock
        self._fd = None


def write_parquet_atomic(columns: dict[str, np.ndarray], path: Path) -> None:
    """Write a Parquet file under a temporary name, fsync it, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(
        pa.table({k: pa.array(np.asarray(v)) for k, v in columns.items()}), tmp, compression="zstd"
    )
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_parts(folder: Path) -> dict[str, np.ndarray]:
    """All columns of a sensor's part files, concatenated in order (columns common to every part)."""
    tables = [pq.read_table(f) for f in sorted(folder.glob("*.parquet"))]
    if not tables:
        return {}
    names = [c for c in tables[0].column_names if all(c in t.column_names for t in tables)]
    return {c: np.concatenate([t.column(c).to_numpy() for t in tables]) for c in names}


def new_recording_meta() -> dict[str, Any]:
    """The ``session.json`` of a live recording before anything is known about it (created now)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "subject": "anonymous",
        "condition": "",
        "activity": "",
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "calibration": {},
        "events": [],
        "notes": "",
        "source": {"format": "imu-gait record"},
        "sensors": {},
    }


class SessionStore:
    """Files of one recording in ``folder`` (which must not exist yet, or be empty)."""

    def __init__(self, folder: str | Path, metadata: dict[str, Any]) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and (not self.folder.is_dir() or any(self.folder.iterdir())):
            raise UsageError(
                f"{self.folder}: already exists and is not empty (choose another output folder)"
            )
        (self.folder / "raw").mkdir(parents=True, exist_ok=True)
        self.lock = RecordingLock(self.folder)
        self.lock.acquire()  # a new, empty folder: nobody else can hold it yet
        self.meta: dict[str, Any] = new_recording_meta()
        self.meta.update(metadata)
        self._part_index: dict[str, int] = {}
        self.write_metadata()

    def raw_writer(self, placement: str) -> RawLogWriter:
        return RawLogWriter(self.folder / "raw" / f"{placement}.frames")

    def parts_dir(self, placement: str) -> Path:
        return self.folder / f"{placement}{PARTS_SUFFIX}"

    def write_metadata(self, snapshot: dict[str, Any] | None = None) -> None:
        """Write session.json (atomically) from ``snapshot``, or from the current metadata."""
        write_json_atomic(self.meta if snapshot is None else snapshot, self.folder / "session.json")

    def set_sensor(self, placement: str, info: dict[str, Any]) -> None:
        self.meta["sensors"][placement] = info

    def write_part(self, placement: str, columns: dict[str, np.ndarray]) -> Path:
        """Append one part (at least the columns t, acc_*, gyr_*; t strictly increasing across parts)."""
        folder = self.parts_dir(placement)
        folder.mkdir(exist_ok=True)
        i = self._part_index.get(placement, 0)
        self._part_index[placement] = i + 1
        path = folder / f"{i:06d}.parquet"
        write_parquet_atomic(columns, path)
        return path

    def finalize_sensor(self, placement: str, columns: dict[str, np.ndarray]) -> None:
        """Write the consolidated ``<placement>.parquet``, then drop the part files."""
        write_parquet_atomic(columns, self.folder / f"{placement}.parquet")
        shutil.rmtree(self.parts_dir(placement), ignore_errors=True)
