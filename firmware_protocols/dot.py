"""Movella (Xsens) DOT: measurement payload modes with a u32 µs timestamp, float32 little-endian values.

Start/stop: write ``01 01 mode`` / ``01 00 mode`` to the measurement control 15172001 after subscribing the payload
characteristic of that mode. Output rate: device control 15171002 (32 bytes) with visit index byte 0 = 0x10 and
the rate as u16 at bytes 24-25. Supported payloads (one sample per notification):

- mode 26 "custom 5" (long payload 15172002, 44 bytes): ``u32 t_us | quaternion w x y z | acc xyz (m/s^2, with
  gravity) | gyro xyz (deg/s)`` - the default here;
- mode 21 "rate quantities" (medium 15172003, 28 bytes): ``u32 t_us | acc xyz | gyro xyz``;
- mode 20 "rate quantities with magnetometer" (medium, 34 bytes): ``... | mag xyz i16 / 4096 (arbitrary units)``.

Notifications longer than the payload (zero padding up to the characteristic size) are accepted. No packet counter:
loss is counted from timestamp steps (``lost_samples`` = ``lost_packets``, one sample per notification). The µs
clock wraps every 2**32 µs (71.6 min) and is unwrapped statefully. Axes: the DOT's own sensor frame.
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

NAME = "dot"
_BASE = "-4947-11e9-8646-d663bd873d93"
CONFIG_SERVICE = "15171000" + _BASE
DEVICE_INFO = "15171001" + _BASE
DEVICE_CONTROL = "15171002" + _BASE
MEASUREMENT_SERVICE = "15172000" + _BASE
MEASUREMENT_CONTROL = "15172001" + _BASE
LONG_PAYLOAD = "15172002" + _BASE
MEDIUM_PAYLOAD = "15172003" + _BASE
SHORT_PAYLOAD = "15172004" + _BASE
BATTERY_SERVICE = "15173000" + _BASE
BATTERY = "15173001" + _BASE

SERVICE_UUIDS = (MEASUREMENT_SERVICE, CONFIG_SERVICE)
NOTIFY_CHARACTERISTICS = (LONG_PAYLOAD, MEDIUM_PAYLOAD)
WRITE_CHARACTERISTICS = (DEVICE_CONTROL, MEASUREMENT_CONTROL)
GATT = {
    CONFIG_SERVICE: {DEVICE_INFO: ("read",), DEVICE_CONTROL: ("read", "write")},
    MEASUREMENT_SERVICE: {
        MEASUREMENT_CONTROL: ("read", "write"),
        LONG_PAYLOAD: ("notify",),
        MEDIUM_PAYLOAD: ("notify",),
        SHORT_PAYLOAD: ("notify",),
    },
    BATTERY_SERVICE: {BATTERY: ("read", "notify")},
}
STREAMS_ON_SUBSCRIBE = False
MANUFACTURER_ID = 0x0886

SUPPORTED_RATES = (1.0, 4.0, 10.0, 12.0, 15.0, 20.0, 30.0, 60.0)
ACC_RANGES_G = (16.0,)
GYR_RANGES_DPS = (2000.0,)
DEFAULT_CONFIG = StreamConfig(60.0, 16.0, 2000.0)

MODE_RATE_QUANTITIES_MAG = 20
MODE_RATE_QUANTITIES = 21
MODE_CUSTOM5 = 26
# mode -> (characteristic, payload size, characteristic size)
MODES = {
    MODE_CUSTOM5: (LONG_PAYLOAD, 44, 63),
    MODE_RATE_QUANTITIES: (MEDIUM_PAYLOAD, 28, 40),
    MODE_RATE_QUANTITIES_MAG: (MEDIUM_PAYLOAD, 34, 40),
}
CONTROL_SIZE = 32
VISIT_RATE = 0x10
_CUSTOM5 = struct.Struct("<I10f")
_RATEQ = struct.Struct("<I6f")
_RATEQ_MAG = struct.Struct("<I6f3h")


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    named = bool(name and (name.startswith(("Xsens DOT", "Movella DOT"))))
    return named or any_uuid_in(SERVICE_UUIDS, service_uuids)


def advertised_name(suffix: str) -> str:
    return "Movella DOT " + suffix


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    """Nearest streaming rate (1..60 Hz); ranges are fixed by the device."""
    return StreamConfig(snap(rate_hz, SUPPORTED_RATES), 16.0, 2000.0)


def rate_value(rate_hz: float) -> bytes:
    """Device-control value that sets only the output rate (visit index 0x10)."""
    if float(rate_hz) not in SUPPORTED_RATES:
        raise ProtocolError(f"DOT has no streaming rate {rate_hz} Hz")
    value = bytearray(CONTROL_SIZE)
    value[0] = VISIT_RATE
    value[24:26] = int(rate_hz).to_bytes(2, "little")
    return bytes(value)


def start_commands(config: StreamConfig, mode: int = MODE_CUSTOM5) -> list[GattWrite]:
    if mode not in MODES:
        raise ProtocolError(f"DOT payload mode {mode} not supported")
    return [
        GattWrite(DEVICE_CONTROL, rate_value(config.rate_hz), with_response=True),
        GattWrite(MEASUREMENT_CONTROL, bytes([1, 1, mode]), with_response=True),
    ]


def handshake(config: StreamConfig) -> Handshake:
    return WriteAll(start_commands(config))


def stop_commands(mode: int = MODE_CUSTOM5) -> list[GattWrite]:
    return [GattWrite(MEASUREMENT_CONTROL, bytes([1, 0, mode]), with_response=True)]


class Decoder(DecoderBase):
    """Payload notifications -> one sample each with device time (s, unwrapped) and a running sample counter.

    The mode is taken from the characteristic and length (long 44 bytes: custom 5; medium 28: rate quantities;
    medium 34: with magnetometer, kept in ``magnetometer``). ``quaternion`` holds the last on-device orientation (w, x, y, z) in mode 26.
    """

    IGNORED = frozenset({DEVICE_INFO, DEVICE_CONTROL, MEASUREMENT_CONTROL, BATTERY})

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self.quaternion: np.ndarray | None = None
        self.magnetometer: np.ndarray | None = None  # mode 20, arbitrary units (not uT)
        self.reset()

    def reset(self) -> None:
        self._clock = Unwrapper(32)
        self._index = -1

    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic == LONG_PAYLOAD:
            self._check(data, 44, 63)
            t_us, *v = _CUSTOM5.unpack_from(data)
            quat, acc, gyr = v[0:4], v[4:7], v[7:10]
        elif characteristic == MEDIUM_PAYLOAD:
            if (
                len(data) == 34
            ):  # a 34-byte value can only be mode 20 (mode 21 is 28 bytes, padded to 40)
                t_us, *v = _RATEQ_MAG.unpack_from(data)
                self.magnetometer = np.asarray(v[6:9], dtype=np.float64) / 4096.0
            else:
                self._check(data, 28, 40)
                t_us, *v = _RATEQ.unpack_from(data)
            quat, acc, gyr = None, v[0:3], v[3:6]
        else:
            raise ProtocolError(f"not a DOT payload characteristic: {characteristic}")
        values = np.asarray(list(acc) + list(gyr) + (list(quat) if quat else []), dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ProtocolError("DOT payload holds NaN or infinite values")
        if quat is not None:
            self.quaternion = np.asarray(quat, dtype=np.float64)
        self._advance(t_us)
        self.packets += 1
        self.newest_t_device = self._clock.value * 1e-6
        return [
            SampleBlock(
                values[None, 0:3],
                values[None, 3:6],
                np.array([self._clock.value * 1e-6]),
                np.array([self._index], dtype=np.int64),
            )
        ]

    @staticmethod
    def _check(data: bytes, size: int, limit: int) -> None:
        if not size <= len(data) <= limit:
            raise ProtocolError(f"DOT payload must be {size}..{limit} bytes, got {len(data)}")

    def _advance(self, t_us: int) -> None:
        period_us = 1e6 / float(self.config.rate_hz)
        if self._clock.value is None:
            self._clock(t_us)
            self._index += 1
            return
        step = self._clock.peek(t_us) - self._clock.value
        if step <= 0:
            if step < -2 * period_us:  # the sensor restarted (or a stale packet): new stream
                self.reset()
                self._advance(t_us)
                return
            raise ProtocolError(f"DOT timestamp did not advance ({step} µs)")
        gap = round(step / period_us) - 1
        if gap > 0:
            self.lost_samples += gap
            self.lost_packets += gap
        self._index += 1 + max(gap, 0)
        self._clock(t_us)


class Encoder(EncoderBase):
    """Device side: device-control and measurement-control writes; one payload notification per sample in the
    selected mode (the quaternion of mode 26 is identity, the magnetometer of mode 20 zero)."""

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self.mode = MODE_CUSTOM5
        self.control = bytearray(rate_value(config.rate_hz))
        self.control[0] = 0

    def read(self, characteristic: str) -> bytes:
        c = characteristic.lower()
        if c == DEVICE_CONTROL:
            return bytes(self.control)
        if c == MEASUREMENT_CONTROL:
            return bytes([1, 1 if self._streaming else 0, self.mode])
        if c == BATTERY:
            return bytes([87, 0])
        return super().read(characteristic)

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic == DEVICE_CONTROL:
            if len(data) != CONTROL_SIZE:
                raise ProtocolError(f"DOT device control must be {CONTROL_SIZE} bytes")
            if data[0] & VISIT_RATE:
                rate = int.from_bytes(data[24:26], "little")
                if float(rate) not in SUPPORTED_RATES:
                    raise ProtocolError(f"DOT has no streaming rate {rate} Hz")
                self.config = StreamConfig(float(rate), 16.0, 2000.0)
                self.control[24:26] = data[24:26]
            return []
        if characteristic == MEASUREMENT_CONTROL:
            if len(data) != 3 or data[0] != 1 or data[1] not in (0, 1):
                raise ProtocolError(
                    f"DOT measurement control must be 01 00|01 mode, got {data.hex()}"
                )
            if data[1] == 1:
                if data[2] not in MODES:
                    raise ProtocolError(f"DOT payload mode {data[2]} not supported here")
                self.mode = data[2]
                self._streaming = True
            else:
                self._streaming = False
            return []
        raise ProtocolError(f"DOT: {characteristic} is not writable")

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        char = MODES[self.mode][0]
        t_us = np.rint(t * 1e6).astype(np.int64) % (1 << 32)
        out = []
        for k in range(len(t)):
            a, g = acc[k].tolist(), gyr[k].tolist()
            if self.mode == MODE_CUSTOM5:
                data = _CUSTOM5.pack(int(t_us[k]), 1.0, 0.0, 0.0, 0.0, *a, *g)
            elif self.mode == MODE_RATE_QUANTITIES:
                data = _RATEQ.pack(int(t_us[k]), *a, *g)
            else:
                data = _RATEQ_MAG.pack(int(t_us[k]), *a, *g, 0, 0, 0)
            out.append(Notification(char, data))
        return out
