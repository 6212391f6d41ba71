"""Loss counting where the family has counters or timestamps: drop notifications at random between encoder and
decoder and compare the decoder's counts with what was really dropped."""

from __future__ import annotations

import numpy as np
import pytest

import firmware_protocols as fp
from firmware_protocols import polar

G = 9.80665


def started(name: str):
    m = fp.FAMILIES[name]
    config = m.choose_config(100, 8, 2000)
    enc = m.Encoder()
    for w in m.start_commands(config):
        enc.handle_write(w.characteristic, w.data)
    return m, config, enc


def samples_in(name: str, data: bytes) -> int:
    """Samples carried by one notification, read from the spec layouts (not from the decoder)."""
    if name == "diy":
        return data[1]
    if name == "dot":
        return 1
    if name == "polar":
        return len(polar.delta_decode(data[10:], 3, 16))
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["diy", "dot", "polar"])
@pytest.mark.parametrize("seed", [1, 2])
def test_lost_samples_are_counted_exactly(name, seed):
    m, config, enc = started(name)
    rng = np.random.default_rng(seed)
    n = 3000
    t = 100_000.0 + np.arange(n) / config.rate_hz
    acc = np.tile([0.0, 0.0, G], (n, 1)) + rng.normal(0, 0.5, (n, 3))
    gyr = rng.normal(0, 40, (n, 3))
    notes = []
    for k in range(0, n, 10):  # as time goes by: acc and gyro frames interleave
        notes += enc.encode(t[k : k + 10], acc[k : k + 10], gyr[k : k + 10])
    notes += enc.flush()
    drop = rng.random(len(notes)) < 0.1
    drop[:2] = drop[-4:] = False  # a loss at the very start or end is invisible to any receiver
    if name == "polar":  # keep the first frame of each stream (the reference for the sample grid)
        drop[
            [
                next(i for i, x in enumerate(notes) if x.data[0] == k)
                for k in (polar.ACC, polar.GYRO)
            ]
        ] = False
    dec = m.Decoder(config)
    got = 0
    seqs = []
    for note, d in zip(notes, drop, strict=True):
        if d:
            continue
        for b in dec.feed(note.characteristic, note.data):
            got += len(b)
            if b.seq is not None:
                seqs.append(b.seq)
    assert drop.sum() >= 3
    # which sample indices each stream lost, from the notifications' own sample counts
    kept = {}
    pos = {}
    for x, d in zip(notes, drop, strict=True):
        stream = x.data[0] if name == "polar" else 0
        k = samples_in(name, x.data)
        mask = kept.setdefault(stream, np.ones(n, bool))
        p0 = pos.get(stream, 0)
        mask[p0 : p0 + k] = not d
        pos[stream] = p0 + k
    lost = sum(int((~mask).sum()) for mask in kept.values())
    assert dec.lost_samples == lost
    if name == "polar":
        both = kept[polar.ACC] & kept[polar.GYRO]
        assert got == both.sum()  # exactly the samples whose acc and gyro frames both arrived
        assert dec.unpaired == (kept[polar.ACC] ^ kept[polar.GYRO]).sum()
        assert 1 <= dec.lost_packets <= 2 * drop.sum()
        assert np.array_equal(np.concatenate(seqs), np.flatnonzero(both))
    else:
        assert dec.lost_packets == drop.sum()
        assert got == n - lost
        assert np.array_equal(np.concatenate(seqs), np.flatnonzero(kept[0]))


def test_movesense_lost_parts():
    m, config, enc = started("movesense")
    n = 400
    t = 50.0 + np.arange(n) / config.rate_hz
    notes = enc.encode(t, np.zeros((n, 3)), np.zeros((n, 3)))
    assert [x.data[0] for x in notes[:4]] == [
        2,
        3,
        2,
        3,
    ]  # 8 samples per packet, split in two parts
    dec = m.Decoder(config)
    dropped = {4, 9, 20}  # a first part, a continuation, another first part
    errors = 0
    got = 0
    for i, x in enumerate(notes):
        if i in dropped:
            continue
        try:
            got += sum(len(b) for b in dec.feed(x.characteristic, x.data))
        except fp.ProtocolError:
            errors += 1
    assert dec.lost_samples == 24 and dec.lost_packets == 3
    assert got == n - 24
    # the orphan continuations are rejected; one first part was left hanging
    assert errors == 2 and dec.incomplete == 1


@pytest.mark.parametrize("name", sorted(fp.FAMILIES))
def test_newest_device_time_is_that_of_the_last_sample_each_notification_carried(name):
    """Per notification: the device time of the newest sample it carried (sample order and counts read from
    the encoder's input and the spec layouts), even where the decoder holds samples back; None without a
    device clock and for notifications that carry no timeable sample (a first part of a split payload)."""
    m = fp.FAMILIES[name]
    config = m.choose_config(100, 8, 2000)
    enc = m.Encoder()
    for w in m.start_commands(config):
        enc.handle_write(w.characteristic, w.data)
    n = 300
    t = 1000.0 + np.arange(n) / enc.config.rate_hz
    rng = np.random.default_rng(3)
    acc = np.tile([0.0, 0.0, G], (n, 1)) + rng.normal(0, 0.5, (n, 3))
    gyr = rng.normal(0, 40, (n, 3))
    notes = []
    for k in range(0, n, 10):
        notes += enc.encode(t[k : k + 10], acc[k : k + 10], gyr[k : k + 10])
    notes += enc.flush()
    dec = m.Decoder(enc.config)
    pos: dict[int, int] = {}
    pending = b""
    timed = 0
    for note in notes:
        dec.feed(note.characteristic, note.data)
        if name not in ("diy", "dot", "polar", "movesense"):  # no device clock
            assert dec.newest_t_device is None
            continue
        if name == "movesense":  # the payload's samples are known once its last part arrived
            pending += note.data[2:]
            if (len(pending) - 4) % 24 or len(pending) <= 4:
                assert dec.newest_t_device is None
                continue
            k, pending = (len(pending) - 4) // 24, b""
        else:
            k = samples_in(name, note.data)
        stream = note.data[0] if name == "polar" else 0
        pos[stream] = pos.get(stream, 0) + k
        tol = 1e-3 if name == "movesense" else 2e-6  # ms / us stamps
        assert dec.newest_t_device == pytest.approx(t[pos[stream] - 1], abs=tol), note.data[:2]
        timed += 1
    if name in ("diy", "dot", "polar", "movesense"):
        assert timed >= 10
    else:  # every notification was checked to carry no device time
        assert len(notes) >= 10 and timed == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_movesense_loss_counts_whole_payloads_whichever_part_is_lost(seed):
    """A payload is lost when any of its parts is: the count is exact against the parts really dropped
    (lost first parts, lost continuations, both parts of one payload, runs of payloads)."""
    m, config, enc = started("movesense")
    n = 8 * 150
    t = 20.0 + np.arange(n) / config.rate_hz
    notes = enc.encode(t, np.zeros((n, 3)), np.ones((n, 3)))
    assert len(notes) == 300 and [x.data[0] for x in notes[:2]] == [2, 3]
    rng = np.random.default_rng(seed)
    drop = rng.random(len(notes)) < 0.12
    drop[:2] = drop[-2:] = False  # a loss at the very start or end is invisible to any receiver
    # a continuation and the next first part both lost would leave the previous first part and the next
    # continuation, which reassemble into a payload of the right length: no receiver can tell (documented)
    drop[2::2] &= ~drop[1:-1:2]
    lost_payloads = drop.reshape(-1, 2).any(axis=1)
    assert lost_payloads.sum() >= 10 and (drop.reshape(-1, 2).all(axis=1)).any()
    dec = m.Decoder(config)
    seqs = []
    for x, d in zip(notes, drop, strict=True):
        if d:
            continue
        try:
            seqs += [b.seq for b in dec.feed(x.characteristic, x.data)]
        except fp.ProtocolError:
            pass  # a continuation whose first part was lost
    assert dec.lost_samples == 8 * lost_payloads.sum()
    assert dec.lost_packets == lost_payloads.sum()
    assert np.array_equal(np.concatenate(seqs), np.flatnonzero(np.repeat(~lost_payloads, 8)))
