"""Every family: handshake against its own device-side encoder, then encoder -> decoder round trips within one
LSB, and the common API shape the recorder and the emulator rely on."""

from __future__ import annotations

import numpy as np
import pytest

import firmware_protocols as fp
from firmware_protocols.base import GattRead, GattWrite, ProtocolError, StreamConfig

# family -> (requested rate, acc LSB m/s^2, gyr LSB deg/s, t0 s) at the configuration chosen below
G = 9.80665
CASES = {
    "diy": (200, 16 * G / 32768, 2000 / 32768),
    "witmotion": (200, 16 * G / 32768, 2000 / 32768),
    "metawear": (100, 16 * G / 32768, 1 / 16.4),
    "movesense": (104, 1e-5, 1e-5),  # float32 payloads
    "polar": (52, 8 * G / 32768, 2000 / 32768),
    "dot": (60, 1e-5, 1e-5),
    "thingy52": (100, G / 1024, 1 / 32),
}


def connect(module, config: StreamConfig, encoder, decoder) -> None:
    """Run the family's handshake against its encoder, as a recorder would against the device."""
    hs = module.handshake(config)
    for _ in range(20):
        actions = hs.next_actions()
        if not actions and hs.done:
            return
        for action in actions:
            if isinstance(action, GattRead):
                value = encoder.read(action.characteristic)
                hs.feed(action.characteristic, value)
                assert decoder.feed(action.characteristic, value) == []  # as the recorder does
                continue
            assert isinstance(action, GattWrite)
            for note in encoder.handle_write(action.characteristic, action.data):
                hs.feed(note.characteristic, note.data)
                decoder.feed(note.characteristic, note.data)
    raise AssertionError("handshake did not finish")


def signal(n: int, rate: float, t0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    t = t0 + np.arange(n) / rate
    # smooth gait-like signals (small sample-to-sample steps keep Polar deltas narrow) plus gravity
    phase = 2 * np.pi * 1.0 * (t - t0)
    acc = np.column_stack([3 * np.sin(phase), 2 * np.cos(2 * phase), G + 4 * np.sin(3 * phase)])
    gyr = np.column_stack([200 * np.sin(phase + 1), 80 * np.cos(phase), 150 * np.sin(2 * phase)])
    acc += rng.normal(0, 0.05, acc.shape)
    gyr += rng.normal(0, 0.5, gyr.shape)
    return t, acc, gyr


@pytest.mark.parametrize("family", sorted(CASES))
def test_round_trip(family):
    module = fp.FAMILIES[family]
    rate, acc_lsb, gyr_lsb = CASES[family]
    config = module.choose_config(rate, 16 if family != "polar" else 8, 2000)
    encoder = module.Encoder()
    decoder = module.Decoder(config)
    connect(module, config, encoder, decoder)
    assert encoder.is_streaming
    assert encoder.config.rate_hz == config.rate_hz
    t0 = 800_000_000.0 if family == "polar" else 12.0
    n = 300
    t, acc, gyr = signal(n, config.rate_hz, t0)
    notes = []
    for k in range(0, n, 7):  # the emulator feeds small chunks as time goes by
        notes += encoder.encode(t[k : k + 7], acc[k : k + 7], gyr[k : k + 7])
    notes += encoder.flush()
    assert notes
    blocks = [b for note in notes for b in decoder.feed(note.characteristic, note.data)]
    got_acc = np.vstack([b.acc for b in blocks])
    got_gyr = np.vstack([b.gyr for b in blocks])
    assert got_acc.shape == (n, 3), family
    tol = 1e-9 if family in ("movesense", "dot") else 0.0
    assert np.max(np.abs(got_acc - acc)) <= 0.5 * acc_lsb + tol + 1e-6 * np.max(np.abs(acc)), family
    assert np.max(np.abs(got_gyr - gyr)) <= 0.5 * gyr_lsb + tol + 1e-6 * np.max(np.abs(gyr)), family
    assert decoder.samples == n and decoder.lost_samples == 0 and decoder.errors == 0
    if blocks[0].t_device is not None:
        got_t = np.concatenate([b.t_device for b in blocks])
        # Movesense has ms timestamps; Polar spreads samples between frame stamps (exact here)
        assert np.max(np.abs(got_t - t)) < (1e-3 if family == "movesense" else 1e-5), family
        assert np.all(np.diff(got_t) > 0)
    if blocks[0].seq is not None:
        assert np.array_equal(np.concatenate([b.seq for b in blocks]), np.arange(n))


@pytest.mark.parametrize("family", sorted(CASES))
def test_api_shape(family):
    m = fp.FAMILIES[family]
    assert m.NAME == family
    for u in (*m.SERVICE_UUIDS, *m.NOTIFY_CHARACTERISTICS, *m.WRITE_CHARACTERISTICS):
        assert u == u.lower() and len(u) == 36
    served = {c for chars in m.GATT.values() for c in chars}
    assert set(m.NOTIFY_CHARACTERISTICS) <= served and set(m.WRITE_CHARACTERISTICS) <= served
    assert fp.identify(m.advertised_name("1A2B"), []) is m
    assert fp.identify("unrelated", [m.SERVICE_UUIDS[0].upper()]) is m
    cfg = m.choose_config(1e6)
    assert cfg.rate_hz == max(r for r in m.SUPPORTED_RATES if r <= max(m.SUPPORTED_RATES))
    for w in m.start_commands(m.choose_config(100)) + m.stop_commands():
        assert w.characteristic in m.WRITE_CHARACTERISTICS and isinstance(w.data, bytes)
    dec = m.Decoder(m.DEFAULT_CONFIG)
    with pytest.raises(ProtocolError):
        dec.feed("00002a37-0000-1000-8000-00805f9b34fb", b"\x00\x01")
    assert dec.errors == 1


@pytest.mark.parametrize("family", sorted(CASES))
def test_encoder_idle_until_started(family):
    m = fp.FAMILIES[family]
    enc = m.Encoder()
    t, acc, gyr = signal(3, 50, 100.0)
    assert enc.is_streaming is m.STREAMS_ON_SUBSCRIBE
    if not m.STREAMS_ON_SUBSCRIBE:
        assert enc.encode(t, acc, gyr) == []
    with pytest.raises(ProtocolError):
        enc.handle_write("00002a37-0000-1000-8000-00805f9b34fb", b"\x01")


@pytest.mark.parametrize("family", sorted(CASES))
def test_choose_config_accepts_the_advertised_name(family):
    m = fp.FAMILIES[family]
    name = m.advertised_name("1A2B")
    assert m.choose_config(100, device_name=name) == m.choose_config(100)
    assert (
        fp.FAMILIES["polar"].choose_config(100, device_name="Polar H10 1A2B").gyr_range_dps is None
    )


def test_sans_io_imports_only():
    """The codecs import nothing of imu_gait, no BLE stack, no asyncio, and open no files."""
    import ast
    from pathlib import Path

    root = Path(fp.__file__).parent
    files = sorted(root.glob("*.py"))
    assert len(files) >= 9
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in {
                    "imu_gait",
                    "bleak",
                    "bumble",
                    "asyncio",
                    "os",
                    "pathlib",
                    "io",
                }, (path, name)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", path
