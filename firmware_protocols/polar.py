"""Polar Measurement Data (PMD): Verity Sense (acc + gyro), H10 and OH1 (acc only).

Control point fb005c81 (write, indicate): ``01 type`` get settings, ``02 type [setting 01 value]...`` start,
``03 type`` stop; measurement types 02 ACC, 05 GYRO, 09 SDK mode. Settings TLV ``[type][count][values]``:
00 rate u16 Hz, 01 resolution u16 bits, 02 range u16 (g or deg/s), 03 range u32 milli-units, 04 channels u8,
05 factor f32 (start reply only), 06 security 16 bytes. Replies ``F0 op type status more params``; status 0 = ok.

Data fb005c82: ``type | u64 timestamp (ns since 2000-01-01, device clock, of the LAST sample) | frame type |
samples``. Frame type bit 7 = delta compressed. ACC raw 0x00/0x01/0x02 = int8/int16/int24 x 3 in mG; ACC 0x80
delta (16-bit refs) x factor x 1000 mG; ACC 0x81 delta (16-bit refs) x factor mG; GYRO 0x80 delta (16-bit refs)
x factor deg/s; GYRO 0x81 delta on the bit patterns of float32 references (deg/s, x factor when not 1).

Delta frame: reference sample (channels x ceil(res/8) bytes, signed LE), then blocks ``[width u8][count u8]
[count x channels x width bits]``, bits LSB-first within each byte, two's complement of ``width`` bits, added
cumulatively; every block starts on a byte boundary and the frame must end exactly after the last block.

Sample times: samples spread evenly between the previous frame's timestamp and this one's (first frame: 1/rate
spacing back from the timestamp), as the vendor SDK does - unless the step reveals lost samples (more than
half a sample beyond the samples received), then they are counted in ``lost_samples`` and this frame's samples
are placed 1/rate apart back from its timestamp. ACC and GYRO frames come separately and are paired by time;
``seq`` is the accelerometer's running sample index, with holes where samples were lost.
"""

from __future__ import annotations

import math
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
    snap,
    snap_up,
)

NAME = "polar"
_BASE = "-02e7-f387-1cad-8acd2d8df0c8"
SERVICE = "fb005c80" + _BASE
CONTROL = "fb005c81" + _BASE
DATA = "fb005c82" + _BASE

SERVICE_UUIDS = (SERVICE,)
NOTIFY_CHARACTERISTICS = (CONTROL, DATA)  # enable both (the control point indicates) before writing
WRITE_CHARACTERISTICS = (CONTROL,)
GATT = {SERVICE: {CONTROL: ("read", "write", "indicate"), DATA: ("notify",)}}
STREAMS_ON_SUBSCRIBE = False

ECG, PPG, ACC, PPI, GYRO, MAG, SDK_MODE = 0, 1, 2, 3, 5, 6, 9
OP_GET, OP_START, OP_STOP = 1, 2, 3
RESPONSE = 0xF0
FEATURES = 0x0F
STATUS = {
    0: "ok",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}
S_RATE, S_RESOLUTION, S_RANGE, S_RANGE_MILLI, S_CHANNELS, S_FACTOR, S_SECURITY = 0, 1, 2, 3, 4, 5, 6
_SETTING_SIZE = {
    S_RATE: 2,
    S_RESOLUTION: 2,
    S_RANGE: 2,
    S_RANGE_MILLI: 4,
    S_CHANNELS: 1,
    S_FACTOR: 4,
    S_SECURITY: 16,
}

# model -> (acc rates, gyro rates or (), acc ranges g, gyro ranges dps, default rate) as streamed
MODELS = {
    "verity": {
        "rates": (26.0, 52.0, 104.0, 208.0, 416.0),
        "native": (52.0, 8.0, 2000.0),  # outside SDK mode only this
        "acc_ranges": (2.0, 4.0, 8.0, 16.0),
        "gyr_ranges": (250.0, 500.0, 1000.0, 2000.0),
    },
    "h10": {"rates": (25.0, 50.0, 100.0, 200.0), "acc_ranges": (2.0, 4.0, 8.0), "gyr_ranges": ()},
    "oh1": {"rates": (50.0,), "acc_ranges": (8.0,), "gyr_ranges": ()},
}
SUPPORTED_RATES = tuple(sorted({r for m in MODELS.values() for r in m["rates"]}))
ACC_RANGES_G = (2.0, 4.0, 8.0, 16.0)
GYR_RANGES_DPS = (250.0, 500.0, 1000.0, 2000.0)
DEFAULT_CONFIG = StreamConfig(52.0, 8.0, 2000.0)
EPOCH_2000_UNIX_NS = 946_684_800_000_000_000
MAX_FRAME = 232  # the sensor sends a frame when its ~MTU-sized buffer fills
_FIT_WINDOW = 512  # more samples than any frame of MAX_FRAME bytes can hold


def model_of(name: str | None) -> str:
    n = (name or "").upper()
    if "H10" in n:
        return "h10"
    if "OH1" in n:
        return "oh1"
    return "verity"


def matches(name: str | None, service_uuids: Sequence[str] = ()) -> bool:
    named = bool(
        name
        and name.startswith("Polar ")
        and any(k in name for k in ("Sense", "H10", "OH1", "Verity"))
    )
    return named or any_uuid_in(SERVICE_UUIDS, service_uuids)


def advertised_name(suffix: str) -> str:
    return "Polar Sense " + suffix


def choose_config(
    rate_hz: float,
    acc_range_g: float | None = None,
    gyr_range_dps: float | None = None,
    device_name: str | None = None,
) -> StreamConfig:
    """Snap to the model (from the advertised name; Verity Sense by default). H10/OH1 have no gyroscope."""
    m = MODELS[model_of(device_name)]
    rate = snap(rate_hz, m["rates"])
    acc = snap_up(
        acc_range_g, m["acc_ranges"], 8.0 if 8.0 in m["acc_ranges"] else max(m["acc_ranges"])
    )
    gyr = snap_up(gyr_range_dps, m["gyr_ranges"], 2000.0) if m["gyr_ranges"] else None
    return StreamConfig(rate, acc, gyr)


def settings_tlv(rate: float, resolution: int, rng: float, channels: int | None = None) -> bytes:
    out = struct.pack("<BBH", S_RATE, 1, int(rate))
    out += struct.pack("<BBH", S_RESOLUTION, 1, resolution)
    out += struct.pack("<BBH", S_RANGE, 1, int(rng))
    if channels is not None:
        out += struct.pack("<BBB", S_CHANNELS, 1, channels)
    return out


def needs_sdk_mode(config: StreamConfig) -> bool:
    """Verity Sense streams acc + gyro outside 52 Hz / 8 g / 2000 deg/s only in SDK mode."""
    return (
        config.gyr_range_dps is not None
        and (
            float(config.rate_hz),
            config.acc_range_g,
            config.gyr_range_dps,
        )
        != MODELS["verity"]["native"]
    )


def start_commands(config: StreamConfig) -> list[GattWrite]:
    """[SDK mode on,] start ACC [, start GYRO]: 16-bit samples at the configured rate and ranges."""
    if config.acc_range_g is None:
        raise ProtocolError("Polar needs an accelerometer range")
    writes = []
    if needs_sdk_mode(config):
        writes.append(GattWrite(CONTROL, bytes([OP_START, SDK_MODE]), with_response=True))
    acc = bytes([OP_START, ACC]) + settings_tlv(config.rate_hz, 16, config.acc_range_g)
    writes.append(GattWrite(CONTROL, acc, with_response=True))
    if config.gyr_range_dps is not None:
        gyr = bytes([OP_START, GYRO]) + settings_tlv(config.rate_hz, 16, config.gyr_range_dps)
        writes.append(GattWrite(CONTROL, gyr, with_response=True))
    return writes


def stop_commands(config: StreamConfig | None = None) -> list[GattWrite]:
    writes = [GattWrite(CONTROL, bytes([OP_STOP, ACC]), with_response=True)]
    if config is None or config.gyr_range_dps is not None:
        writes.append(GattWrite(CONTROL, bytes([OP_STOP, GYRO]), with_response=True))
    if config is not None and needs_sdk_mode(config):
        writes.append(GattWrite(CONTROL, bytes([OP_STOP, SDK_MODE]), with_response=True))
    return writes


def parse_settings(data: bytes) -> dict[int, list]:
    """Settings TLV -> {setting type: [values]} (factor as float, security as bytes)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise ProtocolError("Polar settings: truncated TLV header")
        kind, count = data[i], data[i + 1]
        size = _SETTING_SIZE.get(kind)
        if size is None:
            raise ProtocolError(f"Polar settings: unknown setting type {kind}")
        end = i + 2 + count * size
        if end > len(data):
            raise ProtocolError("Polar settings: truncated values")
        vals = []
        for k in range(count):
            chunk = data[i + 2 + k * size : i + 2 + (k + 1) * size]
            if kind == S_FACTOR:
                vals.append(struct.unpack("<f", chunk)[0])
            elif kind == S_SECURITY:
                vals.append(chunk)
            else:
                vals.append(int.from_bytes(chunk, "little"))
        out.setdefault(kind, []).extend(vals)
        i = end
    return out


def parse_response(data: bytes) -> tuple[int, int, int, int, bytes]:
    """``F0 op type status more params`` -> (op, type, status, more, params)."""
    if len(data) < 4 or data[0] != RESPONSE:
        raise ProtocolError(f"not a Polar control point response: {data.hex()}")
    more = data[4] if len(data) > 4 else 0
    return data[1], data[2], data[3], more, data[5:]


class StartDialogue(Handshake):
    """Send each start write, wait for its ``F0 02 type status`` reply; a refusal raises ProtocolError
    (``already in state`` counts as success)."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._writes = start_commands(config)
        self._waiting: tuple[int, int] | None = None
        self.factors: dict[int, float] = {}

    def next_actions(self) -> list[GattWrite | GattRead]:
        if self._waiting is not None or self.done:
            return []
        if not self._writes:
            self.done = True
            return []
        w = self._writes.pop(0)
        self._waiting = (w.data[0], w.data[1])
        return [w]

    def feed(self, characteristic: str, data: bytes) -> None:
        if (
            characteristic.lower() != CONTROL
            or not data
            or data[0] != RESPONSE
            or self._waiting is None
        ):
            return
        op, kind, status, _more, params = parse_response(bytes(data))
        if (op, kind) != self._waiting:
            return
        if status not in (0, 6):
            raise ProtocolError(
                f"Polar refused {'start' if op == OP_START else op} of type {kind}: "
                f"{STATUS.get(status, status)}"
            )
        if params:
            factor = parse_settings(params).get(S_FACTOR)
            if factor:
                self.factors[kind] = factor[0]
        self._waiting = None
        if not self._writes:
            self.done = True


def handshake(config: StreamConfig) -> Handshake:
    return StartDialogue(config)


def delta_decode(content: bytes, channels: int, resolution: int) -> np.ndarray:
    """Delta-compressed sample block -> (n, channels) int64 (reference sample first), bit-exact.

    Raises ProtocolError on a truncated reference or block, a width of 0 or above 32 bits, a count of 0, or
    bytes left over after the last block.
    """
    ref_bytes = (resolution + 7) // 8
    pos = channels * ref_bytes
    if len(content) < pos:
        raise ProtocolError("Polar delta frame shorter than its reference sample")
    prev = np.array(
        [
            int.from_bytes(content[c * ref_bytes : (c + 1) * ref_bytes], "little", signed=True)
            for c in range(channels)
        ],
        dtype=np.int64,
    )
    parts = [prev[None, :]]
    while pos < len(content):
        if pos + 2 > len(content):
            raise ProtocolError("Polar delta frame: truncated block header")
        width, count = content[pos], content[pos + 1]
        pos += 2
        if not 1 <= width <= 32 or count == 0:
            raise ProtocolError(f"Polar delta block with width {width} and count {count}")
        nbits = count * channels * width
        nbytes = (nbits + 7) // 8
        if pos + nbytes > len(content):
            raise ProtocolError("Polar delta frame: truncated block")
        bits = np.unpackbits(np.frombuffer(content, np.uint8, nbytes, pos), bitorder="little")[
            :nbits
        ]
        vals = bits.reshape(-1, width).astype(np.int64) @ (
            np.int64(1) << np.arange(width, dtype=np.int64)
        )
        vals -= (vals >> (width - 1)) << width  # two's complement of `width` bits
        block = prev + np.cumsum(vals.reshape(count, channels), axis=0)
        parts.append(block)
        prev = block[-1]
        pos += nbytes
    return np.vstack(parts)


def _bits_needed(v: np.ndarray) -> int:
    """Smallest two's-complement width holding every value of v (at least 1)."""
    hi = int(np.max(v)) if v.size else 0
    lo = int(np.min(v)) if v.size else 0
    return max(1, hi.bit_length() + 1 if hi > 0 else 1, (-lo - 1).bit_length() + 1 if lo < 0 else 1)


def delta_encode(samples: np.ndarray, resolution: int = 16, block: int = 16) -> bytes:
    """(n, channels) integers -> reference sample + delta blocks of at most ``block`` samples."""
    q = np.asarray(samples, dtype=np.int64)
    ref_bytes = (resolution + 7) // 8
    out = bytearray()
    for v in q[0]:
        out += int(v).to_bytes(ref_bytes, "little", signed=True)
    deltas = np.diff(q, axis=0)
    for start in range(0, len(deltas), block):
        d = deltas[start : start + block]
        width = _bits_needed(d)
        flat = (d.reshape(-1) & ((1 << width) - 1)).astype(np.uint64)
        bits = ((flat[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(
            np.uint8
        )
        out += bytes([width, len(d)]) + np.packbits(bits.reshape(-1), bitorder="little").tobytes()
    return bytes(out)


def _frame_size(q: np.ndarray, resolution: int = 16, block: int = 16) -> int:
    size = 10 + q.shape[1] * ((resolution + 7) // 8)
    deltas = np.diff(q, axis=0)
    for start in range(0, len(deltas), block):
        d = deltas[start : start + block]
        size += 2 + (d.size * _bits_needed(d) + 7) // 8
    return size


class _Stream:
    def __init__(self) -> None:
        self.prev_ns: int | None = None
        self.next_index = 0
        self.t = np.empty(0)
        self.idx = np.empty(0, dtype=np.int64)
        self.xyz = np.empty((0, 3))

    def keep(self, sel: slice | list[int]) -> None:
        self.t, self.idx, self.xyz = self.t[sel], self.idx[sel], self.xyz[sel]


class Decoder(DecoderBase):
    """Control-point replies and data frames -> SampleBlocks (acc + gyro paired by device time; acc-only when
    the configuration has no gyroscope range, gyr NaN).

    Feed the control-point indications too: the start reply carries the ``factor`` of compressed frames. Without
    it the factor defaults to range / 32768 (the 16-bit scale). Unpaired samples (their partner's frame was lost,
    or the other stream stays silent for more than ``max_backlog`` samples) are dropped and counted in
    ``unpaired``. ``t_device`` is seconds since 2000-01-01 on the device clock; ``newest_t_device`` is the
    timestamp of the frame just fed (its last sample), also while its samples wait for their partner.
    ``ready_lag_s`` is one sample period: a frame fills up to the sensor's buffer size, and the sensor knows it is
    full only when the next sample does not fit (our emulated sensor sends it then; a firmware that sends as soon
    as the last sample fits would make the clock fit place Polar samples up to one period early).
    """

    def __init__(self, config: StreamConfig = DEFAULT_CONFIG) -> None:
        super().__init__(config)
        self.rate_hz = float(config.rate_hz)
        acc_range = float(config.acc_range_g or 8.0)
        gyr_range = float(config.gyr_range_dps or 2000.0)
        self.factors: dict[int, float] = {ACC: acc_range / 32768.0, GYRO: gyr_range / 32768.0}
        self._factor_known: set[int] = set()
        self.acc_only = config.gyr_range_dps is None
        self.features: bytes | None = None
        self.stopped: set[int] = set()
        self.unpaired = 0
        self.max_backlog = max(256, int(4 * self.rate_hz))  # samples waiting for a partner (~4 s)
        self._pending_reply: bytes | None = None
        self.ready_lag_s = 1.0 / self.rate_hz
        self.reset()

    def reset(self) -> None:
        self._streams = {ACC: _Stream(), GYRO: _Stream()}

    # control point ---------------------------------------------------------------------------------------
    def _control(self, data: bytes) -> list[SampleBlock]:
        if not data:
            raise ProtocolError("empty Polar control point value")
        if data[0] == FEATURES:
            self.features = data[1:]
            return []
        if data[0] == 0x01:  # the device stopped these streams
            self.stopped.update(data[1:])
            return []
        op, kind, status, more, params = parse_response(data)
        if (
            self._pending_reply is not None
        ):  # continuation of a reply with "more" set: append from byte 5
            first = self._pending_reply
            op, kind, status = first[1], first[2], first[3]
            params = first[5:] + params
        if more:
            self._pending_reply = bytes([RESPONSE, op, kind, status, more]) + params
            return []
        self._pending_reply = None
        if status not in (0, 6):
            raise ProtocolError(
                f"Polar control point: op {op} type {kind}: {STATUS.get(status, status)}"
            )
        if op == OP_START and params:
            factor = parse_settings(params).get(S_FACTOR)
            if factor:
                if not (math.isfinite(factor[0]) and factor[0] > 0):
                    raise ProtocolError(f"Polar factor {factor[0]} is not a positive number")
                self.factors[kind] = factor[0]
                self._factor_known.add(kind)
        return []

    # data ------------------------------------------------------------------------------------------------
    def _feed(self, characteristic: str, data: bytes) -> list[SampleBlock]:
        if characteristic == CONTROL:
            return self._control(data)
        if characteristic != DATA:
            raise ProtocolError(f"not a Polar PMD characteristic: {characteristic}")
        if len(data) < 11:
            raise ProtocolError(f"Polar data frame of {len(data)} bytes")
        kind = data[0] & 0x3F
        ts = int.from_bytes(data[1:9], "little")
        ftype = data[9]
        content = data[10:]
        if kind == ACC:
            xyz = self._acc_values(ftype, content)
        elif kind == GYRO:
            xyz = self._gyr_values(ftype, content)
        else:
            raise ProtocolError(f"Polar measurement type {kind} is not ACC or GYRO")
        if not np.all(np.isfinite(xyz)):
            raise ProtocolError("Polar frame decodes to NaN or infinite values")
        st = self._streams[kind]
        times = self._times(st, ts, len(xyz))
        st.t = np.concatenate([st.t, times])
        st.idx = np.concatenate([st.idx, st.next_index + np.arange(len(xyz), dtype=np.int64)])
        st.next_index += len(xyz)
        st.xyz = np.vstack([st.xyz, xyz])
        self.packets += 1
        self.newest_t_device = float(times[-1])  # the frame's timestamp: its last sample
        return self._pair()

    def _acc_values(self, ftype: int, content: bytes) -> np.ndarray:
        mg_to_ms2 = G / 1000.0
        if ftype in (0x00, 0x01, 0x02):
            width = ftype + 1
            if len(content) == 0 or len(content) % (3 * width):
                raise ProtocolError(
                    f"Polar raw ACC frame: {len(content)} bytes is not n x {3 * width}"
                )
            if width == 3:
                b = np.frombuffer(content, np.uint8).reshape(-1, 3).astype(np.int64)
                v = b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16
                v -= (v >> 23) << 24
                counts = v.reshape(-1, 3)
            else:
                counts = np.frombuffer(content, "<i1" if width == 1 else "<i2").reshape(-1, 3)
            return counts.astype(np.float64) * mg_to_ms2
        if ftype == 0x80:
            return delta_decode(content, 3, 16) * self.factors[ACC] * 1000.0 * mg_to_ms2
        if ftype == 0x81:
            factor = self.factors[ACC] * (1.0 if ACC in self._factor_known else 1000.0)
            return delta_decode(content, 3, 16) * factor * mg_to_ms2
        raise ProtocolError(f"Polar ACC frame type 0x{ftype:02x} not supported")

    def _gyr_values(self, ftype: int, content: bytes) -> np.ndarray:
        if ftype == 0x80:
            return delta_decode(content, 3, 16) * self.factors[GYRO]
        if ftype == 0x81:
            bits = delta_decode(content, 3, 32) & 0xFFFFFFFF
            with np.errstate(invalid="ignore"):  # NaN patterns are rejected by the caller
                values = bits.astype(np.uint32).view(np.float32).astype(np.float64)
            factor = self.factors[GYRO] if GYRO in self._factor_known else 1.0
            return values * factor
        raise ProtocolError(f"Polar GYRO frame type 0x{ftype:02x} not supported")

    def _times(self, st: _Stream, ts: int, n: int) -> np.ndarray:
        period_ns = 1e9 / self.rate_hz
        back = ts - (n - 1 - np.arange(n)) * period_ns
        if st.prev_ns is None:
            st.prev_ns = ts
            return back * 1e-9
        step = ts - st.prev_ns
        if step <= 0:
            if step < -2 * n * period_ns:  # the device clock was reset: a new stream
                st.prev_ns = ts
                return back * 1e-9
            raise ProtocolError(f"Polar frame timestamp did not advance ({step} ns)")
        gap = round(step / period_ns) - n
        if gap >= 1:
            self.lost_samples += gap
            self.lost_packets += max(1, round(gap / n))
            st.next_index += gap
            times = back
        else:
            times = st.prev_ns + (np.arange(n) + 1) * (step / n)
        st.prev_ns = ts
        return times * 1e-9

    def _pair(self) -> list[SampleBlock]:
        acc, gyr = self._streams[ACC], self._streams[GYRO]
        if self.acc_only:
            out = (
                [SampleBlock(acc.xyz, np.full_like(acc.xyz, np.nan), acc.t, acc.idx)]
                if len(acc.t)
                else []
            )
            acc.keep(slice(0, 0))
            gyr.keep(slice(0, 0))
            return out
        tol = 0.5 / self.rate_hz
        ia = ig = 0
        keep_a: list[int] = []
        keep_g: list[int] = []
        while ia < len(acc.t) and ig < len(gyr.t):
            d = acc.t[ia] - gyr.t[ig]
            if abs(d) < tol:
                keep_a.append(ia)
                keep_g.append(ig)
                ia += 1
                ig += 1
            elif d < 0:
                ia += 1  # no gyro sample for this acc sample: its frame was lost
                self.unpaired += 1
            else:
                ig += 1
                self.unpaired += 1
        out = []
        if keep_a:
            out.append(
                SampleBlock(acc.xyz[keep_a], gyr.xyz[keep_g], acc.t[keep_a], acc.idx[keep_a])
            )
        acc.keep(slice(ia, None))
        gyr.keep(slice(ig, None))
        for st in (
            acc,
            gyr,
        ):  # the other stream is silent (never started, or stopped by the device)
            extra = len(st.t) - self.max_backlog
            if extra > 0:
                self.unpaired += extra
                st.keep(slice(extra, None))
        return out


class Encoder(EncoderBase):
    """Device side of a Polar sensor (``model`` verity / h10 / oh1): control point dialogue with status replies,
    features read, and data frames that fill up to ``max_frame`` bytes before they are sent.

    ACC frames are delta compressed (0x80, factor = range/32768 g per count) unless ``compressed=False`` (raw
    int16 mG, 0x01); GYRO frames are 0x80 (factor = range/32768 deg/s per count). The timestamp is the last
    sample's device time in ns (t_device = seconds since 2000-01-01 on the device clock; a negative time wraps
    modulo 2**64 like the unsigned field, and the decoder treats the jump back as a restarted clock).
    """

    def __init__(
        self,
        config: StreamConfig = DEFAULT_CONFIG,
        model: str = "verity",
        compressed: bool = True,
        max_frame: int = MAX_FRAME,
    ) -> None:
        super().__init__(config)
        self.model = model
        self.spec = MODELS[model]
        self.compressed = compressed
        self.max_frame = max_frame
        self.sdk_mode = False
        self.active: dict[int, dict[int, int]] = {}
        self._pending: dict[int, tuple[list[float], list[np.ndarray]]] = {}

    def read(self, characteristic: str) -> bytes:
        if characteristic.lower() == CONTROL:
            b1 = 0x04 | (0x20 if self.spec["gyr_ranges"] else 0)
            b2 = 0x02 if self.model == "verity" else 0x00
            return bytes([FEATURES, b1, b2])
        return super().read(characteristic)

    @property
    def is_streaming(self) -> bool:
        return bool(self.active)

    def _reply(self, op: int, kind: int, status: int, params: bytes = b"") -> list[Notification]:
        return [Notification(CONTROL, bytes([RESPONSE, op, kind, status, 0]) + params)]

    def _available(self, kind: int) -> dict[str, tuple]:
        if kind == ACC:
            ranges = self.spec["acc_ranges"]
        elif kind == GYRO and self.spec["gyr_ranges"]:
            ranges = self.spec["gyr_ranges"]
        else:
            return {}
        if self.model == "verity" and not self.sdk_mode:
            native = self.spec["native"]
            return {"rates": (native[0],), "ranges": (native[1] if kind == ACC else native[2],)}
        return {"rates": self.spec["rates"], "ranges": ranges}

    def _handle_write(self, characteristic: str, data: bytes) -> list[Notification]:
        if characteristic != CONTROL:
            raise ProtocolError(f"Polar: {characteristic} is not writable")
        if len(data) < 2:
            return self._reply(data[0] if data else 0, 0, 4)
        op, kind, params = data[0], data[1] & 0x3F, data[2:]
        if op == OP_GET:
            avail = self._available(kind)
            if not avail:
                return self._reply(op, kind, 3)
            tlv = bytes([S_RATE, len(avail["rates"])]) + b"".join(
                int(r).to_bytes(2, "little") for r in avail["rates"]
            )
            tlv += bytes([S_RESOLUTION, 1]) + (16).to_bytes(2, "little")
            tlv += bytes([S_RANGE, len(avail["ranges"])]) + b"".join(
                int(r).to_bytes(2, "little") for r in avail["ranges"]
            )
            return self._reply(op, kind, 0, tlv + bytes([S_CHANNELS, 1, 3]))
        if op == OP_START:
            if kind == SDK_MODE:
                if self.model != "verity":
                    return self._reply(op, kind, 3)
                status = 6 if self.sdk_mode else 0
                self.sdk_mode = True
                return self._reply(op, kind, status)
            return self._start(kind, params)
        if op == OP_STOP:
            if kind == SDK_MODE:
                self.sdk_mode = False
                self.active.clear()
                self._pending.clear()
                return self._reply(op, kind, 0)
            self.active.pop(kind, None)
            self._pending.pop(kind, None)
            return self._reply(op, kind, 0)
        return self._reply(op, kind, 1)

    def _start(self, kind: int, params: bytes) -> list[Notification]:
        avail = self._available(kind)
        if not avail:
            return self._reply(OP_START, kind, 3)
        if kind in self.active:
            return self._reply(OP_START, kind, 6)
        try:
            settings = parse_settings(params)
        except ProtocolError:
            return self._reply(OP_START, kind, 5)
        if any(len(v) != 1 for v in settings.values()):
            return self._reply(OP_START, kind, 5)
        rate = settings.get(S_RATE, [None])[0]
        res = settings.get(S_RESOLUTION, [None])[0]
        rng = settings.get(S_RANGE, [None])[0]
        if rate is None or float(rate) not in avail["rates"]:
            return self._reply(OP_START, kind, 8)
        if res != 16:
            return self._reply(OP_START, kind, 7)
        if rng is None or float(rng) not in avail["ranges"]:
            return self._reply(OP_START, kind, 9)
        if settings.get(S_CHANNELS, [3])[0] != 3:
            return self._reply(OP_START, kind, 11)
        other = [v[S_RATE] for k, v in self.active.items() if k != kind]
        if other and other[0] != rate:
            return self._reply(OP_START, kind, 8)  # we stream both at one rate
        self.active[kind] = {S_RATE: rate, S_RANGE: rng}
        self._pending[kind] = ([], [])
        if kind == ACC:
            self.config = StreamConfig(float(rate), float(rng), self.config.gyr_range_dps)
        else:
            self.config = StreamConfig(float(rate), self.config.acc_range_g, float(rng))
        factor = float(np.float32(rng / 32768.0))
        return self._reply(OP_START, kind, 0, bytes([S_FACTOR, 1]) + struct.pack("<f", factor))

    def _counts(self, kind: int, values: np.ndarray) -> np.ndarray:
        rng = float(self.active[kind][S_RANGE])
        factor = float(np.float32(rng / 32768.0))
        if kind == ACC:
            g = values / G
            return quantize(g * 1000.0, 1.0) if not self.compressed else quantize(g, factor)
        return quantize(values, factor)

    def _encode(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[Notification]:
        out = []
        for kind, values in ((ACC, acc), (GYRO, gyr)):
            if kind not in self.active:
                continue
            ts, rows = self._pending[kind]
            ts.extend(t.tolist())
            rows.extend(self._counts(kind, values))
            out.extend(self._frames(kind, final=False))
        return out

    def flush(self) -> list[Notification]:
        out = []
        for kind in list(self.active):
            out.extend(self._frames(kind, final=True))
        return out

    def _frames(self, kind: int, final: bool) -> list[Notification]:
        ts, rows = self._pending[kind]
        out = []
        while rows:
            q = np.asarray(rows[:_FIT_WINDOW], dtype=np.int64)
            n = self._fit(kind, q)
            if n == len(rows) and not final:
                break  # the buffer is not full yet
            out.append(self._frame(kind, ts[n - 1], q[:n]))
            del ts[:n], rows[:n]
        return out

    def _fit(self, kind: int, q: np.ndarray) -> int:
        if kind == ACC and not self.compressed:
            return min(len(q), (self.max_frame - 10) // 6)
        lo, hi = 1, len(q)
        while lo < hi:  # largest prefix whose frame fits
            mid = (lo + hi + 1) // 2
            if _frame_size(q[:mid]) <= self.max_frame:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _frame(self, kind: int, t_last: float, q: np.ndarray) -> Notification:
        head = bytes([kind]) + (round(t_last * 1e9) % (1 << 64)).to_bytes(8, "little")
        if kind == ACC and not self.compressed:
            return Notification(DATA, head + b"\x01" + q.astype("<i2").tobytes())
        return Notification(DATA, head + b"\x80" + delta_encode(q))
