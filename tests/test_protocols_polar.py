"""Polar PMD: control-point bytes from PROTOCOLS.md, delta frames decoded bit-exactly from hand-built bits,
raw frames, factors, timestamps, loss, control-point status handling."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_protocols import polar
from firmware_protocols.base import ProtocolError, StreamConfig

G = 9.80665
VERITY = StreamConfig(52.0, 8.0, 2000.0)


def frame(kind: int, ts: int, ftype: int, content: bytes) -> bytes:
    return bytes([kind]) + ts.to_bytes(8, "little") + bytes([ftype]) + content


# reference (-22, 8, 13); block width 3, count 2: deltas (+1, -1, +2), (-4, +3, 0) -> bits LSB-first
# 1=001 7=111 2=010 4=100 3=011 0=000 -> 0x0038B9 -> bytes B9 38 00; block width 1, count 1: (-1, 0, -1) -> 0x05
DELTA = bytes.fromhex("eaff08000d000302b93800010105")
EXPECTED = [[-22, 8, 13], [-21, 7, 15], [-25, 10, 15], [-26, 10, 14]]


def test_delta_decode_bit_exact():
    assert polar.delta_decode(DELTA, 3, 16).tolist() == EXPECTED


def test_delta_float_references():
    ref = struct.pack("<3f", 1.5, -2.0, 0.0)
    content = ref + bytes([2, 1, 0x0D])  # 2-bit deltas (+1, -1, 0) on the float bit patterns
    dec = polar.Decoder(VERITY)
    dec.feed(polar.CONTROL, bytes.fromhex("f0020500"))  # start ok, no factor: values as sent
    dec.feed(polar.DATA, frame(polar.ACC, 10**12, 0x01, struct.pack("<3h", 0, 0, 1000) * 2))
    (blk,) = dec.feed(polar.DATA, frame(polar.GYRO, 10**12, 0x81, content))
    f32 = np.float32
    assert blk.gyr.tolist() == [
        [1.5, -2.0, 0.0],
        [float(np.nextafter(f32(1.5), f32(2))), float(np.nextafter(f32(-2.0), f32(0))), 0.0],
    ]


def test_gyro_delta_frame_with_factor_from_start_reply():
    dec = polar.Decoder(VERITY)
    reply = bytes.fromhex("f002050000") + b"\x05\x01" + struct.pack("<f", 0.5)
    assert dec.feed(polar.CONTROL, reply) == []
    assert dec.factors[polar.GYRO] == 0.5
    ts = 700_000_000 * 10**9
    assert (
        dec.feed(polar.DATA, frame(polar.GYRO, ts, 0x80, DELTA)) == []
    )  # waits for its acc partner
    acc_raw = struct.pack("<12h", *([1000, -500, 250] * 4))
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, ts, 0x01, acc_raw))
    assert blk.gyr.tolist() == (np.array(EXPECTED) * 0.5).tolist()
    assert blk.acc[0] == pytest.approx([G, -G / 2, G / 4])
    # first frame: samples 1/rate apart ending at the timestamp of the last one
    assert blk.t_device == pytest.approx(ts * 1e-9 - np.arange(3, -1, -1) / 52.0)


def test_raw_acc_int8_int24_and_acc_only_devices():
    h10 = polar.choose_config(200, 8, None, device_name="Polar H10 1234ABCD")
    assert h10 == StreamConfig(200.0, 8.0, None)
    dec = polar.Decoder(h10)
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, 10**15, 0x00, bytes([0x10, 0xF0, 0x7F])))
    assert blk.acc[0] == pytest.approx(np.array([16, -16, 127]) * G / 1000)
    assert np.isnan(blk.gyr).all()
    int24 = bytes.fromhex("e80300ffffff000080")
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, 10**15 + 5 * 10**6, 0x02, int24))
    assert blk.acc[0] == pytest.approx(np.array([1000, -1, -(2**23)]) * G / 1000)


def test_start_command_bytes():
    h10 = polar.choose_config(200, 8, None, device_name="Polar H10 ABC")
    assert [w.data for w in polar.start_commands(h10)] == [
        bytes.fromhex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    ]
    writes = polar.start_commands(VERITY)
    assert [w.data for w in writes] == [
        bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 08 00"),
        bytes.fromhex("02 05 00 01 34 00 01 01 10 00 02 01 D0 07"),
    ]
    assert all(w.characteristic == polar.CONTROL and w.with_response for w in writes)
    sdk = polar.start_commands(StreamConfig(208.0, 16.0, 2000.0))
    assert sdk[0].data == b"\x02\x09"
    assert [w.data for w in polar.stop_commands()] == [b"\x03\x02", b"\x03\x05"]


def test_sample_times_spread_and_loss():
    dec = polar.Decoder(StreamConfig(50.0, 8.0, None))
    raw = struct.pack("<6h", 0, 0, 1000, 0, 0, 1000)  # 2 samples per frame
    ts = 10**15
    dec.feed(polar.DATA, frame(polar.ACC, ts, 0x01, raw))
    # 2 samples over 41 ms (clock slightly slow): spread evenly, no loss
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, ts + 41_000_000, 0x01, raw))
    assert blk.t_device - ts * 1e-9 == pytest.approx([0.0205, 0.041])
    assert dec.lost_samples == 0
    # next frame 5 samples later than its 2: 3 lost, samples placed 20 ms apart back from the stamp
    ts3 = ts + 41_000_000 + 100_000_000
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, ts3, 0x01, raw))
    assert dec.lost_samples == 3 and dec.lost_packets >= 1
    assert blk.t_device - ts * 1e-9 == pytest.approx([0.121, 0.141])
    with pytest.raises(ProtocolError):
        dec.feed(polar.DATA, frame(polar.ACC, ts3, 0x01, raw))  # same stamp again


def test_pairing_drops_samples_whose_partner_frame_was_lost():
    enc = polar.Encoder(VERITY, max_frame=60)
    dec = polar.Decoder(VERITY)
    for w in polar.start_commands(VERITY):
        for n in enc.handle_write(w.characteristic, w.data):
            dec.feed(n.characteristic, n.data)
    t = 1000.0 + np.arange(60) / 52.0
    acc = np.tile([0.0, 0.0, G], (60, 1))
    gyr = np.random.default_rng(0).normal(0, 30, (60, 3))
    notes = enc.encode(t, acc, gyr) + enc.flush()
    gyro_frames = [n for n in notes if n.data[0] == polar.GYRO]
    lost = gyro_frames[1]
    n_lost = len(polar.delta_decode(lost.data[10:], 3, 16))
    got = sum(len(b) for n in notes if n is not lost for b in dec.feed(n.characteristic, n.data))
    assert got == 60 - n_lost
    assert dec.unpaired == n_lost and dec.lost_samples == n_lost


@pytest.mark.parametrize(
    "content",
    [
        DELTA[:-1],  # truncated block
        DELTA + b"\x00",  # a stray byte after the last block
        DELTA[:6] + bytes([0, 2]),  # width 0
        DELTA[:6] + bytes([3, 0]),  # count 0
        DELTA[:6] + bytes([33, 1]) + bytes(13),  # width above 32
        DELTA[:5],  # short reference
    ],
)
def test_malformed_delta_frames(content):
    with pytest.raises(ProtocolError):
        polar.Decoder(VERITY).feed(polar.DATA, frame(polar.GYRO, 10**12, 0x80, content))


def test_control_point_refusal_and_features():
    dec = polar.Decoder(VERITY)
    with pytest.raises(ProtocolError, match="invalid sample rate"):
        dec.feed(polar.CONTROL, bytes.fromhex("f0 02 02 08 00"))
    assert dec.feed(polar.CONTROL, bytes.fromhex("0f2402")) == []
    assert dec.features == bytes.fromhex("2402")
    hs = polar.handshake(StreamConfig(100.0, 8.0, 2000.0))
    first = hs.next_actions()
    assert first[0].data == b"\x02\x09" and hs.next_actions() == []
    hs.feed(polar.CONTROL, bytes.fromhex("f002090000"))
    (acc,) = hs.next_actions()
    assert acc.data[:2] == b"\x02\x02"
    with pytest.raises(ProtocolError, match="invalid range"):
        hs.feed(polar.CONTROL, bytes.fromhex("f002020900"))


def test_encoder_control_point():
    enc = polar.Encoder()
    assert enc.read(polar.CONTROL) == bytes([0x0F, 0x24, 0x02])
    (reply,) = enc.handle_write(polar.CONTROL, b"\x01\x05")
    settings = polar.parse_settings(reply.data[5:])
    assert settings[polar.S_RATE] == [52] and settings[polar.S_RANGE] == [2000]
    (reply,) = enc.handle_write(
        polar.CONTROL, polar.start_commands(StreamConfig(104.0, 8.0, 2000.0))[1].data
    )
    assert reply.data[:4] == bytes.fromhex("f0020208")  # 104 Hz needs SDK mode first
    enc.handle_write(polar.CONTROL, b"\x02\x09")
    (reply,) = enc.handle_write(
        polar.CONTROL, polar.start_commands(StreamConfig(104.0, 8.0, 2000.0))[1].data
    )
    assert reply.data[:4] == bytes.fromhex("f0020200") and enc.is_streaming
    assert polar.parse_settings(reply.data[5:])[polar.S_FACTOR][0] == pytest.approx(8 / 32768)


def test_silent_gyro_stream_does_not_grow_without_bound():
    dec = polar.Decoder(VERITY)
    raw = struct.pack("<60h", *([0, 0, 1000] * 20))
    for k in range(30):  # 600 acc samples, no gyro frame ever
        assert dec.feed(polar.DATA, frame(polar.ACC, 10**15 + k * 384_615_385, 0x01, raw)) == []
    assert len(dec._streams[polar.ACC].t) == dec.max_backlog
    assert dec.unpaired == 600 - dec.max_backlog


def test_newest_device_time_is_the_frame_stamp_even_while_samples_wait_for_pairing():
    dec = polar.Decoder(VERITY)
    ts = 800_000_000 * 10**9 + 123_456_789
    assert (
        dec.feed(polar.DATA, frame(polar.GYRO, ts, 0x80, DELTA)) == []
    )  # held for its acc partner
    assert dec.newest_t_device == ts * 1e-9
    # a frame is known to be full only when the next sample comes
    assert dec.ready_lag_s == pytest.approx(1 / 52)
    acc_raw = struct.pack("<6h", *([0, 0, 1000] * 2))
    ts_acc = ts - round(2e9 / 52)  # the acc frame carries the first 2 of the gyro frame's 4 samples
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, ts_acc, 0x01, acc_raw))
    assert dec.newest_t_device == pytest.approx(ts_acc * 1e-9, abs=1e-9)
    assert blk.t_device[-1] == pytest.approx(ts_acc * 1e-9, abs=1e-9) and len(blk) == 2
    assert dec.feed(polar.CONTROL, bytes.fromhex("f0020500")) == []
    assert dec.newest_t_device is None
    # the next acc frame (4 samples) completes the 2 waiting pairs only: newest is its own stamp
    ts2 = ts + round(2e9 / 52)
    acc_raw4 = struct.pack("<12h", *([0, 0, 1000] * 4))
    (blk,) = dec.feed(polar.DATA, frame(polar.ACC, ts2, 0x01, acc_raw4))
    assert len(blk) == 2 and blk.t_device[-1] == pytest.approx(ts * 1e-9, abs=1e-9)
    assert dec.newest_t_device == pytest.approx(ts2 * 1e-9, abs=1e-9)
