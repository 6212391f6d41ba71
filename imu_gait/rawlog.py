"""Append-only log of raw BLE notifications: ``raw/<placement>.frames``.

File layout: the 8-byte magic ``IMUGRAW1``, then frames, each::

    u32 payload_length | f64 host_time_s | u8 kind | 16 bytes characteristic UUID | payload | u32 CRC32

little-endian; the CRC32 covers everything from ``payload_length`` to the end of the payload. ``host_time_s`` is the
arrival time on the session clock (s). A recorder killed mid-write leaves a torn last frame; the reader keeps every
frame before it and reports how many bytes it dropped. Re-opening a log for append cuts the torn tail first, so new
frames never land behind garbage.
"""

from __future__ import annotations

import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imu_gait.errors import FormatError

MAGIC = b"IMUGRAW1"
_HEADER = struct.Struct("<IdB16s")
_CRC = struct.Struct("<I")
MAX_PAYLOAD = 65536  # far above any BLE ATT payload (<= 512 bytes); larger lengths mean corruption

KIND_NOTIFICATION = 0
KIND_WRITE = 1  # a command the recorder wrote to the sensor
KIND_EVENT = 2  # link event (connected, disconnected, ...); payload is UTF-8 text


@dataclass
class RawFrame:
    t: float
    kind: int
    characteristic: str
    payload: bytes


@dataclass
class RawLog:
    """Frames read from one log, plus what had to be dropped at the end."""

    path: Path
    frames: list[RawFrame] = field(default_factory=list)
    dropped_bytes: int = 0
    problem: str = ""

    @property
    def times(self) -> np.ndarray:
        return np.fromiter((f.t for f in self.frames), dtype=np.float64, count=len(self.frames))

    def notifications(self) -> Iterator[RawFrame]:
        return (f for f in self.frames if f.kind == KIND_NOTIFICATION)


def encode_frame(
    t: float, characteristic: str, payload: bytes, kind: int = KIND_NOTIFICATION
) -> bytes:
    """One frame as bytes (see module docstring)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = _HEADER.pack(len(payload), float(t), kind, uuid.UUID(characteristic).bytes)
    body = head + bytes(payload)
    return body + _CRC.pack(zlib.crc32(body))


def _scan(buf: bytes, path: Path) -> tuple[list[RawFrame], int, str]:
    """Parse frames from ``buf`` (which starts with MAGIC); returns frames, valid end offset, problem."""
    frames: list[RawFrame] = []
    pos = len(MAGIC)
    n = len(buf)
    while pos < n:
        if n - pos < _HEADER.size:
            return frames, pos, f"torn frame header at byte {pos}"
        length, t, kind, char = _HEADER.unpack_from(buf, pos)
        if length > MAX_PAYLOAD:
            return frames, pos, f"implausible frame length {length} at byte {pos}"
        end = pos + _HEADER.size + length
        if end + _CRC.size > n:
            return frames, pos, f"torn frame at byte {pos}"
        (crc,) = _CRC.unpack_from(buf, end)
        if zlib.crc32(buf[pos:end]) != crc:
            return frames, pos, f"CRC mismatch in frame at byte {pos}"
        frames.append(RawFrame(t, kind, str(uuid.UUID(bytes=char)), buf[pos + _HEADER.size : end]))
        pos = end + _CRC.size
    return frames, pos, ""


def read_raw_log(path: str | Path) -> RawLog:
    """Read every intact frame of a log; a torn or corrupt tail is dropped and reported, not raised."""
    path = Path(path)
    buf = path.read_bytes()
    if not buf.startswith(MAGIC):
        if MAGIC.startswith(buf):  # killed before the magic was complete: an empty log
            return RawLog(path, [], len(buf), "torn file header" if buf else "")
        raise FormatError(
            path, f"not an imu-gait raw frame log (expected magic {MAGIC!r})", line=None
        )
    frames, valid, problem = _scan(buf, path)
    return RawLog(path, frames, len(buf) - valid, problem)


class RawLogWriter:
    """Appends frames to a log. ``flush()`` makes everything written so far durable (fsync)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        valid_end = 0
        if self.path.exists() and self.path.stat().st_size > 0:
            buf = self.path.read_bytes()
            if buf.startswith(MAGIC):
                _, valid_end, _ = _scan(buf, self.path)
            elif not MAGIC.startswith(buf):
                raise FormatError(self.path, "exists and is not an imu-gait raw frame log")
        self._f = open(self.path, "r+b" if valid_end else "wb")
        if valid_end:
            self._f.truncate(valid_end)
            self._f.seek(valid_end)
        else:
            self._f.write(MAGIC)
        self.frames_written = 0
        self.bytes_written = 0

    def write(
        self, t: float, characteristic: str, payload: bytes, kind: int = KIND_NOTIFICATION
    ) -> None:
        frame = encode_frame(t, characteristic, payload, kind)
        self._f.write(frame)
        self.frames_written += 1
        self.bytes_written += len(frame)

    def flush(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.flush()
            self._f.close()

    def __enter__(self) -> RawLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
