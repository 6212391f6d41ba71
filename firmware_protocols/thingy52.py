"""Nordic Thingy:52 motion service: 18-byte raw-data notifications in fixed point.

Raw data (notify on EF680406): ``acc xyz i16 (6Q10: /1024 g) | gyro xyz i16 (11Q5: /32 deg/s) |
compass xyz i16 (12Q4: /16 uT)``. The firmware documents 6Q10/11Q5/12Q4 (the JavaScript library's /64, /2048,
/4096 disagree); a sensor at rest must read 1 g, which the tests check with the firmware scales. Values saturate
at the Q-format limits (+-32 g, +-1024 deg/s).

Configuration EF680401 (9 bytes, read/write): ``u16 pedometer ms | u16 temperature-compensation ms |
u16 compass-compensation ms | u16 motion frequency Hz (5..200) | u8 wake-on-motion``; read, modify, write back.
No device time, no counter (t_device and seq None). The sensor streams while notifications are enabled.
Axes are passed through as the firmware reports them (acc and gyro share the MPU-9250's right-handed frame; the
compass comes from its AK8963, and whether the firmware aligns those axes to the others is unverified).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from firmware_protocols.base import (
    DecoderBase,
    EncoderBase,
    G,
    GattRead,
    GattWrite,
    Handshake,
    Notification,
    ProtocolError,
    SampleBlock,
    StreamConfig,
    any_uuid_in,
    quantize,
    unpack,
)

NAME = "thingy52"
_BASE = "-9b35-4933-9b10-52ffa9740042"
CONFIG_SERVICE = "ef680100" + _BASE
MOTION_SERVICE = "ef680400" + _BASE
MOTION_CONFIG = "ef680401" + _BASE
RAW_DATA = "ef680406" + _BASE

SERVICE_UUIDS = (MOTION_SERVICE, CONFIG_SERVICE)
NOTIFY_CHARACTERISTICS = (RAW_DATA,)
WRITE_CHARACTERISTICS = (MOTION_CONFIG,)
GATT = {MOTION_SERVICE: {MOTION_CONFIG: ("read", "write"), RAW_DATA: ("notify",)}}
STREAMS_ON_SUBSCRIBE = True

SUPPORTED_RATES = tuple(float(r) for r in range(5, 201))
ACC_RANGES_G = (32.0,)
GYR_RANGES_DPS = (1024.0,)
DEFAULT_CONFIG = StreamConfig(10.0, 32.0, 1024.0)

ACC_LSB = G / 1024.0
GYR_LSB = 1.0 / 32.0
MAG_LSB = 1.0 / 16.0
RAW = struct.Struct("<9h")
CONFIG = struct.Struct("<HHHHB")
DEFAULT_MOTION_CONFIG = (1000, 500, 500, 10, 1)


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    return bool(name and name.startswith("Thingy")) or any_uuid_in(SERVICE_UUIDS, service_uuids)


def advertised_name(suffix: str) -> str:
    return "Thingy-" + suffix


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    """Motion frequency is any integer 5..200 Hz; scales are fixed by the Q formats."""
    rate = float(rate_hz)
    if not np.isfinite(rate):
        raise ValueError(f"not a finite rate: {rate_hz!r}")
    return StreamConfig(float(min(200, max(5, round(rate)))), 32.0, 1024.0)


def config_value(config: StreamConfig, current: bytes | None = None) -> bytes:
    """The 9-byte motion configuration with the motion frequency set (other fields kept from ``current``)."""
    fields = list(DEFAULT_MOTION_CONFIG)
    if current is not None:
        if len(current) != CONFIG.size:
            raise ProtocolError(
                f"Thingy motion config must be {CONFIG.size} bytes, got {len(current)}"
            )
        fields = list(CONFIG.unpack(current))
    rate = int(config.rate_hz)
    if not 5 <= rate <= 200 or rate != config.rate_hz:
        raise ProtocolError(
            f"Thingy motion frequency must be an integer 5..200 Hz, got {config.rate_hz}"
        )
    fields[3] = rate
    return CONFIG.pack(*fields)


def start_commands(config: StreamConfig) -> list[GattWrite]:
    """Write the motion configuration (default intervals; use ``handshake`` to keep the device's own)."""
    return [GattWrite(MOTION_CONFIG, config_value(config), with_response=True)]


def stop_commands() -> list[GattWrite]:
    """None: disable notifications on the raw-data characteristic to stop."""
    return []


class _ReadModifyWrite(Handshake):
    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self.config = config
        self._state = "read"
        self._value: bytes | None = None

    def next_actions(self) -> list[GattWrite | GattRead]:
        if self._state == "read":
            self._state = "wait"
            return [GattRead(MOTION_CONFIG)]
        if self._state == "write" and self._value is not None:
            self._state = "end"
            self.done = True
            return [
                GattWrite(MOTION_CONFIG, config_value(self.config, self._value), with_response=True)
            ]
        return []

    def feed(self, characteristic: str, data: bytes) -> None:
        if self._state == "wait" and characteristic.lower() == MOTION_CONFIG:
            config_value(self.config, bytes(data))  # validates the length
            self._value = bytes(data)
            self._state = "write"


def handshake(config: StreamConfig) -> Handshake:
    """Read the motion configuration, set the frequency, write it back."""
    return _ReadModifyWrite(config)


class Decoder(DecoderBase):
    """18-byte raw notifications -> one sample each (acc m/s^2, gyr deg/s, mag uT); no time, no counter."""

    IGNORED = frozenset({MOTION_CONFIG})

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)

    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic != RAW_DATA:
            raise ProtocolError(f"not the Thingy raw-data characteristic: {characteristic}")
        if len(data) != RAW.size:
            raise ProtocolError(f"Thingy raw data must be {RAW.size} bytes, got {len(data)}")
        v = np.asarray(unpack(RAW, data), dtype=np.float64)
        self.packets += 1
        return [
            SampleBlock(
                (v[0:3] * ACC_LSB)[None, :],
                (v[3:6] * GYR_LSB)[None, :],
                mag=(v[6:9] * MAG_LSB)[None, :],
            )
        ]


class Encoder(EncoderBase):
    """Device side: one 18-byte notification per sample (compass fields 0); config reads/writes."""

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self._streaming = True
        self.motion_config = config_value(config)

    def read(self, characteristic: str) -> bytes:
        if characteristic.lower() == MOTION_CONFIG:
            return self.motion_config
        return super().read(characteristic)

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic != MOTION_CONFIG:
            raise ProtocolError(f"Thingy: {characteristic} is not writable")
        if len(data) != CONFIG.size:
            raise ProtocolError(
                f"Thingy motion config must be {CONFIG.size} bytes, got {len(data)}"
            )
        ped, temp, comp, freq, _wom = CONFIG.unpack(data)
        if not (
            100 <= ped <= 5000 and 100 <= temp <= 5000 and 100 <= comp <= 1000 and 5 <= freq <= 200
        ):
            raise ProtocolError(f"Thingy motion config out of range: {data.hex()}")
        self.motion_config = data
        self.config = StreamConfig(float(freq), 32.0, 1024.0)
        return []

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        rows = np.hstack(
            [quantize(acc, ACC_LSB), quantize(gyr, GYR_LSB), np.zeros((len(t), 3), np.int64)]
        )
        return [Notification(RAW_DATA, RAW.pack(*map(int, r))) for r in rows]
