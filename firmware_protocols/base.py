"""Shared types and helpers for the sans-IO sensor codecs.

Every family module (``diy``, ``witmotion``, ...) is pure: bytes in, sample blocks out; GATT writes described as
data, never performed. Units on the decoded side are always m/s^2 (accelerometer, gravity included) and deg/s
(gyroscope) in the sensor's own right-handed frame; device time in seconds on the device clock.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

G = 9.80665  # m/s^2 per g (standard gravity)

SIG_BASE = "-0000-1000-8000-00805f9b34fb"


class ProtocolError(Exception):
    """Malformed, truncated or unexpected bytes, or a command the device would reject."""


@dataclass(frozen=True)
class StreamConfig:
    """What the device streams: output rate (Hz) and full-scale ranges (g, deg/s; None = not configurable/absent)."""

    rate_hz: float
    acc_range_g: float | None = None
    gyr_range_dps: float | None = None


@dataclass(frozen=True)
class GattWrite:
    """One GATT write the central must perform (characteristic = full 128-bit UUID, lowercase)."""

    characteristic: str
    data: bytes
    with_response: bool = False


@dataclass(frozen=True)
class GattRead:
    """One GATT read the central must perform; feed the value back to whoever asked for it."""

    characteristic: str


@dataclass(frozen=True)
class Notification:
    """One notification (or indication) as the peripheral sends it."""

    characteristic: str
    data: bytes


@dataclass
class SampleBlock:
    """Consecutive samples decoded from one or more notifications.

    acc: (n, 3) m/s^2; gyr: (n, 3) deg/s (NaN for a family without gyroscope); t_device: (n,) s on the device clock
    (unwrapped), or None; seq: (n,) int64 running sample counter (lost samples leave holes), or None;
    mag: (n, 3) uT where the family streams a magnetometer, else None.
    """

    acc: np.ndarray
    gyr: np.ndarray
    t_device: np.ndarray | None = None
    seq: np.ndarray | None = None
    mag: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.acc.shape[0])


def uuid16(short: int) -> str:
    """Full lowercase 128-bit UUID of a Bluetooth SIG 16-bit UUID."""
    return f"{short:08x}{SIG_BASE}"


def norm_uuid(u: str) -> str:
    """Lowercase full UUID; 4- or 8-hex-digit short forms are expanded on the SIG base."""
    s = str(u).strip().lower()
    if len(s) in (4, 8) and all(c in "0123456789abcdef" for c in s):
        return uuid16(int(s, 16))
    return s


def any_uuid_in(wanted: Iterable[str], offered: Sequence[str]) -> bool:
    """True if one of ``wanted`` (full UUIDs) is among ``offered`` (any case/short form)."""
    got = {norm_uuid(u) for u in offered or ()}
    return any(norm_uuid(w) in got for w in wanted)


def snap(value: float, choices: Sequence[float]) -> float:
    """The entry of ``choices`` nearest to ``value`` (ties go to the larger one)."""
    if not choices:
        raise ValueError("no choices")
    if value is None or not math.isfinite(float(value)):
        raise ValueError(f"not a finite number: {value!r}")
    return min(choices, key=lambda c: (abs(c - float(value)), -c))


def snap_up(value: float | None, choices: Sequence[float], default: float | None) -> float | None:
    """Smallest entry of ``choices`` >= ``value`` (the largest if none is); ``default`` if value is None."""
    if value is None:
        return default
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"not a finite number: {value!r}")
    bigger = [c for c in sorted(choices) if c >= v - 1e-9]
    return bigger[0] if bigger else max(choices)


def check_samples(
    t_device: np.ndarray, acc: np.ndarray, gyr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate encoder input: t (n,) s, acc (n, 3) m/s^2, gyr (n, 3) deg/s; returns float64 arrays."""
    t = np.asarray(t_device, dtype=np.float64).reshape(-1)
    a = np.asarray(acc, dtype=np.float64)
    g = np.asarray(gyr, dtype=np.float64)
    n = t.shape[0]
    if a.shape != (n, 3) or g.shape != (n, 3):
        raise ValueError(f"acc and gyr must have shape ({n}, 3), got {a.shape} and {g.shape}")
    return t, a, g


def quantize(values: np.ndarray, lsb: float, bits: int = 16) -> np.ndarray:
    """Round ``values / lsb`` to signed integers of ``bits``, saturating like a sensor does."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    q = np.rint(np.asarray(values, dtype=np.float64) / lsb)
    q = np.nan_to_num(q, nan=0.0, posinf=hi, neginf=lo)
    return np.clip(q, lo, hi).astype(np.int64)


class Unwrapper:
    """Turns a wrapping unsigned counter (``bits`` wide) into an ever-increasing integer, statefully.

    A step is taken as forward modulo 2**bits if it is below half the range, else as a step back (returned as a
    smaller value, so the caller can see a reordering or a device restart).
    """

    def __init__(self, bits: int) -> None:
        self.modulus = 1 << bits
        self.last_raw: int | None = None
        self.value: int | None = None

    def __call__(self, raw: int) -> int:
        raw = int(raw) % self.modulus
        if self.last_raw is None or self.value is None:
            self.value = raw
        else:
            step = (raw - self.last_raw) % self.modulus
            if step >= self.modulus // 2:
                step -= self.modulus
            self.value += step
        self.last_raw = raw
        return self.value

    def peek(self, raw: int) -> int:
        """What ``self(raw)`` would return, without changing the state."""
        if self.last_raw is None or self.value is None:
            return int(raw) % self.modulus
        step = (int(raw) % self.modulus - self.last_raw) % self.modulus
        if step >= self.modulus // 2:
            step -= self.modulus
        return self.value + step

    def reset(self) -> None:
        self.last_raw = None
        self.value = None


def unpack(fmt: struct.Struct, data: bytes, offset: int = 0) -> tuple:
    """``fmt.unpack_from`` that raises ProtocolError on short input."""
    if offset < 0 or len(data) < offset + fmt.size:
        raise ProtocolError(f"need {fmt.size} bytes at offset {offset}, packet has {len(data)}")
    return fmt.unpack_from(data, offset)


def as_bytes(data: object) -> bytes:
    """Accept bytes, bytearray or memoryview; anything else is a ProtocolError."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise ProtocolError(f"expected bytes, got {type(data).__name__}")


class DecoderBase:
    """Common state of a stateful decoder.

    Counters: ``packets`` (notifications accepted), ``samples`` (samples emitted), ``lost_packets`` and
    ``lost_samples`` (only where the family's counters/timestamps reveal loss; else they stay 0), ``errors``
    (notifications rejected with ProtocolError).

    ``newest_t_device``: after each ``feed``, the device time (s, as in ``SampleBlock.t_device``) of the newest
    sample the notification just fed carried, whether or not the decoder returned that sample yet (decoders that
    pair two streams or reassemble split payloads hold samples back); None when the notification carried no
    sample that can be timed yet, and always None in families without a device clock. A clock fit of arrival time
    against device time per notification should use it (the held-back samples would make the device look late),
    plus ``ready_lag_s``: how long after its newest sample the device can send such a notification at the
    earliest (0 where a batch is sent as soon as its last sample is measured).

    Subclasses implement ``_feed``. Values of the family's other
    readable characteristics (``IGNORED``: configuration, battery ...) are accepted and give no samples, so a
    recorder may pass every value it reads or receives.
    """

    IGNORED: frozenset[str] = frozenset()

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self.packets = 0
        self.samples = 0
        self.lost_packets = 0
        self.lost_samples = 0
        self.errors = 0
        self.newest_t_device: float | None = None
        self.ready_lag_s = 0.0

    def feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        """Decode one notification; malformed input raises ProtocolError and leaves the stream state usable."""
        self.newest_t_device = None
        try:
            payload = as_bytes(data)
            char = norm_uuid(characteristic)
            if char in self.IGNORED:
                return []
            blocks = self._feed(char, payload)
        except ProtocolError:
            self.errors += 1
            raise
        self.samples += sum(len(b) for b in blocks)
        return blocks

    def reset(self) -> None:
        """Forget stream continuity (after a reconnect the device restarts its counters); counters are kept."""

    def _feed(
        self, characteristic: str, data: bytes
    ) -> list[SampleBlock]:  # pragma: no cover - abstract
        raise NotImplementedError


class EncoderBase:
    """Common state of a device-side encoder (used by the emulator).

    The encoder streams only after a valid start command arrived through ``handle_write``; ``encode`` returns []
    while not streaming (samples produced then are simply not sent, like a device that is idle).
    """

    def __init__(self, config: StreamConfig) -> None:
        self.config = config
        self._streaming = False

    @property
    def is_streaming(self) -> bool:
        return self._streaming

    def handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        """Apply a central's write; returns the notifications/indications the device answers with."""
        return self._handle_write(norm_uuid(characteristic), as_bytes(data))

    def read(self, characteristic: str) -> bytes:
        """Value of a readable characteristic; ProtocolError if it is not readable."""
        raise ProtocolError(f"characteristic {characteristic} is not readable")

    def encode(self, t_device: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        """Samples (t s device clock, m/s^2, deg/s) -> notifications exactly as the device sends them."""
        t, a, g = check_samples(t_device, acc, gyr)
        if not self.is_streaming or t.shape[0] == 0:
            return []
        return self._encode(t, a, g)

    def flush(self) -> list[Notification]:
        """Send what a batching device still holds (a partial batch); [] for families that do not batch."""
        return []

    def _handle_write(
        self, characteristic: str, data: bytes
    ) -> list[Notification]:  # pragma: no cover
        raise NotImplementedError

    def _encode(
        self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> list[Notification]:  # pragma: no cover
        raise NotImplementedError


class Handshake:
    """Sans-IO configuration dialogue (writes to send, reads to do, responses fed back).

    Loop until ``done``: perform every action of ``next_actions()`` in order (GattWrite: write; GattRead: read and
    pass the value to ``feed``); pass notifications/indications that arrive on the family's notify
    characteristics to ``feed`` as well; when ``next_actions()`` returns [] and not ``done``, wait for a response
    (the timeout is the caller's). ``feed`` raises ProtocolError when the device refused the configuration.
    """

    def __init__(self) -> None:
        self.done = False

    def next_actions(self) -> list[GattWrite | GattRead]:  # pragma: no cover - abstract
        raise NotImplementedError

    def feed(self, characteristic: str, data: bytes) -> None:
        """A response; ignored unless the dialogue is waiting for it."""


class WriteAll(Handshake):
    """The trivial dialogue: write these commands, no answer needed."""

    def __init__(self, writes: list[GattWrite]) -> None:
        super().__init__()
        self._writes = list(writes)

    def next_actions(self) -> list[GattWrite | GattRead]:
        if self.done:
            return []
        self.done = True
        return list(self._writes)


def sample_times(t_first: float, n: int, rate_hz: float) -> np.ndarray:
    """Times of n samples spaced 1/rate from t_first (s)."""
    return t_first + np.arange(n, dtype=np.float64) / float(rate_hz)
