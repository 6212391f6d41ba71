"""Movesense sensors running the GATT SensorData Protocol (GSP) app: ``/Meas/IMU6/{rate}``.

Commands on 34800001: ``00 ref`` hello (answer ``01 ref "Hello"``), ``01 ref /Meas/IMU6/104`` subscribe (the first
DATA packet is the acknowledgement; a refusal is ``01 ref`` + big-endian u16 status, e.g. ``01 FB`` = 507),
``02 ref`` unsubscribe. Notifications on 34800002: ``[type][ref][payload]`` with type 01 command result, 02 DATA,
03 DATA_PART2, 04 DATA_PART3; payloads longer than 150 bytes are split into parts (the continuation's 2-byte
header dropped, payloads concatenated).

IMU6 payload: ``u32 t_first (ms, sensor clock) | N x acc xyz f32 (m/s^2) | N x gyro xyz f32 (deg/s)``,
N = (len - 4) / 24, sample i at t_first + i/rate. Loss shows as a timestamp step larger than the samples
received; it is counted in ``lost_samples`` (and whole payloads in ``lost_packets``). A payload is lost with any
of its parts (a lost first part leaves an orphan continuation, rejected; a lost continuation leaves a first part
that the next DATA drops), and each lost payload is counted once, from the timestamps. One pattern cannot be seen:
when a continuation and the next payload's first part are both lost, the first part and the next continuation
reassemble into a payload of the right length (the parts carry no counter) - one payload is counted lost and the
other is decoded with the second half of its samples from its successor (at 0.5 % loss once per ~25 min at 208 Hz).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from firmware_protocols.base import (
    DecoderBase,
    EncoderBase,
    GattWrite,
    Handshake,
    Notification,
    ProtocolError,
    SampleBlock,
    StreamConfig,
    Unwrapper,
    WriteAll,
    any_uuid_in,
    snap,
)

NAME = "movesense"
_BASE = "-7185-4d5d-b431-630e7050e8f0"
SERVICE = "34802252" + _BASE
COMMAND = "34800001" + _BASE
DATA = "34800002" + _BASE

SERVICE_UUIDS = (SERVICE,)
NOTIFY_CHARACTERISTICS = (DATA,)
WRITE_CHARACTERISTICS = (COMMAND,)
GATT = {SERVICE: {COMMAND: ("write", "write-without-response"), DATA: ("notify",)}}
STREAMS_ON_SUBSCRIBE = False

SUPPORTED_RATES = (13.0, 26.0, 52.0, 104.0, 208.0, 416.0, 833.0, 1666.0)
ACC_RANGES_G: tuple[
    float, ...
] = ()  # set through the mobile API (/Meas/Acc/Config), not through GSP
GYR_RANGES_DPS: tuple[float, ...] = ()
DEFAULT_CONFIG = StreamConfig(104.0, None, None)

CMD_HELLO, CMD_SUBSCRIBE, CMD_UNSUBSCRIBE = 0x00, 0x01, 0x02
T_RESULT, T_DATA, T_PART2, T_PART3 = 0x01, 0x02, 0x03, 0x04
PART_LIMIT = 150  # payload bytes per DATA packet before the rest goes to the next part
DEFAULT_REF = 99
_F32 = np.dtype("<f4")


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    return bool(name and name.startswith("Movesense")) or any_uuid_in(SERVICE_UUIDS, service_uuids)


def advertised_name(suffix: str) -> str:
    return "Movesense " + suffix


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    """Nearest IMU rate; the ranges are not set over GSP (None)."""
    return StreamConfig(snap(rate_hz, SUPPORTED_RATES), None, None)


def subscribe_command(config: StreamConfig, ref: int = DEFAULT_REF) -> bytes:
    rate = float(config.rate_hz)
    if rate not in SUPPORTED_RATES:
        raise ProtocolError(f"Movesense IMU6 has no rate {config.rate_hz} Hz")
    if not 1 <= ref <= 255:
        raise ValueError("reference must be 1..255")
    return bytes([CMD_SUBSCRIBE, ref]) + f"/Meas/IMU6/{int(rate)}".encode("ascii")


def start_commands(config: StreamConfig, ref: int = DEFAULT_REF) -> list[GattWrite]:
    return [GattWrite(COMMAND, subscribe_command(config, ref), with_response=True)]


def handshake(config: StreamConfig) -> Handshake:
    return WriteAll(start_commands(config))


def stop_commands(ref: int = DEFAULT_REF) -> list[GattWrite]:
    return [GattWrite(COMMAND, bytes([CMD_UNSUBSCRIBE, ref]), with_response=True)]


def hello_command(ref: int = 1) -> GattWrite:
    return GattWrite(COMMAND, bytes([CMD_HELLO, ref]), with_response=True)


def _split_parts(ref: int, payload: bytes) -> list[bytes]:
    parts = [payload[i : i + PART_LIMIT] for i in range(0, len(payload), PART_LIMIT)] or [b""]
    if len(parts) > 3:
        raise ValueError("payload too long for DATA + PART2 + PART3")
    return [bytes([T_DATA + k, ref]) + p for k, p in enumerate(parts)]


class Decoder(DecoderBase):
    """GSP notifications -> SampleBlocks with per-sample device time (s) and a running sample counter.

    Command results are kept in ``results`` ({ref: bytes}); a refusal (status >= 400) raises ProtocolError.
    A continuation without its first part is a ProtocolError; a first part whose continuation never came is
    dropped when the next DATA arrives (counted in ``incomplete``; its samples show up in ``lost_samples``).
    """

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self.rate_hz = float(config.rate_hz)
        self.results: dict[int, bytes] = {}
        self.incomplete = 0  # split payloads whose continuation never came
        self.reset()

    def reset(self) -> None:
        self._parts: bytes | None = None
        self._parts_ref = 0
        self._next_part = T_PART2
        self._clock = Unwrapper(32)
        self._next_t_ms: float | None = None
        self._next_index = 0

    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic != DATA:
            raise ProtocolError(f"not the Movesense data characteristic: {characteristic}")
        if len(data) < 2:
            raise ProtocolError(f"Movesense notification of {len(data)} bytes")
        kind, ref = data[0], data[1]
        body = data[2:]
        if kind == T_RESULT:
            self.results[ref] = body
            if len(body) == 2 and int.from_bytes(body, "big") >= 400:
                raise ProtocolError(
                    f"Movesense refused command {ref}: status {int.from_bytes(body, 'big')}"
                )
            return []
        if kind == T_DATA:
            if self._parts is not None:
                # the previous payload never got its continuation: it is lost (the timestamps will count its
                # samples); this DATA starts a new payload
                self._parts = None
                self.incomplete += 1
            payload = body
        elif kind in (T_PART2, T_PART3):
            if self._parts is None or ref != self._parts_ref or kind != self._next_part:
                self._parts = None
                raise ProtocolError(f"Movesense: unexpected continuation type {kind} for ref {ref}")
            payload = self._parts + body
            self._parts = None
        else:
            raise ProtocolError(f"Movesense: unknown notification type {kind}")

        if (len(payload) - 4) % 24 == 0 and len(payload) > 4:
            return self._decode(payload)
        if len(body) == PART_LIMIT and kind != T_PART3:
            self._parts, self._parts_ref = payload, ref
            self._next_part = T_PART2 if kind == T_DATA else T_PART3
            return []
        raise ProtocolError(f"Movesense IMU6 payload of {len(payload)} bytes is not 4 + 24 N")

    def _decode(self, payload: bytes) -> list[SampleBlock]:
        n = (len(payload) - 4) // 24
        t_raw = int.from_bytes(payload[:4], "little")
        with np.errstate(invalid="ignore"):  # signalling NaNs are rejected just below
            values = np.frombuffer(payload, dtype=_F32, offset=4).astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise ProtocolError("Movesense payload holds NaN or infinite values")
        t_ms = self._clock.peek(t_raw)
        period_ms = 1000.0 / self.rate_hz
        if self._next_t_ms is not None:
            step = t_ms - self._next_t_ms
            if step < -max(2.0, 0.5 * n * period_ms):
                self.reset()
                return self._decode(payload)  # the sensor restarted its clock: a new stream
            gap = round(step / period_ms)
            if gap > 0:
                self.lost_samples += gap
                self.lost_packets += max(1, round(gap / n))
                self._next_index += gap
        self._clock(t_raw)
        acc = values[: 3 * n].reshape(n, 3)
        gyr = values[3 * n :].reshape(n, 3)
        t_dev = (t_ms + np.arange(n) * period_ms) * 1e-3
        index = self._next_index + np.arange(n, dtype=np.int64)
        self._next_index += n
        self._next_t_ms = t_ms + n * period_ms
        self.packets += 1
        self.newest_t_device = float(t_dev[-1])
        return [SampleBlock(acc, gyr, t_dev, index)]


class Encoder(EncoderBase):
    """Device side of the GSP app: hello, subscribe/unsubscribe; IMU6 packets of ``samples_per_packet`` samples
    (8 by default, as the sensor delivers at 104 Hz), split into DATA + DATA_PART2 when over 150 bytes."""

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG, samples_per_packet: int = 8) -> None:
        super().__init__(config)
        if not 1 <= samples_per_packet <= 18:
            raise ValueError("samples_per_packet must be 1..18 (three parts at most)")
        self.samples_per_packet = samples_per_packet
        self.ref: int | None = None
        self._pending_t: list[float] = []
        self._pending: list[np.ndarray] = []

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic != COMMAND:
            raise ProtocolError(f"Movesense: {characteristic} is not writable")
        if len(data) < 2 or data[1] == 0:
            raise ProtocolError("Movesense commands are [cmd][ref != 0][data]")
        cmd, ref = data[0], data[1]
        if cmd == CMD_HELLO:
            return [Notification(DATA, bytes([T_RESULT, ref]) + b"Hello")]
        if cmd == CMD_SUBSCRIBE:
            path = data[2:].decode("ascii", errors="replace")
            prefix = "/Meas/IMU6/"
            rate = path[len(prefix) :]
            if (
                not path.startswith(prefix)
                or not rate.isdigit()
                or float(rate) not in SUPPORTED_RATES
            ):
                return [Notification(DATA, bytes([T_RESULT, ref]) + (404).to_bytes(2, "big"))]
            if self.ref is not None and self.ref != ref:
                return [Notification(DATA, bytes([T_RESULT, ref]) + (507).to_bytes(2, "big"))]
            self.config = StreamConfig(float(rate), None, None)
            self.ref = ref
            self._pending_t, self._pending = [], []
            self._streaming = True
            return []
        if cmd == CMD_UNSUBSCRIBE:
            if ref == self.ref:
                self.ref = None
                self._streaming = False
            return []
        raise ProtocolError(f"Movesense: unknown command 0x{cmd:02x}")

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        self._pending_t.extend(t.tolist())
        self._pending.extend(np.hstack([acc, gyr]))
        out: list[Notification] = []
        while len(self._pending_t) >= self.samples_per_packet:
            out.extend(self._packet(self.samples_per_packet))
        return out

    def flush(self) -> list[Notification]:
        if not self._streaming or not self._pending_t:
            return []
        return self._packet(len(self._pending_t))

    def _packet(self, n: int) -> list[Notification]:
        rows = np.asarray(self._pending[:n], dtype=np.float64)
        t_ms = round(self._pending_t[0] * 1000.0) % (1 << 32)
        del self._pending[:n], self._pending_t[:n]
        payload = (
            struct.pack("<I", t_ms)
            + rows[:, :3].astype(_F32).tobytes()
            + rows[:, 3:].astype(_F32).tobytes()
        )
        assert self.ref is not None
        return [Notification(DATA, p) for p in _split_parts(self.ref, payload)]
