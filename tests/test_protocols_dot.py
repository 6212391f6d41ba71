"""Movella DOT: payload layouts per mode, start/stop and rate bytes, loss from µs timestamps, wraparound."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_protocols import dot
from firmware_protocols.base import ProtocolError, StreamConfig

CFG = StreamConfig(60.0, 16.0, 2000.0)


def custom5(t_us: int, acc=(0.0, 0.0, 9.81), gyr=(0.0, 0.0, 0.0)) -> bytes:
    return struct.pack("<I10f", t_us, 1.0, 0.0, 0.0, 0.0, *acc, *gyr)


def test_custom5_layout():
    data = struct.pack("<I", 1_000_000) + struct.pack("<4f", 0.5, 0.5, 0.5, 0.5)
    data += struct.pack("<3f", 0.25, -0.5, 9.75) + struct.pack("<3f", 1.0, -2.0, 100.0)
    assert len(data) == 44
    dec = dot.Decoder(CFG)
    (blk,) = dec.feed(dot.LONG_PAYLOAD, data)
    assert blk.acc.tolist() == [[0.25, -0.5, 9.75]]
    assert blk.gyr.tolist() == [[1.0, -2.0, 100.0]]
    assert blk.t_device.tolist() == [1.0]
    assert dec.quaternion.tolist() == [0.5, 0.5, 0.5, 0.5]
    padded = custom5(1_016_667) + bytes(19)  # zero padding up to the 63-byte characteristic
    (blk,) = dec.feed(dot.LONG_PAYLOAD, padded)
    assert blk.seq.tolist() == [1]


def test_rate_quantities_modes():
    dec = dot.Decoder(CFG)
    rq = struct.pack("<I6f", 500, 0.0, 9.5, 0.0, 3.0, 2.0, 1.0)
    (blk,) = dec.feed(dot.MEDIUM_PAYLOAD, rq)
    assert blk.acc.tolist() == [[0.0, 9.5, 0.0]] and blk.gyr.tolist() == [[3.0, 2.0, 1.0]]
    rq_mag = struct.pack("<I6f3h", 17_167, 0.0, 9.5, 0.0, 3.0, 2.0, 1.0, 4096, -2048, 0)
    dec.feed(dot.MEDIUM_PAYLOAD, rq_mag)
    assert dec.magnetometer.tolist() == [1.0, -0.5, 0.0]


def test_commands():
    writes = dot.start_commands(dot.choose_config(60))
    assert writes[0].characteristic == "15171002-4947-11e9-8646-d663bd873d93"
    control = writes[0].data
    assert len(control) == 32 and control[0] == 0x10 and control[24:26] == b"\x3c\x00"
    assert not any(control[1:24]) and not any(control[26:])
    assert writes[1].characteristic == "15172001-4947-11e9-8646-d663bd873d93"
    assert writes[1].data == bytes([0x01, 0x01, 0x1A])
    assert dot.stop_commands()[0].data == bytes([0x01, 0x00, 0x1A])
    assert dot.start_commands(dot.choose_config(100), mode=21)[1].data == bytes([1, 1, 21])
    assert dot.choose_config(25).rate_hz == 30.0 and dot.choose_config(9).rate_hz == 10.0


def test_loss_and_wraparound():
    dec = dot.Decoder(StreamConfig(20.0, 16.0, 2000.0))
    t0 = 2**32 - 75_000  # 75 ms before the µs clock wraps
    dec.feed(dot.LONG_PAYLOAD, custom5(t0))
    dec.feed(dot.LONG_PAYLOAD, custom5(t0 + 50_000))
    (blk,) = dec.feed(dot.LONG_PAYLOAD, custom5((t0 + 200_000) % 2**32))  # two samples lost
    assert dec.lost_samples == 2 and dec.lost_packets == 2
    assert blk.t_device[0] == pytest.approx((t0 + 200_000) * 1e-6)
    assert blk.seq.tolist() == [4]
    with pytest.raises(ProtocolError):
        dec.feed(dot.LONG_PAYLOAD, custom5((t0 + 200_000) % 2**32))  # duplicate


@pytest.mark.parametrize(
    ("char", "data"),
    [
        (dot.LONG_PAYLOAD, custom5(0)[:43]),
        (dot.LONG_PAYLOAD, custom5(0) + bytes(20)),
        (dot.MEDIUM_PAYLOAD, bytes(27)),
        (dot.SHORT_PAYLOAD, bytes(20)),
        (dot.LONG_PAYLOAD, custom5(0, acc=(np.inf, 0, 0))),
    ],
)
def test_malformed(char, data):
    with pytest.raises(ProtocolError):
        dot.Decoder(CFG).feed(char, data)


def test_encoder_rate_and_modes():
    enc = dot.Encoder()
    for w in dot.start_commands(StreamConfig(30.0, 16.0, 2000.0), mode=21):
        enc.handle_write(w.characteristic, w.data)
    assert enc.is_streaming and enc.config.rate_hz == 30.0
    assert enc.read(dot.MEASUREMENT_CONTROL) == bytes([1, 1, 21])
    (note,) = enc.encode(np.array([1.5]), np.array([[0, 0, 9.8]]), np.array([[1, 2, 3]]))
    assert note.characteristic == dot.MEDIUM_PAYLOAD and len(note.data) == 28
    assert struct.unpack_from("<I", note.data)[0] == 1_500_000
    with pytest.raises(ProtocolError):
        enc.handle_write(dot.MEASUREMENT_CONTROL, bytes([1, 1, 38]))
    bad_rate = bytearray(dot.rate_value(60))
    bad_rate[24] = 61
    with pytest.raises(ProtocolError):
        enc.handle_write(dot.DEVICE_CONTROL, bytes(bad_rate))


def test_newest_device_time_of_each_notification():
    dec = dot.Decoder(CFG)
    assert dec.newest_t_device is None
    dec.feed(dot.LONG_PAYLOAD, custom5(4_000_000))
    assert dec.newest_t_device == pytest.approx(4.0)
    dec.feed(dot.LONG_PAYLOAD, custom5(4_050_000))  # two samples lost before this one
    assert dec.newest_t_device == pytest.approx(4.05)
    assert dec.feed(dot.BATTERY, b"\x50\x00") == [] and dec.newest_t_device is None
