"""imu-gait DIY profile: our open BLE profile for home-built 6-axis sensors (wire format v1).

The full specification is ``firmware_protocols/diy_firmware/PROFILE.md``; the reference firmware is
``diy_firmware/imu_gait_diy.ino``. In short (little-endian):

DATA (notify) packet: ``u8 flags | u8 n | u16 seq | u32 t_first_us | n x (ax ay az gx gy gz: i16)``.
flags: low nibble = profile version (1), bit 7 = the device FIFO overflowed (samples were lost before this packet),
bits 4-6 reserved (0). ``seq`` counts packets (wraps at 2**16), ``t_first_us`` is the device clock (µs, wraps at
2**32) at the first sample of the packet. Length must be exactly ``8 + 12 n`` with ``1 <= n <= 42``.

CTRL (write with response) commands: ``01 rate:u16 acc_g:u8 gyr_dps:u16`` start, ``02`` stop,
``03 min:u16 max:u16 latency:u16 timeout:u16`` connection-parameter request (1.25 ms / 10 ms units),
``04 phy:u8`` (1 = 1M, 2 = 2M), ``05 n:u8`` maximum samples per notification (0 = as many as the MTU allows).

INFO (read, 20 bytes): ``u8 version | u8 chip | f32 rate_hz | u8 acc_range_g | u16 gyr_range_dps |
f32 acc_lsb (m/s^2) | f32 gyr_lsb (deg/s) | u8 fw_major | u8 fw_minor | u8 samples_per_packet``.

Axes are the IMU chip's own right-handed axes as printed on the board; no reordering.
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
    Unwrapper,
    any_uuid_in,
    quantize,
    snap,
    snap_up,
    unpack,
)

NAME = "diy"
NAME_PREFIX = "IMUGAIT-"

_BASE = "-6a1e-4c7b-8f5d-2e9b7c3a1f60"
SERVICE = "4d0a0001" + _BASE
DATA = "4d0a0002" + _BASE
CTRL = "4d0a0003" + _BASE
INFO = "4d0a0004" + _BASE

SERVICE_UUIDS = (SERVICE,)
NOTIFY_CHARACTERISTICS = (DATA,)
WRITE_CHARACTERISTICS = (CTRL,)
GATT = {SERVICE: {DATA: ("notify",), CTRL: ("write",), INFO: ("read",)}}

VERSION = 1
FLAG_OVERFLOW = 0x80
HEADER = struct.Struct("<BBHI")
SAMPLE_BYTES = 12
MAX_SAMPLES = 42  # (512 - 8) // 12: the largest ATT value
INFO_STRUCT = struct.Struct("<BBfBHffBBB")

CMD_START, CMD_STOP, CMD_CONN, CMD_PHY, CMD_BATCH = 1, 2, 3, 4, 5
_START = struct.Struct("<BHBH")
_CONN = struct.Struct("<BHHHH")

STREAMS_ON_SUBSCRIBE = False  # streams only after the CTRL start command
SUPPORTED_RATES: tuple[float, ...] = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0)
ACC_RANGES_G: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)
GYR_RANGES_DPS: tuple[float, ...] = (125.0, 250.0, 500.0, 1000.0, 2000.0)
DEFAULT_CONFIG = StreamConfig(100.0, 16.0, 2000.0)

CHIPS = {0: "unknown", 1: "LSM6DS3", 2: "BMI270", 3: "MPU-6050", 4: "LSM6DSOX"}


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    """An imu-gait DIY sensor advertises ``IMUGAIT-xxxx`` and/or the DIY service UUID."""
    return bool(name and name.startswith(NAME_PREFIX)) or any_uuid_in(SERVICE_UUIDS, service_uuids)


def advertised_name(suffix: str) -> str:
    """The name a DIY sensor advertises, e.g. ``IMUGAIT-1A2B`` (suffix: last 4 hex digits of the address)."""
    return NAME_PREFIX + suffix


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    """Nearest supported rate; the smallest range covering the request (16 g / 2000 deg/s when not given)."""
    return StreamConfig(
        snap(rate_hz, SUPPORTED_RATES),
        snap_up(acc_range_g, ACC_RANGES_G, 16.0),
        snap_up(gyr_range_dps, GYR_RANGES_DPS, 2000.0),
    )


def samples_per_packet(mtu: int) -> int:
    """Samples that fit one notification at this ATT MTU: floor((MTU - 3 - 8) / 12), at least 1."""
    return max(1, min(MAX_SAMPLES, (int(mtu) - 3 - HEADER.size) // SAMPLE_BYTES))


def _check_config(config: StreamConfig) -> None:
    if float(config.rate_hz) not in SUPPORTED_RATES:
        raise ProtocolError(f"unsupported rate {config.rate_hz} Hz")
    if config.acc_range_g not in ACC_RANGES_G:
        raise ProtocolError(f"unsupported accelerometer range {config.acc_range_g} g")
    if config.gyr_range_dps not in GYR_RANGES_DPS:
        raise ProtocolError(f"unsupported gyroscope range {config.gyr_range_dps} deg/s")


def start_command(config: StreamConfig) -> bytes:
    """CTRL bytes that start streaming with this (supported) configuration."""
    _check_config(config)
    return _START.pack(
        CMD_START, int(config.rate_hz), int(config.acc_range_g), int(config.gyr_range_dps)
    )


def start_commands(config: StreamConfig) -> list[GattWrite]:
    return [GattWrite(CTRL, start_command(config), with_response=True)]


class _StartThenInfo(Handshake):
    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._steps: list[list[GattWrite | GattRead]] = [start_commands(config), [GattRead(INFO)]]

    def next_actions(self) -> list[GattWrite | GattRead]:
        if not self._steps:
            self.done = True
            return []
        step = self._steps.pop(0)
        self.done = not self._steps
        return step


def handshake(config: StreamConfig) -> Handshake:
    """Start dialogue: the CTRL start write (its write response is the acknowledgement), then a read of INFO
    (the recorder passes read values to the decoder, which takes rate and LSB sizes from it)."""
    return _StartThenInfo(config)


def stop_commands() -> list[GattWrite]:
    return [GattWrite(CTRL, bytes([CMD_STOP]), with_response=True)]


def connection_request(
    min_ms: float = 7.5, max_ms: float = 15.0, latency: int = 0, timeout_ms: float = 4000.0
) -> GattWrite:
    """Ask the peripheral to request these connection parameters (the only way to set them from bleak)."""
    vals = (round(min_ms / 1.25), round(max_ms / 1.25), int(latency), round(timeout_ms / 10))
    if not (6 <= vals[0] <= vals[1] <= 3200 and 0 <= vals[2] <= 499 and 10 <= vals[3] <= 3200):
        raise ValueError(
            f"connection parameters out of range: {min_ms}, {max_ms}, {latency}, {timeout_ms}"
        )
    return GattWrite(CTRL, _CONN.pack(CMD_CONN, *vals), with_response=True)


def phy_request(phy: int = 2) -> GattWrite:
    if phy not in (1, 2):
        raise ValueError("phy must be 1 (1M) or 2 (2M)")
    return GattWrite(CTRL, bytes([CMD_PHY, phy]), with_response=True)


def batch_request(n: int) -> GattWrite:
    if not 0 <= n <= MAX_SAMPLES:
        raise ValueError(f"batch size must be 0..{MAX_SAMPLES}")
    return GattWrite(CTRL, bytes([CMD_BATCH, n]), with_response=True)


def lsb(config: StreamConfig) -> tuple[float, float]:
    """(m/s^2, deg/s) per count for int16 samples at these ranges."""
    return float(config.acc_range_g) * G / 32768.0, float(config.gyr_range_dps) / 32768.0


def encode_info(
    config: StreamConfig, chip: int = 0, firmware: tuple[int, int] = (1, 0), per_packet: int = 19
) -> bytes:
    acc_lsb, gyr_lsb = lsb(config)
    return INFO_STRUCT.pack(
        VERSION,
        chip,
        float(config.rate_hz),
        int(config.acc_range_g),
        int(config.gyr_range_dps),
        acc_lsb,
        gyr_lsb,
        firmware[0],
        firmware[1],
        per_packet,
    )


def decode_info(data: bytes) -> dict:
    """INFO value -> dict(version, chip, rate_hz, acc_range_g, gyr_range_dps, acc_lsb, gyr_lsb, firmware, batch)."""
    if len(data) != INFO_STRUCT.size:
        raise ProtocolError(f"DIY INFO must be {INFO_STRUCT.size} bytes, got {len(data)}")
    v, chip, rate, acc_g, gyr_dps, acc_lsb, gyr_lsb, fw_a, fw_b, batch = unpack(INFO_STRUCT, data)
    if v != VERSION:
        raise ProtocolError(f"DIY INFO version {v} not supported (expected {VERSION})")
    for name, val in (("rate", rate), ("acc_lsb", acc_lsb), ("gyr_lsb", gyr_lsb)):
        if not (np.isfinite(val) and val > 0):
            raise ProtocolError(f"DIY INFO {name} is not a positive number: {val}")
    return {
        "version": v,
        "chip": CHIPS.get(chip, f"chip {chip}"),
        "rate_hz": float(rate),
        "acc_range_g": float(acc_g),
        "gyr_range_dps": float(gyr_dps),
        "acc_lsb": float(acc_lsb),
        "gyr_lsb": float(gyr_lsb),
        "firmware": f"{fw_a}.{fw_b}",
        "batch": batch,
    }


class Decoder(DecoderBase):
    """DATA notifications -> SampleBlocks with per-sample device time and a running sample counter.

    Loss: a jump in the packet ``seq`` adds to ``lost_packets``; the device timestamps give ``lost_samples``
    (so FIFO overflows on the device are counted too). A step back in ``seq`` is a restarted stream: continuity is
    reset (counted in ``restarts``). Feeding the INFO value read from the device updates the scales and rate.
    """

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self.acc_lsb, self.gyr_lsb = lsb(config)
        self.rate_hz = float(config.rate_hz)
        self.overflows = 0
        self.restarts = 0
        self.info: dict | None = None
        self.reset()

    def reset(self) -> None:
        self._seq = Unwrapper(16)
        self._time = Unwrapper(32)
        self._next_t_us: float | None = None  # expected t_first of the next packet (unwrapped µs)
        self._next_index = 0

    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic == INFO:
            self.info = decode_info(data)
            self.acc_lsb, self.gyr_lsb = self.info["acc_lsb"], self.info["gyr_lsb"]
            self.rate_hz = self.info["rate_hz"]
            return []
        if characteristic != DATA:
            raise ProtocolError(f"not a DIY data characteristic: {characteristic}")
        flags, n, seq, t_us = unpack(HEADER, data)
        if flags & 0x0F != VERSION:
            raise ProtocolError(f"DIY packet version {flags & 0x0F}, expected {VERSION}")
        if flags & 0x70:
            raise ProtocolError(f"DIY packet reserved flag bits set: 0x{flags:02x}")
        if not 1 <= n <= MAX_SAMPLES:
            raise ProtocolError(f"DIY packet sample count {n} out of range 1..{MAX_SAMPLES}")
        if len(data) != HEADER.size + SAMPLE_BYTES * n:
            raise ProtocolError(
                f"DIY packet with n={n} must be {HEADER.size + 12 * n} bytes, got {len(data)}"
            )

        period_us = 1e6 / self.rate_hz
        seq_u = self._seq.peek(seq)
        t_u = self._time.peek(t_us)
        if self._seq.value is not None and seq_u <= self._seq.value:
            self.restarts += 1
            self.reset()
            seq_u, t_u = self._seq.peek(seq), self._time.peek(t_us)
        if self._seq.value is not None and self._next_t_us is not None:
            self.lost_packets += seq_u - self._seq.value - 1
            gap = round((t_u - self._next_t_us) / period_us)
            if gap > 0:
                self.lost_samples += gap
                self._next_index += gap
        self._seq(seq)
        self._time(t_us)
        if flags & FLAG_OVERFLOW:
            self.overflows += 1

        raw = np.frombuffer(data, dtype="<i2", offset=HEADER.size).reshape(n, 6)
        acc = raw[:, :3] * self.acc_lsb
        gyr = raw[:, 3:] * self.gyr_lsb
        t_dev = (t_u + np.arange(n) * period_us) * 1e-6
        index = self._next_index + np.arange(n, dtype=np.int64)
        self._next_index += n
        self._next_t_us = t_u + n * period_us
        self.packets += 1
        self.newest_t_device = float(t_dev[-1])
        return [SampleBlock(acc, gyr, t_dev, index)]


class Encoder(EncoderBase):
    """Device side: CTRL writes -> state; samples -> DATA notifications of ``samples_per_packet`` samples.

    ``mtu`` sets the batch size as the firmware does (floor((MTU - 11) / 12)); samples that do not fill a batch wait
    for the next ``encode`` call (or ``flush``). ``overflow_next()`` marks the next packet with the FIFO-overflow
    flag (for the emulator's loss knob).
    """

    def __init__(
        self, config: StreamConfig = DEFAULT_CONFIG, mtu: int = 247, chip: int = 2
    ) -> None:
        super().__init__(config)
        self.mtu = mtu
        self.chip = chip
        self.batch_limit = 0
        self.seq = 0
        self.conn_request: tuple[int, int, int, int] | None = None
        self.phy = 1
        self._pending_t: list[float] = []
        self._pending: list[np.ndarray] = []
        self._overflow = False

    @property
    def samples_per_packet(self) -> int:
        n = samples_per_packet(self.mtu)
        return min(n, self.batch_limit) if self.batch_limit else n

    def overflow_next(self) -> None:
        self._overflow = True

    def read(self, characteristic: str) -> bytes:
        if characteristic.lower() == INFO:
            return encode_info(self.config, self.chip, per_packet=self.samples_per_packet)
        return super().read(characteristic)

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic != CTRL:
            raise ProtocolError(f"DIY: {characteristic} is not writable")
        if not data:
            raise ProtocolError("DIY: empty command")
        cmd = data[0]
        if cmd == CMD_START:
            if len(data) != _START.size:
                raise ProtocolError(f"DIY start command must be {_START.size} bytes")
            _, rate, acc_g, gyr_dps = _START.unpack(data)
            config = StreamConfig(float(rate), float(acc_g), float(gyr_dps))
            _check_config(config)
            self.config = config
            self.seq = 0
            self._pending_t, self._pending = [], []
            self._streaming = True
        elif cmd == CMD_STOP:
            if len(data) != 1:
                raise ProtocolError("DIY stop command must be 1 byte")
            self._streaming = False
            self._pending_t, self._pending = [], []
        elif cmd == CMD_CONN:
            if len(data) != _CONN.size:
                raise ProtocolError(f"DIY connection request must be {_CONN.size} bytes")
            self.conn_request = _CONN.unpack(data)[1:]
        elif cmd == CMD_PHY:
            if len(data) != 2 or data[1] not in (1, 2):
                raise ProtocolError("DIY PHY request must be 04 01 or 04 02")
            self.phy = data[1]
        elif cmd == CMD_BATCH:
            if len(data) != 2 or data[1] > MAX_SAMPLES:
                raise ProtocolError(f"DIY batch request must be 05 n with n <= {MAX_SAMPLES}")
            self.batch_limit = data[1]
        else:
            raise ProtocolError(f"DIY: unknown command 0x{cmd:02x}")
        return []

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        acc_lsb, gyr_lsb = lsb(self.config)
        q = np.hstack([quantize(acc, acc_lsb), quantize(gyr, gyr_lsb)]).astype("<i2")
        self._pending_t.extend(t.tolist())
        self._pending.extend(q)
        out = []
        k = self.samples_per_packet
        while len(self._pending_t) >= k:
            out.append(self._packet(k))
        return out

    def flush(self) -> list[Notification]:
        if not self._streaming or not self._pending_t:
            return []
        return [self._packet(len(self._pending_t))]

    def _packet(self, n: int) -> Notification:
        t0 = self._pending_t[0]
        rows = np.asarray(self._pending[:n], dtype="<i2")
        del self._pending_t[:n], self._pending[:n]
        flags = VERSION | (FLAG_OVERFLOW if self._overflow else 0)
        self._overflow = False
        t_us = round(t0 * 1e6) % (1 << 32)
        head = HEADER.pack(flags, n, self.seq & 0xFFFF, t_us)
        self.seq = (self.seq + 1) & 0xFFFF
        return Notification(DATA, head + rows.tobytes())
