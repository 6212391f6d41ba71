"""WitMotion BLE 5.0 sensors (BWT901BLECL5.0, WT901BLE5.0, WT9011DCL-BT50): 20-byte ``55 61`` frames.

Data frame (notify on ffe4): ``55 61 | acc xyz i16 (x16/32768 g) | gyro xyz i16 (x2000/32768 deg/s) |
angle roll pitch yaw i16 (x180/32768 deg)``, no checksum. Register replies ``55 71 | u16 start register |
8 x i16`` arrive on the same characteristic. The notification stream is treated as a byte stream (frames may be
split or glued, the decoder resynchronises on ``55 61`` / ``55 71``). Commands are 5 bytes ``FF AA reg lo hi`` on
ffe9. No device time and no counter: ``t_device`` and ``seq`` are None and loss is undetectable here.

The device streams as soon as notifications are enabled (default 10 Hz); the rate command changes the rate.
Full scales are fixed at 16 g / 2000 deg/s by every vendor SDK. Axes as printed on the housing.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from firmware_protocols.base import (
    DecoderBase,
    EncoderBase,
    G,
    GattWrite,
    Handshake,
    Notification,
    ProtocolError,
    SampleBlock,
    StreamConfig,
    WriteAll,
    any_uuid_in,
    quantize,
    snap,
)

NAME = "witmotion"
_BASE = "-0000-1000-8000-00805f9a34fb"  # note 9a34fb, not the SIG base
SERVICE = "0000ffe5" + _BASE
DATA = "0000ffe4" + _BASE
COMMAND = "0000ffe9" + _BASE

SERVICE_UUIDS = (SERVICE,)
NOTIFY_CHARACTERISTICS = (DATA,)
WRITE_CHARACTERISTICS = (COMMAND,)
GATT = {SERVICE: {DATA: ("notify",), COMMAND: ("write", "write-without-response")}}
NAME_PREFIXES = ("WT901", "WT9011", "BWT901")
STREAMS_ON_SUBSCRIBE = True

RATE_CODES: dict[float, int] = {
    0.2: 0x01,
    0.5: 0x02,
    1.0: 0x03,
    2.0: 0x04,
    5.0: 0x05,
    10.0: 0x06,
    20.0: 0x07,
    50.0: 0x08,
    100.0: 0x09,
    200.0: 0x0B,
}
# 0x0A is 125 Hz in the WIT C SDK (WT931 only) but 200 Hz in one manual; the device side accepts it as 200 Hz.
_CODE_RATES = {code: rate for rate, code in RATE_CODES.items()} | {0x0A: 200.0}
SUPPORTED_RATES = tuple(sorted(RATE_CODES))
ACC_RANGES_G = (16.0,)
GYR_RANGES_DPS = (2000.0,)
DEFAULT_CONFIG = StreamConfig(10.0, 16.0, 2000.0)

ACC_LSB = 16.0 / 32768.0 * G  # m/s^2 per count
GYR_LSB = 2000.0 / 32768.0  # deg/s per count
ANGLE_LSB = 180.0 / 32768.0  # deg per count
FRAME_LEN = 20
_FRAME = struct.Struct("<2s9h")
_REGS = struct.Struct("<2sH8h")

UNLOCK = bytes.fromhex("ffaa6988b5")
SAVE = bytes.fromhex("ffaa000000")
REG_RATE = 0x03
REG_READ = 0x27


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    return bool(name and name.startswith(NAME_PREFIXES)) or any_uuid_in(
        SERVICE_UUIDS, service_uuids
    )


def advertised_name(suffix: str) -> str:
    return "WT901BLE" + suffix


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    """Nearest output rate; ranges are fixed (16 g, 2000 deg/s)."""
    return StreamConfig(snap(rate_hz, SUPPORTED_RATES), 16.0, 2000.0)


def command(register: int, value: int = 0) -> bytes:
    """``FF AA reg valLo valHi``."""
    if not (0 <= register <= 0xFF and 0 <= value <= 0xFFFF):
        raise ValueError("register must fit a byte and value 16 bits")
    return bytes([0xFF, 0xAA, register, value & 0xFF, value >> 8])


def start_commands(config: StreamConfig) -> list[GattWrite]:
    """Unlock, then the rate register (not saved to flash: the setting is for this session)."""
    code = RATE_CODES.get(float(config.rate_hz))
    if code is None:
        raise ProtocolError(f"WitMotion has no output rate {config.rate_hz} Hz")
    return [GattWrite(COMMAND, UNLOCK), GattWrite(COMMAND, command(REG_RATE, code))]


def handshake(config: StreamConfig) -> Handshake:
    return WriteAll(start_commands(config))


def stop_commands() -> list[GattWrite]:
    """None: the sensor streams while notifications are enabled; disable them to stop."""
    return []


def read_register_command(start: int) -> GattWrite:
    """Ask for 8 registers from ``start``; the answer is a ``55 71`` frame (see Decoder.registers)."""
    return GattWrite(COMMAND, command(REG_READ, start))


class Decoder(DecoderBase):
    """Byte stream of ``55 61``/``55 71`` frames -> SampleBlocks (acc, gyr; no device time, no counter).

    ``angles`` holds the last on-device roll/pitch/yaw (deg); ``registers`` the register values from ``55 71``
    replies. Bytes that belong to no frame are dropped (``dropped_bytes``); a notification that contains nothing
    but such bytes raises ProtocolError. An incomplete frame at the end waits for the next notification.
    """

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self.angles = np.zeros(3)
        self.registers: dict[int, int] = {}
        self.dropped_bytes = 0
        self._buf = b""

    def reset(self) -> None:
        self._buf = b""

    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic != DATA:
            raise ProtocolError(f"not a WitMotion data characteristic: {characteristic}")
        if not data:
            raise ProtocolError("empty WitMotion notification")
        buf = self._buf + data
        rows: list[tuple[int, ...]] = []
        dropped = 0
        frames = 0
        i = 0
        while i < len(buf):
            if buf[i] != 0x55:
                i += 1
                dropped += 1
                continue
            if i + 1 >= len(buf):
                break  # a lone 0x55 at the end: may start a frame
            kind = buf[i + 1]
            if kind not in (0x61, 0x71):
                i += 1
                dropped += 1
                continue
            if i + FRAME_LEN > len(buf):
                break
            frames += 1
            if kind == 0x61:
                rows.append(_FRAME.unpack_from(buf, i)[1:])
            else:
                _, start, *values = _REGS.unpack_from(buf, i)
                for k, v in enumerate(values):
                    self.registers[(start + k) & 0xFFFF] = v
            i += FRAME_LEN
        self._buf = buf[i:]
        self.dropped_bytes += dropped
        if frames == 0 and dropped and not self._buf:
            raise ProtocolError(f"WitMotion notification without a frame ({dropped} bytes dropped)")
        if frames == 0 and dropped:
            raise ProtocolError(f"WitMotion: {dropped} bytes before a frame start dropped")
        self.packets += frames
        if not rows:
            return []
        raw = np.asarray(rows, dtype=np.float64)
        self.angles = raw[-1, 6:9] * ANGLE_LSB
        return [SampleBlock(raw[:, 0:3] * ACC_LSB, raw[:, 3:6] * GYR_LSB)]


class Encoder(EncoderBase):
    """Device side: one 20-byte ``55 61`` notification per sample (feed samples at ``config.rate_hz``).

    The angle fields carry roll and pitch from the accelerometer's gravity direction and yaw 0, standing in for
    the on-device fusion. ``FF AA 27 reg`` reads answer with a ``55 71`` frame.
    """

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self._streaming = True
        self.registers: dict[int, int] = {REG_RATE: RATE_CODES.get(float(config.rate_hz), 0x06)}
        self.unlocked = False

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic != COMMAND:
            raise ProtocolError(f"WitMotion: {characteristic} is not writable")
        if len(data) != 5 or data[:2] != b"\xff\xaa":
            raise ProtocolError(f"WitMotion commands are 5 bytes FF AA reg lo hi, got {data.hex()}")
        reg, value = data[2], data[3] | data[4] << 8
        if data == UNLOCK:
            self.unlocked = True
            return []
        if reg == REG_RATE:
            if value not in _CODE_RATES:
                raise ProtocolError(f"WitMotion: invalid rate code 0x{value:02x}")
            self.registers[REG_RATE] = value
            self.config = StreamConfig(_CODE_RATES[value], 16.0, 2000.0)
            return []
        if reg == REG_READ:
            values = [self.registers.get((value + k) & 0xFFFF, 0) for k in range(8)]
            return [Notification(DATA, _REGS.pack(b"\x55\x71", value, *values))]
        self.registers[reg] = value - 0x10000 if value >= 0x8000 else value
        return []

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        a = quantize(acc, ACC_LSB)
        g = quantize(gyr, GYR_LSB)
        roll = np.degrees(np.arctan2(acc[:, 1], acc[:, 2]))
        pitch = np.degrees(np.arctan2(-acc[:, 0], np.hypot(acc[:, 1], acc[:, 2])))
        ang = quantize(np.column_stack([roll, pitch, np.zeros_like(roll)]), ANGLE_LSB)
        rows = np.hstack([a, g, ang])
        return [Notification(DATA, _FRAME.pack(b"\x55\x61", *map(int, r))) for r in rows]
