"""Hypothesis fuzzing of every family: random and mutated notifications (and writes to the device side) raise
nothing but ProtocolError, and whatever decodes has consistent shapes. The CI run feeds a few thousand packets
per family; ``-m slow`` runs ten times more."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import firmware_protocols as fp
from firmware_protocols.base import GattRead, GattWrite, ProtocolError

FAMILIES = sorted(fp.FAMILIES)
G = 9.80665


def _valid_stream(name: str) -> list[tuple[str, bytes]]:
    """Notifications of a normal session of this family (handshake replies included)."""
    m = fp.FAMILIES[name]
    config = m.choose_config(100, 8, 2000)
    enc = m.Encoder()
    out: list[tuple[str, bytes]] = []
    hs = m.handshake(config)
    for _ in range(10):
        actions = hs.next_actions()
        if not actions and hs.done:
            break
        for a in actions:
            if isinstance(a, GattRead):
                hs.feed(a.characteristic, enc.read(a.characteristic))
                continue
            assert isinstance(a, GattWrite)
            for n in enc.handle_write(a.characteristic, a.data):
                hs.feed(n.characteristic, n.data)
                out.append((n.characteristic, n.data))
    rng = np.random.default_rng(5)
    n = 120
    t = 700_000_000.0 + np.arange(n) / config.rate_hz
    acc = rng.normal(0, 20, (n, 3))
    gyr = rng.normal(0, 300, (n, 3))
    out += [(x.characteristic, x.data) for x in enc.encode(t, acc, gyr) + enc.flush()]
    return out


VALID = {name: _valid_stream(name) for name in FAMILIES}


def _chars(name: str) -> list[str]:
    m = fp.FAMILIES[name]
    return sorted({c for chars in m.GATT.values() for c in chars})


@st.composite
def mutated(draw, name: str) -> list[tuple[str, bytes]]:
    """A run of valid notifications with some of them truncated, extended, bit-flipped or replaced."""
    valid = VALID[name]
    start = draw(st.integers(0, len(valid) - 1))
    k = draw(st.integers(1, 8))
    packets = []
    for char, data in valid[start : start + k]:
        op = draw(st.sampled_from(["keep", "truncate", "extend", "flip", "byte", "random", "char"]))
        b = bytearray(data)
        if op == "truncate":
            b = b[: draw(st.integers(0, max(0, len(b) - 1)))]
        elif op == "extend":
            b += draw(st.binary(min_size=1, max_size=40))
        elif op == "flip" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i] = draw(st.integers(0, 255))
        elif op == "random":
            b = bytearray(draw(st.binary(max_size=250)))
        elif op == "char":
            char = draw(st.sampled_from(_chars(name)))
        packets.append((char, bytes(b)))
    return packets


def random_packets(name: str):
    return st.lists(
        st.tuples(st.sampled_from(_chars(name)), st.binary(max_size=260)), min_size=1, max_size=8
    )


def _feed_all(name: str, packets: list[tuple[str, bytes]]) -> None:
    m = fp.FAMILIES[name]
    dec = m.Decoder(m.choose_config(100, 8, 2000))
    total = 0
    for char, data in packets:
        try:
            blocks = dec.feed(char, data)
        except ProtocolError:
            continue
        for b in blocks:
            n = len(b)
            total += n
            assert b.acc.shape == (n, 3) and b.gyr.shape == (n, 3)
            assert np.all(np.isfinite(b.acc))
            assert b.t_device is None or b.t_device.shape == (n,)
            assert b.seq is None or b.seq.shape == (n,)
    assert dec.samples == total
    assert dec.errors <= len(packets)


def _write_all(name: str, writes: list[tuple[str, bytes]]) -> None:
    m = fp.FAMILIES[name]
    enc = m.Encoder()
    for char, data in writes:
        try:
            for note in enc.handle_write(char, data):
                assert isinstance(note.data, bytes)
        except ProtocolError:
            continue
        t = np.arange(4) / 100.0 + 1.0
        for note in enc.encode(t, np.zeros((4, 3)), np.zeros((4, 3))):
            assert isinstance(note.data, bytes)


FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_valid_streams_decode_cleanly():
    for name in FAMILIES:
        m = fp.FAMILIES[name]
        dec = m.Decoder(m.choose_config(100, 8, 2000))
        n = sum(len(b) for c, d in VALID[name] for b in dec.feed(c, d))
        assert n > 0 and dec.errors == 0, name


@pytest.mark.parametrize("name", FAMILIES)
def test_fuzz_mutated(name):
    FAST(given(mutated(name))(lambda p: _feed_all(name, p)))()


@pytest.mark.parametrize("name", FAMILIES)
def test_fuzz_random(name):
    FAST(given(random_packets(name))(lambda p: _feed_all(name, p)))()


@pytest.mark.parametrize("name", FAMILIES)
def test_fuzz_device_side_writes(name):
    m = fp.FAMILIES[name]
    starts = [(w.characteristic, w.data) for w in m.start_commands(m.choose_config(100, 8, 2000))]
    writes = st.lists(
        st.one_of(
            st.tuples(st.sampled_from(_chars(name)), st.binary(max_size=40)),
            st.sampled_from(starts),
        ),
        min_size=1,
        max_size=6,
    )
    FAST(given(writes)(lambda w: _write_all(name, w)))()


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_fuzz_exhaustive(name):
    SLOW(given(mutated(name))(lambda p: _feed_all(name, p)))()
    SLOW(given(random_packets(name))(lambda p: _feed_all(name, p)))()


def _handshake_all(name: str, replies: list[tuple[str, bytes]]) -> None:
    m = fp.FAMILIES[name]
    hs = m.handshake(m.choose_config(100, 8, 2000))
    for char, data in replies:
        actions = hs.next_actions()
        assert all(isinstance(a, GattWrite | GattRead) for a in actions)
        try:
            hs.feed(char, data)
        except ProtocolError:
            return


@pytest.mark.parametrize("name", FAMILIES)
def test_fuzz_handshake_replies(name):
    replies = st.lists(
        st.tuples(st.sampled_from(_chars(name)), st.binary(max_size=40)), min_size=1, max_size=6
    )
    FAST(given(replies)(lambda r: _handshake_all(name, r)))()
