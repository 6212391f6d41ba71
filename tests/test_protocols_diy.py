"""DIY profile codec: hand-built packets from the profile spec, commands, loss, wraparound, round trips."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import firmware_protocols as fp
from firmware_protocols import diy
from firmware_protocols.base import ProtocolError, StreamConfig

CFG = StreamConfig(100.0, 4.0, 500.0)


def packet(seq: int, t_us: int, rows: list[tuple[int, ...]], flags: int = 1) -> bytes:
    head = struct.pack("<BBHI", flags, len(rows), seq, t_us)
    return head + b"".join(struct.pack("<6h", *r) for r in rows)


def test_hand_built_packet_units_and_times():
    dec = diy.Decoder(CFG)
    # 4 g range -> 8192 counts per g; 500 dps -> 65.536 counts per dps
    data = packet(7, 1_000_000, [(8192, 0, -16384, 6554, 0, -32768), (0, 4096, 0, 0, 655, 0)])
    assert data[:8] == bytes([0x01, 0x02, 0x07, 0x00, 0x40, 0x42, 0x0F, 0x00])
    (blk,) = dec.feed(diy.DATA, data)
    assert blk.acc[0] == pytest.approx([9.80665, 0.0, -2 * 9.80665])
    assert blk.acc[1, 1] == pytest.approx(0.5 * 9.80665)
    assert blk.gyr[0, 0] == pytest.approx(6554 / 65.536)
    assert blk.gyr[0, 2] == pytest.approx(-500.0)
    assert blk.t_device == pytest.approx([1.0, 1.01])
    assert list(blk.seq) == [0, 1]
    assert dec.packets == 1 and dec.samples == 2 and dec.lost_packets == 0


def test_commands_bytes():
    (w,) = diy.start_commands(StreamConfig(200.0, 16.0, 2000.0))
    assert w.characteristic == diy.CTRL and w.with_response
    assert w.data == bytes([0x01, 0xC8, 0x00, 0x10, 0xD0, 0x07])
    assert diy.stop_commands()[0].data == b"\x02"


def test_connection_request_bytes():
    assert diy.connection_request(7.5, 15.0, 0, 4000.0).data == bytes.fromhex("0306000c0000009001")


def test_choose_config_snaps():
    cfg = diy.choose_config(190, 5, 300)
    assert cfg == StreamConfig(200.0, 8.0, 500.0)
    assert diy.choose_config(2000).rate_hz == 1000.0
    assert diy.choose_config(100).acc_range_g == 16.0


def test_identify():
    assert fp.identify("IMUGAIT-1A2B", []) is diy
    assert fp.identify(None, [diy.SERVICE.upper()]) is diy
    assert fp.identify("Something", []) is None


def test_packet_loss_and_seq_wraparound():
    dec = diy.Decoder(CFG)
    row = [(0, 0, 8192, 0, 0, 0)] * 3
    t = 4_294_967_296 - 20_000  # 20 ms before the µs clock wraps
    dec.feed(diy.DATA, packet(65534, t, row))
    dec.feed(
        diy.DATA, packet(65535, t + 30_000 - 2**32 if t + 30_000 >= 2**32 else t + 30_000, row)
    )
    # packet 0 lost (after the wrap), packet 1 arrives
    (blk,) = dec.feed(diy.DATA, packet(1, (t + 90_000) % 2**32, row))
    assert dec.lost_packets == 1
    assert dec.lost_samples == 3
    assert blk.t_device[0] == pytest.approx((t + 90_000) * 1e-6)
    assert list(blk.seq) == [9, 10, 11]


def test_overflow_flag_counts_samples_from_timestamps():
    dec = diy.Decoder(CFG)
    row = [(0, 0, 8192, 0, 0, 0)] * 2
    dec.feed(diy.DATA, packet(0, 0, row))
    dec.feed(
        diy.DATA, packet(1, 70_000, row, flags=0x81)
    )  # 5 samples lost in the FIFO, same packet seq
    assert dec.lost_packets == 0 and dec.lost_samples == 5 and dec.overflows == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        packet(0, 0, [(0,) * 6])[:-1],
        packet(0, 0, [(0,) * 6]) + b"\x00",
        packet(0, 0, [(0,) * 6], flags=2),
        packet(0, 0, [(0,) * 6], flags=0x11),
        struct.pack("<BBHI", 1, 0, 0, 0),
    ],
)
def test_malformed_packets_raise_protocol_error(data):
    dec = diy.Decoder(CFG)
    with pytest.raises(ProtocolError):
        dec.feed(diy.DATA, data)
    assert dec.errors == 1
    dec.feed(diy.DATA, packet(0, 0, [(0,) * 6]))  # still usable
    assert dec.samples == 1


def test_round_trip_within_one_lsb():
    rng = np.random.default_rng(1)
    cfg = diy.choose_config(200, 8, 1000)
    enc = diy.Encoder(cfg, mtu=185)
    assert enc.encode(np.zeros(1), np.zeros((1, 3)), np.zeros((1, 3))) == []  # not streaming yet
    for w in diy.start_commands(cfg):
        enc.handle_write(w.characteristic, w.data)
    assert enc.is_streaming and enc.samples_per_packet == 14
    n = 100
    t = 5.0 + np.arange(n) / 200.0
    acc = rng.uniform(-70, 70, (n, 3))
    gyr = rng.uniform(-900, 900, (n, 3))
    notes = enc.encode(t, acc, gyr) + enc.flush()
    assert [len(x.data) for x in notes] == [8 + 12 * 14] * 7 + [8 + 12 * 2]
    dec = diy.Decoder(cfg)
    dec.feed(diy.INFO, enc.read(diy.INFO))
    blocks = [b for x in notes for b in dec.feed(x.characteristic, x.data)]
    got_acc = np.vstack([b.acc for b in blocks])
    got_gyr = np.vstack([b.gyr for b in blocks])
    got_t = np.concatenate([b.t_device for b in blocks])
    acc_lsb, gyr_lsb = 8 * 9.80665 / 32768, 1000 / 32768
    assert np.max(np.abs(got_acc - acc)) <= 0.5 * acc_lsb + 1e-9
    assert np.max(np.abs(got_gyr - gyr)) <= 0.5 * gyr_lsb + 1e-9
    assert np.max(np.abs(got_t - t)) < 2e-6
    assert dec.lost_packets == 0 and dec.samples == n


def test_encoder_rejects_bad_commands():
    enc = diy.Encoder()
    for bad in (
        b"",
        b"\x09",
        b"\x01\x10\x00\x04\xf4\x01",
        b"\x01\xc8\x00\x03\xf4\x01",
        b"\x02\x00",
    ):
        with pytest.raises(ProtocolError):
            enc.handle_write(diy.CTRL, bad)
    assert not enc.is_streaming
    enc.handle_write(diy.CTRL, diy.start_command(StreamConfig(200.0, 2.0, 250.0)))
    assert enc.is_streaming
    enc.handle_write(diy.CTRL, b"\x02")
    assert not enc.is_streaming


def test_info_round_trip():
    info = diy.decode_info(diy.encode_info(StreamConfig(400.0, 8.0, 2000.0), chip=1))
    assert info["rate_hz"] == 400.0 and info["chip"] == "LSM6DS3"
    assert info["acc_lsb"] == pytest.approx(8 * 9.80665 / 32768)


def test_handshake_starts_then_reads_info():
    cfg = StreamConfig(400.0, 8.0, 1000.0)
    hs = diy.handshake(cfg)
    (start,) = hs.next_actions()
    assert start.data == diy.start_command(cfg) and not hs.done
    (read,) = hs.next_actions()
    assert read.characteristic == diy.INFO and hs.done
    # a firmware reporting its chip's own LSB sizes: the decoder follows INFO
    dec = diy.Decoder(cfg)
    info = bytearray(diy.encode_info(cfg, chip=1))
    info[13:17] = struct.pack("<f", 0.035)  # LSM6DS3: 35 mdps per count at 1000 deg/s
    dec.feed(diy.INFO, bytes(info))
    (blk,) = dec.feed(diy.DATA, packet(0, 0, [(0, 0, 0, 1000, 0, 0)]))
    assert blk.gyr[0, 0] == pytest.approx(35.0)


def test_newest_device_time_of_each_notification():
    dec = diy.Decoder(CFG)
    assert dec.newest_t_device is None
    dec.feed(diy.DATA, packet(0, 2_000_000, [(0,) * 6] * 3))
    assert dec.newest_t_device == pytest.approx(2.02)  # third sample, 10 ms apart from 2.000000 s
    dec.feed(diy.INFO, diy.encode_info(CFG, 2))  # carries no sample
    assert dec.newest_t_device is None
    with pytest.raises(ProtocolError):
        dec.feed(diy.DATA, packet(1, 2_030_000, [(0,) * 6])[:-1])
    assert dec.newest_t_device is None
