"""MetaWear / MetaMotion: command bytes from PROTOCOLS.md, the node-metawear wire log, packed data, chip
discovery dialogue, acc/gyro pairing."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_protocols import metawear as mw
from firmware_protocols.base import GattWrite, ProtocolError, StreamConfig

G = 9.80665


def test_wire_log_sample_at_2g():
    dec = mw.Decoder(StreamConfig(100.0, 2.0, None))  # accelerometer alone
    (blk,) = dec.feed(mw.NOTIFY, bytes.fromhex("0304e8059cfe7342"))
    assert blk.acc[0, 2] / G == pytest.approx(0x4273 / 16384)
    assert blk.acc[0, 2] / G == pytest.approx(1.038, abs=5e-4)
    assert blk.acc[0, 0] / G == pytest.approx(0x05E8 / 16384)
    assert blk.acc[0, 1] / G == pytest.approx(-356 / 16384)
    assert np.all(np.isnan(blk.gyr))


def test_bmi160_start_and_stop_bytes():
    cfg = StreamConfig(100.0, 4.0, 2000.0)
    got = [w.data.hex(" ") for w in mw.start_commands(cfg, "bmi160", packed=False)]
    assert got == [
        "03 03 28 05",
        "13 03 28 00",
        "03 04 01",
        "13 05 01",
        "03 02 01 00",
        "13 02 01 00",
        "03 01 01",
        "13 01 01",
    ]
    assert all(
        w.characteristic == mw.COMMAND and not w.with_response for w in mw.start_commands(cfg)
    )
    stop = [w.data.hex(" ") for w in mw.stop_commands("bmi160", packed=False)]
    assert stop == ["03 01 00", "03 02 00 01", "03 04 00", "13 01 00", "13 02 00 01", "13 05 00"]


def test_config_bytes_per_chip():
    assert mw.acc_config_bytes(StreamConfig(50.0, 2.0, None), mw.BMI160) == bytes([0x27, 0x03])
    assert mw.acc_config_bytes(StreamConfig(800.0, 16.0, None), mw.BMI160) == bytes([0x2B, 0x0C])
    assert mw.acc_config_bytes(StreamConfig(6.25, 8.0, None), mw.BMI160) == bytes([0x84, 0x08])
    assert mw.acc_config_bytes(StreamConfig(100.0, 8.0, None), mw.BMI270) == bytes([0xA8, 0x02])
    assert mw.gyr_config_bytes(StreamConfig(200.0, None, 500.0)) == bytes([0x29, 0x02])
    assert mw.gyr_config_bytes(StreamConfig(25.0, None, 125.0)) == bytes([0x26, 0x04])
    with pytest.raises(ProtocolError):
        mw.gyr_config_bytes(StreamConfig(75.0, None, 2000.0))
    packed = [
        w.data.hex(" ") for w in mw.start_commands(StreamConfig(100.0, 8.0, 2000.0), "bmi270", True)
    ]
    assert packed[2:4] == ["03 05 01", "13 05 01"]


def test_gyro_scale_and_pairing():
    dec = mw.Decoder(StreamConfig(100.0, 16.0, 1000.0))
    acc = bytes.fromhex("0304") + struct.pack("<3h", 2048, 0, 0)
    gyr = bytes.fromhex("1305") + struct.pack("<3h", 328, -328, 0)  # 32.8 LSB per deg/s at 1000
    assert dec.feed(mw.NOTIFY, acc) == []
    assert dec.feed(mw.NOTIFY, acc) == []
    (blk,) = dec.feed(mw.NOTIFY, gyr)
    assert len(blk) == 1
    assert blk.acc[0] == pytest.approx([G, 0, 0])
    assert blk.gyr[0] == pytest.approx([10.0, -10.0, 0.0])
    packed_gyr = bytes.fromhex("1307") + struct.pack("<9h", 164, 0, 0, 0, 164, 0, 0, 0, 164)
    (blk,) = dec.feed(mw.NOTIFY, packed_gyr)  # pairs with the one acc sample still waiting
    assert len(blk) == 1 and blk.gyr[0] == pytest.approx([5.0, 0, 0])
    packed_acc = bytes.fromhex("031c") + struct.pack("<9h", *([0, 0, 2048] * 3))
    (blk,) = dec.feed(mw.NOTIFY, packed_acc)
    assert len(blk) == 2 and blk.acc[:, 2] == pytest.approx([G, G])
    assert dec.samples == 4 and dec.packets == 5


def test_backlog_limit_counts_unpaired():
    dec = mw.Decoder(StreamConfig(100.0, 16.0, 2000.0), max_backlog=4)
    for _ in range(6):
        dec.feed(mw.NOTIFY, bytes.fromhex("0304") + bytes(6))
    assert dec.unpaired == 2


@pytest.mark.parametrize(
    "bad", ["03", "0304e805", "0304" + "00" * 7, "0377" + "00" * 6, "03" + "00" * 20]
)
def test_malformed(bad):
    with pytest.raises(ProtocolError):
        mw.Decoder().feed(mw.NOTIFY, bytes.fromhex(bad))


@pytest.mark.parametrize(
    ("chip", "revision", "packed"), [("bmi270", 1, True), ("bmi160", 0, False)]
)
def test_discovery_dialogue(chip, revision, packed):
    enc = mw.Encoder(chip=chip, revision=revision)
    hs = mw.handshake(StreamConfig(100.0, 8.0, 2000.0))
    ask = hs.next_actions()
    assert [a.data for a in ask] == [b"\x03\x80", b"\x13\x80"]
    assert hs.next_actions() == [] and not hs.done
    for a in ask:
        for note in enc.handle_write(a.characteristic, a.data):
            hs.feed(note.characteristic, note.data)
    start = hs.next_actions()
    assert hs.done and hs.chip == chip and hs.packed is packed
    assert all(isinstance(w, GattWrite) for w in start)
    for w in start:
        enc.handle_write(w.characteristic, w.data)
    assert enc.is_streaming
    notes = enc.encode(np.zeros(3), np.zeros((3, 3)), np.zeros((3, 3)))
    assert len(notes) == (2 if packed else 6)


def test_absent_module():
    hs = mw.handshake(StreamConfig(100.0, 8.0, 2000.0))
    hs.next_actions()
    with pytest.raises(ProtocolError):
        hs.feed(mw.NOTIFY, b"\x13\x80")
