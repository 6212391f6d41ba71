"""Thingy:52 motion service: fixed-point raw data per the firmware Q formats, configuration read-modify-write."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_protocols import thingy52 as th
from firmware_protocols.base import GattRead, ProtocolError

G = 9.80665


def test_raw_fixed_point():
    # 6Q10: 1024 = 1 g; 11Q5: 32 = 1 deg/s; 12Q4: 16 = 1 uT
    data = struct.pack("<9h", 0, -512, 1024, 32, -3200, 0, 16, 0, -160)
    dec = th.Decoder()
    (blk,) = dec.feed(th.RAW_DATA, data)
    assert blk.acc[0] == pytest.approx([0.0, -G / 2, G])
    assert blk.gyr[0] == pytest.approx([1.0, -100.0, 0.0])
    assert blk.mag[0] == pytest.approx([1.0, 0.0, -10.0])
    assert blk.t_device is None and blk.seq is None
    assert th.RAW_DATA == "ef680406-9b35-4933-9b10-52ffa9740042"


@pytest.mark.parametrize("n", [0, 17, 19, 20])
def test_wrong_length(n):
    with pytest.raises(ProtocolError):
        th.Decoder().feed(th.RAW_DATA, bytes(n))


def test_config_bytes():
    cfg = th.choose_config(100)
    (w,) = th.start_commands(cfg)
    assert w.characteristic == th.MOTION_CONFIG
    assert w.data == bytes.fromhex("e803 f401 f401 6400 01".replace(" ", ""))
    assert th.choose_config(1000).rate_hz == 200.0 and th.choose_config(1).rate_hz == 5.0
    assert th.stop_commands() == []


def test_read_modify_write_keeps_device_settings():
    enc = th.Encoder()
    enc.handle_write(th.MOTION_CONFIG, struct.pack("<HHHHB", 2000, 300, 200, 10, 0))
    hs = th.handshake(th.choose_config(150))
    (read,) = hs.next_actions()
    assert isinstance(read, GattRead) and read.characteristic == th.MOTION_CONFIG
    assert hs.next_actions() == []
    hs.feed(th.MOTION_CONFIG, enc.read(th.MOTION_CONFIG))
    (write,) = hs.next_actions()
    assert hs.done
    assert write.data == struct.pack("<HHHHB", 2000, 300, 200, 150, 0)
    enc.handle_write(write.characteristic, write.data)
    assert enc.config.rate_hz == 150.0
    with pytest.raises(ProtocolError):
        enc.handle_write(th.MOTION_CONFIG, struct.pack("<HHHHB", 2000, 300, 200, 201, 0))


def test_saturation_at_q_limits():
    enc = th.Encoder()
    (note,) = enc.encode(np.zeros(1), np.array([[40 * G, 0, 0]]), np.array([[0, -2000.0, 0]]))
    (blk,) = th.Decoder().feed(note.characteristic, note.data)
    assert blk.acc[0, 0] == pytest.approx(32767 / 1024 * G)
    assert blk.gyr[0, 1] == pytest.approx(-1024.0)
