"""WitMotion BLE 5.0: hand-built 0x61/0x71 frames per PROTOCOLS.md, byte-stream resync, command bytes."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_protocols import witmotion as wm
from firmware_protocols.base import ProtocolError

G = 9.80665


def frame(acc=(0, 0, 0), gyr=(0, 0, 0), ang=(0, 0, 0)) -> bytes:
    return b"\x55\x61" + struct.pack("<9h", *acc, *gyr, *ang)


def test_hand_built_frame_scales():
    # 2048 counts = 2048 * 16 / 32768 = 1 g; 1024 counts = 1024 * 2000 / 32768 = 62.5 deg/s
    data = bytes.fromhex("55610008000000f8000400fc01000040000000c0")
    assert len(data) == 20
    dec = wm.Decoder()
    (blk,) = dec.feed(wm.DATA, data)
    assert blk.acc[0] == pytest.approx([G, 0.0, -G])
    assert blk.gyr[0] == pytest.approx([62.5, -62.5, 2000 / 32768])
    assert dec.angles == pytest.approx([90.0, 0.0, -90.0])
    assert blk.t_device is None and blk.seq is None


def test_stream_split_glued_and_garbage():
    dec = wm.Decoder()
    f1, f2 = frame(acc=(2048, 0, 0)), frame(acc=(0, 4096, 0))
    assert dec.feed(wm.DATA, f1[:7]) == []
    (blk,) = dec.feed(wm.DATA, f1[7:] + f2)
    assert blk.acc[:, 0] == pytest.approx([G, 0.0])
    assert blk.acc[:, 1] == pytest.approx([0.0, 2 * G])
    (blk,) = dec.feed(wm.DATA, b"\x01\x02\x55\x00" + f1)
    assert len(blk) == 1 and dec.dropped_bytes == 4
    with pytest.raises(ProtocolError):
        dec.feed(wm.DATA, b"\x00\x11\x22")
    assert dec.packets == 3 and dec.samples == 3 and dec.errors == 1


def test_register_reply():
    dec = wm.Decoder()
    reply = b"\x55\x71" + struct.pack("<H8h", 0x03, 0x0B, 0, 0, 0, 0, 0, 0, -5)
    assert dec.feed(wm.DATA, reply) == []
    assert dec.registers[0x03] == 0x0B and dec.registers[0x0A] == -5


@pytest.mark.parametrize(
    ("rate", "code"), [(200, 0x0B), (100, 0x09), (50, 0x08), (10, 0x06), (0.2, 0x01)]
)
def test_start_commands(rate, code):
    writes = wm.start_commands(wm.choose_config(rate))
    assert [w.data for w in writes] == [
        bytes.fromhex("ffaa6988b5"),
        bytes([0xFF, 0xAA, 0x03, code, 0x00]),
    ]
    assert all(w.characteristic == "0000ffe9-0000-1000-8000-00805f9a34fb" for w in writes)
    assert wm.stop_commands() == []


def test_choose_config_fixed_ranges():
    cfg = wm.choose_config(150, 4, 500)
    assert cfg.rate_hz in (100.0, 200.0) and cfg.acc_range_g == 16.0 and cfg.gyr_range_dps == 2000.0
    assert wm.choose_config(60).rate_hz == 50.0


def test_encoder_rate_and_register_read():
    enc = wm.Encoder()
    assert enc.is_streaming and enc.config.rate_hz == 10.0
    enc.handle_write(wm.COMMAND, bytes.fromhex("ffaa030b00"))
    assert enc.config.rate_hz == 200.0
    (reply,) = enc.handle_write(wm.COMMAND, bytes.fromhex("ffaa270300"))
    assert reply.data[:6] == bytes.fromhex("557103000b00") and len(reply.data) == 20
    with pytest.raises(ProtocolError):
        enc.handle_write(wm.COMMAND, bytes.fromhex("ffaa030c00"))
    with pytest.raises(ProtocolError):
        enc.handle_write(wm.COMMAND, bytes.fromhex("ffab030b00"))
    notes = enc.encode(np.zeros(2), np.array([[0, 0, G], [G, 0, 0]]), np.zeros((2, 3)))
    assert [len(n.data) for n in notes] == [20, 20]
    # z up at rest: acc z = 2048 counts, roll 0; x up: pitch -90 deg
    assert struct.unpack_from("<h", notes[0].data, 6)[0] == 2048
    assert struct.unpack_from("<h", notes[1].data, 16)[0] == -16384
