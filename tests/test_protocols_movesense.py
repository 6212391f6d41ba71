"""Movesense GSP: subscribe bytes, IMU6 payload layout, split payloads, command results, loss, wraparound."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_protocols import movesense as ms
from firmware_protocols.base import ProtocolError, StreamConfig

CFG = StreamConfig(104.0, None, None)


def imu6(ref: int, t_ms: int, acc: list, gyr: list) -> bytes:
    body = struct.pack("<I", t_ms)
    body += struct.pack(f"<{3 * len(acc)}f", *np.ravel(acc)) + struct.pack(
        f"<{3 * len(gyr)}f", *np.ravel(gyr)
    )
    return bytes([2, ref]) + body


def test_subscribe_and_unsubscribe_bytes():
    (w,) = ms.start_commands(ms.choose_config(100))
    assert w.characteristic == "34800001-7185-4d5d-b431-630e7050e8f0"
    assert w.data == b"\x01\x63/Meas/IMU6/104"
    assert ms.stop_commands()[0].data == b"\x02\x63"
    assert ms.hello_command(5).data == b"\x00\x05"
    assert ms.choose_config(200).rate_hz == 208.0


def test_hand_built_payload():
    dec = ms.Decoder(CFG)
    data = imu6(
        0x63, 1000, [[0.5, -1.0, 9.75], [0.25, 0.0, 9.5]], [[10.0, 20.0, -30.0], [1.5, 0.0, 0.0]]
    )
    assert len(data) == 2 + 4 + 48
    (blk,) = dec.feed(ms.DATA, data)
    assert blk.acc.tolist() == [[0.5, -1.0, 9.75], [0.25, 0.0, 9.5]]
    assert blk.gyr.tolist() == [[10.0, 20.0, -30.0], [1.5, 0.0, 0.0]]
    assert blk.t_device == pytest.approx([1.0, 1.0 + 1 / 104])
    assert list(blk.seq) == [0, 1]


def test_split_payload_data_part2():
    acc = np.arange(24, dtype=float).reshape(8, 3)
    gyr = -acc
    full = imu6(0x63, 5, acc, gyr)[2:]
    assert len(full) == 196
    dec = ms.Decoder(CFG)
    assert dec.feed(ms.DATA, b"\x02\x63" + full[:150]) == []
    (blk,) = dec.feed(ms.DATA, b"\x03\x63" + full[150:])
    assert np.array_equal(blk.acc, acc) and np.array_equal(blk.gyr, gyr)
    with pytest.raises(ProtocolError):
        dec.feed(ms.DATA, b"\x03\x63" + full[150:])  # continuation without a first part


def test_command_results():
    dec = ms.Decoder(CFG)
    assert dec.feed(ms.DATA, b"\x01\x05Hello") == []
    assert dec.results[5] == b"Hello"
    with pytest.raises(ProtocolError, match="507"):
        dec.feed(ms.DATA, b"\x01\x63\x01\xfb")


def test_loss_from_timestamp_step_and_wraparound():
    dec = ms.Decoder(CFG)
    period_ms = 1000 / 104
    t0 = 2**32 - 100  # 100 ms before the ms counter wraps
    sample = [[0.0, 0.0, 9.8]] * 4
    dec.feed(ms.DATA, imu6(1, t0, sample, sample))
    # next packet expected at t0 + 4 periods; one packet of 4 samples lost
    t2 = round(t0 + 8 * period_ms) % 2**32
    (blk,) = dec.feed(ms.DATA, imu6(1, t2, sample, sample))
    assert dec.lost_samples == 4 and dec.lost_packets == 1
    assert blk.t_device[0] == pytest.approx((t0 + 8 * period_ms) / 1000, abs=1e-3)
    assert list(blk.seq) == [8, 9, 10, 11]


@pytest.mark.parametrize(
    "bad",
    [b"\x02", b"\x02\x63" + bytes(10), b"\x09\x63" + bytes(28), b"\x02\x63" + bytes(4)],
)
def test_malformed(bad):
    with pytest.raises(ProtocolError):
        ms.Decoder(CFG).feed(ms.DATA, bad)


def test_nan_payload_rejected():
    with pytest.raises(ProtocolError):
        ms.Decoder(CFG).feed(ms.DATA, imu6(1, 0, [[np.nan, 0, 0]], [[0, 0, 0]]))


def test_encoder_dialogue():
    enc = ms.Encoder()
    (hello,) = enc.handle_write(ms.COMMAND, b"\x00\x07")
    assert hello.data == b"\x01\x07Hello"
    (refused,) = enc.handle_write(ms.COMMAND, b"\x01\x63/Meas/IMU6/100")
    assert refused.data[2:] == (404).to_bytes(2, "big") and not enc.is_streaming
    assert enc.handle_write(ms.COMMAND, b"\x01\x63/Meas/IMU6/208") == []
    assert enc.is_streaming and enc.config.rate_hz == 208.0
    notes = enc.encode(np.arange(8) / 208, np.zeros((8, 3)), np.zeros((8, 3)))
    assert [n.data[:2] for n in notes] == [b"\x02\x63", b"\x03\x63"]
    assert [len(n.data) for n in notes] == [152, 48]
    enc.handle_write(ms.COMMAND, b"\x02\x63")
    assert not enc.is_streaming


def test_newest_device_time_of_each_notification():
    """Set when a payload can be timed (after its last part), None for parts and command results."""
    dec = ms.Decoder(CFG)
    acc = np.zeros((8, 3))
    full = imu6(0x63, 3000, acc, acc)[2:]
    assert dec.feed(ms.DATA, b"\x02\x63" + full[:150]) == [] and dec.newest_t_device is None
    dec.feed(ms.DATA, b"\x03\x63" + full[150:])
    assert dec.newest_t_device == pytest.approx(3.0 + 7 / 104)  # the 8th sample
    dec.feed(ms.DATA, b"\x01\x05Hello")
    assert dec.newest_t_device is None
    dec.feed(ms.DATA, imu6(0x63, 3077, acc[:1], acc[:1]))  # one sample, unsplit
    assert dec.newest_t_device == pytest.approx(3.077)
