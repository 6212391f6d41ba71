"""MbientLab MetaWear / MetaMotion (R, RL, C, S): separate accelerometer and gyroscope notifications.

Every command and notification is ``[module][register][payload]`` (<= 20 bytes) on 326a9001 (write without
response) / 326a9006 (notify). Accelerometer module 0x03, gyroscope 0x13. A read is the register | 0x80; chip
discovery ``[mod 80]`` answers ``[mod 80 implementation revision ...]`` (acc 1 = BMI160, 4 = BMI270; gyro
0 = BMI160, 1 = BMI270; packed data needs revision >= 1; a 2-byte answer = module absent).

Data: ``03 04 | x y z i16`` (acc), ``13 05 | x y z`` (gyro; BMI270 ``13 04``); packed, 3 samples per notification:
``03 1C`` / ``13 07`` (BMI160) and ``03 05`` / ``13 05`` (BMI270), 20 bytes. The kind of a notification is known
from module, register and length, so the decoder needs no chip knowledge. Scales: acc 32768/range LSB per g,
gyro 16.4 / 32.8 / 65.6 / 131.2 / 262.4 LSB per deg/s at 2000 / 1000 / 500 / 250 / 125 deg/s.

No device time and no counter: ``t_device``/``seq`` are None. Acc and gyro streams run at the same ODR and are
paired in arrival order; a lost notification on one stream shifts the pairing and cannot be detected from the
data (documented limitation of the protocol, use the optional accounter processor for counters - not implemented).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
    snap,
    snap_up,
)

NAME = "metawear"
_BASE = "-85cb-9195-d9dd-464cfbbae75a"
SERVICE = "326a9000" + _BASE
COMMAND = "326a9001" + _BASE
NOTIFY = "326a9006" + _BASE

SERVICE_UUIDS = (SERVICE,)
NOTIFY_CHARACTERISTICS = (NOTIFY,)
WRITE_CHARACTERISTICS = (COMMAND,)
GATT = {SERVICE: {COMMAND: ("write", "write-without-response"), NOTIFY: ("notify",)}}
STREAMS_ON_SUBSCRIBE = False

ACC, GYRO = 0x03, 0x13
REG_POWER, REG_INTERRUPT, REG_CONFIG = 0x01, 0x02, 0x03
READ = 0x80

SUPPORTED_RATES = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0)
ACC_RANGES_G = (2.0, 4.0, 8.0, 16.0)
GYR_RANGES_DPS = (125.0, 250.0, 500.0, 1000.0, 2000.0)
DEFAULT_CONFIG = StreamConfig(100.0, 16.0, 2000.0)
GYR_LSB_PER_DPS = {2000.0: 16.4, 1000.0: 32.8, 500.0: 65.6, 250.0: 131.2, 125.0: 262.4}
GYR_RANGE_CODES = {2000.0: 0, 1000.0: 1, 500.0: 2, 250.0: 3, 125.0: 4}


@dataclass(frozen=True)
class Chip:
    name: str
    acc_impl: int
    gyr_impl: int
    acc_data: int
    acc_packed: int
    gyr_data: int
    gyr_packed: int
    acc_range_codes: dict[float, int]
    acc_odr_base: int  # config byte0 = base | odr code


BMI160 = Chip(
    "bmi160", 1, 0, 0x04, 0x1C, 0x05, 0x07, {2.0: 0x03, 4.0: 0x05, 8.0: 0x08, 16.0: 0x0C}, 0x20
)
BMI270 = Chip(
    "bmi270", 4, 1, 0x04, 0x05, 0x04, 0x05, {2.0: 0x00, 4.0: 0x01, 8.0: 0x02, 16.0: 0x03}, 0xA0
)
CHIPS = {c.name: c for c in (BMI160, BMI270)}

# (module, register, length) -> (stream, samples per notification)
_DATA_KINDS = {
    (ACC, 0x04, 8): ("acc", 1),
    (ACC, 0x1C, 20): ("acc", 3),
    (ACC, 0x05, 20): ("acc", 3),
    (GYRO, 0x05, 8): ("gyr", 1),
    (GYRO, 0x04, 8): ("gyr", 1),
    (GYRO, 0x07, 20): ("gyr", 3),
    (GYRO, 0x05, 20): ("gyr", 3),
}


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    named = bool(name and name.startswith(("MetaWear", "MetaMotion")))
    return named or any_uuid_in(SERVICE_UUIDS, service_uuids)


def advertised_name(suffix: str) -> str:
    """Boards advertise "MetaWear" unless renamed; the suffix tells emulated boards apart."""
    return f"MetaWear {suffix}" if suffix else "MetaWear"


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    return StreamConfig(
        snap(rate_hz, SUPPORTED_RATES),
        snap_up(acc_range_g, ACC_RANGES_G, 16.0),
        snap_up(gyr_range_dps, GYR_RANGES_DPS, 2000.0),
    )


def _odr_code(rate_hz: float) -> int:
    """Bosch ODR code: 100 Hz = 8, each step doubles (0 for a non-positive rate)."""
    rate = float(rate_hz)
    if not (math.isfinite(rate) and rate > 0):
        return 0
    return 8 + round(math.log2(rate / 100.0))


def acc_odr_code(rate_hz: float) -> int:
    """1..12 for 0.78125 .. 1600 Hz (100 Hz = 8)."""
    code = _odr_code(rate_hz)
    if not 1 <= code <= 12 or not np.isclose(100.0 * 2.0 ** (code - 8), rate_hz):
        raise ProtocolError(f"MetaWear accelerometer has no ODR {rate_hz} Hz")
    return code


def gyr_odr_code(rate_hz: float) -> int:
    """6..13 for 25 .. 3200 Hz (100 Hz = 8)."""
    code = _odr_code(rate_hz)
    if not 6 <= code <= 13 or not np.isclose(100.0 * 2.0 ** (code - 8), rate_hz):
        raise ProtocolError(f"MetaWear gyroscope has no ODR {rate_hz} Hz")
    return code


def acc_config_bytes(config: StreamConfig, chip: Chip = BMI160) -> bytes:
    odr = acc_odr_code(config.rate_hz)
    if chip is BMI160 and config.rate_hz < 12.5:
        byte0 = 0x80 | odr
    else:
        byte0 = chip.acc_odr_base | odr
    if config.acc_range_g not in chip.acc_range_codes:
        raise ProtocolError(f"MetaWear accelerometer has no range {config.acc_range_g} g")
    return bytes([byte0, chip.acc_range_codes[config.acc_range_g]])


def gyr_config_bytes(config: StreamConfig) -> bytes:
    if config.gyr_range_dps not in GYR_RANGE_CODES:
        raise ProtocolError(f"MetaWear gyroscope has no range {config.gyr_range_dps} deg/s")
    return bytes([0x20 | gyr_odr_code(config.rate_hz), GYR_RANGE_CODES[config.gyr_range_dps]])


def _packed_default(config: StreamConfig) -> bool:
    # about 100 notifications/s per board are safe; acc + gyro unpacked are 2 per sample period
    return 2 * float(config.rate_hz) > 100.0


def _w(*b: int) -> GattWrite:
    return GattWrite(COMMAND, bytes(b), with_response=False)


def start_commands(
    config: StreamConfig, chip: str = "bmi160", packed: bool | None = None
) -> list[GattWrite]:
    """Configure, subscribe, enable the data interrupt and power on both sensors (acc then gyro each step)."""
    c = CHIPS[chip]
    packed = _packed_default(config) if packed is None else packed
    acc_reg = c.acc_packed if packed else c.acc_data
    gyr_reg = c.gyr_packed if packed else c.gyr_data
    return [
        _w(ACC, REG_CONFIG, *acc_config_bytes(config, c)),
        _w(GYRO, REG_CONFIG, *gyr_config_bytes(config)),
        _w(ACC, acc_reg, 1),
        _w(GYRO, gyr_reg, 1),
        _w(ACC, REG_INTERRUPT, 1, 0),
        _w(GYRO, REG_INTERRUPT, 1, 0),
        _w(ACC, REG_POWER, 1),
        _w(GYRO, REG_POWER, 1),
    ]


def stop_commands(chip: str = "bmi160", packed: bool = False) -> list[GattWrite]:
    c = CHIPS[chip]
    acc_reg = c.acc_packed if packed else c.acc_data
    gyr_reg = c.gyr_packed if packed else c.gyr_data
    return [
        _w(ACC, REG_POWER, 0),
        _w(ACC, REG_INTERRUPT, 0, 1),
        _w(ACC, acc_reg, 0),
        _w(GYRO, REG_POWER, 0),
        _w(GYRO, REG_INTERRUPT, 0, 1),
        _w(GYRO, gyr_reg, 0),
    ]


class DiscoverAndStart(Handshake):
    """Ask both modules for their implementation, then send the start sequence for the chip found.

    ``chip`` and ``packed`` are set once the answers arrived; a module that answers with 2 bytes is absent
    (ProtocolError). Packed registers are used only when the revision allows it.
    """

    def __init__(self, config: StreamConfig, packed: bool | None = None) -> None:
        super().__init__()
        self.config = config
        self.want_packed = _packed_default(config) if packed is None else packed
        self.chip: str | None = None
        self.packed = False
        self._answers: dict[int, bytes] = {}
        self._state = "ask"

    def next_actions(self) -> list[GattWrite | GattRead]:
        if self._state == "ask":
            self._state = "wait"
            return [_w(ACC, READ), _w(GYRO, READ)]
        if self._state == "start" and self.chip is not None:
            self._state = "end"
            self.done = True
            return start_commands(self.config, self.chip, self.packed)
        return []

    def feed(self, characteristic: str, data: bytes) -> None:
        data = bytes(data)
        if self._state != "wait" or len(data) < 2 or data[1] != READ or data[0] not in (ACC, GYRO):
            return
        if len(data) < 4:
            raise ProtocolError(f"MetaWear module 0x{data[0]:02x} is absent")
        self._answers[data[0]] = data
        if len(self._answers) == 2:
            acc, gyr = self._answers[ACC], self._answers[GYRO]
            found = [c for c in CHIPS.values() if c.acc_impl == acc[2] and c.gyr_impl == gyr[2]]
            if not found:
                raise ProtocolError(
                    f"MetaWear: unknown sensor implementation acc {acc[2]} / gyro {gyr[2]}"
                )
            self.chip = found[0].name
            self.packed = self.want_packed and acc[3] >= 1 and gyr[3] >= 1
            self._state = "start"


def handshake(config: StreamConfig) -> Handshake:
    return DiscoverAndStart(config)


class Decoder(DecoderBase):
    """Acc and gyro notifications -> SampleBlocks of paired samples (no device time, no counter).

    Samples of one stream wait for their partner from the other; if one stream runs ahead by more than
    ``max_backlog`` samples (the other stopped), the oldest are discarded and counted in ``unpaired``. With
    ``config.gyr_range_dps`` None the accelerometer is streamed alone (gyr NaN). Read answers (``[mod][reg|80]...``)
    are kept in ``reads``.
    """

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG, max_backlog: int = 64) -> None:
        super().__init__(config)
        self.acc_lsb = float(config.acc_range_g or 16.0) * G / 32768.0
        self.gyr_lsb = 1.0 / GYR_LSB_PER_DPS.get(float(config.gyr_range_dps or 2000.0), 16.4)
        self.acc_only = config.gyr_range_dps is None
        self.max_backlog = max_backlog
        self.unpaired = 0
        self.reads: dict[tuple[int, int], bytes] = {}
        self.reset()

    def reset(self) -> None:
        self._acc = np.empty((0, 3))
        self._gyr = np.empty((0, 3))

    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic != NOTIFY:
            raise ProtocolError(f"not the MetaWear notify characteristic: {characteristic}")
        if len(data) < 2:
            raise ProtocolError(f"MetaWear notification of {len(data)} bytes")
        if len(data) > 20:
            raise ProtocolError(f"MetaWear notification of {len(data)} bytes (max 20)")
        mod, reg = data[0], data[1]
        kind = _DATA_KINDS.get((mod, reg, len(data)))
        if kind is None:
            if reg & READ:
                self.reads[(mod, reg & 0x7F)] = data[2:]
                return []
            raise ProtocolError(
                f"MetaWear: unexpected notification {data[:2].hex()} of {len(data)} bytes"
            )
        stream, n = kind
        raw = np.frombuffer(data, dtype="<i2", offset=2).reshape(n, 3).astype(np.float64)
        self.packets += 1
        if stream == "acc":
            self._acc = np.vstack([self._acc, raw * self.acc_lsb])
        else:
            self._gyr = np.vstack([self._gyr, raw * self.gyr_lsb])
        return self._pair()

    def _pair(self) -> list[SampleBlock]:
        if self.acc_only:
            acc, self._acc = self._acc, np.empty((0, 3))
            self._gyr = np.empty((0, 3))
            return [SampleBlock(acc, np.full_like(acc, np.nan))] if len(acc) else []
        n = min(len(self._acc), len(self._gyr))
        out = []
        if n:
            out.append(SampleBlock(self._acc[:n], self._gyr[:n]))
            self._acc, self._gyr = self._acc[n:], self._gyr[n:]
        for name in ("_acc", "_gyr"):
            q = getattr(self, name)
            if len(q) > self.max_backlog:
                self.unpaired += len(q) - self.max_backlog
                setattr(self, name, q[-self.max_backlog :])
        return out


class Encoder(EncoderBase):
    """Device side: chip discovery answers, configuration, subscriptions and power; acc/gyro notifications per
    sample (interleaved acc, gyro) or packed 3 samples per notification, as subscribed."""

    def __init__(
        self, config: StreamConfig = DEFAULT_CONFIG, chip: str = "bmi160", revision: int = 1
    ) -> None:
        super().__init__(config)
        self.chip = CHIPS[chip]
        self.revision = revision
        self.acc_config = acc_config_bytes(config, self.chip)
        self.gyr_config = gyr_config_bytes(config)
        self.subscribed: dict[tuple[int, int], bool] = {}
        self.interrupt = {ACC: False, GYRO: False}
        self.power = {ACC: False, GYRO: False}
        self._pending: dict[int, list[np.ndarray]] = {ACC: [], GYRO: []}

    def _active(self, mod: int) -> int | None:
        """Data register the module streams on, or None."""
        if not (self.power[mod] and self.interrupt[mod]):
            return None
        regs = (
            (self.chip.acc_packed, self.chip.acc_data)
            if mod == ACC
            else (self.chip.gyr_packed, self.chip.gyr_data)
        )
        if self.revision >= 1 and self.subscribed.get((mod, regs[0])):
            return regs[0]
        return regs[1] if self.subscribed.get((mod, regs[1])) else None

    @property
    def is_streaming(self) -> bool:
        return self._active(ACC) is not None or self._active(GYRO) is not None

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic != COMMAND:
            raise ProtocolError(f"MetaWear: {characteristic} is not writable")
        if not 2 <= len(data) <= 20:
            raise ProtocolError(f"MetaWear command of {len(data)} bytes")
        mod, reg, payload = data[0], data[1], data[2:]
        if reg == READ:
            if mod == ACC:
                return [Notification(NOTIFY, bytes([ACC, READ, self.chip.acc_impl, self.revision]))]
            if mod == GYRO:
                return [
                    Notification(NOTIFY, bytes([GYRO, READ, self.chip.gyr_impl, self.revision]))
                ]
            return [Notification(NOTIFY, bytes([mod, READ]))]
        if mod not in (ACC, GYRO):
            return []  # settings, LEDs, debug ...: accepted, no effect on streaming
        if reg == REG_CONFIG:
            self._configure(mod, payload)
        elif reg == REG_POWER:
            if payload not in (b"\x00", b"\x01"):
                raise ProtocolError(f"MetaWear power command payload {payload.hex()}")
            self.power[mod] = payload == b"\x01"
        elif reg == REG_INTERRUPT:
            if payload not in (b"\x01\x00", b"\x00\x01"):
                raise ProtocolError(f"MetaWear interrupt command payload {payload.hex()}")
            self.interrupt[mod] = payload == b"\x01\x00"
        elif payload in (b"\x00", b"\x01"):
            valid = (
                (self.chip.acc_data, self.chip.acc_packed)
                if mod == ACC
                else (self.chip.gyr_data, self.chip.gyr_packed)
            )
            if reg not in valid:
                raise ProtocolError(
                    f"MetaWear: register 0x{reg:02x} of module 0x{mod:02x} is not a data signal"
                )
            self.subscribed[(mod, reg)] = payload == b"\x01"
        else:
            raise ProtocolError(f"MetaWear: unsupported command {data.hex()}")
        return []

    def _configure(self, mod: int, payload: bytes) -> None:
        if len(payload) != 2:
            raise ProtocolError("MetaWear config payload must be 2 bytes")
        odr = payload[0] & 0x0F
        if mod == ACC:
            if not 1 <= odr <= 12 or payload[1] not in self.chip.acc_range_codes.values():
                raise ProtocolError(f"MetaWear accelerometer config {payload.hex()} invalid")
            rng = {v: k for k, v in self.chip.acc_range_codes.items()}[payload[1]]
            self.acc_config = payload
            self.config = StreamConfig(100.0 * 2.0 ** (odr - 8), rng, self.config.gyr_range_dps)
        else:
            if not 6 <= odr <= 13 or payload[1] > 4:
                raise ProtocolError(f"MetaWear gyroscope config {payload.hex()} invalid")
            rng = {v: k for k, v in GYR_RANGE_CODES.items()}[payload[1]]
            self.gyr_config = payload
            self.config = StreamConfig(self.config.rate_hz, self.config.acc_range_g, rng)

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        acc_lsb = float(self.config.acc_range_g or 16.0) * G / 32768.0
        gyr_lsb = 1.0 / GYR_LSB_PER_DPS[float(self.config.gyr_range_dps or 2000.0)]
        streams = []
        for mod, values, lsb in ((ACC, acc, acc_lsb), (GYRO, gyr, gyr_lsb)):
            reg = self._active(mod)
            if reg is None:
                continue
            packed = reg == (self.chip.acc_packed if mod == ACC else self.chip.gyr_packed)
            streams.append((mod, reg, packed, quantize(values, lsb).astype("<i2")))
        out = []
        for k in range(len(t)):
            for mod, reg, packed, q in streams:
                if not packed:
                    out.append(Notification(NOTIFY, bytes([mod, reg]) + q[k].tobytes()))
                    continue
                self._pending[mod].append(q[k])
                if len(self._pending[mod]) == 3:
                    rows = np.asarray(self._pending[mod], dtype="<i2")
                    self._pending[mod] = []
                    out.append(Notification(NOTIFY, bytes([mod, reg]) + rows.tobytes()))
        return out
